/**
 * npm run bench:sync [-- --seconds 60 --rate 500 --backlog 200000 --big-rows 100000 --huge-rows 500000
 *                       --seed 100000 --bounded-ms 0 --multi-rows 5 --native-streaming off --pg 18
 *                       --sync-heap-mb 0 --spec chat|identity --replica-role on|off --streaming on|off
 *                       --decoding-mem-kb N --receive-buffer N --batch-ms N --json]
 *
 * The sync engine beside PostgreSQL's own logical replication, same embedded server, same run:
 * - under a fixed write mix on the chat schema (single-row inserts, updates, deletes, multi-row
 *   transactions, a few slow transactions): end-to-end lag p50/p99 (a probe row written every
 *   100 ms, timed until it is visible on each target) and the time to converge after writes stop;
 * - a backlog of changes (one big transaction + many 1000-row ones) drained from a stopped start: rows/s;
 * - one huge transaction (`--huge-rows` inserted rows) drained from a stopped start: rows/s and peak RSS.
 * `--bounded-ms N`: during the write mix the sync runs as the workflow runs it in Lambda, one bounded
 * run (maxMs N) after another, each with its own connections, instead of one continuous run.
 * Checks lost = 0: every acknowledged insert present, every acknowledged delete gone, on both targets.
 * The sync runs in a process of its own (bench-sync-process.ts), as in production; `--sync-heap-mb N`
 * caps its V8 heap. `--spec identity`: the sync copies the old schema unchanged (the spec introspected
 * from the source, as `switchyard sync` builds it) instead of the chat-history spec's renames and
 * expressions: the same tables on both targets, like for like with native replication.
 * `--replica-role on` (the default on 15+): the migration login is granted SET on
 * session_replication_role, so the sync's direct writes skip the destination's foreign-key checks as
 * native's apply worker does (docs/data-engine.md); `off`: a login without it.
 * `--streaming off`: the sync receives a large transaction whole at its commit (default: streamed,
 * lambda/engine/sync/streamed.ts); `--decoding-mem-kb N` / `--receive-buffer N` / `--batch-ms N`:
 * runSync's `decodingWorkMemKb` / `receiveBuffer` / `batchMs` (defaults: the engine's).
 * SY_CPU_PROF=<dir> writes a CPU profile of the sync process there (node --cpu-prof).
 */
import type { Client } from 'pg';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import {
  connect,
  copyTable,
  type DbEndpoint,
  describeTableWith,
  type MigrationSpec,
  prepareTarget,
} from '../lambda/engine';
import { introspectIdentitySpec } from '../lambda/engine/introspect';
import { chatHistorySpecFor } from '../lambda/engine/specs/chat-history';
import { createSync, qualifiedTableSpec, type runSync } from '../lambda/engine/sync';
import { OLD_CHAT_SCHEMA, seedChatHistory } from '../lambda/rehearsal/chat-history-seed';
import { type LocalCluster, startLocalCluster } from '../lambda/rehearsal/embedded-postgres';
import { SyncProcess } from './bench-sync-process';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SECONDS = arg('seconds', 60);
/** `--streaming on|off`: the sync streams large transactions (null: the engine's default, on). */
const STREAMING = (() => {
  const i = process.argv.indexOf('--streaming');
  if (i < 0) return null;
  const v = process.argv[i + 1];
  if (v !== 'on' && v !== 'off') throw new Error('--streaming: on or off');
  return v === 'on';
})();
const RATE = arg('rate', 500);
const BACKLOG = arg('backlog', 200_000);
const SEED = arg('seed', 100_000);
/** Rows of the one big transaction at the head of the backlog (at most the seeded rows and half the backlog). */
const BIG_ROWS = arg('big-rows', 100_000);
/** Rows of the single huge transaction drained in phase 3 (0 skips it). */
const HUGE_ROWS = arg('huge-rows', 500_000);
/** Rows of the write mix's multi-row transactions (insert, then update, each row): raises the change rate per op. */
const MULTI_ROWS = arg('multi-rows', 5);
/** 0: one continuous run during the write mix; N: bounded runs of N ms back to back (the Lambda shape). */
const BOUNDED_MS = arg('bounded-ms', 0);
const JSON_OUT = process.argv.includes('--json');
/**
 * Native replication's `streaming` option (off, on, parallel; the server's default when not given:
 * parallel on 18). Parallel streams a large transaction into an apply worker while it is still running;
 * the sync, like native with `off`, receives a transaction once it committed.
 */
const NATIVE_STREAMING = (() => {
  const i = process.argv.indexOf('--native-streaming');
  const v = i > 0 ? process.argv[i + 1] : undefined;
  if (v !== undefined && !['off', 'on', 'parallel'].includes(v))
    throw new Error('--native-streaming: off, on or parallel');
  return v;
})();
/** The sync process's V8 old-space cap in MB (0: V8's default), as a memory-limited runtime would set it. */
const SYNC_HEAP_MB = arg('sync-heap-mb', 0);
/** PostgreSQL major of the embedded server (13-18). */
const PG = arg('pg', 18);
const chatHistorySpec = chatHistorySpecFor(PG);
/** Grant the migration login SET on session_replication_role (15+: GRANT SET ON PARAMETER). */
const REPLICA_ROLE = (() => {
  const i = process.argv.indexOf('--replica-role');
  const v = i > 0 ? process.argv[i + 1] : PG >= 15 ? 'on' : 'off';
  if (v !== 'on' && v !== 'off') throw new Error('--replica-role: on or off');
  if (v === 'on' && PG < 15) throw new Error('--replica-role on needs PostgreSQL 15+ (GRANT SET ON PARAMETER)');
  return v === 'on';
})();
/** `chat`: the built-in chat-history spec (renames, expressions); `identity`: the old schema unchanged. */
const SPEC = (() => {
  const i = process.argv.indexOf('--spec');
  const v = i > 0 ? process.argv[i + 1] : 'chat';
  if (v !== 'chat' && v !== 'identity') throw new Error('--spec: chat or identity');
  return v;
})();
/** Where the sync's target holds the messages and the probe row, per spec. */
const TARGET =
  SPEC === 'identity'
    ? {
        messages: 'public.chat_messages',
        messageKey: 'id',
        probe: 'SELECT title AS t FROM public.chat_sessions WHERE id = 1',
      }
    : {
        messages: 'public.messages',
        messageKey: 'message_id',
        probe: 'SELECT title AS t FROM public.conversations WHERE conversation_id = 1',
      };
const log = (s: string) => (JSON_OUT ? process.stderr : process.stdout).write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) =>
  xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : NaN;

/** Peak RSS of this process per phase, sampled every 20 ms (the engine's copy runs in it, during setup). */
const rss = { phase: 'setup', peak: {} as Record<string, number> };
setInterval(() => {
  rss.peak[rss.phase] = Math.max(rss.peak[rss.phase] ?? 0, process.memoryUsage.rss());
}, 20).unref();
const peakMB = (phase: string) => Math.round((rss.peak[phase] ?? 0) / 1048576);
/** The sync runs in a process of its own (bench-sync-process.ts): its peak RSS per phase, as it reports it. */
const syncPeak: Record<string, number> = {};
const syncPeakMB = (phase: string) => Math.round((syncPeak[phase] ?? 0) / 1048576);
let syncProcess: SyncProcess;

/** One runSync in the sync process; its peak RSS counts for `phase`. */
async function runInSyncProcess(phase: string, opts: Parameters<SyncProcess['run']>[0]) {
  const { result, rssPeakBytes } = await syncProcess.run(opts);
  syncPeak[phase] = Math.max(syncPeak[phase] ?? 0, rssPeakBytes);
  return result;
}

/** The databases of one run: the source, our sync's target, native replication's target. */
interface Bench {
  readonly oldDb: DbEndpoint;
  readonly syncDb: DbEndpoint;
  readonly nativeDb: DbEndpoint;
  /** The migration login's view of the source and of our target. */
  readonly oldR: DbEndpoint;
  readonly syncR: DbEndpoint;
  readonly spec: MigrationSpec;
  /** Superuser sessions on the source and on native replication's target. */
  readonly oldAdmin: Client;
  readonly nat: Client;
  /** The sync's options for this run (continuous or bounded runs, untilLsn added per drain). */
  readonly follow: Omit<Parameters<typeof runSync>[0], 'untilLsn'>;
}

async function main() {
  const cluster = await startLocalCluster({ major: PG });
  const clients: Client[] = [];
  syncProcess = SyncProcess.start(SYNC_HEAP_MB);
  try {
    const b = await setUp(cluster, clients);
    const mix = await lagUnderWriteMix(b, clients);
    const lostSync = await lostCount(b.syncDb, TARGET.messages, TARGET.messageKey, mix);
    const lostNative = await lostCount(b.nativeDb, 'chat_messages', 'id', mix);
    const backlog = await backlogDrain(b);
    const huge = HUGE_ROWS > 0 ? await hugeTransaction(b.nat, b.oldAdmin, b.oldDb, { ...b.follow }) : null;
    const out = summary(mix, { sync: lostSync, native: lostNative }, backlog, huge);
    if (JSON_OUT) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    else printSummary(out);
    await b.nat.query(`ALTER SUBSCRIPTION native_sub DISABLE`);
    await b.nat.query(`ALTER SUBSCRIPTION native_sub SET (slot_name = NONE)`);
    await b.nat.query(`DROP SUBSCRIPTION native_sub`);
  } finally {
    for (const c of clients) await c.end().catch(() => undefined);
    await syncProcess.close();
    await cluster.stop();
  }
}

/** The login, three databases, the seed; our sync (slot before the copy, copy, then follow) and native replication. */
async function setUp(cluster: LocalCluster, clients: Client[]): Promise<Bench> {
  const admin = await connect(cluster.endpoint('postgres'));
  clients.push(admin);
  await admin.query(`CREATE ROLE switchyard LOGIN REPLICATION PASSWORD 'bench-only'`);
  if (REPLICA_ROLE) await admin.query(`GRANT SET ON PARAMETER session_replication_role TO switchyard`);
  const oldDb = await cluster.createDatabase('old');
  const syncDb = await cluster.createDatabase('new_sync');
  const nativeDb = await cluster.createDatabase('new_native');
  for (const d of ['old', 'new_sync']) await admin.query(`ALTER DATABASE ${d} OWNER TO switchyard`);
  const role = (e: DbEndpoint): DbEndpoint => ({ ...e, user: 'switchyard', password: 'bench-only' });
  for (const e of [oldDb, syncDb]) {
    const c = await connect(e);
    await c.query(`ALTER SCHEMA public OWNER TO switchyard`);
    await c.end();
  }
  const oldR = role(oldDb);
  const syncR = role(syncDb);
  {
    const c = await connect(oldR);
    await seedChatHistory(c, SEED);
    await c.end();
  }
  log(`seeded ${SEED} messages; ${SECONDS}s at ${RATE} ops/s, backlog ${BACKLOG} changes`);

  // Ours: publication + slot before the copy, copy through the spec, then follow.
  const base = SPEC === 'identity' ? await introspectIdentitySpec(oldR, undefined, 'bench-identity') : chatHistorySpec;
  const spec = { ...base, tables: base.tables.map((t) => ({ ...t, forwardOnly: true })) };
  await createSync(oldR, spec, 'bench', 'forward');
  await prepareTarget(spec, oldR, syncR);
  for (const t of spec.tables)
    await copyTable(await describeTableWith(qualifiedTableSpec(t), oldR, syncR), oldR, syncR, {
      runId: 'bench',
      concurrency: 2,
    });
  const oldAdmin = await connect(oldDb);
  const nat = await connect(nativeDb);
  clients.push(oldAdmin, nat);
  await setUpNative(cluster, oldDb, oldAdmin, nat);
  const follow = {
    ...{ migrationId: 'bench', direction: 'forward' as const, spec, source: oldR, target: syncR, pollMs: 20 },
    ...(arg('decoding-mem-kb', 0) > 0 ? { decodingWorkMemKb: arg('decoding-mem-kb', 0) } : {}),
    ...(arg('receive-buffer', 0) > 0 ? { receiveBuffer: arg('receive-buffer', 0) } : {}),
    ...(arg('batch-ms', 0) > 0 ? { batchMs: arg('batch-ms', 0) } : {}),
    ...(STREAMING === null ? {} : { streaming: STREAMING }),
  };
  return { oldDb, syncDb, nativeDb, oldR, syncR, spec, oldAdmin, nat, follow };
}

/** Native: same tables, pre-made slot (CREATE SUBSCRIPTION cannot create a slot on its own cluster), copied by COPY. */
async function setUpNative(cluster: LocalCluster, oldDb: DbEndpoint, oldAdmin: Client, nat: Client): Promise<void> {
  for (const s of OLD_CHAT_SCHEMA) await nat.query(s);
  await oldAdmin.query(`CREATE PUBLICATION native_pub FOR TABLE chat_sessions, chat_messages`);
  await oldAdmin.query(`SELECT pg_create_logical_replication_slot('native_slot', 'pgoutput')`);
  for (const t of ['chat_sessions', 'chat_messages']) {
    const src = await connect(oldDb);
    await pipeline(src.query(copyTo(`COPY ${t} TO STDOUT`)), nat.query(copyFrom(`COPY ${t} FROM STDIN`)));
    await src.end();
  }
  await nat.query(
    `CREATE SUBSCRIPTION native_sub CONNECTION 'host=127.0.0.1 port=${cluster.port} dbname=old user=postgres password=${oldDb.password}'
     PUBLICATION native_pub WITH (create_slot = false, slot_name = 'native_slot', copy_data = false${
       NATIVE_STREAMING ? `, streaming = ${NATIVE_STREAMING}` : ''
     })`,
  );
}

/** What the write mix acknowledged: inserted and deleted keys, operations done. */
interface Acknowledged {
  readonly inserted: Set<number>;
  readonly deleted: Set<number>;
  ops: number;
  /** Row changes the acknowledged operations made (an insert, update or delete of one row each). */
  changes: number;
}

/** One operation of the write mix: single-row inserts, updates and deletes, multi-row and a few slow transactions. */
function writeOp(ack: Acknowledged): (c: Client) => Promise<void> {
  let nextId = 10_000_000;
  return async (c) => {
    const r = Math.random();
    if (r < 0.4) {
      const id = nextId++;
      await c.query(`INSERT INTO chat_messages VALUES ($1, 1, 'human', 'bench insert', NULL, now(), now())`, [id]);
      ack.inserted.add(id);
      ack.changes++;
    } else if (r < 0.7) {
      await c.query(`UPDATE chat_messages SET body = 'bench update ' || $2, updated_at = now() WHERE id = $1`, [
        1 + Math.floor(Math.random() * SEED),
        ack.ops,
      ]);
      ack.changes++;
    } else if (r < 0.8) {
      const live = [...ack.inserted].filter((x) => !ack.deleted.has(x));
      if (!live.length) return;
      const id = live[Math.floor(Math.random() * live.length)];
      await c.query(`DELETE FROM chat_messages WHERE id = $1`, [id]);
      ack.deleted.add(id);
      ack.changes++;
    } else if (r < 0.97) {
      const ids = Array.from({ length: MULTI_ROWS }, () => nextId++);
      await c.query('BEGIN');
      await c.query(
        `INSERT INTO chat_messages SELECT x, 2, 'bot', 'bench multi', '{"m":1}', now(), now() FROM unnest($1::bigint[]) x`,
        [ids],
      );
      await c.query(`UPDATE chat_messages SET role = 'BOT' WHERE id = ANY($1::bigint[])`, [ids]);
      await c.query('COMMIT');
      for (const x of ids) ack.inserted.add(x);
      ack.changes += 2 * ids.length;
    } else {
      await c.query('BEGIN');
      await c.query(`UPDATE chat_messages SET metadata = 'slow' WHERE id = $1`, [1 + Math.floor(Math.random() * SEED)]);
      await sleep(300);
      await c.query('COMMIT');
      ack.changes++;
    }
    ack.ops++;
  };
}

/** Run `op` at RATE per second for SECONDS over the writers, at most one operation per writer at a time. */
async function runAtRate(writers: Client[], op: (c: Client) => Promise<void>): Promise<void> {
  const t0 = Date.now();
  const end = t0 + SECONDS * 1000;
  let scheduled = 0;
  const inflight = new Set<Promise<void>>();
  const busy = new Set<Client>();
  while (Date.now() < end) {
    const due = Math.floor(((Date.now() - t0) / 1000) * RATE);
    while (scheduled < due) {
      const free = writers.find((c) => !busy.has(c));
      if (!free) break;
      busy.add(free);
      scheduled++;
      const p = op(free).finally(() => {
        busy.delete(free);
        inflight.delete(p);
      });
      inflight.add(p);
    }
    await sleep(2);
  }
  await Promise.all(inflight);
}

/**
 * End-to-end lag: the session row 1's title carries a sequence number, written every 100 ms; each
 * target is polled for it. `finish()` writes one last probe once the writes stopped and returns how
 * long each target took to show it (converged: everything before it is there too).
 */
function probes(b: Bench) {
  const written = new Map<number, number>();
  const seen = { sync: new Map<number, number>(), native: new Map<number, number>() };
  let probe = 0;
  let stopProbes = false;
  const writer = (async () => {
    const c = await connect(b.oldDb);
    while (!stopProbes) {
      probe++;
      await c.query(`UPDATE chat_sessions SET title = $1 WHERE id = 1`, [`probe ${probe}`]);
      written.set(probe, Date.now());
      await sleep(100);
    }
    await c.end();
  })();
  let polling = true;
  const poller = async (db: DbEndpoint, sql: string, into: Map<number, number>) => {
    const c = await connect(db);
    while (polling) {
      const r = await c.query(sql);
      const n = Number(/probe (\d+)/.exec(r.rows[0]?.t ?? '')?.[1] ?? 0);
      for (let k = 1; k <= n; k++) if (!into.has(k) && written.has(k)) into.set(k, Date.now());
      await sleep(10);
    }
    await c.end();
  };
  const polls = [
    poller(b.syncDb, TARGET.probe, seen.sync),
    poller(b.nativeDb, `SELECT title AS t FROM chat_sessions WHERE id = 1`, seen.native),
  ];
  const lags = (m: Map<number, number>) =>
    [...m.entries()].filter(([k]) => written.has(k)).map(([k, at]) => (at - written.get(k)!) / 1000);
  const finish = async () => {
    stopProbes = true;
    await writer;
    const fin = await connect(b.oldDb);
    const last = ++probe;
    await fin.query(`UPDATE chat_sessions SET title = $1 WHERE id = 1`, [`probe ${last}`]);
    const stopAt = Date.now();
    written.set(last, stopAt);
    await fin.end();
    const converge = async (m: Map<number, number>) => {
      while (!m.has(last) && Date.now() - stopAt < 60_000) await sleep(10);
      return m.has(last) ? (m.get(last)! - stopAt) / 1000 : NaN;
    };
    const [convSync, convNative] = await Promise.all([converge(seen.sync), converge(seen.native)]);
    polling = false;
    await Promise.all(polls);
    return { convSync, convNative, lagSync: lags(seen.sync), lagNative: lags(seen.native) };
  };
  return { finish };
}

/** Phase 1: lag under the write mix, our sync (continuous, or bounded runs) beside native replication. */
async function lagUnderWriteMix(b: Bench, clients: Client[]) {
  rss.phase = 'lag';
  let stopped = false;
  const ours = (async () => {
    if (!BOUNDED_MS) return [await runInSyncProcess('lag', b.follow)];
    const runs = [];
    while (!stopped) runs.push(await runInSyncProcess('lag', { ...b.follow, maxMs: BOUNDED_MS }));
    return runs;
  })();
  const writers: Client[] = [];
  for (let i = 0; i < 8; i++) writers.push(await connect(b.oldDb, { applicationName: 'bench-writer' }));
  clients.push(...writers);
  const ack: Acknowledged = { inserted: new Set(), deleted: new Set(), ops: 0, changes: 0 };
  const probe = probes(b);
  await runAtRate(writers, writeOp(ack));
  // Writes have stopped: one last probe; converged = it (and so everything before it) is visible on the target.
  const seen = await probe.finish();
  stopped = true;
  syncProcess.stop();
  const runs = await ours;
  const phase1 = {
    runs: runs.length,
    transactions: runs.reduce((n, r) => n + r.transactions, 0),
    batches: runs.reduce((n, r) => n + r.batches, 0),
    conflicts: runs.reduce((n, r) => n + r.conflicts, 0),
  };
  return { ...ack, ...seen, phase1 };
}

/** lost = 0: every acknowledged insert present (unless acknowledged deleted), every acknowledged delete gone. */
async function lostCount(db: DbEndpoint, table: string, key: string, ack: Acknowledged): Promise<number> {
  const c = await connect(db);
  const r = await c.query(
    `SELECT count(*) FILTER (WHERE NOT (x = ANY($2::bigint[])) AND NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.${key} = x))::int AS missing,
            count(*) FILTER (WHERE x = ANY($2::bigint[]) AND EXISTS (SELECT 1 FROM ${table} t WHERE t.${key} = x))::int AS resurrected
       FROM unnest($1::bigint[]) x`,
    [[...ack.inserted], [...ack.deleted]],
  );
  await c.end();
  return r.rows[0].missing + r.rows[0].resurrected;
}

/** Phase 2: a backlog (one big transaction, then 1000-row ones) drained from a stopped start by each. */
async function backlogDrain(b: Bench) {
  rss.phase = 'backlog';
  await b.nat.query(`ALTER SUBSCRIPTION native_sub DISABLE`);
  await sleep(500);
  const gen = await connect(b.oldDb);
  // One big transaction (up to 100k rows, as many as the table has), then 1000-row transactions up to BACKLOG changes.
  const big =
    (
      await gen.query(
        `UPDATE chat_messages SET body = coalesce(body, '') || '.' WHERE id IN (SELECT id FROM chat_messages ` +
          `ORDER BY id LIMIT ${Math.min(BIG_ROWS, Math.floor(BACKLOG / 2))})`,
      )
    ).rowCount ?? 0;
  let left = BACKLOG - big;
  let from = 1;
  while (left > 0) {
    const n = Math.min(1000, left);
    const r = await gen.query(
      `UPDATE chat_messages SET updated_at = updated_at + interval '1 ms' WHERE id IN (SELECT id FROM ` +
        `chat_messages WHERE id >= ${from} ORDER BY id LIMIT ${n}) RETURNING id`,
    );
    left -= r.rowCount ?? 0;
    from = Number(r.rows[r.rows.length - 1]?.id ?? 0) + 1;
    if ((r.rowCount ?? 0) < n) from = 1;
  }
  const goal = (await gen.query(`SELECT pg_current_wal_insert_lsn()::text AS l`)).rows[0].l as string;
  await gen.end();
  let t = Date.now();
  rss.phase = 'drain';
  const drained = await runInSyncProcess('drain', {
    migrationId: 'bench',
    direction: 'forward',
    spec: b.spec,
    source: b.oldR,
    target: b.syncR,
    untilLsn: goal,
  });
  const syncSecs = (Date.now() - t) / 1000;
  rss.phase = 'native';
  t = Date.now();
  await b.nat.query(`ALTER SUBSCRIPTION native_sub ENABLE`);
  await nativeReached(b.oldAdmin, goal);
  const nativeSecs = (Date.now() - t) / 1000;
  return { big, syncSecs, nativeSecs, syncChanges: drained.inserted + drained.updated + drained.deleted };
}

/** Wait until native replication's slot confirmed `goal`. */
async function nativeReached(oldAdmin: Client, goal: string): Promise<void> {
  for (;;) {
    const r = await oldAdmin.query(
      `SELECT confirmed_flush_lsn >= $1::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = 'native_slot'`,
      [goal],
    );
    if (r.rows[0]?.done) return;
    await sleep(20);
  }
}

type Huge = Awaited<ReturnType<typeof hugeTransaction>>;

/** The figures of the run, their ratios to native replication, and the goals met. */
function summary(
  mix: Awaited<ReturnType<typeof lagUnderWriteMix>>,
  lost: { sync: number; native: number },
  backlog: Awaited<ReturnType<typeof backlogDrain>>,
  huge: Huge | null,
) {
  const { lagSync, lagNative, convSync, convNative } = mix;
  const { big, syncSecs, nativeSecs, syncChanges } = backlog;
  const backlogRatio = syncChanges / syncSecs / (BACKLOG / nativeSecs);
  return {
    seconds: SECONDS,
    rate: RATE,
    opsDone: mix.ops,
    opsPerSecond: Math.round(mix.ops / SECONDS),
    multiRows: MULTI_ROWS,
    rowChangesPerSecond: Math.round(mix.changes / SECONDS),
    lag: {
      sync: { p50: pct(lagSync, 50), p99: pct(lagSync, 99), samples: lagSync.length },
      native: { p50: pct(lagNative, 50), p99: pct(lagNative, 99), samples: lagNative.length },
    },
    convergeSeconds: { sync: convSync, native: convNative },
    lost: { ...lost, acknowledgedInserts: mix.inserted.size, acknowledgedDeletes: mix.deleted.size },
    backlog: {
      changes: BACKLOG,
      bigTransactionRows: big,
      sync: { seconds: syncSecs, rowsPerSecond: Math.round(syncChanges / syncSecs), changesApplied: syncChanges },
      native: { seconds: nativeSecs, rowsPerSecond: Math.round(BACKLOG / nativeSecs) },
    },
    ratios: {
      p50LagSyncOverNative: pct(lagSync, 50) / pct(lagNative, 50),
      p99LagSyncOverNative: pct(lagSync, 99) / pct(lagNative, 99),
      convergeSyncOverNative: convSync / convNative,
      backlogSyncOverNative: backlogRatio,
    },
    postgres: PG,
    nativeStreaming: NATIVE_STREAMING ?? 'server default',
    /** The migration login may set session_replication_role (direct writes skip foreign-key checks). */
    replicaRole: REPLICA_ROLE,
    huge,
    phase1Sync: { ...mix.phase1, boundedMs: BOUNDED_MS },
    /**
     * Peak RSS of the sync process (its own process: PostgreSQL, the writers and the probes run in others)
     * per phase: lag (the continuous sync under the write mix), drain (the backlog), huge (the huge
     * transaction); setup: the bench process during the seed and the engine's copy.
     */
    rssPeakMB: { setup: peakMB('setup'), lag: syncPeakMB('lag'), drain: syncPeakMB('drain'), huge: syncPeakMB('huge') },
    /** The issue's goals, each true when met by this run. */
    goals: {
      lostZero: lost.sync === 0,
      p50LagAtMostNative: pct(lagSync, 50) <= pct(lagNative, 50),
      p99LagAtMostNative: pct(lagSync, 99) <= pct(lagNative, 99),
      convergeAtMostNativePlus01s: convSync <= convNative + 0.1,
      // null: the phase was not run (--backlog 0, --huge-rows 0).
      backlogAtLeast12xNative: BACKLOG > 0 ? backlogRatio >= 1.2 : null,
      hugeAtLeast1xNative: huge ? huge.ratio >= 1 : null,
      rssUnder300MB: Math.max(syncPeakMB('lag'), syncPeakMB('drain'), syncPeakMB('huge')) < 300,
    },
  };
}

function printSummary(out: ReturnType<typeof summary>): void {
  const { lag, ratios, backlog, huge } = out;
  log(`write mix: ${out.opsDone} ops in ${SECONDS}s (${out.opsPerSecond}/s, ${out.rowChangesPerSecond} row changes/s)`);
  log(
    `lag p50/p99   sync ${lag.sync.p50.toFixed(3)}/${lag.sync.p99.toFixed(3)} s   native ` +
      `${lag.native.p50.toFixed(3)}/${lag.native.p99.toFixed(3)} s   (ratio sync/native p50 ` +
      `${ratios.p50LagSyncOverNative.toFixed(2)}, p99 ${ratios.p99LagSyncOverNative.toFixed(2)})`,
  );
  log(
    `converge      sync ${out.convergeSeconds.sync.toFixed(3)} s   native ${out.convergeSeconds.native.toFixed(3)} s   ` +
      `(ratio ${ratios.convergeSyncOverNative.toFixed(2)})`,
  );
  log(
    `lost          sync ${out.lost.sync}   native ${out.lost.native}   (of ${out.lost.acknowledgedInserts} ` +
      `acknowledged inserts, ${out.lost.acknowledgedDeletes} deletes)`,
  );
  log(
    `backlog ${BACKLOG} changes (one ${backlog.bigTransactionRows}-row transaction): sync ` +
      `${backlog.sync.rowsPerSecond} rows/s (${backlog.sync.seconds.toFixed(2)} s)   native ` +
      `${backlog.native.rowsPerSecond} rows/s (${backlog.native.seconds.toFixed(2)} s)   ratio ` +
      `${ratios.backlogSyncOverNative.toFixed(2)}`,
  );
  if (huge)
    log(
      `one ${huge.rows}-row transaction: sync ${huge.sync.rowsPerSecond} rows/s (${huge.sync.seconds.toFixed(2)} s)   ` +
        `native ${huge.native.rowsPerSecond} rows/s (${huge.native.seconds.toFixed(2)} s)   ` +
        `ratio ${huge.ratio.toFixed(2)} (native streaming: ${out.nativeStreaming}; ` +
        `replica role for the sync: ${out.replicaRole ? 'granted' : 'not granted'})`,
    );
  log(
    `peak RSS of the sync process: lag phase ${out.rssPeakMB.lag} MB, drain ${out.rssPeakMB.drain} MB, ` +
      `huge transaction ${out.rssPeakMB.huge} MB (the bench process during setup, the engine copy: ${out.rssPeakMB.setup} MB)`,
  );
  log(
    `goals: ${Object.entries(out.goals)
      .map(([k, v]) => `${k} ${v === null ? 'not run' : v ? 'met' : 'MISSED'}`)
      .join(', ')}`,
  );
}

/** Phase 3: one transaction inserting HUGE_ROWS rows, drained by the sync (one run) and then by native replication. */
async function hugeTransaction(
  nat: Client,
  oldAdmin: Client,
  oldDb: DbEndpoint,
  follow: Omit<Parameters<typeof runSync>[0], 'untilLsn'>,
) {
  await nat.query(`ALTER SUBSCRIPTION native_sub DISABLE`);
  await sleep(500);
  const gen = await connect(oldDb);
  await gen.query(
    `INSERT INTO chat_messages SELECT 50000000 + g, 1, 'human', 'huge transaction row', NULL, now(), now()
       FROM generate_series(1, ${HUGE_ROWS}) g`,
  );
  const goal = (await gen.query(`SELECT pg_current_wal_insert_lsn()::text AS l`)).rows[0].l as string;
  await gen.end();
  rss.phase = 'huge';
  let t = Date.now();
  const r = await runInSyncProcess('huge', { ...follow, untilLsn: goal });
  const syncSecs = (Date.now() - t) / 1000;
  rss.phase = 'native-huge';
  t = Date.now();
  await nat.query(`ALTER SUBSCRIPTION native_sub ENABLE`);
  await nativeReached(oldAdmin, goal);
  const nativeSecs = (Date.now() - t) / 1000;
  return {
    rows: HUGE_ROWS,
    sync: {
      ...{ seconds: syncSecs, rowsPerSecond: Math.round(r.inserted / syncSecs), inserted: r.inserted },
      streamed: r.streamed === 1,
    },
    native: { seconds: nativeSecs, rowsPerSecond: Math.round(HUGE_ROWS / nativeSecs) },
    ratio: syncSecs > 0 ? nativeSecs / syncSecs : Number.NaN,
  };
}

main().catch((e) => {
  process.stderr.write(`bench-sync failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exit(1);
});

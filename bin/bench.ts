#!/usr/bin/env node
/**
 * npm run bench [-- --rows 1000000 --reps 3 --parallel 1,2,4|none --naive-rows 200000 --scale-rows N --diagnose
 *                   --maintenance-work-mem 256MB --no-fsync --json --many-tables 200x10000,2000x100|none --many-only
 *                   --sync-seconds 60 --sync-rate 500 --sync-backlog 200000 | --no-sync]
 *
 * Measures, in one run on one embedded PostgreSQL server, the data engine against
 * the baselines on the same data (the example chat-history `messages` table):
 *   copy:     engine (copyTable + buildDeferredIndexes)  vs  raw single-stream COPY pipe into the
 *             key-only table + the same CREATE INDEX  vs  naive 1,000-row INSERT loop
 *   validate: engine validateTable  vs  raw whole-table hash sum on both sides  vs  count(*) on both sides
 *   scale:    engine rows/s at --rows vs at --scale-rows (default rows/10, its own source database)
 *   many tables: N tables × R rows (--many-tables), the engine's copyTables vs a raw COPY pipe per table,
 *             both at the same concurrency (bin/bench-many-tables.ts); --many-only runs just these
 *   --diagnose: where the time goes (planning, per-chunk DELETE, indexes during the load,
 *             chunk size, parallelism, WAL bytes and checkpoints), one run each
 *   sync:     then (own server) the change-capture sync beside PostgreSQL's native logical
 *             replication under a write mix, and a backlog drain (bin/bench-sync.ts; `--no-sync` skips it)
 * Warm-up first, variants interleaved (order rotated per repetition), medians reported.
 * Prints this process's peak RSS (the engine runs in it; PostgreSQL runs in its own processes).
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { benchManyTables, type ManyTablesCase, type ManyTablesResult, parseManyTables } from './bench-many-tables';
import { seedChatHistory } from '../lambda/rehearsal/chat-history-seed';
import { startLocalCluster } from '../lambda/rehearsal/embedded-postgres';
import {
  buildDeferredIndexes,
  connect,
  copyTable,
  type DbEndpoint,
  describeTableWith,
  planChunks,
  prepareTarget,
  validateTable,
} from '../lambda/engine';
import {
  checksumSql,
  FULL_RANGE,
  projectionExprs,
  qi,
  sourceCompareSelect,
  sourceSelect,
  type TableLayout,
  targetColumnList,
  targetSelect,
  targetTable,
} from '../lambda/engine/sql';
import { chatHistorySpec } from '../lambda/engine/specs/chat-history';

interface Args {
  rows: number;
  reps: number;
  parallel: number[];
  naiveRows: number;
  scaleRows: number | null;
  diagnose: boolean;
  fsync: boolean;
  json: boolean;
  manyTables: ManyTablesCase[];
  manyOnly: boolean;
  /** Arguments for bin/bench-sync.ts, or null with --no-sync. */
  sync: string[] | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    rows: 1_000_000,
    reps: 3,
    parallel: [1, 2, 4],
    naiveRows: 200_000,
    scaleRows: null,
    diagnose: false,
    fsync: true,
    json: false,
    manyTables: parseManyTables('200x10000,2000x100'),
    manyOnly: false,
    sync: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = (name: string, min: number) => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer >= ${min}, got: ${argv[i]}`);
      return v;
    };
    if (a === '--rows') args.rows = num('--rows', 1000);
    else if (a === '--reps') args.reps = num('--reps', 1);
    else if (a === '--naive-rows') args.naiveRows = num('--naive-rows', 1000);
    else if (a === '--parallel') args.parallel = argv[++i] === 'none' ? [] : String(argv[i]).split(',').map(Number);
    else if (a === '--scale-rows') args.scaleRows = num('--scale-rows', 0);
    else if (a === '--diagnose') args.diagnose = true;
    else if (a === '--maintenance-work-mem') {
      MAINTENANCE_WORK_MEM = String(argv[++i]);
      if (!/^\d+(kB|MB|GB)$/.test(MAINTENANCE_WORK_MEM))
        throw new Error(`--maintenance-work-mem must look like 256MB or 1GB, got: ${MAINTENANCE_WORK_MEM}`);
    } else if (a === '--no-fsync') args.fsync = false;
    else if (a === '--json') args.json = true;
    else if (a === '--many-tables') args.manyTables = parseManyTables(String(argv[++i]));
    else if (a === '--many-only') args.manyOnly = true;
    else if (a === '--no-sync') args.sync = null;
    else if (a === '--sync-seconds' || a === '--sync-rate' || a === '--sync-backlog') {
      const v = num(a, 1);
      args.sync?.push(`--${a.slice('--sync-'.length)}`, String(v));
    } else throw new Error(`unknown option: ${a}`);
  }
  if (args.parallel.some((p) => !Number.isInteger(p) || p < 1))
    throw new Error(`--parallel must list positive integers, got: ${args.parallel.join(',')}`);
  args.naiveRows = Math.min(args.naiveRows, args.rows);
  args.scaleRows ??= Math.floor(args.rows / 10);
  return args;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** Back to the state PrepareTarget leaves: empty table, key only, deferred indexes recorded and not built, no plans. */
async function truncate(target: DbEndpoint) {
  const c = await connect(target);
  const deferred = await c.query(`SELECT name FROM switchyard.deferred_indexes WHERE kind = 'index'`);
  await c.query(
    'TRUNCATE messages; DELETE FROM switchyard.copy_chunks; UPDATE switchyard.deferred_indexes SET built_at = NULL',
  );
  for (const r of deferred.rows) await c.query(`DROP INDEX IF EXISTS public.${qi(r.name)}`);
  await c.query('CHECKPOINT');
  await c.end();
}

async function deferredIndexDefs(target: DbEndpoint): Promise<string[]> {
  const c = await connect(target);
  try {
    return (
      await c.query(`SELECT definition FROM switchyard.deferred_indexes WHERE kind = 'index' ORDER BY name`)
    ).rows.map((r) => r.definition as string);
  } finally {
    await c.end();
  }
}

/**
 * The limit: one COPY (SELECT projection) TO STDOUT piped into COPY FROM STDIN, one transaction,
 * into the key-only table, then the same CREATE INDEX statements one after the other and ANALYZE
 * (what a careful person does by hand, and what the engine's index build does; loading into the
 * indexed table is slower, see --diagnose).
 */
async function rawPipe(layout: TableLayout, source: DbEndpoint, target: DbEndpoint, indexDefs: readonly string[]) {
  const src = await connect(source, { readOnly: true });
  const tgt = await connect(target);
  try {
    await tgt.query('BEGIN');
    await pipeline(
      src.query(copyTo(`COPY (${sourceSelect(layout, FULL_RANGE)}) TO STDOUT`)),
      tgt.query(copyFrom(`COPY ${targetTable(layout)} (${targetColumnList(layout)}) FROM STDIN`)),
    );
    await tgt.query('COMMIT');
    await tgt.query(`SET maintenance_work_mem = '${MAINTENANCE_WORK_MEM}'`);
    for (const def of indexDefs) await tgt.query(def);
    // The engine's index build ends with ANALYZE (planner statistics for the new table): so does the baseline.
    if (indexDefs.length) await tgt.query(`ANALYZE ${targetTable(layout)}`);
  } finally {
    await Promise.all([src.end(), tgt.end()]);
  }
}

/** WAL bytes written and checkpoints started on the server during `fn`. */
async function walAndCheckpoints(
  target: DbEndpoint,
  fn: () => Promise<unknown>,
): Promise<{ seconds: number; walMB: number; checkpoints: number }> {
  const c = await connect(target);
  const snap = async () =>
    (
      await c.query(
        `SELECT pg_current_wal_lsn()::text AS lsn, (SELECT num_timed + num_requested FROM pg_stat_checkpointer)::int AS cp`,
      )
    ).rows[0];
  try {
    const a = await snap();
    const seconds = await timed(fn);
    const b = await snap();
    const wal = await c.query(`SELECT pg_wal_lsn_diff($1, $2)::float8 AS d`, [b.lsn, a.lsn]);
    return { seconds, walMB: Math.round(Number(wal.rows[0].d) / 1e6), checkpoints: b.cp - a.cp };
  } finally {
    await c.end();
  }
}

/** The baseline people write by hand: read rows into JS, 1,000-row multi-row INSERTs. */
async function naiveInsert(layout: TableLayout, source: DbEndpoint, target: DbEndpoint, rows: number) {
  const src = await connect(source, { readOnly: true });
  const tgt = await connect(target);
  const cols = layout.columns.map((c) => c.name);
  const exprs = projectionExprs(layout).map((e, i) => `${e} AS ${qi(cols[i])}`);
  try {
    let last = 0;
    while (last < rows) {
      const batch: Record<string, unknown>[] = (
        await src.query(
          `SELECT ${exprs.join(', ')} FROM chat_messages s WHERE s.id > $1 AND s.id <= $2 ORDER BY s.id LIMIT 1000`,
          [last, rows],
        )
      ).rows;
      if (!batch.length) break;
      const params: unknown[] = [];
      const placeholder = (v: unknown): string => {
        params.push(v);
        return `$${params.length}`;
      };
      const values = batch.map((r) => `(${cols.map((c) => placeholder(r[c])).join(', ')})`);
      await tgt.query(`INSERT INTO messages (${cols.map(qi).join(', ')}) VALUES ${values.join(', ')}`, params);
      last = Number(batch[batch.length - 1].message_id);
    }
  } finally {
    await Promise.all([src.end(), tgt.end()]);
  }
}

async function both<T>(
  source: DbEndpoint,
  target: DbEndpoint,
  fn: (c: Client, side: 'source' | 'target') => Promise<T>,
) {
  const [s, t] = await Promise.all([connect(source, { readOnly: true }), connect(target, { readOnly: true })]);
  try {
    return await Promise.all([fn(s, 'source'), fn(t, 'target')]);
  } finally {
    await Promise.all([s.end(), t.end()]);
  }
}

/** Chunk copies at once in the engine (the stage default copyConcurrency of the example); the raw many-tables pipe uses as many workers. */
const ENGINE_PARALLEL = 2;

/** Both the engine's index build and the raw pipe's CREATE INDEX get the same sort memory (--maintenance-work-mem). */
let MAINTENANCE_WORK_MEM = '256MB';

async function withBoth<T>(
  source: DbEndpoint,
  target: DbEndpoint,
  fn: (src: Client, tgt: Client) => Promise<T>,
): Promise<T> {
  const [s, t] = await Promise.all([connect(source, { readOnly: true }), connect(target)]);
  try {
    return await fn(s, t);
  } finally {
    await Promise.all([s.end(), t.end()]);
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const log = (m: string) => (args.json ? process.stderr : process.stdout).write(`${m}\n`);
  const cluster = await startLocalCluster({ durable: args.fsync });
  let stopped = false;
  const stop = async () => {
    if (!stopped) {
      stopped = true;
      await cluster.stop();
    }
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    const many = await manyTables(args, cluster, log);
    if (args.manyOnly) {
      if (args.json) process.stdout.write(`${JSON.stringify({ manyTables: many, maxRssMB: peakRssMB() })}\n`);
      else printManyTables(many, log);
      return;
    }
    const b = await setUpCopyBench(args, cluster, log);
    const samples = await copyAndValidateSamples(b);
    const scaling = await parallelScaling(b);
    const diagnosis = args.diagnose ? await diagnose(b) : [];
    const result = await benchResult(b, samples, scaling, diagnosis, many);
    if (args.json) {
      const sync = args.sync && syncBench(args.sync, true);
      process.stdout.write(`${JSON.stringify({ ...result, ...(sync ? { sync } : {}) })}\n`);
    } else {
      printResult(result, args, log);
      printManyTables(many, log);
      log(`peak RSS of the engine process: ${result.maxRssMB} MB`);
      if (args.sync) {
        log('sync (bin/bench-sync.ts, its own server)');
        syncBench(args.sync, false);
      }
    }
  } finally {
    await stop();
  }
}

/** The copy and validate benchmark's databases, layouts, and the engine copy it times. */
interface CopyBench {
  readonly args: Args;
  readonly log: (m: string) => void;
  readonly source: DbEndpoint;
  readonly target: DbEndpoint;
  /** --scale-rows: a smaller source of its own. */
  readonly sourceSmall?: DbEndpoint;
  readonly layout: TableLayout;
  readonly layoutSmall?: TableLayout;
  readonly messagesSpec: TableLayout['spec'];
  /** The CREATE INDEX statements deferred for the load (the raw pipe runs the same ones). */
  readonly indexDefs: string[];
  /** Seconds of each index build inside an engine copy of the main source. */
  readonly indexSeconds: number[];
  /** The engine: copyTable, then buildDeferredIndexes, checked for the row count. */
  engineCopy(concurrency: number, l?: TableLayout, src?: DbEndpoint, rows?: number): Promise<void>;
  /** A fresh copy run id; `lastRunId()` is the one of the last engine copy. */
  nextRunId(): string;
  lastRunId(): string;
}

/** Engine chunk copies at once; one checksum query per side already keeps both cores busy. */
const VALIDATE_PARALLEL = 1;

/** Seed the source(s), prepare the target with its indexes deferred, describe the layouts. */
async function setUpCopyBench(
  args: Args,
  cluster: { createDatabase(name: string): Promise<DbEndpoint> },
  log: (m: string) => void,
): Promise<CopyBench> {
  const source = await cluster.createDatabase('bench_source');
  const target = await cluster.createDatabase('bench_target');
  log(`seeding ${args.rows.toLocaleString()} chat messages (fsync ${args.fsync ? 'on' : 'off'}) ...`);
  const seedSeconds = await timed(async () => {
    const c = await connect(source);
    await seedChatHistory(c, args.rows);
    await c.end();
  });
  log(`seeded in ${seedSeconds.toFixed(1)} s`);
  const sourceSmall = args.scaleRows ? await cluster.createDatabase('bench_source_small') : undefined;
  if (sourceSmall) {
    const c = await connect(sourceSmall);
    await seedChatHistory(c, args.scaleRows!);
    await c.end();
  }
  const prep = await prepareTarget(chatHistorySpec, source, target, { deferIndexes: true });
  log(`deferred for the load: ${prep.deferred.join(', ') || 'nothing'}`);
  const messagesSpec = chatHistorySpec.tables.find((t) => t.name === 'messages')!;
  const layout = await describeTableWith(messagesSpec, source, target);
  const indexDefs = await deferredIndexDefs(target);
  const layoutSmall = sourceSmall ? await describeTableWith(messagesSpec, sourceSmall, target) : undefined;
  let run = 0;
  const indexSeconds: number[] = [];
  const engineCopy = async (concurrency: number, l = layout, src = source, rows = args.rows) => {
    const r = await copyTable(l, src, target, { runId: `bench-${run++}`, concurrency });
    if (r.rowsTotal !== rows) throw new Error(`engine copied ${r.rowsTotal} rows, expected ${rows}`);
    const built = await buildDeferredIndexes(chatHistorySpec, target, {
      tables: ['messages'],
      maintenanceWorkMem: MAINTENANCE_WORK_MEM,
    });
    if (l === layout) indexSeconds.push(built.seconds);
  };
  const b: CopyBench = {
    args,
    log,
    source,
    target,
    sourceSmall,
    layout,
    layoutSmall,
    messagesSpec,
    indexDefs,
    indexSeconds,
    engineCopy,
    nextRunId: () => `bench-${run++}`,
    lastRunId: () => `bench-${run - 1}`,
  };
  log('warm-up ...');
  await truncate(target);
  await rawPipe(layout, source, target, indexDefs);
  await truncate(target);
  await engineCopy(ENGINE_PARALLEL);
  await validateTable(layout, source, target, { runId: b.lastRunId(), concurrency: VALIDATE_PARALLEL });
  return b;
}

/** Each repetition: the copy variants, then (on an engine copy) the readers; order rotated per repetition. */
async function copyAndValidateSamples(b: CopyBench): Promise<Record<string, number[]>> {
  const { args, source, target, layout, sourceSmall } = b;
  const t: Record<string, number[]> = {
    engine: [],
    raw: [],
    naive: [],
    ...(sourceSmall ? { engineSmall: [] } : {}),
    validate: [],
    rawChecksum: [],
    count: [],
  };
  const copyVariants: [string, () => Promise<unknown>][] = [
    ['engine', () => b.engineCopy(ENGINE_PARALLEL)],
    ['raw', () => rawPipe(layout, source, target, b.indexDefs)],
    ['naive', () => naiveInsert(layout, source, target, args.naiveRows)],
  ];
  if (sourceSmall)
    copyVariants.push([
      'engineSmall',
      () => b.engineCopy(ENGINE_PARALLEL, b.layoutSmall, sourceSmall, args.scaleRows!),
    ]);
  for (let rep = 0; rep < args.reps; rep++) {
    const order = copyVariants.map((_, i) => copyVariants[(i + rep) % copyVariants.length]);
    for (const [name, fn] of order) {
      await truncate(target);
      t[name].push(await timed(fn));
    }
    // Validation variants need a full target: copy once with the engine, then interleave the readers.
    await truncate(target);
    await b.engineCopy(ENGINE_PARALLEL);
    const readers = validateReaders(b, b.lastRunId());
    for (let i = 0; i < readers.length; i++) {
      const [name, fn] = readers[(i + rep) % readers.length];
      t[name].push(await timed(fn));
    }
    b.log(
      `rep ${rep + 1}/${args.reps}: ${Object.entries(t)
        .map(([k, v]) => `${k} ${v[v.length - 1].toFixed(2)}s`)
        .join(', ')}`,
    );
  }
  return t;
}

/** The engine's validateTable against a raw whole-table hash sum and count(*), both sides at once. */
function validateReaders(b: CopyBench, runId: string): [string, () => Promise<unknown>][] {
  const { source, target, layout } = b;
  return [
    [
      'validate',
      async () => {
        const v = await validateTable(layout, source, target, { runId, concurrency: VALIDATE_PARALLEL });
        if (!v.match) throw new Error('validation reported a mismatch on an exact copy');
      },
    ],
    [
      'rawChecksum',
      () =>
        both(source, target, (c, side) =>
          c.query(
            checksumSql(side === 'source' ? sourceCompareSelect(layout, FULL_RANGE) : targetSelect(layout, FULL_RANGE)),
          ),
        ),
    ],
    [
      'count',
      () =>
        both(source, target, (c, side) =>
          c.query(side === 'source' ? 'SELECT count(*) FROM chat_messages' : 'SELECT count(*) FROM messages'),
        ),
    ],
  ];
}

type Scaling = { parallel: number; seconds: number; rowsPerSecond: number }[];

/** The engine copy at each --parallel, medians of the repetitions. */
async function parallelScaling(b: CopyBench): Promise<Scaling> {
  const scaling: Scaling = [];
  for (const p of b.args.parallel) {
    const secs: number[] = [];
    for (let rep = 0; rep < b.args.reps; rep++) {
      await truncate(b.target);
      secs.push(await timed(() => b.engineCopy(p)));
    }
    scaling.push({ parallel: p, seconds: median(secs), rowsPerSecond: Math.round(b.args.rows / median(secs)) });
    b.log(`engine copy, parallel ${p}: ${median(secs).toFixed(2)} s`);
  }
  return scaling;
}

type Diagnosis = { variant: string; seconds: number; walMB: number; checkpoints: number }[];

/** --diagnose: where the time goes, one run each with its WAL bytes and checkpoints. */
async function diagnose(b: CopyBench): Promise<Diagnosis> {
  const { source, target, layout, messagesSpec } = b;
  const diagnosis: Diagnosis = [];
  const diag = async (variant: string, fn: () => Promise<unknown>) => {
    await truncate(target);
    const r = await walAndCheckpoints(target, fn);
    diagnosis.push({ variant, ...r });
    b.log(`diagnose: ${variant}: ${r.seconds.toFixed(2)} s, WAL ${r.walMB} MB, ${r.checkpoints} checkpoints`);
  };
  const buildIndexes = () =>
    buildDeferredIndexes(chatHistorySpec, target, { tables: ['messages'], maintenanceWorkMem: MAINTENANCE_WORK_MEM });
  const copyOnly = (l: TableLayout, concurrency = ENGINE_PARALLEL) =>
    copyTable(l, source, target, { runId: b.nextRunId(), concurrency });
  await diag('planning only (planChunks: page sample above 200,000 rows)', () =>
    withBoth(source, target, (s, g) => planChunks(layout, s, g, b.nextRunId())),
  );
  await diag('engine copy, fresh chunks (no DELETE), key only, no index build', () => copyOnly(layout));
  await diag('buildDeferredIndexes after that copy', async () => {
    await copyOnly(layout);
    const t0 = performance.now();
    await buildIndexes();
    return (performance.now() - t0) / 1000;
  });
  await diag('engine copy with the per-chunk DELETE (resume path), key only', async () => {
    const runId = b.nextRunId();
    await withBoth(source, target, async (s, g) => {
      await planChunks(layout, s, g, runId);
      await g.query(`UPDATE switchyard.copy_chunks SET fresh = false WHERE run_id = $1`, [runId]);
    });
    await copyTable(layout, source, target, { runId, concurrency: ENGINE_PARALLEL });
  });
  await diag('engine copy into the indexed table (index maintained during the load)', async () => {
    await buildIndexes();
    await copyOnly(layout);
  });
  for (const chunkSize of [10_000, 50_000, 200_000, 500_000]) {
    await diag(`engine copy, chunk size ${chunkSize.toLocaleString()}, key only`, () =>
      copyOnly({ ...layout, spec: { ...messagesSpec, chunkSize } }),
    );
  }
  await diag('raw COPY pipe into the key-only table, no index build', () => rawPipe(layout, source, target, []));
  await diag('raw COPY pipe into the indexed table', async () => {
    await buildIndexes();
    await rawPipe(layout, source, target, []);
  });
  return diagnosis;
}

/** Medians, rows per second and the ratios to the baselines, with the target's size. */
async function benchResult(
  b: CopyBench,
  t: Record<string, number[]>,
  scaling: Scaling,
  diagnosis: Diagnosis,
  many: Awaited<ReturnType<typeof manyTables>>,
) {
  const { args } = b;
  const sizes = await withBoth(b.source, b.target, async (_s, g) => {
    const r = await g.query(
      `SELECT pg_table_size('public.messages')::float8 AS heap, pg_indexes_size('public.messages')::float8 AS idx`,
    );
    return { heapMB: Math.round(r.rows[0].heap / 1e6), indexMB: Math.round(r.rows[0].idx / 1e6) };
  });
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
  const rps = (rows: number, s: number) => Math.round(rows / s);
  return {
    rows: args.rows,
    repetitions: args.reps,
    fsync: args.fsync,
    copy: {
      engineParallel: ENGINE_PARALLEL,
      engineSeconds: m.engine,
      engineRowsPerSecond: rps(args.rows, m.engine),
      rawPipeSeconds: m.raw,
      rawPipeRowsPerSecond: rps(args.rows, m.raw),
      naiveRows: args.naiveRows,
      naiveSeconds: m.naive,
      naiveRowsPerSecond: rps(args.naiveRows, m.naive),
      ratioToRawPipe: +(rps(args.rows, m.engine) / rps(args.rows, m.raw)).toFixed(3),
      ratioToNaiveInsert: +(rps(args.rows, m.engine) / rps(args.naiveRows, m.naive)).toFixed(3),
      indexBuildSecondsMedian: +median(b.indexSeconds).toFixed(2),
      scaling,
    },
    scale: b.sourceSmall
      ? {
          smallRows: args.scaleRows,
          smallRowsPerSecond: rps(args.scaleRows!, m.engineSmall),
          rowsPerSecond: rps(args.rows, m.engine),
          ratio: +(rps(args.rows, m.engine) / rps(args.scaleRows!, m.engineSmall)).toFixed(3),
        }
      : null,
    maxRssMB: peakRssMB(),
    targetSize: { ...sizes, bytesPerRow: Math.round((sizes.heapMB * 1e6) / args.rows) },
    diagnosis,
    manyTables: many,
    validate: {
      engineParallel: VALIDATE_PARALLEL,
      engineSeconds: m.validate,
      engineRowsPerSecond: rps(args.rows, m.validate),
      rawChecksumSeconds: m.rawChecksum,
      countSeconds: m.count,
      ratioToRawChecksum: +(m.rawChecksum / m.validate).toFixed(3),
      ratioToCount: +(m.count / m.validate).toFixed(3),
    },
    samples: t,
  };
}

function printResult(result: Awaited<ReturnType<typeof benchResult>>, args: Args, log: (m: string) => void): void {
  const { copy, validate, targetSize: sizes } = result;
  log('');
  log(`copy (${args.rows.toLocaleString()} rows, medians of ${args.reps})`);
  log(`  engine (parallel ${copy.engineParallel})  ${copy.engineRowsPerSecond.toLocaleString()} rows/s`);
  log(`  raw COPY pipe        ${copy.rawPipeRowsPerSecond.toLocaleString()} rows/s`);
  log(
    `  naive INSERT loop    ${copy.naiveRowsPerSecond.toLocaleString()} rows/s (on ${args.naiveRows.toLocaleString()} rows)`,
  );
  log(`  engine / raw pipe    ${copy.ratioToRawPipe}x`);
  log(`  engine / naive       ${copy.ratioToNaiveInsert}x`);
  for (const s of copy.scaling) log(`  parallel ${s.parallel}: ${s.rowsPerSecond.toLocaleString()} rows/s`);
  log(`  index build (median, inside the engine figure) ${copy.indexBuildSecondsMedian} s`);
  if (result.scale)
    log(
      `scale: ${result.scale.rowsPerSecond.toLocaleString()} rows/s at ${args.rows.toLocaleString()} vs ` +
        `${result.scale.smallRowsPerSecond.toLocaleString()} at ${args.scaleRows!.toLocaleString()} -> ratio ` +
        `${result.scale.ratio}x`,
    );
  log('validate');
  log(
    `  engine (parallel ${validate.engineParallel})  ${validate.engineRowsPerSecond.toLocaleString()} rows/s ` +
      `(${validate.engineSeconds.toFixed(2)} s)`,
  );
  log(`  raw checksum         ${validate.rawChecksumSeconds.toFixed(2)} s  -> ratio ${validate.ratioToRawChecksum}x`);
  log(`  count(*)             ${validate.countSeconds.toFixed(2)} s  -> ratio ${validate.ratioToCount}x`);
  log(`target table: ${sizes.heapMB} MB heap (${sizes.bytesPerRow} bytes/row), ${sizes.indexMB} MB indexes`);
}

const peakRssMB = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** The many-tables cases, each on its own pair of databases, engine and raw pipe at the engine's concurrency. */
export async function manyTables(
  args: Pick<Args, 'manyTables' | 'reps'>,
  cluster: { createDatabase(name: string): Promise<DbEndpoint> },
  log: (m: string) => void,
): Promise<ManyTablesResult[]> {
  const out: ManyTablesResult[] = [];
  for (const [i, c] of args.manyTables.entries()) {
    log(`many tables: seeding ${c.tables} tables x ${c.rows.toLocaleString()} rows ...`);
    const dbs = {
      source: await cluster.createDatabase(`bench_many_source_${i}`),
      target: await cluster.createDatabase(`bench_many_target_${i}`),
    };
    out.push(await benchManyTables(c, dbs, { concurrency: ENGINE_PARALLEL, reps: args.reps, log }));
  }
  return out;
}

export function printManyTables(results: readonly ManyTablesResult[], log: (m: string) => void): void {
  for (const r of results) {
    const rows = r.tables * r.rows;
    log(
      `many tables ${r.tables} x ${r.rows.toLocaleString()} (concurrency ${r.concurrency}, medians of ${r.samples.engine.length}): ` +
        `engine ${r.engineSeconds.toFixed(2)} s (${Math.round(rows / r.engineSeconds).toLocaleString()} rows/s), ` +
        `raw pipe per table ${r.rawSeconds.toFixed(2)} s -> engine / raw ${r.ratioToRawPipe}x; ` +
        `describe (made once for both) ${r.describeSeconds} s -> with it in the engine's time ${r.ratioWithDescribe}x; ` +
        `prepareTarget of the spec ${r.prepareSeconds} s`,
    );
  }
  log(`peak RSS so far: ${peakRssMB()} MB`);
}

/**
 * The sync bench in a child process (its own server and peak RSS). With `json`, returns its JSON
 * object for the combined output; otherwise its lines go straight to this process's stdout.
 */
function syncBench(extra: string[], json: boolean): unknown {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'bench-sync.ts'), ...extra, ...(json ? ['--json'] : [])],
    {
      stdio: ['ignore', json ? 'pipe' : 'inherit', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  if (r.status !== 0) throw new Error(`the sync bench failed (exit ${r.status ?? r.signal})`);
  return json ? JSON.parse(r.stdout) : undefined;
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exit(1);
});

#!/usr/bin/env node
/**
 * npm run bench [-- --rows 1000000 --reps 3 --parallel 1,2,4 --naive-rows 200000 --no-fsync --json]
 *
 * Measures, in one run on one embedded PostgreSQL server, the data engine against
 * the baselines on the same data (the example chat-history `messages` table):
 *   copy:     engine copyTable  vs  raw single-stream COPY pipe  vs  naive 1,000-row INSERT loop
 *   validate: engine validateTable  vs  raw whole-table hash sum on both sides  vs  count(*) on both sides
 * Warm-up first, variants interleaved (order rotated per repetition), medians reported.
 */
import { performance } from 'perf_hooks';
import { pipeline } from 'stream/promises';
import type { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { seedChatHistory } from '../lambda/rehearsal/chat-history-seed';
import { startLocalCluster } from '../lambda/rehearsal/embedded-postgres';
import { connect, copyTable, DbEndpoint, describeTableWith, prepareTarget, validateTable } from '../lambda/engine';
import { checksumSql, FULL_RANGE, projectionExprs, qi, sourceSelect, TableLayout, targetColumnList, targetSelect } from '../lambda/engine/sql';
import { chatHistorySpec } from '../lambda/engine/specs/chat-history';

interface Args {
  rows: number;
  reps: number;
  parallel: number[];
  naiveRows: number;
  fsync: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { rows: 1_000_000, reps: 3, parallel: [1, 2, 4], naiveRows: 200_000, fsync: true, json: false };
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
    else if (a === '--parallel') args.parallel = String(argv[++i]).split(',').map(Number);
    else if (a === '--no-fsync') args.fsync = false;
    else if (a === '--json') args.json = true;
    else throw new Error(`unknown option: ${a}`);
  }
  if (args.parallel.some((p) => !Number.isInteger(p) || p < 1)) throw new Error(`--parallel must list positive integers, got: ${args.parallel.join(',')}`);
  args.naiveRows = Math.min(args.naiveRows, args.rows);
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

async function truncate(target: DbEndpoint) {
  const c = await connect(target);
  await c.query('TRUNCATE messages; DELETE FROM switchyard.copy_chunks; CHECKPOINT');
  await c.end();
}

/** The limit: one COPY (SELECT projection) TO STDOUT piped into COPY FROM STDIN, one transaction. */
async function rawPipe(layout: TableLayout, source: DbEndpoint, target: DbEndpoint) {
  const src = await connect(source, { readOnly: true });
  const tgt = await connect(target);
  try {
    await tgt.query('BEGIN');
    await pipeline(
      src.query(copyTo(`COPY (${sourceSelect(layout, FULL_RANGE)}) TO STDOUT`)),
      tgt.query(copyFrom(`COPY ${qi(layout.spec.target.table)} (${targetColumnList(layout)}) FROM STDIN`)),
    );
    await tgt.query('COMMIT');
  } finally {
    await Promise.all([src.end(), tgt.end()]);
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
        await src.query(`SELECT ${exprs.join(', ')} FROM chat_messages s WHERE s.id > $1 AND s.id <= $2 ORDER BY s.id LIMIT 1000`, [last, rows])
      ).rows;
      if (!batch.length) break;
      const params: unknown[] = [];
      const values = batch.map((r) => `(${cols.map((c) => (params.push(r[c]), `$${params.length}`)).join(', ')})`);
      await tgt.query(`INSERT INTO messages (${cols.map(qi).join(', ')}) VALUES ${values.join(', ')}`, params);
      last = Number(batch[batch.length - 1].message_id);
    }
  } finally {
    await Promise.all([src.end(), tgt.end()]);
  }
}

async function both<T>(source: DbEndpoint, target: DbEndpoint, fn: (c: Client, side: 'source' | 'target') => Promise<T>) {
  const [s, t] = await Promise.all([connect(source, { readOnly: true }), connect(target, { readOnly: true })]);
  try {
    return await Promise.all([fn(s, 'source'), fn(t, 'target')]);
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
    const source = await cluster.createDatabase('bench_source');
    const target = await cluster.createDatabase('bench_target');
    log(`seeding ${args.rows.toLocaleString()} chat messages (fsync ${args.fsync ? 'on' : 'off'}) ...`);
    const seedSeconds = await timed(async () => {
      const c = await connect(source);
      await seedChatHistory(c, args.rows);
      await c.end();
    });
    log(`seeded in ${seedSeconds.toFixed(1)} s`);
    await prepareTarget(chatHistorySpec, source, target);
    const layout = await describeTableWith(chatHistorySpec.tables.find((t) => t.name === 'messages')!, source, target);
    const engineParallel = 2;
    // One checksum query per side already keeps both cores busy (source and target run at once).
    const validateParallel = 1;
    let run = 0;
    const engineCopy = async (concurrency: number) => {
      const r = await copyTable(layout, source, target, { runId: `bench-${run++}`, concurrency });
      if (r.rowsTotal !== args.rows) throw new Error(`engine copied ${r.rowsTotal} rows, expected ${args.rows}`);
    };

    log('warm-up ...');
    await truncate(target);
    await rawPipe(layout, source, target);
    await truncate(target);
    await engineCopy(engineParallel);
    await validateTable(layout, source, target, { runId: `bench-${run - 1}`, concurrency: validateParallel });

    const t: Record<string, number[]> = { engine: [], raw: [], naive: [], validate: [], rawChecksum: [], count: [] };
    const copyVariants: [string, () => Promise<unknown>][] = [
      ['engine', () => engineCopy(engineParallel)],
      ['raw', () => rawPipe(layout, source, target)],
      ['naive', () => naiveInsert(layout, source, target, args.naiveRows)],
    ];
    for (let rep = 0; rep < args.reps; rep++) {
      const order = copyVariants.map((_, i) => copyVariants[(i + rep) % copyVariants.length]);
      for (const [name, fn] of order) {
        await truncate(target);
        t[name].push(await timed(fn));
      }
      // Validation variants need a full target: copy once with the engine, then interleave the readers.
      await truncate(target);
      await engineCopy(engineParallel);
      const runId = `bench-${run - 1}`;
      const readers: [string, () => Promise<unknown>][] = [
        ['validate', async () => {
          const v = await validateTable(layout, source, target, { runId, concurrency: validateParallel });
          if (!v.match) throw new Error('validation reported a mismatch on an exact copy');
        }],
        ['rawChecksum', () => both(source, target, (c, side) => c.query(checksumSql(side === 'source' ? sourceSelect(layout, FULL_RANGE) : targetSelect(layout, FULL_RANGE))))],
        ['count', () => both(source, target, (c, side) => c.query(side === 'source' ? 'SELECT count(*) FROM chat_messages' : 'SELECT count(*) FROM messages'))],
      ];
      for (let i = 0; i < readers.length; i++) {
        const [name, fn] = readers[(i + rep) % readers.length];
        t[name].push(await timed(fn));
      }
      log(`rep ${rep + 1}/${args.reps}: ${Object.entries(t).map(([k, v]) => `${k} ${v[v.length - 1].toFixed(2)}s`).join(', ')}`);
    }

    const scaling: { parallel: number; seconds: number; rowsPerSecond: number }[] = [];
    for (const p of args.parallel) {
      const secs: number[] = [];
      for (let rep = 0; rep < args.reps; rep++) {
        await truncate(target);
        secs.push(await timed(() => engineCopy(p)));
      }
      scaling.push({ parallel: p, seconds: median(secs), rowsPerSecond: Math.round(args.rows / median(secs)) });
      log(`engine copy, parallel ${p}: ${median(secs).toFixed(2)} s`);
    }

    const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
    const rps = (rows: number, s: number) => Math.round(rows / s);
    const result = {
      rows: args.rows,
      repetitions: args.reps,
      fsync: args.fsync,
      copy: {
        engineParallel,
        engineSeconds: m.engine,
        engineRowsPerSecond: rps(args.rows, m.engine),
        rawPipeSeconds: m.raw,
        rawPipeRowsPerSecond: rps(args.rows, m.raw),
        naiveRows: args.naiveRows,
        naiveSeconds: m.naive,
        naiveRowsPerSecond: rps(args.naiveRows, m.naive),
        ratioToRawPipe: +(rps(args.rows, m.engine) / rps(args.rows, m.raw)).toFixed(3),
        ratioToNaiveInsert: +(rps(args.rows, m.engine) / rps(args.naiveRows, m.naive)).toFixed(3),
        scaling,
      },
      validate: {
        engineParallel: validateParallel,
        engineSeconds: m.validate,
        engineRowsPerSecond: rps(args.rows, m.validate),
        rawChecksumSeconds: m.rawChecksum,
        countSeconds: m.count,
        ratioToRawChecksum: +(m.rawChecksum / m.validate).toFixed(3),
        ratioToCount: +(m.count / m.validate).toFixed(3),
      },
      samples: t,
    };
    if (args.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      log('');
      log(`copy (${args.rows.toLocaleString()} rows, medians of ${args.reps})`);
      log(`  engine (parallel ${engineParallel})  ${result.copy.engineRowsPerSecond.toLocaleString()} rows/s`);
      log(`  raw COPY pipe        ${result.copy.rawPipeRowsPerSecond.toLocaleString()} rows/s`);
      log(`  naive INSERT loop    ${result.copy.naiveRowsPerSecond.toLocaleString()} rows/s (on ${args.naiveRows.toLocaleString()} rows)`);
      log(`  engine / raw pipe    ${result.copy.ratioToRawPipe}x`);
      log(`  engine / naive       ${result.copy.ratioToNaiveInsert}x`);
      for (const s of scaling) log(`  parallel ${s.parallel}: ${s.rowsPerSecond.toLocaleString()} rows/s`);
      log('validate');
      log(`  engine (parallel ${validateParallel})  ${result.validate.engineRowsPerSecond.toLocaleString()} rows/s (${m.validate.toFixed(2)} s)`);
      log(`  raw checksum         ${m.rawChecksum.toFixed(2)} s  -> ratio ${result.validate.ratioToRawChecksum}x`);
      log(`  count(*)             ${m.count.toFixed(2)} s  -> ratio ${result.validate.ratioToCount}x`);
    }
  } finally {
    await stop();
  }
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exit(1);
});

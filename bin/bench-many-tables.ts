/**
 * The many-tables case of `npm run bench`: N tables × R rows, the engine (`copyTables`, one pool of
 * `concurrency` connection pairs) against a raw COPY pipe per table run by as many workers (each
 * with one source+target connection pair, BEGIN; COPY … TO STDOUT → COPY … FROM STDIN; COMMIT per
 * table). Both open their connections inside the timed region; the layouts are described once
 * beforehand for both (the engine's describeTablesWith at the same concurrency), timed on their own:
 * the ratio with the describe added to the engine's time is printed too.
 */
import { performance } from 'node:perf_hooks';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import {
  connect,
  copyTables,
  type DbEndpoint,
  describeTablesWith,
  type MigrationSpec,
  parseSpec,
  prepareTarget,
} from '../lambda/engine';
import { FULL_RANGE, sourceSelect, type TableLayout, targetColumnList, targetTable } from '../lambda/engine/sql';

export interface ManyTablesCase {
  readonly tables: number;
  readonly rows: number;
}

export interface ManyTablesResult extends ManyTablesCase {
  readonly concurrency: number;
  /** prepareTarget (DDL, checks, describe, type checks) of the whole spec, once, untimed in the ratios. */
  readonly prepareSeconds: number;
  readonly describeSeconds: number;
  readonly engineSeconds: number;
  readonly rawSeconds: number;
  /** Engine rows/s over the raw per-table pipe's, same concurrency, same run (medians). */
  readonly ratioToRawPipe: number;
  /** The same with the describe time added to the engine's (what CopyData with `tables` pays per invocation). */
  readonly ratioWithDescribe: number;
  readonly samples: { engine: number[]; raw: number[] };
}

/** Parse `200x10000,2000x100` (or `none`). */
export function parseManyTables(text: string): ManyTablesCase[] {
  if (text === 'none') return [];
  return text.split(',').map((part) => {
    const m = /^(\d+)x(\d+)$/.exec(part.trim());
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
      throw new Error(`--many-tables must look like 200x10000,2000x100 or none, got: ${part}`);
    return { tables: Number(m[1]), rows: Number(m[2]) };
  });
}

const tableName = (i: number) => `t${String(i).padStart(4, '0')}`;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** Same tables on both sides (id, an int, 32 chars of text, a timestamp: ~80 bytes a row); the source seeded and analyzed. */
async function seed(source: DbEndpoint, target: DbEndpoint, c: ManyTablesCase): Promise<MigrationSpec> {
  const ddl = (i: number) =>
    `CREATE TABLE public.${tableName(i)} (id bigint PRIMARY KEY, n int NOT NULL, label text NOT NULL, at timestamptz NOT NULL)`;
  const ids = Array.from({ length: c.tables }, (_x, i) => i);
  for (const [db, fill] of [
    [source, true],
    [target, false],
  ] as const) {
    const k = await connect(db);
    try {
      for (let i = 0; i < ids.length; i += 100) {
        const part = ids.slice(i, i + 100);
        const sql = part.map((t) =>
          fill
            ? `${ddl(t)}; INSERT INTO public.${tableName(t)} SELECT g, g % 1000, md5(g::text), timestamptz ` +
              `'2026-01-01' + g * interval '1 second' FROM generate_series(1, ${c.rows}) g`
            : ddl(t),
        );
        await k.query(sql.join('; '));
      }
      if (fill) await k.query('ANALYZE');
    } finally {
      await k.end();
    }
  }
  return parseSpec({
    version: 1,
    name: 'bench-many-tables',
    tables: ids.map((i) => ({
      name: tableName(i),
      source: { table: tableName(i) },
      key: ['id'],
      target: { table: tableName(i) },
      columns: { n: 's.n', label: 's.label', at: 's.at' },
    })),
  });
}

async function emptyTargets(target: DbEndpoint, layouts: readonly TableLayout[]) {
  const c = await connect(target);
  try {
    await c.query(`TRUNCATE ${layouts.map(targetTable).join(', ')}; DELETE FROM switchyard.copy_chunks`);
    await c.query('CHECKPOINT');
  } finally {
    await c.end();
  }
}

/** The baseline: `concurrency` workers, each one connection pair, one transaction and one COPY pipe per table. */
export async function rawPipePerTable(
  layouts: readonly TableLayout[],
  source: DbEndpoint,
  target: DbEndpoint,
  concurrency: number,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    const [src, tgt] = await Promise.all([connect(source, { readOnly: true }), connect(target)]);
    try {
      while (next < layouts.length) {
        const layout = layouts[next++];
        await tgt.query('BEGIN');
        await pipeline(
          src.query(copyTo(`COPY (${sourceSelect(layout, FULL_RANGE)}) TO STDOUT`)),
          tgt.query(copyFrom(`COPY ${targetTable(layout)} (${targetColumnList(layout)}) FROM STDIN`)),
        );
        await tgt.query('COMMIT');
      }
    } finally {
      await Promise.all([src.end(), tgt.end()]);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Seed, prepare and describe (untimed except describe), then engine vs raw, interleaved, `reps` times each. */
export async function benchManyTables(
  c: ManyTablesCase,
  dbs: { source: DbEndpoint; target: DbEndpoint },
  opts: { concurrency: number; reps: number; log: (m: string) => void },
): Promise<ManyTablesResult> {
  const { source, target } = dbs;
  const spec = await seed(source, target, c);
  const prepareSeconds = await timed(() => prepareTarget(spec, source, target));
  let layouts: TableLayout[] = [];
  const describeSeconds = await timed(async () => {
    layouts = await describeTablesWith(spec.tables, source, target, { concurrency: opts.concurrency });
  });
  let run = 0;
  const expected = c.tables * c.rows;
  const engine = async () => {
    const r = await copyTables(
      layouts.map((layout) => ({ layout })),
      source,
      target,
      { runId: `many-${run++}`, concurrency: opts.concurrency },
    );
    const rows = r.reduce((n, x) => n + x.rowsTotal, 0);
    if (rows !== expected || r.some((x) => !x.complete))
      throw new Error(`engine copied ${rows} rows, expected ${expected}`);
  };
  const raw = () => rawPipePerTable(layouts, source, target, opts.concurrency);
  const samples = { engine: [] as number[], raw: [] as number[] };
  const variants: [keyof typeof samples, () => Promise<unknown>][] = [
    ['engine', engine],
    ['raw', raw],
  ];
  await emptyTargets(target, layouts); // warm-up: one of each
  await engine();
  await emptyTargets(target, layouts);
  await raw();
  for (let rep = 0; rep < opts.reps; rep++) {
    for (let i = 0; i < variants.length; i++) {
      const [name, fn] = variants[(i + rep) % variants.length];
      await emptyTargets(target, layouts);
      samples[name].push(await timed(fn));
    }
    opts.log(
      `many tables ${c.tables} x ${c.rows.toLocaleString()}, rep ${rep + 1}/${opts.reps}: engine ` +
        `${samples.engine[rep].toFixed(2)} s, raw ${samples.raw[rep].toFixed(2)} s`,
    );
  }
  const engineSeconds = median(samples.engine);
  const rawSeconds = median(samples.raw);
  return {
    ...c,
    concurrency: opts.concurrency,
    prepareSeconds: +prepareSeconds.toFixed(2),
    describeSeconds: +describeSeconds.toFixed(2),
    engineSeconds: +engineSeconds.toFixed(3),
    rawSeconds: +rawSeconds.toFixed(3),
    ratioToRawPipe: +(rawSeconds / engineSeconds).toFixed(3),
    ratioWithDescribe: +(rawSeconds / (engineSeconds + describeSeconds)).toFixed(3),
    samples,
  };
}

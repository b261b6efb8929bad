/**
 * npm run bench:validate [-- --tables 120 --rows 50 --write-ms 20 --cap-seconds 540 --mode both]
 *
 * Validation of many small tables while the service writes (one write every `--write-ms` ms,
 * round-robin over every table; every table is touched once before validation, so each differs at
 * first). Two ways, same embedded server, fresh databases each:
 * - `per-table`: validateUnderWrites table after table (what ValidateData did: each differing table
 *   runs its own sync per recheck round), stopped at `--cap-seconds` (its deadline);
 * - `shared`: validateManyUnderWrites (ValidateData now: one sync run per round for every table).
 * Prints the time, the sync runs started and the tables decided.
 */
import { performance } from 'node:perf_hooks';
import {
  connect,
  copyTables,
  type DbEndpoint,
  describeTablesWith,
  type MigrationSpec,
  parseSpec,
  prepareTarget,
} from '../lambda/engine';
import { createSync, qualifiedTableSpec } from '../lambda/engine/sync';
import {
  type UnderWritesResult,
  validateManyUnderWrites,
  validateUnderWrites,
} from '../lambda/engine/validate-under-writes';
import { startLocalCluster } from '../lambda/rehearsal/embedded-postgres';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const TABLES = arg('tables', 120);
const ROWS = arg('rows', 50);
const WRITE_MS = arg('write-ms', 20);
const CAP_SECONDS = arg('cap-seconds', 540);
const modeAt = process.argv.indexOf('--mode');
const MODE = modeAt > 0 ? process.argv[modeAt + 1] : 'both';
const name = (i: number) => `t${String(i).padStart(4, '0')}`;
const ddl = (i: number) => `CREATE TABLE public.${name(i)} (id bigint PRIMARY KEY, n int NOT NULL, label text)`;

const spec: MigrationSpec = parseSpec({
  version: 1,
  name: 'bench-validate',
  targetDdl: Array.from({ length: TABLES }, (_x, i) => ddl(i)),
  tables: Array.from({ length: TABLES }, (_x, i) => ({
    name: name(i),
    source: { table: name(i) },
    key: ['id'],
    target: { table: name(i) },
    columns: { n: 's.n', label: 's.label' },
  })),
});

async function sql(db: DbEndpoint, statements: string[]): Promise<void> {
  const c = await connect(db);
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

/** A copied, captured pair of databases; every table then changed once on the source (pending for the sync). */
async function setUp(cluster: { createDatabase(n: string): Promise<DbEndpoint> }, tag: string, id: string) {
  const source = await cluster.createDatabase(`bv_${tag}_src`);
  const target = await cluster.createDatabase(`bv_${tag}_tgt`);
  const seed = (i: number) =>
    `${ddl(i)}; INSERT INTO public.${name(i)} SELECT g, g, md5(g::text) FROM generate_series(1, ${ROWS}) g`;
  await sql(
    source,
    Array.from({ length: TABLES }, (_x, i) => seed(i)),
  );
  await createSync(source, spec, id, 'forward');
  await prepareTarget(spec, source, target);
  const layouts = await describeTablesWith(spec.tables.map(qualifiedTableSpec), source, target, { concurrency: 4 });
  await copyTables(
    layouts.map((layout) => ({ layout })),
    source,
    target,
    { runId: id, concurrency: 4 },
  );
  await sql(
    source,
    Array.from({ length: TABLES }, (_x, i) => `UPDATE public.${name(i)} SET n = n + 1 WHERE id = 1`),
  );
  return { source, target, layouts };
}

/** One write every WRITE_MS, round-robin over every table, until the returned stop is called. */
async function writer(source: DbEndpoint) {
  const c = await connect(source);
  let writing = true;
  let i = 0;
  const loop = (async () => {
    while (writing) {
      const t = name(i % TABLES);
      i++;
      await c.query(
        i % 2
          ? `UPDATE public.${t} SET n = n + 1 WHERE id = ${1 + (i % ROWS)}`
          : `INSERT INTO public.${t} VALUES (${100_000 + i}, ${i}, 'w')`,
      );
      await new Promise((r) => setTimeout(r, WRITE_MS));
    }
  })();
  return async () => {
    writing = false;
    await loop;
    await c.end();
    return i;
  };
}

async function run(mode: 'per-table' | 'shared', cluster: { createDatabase(n: string): Promise<DbEndpoint> }) {
  const id = `bv-${mode}`;
  const { source, target, layouts } = await setUp(cluster, mode.replace('-', ''), id);
  let syncRuns = 0;
  const opts = {
    runId: id,
    migrationId: id,
    spec,
    deadline: Date.now() + CAP_SECONDS * 1000,
    onSyncRun: () => syncRuns++,
  };
  const stop = await writer(source);
  const t0 = performance.now();
  const results: UnderWritesResult[] = [];
  let outcome = 'finished';
  try {
    if (mode === 'shared') results.push(...(await validateManyUnderWrites(layouts, source, target, opts)));
    else for (const l of layouts) results.push(await validateUnderWrites(l, source, target, opts));
  } catch (e) {
    outcome = (e as Error).name;
  }
  const seconds = (performance.now() - t0) / 1000;
  const writes = await stop();
  process.stdout.write(
    `${mode}: ${TABLES} tables x ${ROWS} rows, a write every ${WRITE_MS} ms: ${outcome} in ${seconds.toFixed(1)} s, ` +
      `${results.length}/${TABLES} tables decided (${results.filter((r) => r.match).length} match), ` +
      `${syncRuns} sync runs, ${writes} writes\n`,
  );
}

async function main() {
  const cluster = await startLocalCluster();
  try {
    if (MODE === 'both' || MODE === 'shared') await run('shared', cluster);
    if (MODE === 'both' || MODE === 'per-table') await run('per-table', cluster);
  } finally {
    await cluster.stop();
  }
}

void main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exit(1);
});

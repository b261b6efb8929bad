/**
 * npm run bench:subtransactions [-- --rows 100000 --pg 18]
 *
 * One source transaction made of `--rows` subtransactions (a PL/pgSQL loop with an EXCEPTION block
 * per row, one insert each), applied by `runSync` with streaming off and on, twice each, on one
 * embedded server: how long the sync takes to apply it. Streamed, a lane sets a savepoint per
 * subtransaction until MAX_STREAMED_SUBTRANSACTIONS, then the run falls back to receiving the
 * transaction whole (lambda/engine/sync/streamed.ts; docs/data-engine.md, Limits).
 */
import { parseSpec, prepareTarget } from '../lambda/engine';
import { connect } from '../lambda/engine/db';
import { createSync, runSync } from '../lambda/engine/sync';
import { startLocalCluster } from '../lambda/rehearsal/embedded-postgres';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const ROWS = arg('rows', 100_000);
const PG = arg('pg', 18);

const spec = parseSpec({
  version: 1,
  name: 'items',
  targetDdl: [`CREATE TABLE public.items (id bigint PRIMARY KEY, name text NOT NULL)`],
  tables: [
    { name: 'items', source: { table: 'items' }, key: ['id'], target: { table: 'items' }, columns: { name: 's.name' } },
  ],
});

async function main() {
  const cluster = await startLocalCluster({ major: PG });
  try {
    for (const [i, streaming] of [false, true, false, true].entries()) {
      const id = `subx${i}`;
      const source = await cluster.createDatabase(`${id}s`);
      const target = await cluster.createDatabase(`${id}t`);
      const c = await connect(source);
      await c.query(`CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL)`);
      await createSync(source, spec, id, 'forward');
      await prepareTarget(spec, source, target);
      await c.query(
        `DO $$ BEGIN FOR i IN 1..${ROWS} LOOP
           BEGIN INSERT INTO items VALUES (i, repeat('n', 100)); EXCEPTION WHEN others THEN NULL; END;
         END LOOP; END $$`,
      );
      await c.end();
      const t = Date.now();
      const r = await runSync({ migrationId: id, direction: 'forward', spec, source, target, streaming });
      const s = ((Date.now() - t) / 1000).toFixed(2);
      process.stdout.write(
        `${ROWS} subtransactions, streaming ${streaming ? 'on ' : 'off'}: ${s} s (inserted ${r.inserted}, streamed ${r.streamed})\n`,
      );
    }
  } finally {
    await cluster.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`bench-subtransactions failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}\n`);
  process.exit(1);
});

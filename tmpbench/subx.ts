import { startLocalCluster } from '../lambda/rehearsal/embedded-postgres';
import { connect } from '../lambda/engine/db';
import { createSync, runSync } from '../lambda/engine/sync';
import { parseSpec, prepareTarget } from '../lambda/engine';

const spec = parseSpec({
  version: 1, name: 'items',
  targetDdl: [`CREATE TABLE public.items (id bigint PRIMARY KEY, name text NOT NULL)`],
  tables: [{ name: 'items', source: { table: 'items' }, key: ['id'], target: { table: 'items' }, columns: { name: 's.name' } }],
});
async function main() {
  const c = await startLocalCluster();
  try {
    const N = Number(process.argv[2] ?? 5000);
    for (const streaming of [false, true, false, true]) {
      const tag = `x${streaming ? 1 : 0}${Math.random().toString(36).slice(2, 6)}`;
      const src = await c.createDatabase(`${tag}s`);
      const dst = await c.createDatabase(`${tag}t`);
      const s = await connect(src);
      await s.query(`CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL)`);
      await createSync(src, spec, tag, 'forward');
      await prepareTarget(spec, src, dst);
      await s.query(`DO $$ BEGIN FOR i IN 1..${N} LOOP BEGIN INSERT INTO items VALUES (i, repeat('n', 100)); EXCEPTION WHEN others THEN NULL; END; END LOOP; END $$`);
      await s.end();
      const t = Date.now();
      const r = await runSync({ migrationId: tag, direction: 'forward', spec, source: src, target: dst, streaming });
      console.log(`subxacts ${N} streaming ${streaming}: ${((Date.now() - t) / 1000).toFixed(2)} s, inserted ${r.inserted}, streamed ${r.streamed}`);
    }
  } finally { await c.stop(); }
}
main().catch((e) => { console.error(e); process.exit(1); });

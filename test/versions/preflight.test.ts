import { capabilities, type ServerCapabilities } from '../../lambda/engine/capabilities';
import { connect, parseSpec } from '../../lambda/engine';
import { checkSyncPreconditions } from '../../lambda/engine/sync';
import { matrixMajors, roleDb } from './matrix';

const DDL = `CREATE TABLE public.items (id bigint PRIMARY KEY, name text)`;
const spec = parseSpec({
  version: 1,
  name: 'versions-preflight',
  targetDdl: [DDL],
  tables: [
    { name: 'items', source: { table: 'items' }, key: ['id'], target: { table: 'items' }, columns: { name: 's.name' } },
  ],
});

describe.each(matrixMajors().map((m) => [m]))('PostgreSQL %d as the migration login', (major) => {
  test('GIVEN the non-superuser login WHEN the capabilities are read THEN they are what this major offers', async () => {
    const db = await roleDb(major, 'caps', [DDL]);
    const c = await connect(db);
    let caps: ServerCapabilities;
    try {
      caps = await capabilities(c);
    } finally {
      await c.end();
    }
    expect(caps).toMatchObject({
      major,
      superuser: false,
      walLevel: 'logical',
      trackCommitTimestamp: true,
      slotColumns: { conflicting: major >= 16, invalidationReason: major >= 17 },
      failoverSlots: major >= 17,
      pgoutput: { messages: major >= 14, origin: major >= 16 },
      publication: { viaPartitionRoot: true, generatedColumns: major >= 18 },
      emitMessageFlush: major >= 17,
      originPrivilege: false,
      maxActiveReplicationOrigins: major >= 18 ? 64 : null,
    });
  });

  test('GIVEN a server set up for logical replication WHEN Preflight checks both directions THEN every check passes and names the server', async () => {
    const db = await roleDb(major, 'pre', [DDL]);
    const checks = await checkSyncPreconditions(db, spec, 'pre', 'forward', { target: db, conflicts: true });
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.find((c) => c.name === 'server-version')?.detail).toMatch(new RegExp(`^PostgreSQL ${major}\\.`));
    expect(checks.find((c) => c.name === 'loop-guard')?.detail).toMatch(major >= 14 ? /logical message/ : /marker row/);
  });
});

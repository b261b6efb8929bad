import { GENERIC_APP_VERIFICATION } from '../../lambda/rehearsal/chat-verification';
import { rehearse } from '../../lambda/rehearsal/rehearse';
import { synthesizeMigrationTemplate } from '../../lib/local-template';
import { freshDatabase, query, testServer } from '../support/pg';

/**
 * `npm run rehearse -- --source <url>` on a schema that is not the chat app's, without a spec: its
 * tables introspected and mapped as they are, with either sync runner. In `npm run test:long`
 * (two whole rehearsals); `--source` on the chat schema is in rehearse.test.ts.
 */
describe('npm run rehearse --source (a schema of your own)', () => {
  const run = (extra: Record<string, unknown>) =>
    rehearse({ bakeSeconds: 1, writesPerSecond: 100, server: testServer(), ...extra } as Parameters<
      typeof rehearse
    >[0]);

  // With sync.runner ecs the in-process task must sync the introspected spec too, not the default one.
  test.each(['lambda', 'ecs'] as const)(
    "GIVEN --source holding a schema that is not the chat app's and no --spec, sync runner %s WHEN rehearsed THEN its tables are introspected and mapped as is, Smoke reads by key, and it completes",
    async (runner) => {
      const source = await freshDatabase(`shop_${runner}`);
      await query(source, `CREATE TYPE status AS ENUM ('open', 'paid')`);
      await query(
        source,
        `CREATE TABLE customers (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL, meta json)`,
      );
      await query(
        source,
        `CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id uuid NOT NULL REFERENCES customers (id), status status NOT NULL DEFAULT 'open',
      total numeric(12,2), cents bigint GENERATED ALWAYS AS ((total * 100)::bigint) STORED)`,
      );
      await query(
        source,
        `INSERT INTO customers (name, meta) SELECT 'c' || g, '{"x": 1}' FROM generate_series(1, 100) g`,
      );
      await query(
        source,
        `INSERT INTO orders (customer_id, total) SELECT id, 10.5 FROM customers, generate_series(1, 10)`,
      );
      const url = `postgres://${source.user}:${encodeURIComponent(source.password)}@${source.host}:${source.port}/${source.database}`;
      const generic = synthesizeMigrationTemplate('dev', {
        verification: GENERIC_APP_VERIFICATION,
        sync: { runner },
      });
      const r = await run({ source: url, rows: undefined, template: generic, syncRunner: runner });
      expect([r.outcome, r.error?.name]).toEqual(['completed', undefined]);
      expect(r.integrity.tables.map((t) => [t.name, t.sourceRows, t.match])).toEqual([
        ['customers', 100, true],
        ['orders', 1_000, true],
      ]);
    },
  );
});

import { introspectIdentitySpec } from '../../lambda/engine/introspect';
import { createSync, runSync } from '../../lambda/engine/sync';
import * as direct from '../../lambda/engine/sync/direct';
import { copyAll, rowsOf } from '../lambda/engine/sync/helpers';
import { query } from '../support/pg';
import { label, matrixPairs, type Pair, roleDb } from './matrix';

/**
 * Direct writes (lambda/engine/sync/direct.ts) on every major and pair: a large transaction's inserts
 * COPYed straight into tables an introspected spec copies unchanged (uuid keys, arrays, bytea, jsonb,
 * a partitioned table with a GENERATED ALWAYS identity); a table with an enum and a generated column
 * goes through the upsert. The run's walsender streams each transaction (14+ on both sides), so the
 * same writes happen in the streamed transactions' own sessions (lambda/engine/sync/streamed.ts).
 */
const FOREIGN_DDL = [
  `CREATE SCHEMA billing`,
  `CREATE TYPE billing.status AS ENUM ('open', 'paid', 'void')`,
  `CREATE TABLE public.accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "Name" text NOT NULL, "order" int,
     balance numeric(38,18), tags text[], data jsonb, raw bytea, spent interval, ip inet, ratio double precision, note text)`,
  `CREATE TABLE billing.invoices (account_id uuid NOT NULL, invoice_no int NOT NULL, amount numeric(12,2) NOT NULL,
     status billing.status NOT NULL DEFAULT 'open', amount_cents bigint GENERATED ALWAYS AS ((amount * 100)::bigint) STORED,
     PRIMARY KEY (account_id, invoice_no))`,
  `CREATE TABLE public.events (id bigint GENERATED ALWAYS AS IDENTITY, at date NOT NULL, kind text NOT NULL, body text,
     PRIMARY KEY (id, at)) PARTITION BY RANGE (at)`,
  `CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`,
  `CREATE TABLE public.events_2027 PARTITION OF public.events FOR VALUES FROM ('2027-01-01') TO ('2028-01-01')`,
];

describe.each(matrixPairs().map((p) => [label(p), p] as const))(
  'direct writes into a schema the sync has never seen (introspected spec), %s',
  (_l, pair: Pair) => {
    test('GIVEN large transactions into uuid-keyed rows of special values, a partitioned table with a GENERATED ALWAYS identity, and a table with an enum and a generated column WHEN synced THEN the first two are written directly, the third through the upsert, and the target equals the source', async () => {
      const source = await roleDb(pair.old, 'dw_old', FOREIGN_DDL);
      const target = await roleDb(pair.new, 'dw_new');
      const id = `dw${pair.old}x${pair.new}`;
      const spec = await introspectIdentitySpec(source, undefined, 'direct-foreign');
      await createSync(source, spec, id, 'forward');
      await copyAll(spec, source, target);
      await query(
        source,
        `INSERT INTO accounts ("Name", "order", balance, tags, data, raw, spent, ip, ratio, note)
       SELECT $1 || g, g, g / 7.0, $2, $3, $4, '1 day 02:03:04', '10.0.0.1', 'NaN', $5 FROM generate_series(1, 1200) g`,
        [
          `bulk\t"q" \\ \r\n`,
          ['a b', 'c,d', 'e"f', null, 'x\\y'],
          { s: 'tab\tnl\n' },
          Buffer.from([0, 9, 10, 92]),
          'ü ✓ 🙂',
        ],
      );
      await query(
        source,
        `INSERT INTO events (at, kind, body) SELECT CASE WHEN g % 2 = 0 THEN date '2026-06-01' ELSE date '2027-06-01' END,
       'bulk', CASE WHEN g % 100 = 0 THEN repeat('toast ', 3000) END FROM generate_series(1, 1200) g`,
      );
      await query(
        source,
        `INSERT INTO billing.invoices (account_id, invoice_no, amount, status) SELECT id, 1, 1.5, 'paid' FROM accounts`,
      );
      const spy = jest.spyOn(direct, 'writeDirect');
      try {
        const r = await runSync({
          migrationId: id,
          direction: 'forward',
          spec,
          source,
          target,
          receiveBuffer: 100,
          flushRows: 300,
          // Streamed where both sides are 14+ (streamed.ts): each lane writes its transaction the same way.
          decodingWorkMemKb: 64,
        });
        expect(r).toMatchObject({
          inserted: 3600,
          caughtUp: true,
          streamed: pair.old >= 14 && pair.new >= 14 ? 3 : 0,
        });
        const written = await Promise.all(spy.mock.results.map((x) => x.value));
        const tables = spy.mock.calls
          .filter((_c, i) => written[i] === true)
          .flatMap(([, batch]) => batch.map((t) => t.rel.table.spec.name));
        expect(new Set(tables)).toEqual(new Set(['accounts', 'events']));
      } finally {
        spy.mockRestore();
      }
      for (const [table, key] of [
        ['public.accounts', 'id'],
        ['billing.invoices', 'account_id, invoice_no'],
        ['public.events', 'id'],
      ])
        expect(await rowsOf(target, table, key)).toEqual(await rowsOf(source, table, key));
    });
  },
);

import { PassThrough } from 'node:stream';
import type { DbEndpoint } from '../../lambda/engine';
import { syncCommand } from '../../bin/cli/sync';
import { syncCleanupCommand, syncStatusCommand, syncSwitchoverCommand } from '../../bin/cli/sync-lifecycle';
import { postgresUrl, rolePair } from '../lambda/engine/sync/helpers';
import { query } from '../support/pg';
import { cliSyncPrefix, schemaSnapshot, switchyardFootprint } from './support/catalog';

/**
 * An application schema as people write them: serial and uuid keys, an identity column,
 * foreign keys (one self-referencing, one composite, one ON DELETE CASCADE), unique and CHECK
 * constraints, an enum, a partial and an expression index, comments, a trigger, and two
 * tables without a primary key (one with a unique NOT NULL column, one with none).
 */
const SCHEMA = [
  `CREATE TYPE mood AS ENUM ('happy', 'sad', 'meh')`,
  `CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT now(),
     mood mood DEFAULT 'happy', CONSTRAINT email_has_at CHECK (email LIKE '%@%'))`,
  `COMMENT ON TABLE customers IS 'people who order'`,
  `COMMENT ON COLUMN customers.email IS 'login'`,
  `CREATE TABLE orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
     total numeric(10, 2) CHECK (total >= 0), status text NOT NULL DEFAULT 'new', replaces uuid REFERENCES orders (id))`,
  `CREATE INDEX orders_open ON orders (customer_id) WHERE status = 'new'`,
  `CREATE INDEX customers_email_lower ON customers (lower(email))`,
  `CREATE TABLE order_lines (order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE, line int NOT NULL, qty int NOT NULL CHECK (qty > 0),
     PRIMARY KEY (order_id, line))`,
  `CREATE TABLE line_notes (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, order_id uuid NOT NULL, line int NOT NULL, note text,
     FOREIGN KEY (order_id, line) REFERENCES order_lines (order_id, line) ON DELETE CASCADE)`,
  `CREATE TABLE events (ref uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(), at timestamptz NOT NULL DEFAULT now(), payload text)`,
  `CREATE TABLE audit_log (at timestamptz NOT NULL DEFAULT now(), actor text, action text)`,
  `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.status := lower(NEW.status); RETURN NEW; END $$`,
  `CREATE TRIGGER orders_touch BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION touch()`,
];

const SEED = [
  `INSERT INTO customers (email, mood) SELECT 'c' || g || '@example.com', (ARRAY['happy', 'sad', 'meh'])[1 + g % 3]::mood FROM generate_series(1, 200) g`,
  `INSERT INTO orders (customer_id, total, status) SELECT 1 + g % 200, g, CASE WHEN g % 4 = 0 THEN 'new' ELSE 'paid' END FROM generate_series(1, 400) g`,
  `UPDATE orders o SET replaces = (SELECT id FROM orders p WHERE p.customer_id = o.customer_id AND p.id <> o.id LIMIT 1) WHERE o.total::int % 10 = 0`,
  `INSERT INTO order_lines SELECT id, l, l FROM orders, generate_series(1, 2) l`,
  `INSERT INTO line_notes (order_id, line, note) SELECT order_id, line, 'note' FROM order_lines WHERE line = 1`,
  `INSERT INTO events (payload) SELECT 'e' || g FROM generate_series(1, 50) g`,
  `INSERT INTO audit_log (actor, action) SELECT 'a', 'x' FROM generate_series(1, 10)`,
];

function io() {
  const out = new PassThrough();
  const err = new PassThrough();
  const text = { out: '', err: '' };
  out.on('data', (d) => (text.out += d));
  err.on('data', (d) => (text.err += d));
  return { io: { stdout: out, stderr: err, signal: new AbortController().signal }, text };
}

describe('switchyard sync: the complete target schema and its lifecycle', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  let flags: { source: string; target: string };
  let sourceBefore: Record<string, unknown[]>;
  let targetBefore: Record<string, unknown[]>;

  beforeAll(async () => {
    ({ source, target } = await rolePair('syschema', [...SCHEMA, ...SEED]));
    flags = { source: postgresUrl(source), target: postgresUrl(target) };
    sourceBefore = await switchyardFootprint(source, cliSyncPrefix(source, target));
    targetBefore = await switchyardFootprint(target, cliSyncPrefix(source, target));
  });

  test('GIVEN tables without a primary key WHEN sync runs THEN it refuses naming them before anything is created (exit 1)', async () => {
    const r = io();
    expect(await syncCommand({ ...flags, once: true }, r.io)).toBe(1);
    expect(r.text.err).toContain('ReplicaIdentityMissingError');
    expect(r.text.err).toContain(
      'public.audit_log has no primary key and no unique index over NOT NULL columns (keyless)',
    );
    expect(r.text.err).toContain('public.events has no primary key (unique key: ref)');
    expect(r.text.err).toContain('--allow-full-identity');
    expect(await switchyardFootprint(source, cliSyncPrefix(source, target))).toEqual(sourceBefore);
    expect(await switchyardFootprint(target, cliSyncPrefix(source, target))).toEqual(targetBefore);
  });

  test('GIVEN --allow-full-identity WHEN sync --once runs THEN the target has the source schema, data and what is not carried is listed', async () => {
    const tables = ['customers', 'orders', 'order_lines', 'line_notes', 'events'];
    const r = io();
    const code = await syncCommand({ ...flags, tables, once: true, allowFullIdentity: true }, r.io);
    expect(r.text.err).not.toContain('error');
    expect(code).toBe(0);
    expect(r.text.err).toContain('wrote to the source: REPLICA IDENTITY FULL on public.events');
    expect(r.text.err).toContain('trigger orders_touch on public.orders');
    expect(r.text.err).toContain('function public.touch()');
    expect(r.text.err).toContain('switchyard sync cleanup');
    expect(r.text.err).not.toContain('dropSync');
    for (const t of tables) {
      const [s] = await query<{ n: number }>(source, `SELECT count(*)::int AS n FROM ${t}`);
      const [d] = await query<{ n: number }>(target, `SELECT count(*)::int AS n FROM ${t}`);
      expect(d.n).toBe(s.n);
    }
  });

  test('GIVEN writes on the source WHEN switchover runs THEN the catalogs match, the source is read-only and the app inserts without ids', async () => {
    await query(source, `INSERT INTO customers (email) VALUES ('late@example.com')`);
    await query(source, `DELETE FROM orders WHERE total = 7`);
    const st = io();
    expect(await syncStatusCommand(flags, st.io)).toBe(0);
    expect(st.text.out).toMatch(
      /forward: slot sy_cli_[0-9a-f]{12}_fwd inactive .*retains \d+ bytes of WAL; confirmed .*, lag \d+ bytes; /,
    );

    const r = io();
    const code = await syncSwitchoverCommand({ ...flags, maxLagBytes: 1 << 30 }, r.io);
    expect(r.text.err).not.toMatch(/^error/m);
    expect(code).toBe(0);
    expect(r.text.out).toMatch(
      /source fenced at [0-9A-F]+\/[0-9A-F]+; applied up to [0-9A-F]+\/[0-9A-F]+ \(every write committed before the fence\)/,
    );
    const st2 = io();
    expect(await syncStatusCommand(flags, st2.io)).toBe(0);
    expect(st2.text.out).toMatch(/last applied [0-9A-F]+\/[0-9A-F]+ \(commit .*\), 0 conflict\(s\)/);

    const want = await schemaSnapshot(source);
    const got = await schemaSnapshot(target);
    // Tables the sync was not asked to carry are not on the target.
    const drop = (rows: unknown[]) => rows.filter((x) => !JSON.stringify(x).includes('audit_log'));
    for (const k of Object.keys(want)) expect({ [k]: got[k] }).toEqual({ [k]: drop(want[k]) });
    expect(await query(target, `SELECT email FROM customers WHERE email = 'late@example.com'`)).toHaveLength(1);
    expect(await query(target, `SELECT 1 FROM orders WHERE total = 7`)).toHaveLength(0);

    await expect(query(source, `INSERT INTO customers (email) VALUES ('after@example.com')`)).rejects.toThrow(
      /read-only/,
    );
    // The application on the target: no ids given, every default and sequence works, past the source's values.
    const [c] = await query<{ id: string }>(
      target,
      `INSERT INTO customers (email) VALUES ('new@example.com') RETURNING id::text`,
    );
    const [max] = await query<{ m: string }>(source, `SELECT max(id)::text AS m FROM customers`);
    expect(BigInt(c.id)).toBeGreaterThan(BigInt(max.m));
    const [o] = await query<{ id: string }>(
      target,
      `INSERT INTO orders (customer_id) VALUES (${c.id}) RETURNING id::text`,
    );
    await query(target, `INSERT INTO order_lines VALUES ('${o.id}', 1, 1)`);
    await query(target, `INSERT INTO line_notes (order_id, line, note) VALUES ('${o.id}', 1, 'hi')`);
    await query(target, `INSERT INTO events (payload) VALUES ('new')`);
    await expect(query(target, `INSERT INTO order_lines VALUES (gen_random_uuid(), 1, 1)`)).rejects.toThrow(
      /foreign key/,
    );
  });

  test('GIVEN a switched-over sync WHEN cleanup runs twice THEN nothing of Switchyard is left on either database', async () => {
    const r = io();
    expect(await syncCleanupCommand(flags, r.io)).toBe(0);
    expect(r.text.out).toMatch(/source .*dropped slot sy_cli_\w+_fwd, publication sy_cli_\w+_fwd/);
    expect(r.text.out).toMatch(/target .*dropped .*schema switchyard/);
    // The identity the sync set on the source for --allow-full-identity is back to DEFAULT.
    expect(r.text.out).toMatch(/source .*REPLICA IDENTITY FULL \(back to DEFAULT\) on public\.events/);
    const [ri] = await query<{ ri: string }>(
      source,
      `SELECT relreplident AS ri FROM pg_class WHERE oid = 'public.events'::regclass`,
    );
    expect(ri.ri).toBe('d');
    const again = io();
    expect(await syncCleanupCommand(flags, again.io)).toBe(0);
    expect(again.text.out).toContain('nothing of this sync left');
    // The source as it was, but for the read-only setting switchover made (and says how to undo).
    const after = await switchyardFootprint(source, cliSyncPrefix(source, target));
    expect(after.settings).toEqual([{ s: 'default_transaction_read_only=on' }]);
    expect({ ...after, settings: [] }).toEqual({ ...sourceBefore, settings: [] });
    const tgt = await switchyardFootprint(target, cliSyncPrefix(source, target));
    expect(tgt.schemas).toEqual(targetBefore.schemas);
    expect(tgt.slots).toEqual([]);
    expect(tgt.publications).toEqual([]);
    expect(tgt.origins).toEqual([]);
    expect(tgt.triggers).toEqual([]);
    expect(tgt.functions).toEqual([]);
  });
});

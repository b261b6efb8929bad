import { PassThrough } from 'node:stream';
import type { DbEndpoint } from '../../lambda/engine';
import { syncCommand } from '../../bin/cli/sync';
import { syncCleanupCommand, syncSwitchoverCommand } from '../../bin/cli/sync-lifecycle';
import { postgresUrl, rolePair } from '../lambda/engine/sync/helpers';
import { query } from '../support/pg';
import { cliSyncPrefix, switchyardFootprint } from './support/catalog';

function io() {
  const out = new PassThrough();
  const err = new PassThrough();
  const text = { out: '', err: '' };
  out.on('data', (d) => (text.out += d));
  err.on('data', (d) => (text.err += d));
  const abort = new AbortController();
  return { io: { stdout: out, stderr: err, signal: abort.signal }, text, abort };
}

const poll = async (what: () => Promise<boolean>) => {
  for (let i = 0; i < 600 && !(await what()); i++) await new Promise((r) => setTimeout(r, 100));
  expect(await what()).toBe(true);
};

describe('switchyard sync switchover --reverse (the rollback window)', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;

  beforeAll(async () => {
    ({ source, target } = await rolePair('syrev', [
      `CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE)`,
      `CREATE TABLE notes (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id), body text)`,
      `INSERT INTO accounts (name) SELECT 'a' || g FROM generate_series(1, 20) g`,
      `INSERT INTO notes (account_id, body) SELECT 1 + g % 20, 'n' FROM generate_series(1, 50) g`,
    ]));
  });

  test("GIVEN a synced pair WHEN switchover --reverse runs THEN the target's writes come back into the fenced source, and cleanup leaves nothing", async () => {
    const flags = { source: postgresUrl(source), target: postgresUrl(target) };
    const before = await switchyardFootprint(source, cliSyncPrefix(source, target));
    expect(await syncCommand({ ...flags, once: true }, io().io)).toBe(0);
    const r = io();
    const running = syncSwitchoverCommand({ ...flags, reverse: true, maxLagBytes: 1 << 30 }, r.io);
    await poll(async () => r.text.err.includes('reverse sync: slot'));
    const [a] = await query<{ id: string }>(target, `INSERT INTO accounts (name) VALUES ('after') RETURNING id::text`);
    await query(target, `INSERT INTO notes (account_id, body) VALUES (${a.id}, 'back')`);
    await query(target, `UPDATE accounts SET name = 'renamed' WHERE id = 3`);
    await poll(async () => (await query(source, `SELECT 1 FROM notes WHERE body = 'back'`)).length === 1);
    r.abort.abort();
    expect(await running).toBe(0);
    expect(r.text.out).toMatch(/reverse sync: \d+ transaction\(s\) returned to the source/);
    expect(await query(source, `SELECT name FROM accounts WHERE id = 3`)).toEqual([{ name: 'renamed' }]);
    const c = io();
    expect(await syncCleanupCommand(flags, c.io)).toBe(0);
    expect(c.text.out).toContain('default_transaction_read_only = off');
    const after = await switchyardFootprint(source, cliSyncPrefix(source, target));
    expect({ ...after, settings: [] }).toEqual({ ...before, settings: [] });
    expect(after.settings).toEqual([{ s: 'default_transaction_read_only=on' }]);
    const tgt = await switchyardFootprint(target, cliSyncPrefix(source, target));
    expect([tgt.slots, tgt.publications, tgt.origins]).toEqual([[], [], []]);
    expect(tgt.schemas).not.toContainEqual({ nspname: 'switchyard' });
  });
});

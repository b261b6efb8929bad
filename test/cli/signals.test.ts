import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { DbEndpoint } from '../../lambda/engine';
import { rolePair } from '../lambda/engine/sync/helpers';
import { query } from '../support/pg';

const ROOT = path.join(__dirname, '..', '..');

/**
 * `npx switchyard sync` as a process (bin/switchyard.cjs, the package.json `bin`): SIGTERM drains,
 * prints the summary and exits 0; a second signal quits at once with 130. The password travels
 * in PGPASSWORD, the URL in an environment variable (--source-env): neither is on the command line.
 */
function start(source: DbEndpoint, target: DbEndpoint) {
  const url = (e: DbEndpoint) => `postgres://${e.user}@${e.host}:${e.port}/${e.database}`;
  const p = spawn(
    process.execPath,
    ['bin/switchyard.cjs', 'sync', '--source-env', 'OLD_DB', '--target-env', 'NEW_DB'],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        OLD_DB: url(source),
        NEW_DB: url(target),
        PGPASSWORD: source.password,
      },
    },
  );
  const text = { out: '', err: '' };
  p.stdout.on('data', (d) => (text.out += d));
  p.stderr.on('data', (d) => (text.err += d));
  const exited = new Promise<{ code: number | null }>((r) => p.on('close', (code) => r({ code })));
  const until = async (re: RegExp) => {
    for (let i = 0; i < 600 && !re.test(text.err); i++) await new Promise((r) => setTimeout(r, 100));
    expect(text.err).toMatch(re);
  };
  return { p, text, exited, until };
}

describe('signals (npx switchyard sync)', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  beforeEach(async () => {
    ({ source, target } = await rolePair('sysig'));
    expect(target.password).toBe(source.password);
    await query(source, `INSERT INTO items (id, name) SELECT g, 'n' || g FROM generate_series(1, 100) g`);
  });

  test('GIVEN a running sync WHEN SIGTERM arrives THEN it drains, prints the summary and what stays, and exits 0', async () => {
    const s = start(source, target);
    await s.until(/copied items: 100 rows/);
    await query(source, `INSERT INTO items (id, name) VALUES (1000, 'late')`);
    await new Promise((r) => setTimeout(r, 500));
    s.p.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0 });
    expect(s.text.out).toMatch(/^sync: \d+ transactions applied/m);
    expect(s.text.err).toContain('switchyard sync cleanup --source-env OLD_DB --target-env NEW_DB');
    expect(await query(target, `SELECT name FROM items WHERE id = 1000`)).toEqual([{ name: 'late' }]);
  }, 120_000);

  test('GIVEN a stopping sync WHEN a second signal arrives THEN it quits at once with exit 130', async () => {
    const s = start(source, target);
    // Early (the copy is still to come), so the first stop cannot finish before the second signal.
    await s.until(/slot sy_cli_\w+ created/);
    s.p.kill('SIGINT');
    await s.until(/Ctrl-C: stopping/);
    s.p.kill('SIGINT');
    expect(await s.exited).toEqual({ code: 130 });
  }, 120_000);
});

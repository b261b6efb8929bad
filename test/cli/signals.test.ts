import { spawn } from 'node:child_process';
import * as path from 'node:path';
import type { DbEndpoint } from '../../lambda/engine';
import { rolePair } from '../lambda/engine/sync/helpers';
import { query } from '../support/pg';

const ROOT = path.join(__dirname, '..', '..');

/**
 * `npx switchyard sync` as a process (bin/switchyard.cjs, the package.json `bin`): SIGTERM drains,
 * prints the summary and exits 0; a second signal quits at once with 130. Through `npm run` (the
 * script `exec`s the command, so npm waits for it and ends with its code) the same, npm included. The password travels
 * in PGPASSWORD, the URL in an environment variable (--source-env): neither is on the command line.
 */
function start(source: DbEndpoint, target: DbEndpoint, via: 'npx' | 'npm run' = 'npx') {
  const url = (e: DbEndpoint) => `postgres://${e.user}@${e.host}:${e.port}/${e.database}`;
  const args = ['sync', '--source-env', 'OLD_DB', '--target-env', 'NEW_DB'];
  const [command, argv] =
    via === 'npx' ? [process.execPath, ['bin/switchyard.cjs', ...args]] : ['npm', ['run', 'switchyard', '--', ...args]];
  // `npm run` in a process group of its own, as a terminal starts it: a Ctrl-C there reaches the whole group.
  const p = spawn(command, argv, {
    cwd: ROOT,
    detached: via === 'npm run',
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      OLD_DB: url(source),
      NEW_DB: url(target),
      PGPASSWORD: source.password,
      npm_config_update_notifier: 'false',
    },
  });
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

  test("GIVEN `npm run switchyard -- sync` in a terminal WHEN Ctrl-C reaches its process group THEN it drains, prints the summary, and npm's own exit code is 0", async () => {
    const s = start(source, target, 'npm run');
    await s.until(/copied items: 100 rows/);
    process.kill(-s.p.pid!, 'SIGINT'); // what a terminal's Ctrl-C does: npm and the command get it, npm forwards it too
    expect(await s.exited).toEqual({ code: 0 });
    expect(s.text.out).toMatch(/^sync: \d+ transactions applied/m);
    expect(s.text.err.match(/Ctrl-C: stopping/g)).toHaveLength(1); // npm's forwarded copy is not a second Ctrl-C
  }, 120_000);

  test('GIVEN `npm run switchyard -- sync` WHEN SIGTERM is sent to npm alone THEN npm forwards it, the sync drains and npm exits 0', async () => {
    const s = start(source, target, 'npm run');
    await s.until(/copied items: 100 rows/);
    s.p.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0 });
    expect(s.text.out).toMatch(/^sync: \d+ transactions applied/m);
  }, 120_000);
});

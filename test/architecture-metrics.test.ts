import * as fs from 'node:fs';
import * as path from 'node:path';
import { METRIC } from '../lambda/core/metrics';

const ROOT = path.join(__dirname, '..');

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

describe('one catalog of metric names (lambda/core/metrics.ts)', () => {
  test('GIVEN the handlers and the constructs WHEN searched THEN no metric name of the catalog is typed as a string', () => {
    const names = Object.values(METRIC);
    const offenders = [...sources('lambda'), ...sources('lib'), ...sources('bin')]
      .filter((f) => f !== 'lambda/core/metrics.ts')
      .flatMap((f) => {
        const code = fs.readFileSync(path.join(ROOT, f), 'utf8');
        return names.filter((n) => new RegExp(`['"\`]${n}['"\`]`).test(code)).map((n) => `${n} in ${f}`);
      });
    expect(offenders).toEqual([]);
  });

  test('GIVEN the catalog WHEN read THEN each name is unique', () => {
    const names = Object.values(METRIC);
    expect(new Set(names).size).toBe(names.length);
  });
});

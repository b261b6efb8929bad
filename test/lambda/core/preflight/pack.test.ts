import * as fs from 'node:fs';
import * as path from 'node:path';
import { PreflightNoGoError } from '../../../../lambda/core/preflight/evaluate';
import { fail, notApplicable, type PackCheck, pass, runPack } from '../../../../lambda/core/preflight/pack';
import { PREFLIGHT_PACK } from '../../../../lambda/handlers/preflight-checks';

const check = (name: string, run: () => ReturnType<PackCheck<void>['check']>): PackCheck<void> => ({
  name,
  info: `${name} check`,
  check: run,
});

describe('a pack of preflight checks', () => {
  test('GIVEN pass, not-applicable, fail and a throwing check WHEN run THEN each is reported, in order, and only failures stop', async () => {
    const report = await runPack(
      [
        check('a', async () => pass('fine')),
        check('b', async () => notApplicable('no reverse sync in this stage')),
        check('c', async () => fail('wal_level is replica', "set wal_level = 'logical'")),
        check('d', async () => {
          throw Object.assign(new Error('cannot connect'), { name: 'DatabaseUnreachableError' });
        }),
      ],
      undefined,
    );
    expect(report.go).toBe(false);
    expect(report.checks.map((c) => [c.name, c.status, c.ok])).toEqual([
      ['a', 'pass', true],
      ['b', 'not-applicable', true],
      ['c', 'fail', false],
      ['d', 'fail', false],
    ]);
    expect(new PreflightNoGoError(report).message).toBe(
      "no-go: c: wal_level is replica (fix: set wal_level = 'logical'); d: DatabaseUnreachableError: cannot connect",
    );
  });

  test('GIVEN only passes and not-applicables WHEN run THEN go', async () => {
    const report = await runPack(
      [check('a', async () => pass('ok')), check('b', async () => notApplicable('n/a'))],
      undefined,
    );
    expect(report.go).toBe(true);
  });

  test('the Preflight pack lists every check file of its folder once, each with a unique name and an info line', () => {
    const dir = path.join(__dirname, '../../../../lambda/handlers/preflight-checks');
    const files = fs.readdirSync(dir).filter((f) => !['index.ts', 'context.ts'].includes(f));
    expect(PREFLIGHT_PACK).toHaveLength(files.length);
    expect(new Set(PREFLIGHT_PACK.map((c) => c.name)).size).toBe(PREFLIGHT_PACK.length);
    for (const c of PREFLIGHT_PACK) expect(c.info.length).toBeGreaterThan(20);
  });
});

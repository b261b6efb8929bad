import type { DbEndpoint } from '../../../../lambda/engine';
import { parseSpec } from '../../../../lambda/engine';
import { checkSyncPreconditions } from '../../../../lambda/engine/sync';
import { SYNC_PRECONDITIONS } from '../../../../lambda/engine/sync/preconditions';
import { itemsSpec, rolePair } from './helpers';

describe('the sync preconditions pack', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;

  beforeAll(async () => {
    ({ source, target } = await rolePair('sypp'));
  });

  test('GIVEN the pack WHEN it is listed THEN each check has a unique name and says what it guards', () => {
    const names = SYNC_PRECONDITIONS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    for (const c of SYNC_PRECONDITIONS) expect(c.info.length).toBeGreaterThan(20);
  });

  test('GIVEN a one-way sync WHEN checked THEN every check is reported, the two-way ones as not applicable', async () => {
    const checks = await checkSyncPreconditions(source, itemsSpec, 'pp', 'forward');
    expect(checks.map((c) => c.name)).toEqual(SYNC_PRECONDITIONS.map((c) => c.name));
    const status = Object.fromEntries(checks.map((c) => [c.name, c.status]));
    expect(status).toMatchObject({
      'spec-tables': 'pass',
      'reverse-mapping': 'not-applicable',
      'wal-level': 'pass',
      'loop-guard': 'not-applicable',
      'commit-timestamps-source': 'not-applicable',
      'commit-timestamps-target': 'not-applicable',
      'table-ownership': 'pass',
    });
    expect(checks.every((c) => c.ok)).toBe(true);
  });

  test('GIVEN a forward sync with its destination WHEN checked THEN the replica-role privilege of the destination login is reported as advice, never a failure', async () => {
    const checks = await checkSyncPreconditions(source, itemsSpec, 'pp', 'forward', { target });
    const role = checks.find((c) => c.name === 'replica-role-target');
    expect(role).toMatchObject({ ok: true, status: 'pass' });
    expect(role?.detail).toMatch(
      /may not set session_replication_role.*GRANT SET ON PARAMETER session_replication_role/,
    );
  });

  test('GIVEN a reverse direction of a query source WHEN checked THEN reverse-mapping fails with its fix', async () => {
    const spec = parseSpec({
      ...itemsSpec,
      tables: [{ ...itemsSpec.tables[0], source: { query: 'SELECT id, name, big, n FROM public.items' } }],
    });
    const checks = await checkSyncPreconditions(target, spec, 'pp', 'reverse', { target: source, conflicts: true });
    const byName = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(byName['reverse-mapping']).toMatchObject({
      ok: false,
      status: 'fail',
      fix: expect.stringMatching(/forwardOnly/),
    });
    expect(byName['reverse-mapping'].detail).toMatch(/a reverse sync needs a source table/);
    expect(byName['spec-tables'].status).toBe('not-applicable');
    expect(byName['commit-timestamps-target'].status).toBe('pass');
  });
});

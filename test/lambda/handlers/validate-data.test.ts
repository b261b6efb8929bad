import { type DbEndpoint, parseSpec } from '../../../lambda/engine';
import { registerSpec } from '../../../lambda/engine/specs';
import type { PhaseDeps } from '../../../lambda/handlers/support/deps';
import { createLogger } from '../../../lambda/handlers/support/logger';
import { validateData } from '../../../lambda/handlers/validate-data';
import { query } from '../../support/pg';
import { copyAll, rolePair } from '../engine/sync/helpers';

const ddl = (t: string) => `CREATE TABLE public.${t} (id bigint PRIMARY KEY, n int NOT NULL)`;
const NAMES = ['va', 'vb', 'vc'];
const SPEC = parseSpec({
  version: 1,
  name: 'validate-data-handler',
  targetDdl: NAMES.map(ddl),
  tables: NAMES.map((t) => ({
    name: t,
    source: { table: t },
    key: ['id'],
    target: { table: t },
    columns: { n: 's.n' },
  })),
});
registerSpec(SPEC);

describe('ValidateData handler', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const handler = () =>
    validateData.make(
      () =>
        ({
          log: createLogger({}, () => undefined),
          specName: SPEC.name,
          sourceDb: async () => source,
          targetDb: async () => target,
          now: () => Date.now(),
        }) as unknown as PhaseDeps,
    );

  beforeAll(async () => {
    ({ source, target } = await rolePair('vdh', NAMES.map(ddl)));
    for (const t of NAMES) await query(source, `INSERT INTO public.${t} SELECT g, g FROM generate_series(1, 30) g`);
    await copyAll(SPEC, source, target);
  });

  test('GIVEN every table copied WHEN validated THEN it reports each table matching, in spec order', async () => {
    const out = (await handler()({ migrationId: 'vdh-1' }, { getRemainingTimeInMillis: () => 900_000 })) as {
      match: boolean;
      rowsValidated: number;
      tables: { name: string; match: boolean }[];
    };
    expect(out.match).toBe(true);
    expect(out.rowsValidated).toBe(90);
    expect(out.tables.map((t) => [t.name.replace(/^.*\./, ''), t.match])).toEqual(NAMES.map((n) => [n, true]));
  });

  test('GIVEN a table differing WHEN validated THEN IntegrityMismatchError names the table and the key', async () => {
    await query(target, `UPDATE public.vb SET n = -1 WHERE id = 3`);
    try {
      await expect(handler()({ migrationId: 'vdh-2' })).rejects.toMatchObject({
        name: 'IntegrityMismatchError',
        message: expect.stringMatching(
          /validation failed for \S*vb \(source 30 rows, target 30; .*changed \[\["3"\]\]/,
        ),
      });
    } finally {
      await query(target, `UPDATE public.vb SET n = 3 WHERE id = 3`);
    }
  });

  test('GIVEN less invocation time left than the safety margin WHEN validated THEN it stops with ValidationIncompleteError naming the tables, before it is killed', async () => {
    await expect(handler()({ migrationId: 'vdh-3' }, { getRemainingTimeInMillis: () => 30_000 })).rejects.toMatchObject(
      { name: 'ValidationIncompleteError', message: expect.stringMatching(/3 table\(s\).*va/) },
    );
  });
});

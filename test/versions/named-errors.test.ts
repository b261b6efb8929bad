import { ERRORS } from '../../lambda/core/errors';
import { parseSpec } from '../../lambda/engine';
import { createSync, runSync, syncNames } from '../../lambda/engine/sync';
import { syncCommand } from '../../bin/cli/sync';
import { cliIo, copyAll, postgresUrl } from '../lambda/engine/sync/helpers';
import { query } from '../support/pg';
import { matrixMajors, roleDb } from './matrix';

const DDL = `CREATE TABLE public.items (id bigint PRIMARY KEY, name text)`;
const spec = parseSpec({
  version: 1,
  name: 'versions-errors',
  targetDdl: [DDL],
  tables: [
    { name: 'items', source: { table: 'items' }, key: ['id'], target: { table: 'items' }, columns: { name: 's.name' } },
  ],
});

describe.each(matrixMajors().map((m) => [m]))('named errors on PostgreSQL %d', (major) => {
  test('GIVEN `switchyard sync` failing after it created its slot WHEN it stops THEN it names the error and says how to remove the slot', async () => {
    const source = await roleDb(major, 'ne_src', [DDL, `INSERT INTO items VALUES (1, 'a')`]);
    // A target table of another shape: PrepareTarget refuses it, after the slot was created.
    const target = await roleDb(major, 'ne_tgt', [`CREATE TABLE public.items (id text PRIMARY KEY, other int)`]);
    const { io, text } = cliIo();
    const code = await syncCommand({ source: postgresUrl(source), target: postgresUrl(target), once: true }, io);
    expect(code).toBe(1);
    const err = text().err;
    expect(err).toMatch(/error SchemaMismatchError: /);
    expect(err).toMatch(
      /replication slot (sy_cli_\w+) and publication \1 stay on the source .*pg_drop_replication_slot\('\1'\)/,
    );
    expect(err).not.toMatch(/unexpected/i);
  });

  test('GIVEN the marker loop guard needed but the other direction publishes no marker table WHEN the sync starts THEN it is refused by name', async () => {
    const id = `ne${major}`;
    const oldDb = await roleDb(major, 'ne_old', [DDL]);
    const newDb = await roleDb(major, 'ne_new');
    await createSync(oldDb, spec, id, 'forward');
    await copyAll(spec, oldDb, newDb);
    // The reverse publication as an older Switchyard (or a hand) made it: without switchyard.loop_marks.
    await query(newDb, `CREATE PUBLICATION ${syncNames(id, 'reverse').publication} FOR TABLE public.items`);
    const run = runSync({ migrationId: id, direction: 'forward', spec, source: oldDb, target: newDb });
    if (major >= 14) await expect(run).resolves.toMatchObject({ loopGuard: 'message' });
    else
      await expect(run).rejects.toMatchObject({
        name: ERRORS.ServerCapabilityMissingError,
        message: expect.stringMatching(
          /PostgreSQL 13\.\d+ gives this login no replication origins .*does not publish switchyard\.loop_marks\. Fix: /,
        ),
      });
  });
});

describe('a spec expression the older server cannot run', () => {
  const newer = Math.max(...matrixMajors());
  const older = Math.min(...matrixMajors());
  const jsonSpec = parseSpec({
    version: 1,
    name: 'versions-json',
    targetDdl: [`CREATE TABLE public.items (id bigint PRIMARY KEY, name text, is_obj boolean)`],
    tables: [
      {
        name: 'items',
        source: { table: 'items' },
        key: ['id'],
        target: { table: 'items' },
        columns: { name: 's.name', is_obj: 's.name IS JSON OBJECT' },
        forwardOnly: true,
      },
    ],
  });

  test(`GIVEN IS JSON (16+) in a projection WHEN the sync applies it on PostgreSQL ${older} THEN it is a named error naming both servers`, async () => {
    const id = 'nejson';
    const source = await roleDb(newer, 'nej_src', [DDL, `INSERT INTO items VALUES (1, '{}')`]);
    const target = await roleDb(older, 'nej_tgt');
    await createSync(source, jsonSpec, id, 'forward');
    await copyAll(jsonSpec, source, target);
    await query(source, `INSERT INTO items VALUES (2, 'x')`);
    await expect(
      runSync({ migrationId: id, direction: 'forward', spec: jsonSpec, source, target }),
    ).rejects.toMatchObject({
      name: ERRORS.ServerCapabilityMissingError,
      message: expect.stringMatching(
        new RegExp(
          `the forward sync ran a statement PostgreSQL ${newer}\\.\\d+ / PostgreSQL ${older}\\.\\d+ cannot run`,
        ),
      ),
    });
  });
});

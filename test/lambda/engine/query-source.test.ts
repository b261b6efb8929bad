import { copyTable, describeTableWith, parseSpec, prepareTarget, validateTable } from '../../../lambda/engine';
import { query, seededPair } from '../../support/pg';

/** A merge: messages joined with their session's owner, into one denormalized target table. */
const spec = parseSpec({
  version: 1,
  name: 'merge',
  targetDdl: [
    'CREATE TABLE IF NOT EXISTS owned_messages (id bigint PRIMARY KEY, owner text NOT NULL, body text, changed_at timestamptz NOT NULL)',
  ],
  tables: [
    {
      name: 'owned-messages',
      source: {
        query:
          'SELECT m.id, m.body, se.user_name, greatest(m.updated_at, se.updated_at) AS changed_at FROM chat_messages m JOIN chat_sessions se ON se.id = m.session_id',
      },
      key: ['id'],
      target: { table: 'owned_messages' },
      columns: { owner: 'upper(s.user_name)', body: 's.body', changed_at: 's.changed_at' },
      watermark: 'changed_at',
      chunkSize: 300,
    },
  ],
});

test('GIVEN a query source that merges two tables WHEN copied, changed and copied again THEN the target matches', async () => {
  const { source, target } = await seededPair('q', 1_000);
  await prepareTarget(spec, source, target);
  const layout = await describeTableWith(spec.tables[0], source, target);
  const copy = await copyTable(layout, source, target, { runId: 'q', concurrency: 2 });
  expect(copy).toMatchObject({ rowsTotal: 1_000, chunks: 4, complete: true });

  // Renaming a session owner changes 20 merged rows; a query source is copy-only (no change capture), so it is copied again.
  await query(source, "UPDATE chat_sessions SET user_name = 'renamed', updated_at = now() WHERE id = 3");
  expect((await validateTable(layout, source, target, { runId: 'q', concurrency: 2 })).match).toBe(false);
  await copyTable(layout, source, target, { runId: 'q-again', concurrency: 2 });
  const owners = await query<{ owner: string }>(
    target,
    'SELECT DISTINCT owner FROM owned_messages WHERE id BETWEEN 41 AND 60',
  );
  expect(owners).toEqual([{ owner: 'RENAMED' }]);
  expect((await validateTable(layout, source, target, { runId: 'q', concurrency: 2 })).match).toBe(true);
});

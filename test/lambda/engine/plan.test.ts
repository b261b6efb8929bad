import { CHUNK_BYTES, CHUNK_ROWS, chunkRows } from '../../../lambda/engine/plan';
import {
  connect,
  copyTable,
  describeTableWith,
  loadPlan,
  parseSpec,
  prepareTarget,
  validateTable,
} from '../../../lambda/engine';
import { chatHistorySpec } from '../../../lambda/engine/specs/chat-history';
import { query, seededPair } from '../../support/pg';

test('GIVEN a source estimated above the sampling threshold WHEN planned THEN chunks come from a page sample, hold about chunkSize rows and cover every key', async () => {
  const { source, target } = await seededPair('pl', 20_000);
  // Pretend the table is big (the superuser may set the planner's estimate): the plan samples 20% of its pages.
  // Autovacuum off first (its ANALYZE would put the true count back before the plan reads it).
  await query(source, `ALTER TABLE chat_messages SET (autovacuum_enabled = false); ANALYZE chat_messages`);
  await query(source, `UPDATE pg_class SET reltuples = 5e6 WHERE oid = 'chat_messages'::regclass`);
  const spec = parseSpec({ ...chatHistorySpec, tables: [{ ...chatHistorySpec.tables[1], chunkSize: 1_000 }] });
  await prepareTarget(spec, source, target);
  const layout = await describeTableWith(spec.tables[0], source, target);
  const copy = await copyTable(layout, source, target, { runId: 'sampled', concurrency: 2 });
  expect(copy).toMatchObject({ complete: true, rowsTotal: 20_000 });

  const c = await connect(target);
  const plan = await loadPlan(c, 'sampled', 'messages').finally(() => c.end());
  const sizes = plan.map((p) => p.copiedRows!);
  // exact cutting gives exactly 20 chunks of 1,000; a sample gives about that many, of about that size
  expect(plan.length).toBeGreaterThanOrEqual(14);
  expect(plan.length).toBeLessThanOrEqual(28);
  expect(sizes.some((n) => n !== 1_000)).toBe(true);
  expect(Math.max(...sizes)).toBeLessThan(3_000);
  expect(plan[0].lower).toBeNull();
  expect(plan[plan.length - 1].upper).toBeNull();
  for (let i = 1; i < plan.length; i++) expect(plan[i].lower).toEqual(plan[i - 1].upper);
  expect((await validateTable(layout, source, target, { runId: 'sampled' })).match).toBe(true);
});

test("chunk rows: the spec's chunkSize wins; else about CHUNK_BYTES of the table's rows, within bounds; 50,000 when unknown", () => {
  const auto = chatHistorySpec.tables[1];
  expect(auto.chunkSize).toBeUndefined();
  expect(chunkRows({ ...auto, chunkSize: 700 }, { rows: 1e6, bytes: 2e8 })).toBe(700);
  // 200-byte rows: CHUNK_BYTES / 200
  expect(chunkRows(auto, { rows: 1e6, bytes: 2e8 })).toBe(Math.round(CHUNK_BYTES / 200));
  expect(chunkRows(auto, { rows: 1e8, bytes: 1e9 })).toBe(CHUNK_ROWS.max); // 10-byte rows
  expect(chunkRows(auto, { rows: 1e3, bytes: 1e9 })).toBe(CHUNK_ROWS.min); // 1 MB rows
  expect(chunkRows(auto, { rows: null, bytes: 1e9 })).toBe(CHUNK_ROWS.default);
  expect(chunkRows(auto, { rows: null, bytes: null })).toBe(CHUNK_ROWS.default);
});

test('GIVEN an analyzed source that fits one chunk and no chunkSize WHEN planned THEN one whole-range chunk, and every row is copied', async () => {
  const { source, target } = await seededPair('pw', 3_000);
  const spec = parseSpec({ ...chatHistorySpec, tables: [chatHistorySpec.tables[1]] });
  await prepareTarget(spec, source, target);
  const layout = await describeTableWith(spec.tables[0], source, target);
  const copy = await copyTable(layout, source, target, { runId: 'whole', concurrency: 2 });
  expect(copy).toMatchObject({ complete: true, chunks: 1, rowsTotal: 3_000 });
  const c = await connect(target);
  const plan = await loadPlan(c, 'whole', 'messages').finally(() => c.end());
  expect(plan).toMatchObject([{ chunkNo: 0, lower: null, upper: null, copiedRows: 3_000 }]);
  expect((await validateTable(layout, source, target, { runId: 'whole' })).match).toBe(true);
});

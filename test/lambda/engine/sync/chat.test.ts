import {
  connect,
  copyTable,
  type DbEndpoint,
  describeTableWith,
  type MigrationSpec,
  parseSpec,
  prepareTarget,
  validateTable,
} from '../../../../lambda/engine';
import { chatHistorySpec } from '../../../../lambda/engine/specs/chat-history';
import { seedChatHistory } from '../../../../lambda/rehearsal/chat-history-seed';
import { createSync, qualifiedTableSpec, runSync } from '../../../../lambda/engine/sync';
import { syncCommand } from '../../../../bin/cli/sync';
import { query, testServer } from '../../../support/pg';
import { cliIo as io, countWrites, postgresUrl as url, rolePair, rowsOf, writes } from './helpers';

const ROWS = 3000;
const spec: MigrationSpec = parseSpec({
  ...chatHistorySpec,
  tables: chatHistorySpec.tables.map(({ reverse: _r, ...t }) => ({ ...t, chunkSize: 500, forwardOnly: true })),
});

async function seededRolePair(prefix: string) {
  const pair = await rolePair(prefix, []);
  const c = await connect(pair.source);
  await seedChatHistory(c, ROWS);
  await c.end();
  return pair;
}

async function validateAll(source: DbEndpoint, target: DbEndpoint, runId: string) {
  const out = [];
  for (const t of spec.tables)
    out.push(
      (await validateTable(await describeTableWith(qualifiedTableSpec(t), source, target), source, target, { runId }))
        .match,
    );
  return out;
}

describe('sync on the chat-history example (projection, copy handoff, long transactions, kill and resume)', () => {
  let source: DbEndpoint;
  let target: DbEndpoint;
  const id = 'chat';

  beforeAll(async () => {
    ({ source, target } = await seededRolePair('syc'));
    await createSync(source, spec, id, 'forward');
    await prepareTarget(spec, source, target);
  });

  test('GIVEN writes racing the first and the last chunk of the copy WHEN the sync runs after the copy THEN the target validates against the source', async () => {
    let writing = true;
    const writer = (async () => {
      let i = 0;
      while (writing || i < 20) {
        i++;
        await query(
          source,
          `UPDATE chat_messages SET body = 'first chunk edit ${i}', updated_at = now() WHERE id = ${1 + (i % 50)}`,
        );
        await query(
          source,
          `UPDATE chat_messages SET role = 'BOT', metadata = '{"edit": ${i}}' WHERE id = ${ROWS - (i % 50)}`,
        );
        await query(
          source,
          `INSERT INTO chat_messages VALUES (${ROWS + i}, 1, 'human', 'late ${i}', NULL, now(), now())`,
        );
        if (i % 5 === 0) await query(source, `DELETE FROM chat_messages WHERE id = ${100 + i}`);
      }
    })();
    for (const t of spec.tables)
      await copyTable(await describeTableWith(qualifiedTableSpec(t), source, target), source, target, {
        runId: 'race',
      });
    writing = false;
    await writer;
    const r = await runSync({ migrationId: id, direction: 'forward', spec, source, target });
    expect(r.caughtUp).toBe(true);
    expect(r.transactions).toBeGreaterThan(0);
    expect(await validateAll(source, target, 'race')).toEqual([true, true]);
    const [m] = await query<{ role: string; metadata: unknown }>(
      target,
      `SELECT role, metadata FROM public.messages WHERE message_id = ${ROWS - 1}`,
    );
    expect(m.role).toBe('assistant'); // through the projection: 'BOT' -> assistant
  });

  test('GIVEN a transaction held open 10 s while others commit and are applied WHEN it commits THEN its rows are applied too', async () => {
    const long = await connect(source);
    await long.query(
      `BEGIN; INSERT INTO chat_messages VALUES (900001, 1, 'human', 'long tx', NULL, now(), now()); UPDATE chat_messages SET body = 'long tx edit' WHERE id = 200`,
    );
    const deadline = Date.now() + 10_000;
    let i = 0;
    while (Date.now() < deadline) {
      await query(
        source,
        `INSERT INTO chat_messages VALUES (${910_000 + ++i}, 2, 'bot', 'meanwhile', NULL, now(), now())`,
      );
      await runSync({ migrationId: id, direction: 'forward', spec, source, target });
      await new Promise((res) => setTimeout(res, 1000));
    }
    const [before] = await query<{ n: number }>(
      target,
      `SELECT count(*)::int AS n FROM public.messages WHERE message_id = 900001`,
    );
    expect(before.n).toBe(0);
    await long.query('COMMIT');
    await long.end();
    const r = await runSync({ migrationId: id, direction: 'forward', spec, source, target });
    expect(r.transactions).toBe(1);
    const [after] = await query<{ content: string }>(
      target,
      `SELECT content FROM public.messages WHERE message_id = 200`,
    );
    expect(after.content).toBe('long tx edit');
    expect(await validateAll(source, target, 'race')).toEqual([true, true]);
  }, 30_000);

  test('GIVEN the sync killed mid-backlog (its connections terminated between an apply commit and the slot advance) WHEN resumed THEN it converges and applies every change exactly once', async () => {
    await countWrites(target, 'public.messages');
    for (let b = 0; b < 10; b++)
      await query(
        source,
        `UPDATE chat_messages SET updated_at = updated_at + interval '1 second' WHERE id BETWEEN ${b * 100 + 1} AND ${b * 100 + 100}`,
      );
    const [{ n: changed }] = await query<{ n: number }>(
      source,
      `SELECT count(*)::int AS n FROM chat_messages WHERE id BETWEEN 1 AND 1000`,
    );
    const before = await writes(target);
    let commits = 0;
    const killed = await runSync({
      migrationId: id,
      direction: 'forward',
      spec,
      source,
      target,
      batchChanges: 150,
      flushRows: 150,
      faults: {
        afterApplyCommit: async () => {
          if (++commits === 3)
            await query(
              { ...testServer() },
              `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'switchyard-sync%' AND datname IN ($1, $2)`,
              [target.database, source.database],
            );
        },
      },
    }).catch((e) => e);
    expect(killed).toBeInstanceOf(Error);
    const partial = (await writes(target)) - before;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(changed);
    const resumed = await runSync({ migrationId: id, direction: 'forward', spec, source, target });
    expect(resumed.alreadyApplied).toBeGreaterThan(0);
    expect((await writes(target)) - before).toBe(changed);
    expect(await validateAll(source, target, 'race')).toEqual([true, true]);
  });
});

describe('switchyard sync (syncCommand)', () => {
  test('GIVEN an old database WHEN sync --once, then again, then --resume, then continuous until aborted THEN the target mirrors it, a non-empty target is refused, resume picks up changes', async () => {
    const { source, target } = await seededRolePair('sycli');
    const first = io();
    expect(await syncCommand({ source: url(source), target: url(target), once: true }, first.io)).toBe(0);
    expect(first.text().out).toMatch(/caught up/);
    expect(first.text().err).not.toContain(source.password);
    expect(await rowsOf(target, 'public.chat_messages')).toEqual(await rowsOf(source, 'public.chat_messages'));

    const refused = io();
    expect(await syncCommand({ source: url(source), target: url(target), once: true }, refused.io)).toBe(1);
    expect(refused.text().err).toMatch(
      /SyncTargetNotEmptyError: target table\(s\) public.chat_sessions, public.chat_messages already have rows/,
    );

    await query(source, `UPDATE chat_messages SET body = 'after first sync' WHERE id = 10`);
    await query(source, `DELETE FROM chat_messages WHERE id = 11`);
    const ac = new AbortController();
    const cont = io(ac.signal);
    const running = syncCommand({ source: url(source), target: url(target), resume: true }, cont.io);
    setTimeout(() => ac.abort(), 1500);
    await query(source, `INSERT INTO chat_messages VALUES (99999, 1, 'human', 'while following', NULL, now(), now())`);
    expect(await running).toBe(0);
    expect(await rowsOf(target, 'public.chat_messages')).toEqual(await rowsOf(source, 'public.chat_messages'));
    expect(await rowsOf(target, 'public.chat_sessions')).toEqual(await rowsOf(source, 'public.chat_sessions'));
  });
});

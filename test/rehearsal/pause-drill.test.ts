import { CHAT_APP_VERIFICATION } from '../../lambda/rehearsal/chat-verification';
import { formatReport } from '../../lambda/rehearsal/report';
import { RehearsalInputError, rehearse } from '../../lambda/rehearsal/rehearse';
import { synthesizeMigrationTemplate } from '../../lib/local-template';
import { testServer } from '../support/pg';

/** `npm run rehearse -- --pause-at 25 [--abort-at-pause]`: the rehearsal's operator answers the pause itself. */
describe('rehearsal pause drill (2,000 rows)', () => {
  const template = synthesizeMigrationTemplate('dev', { verification: CHAT_APP_VERIFICATION });
  const run = (extra: Record<string, unknown> = {}) =>
    rehearse({ rows: 2_000, bakeSeconds: 1, writesPerSecond: 100, server: testServer(), template, ...extra });

  test('GIVEN --pause-at 25 WHEN rehearsed THEN Migrate held at 25 %, was resumed, and completed with nothing lost', async () => {
    const lines: string[] = [];
    const r = await run({ pauseAt: 25, pauseSeconds: 1, progress: (l: string) => lines.push(l) });
    expect([r.outcome, r.error, r.expected]).toEqual(['completed', undefined, true]);
    expect(r.phases.filter((p) => p.name === 'PauseAtStep').map((p) => p.status)).toEqual(['ok']);
    expect(r.traffic.steps.map((s) => s.weights.new)).toEqual([0, 5, 25, 50, 100]);
    expect(r.integrity.writes!.lost).toBe(0);
    expect(lines).toContain('operator: resumed the pause (switchyard resume)');
  });

  test('GIVEN --pause-at 25 --abort-at-pause WHEN rehearsed THEN rolled back to 100 % old by the abort, nothing lost', async () => {
    const r = await run({ pauseAt: 25, abortAtPause: true, pauseSeconds: 0 });
    expect([r.outcome, r.error?.name, r.expected]).toEqual(['rolled-back', 'MigrationAbortedError', true]);
    expect(r.traffic.finalWeights).toEqual({ old: 100, new: 0 });
    expect(r.traffic.steps.map((s) => s.weights.new)).toEqual([0, 5, 25, 0]);
    const w = r.integrity.writes!;
    expect([w.checkedOn, w.lost]).toEqual(['old', 0]);
    expect(formatReport(r)).toContain('As expected.');
  });

  test('--abort-at-pause without --pause-at is refused before anything starts', async () => {
    await expect(run({ abortAtPause: true })).rejects.toThrow(RehearsalInputError);
    await expect(run({ abortAtPause: true })).rejects.toThrow('--abort-at-pause needs --pause-at <weight>');
  });
});

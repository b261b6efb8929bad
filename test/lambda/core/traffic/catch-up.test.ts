import { decideCatchUp, type DrainFigures } from '../../../../lambda/core/traffic/catch-up';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const min = 60_000;
const drain = (over: Partial<DrainFigures> = {}): DrainFigures => ({
  direction: 'forward',
  done: false,
  lagSeconds: 42,
  lagBytes: 1_000_000,
  sourceLsn: '0/3000000',
  changes: 500,
  ...over,
});

describe('decideCatchUp', () => {
  test('GIVEN the first drain WHEN there is time left THEN it starts the clock and goes on', () => {
    expect(decideCatchUp({ maxLagSeconds: 5, minutes: 60 }, drain(), T0, T0 + 10 * min)).toEqual({
      startedAt: '2026-01-01T00:00:00.000Z',
    });
  });

  test('GIVEN a later drain WHEN the limit has passed without catching up THEN it gives up, saying what to do', () => {
    const d = decideCatchUp(
      { maxLagSeconds: 5, minutes: 60, startedAt: '2026-01-01T00:00:00.000Z' },
      drain(),
      T0 + 59 * min,
      T0 + 61 * min,
    );
    expect(d.startedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(d.giveUp).toMatch(
      /^CatchUp: the forward sync has not caught up after 61 min \(limit 60\): lag 42\.0 s \(1000000 bytes behind 0\/3000000\), maximum 5 s; this round applied 500 changes\..*No traffic moved and nothing was lost/,
    );
  });

  test('GIVEN the limit has passed WHEN the drain is done and the lag below the maximum THEN it does not give up', () => {
    const policy = { maxLagSeconds: 5, minutes: 60, startedAt: '2026-01-01T00:00:00.000Z' };
    expect(decideCatchUp(policy, drain({ done: true, lagSeconds: 1 }), T0, T0 + 90 * min).giveUp).toBeUndefined();
    // Done but still lagging, or low lag but not done: not caught up.
    expect(decideCatchUp(policy, drain({ done: true, lagSeconds: 9 }), T0, T0 + 90 * min).giveUp).toBeDefined();
    expect(decideCatchUp(policy, drain({ done: false, lagSeconds: 1 }), T0, T0 + 90 * min).giveUp).toBeDefined();
  });
});

import { decideHealth } from '../../../lambda/core/traffic/health';
import type { TrafficRouter } from '../../../lambda/core/traffic/ports';
import { rollbackTraffic, shiftTraffic, WeightReadBackError } from '../../../lambda/core/traffic/shift';
import {
  assertSchedule,
  assertWeights,
  InvalidWeightsError,
  type Weights,
  weightsFor,
} from '../../../lambda/core/traffic/weights';

class FakeRouter implements TrafficRouter {
  description = 'fake router';
  constructor(
    public weights: Weights = { old: 100, new: 0 },
    private readonly drift = 0,
  ) {}
  async getWeights() {
    return { old: this.weights.old + this.drift, new: this.weights.new - this.drift };
  }
  async setWeights(w: Weights) {
    this.weights = w;
  }
}

describe('weights', () => {
  test('weightsFor gives the new side its percentage', () => expect(weightsFor(25)).toEqual({ old: 75, new: 25 }));
  test('fails when weights do not sum to 100', () =>
    expect(() => assertWeights({ old: 60, new: 30 })).toThrow('weights must sum to 100, got: old 60 + new 30 = 90'));
  test('fails when a weight is negative', () =>
    expect(() => assertWeights({ old: 110, new: -10 })).toThrow(InvalidWeightsError));
  test('a schedule must increase and end at 100', () => {
    expect(assertSchedule([5, 25, 50, 100])).toEqual([5, 25, 50, 100]);
    expect(() => assertSchedule([5, 50])).toThrow('schedule must end at 100, got: 5, 50');
    expect(() => assertSchedule([50, 25, 100])).toThrow('strictly increasing');
  });
});

describe('health gate decision', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const ago = (s: number) => new Date(now.getTime() - s * 1000);

  test('all alarms OK is healthy', () => {
    expect(decideHealth([{ name: 'new-5xx', state: 'OK', since: ago(10) }], {}, now)).toEqual({
      healthy: true,
      reasons: [],
      alarmsChecked: 1,
    });
  });
  test('an alarm in ALARM is unhealthy, naming it', () => {
    const d = decideHealth(
      [
        { name: 'new-5xx', state: 'ALARM', since: ago(10) },
        { name: 'new-p99', state: 'OK', since: ago(10) },
      ],
      {},
      now,
    );
    expect(d.healthy).toBe(false);
    expect(d.reasons).toEqual(['alarm new-5xx is in ALARM since 2026-01-01T11:59:50.000Z']);
  });
  test('INSUFFICIENT_DATA is tolerated within the grace period only', () => {
    expect(
      decideHealth(
        [{ name: 'a', state: 'INSUFFICIENT_DATA', since: ago(100) }],
        { insufficientDataGraceSeconds: 300 },
        now,
      ).healthy,
    ).toBe(true);
    expect(
      decideHealth(
        [{ name: 'a', state: 'INSUFFICIENT_DATA', since: ago(400) }],
        { insufficientDataGraceSeconds: 300 },
        now,
      ).reasons,
    ).toEqual(['alarm a has had INSUFFICIENT_DATA for more than 300 s']);
  });
  test('a required alarm that cannot be read is unhealthy', () => {
    expect(decideHealth([{ name: 'a', state: 'OK', since: ago(1) }], { required: ['a', 'b'] }, now).reasons).toEqual([
      'alarm b does not exist or cannot be read',
    ]);
  });
  test('no alarms at all is unhealthy: the gate would pass blind', () => {
    expect(decideHealth([], {}, now).healthy).toBe(false);
  });
});

describe('shifting and rolling back traffic', () => {
  test('shift sets the weights and confirms them by read-back', async () => {
    const r = new FakeRouter();
    await expect(shiftTraffic(r, weightsFor(50))).resolves.toEqual({ old: 50, new: 50 });
  });
  test('fails when the weights read back differ from the ones set', async () => {
    await expect(shiftTraffic(new FakeRouter(undefined, 5), weightsFor(50))).rejects.toThrow(WeightReadBackError);
    await expect(shiftTraffic(new FakeRouter(undefined, 5), weightsFor(50))).rejects.toThrow(
      'fake router: set old 50 / new 50 but read back old 55 / new 45',
    );
  });
  test('rollback returns to 100 % old from any state and reports how long it took', async () => {
    const r = new FakeRouter({ old: 50, new: 50 });
    let t = 1000;
    const res = await rollbackTraffic(r, () => (t += 250));
    expect(res).toEqual({ weights: { old: 100, new: 0 }, previous: { old: 50, new: 50 }, elapsedMs: 250 });
  });
});

import 'aws-sdk-client-mock-jest';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchCanaryMetrics } from '../../../lambda/adapters/aws/canary-metrics';
import { MemoryRouter, StaticAlarms } from '../../../lambda/adapters/local/local-traffic';
import { RecordedCanaryMetrics } from '../../../lambda/adapters/local/sample-canary';
import type { PhaseDeps } from '../../../lambda/handlers/support/deps';
import { createLogger } from '../../../lambda/handlers/support/logger';
import { healthGate } from '../../../lambda/handlers/health-gate';

const NOW = Date.parse('2026-03-01T10:05:10Z');
const SIDES = {
  old: { loadBalancer: 'app/sy-prod/50dc6c495c0c9188', targetGroup: 'targetgroup/old-tg/73e2d6bc24d8a067' },
  new: { loadBalancer: 'app/sy-prod/50dc6c495c0c9188', targetGroup: 'targetgroup/new-tg/943f017f100becff' },
};
const OK_ALARMS = () => new StaticAlarms([{ name: 'prod-new-5xx', state: 'OK', since: new Date(0) }]);

const deps = (over: Partial<PhaseDeps> = {}) =>
  ({
    log: createLogger({}, () => undefined),
    router: new MemoryRouter({ old: 75, new: 25 }),
    alarms: OK_ALARMS(),
    defaults: {
      schedule: [5, 25, 50, 100],
      bakeSeconds: 300,
      maxCatchUpLagSeconds: 5,
      maxCatchUpMinutes: 60,
      copyConcurrency: 2,
    },
    now: () => NOW,
    ...over,
  }) as PhaseDeps;
const gate = (input: Record<string, unknown>, over: Partial<PhaseDeps> = {}) =>
  healthGate.make(() => deps(over))({ migrationId: 'm1', ...input });

/** CloudWatch answers: requests, 5xx, p50/p90/p99 in seconds per side. */
function metrics(old: [number, number, number, number, number], neu: [number, number, number, number, number]) {
  const side = (s: string, [req, err, p50, p90, p99]: number[]) => [
    { Id: `requests_${s}`, Values: [req] },
    { Id: `errors_${s}`, Values: [err] },
    { Id: `p50_${s}`, Values: [p50] },
    { Id: `p90_${s}`, Values: [p90] },
    { Id: `p99_${s}`, Values: [p99] },
    { Id: `errorrate_${s}`, Values: [req ? (100 * err) / req : 0] },
  ];
  return { MetricDataResults: [...side('old', old), ...side('new', neu)] };
}

describe('HealthGate handler with the CloudWatch canary', () => {
  const cw = mockClient(CloudWatchClient);
  beforeEach(() => cw.reset());
  const canaryMetrics = () => new CloudWatchCanaryMetrics(SIDES, new CloudWatchClient({ region: 'eu-west-1' }));

  test("GIVEN alarms OK and the new side within tolerance WHEN gated THEN healthy, both sides' figures in the output, the bake window queried", async () => {
    cw.on(GetMetricDataCommand).resolves(metrics([9000, 9, 0.012, 0.03, 0.2], [3000, 4, 0.013, 0.031, 0.21]));
    const out = await gate({ windowSeconds: 300 }, { canaryMetrics: canaryMetrics() });
    expect(out).toEqual({
      healthy: true,
      needsMoreData: false,
      reasons: [],
      alarmsChecked: 1,
      summary: 'healthy; canary pass (p99): new 3000 req, 0.133 % 5xx, p99 210 ms; old 9000 req, 0.1 % 5xx, p99 200 ms',
      canary: {
        verdict: 'pass',
        method: 'p99',
        reasons: [],
        old: { requests: 9000, errors: 9, errorRate: 0.1, p50: 12, p90: 30, p99: 200 },
        new: { requests: 3000, errors: 4, errorRate: 0.133, p50: 13, p90: 31, p99: 210 },
        limits: { maxErrorRate: 0.2, maxP99Ms: 225 },
        errorTest: expect.objectContaining({ decision: 'no-excess' }),
        window: { from: '2026-03-01T10:00:10.000Z', to: '2026-03-01T10:05:10.000Z' },
      },
    });
    const input = cw.commandCalls(GetMetricDataCommand)[0].args[0].input;
    expect(input.StartTime).toEqual(new Date('2026-03-01T10:00:00Z'));
    expect(input.EndTime).toEqual(new Date('2026-03-01T10:06:00Z'));
    expect(input.MetricDataQueries).toHaveLength(12);
    expect(input.MetricDataQueries).toContainEqual({
      Id: 'p99_new',
      MetricStat: {
        Metric: {
          Namespace: 'AWS/ApplicationELB',
          MetricName: 'TargetResponseTime',
          Dimensions: [
            { Name: 'TargetGroup', Value: SIDES.new.targetGroup },
            { Name: 'LoadBalancer', Value: SIDES.new.loadBalancer },
          ],
        },
        Period: 360,
        Stat: 'p99',
      },
      ReturnData: true,
    });
    expect(input.MetricDataQueries).toContainEqual({
      Id: 'errorrate_new',
      Expression: 'IF(requests_new > 0, 100 * FILL(errors_new, 0) / requests_new, 0)',
      Label: 'new side 5xx rate (%)',
      ReturnData: true,
    });
  });

  test('fails the gate when the new p99 is beyond old × 1.10 + 5 ms although every alarm is OK', async () => {
    cw.on(GetMetricDataCommand).resolves(metrics([9000, 9, 0.012, 0.03, 0.2], [3000, 3, 0.02, 0.1, 0.4]));
    const out = await gate({}, { canaryMetrics: canaryMetrics() });
    expect(out.healthy).toBe(false);
    expect(out.reasons).toEqual([
      'canary: latency: p99 400 ms on new vs 200 ms on old: above 1.1 × old + 5 ms = 225 ms',
    ]);
    expect(out.summary).toBe(
      'canary: latency: p99 400 ms on new vs 200 ms on old: above 1.1 × old + 5 ms = 225 ms (new 3000 req, 0.1 % 5xx, p99 400 ms; old 9000 req, 0.1 % 5xx, p99 200 ms)',
    );
    // The default window is the stage's bake (300 s).
    expect(out.canary.window).toEqual({ from: '2026-03-01T10:00:10.000Z', to: '2026-03-01T10:05:10.000Z' });
  });

  test('fails the gate when the new error rate exceeds old + the configured points', async () => {
    cw.on(GetMetricDataCommand).resolves(metrics([9000, 9, 0.012, 0.03, 0.2], [3000, 30, 0.012, 0.03, 0.2]));
    const out = await gate({ canary: { errorRatePp: 0.5 } }, { canaryMetrics: canaryMetrics() });
    expect(out.reasons).toEqual([
      expect.stringMatching(
        /^canary: error rate 1 % on new \(30 of 3000\) vs 0\.1 % on old \(9 of 9000\): more than 0\.5 pp above \(two-proportion test p = .* < 0\.01\)$/,
      ),
    ]);
  });

  test('fails the gate when an alarm is in ALARM although the canary passes (the absolute floor)', async () => {
    cw.on(GetMetricDataCommand).resolves(metrics([9000, 9, 0.012, 0.03, 0.2], [3000, 3, 0.012, 0.03, 0.2]));
    const since = new Date(NOW - 60_000);
    const out = await gate(
      {},
      { canaryMetrics: canaryMetrics(), alarms: new StaticAlarms([{ name: 'prod-new-5xx', state: 'ALARM', since }]) },
    );
    expect(out.healthy).toBe(false);
    expect(out.reasons).toEqual([`alarm prod-new-5xx is in ALARM since ${since.toISOString()}`]);
    expect(out.canary.verdict).toBe('pass');
  });

  test('fails the gate when the canary metrics cannot be read, with the reason', async () => {
    cw.on(GetMetricDataCommand).rejects(
      Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }),
    );
    const out = await gate({}, { canaryMetrics: canaryMetrics() });
    expect(out.healthy).toBe(false);
    expect(out.reasons).toEqual([
      'canary: canary metrics could not be read: AwsAccessDeniedError: cloudwatch:GetMetricData on ALB metrics of targetgroup/old-tg/73e2d6bc24d8a067 (old) and targetgroup/new-tg/943f017f100becff (new) was denied: grant the phase function cloudwatch:GetMetricData on that resource',
    ]);
  });

  test('GIVEN 100 % on the new side WHEN gated THEN the canary is skipped (no old traffic to compare) and the alarms decide', async () => {
    cw.on(GetMetricDataCommand).resolves(metrics([0, 0, 0, 0, 0], [12000, 3, 0.012, 0.03, 0.2]));
    const out = await gate({}, { canaryMetrics: canaryMetrics(), router: new MemoryRouter({ old: 0, new: 100 }) });
    expect(out.healthy).toBe(true);
    expect(out.canary).toMatchObject({
      verdict: 'skipped',
      reasons: ['the old side gets no traffic at 100 % new: no same-window comparison, the alarms decide'],
      new: { requests: 12000 },
    });
  });
});

describe('HealthGate handler with recorded samples (rank test)', () => {
  function recorded(oldMs: number, newMs: number, newErrors = 0) {
    const m = new RecordedCanaryMetrics();
    for (let i = 0; i < 400; i++) m.record('old', { at: NOW - 1000 - i, ms: oldMs + (i % 10), status: 200 });
    for (let i = 0; i < 100; i++)
      m.record('new', { at: NOW - 1000 - i, ms: newMs + (i % 10), status: i < newErrors ? 500 : 200 });
    m.record('new', { at: NOW - 120_000, ms: 10_000, status: 500 }); // outside the window: not counted
    return m;
  }

  test('GIVEN both sides alike WHEN gated THEN healthy by the rank test', async () => {
    const out = await gate({ windowSeconds: 60 }, { canaryMetrics: recorded(10, 10) });
    expect(out.healthy).toBe(true);
    expect(out.canary).toMatchObject({
      verdict: 'pass',
      method: 'rank-test',
      old: { requests: 400, errors: 0 },
      new: { requests: 100, errors: 0 },
    });
    expect(out.canary.rankTest!.p).toBeGreaterThan(0.01);
  });

  test('fails the gate when the new side is 50 ms slower (--slow-at)', async () => {
    const out = await gate({ windowSeconds: 60 }, { canaryMetrics: recorded(10, 60) });
    expect(out.healthy).toBe(false);
    expect(out.reasons[0]).toMatch(
      /^canary: latency: new is slower than old \(Mann-Whitney U one-sided p = .+ < 0\.01\) and its median 64\.5 ms is above 1\.1 × 14\.5 ms \+ 5 ms$/,
    );
    expect(out.canary.rankTest).toMatchObject({
      medianOldMs: 14.5,
      medianNewMs: 64.5,
      maxMedianNewMs: 20.95,
      alpha: 0.01,
    });
  });

  test('GIVEN a bake of 0 s (rehearsal) WHEN gated THEN the last second is read, not an input error', async () => {
    const out = await gate({ windowSeconds: 0, canary: { minRequests: 1 } }, { canaryMetrics: recorded(10, 10) });
    expect(out.canary.window).toEqual({ from: new Date(NOW - 1000).toISOString(), to: new Date(NOW).toISOString() });
    expect(out.canary).toMatchObject({ old: { requests: 1 }, new: { requests: 1 } });
  });

  test('fails the gate when a side served fewer requests than the minimum', async () => {
    const out = await gate({ windowSeconds: 60, canary: { minRequests: 150 } }, { canaryMetrics: recorded(10, 10) });
    expect(out.reasons).toEqual(['canary: new side served 100 requests in the window, fewer than the minimum 150']);
  });
});

describe('HealthGate handler without a canary source', () => {
  test('GIVEN no canary metrics wired THEN the canary is reported skipped and the alarms decide', async () => {
    const out = await gate({});
    expect(out.healthy).toBe(true);
    expect(out.canary).toMatchObject({
      verdict: 'skipped',
      reasons: ['no canary metrics source is wired: the alarms decide alone'],
    });
  });

  test('GIVEN unreadable alarms THEN unhealthy with the reason', async () => {
    const out = await gate(
      {},
      {
        alarms: {
          read: async () => {
            throw Object.assign(new Error('denied'), { name: 'AwsAccessDeniedError' });
          },
        },
      },
    );
    expect(out).toMatchObject({
      healthy: false,
      reasons: ['health alarms could not be read: AwsAccessDeniedError: denied'],
      alarmsChecked: 0,
    });
  });
});

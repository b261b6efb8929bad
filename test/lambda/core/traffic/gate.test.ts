import { decideGate } from '../../../../lambda/core/traffic/gate';
import { type CanaryVerdict, skippedCanary } from '../../../../lambda/core/verify/canary';

const side = (requests: number, errorRate: number, p99: number | null) => ({
  requests,
  errors: Math.round((requests * errorRate) / 100),
  errorRate,
  p50: null,
  p90: null,
  p99,
});
const window = { old: side(400, 0, 12), new: side(20, 0, null) };
const alarmsOk = { healthy: true, reasons: [], alarmsChecked: 3 };

describe('decideGate', () => {
  test('GIVEN alarms fine and a skipped canary WHEN decided THEN healthy, with both sides in the summary', () => {
    const d = decideGate(alarmsOk, skippedCanary(window, 'old side gets no traffic'));
    expect(d).toEqual({
      healthy: true,
      needsMoreData: false,
      reasons: [],
      summary: 'healthy; canary skipped (none): new 20 req, 0 % 5xx, p99 n/a; old 400 req, 0 % 5xx, p99 12 ms',
    });
  });

  test('GIVEN a canary failing only for too few requests WHEN decided THEN unhealthy but needs more data', () => {
    const few: CanaryVerdict = {
      ...skippedCanary(window, ''),
      verdict: 'fail',
      reasons: ['new side: 20 requests < 50'],
      insufficientData: true,
    };
    const d = decideGate(alarmsOk, few);
    expect(d).toMatchObject({ healthy: false, needsMoreData: true, reasons: ['canary: new side: 20 requests < 50'] });
    const alarm = { healthy: false, reasons: ['alarm NewSide5xx is ALARM'], alarmsChecked: 3 };
    expect(decideGate(alarm, few)).toMatchObject({ healthy: false, needsMoreData: false });
    expect(decideGate(alarm, few).summary).toMatch(
      /^alarm NewSide5xx is ALARM; canary: new side: 20 requests < 50 \(new 20/,
    );
  });
});

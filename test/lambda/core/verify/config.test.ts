import { parseStageConfig, StageConfigError } from '../../../../lib/config/stage-config';
import { canaryPolicySchema, smokeConfigSchema } from '../../../../lambda/core/verify/config';
import { minimalConfig } from '../../../lib/helpers';

const problems = (input: unknown) => {
  try {
    parseStageConfig(input);
  } catch (e) {
    expect(e).toBeInstanceOf(StageConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a StageConfigError');
};

describe('verification config (stage config and handler inputs share these schemas)', () => {
  test('GIVEN no verification section WHEN the stage config is parsed THEN one compared GET / and the default tolerances', () => {
    const cfg = parseStageConfig(minimalConfig());
    expect(cfg.verification.smoke).toEqual({
      checks: [{ name: 'root', method: 'GET', path: '/', headers: {}, expect: { status: 200, maxLatencyMs: 2000 }, ignore: [], capture: {} }],
      ignoreFields: ['requestId', 'timestamp', 'date'],
      timeoutMs: 5000,
    });
    expect(cfg.verification.canary).toEqual({ p99Ratio: 1.1, p99SlackMs: 5, errorRatePp: 0.1, minRequests: 50, alpha: 0.01 });
  });

  test('fails when a smoke check or tolerance is invalid, naming the field and the value', () => {
    const msg = problems({
      ...minimalConfig(),
      verification: {
        smoke: { checks: [{ name: 'list', path: 'messages', expect: { jsonPath: 'items' } }] },
        canary: { p99Ratio: 0.9 },
        smokeBaseUrl: 'https://user:pw@api.example.com',
      },
    });
    expect(msg).toContain('verification.smoke.checks.0.path must start with /, got: "messages"');
    expect(msg).toContain('verification.smoke.checks.0.expect.jsonPath must be a JSON path like $.items[0].id, got: "items"');
    expect(msg).toContain('verification.canary.p99Ratio must be from 1 to 10, got: 0.9');
    expect(msg).toContain('verification.smokeBaseUrl must be an http(s) URL without credentials');
  });

  test('fails when a test tenant names neither a header nor a variable', () => {
    const r = smokeConfigSchema.safeParse({ checks: [{ name: 'a', path: '/' }], testTenant: {} });
    expect(r.error!.issues.map((i) => `${i.path.join('.')} ${i.message}`)).toEqual(['testTenant must name a header or a variable']);
  });

  test('fails when a canary tolerance is out of range', () => {
    expect(canaryPolicySchema.safeParse({ minRequests: 0 }).success).toBe(false);
    expect(canaryPolicySchema.safeParse({ alpha: 0 }).success).toBe(false);
    expect(canaryPolicySchema.safeParse({ unknown: 1 }).success).toBe(false);
  });
});

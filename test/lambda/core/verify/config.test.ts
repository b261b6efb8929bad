import { parseStageConfig, StageConfigError } from '../../../../lib/config/stage-config';
import { canaryPolicySchema, smokeConfigSchema } from '../../../../lambda/core/verify/config';
import { IMPORTED_OLD, minimalConfig, ROUTE53 } from '../../../lib/helpers';

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
      checks: [
        {
          name: 'root',
          method: 'GET',
          path: '/',
          headers: {},
          expect: { status: 200, maxLatencyMs: 2000 },
          ignore: [],
          capture: {},
        },
      ],
      ignoreFields: ['requestId', 'timestamp', 'date'],
      timeoutMs: 5000,
    });
    expect(cfg.verification.canary).toEqual({
      p99Ratio: 1.1,
      p99SlackMs: 5,
      errorRatePp: 0.1,
      minRequests: 50,
      minFailures: 3,
      minLatencySamples: 20,
      errorAlpha: 0.01,
      alpha: 0.01,
    });
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
    expect(msg).toContain(
      'verification.smoke.checks.0.expect.jsonPath must be a JSON path like $.items[0].id, got: "items"',
    );
    expect(msg).toContain('verification.canary.p99Ratio must be from 1 to 10, got: 0.9');
    expect(msg).toContain('verification.smokeBaseUrl must be an http(s) URL without credentials');
  });

  test('fails when a test tenant names neither a header nor a variable', () => {
    const r = smokeConfigSchema.safeParse({ checks: [{ name: 'a', path: '/' }], testTenant: {} });
    expect(r.error!.issues.map((i) => `${i.path.join('.')} ${i.message}`)).toEqual([
      'testTenant must name a header or a variable',
    ]);
  });

  test('fails when a canary tolerance is out of range', () => {
    expect(canaryPolicySchema.safeParse({ minRequests: 0 }).success).toBe(false);
    expect(canaryPolicySchema.safeParse({ alpha: 0 }).success).toBe(false);
    expect(canaryPolicySchema.safeParse({ unknown: 1 }).success).toBe(false);
  });

  describe('verification.oldBaseUrl (where the old side answers directly)', () => {
    const imported = (verification: unknown) => ({
      ...minimalConfig(),
      oldEnvironment: IMPORTED_OLD,
      routing: { route53: ROUTE53 },
      verification,
    });

    test('GIVEN an imported old side WHEN oldBaseUrl is an http(s) URL THEN accepted, explicit compares included', () => {
      const cfg = parseStageConfig(
        imported({
          oldBaseUrl: 'http://old-alb-123.eu-west-1.elb.amazonaws.com:8080',
          smoke: { checks: [{ name: 'root', path: '/', compare: true }] },
        }),
      );
      expect(cfg.verification.oldBaseUrl).toBe('http://old-alb-123.eu-west-1.elb.amazonaws.com:8080');
    });

    test('GIVEN an imported old side without oldBaseUrl WHEN the smoke config is the default THEN accepted (read checks will be reported as not compared)', () => {
      expect(parseStageConfig(imported(undefined)).verification.oldBaseUrl).toBeUndefined();
    });

    test('fails when oldBaseUrl is not an http(s) URL or carries credentials, showing the value', () => {
      expect(problems({ ...minimalConfig(), verification: { oldBaseUrl: 'old-api.example.com' } })).toContain(
        'verification.oldBaseUrl must be an http(s) URL without credentials, like https://old-api.example.com, got: "old-api.example.com"',
      );
      expect(
        problems({ ...minimalConfig(), verification: { oldBaseUrl: 'https://user:pw@old-api.example.com' } }),
      ).toContain('verification.oldBaseUrl must be an http(s) URL without credentials');
      expect(problems({ ...minimalConfig(), verification: { oldBaseUrl: 'ftp://old-api.example.com' } })).toContain(
        'verification.oldBaseUrl must be an http(s) URL without credentials',
      );
    });

    test('fails when oldBaseUrl is the smokeBaseUrl (the new side would be compared with itself)', () => {
      expect(
        problems({
          ...minimalConfig(),
          verification: { smokeBaseUrl: 'https://api.example.com', oldBaseUrl: 'https://API.example.com/' },
        }),
      ).toContain(
        'verification.oldBaseUrl must differ from verification.smokeBaseUrl (the new side would be compared with itself), got: https://API.example.com/',
      );
    });

    test('fails when a check sets compare: true for an imported old side without oldBaseUrl, naming the check and the fix', () => {
      const msg = problems(
        imported({
          smoke: {
            checks: [
              { name: 'root', path: '/' },
              { name: 'read-message', path: '/messages/1', compare: true },
            ],
          },
        }),
      );
      expect(msg).toContain(
        'verification.smoke.checks.1.compare must not be true for check "read-message" while the old side is imported without verification.oldBaseUrl',
      );
      expect(msg).toContain(
        "set verification.oldBaseUrl to the old side's own URL to compare answers, or remove compare",
      );
      expect(msg).not.toContain('checks.0');
    });

    test('GIVEN a provisioned old side WHEN a check sets compare: true without oldBaseUrl THEN accepted (the stage listener reaches it)', () => {
      expect(() =>
        parseStageConfig({
          ...minimalConfig(),
          verification: { smoke: { checks: [{ name: 'root', path: '/', compare: true }] } },
        }),
      ).not.toThrow();
    });
  });
});

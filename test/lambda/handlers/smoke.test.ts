import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FetchHttpProbe } from '../../../lambda/adapters/http/fetch-probe';
import { ERRORS } from '../../../lambda/core/errors';
import { OLD_SIDE_IMPORTED_NOT_COMPARED, type SmokeConfigInput } from '../../../lambda/core/verify/config';
import type { HttpProbe, ProbeRequest } from '../../../lambda/core/verify/ports';
import { SIDE_HEADER, SmokeCheckFailedError } from '../../../lambda/core/verify/smoke';
import { awsDeps } from '../../../lambda/handlers/aws-wiring';
import type { PhaseDeps } from '../../../lambda/handlers/support/deps';
import { ConfigurationError, InvalidInputError } from '../../../lambda/handlers/support/input';
import { createLogger } from '../../../lambda/handlers/support/logger';
import { smoke } from '../../../lambda/handlers/smoke';

type Faults = {
  status500?: string;
  differentContent?: string /** this side is imported: its direct-access rule answers a fixed 503 */;
  imported?: boolean;
};

/**
 * A stand-in for the stage's listener: `x-switchyard-side: old|new` reaches that side's app
 * (the direct-access rules), anything else gets the listener's default 503. Both apps serve the
 * same messages; every answer carries a fresh requestId and servedAt.
 */
function startListener(
  faults: Record<'old' | 'new', Faults>,
  /** a side's own load balancer: it answers without the header */ ownSide?: 'old',
) {
  const messages = new Map<string, { id: string; conversation: string; content: string }>([
    ['7', { id: '7', conversation: '1', content: 'hello' }],
  ]);
  const requests: { side: string; method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  let n = 0;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const side = ownSide && req.headers['x-switchyard-side'] === undefined ? ownSide : req.headers['x-switchyard-side'];
    if (side !== 'old' && side !== 'new') return void res.writeHead(503).end('no direct-access rule matched');
    const body = Buffer.concat(chunks).toString();
    requests.push({ side, method: req.method!, url: req.url!, headers: req.headers, body });
    const f = faults[side];
    if (f.imported)
      return void res
        .writeHead(503, { 'content-type': 'text/plain' })
        .end('switchyard: this side is imported and keeps its own load balancer');
    const route = `${req.method} ${req.url!.replace(/\/\d+$/, '/:id')}`;
    const send = (status: number, payload?: unknown) =>
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(
          payload === undefined
            ? undefined
            : JSON.stringify({ ...(payload as object), requestId: `r${++n}`, servedAt: Date.now() + n }),
        );
    if (f.status500 === route) return void res.writeHead(500).end('{"error":"user 42 message: secret text"}');
    const id = /\/messages\/(\d+)$/.exec(req.url!)?.[1];
    if (route === 'GET /health') return send(200, { ok: true });
    if (route === 'GET /messages/:id') {
      const m = messages.get(id!);
      if (!m) return send(404, { error: 'not found' });
      return send(
        200,
        f.differentContent === route
          ? { ...m, content: m.content.toUpperCase() }
          : { content: m.content, conversation: m.conversation, id: m.id },
      );
    }
    if (route === 'POST /messages') {
      const b = JSON.parse(body) as { conversation: string; content: string };
      const newId = String(100 + messages.size);
      messages.set(newId, { id: newId, conversation: b.conversation, content: b.content });
      return send(201, { id: newId });
    }
    if (route === 'DELETE /messages/:id')
      return messages.delete(id!) ? void res.writeHead(204).end() : send(404, { error: 'not found' });
    return send(404, { error: 'no route' });
  });
  return {
    requests,
    messages,
    start: async () => {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const READS: SmokeConfigInput = {
  checks: [
    { name: 'health', path: '/health', expect: { status: 200, jsonPath: '$.ok' } },
    { name: 'get-message', path: '/messages/7', expect: { status: 200, jsonPath: '$.content' } },
  ],
  ignoreFields: ['requestId', 'servedAt'],
};

describe('Smoke handler against a local listener with direct-access rules', () => {
  let listener: ReturnType<typeof startListener>;
  let base: string;
  const logs: string[] = [];
  const deps = (over: Partial<PhaseDeps> = {}) =>
    ({ log: createLogger({}, (l) => logs.push(l)), probe: new FetchHttpProbe(base), ...over }) as PhaseDeps;
  const run = (input: unknown, over: Partial<PhaseDeps> = {}) => smoke.make(() => deps(over))(input);
  const start = async (faults: Record<'old' | 'new', Faults> = { old: {}, new: {} }) => {
    listener = startListener(faults);
    base = await listener.start();
  };
  afterEach(() => listener?.stop());
  beforeEach(() => (logs.length = 0));

  test('GIVEN both sides answer alike WHEN smoke runs THEN passes; reads go to new and old with the side header, answers compared after ignoring fields', async () => {
    await start();
    const out = await run({ migrationId: 'm1', smoke: READS });
    expect(out).toEqual({
      passed: true,
      target: base,
      old: { target: `${base} (x-switchyard-side: old)`, compared: 2, notCompared: [] },
      summary: `2 of 2 smoke checks passed; 2 compared with the old side at ${base} (x-switchyard-side: old)`,
      checks: [
        {
          name: 'health',
          method: 'GET',
          path: '/health',
          ok: true,
          status: 200,
          ms: expect.any(Number),
          compared: true,
        },
        {
          name: 'get-message',
          method: 'GET',
          path: '/messages/7',
          ok: true,
          status: 200,
          ms: expect.any(Number),
          compared: true,
        },
      ],
    });
    expect(listener.requests.map((r) => `${r.side} ${r.method} ${r.url}`).sort()).toEqual([
      'new GET /health',
      'new GET /messages/7',
      'old GET /health',
      'old GET /messages/7',
    ]);
  });

  test('fails when a new-side endpoint is broken, naming the check and never the response body', async () => {
    await start({ old: {}, new: { status500: 'GET /messages/:id' } });
    const err = await run({ migrationId: 'm1', smoke: READS }).catch((e) => e);
    expect(err).toBeInstanceOf(SmokeCheckFailedError);
    expect(err.name).toBe(ERRORS.SmokeCheckFailedError);
    expect(err.failures).toEqual([
      {
        check: 'get-message',
        reason:
          'status 500, expected 200; $.content is missing from the answer; answer differs from the old side: status: 200 on old, 500 on new',
      },
    ]);
    expect(err.message).toMatch(/^1 of 2 smoke checks failed: get-message: status 500/);
    expect(`${err.message}${logs.join('')}`).not.toMatch(/secret text|hello/);
  });

  test('fails when the new side answers differently from the old, with the field path only', async () => {
    await start({ old: {}, new: { differentContent: 'GET /messages/:id' } });
    const err = await run({ migrationId: 'm1', smoke: READS }).catch((e) => e);
    expect(err).toBeInstanceOf(SmokeCheckFailedError);
    expect(err.failures).toEqual([
      { check: 'get-message', reason: 'answer differs from the old side: $.content: differs' },
    ]);
    expect(err.message).not.toMatch(/hello|HELLO/);
  });

  test('GIVEN fields that differ on every answer WHEN not ignored THEN they fail the comparison; ignored THEN they do not', async () => {
    await start();
    const err = await run({ migrationId: 'm1', smoke: { ...READS, ignoreFields: [] } }).catch((e) => e);
    expect(err.failures.map((f: { check: string }) => f.check)).toEqual(['health', 'get-message']);
    expect(err.failures[0].reason).toBe('answer differs from the old side: $.requestId: differs, $.servedAt: differs');
    // Per-check ignore works too.
    const out = await run({
      migrationId: 'm1',
      smoke: { checks: READS.checks.map((c) => ({ ...c, ignore: ['requestId', '$.servedAt'] })), ignoreFields: [] },
    });
    expect(out.passed).toBe(true);
  });

  test('fails when a write check has no test tenant: refused before anything is sent', async () => {
    await start();
    const err = await run({
      migrationId: 'm1',
      smoke: {
        checks: [
          ...READS.checks,
          {
            name: 'create-message',
            method: 'POST',
            path: '/messages',
            body: { conversation: '1', content: 'smoke' },
            expect: { status: 201 },
          },
        ],
      },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(SmokeCheckFailedError);
    expect(err.failures).toEqual([
      {
        check: 'create-message',
        reason: 'refused: POST writes, and no testTenant is configured to receive smoke writes',
      },
    ]);
    expect(listener.requests).toEqual([]);
  });

  test('GIVEN a test tenant WHEN write checks run THEN they go to the new side only, in the tenant, and a captured id chains create -> read -> delete', async () => {
    await start();
    const out = await run({
      migrationId: 'm1',
      smoke: {
        testTenant: {
          header: { name: 'x-tenant', value: 'switchyard-smoke' },
          variable: { name: 'tenant', value: '900000001' },
        },
        ignoreFields: ['requestId', 'servedAt'],
        checks: [
          {
            name: 'create',
            method: 'POST',
            path: '/messages',
            body: { conversation: '{tenant}', content: 'smoke' },
            expect: { status: 201, jsonPath: '$.id' },
            capture: { id: '$.id' },
          },
          { name: 'read-created', path: '/messages/{id}', compare: false, expect: { status: 200, text: 'smoke' } },
          { name: 'delete', method: 'DELETE', path: '/messages/{id}', expect: { status: 204 } },
        ],
      },
    });
    expect(out.checks.map((c) => [c.name, c.ok, c.status, c.compared])).toEqual([
      ['create', true, 201, false],
      ['read-created', true, 200, false],
      ['delete', true, 204, false],
    ]);
    expect(listener.requests.map((r) => `${r.side} ${r.method} ${r.url}`)).toEqual([
      'new POST /messages',
      'new GET /messages/101',
      'new DELETE /messages/101',
    ]);
    expect(listener.requests.every((r) => r.headers['x-tenant'] === 'switchyard-smoke')).toBe(true);
    expect(JSON.parse(listener.requests[0].body)).toEqual({ conversation: '900000001', content: 'smoke' });
    expect(listener.messages.has('101')).toBe(false);
  });

  test('fails when a check is slower than its maximum latency', async () => {
    await start();
    const err = await run(
      {
        migrationId: 'm1',
        smoke: {
          checks: [{ name: 'health', path: '/health', expect: { maxLatencyMs: 1 } }],
          ignoreFields: ['requestId', 'servedAt'],
        },
      },
      {
        probe: { description: 'slow', send: async (r) => ({ ...(await new FetchHttpProbe(base).send(r)), ms: 40 }) },
      },
    ).catch((e) => e);
    expect(err.failures).toEqual([{ check: 'health', reason: 'answered in 40 ms, more than 1 ms' }]);
  });

  test('fails when the listener cannot be reached, with the probe error as the reason', async () => {
    await start();
    await listener.stop();
    const err = await run({ migrationId: 'm1', smoke: { checks: [{ name: 'health', path: '/health' }] } }).catch(
      (e) => e,
    );
    expect(err.failures).toEqual([
      { check: 'health', reason: `request failed: HttpProbeError: GET ${base}/health failed: ECONNREFUSED` },
    ]);
    listener = startListener({ old: {}, new: {} }); // afterEach stops a fresh one
    await listener.start();
  });

  test('fails with InvalidInputError on a malformed config, and ConfigurationError without a probe', async () => {
    await start();
    await expect(run({ migrationId: 'm1', smoke: { checks: [] } })).rejects.toThrow(
      new InvalidInputError('Smoke: invalid input: smoke.checks must have at least one check'),
    );
    await expect(run({ migrationId: 'm1', smoke: READS }, { probe: undefined })).rejects.toThrow(ConfigurationError);
  });
});

/** A fake entry point of one side: answers every GET with the same message, records each request. */
function fakeSide(
  description: string,
  answer: (r: ProbeRequest) => { status: number; body: unknown } = () => ({
    status: 200,
    body: { ok: true, content: 'hello', requestId: String(Math.random()) },
  }),
) {
  const sent: ProbeRequest[] = [];
  const probe: HttpProbe = {
    description,
    async send(r) {
      sent.push(r);
      const a = answer(r);
      return {
        status: a.status,
        headers: {},
        body: typeof a.body === 'string' ? a.body : JSON.stringify(a.body),
        ms: 3,
      };
    },
  };
  return { probe, sent };
}

/** The stage listener of a stage whose old side is imported: the `old` direct-access rule answers a fixed 503. */
const importedStage = () =>
  fakeSide('http://stage-alb:80', (r) =>
    r.headers[SIDE_HEADER] === 'old'
      ? { status: 503, body: 'switchyard: this side is imported' }
      : { status: 200, body: { ok: true, content: 'hello', requestId: 'n' } },
  );

describe('Smoke handler: where the old side answers (fake probes for both sides)', () => {
  const logs: string[] = [];
  const run = (input: unknown, over: Partial<PhaseDeps>) =>
    smoke.make(() => ({ log: createLogger({}, (l) => logs.push(l)), ...over }) as PhaseDeps)(input);
  const DEFAULT_ROOT = { checks: [{ name: 'root', path: '/' }] }; // the stage config's default smoke config
  beforeEach(() => (logs.length = 0));

  test('GIVEN verification.oldBaseUrl WHEN smoke runs THEN old requests go to that URL without the side header, new ones to the stage with it, and the answers are compared', async () => {
    const stage = importedStage();
    const old = fakeSide('https://old-api.example.com');
    const out = await run(
      { migrationId: 'm1', smoke: READS },
      { probe: stage.probe, oldSide: { kind: 'direct', probe: old.probe } },
    );
    expect(out.passed).toBe(true);
    expect(out.checks.map((c) => [c.name, c.compared])).toEqual([
      ['health', true],
      ['get-message', true],
    ]);
    expect(stage.sent.map((r) => `${r.headers[SIDE_HEADER]} ${r.path}`)).toEqual(['new /health', 'new /messages/7']);
    expect(old.sent.map((r) => [r.path, SIDE_HEADER in r.headers])).toEqual([
      ['/health', false],
      ['/messages/7', false],
    ]);
    expect(out.old).toEqual({ target: 'https://old-api.example.com', compared: 2, notCompared: [] });
  });

  test('GIVEN an imported old side without oldBaseUrl WHEN the default root check runs THEN the migration is not failed by the old side: passed, not compared, reported with the fix', async () => {
    const stage = importedStage();
    const out = await run(
      { migrationId: 'm1', smoke: DEFAULT_ROOT },
      { probe: stage.probe, oldSide: { kind: 'unreachable', reason: OLD_SIDE_IMPORTED_NOT_COMPARED } },
    );
    expect(out).toEqual({
      passed: true,
      target: 'http://stage-alb:80',
      old: {
        target: null,
        compared: 0,
        notCompared: ['root'],
        reason: 'old side is imported: set verification.oldBaseUrl to compare answers',
      },
      summary:
        '1 of 1 smoke checks passed; not compared with the old side: root (old side is imported: set verification.oldBaseUrl to compare answers)',
      checks: [
        {
          name: 'root',
          method: 'GET',
          path: '/',
          ok: true,
          status: 200,
          ms: 3,
          compared: false,
          reason: 'old side is imported: set verification.oldBaseUrl to compare answers',
        },
      ],
    });
    expect(stage.sent.map((r) => r.headers[SIDE_HEADER])).toEqual(['new']);
    // Visible in the log too, as a warning.
    const line = logs.map((l) => JSON.parse(l)).find((l) => /without comparing/.test(l.message));
    expect(line).toMatchObject({ level: 'WARN', old: { notCompared: ['root'] } });
  });

  test("fails when the new side fails a check of an imported-old-side stage: on the new side's answer alone", async () => {
    const stage = fakeSide('http://stage-alb:80', () => ({ status: 500, body: 'boom' }));
    const err = await run(
      { migrationId: 'm1', smoke: DEFAULT_ROOT },
      { probe: stage.probe, oldSide: { kind: 'unreachable', reason: OLD_SIDE_IMPORTED_NOT_COMPARED } },
    ).catch((e) => e);
    expect(err).toBeInstanceOf(SmokeCheckFailedError);
    expect(err.failures).toEqual([{ check: 'root', reason: 'status 500, expected 200' }]);
  });

  test('fails when a check sets compare: true but the old side cannot be reached: refused, nothing sent', async () => {
    const stage = importedStage();
    const err = await run(
      { migrationId: 'm1', smoke: { checks: [{ name: 'root', path: '/', compare: true }] } },
      { probe: stage.probe, oldSide: { kind: 'unreachable', reason: OLD_SIDE_IMPORTED_NOT_COMPARED } },
    ).catch((e) => e);
    expect(err.failures).toEqual([
      {
        check: 'root',
        reason: 'refused: compare is true, but old side is imported: set verification.oldBaseUrl to compare answers',
      },
    ]);
    expect(stage.sent).toEqual([]);
  });
});

describe('Smoke handler wired from the function environment (aws-wiring: no lookups, the synthesized variables decide)', () => {
  const ENV = {
    AWS_REGION: 'eu-west-1',
    SWITCHYARD_STAGE: 'prod',
    SOURCE_DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/old/db-AbCdEf',
    TARGET_DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/new/db-XyZabc',
    OLD_DB_ID: 'app-old-db',
    ROUTING_KIND: 'route53',
    HOSTED_ZONE_ID: 'Z0123456789ABC',
    RECORD_NAME: 'chat.example.com',
    HEALTH_ALARM_PREFIX: 'switchyard-prod-new-',
    OLD_PARAMETER_PATH: '/app/old',
    NEW_PARAMETER_PATH: '/app/new',
    OLD_SECRET_PREFIX: 'app/old',
    NEW_SECRET_PREFIX: 'app/new',
    NEW_KMS_KEY_ARN: 'arn:aws:kms:eu-west-1:111111111111:key/new-key',
  };
  let stage: ReturnType<typeof startListener>;
  let old: ReturnType<typeof startListener>;
  let stageUrl: string;
  let oldUrl: string;
  beforeEach(async () => {
    // The stage listener of an imported old side (`old` rule: fixed 503); the old side's own load balancer knows no side header.
    stage = startListener({ old: { imported: true }, new: {} });
    stageUrl = await stage.start();
    old = startListener({ old: {}, new: {} }, 'old');
    oldUrl = await old.start();
  });
  afterEach(async () => {
    await stage.stop();
    await old.stop();
  });
  const run = (env: Record<string, string>) =>
    smoke.make(() => ({ ...awsDeps({ ...ENV, ...env }), log: createLogger({}, () => undefined) }))({
      migrationId: 'm1',
      smoke: READS,
    });

  test('GIVEN SMOKE_COMPARE_OLD=false (imported, no oldBaseUrl) WHEN smoke runs THEN reads pass on the new side, reported not compared', async () => {
    const out = await run({ SMOKE_BASE_URL: stageUrl, SMOKE_COMPARE_OLD: 'false' });
    expect(out.old).toEqual({
      target: null,
      compared: 0,
      notCompared: ['health', 'get-message'],
      reason: OLD_SIDE_IMPORTED_NOT_COMPARED,
    });
    expect(stage.requests.map((r) => r.side)).toEqual(['new', 'new']);
  });

  test('GIVEN SMOKE_OLD_BASE_URL WHEN smoke runs THEN old requests reach that URL without the side header and the answers are compared', async () => {
    const out = await run({ SMOKE_BASE_URL: stageUrl, SMOKE_OLD_BASE_URL: oldUrl, SMOKE_COMPARE_OLD: 'true' });
    expect(out.old).toEqual({ target: oldUrl, compared: 2, notCompared: [] });
    expect(stage.requests.map((r) => r.side)).toEqual(['new', 'new']);
    expect(old.requests.map((r) => [r.url, r.headers[SIDE_HEADER]])).toEqual([
      ['/health', undefined],
      ['/messages/7', undefined],
    ]);
  });

  test('GIVEN neither variable (provisioned old side) WHEN smoke runs THEN old requests go through the stage listener with the old header, as before', async () => {
    const provisioned = startListener({ old: {}, new: {} });
    const url = await provisioned.start();
    try {
      const out = await run({ SMOKE_BASE_URL: url });
      expect(out.old).toEqual({ target: `${url} (x-switchyard-side: old)`, compared: 2, notCompared: [] });
    } finally {
      await provisioned.stop();
    }
  });

  test('fails when SMOKE_OLD_BASE_URL is set together with SMOKE_COMPARE_OLD=false (a contradictory deployment)', () => {
    expect(() =>
      awsDeps({ ...ENV, SMOKE_BASE_URL: 'http://a', SMOKE_OLD_BASE_URL: 'http://b', SMOKE_COMPARE_OLD: 'false' }),
    ).toThrow(ConfigurationError);
    expect(() =>
      awsDeps({ ...ENV, SMOKE_BASE_URL: 'http://a', SMOKE_OLD_BASE_URL: 'http://b', SMOKE_COMPARE_OLD: 'false' }),
    ).toThrow(/SMOKE_COMPARE_OLD must not be false when SMOKE_OLD_BASE_URL is set/);
  });
});

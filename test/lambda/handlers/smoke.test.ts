import * as http from 'http';
import type { AddressInfo } from 'net';
import { FetchHttpProbe } from '../../../lambda/adapters/http/fetch-probe';
import { ERRORS } from '../../../lambda/core/errors';
import type { SmokeConfigInput } from '../../../lambda/core/verify/config';
import { SmokeCheckFailedError } from '../../../lambda/core/verify/smoke';
import type { PhaseDeps } from '../../../lambda/handlers/support/deps';
import { ConfigurationError, InvalidInputError } from '../../../lambda/handlers/support/input';
import { createLogger } from '../../../lambda/handlers/support/logger';
import { smoke } from '../../../lambda/handlers/smoke';

type Faults = { status500?: string; differentContent?: string };

/**
 * A stand-in for the stage's listener: `x-switchyard-side: old|new` reaches that side's app
 * (the direct-access rules), anything else gets the listener's default 503. Both apps serve the
 * same messages; every answer carries a fresh requestId and servedAt.
 */
function startListener(faults: Record<'old' | 'new', Faults>) {
  const messages = new Map<string, { id: string; conversation: string; content: string }>([['7', { id: '7', conversation: '1', content: 'hello' }]]);
  const requests: { side: string; method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  let n = 0;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const side = req.headers['x-switchyard-side'];
    if (side !== 'old' && side !== 'new') return void res.writeHead(503).end('no direct-access rule matched');
    const body = Buffer.concat(chunks).toString();
    requests.push({ side, method: req.method!, url: req.url!, headers: req.headers, body });
    const f = faults[side];
    const route = `${req.method} ${req.url!.replace(/\/\d+$/, '/:id')}`;
    const send = (status: number, payload?: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(payload === undefined ? undefined : JSON.stringify({ ...(payload as object), requestId: `r${++n}`, servedAt: Date.now() + n }));
    if (f.status500 === route) return void res.writeHead(500).end('{"error":"user 42 message: secret text"}');
    const id = /\/messages\/(\d+)$/.exec(req.url!)?.[1];
    if (route === 'GET /health') return send(200, { ok: true });
    if (route === 'GET /messages/:id') {
      const m = messages.get(id!);
      if (!m) return send(404, { error: 'not found' });
      return send(200, f.differentContent === route ? { ...m, content: m.content.toUpperCase() } : { content: m.content, conversation: m.conversation, id: m.id });
    }
    if (route === 'POST /messages') {
      const b = JSON.parse(body) as { conversation: string; content: string };
      const newId = String(100 + messages.size);
      messages.set(newId, { id: newId, conversation: b.conversation, content: b.content });
      return send(201, { id: newId });
    }
    if (route === 'DELETE /messages/:id') return messages.delete(id!) ? void res.writeHead(204).end() : send(404, { error: 'not found' });
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
  const deps = (over: Partial<PhaseDeps> = {}) => ({ log: createLogger({}, (l) => logs.push(l)), probe: new FetchHttpProbe(base), ...over }) as PhaseDeps;
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
      checks: [
        { name: 'health', method: 'GET', path: '/health', ok: true, status: 200, ms: expect.any(Number), compared: true },
        { name: 'get-message', method: 'GET', path: '/messages/7', ok: true, status: 200, ms: expect.any(Number), compared: true },
      ],
    });
    expect(listener.requests.map((r) => `${r.side} ${r.method} ${r.url}`).sort()).toEqual(['new GET /health', 'new GET /messages/7', 'old GET /health', 'old GET /messages/7']);
  });

  test('fails when a new-side endpoint is broken, naming the check and never the response body', async () => {
    await start({ old: {}, new: { status500: 'GET /messages/:id' } });
    const err = await run({ migrationId: 'm1', smoke: READS }).catch((e) => e);
    expect(err).toBeInstanceOf(SmokeCheckFailedError);
    expect(err.name).toBe(ERRORS.SmokeCheckFailedError);
    expect(err.failures).toEqual([
      { check: 'get-message', reason: 'status 500, expected 200; $.content is missing from the answer; answer differs from the old side: status: 200 on old, 500 on new' },
    ]);
    expect(err.message).toMatch(/^1 of 2 smoke checks failed: get-message: status 500/);
    expect(`${err.message}${logs.join('')}`).not.toMatch(/secret text|hello/);
  });

  test('fails when the new side answers differently from the old, with the field path only', async () => {
    await start({ old: {}, new: { differentContent: 'GET /messages/:id' } });
    const err = await run({ migrationId: 'm1', smoke: READS }).catch((e) => e);
    expect(err).toBeInstanceOf(SmokeCheckFailedError);
    expect(err.failures).toEqual([{ check: 'get-message', reason: 'answer differs from the old side: $.content: differs' }]);
    expect(err.message).not.toMatch(/hello|HELLO/);
  });

  test('GIVEN fields that differ on every answer WHEN not ignored THEN they fail the comparison; ignored THEN they do not', async () => {
    await start();
    const err = await run({ migrationId: 'm1', smoke: { ...READS, ignoreFields: [] } }).catch((e) => e);
    expect(err.failures.map((f: { check: string }) => f.check)).toEqual(['health', 'get-message']);
    expect(err.failures[0].reason).toBe('answer differs from the old side: $.requestId: differs, $.servedAt: differs');
    // Per-check ignore works too.
    const out = await run({ migrationId: 'm1', smoke: { checks: READS.checks.map((c) => ({ ...c, ignore: ['requestId', '$.servedAt'] })), ignoreFields: [] } });
    expect(out.passed).toBe(true);
  });

  test('fails when a write check has no test tenant: refused before anything is sent', async () => {
    await start();
    const err = await run({
      migrationId: 'm1',
      smoke: { checks: [...READS.checks, { name: 'create-message', method: 'POST', path: '/messages', body: { conversation: '1', content: 'smoke' }, expect: { status: 201 } }] },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(SmokeCheckFailedError);
    expect(err.failures).toEqual([{ check: 'create-message', reason: 'refused: POST writes, and no testTenant is configured to receive smoke writes' }]);
    expect(listener.requests).toEqual([]);
  });

  test('GIVEN a test tenant WHEN write checks run THEN they go to the new side only, in the tenant, and a captured id chains create -> read -> delete', async () => {
    await start();
    const out = await run({
      migrationId: 'm1',
      smoke: {
        testTenant: { header: { name: 'x-tenant', value: 'switchyard-smoke' }, variable: { name: 'tenant', value: '900000001' } },
        ignoreFields: ['requestId', 'servedAt'],
        checks: [
          { name: 'create', method: 'POST', path: '/messages', body: { conversation: '{tenant}', content: 'smoke' }, expect: { status: 201, jsonPath: '$.id' }, capture: { id: '$.id' } },
          { name: 'read-created', path: '/messages/{id}', compare: false, expect: { status: 200, text: 'smoke' } },
          { name: 'delete', method: 'DELETE', path: '/messages/{id}', expect: { status: 204 } },
        ],
      },
    });
    expect(out.checks.map((c) => [c.name, c.ok, c.status, c.compared])).toEqual([['create', true, 201, false], ['read-created', true, 200, false], ['delete', true, 204, false]]);
    expect(listener.requests.map((r) => `${r.side} ${r.method} ${r.url}`)).toEqual(['new POST /messages', 'new GET /messages/101', 'new DELETE /messages/101']);
    expect(listener.requests.every((r) => r.headers['x-tenant'] === 'switchyard-smoke')).toBe(true);
    expect(JSON.parse(listener.requests[0].body)).toEqual({ conversation: '900000001', content: 'smoke' });
    expect(listener.messages.has('101')).toBe(false);
  });

  test('fails when a check is slower than its maximum latency', async () => {
    await start();
    const err = await run({ migrationId: 'm1', smoke: { checks: [{ name: 'health', path: '/health', expect: { maxLatencyMs: 1 } }], ignoreFields: ['requestId', 'servedAt'] } }, {
      probe: { description: 'slow', send: async (r) => ({ ...(await new FetchHttpProbe(base).send(r)), ms: 40 }) },
    }).catch((e) => e);
    expect(err.failures).toEqual([{ check: 'health', reason: 'answered in 40 ms, more than 1 ms' }]);
  });

  test('fails when the listener cannot be reached, with the probe error as the reason', async () => {
    await start();
    await listener.stop();
    const err = await run({ migrationId: 'm1', smoke: { checks: [{ name: 'health', path: '/health' }] } }).catch((e) => e);
    expect(err.failures).toEqual([{ check: 'health', reason: `request failed: HttpProbeError: GET ${base}/health failed: ECONNREFUSED` }]);
    listener = startListener({ old: {}, new: {} }); // afterEach stops a fresh one
    await listener.start();
  });

  test('fails with InvalidInputError on a malformed config, and ConfigurationError without a probe', async () => {
    await start();
    await expect(run({ migrationId: 'm1', smoke: { checks: [] } })).rejects.toThrow(new InvalidInputError('Smoke: invalid input: smoke.checks must have at least one check'));
    await expect(run({ migrationId: 'm1', smoke: READS }, { probe: undefined })).rejects.toThrow(ConfigurationError);
  });
});

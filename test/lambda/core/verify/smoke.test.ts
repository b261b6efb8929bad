import { smokeConfigSchema, type SmokeConfigInput } from '../../../../lambda/core/verify/config';
import type { HttpProbe, ProbeRequest } from '../../../../lambda/core/verify/ports';
import { refusals, runSmokeChecks, SIDE_HEADER } from '../../../../lambda/core/verify/smoke';

const config = (c: SmokeConfigInput) => smokeConfigSchema.parse(c);

/** A probe answering from a table of `side method path` -> [status, body]. */
function tableProbe(answers: Record<string, [number, unknown]>): HttpProbe & { sent: ProbeRequest[] } {
  const sent: ProbeRequest[] = [];
  return {
    description: 'table',
    sent,
    async send(r) {
      sent.push(r);
      const a = answers[`${r.headers[SIDE_HEADER]} ${r.method} ${r.path}`];
      if (!a) return { status: 404, headers: {}, body: '', ms: 1 };
      return { status: a[0], headers: {}, body: JSON.stringify(a[1]), ms: 1 };
    },
  };
}

describe('refusals', () => {
  test('GIVEN a tenant by variable only WHEN a write does not use it THEN refused', () => {
    const c = config({ testTenant: { variable: { name: 'tenant', value: '9' } }, checks: [{ name: 'w', method: 'PATCH', path: '/messages/1', body: { content: 'x' } }] });
    expect(refusals(c)).toEqual([{ check: 'w', reason: 'refused: PATCH does not address the test tenant (use {tenant} in its path or body)' }]);
  });

  test('GIVEN a variable nothing defines, or defined only by a later capture THEN refused', () => {
    const c = config({ checks: [{ name: 'a', path: '/m/{id}' }, { name: 'b', path: '/m', capture: { id: '$.id' } }] });
    expect(refusals(c)).toEqual([{ check: 'a', reason: 'uses {id}, which neither the test tenant nor an earlier check\'s capture defines' }]);
  });

  test('GIVEN reads only and no tenant THEN nothing refused', () => {
    expect(refusals(config({ checks: [{ name: 'a', path: '/health' }, { name: 'b', method: 'HEAD', path: '/' }] }))).toEqual([]);
  });

  test('fails config validation when check names repeat', () => {
    const r = smokeConfigSchema.safeParse({ checks: [{ name: 'a', path: '/' }, { name: 'a', path: '/x' }] });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ['checks', 1, 'name'], message: 'must be unique, got: a' });
  });
});

describe('runSmokeChecks', () => {
  test('GIVEN a create that fails WHEN later checks need its captured id THEN they are skipped with the reason, not sent', async () => {
    const probe = tableProbe({ 'new POST /messages': [500, { error: 'x' }] });
    const r = await runSmokeChecks(
      config({
        testTenant: { header: { name: 'x-tenant', value: 'smoke' } },
        checks: [
          { name: 'create', method: 'POST', path: '/messages', body: { content: 's' }, expect: { status: 201 }, capture: { id: '$.id' } },
          { name: 'delete', method: 'DELETE', path: '/messages/{id}', expect: { status: 204 } },
        ],
      }),
      probe,
    );
    expect(r.passed).toBe(false);
    expect(r.failures).toEqual([
      { check: 'create', reason: 'status 500, expected 201; cannot capture $.id from the answer' },
      { check: 'delete', reason: 'skipped: needs {id} from create, which failed' },
    ]);
    expect(probe.sent.map((s) => `${s.method} ${s.path}`)).toEqual(['POST /messages']);
    expect(probe.sent[0].headers).toEqual({ 'x-tenant': 'smoke', 'content-type': 'application/json', [SIDE_HEADER]: 'new' });
  });

  test('GIVEN a captured value with special characters WHEN used in a path THEN it is URL-encoded', async () => {
    const probe = tableProbe({ 'new POST /items': [201, { id: 'a/b c' }], 'new GET /items/a%2Fb%20c': [200, { ok: 1 }] });
    const r = await runSmokeChecks(
      config({
        testTenant: { header: { name: 'x-tenant', value: 'smoke' } },
        checks: [
          { name: 'create', method: 'POST', path: '/items', expect: { status: 201 }, capture: { id: '$.id' } },
          { name: 'read', path: '/items/{id}', compare: false },
        ],
      }),
      probe,
    );
    expect(r.failures).toEqual([]);
  });
});

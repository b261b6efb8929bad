import {
  OLD_SIDE_IMPORTED_NOT_COMPARED,
  smokeConfigSchema,
  type SmokeConfigInput,
} from '../../../../lambda/core/verify/config';
import type { HttpProbe, OldSideAccess, ProbeRequest } from '../../../../lambda/core/verify/ports';
import { refusals, runSmokeChecks, SIDE_HEADER, smokeSummary } from '../../../../lambda/core/verify/smoke';

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
    const c = config({
      testTenant: { variable: { name: 'tenant', value: '9' } },
      checks: [{ name: 'w', method: 'PATCH', path: '/messages/1', body: { content: 'x' } }],
    });
    expect(refusals(c)).toEqual([
      { check: 'w', reason: 'refused: PATCH does not address the test tenant (use {tenant} in its path or body)' },
    ]);
  });

  test('GIVEN a variable nothing defines, or defined only by a later capture THEN refused', () => {
    const c = config({
      checks: [
        { name: 'a', path: '/m/{id}' },
        { name: 'b', path: '/m', capture: { id: '$.id' } },
      ],
    });
    expect(refusals(c)).toEqual([
      { check: 'a', reason: "uses {id}, which neither the test tenant nor an earlier check's capture defines" },
    ]);
  });

  test('GIVEN reads only and no tenant THEN nothing refused', () => {
    expect(
      refusals(
        config({
          checks: [
            { name: 'a', path: '/health' },
            { name: 'b', method: 'HEAD', path: '/' },
          ],
        }),
      ),
    ).toEqual([]);
  });

  test('fails config validation when check names repeat', () => {
    const r = smokeConfigSchema.safeParse({
      checks: [
        { name: 'a', path: '/' },
        { name: 'a', path: '/x' },
      ],
    });
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
          {
            name: 'create',
            method: 'POST',
            path: '/messages',
            body: { content: 's' },
            expect: { status: 201 },
            capture: { id: '$.id' },
          },
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
    expect(probe.sent[0].headers).toEqual({
      'x-tenant': 'smoke',
      'content-type': 'application/json',
      [SIDE_HEADER]: 'new',
    });
  });

  test('GIVEN a captured value with special characters WHEN used in a path THEN it is URL-encoded', async () => {
    const probe = tableProbe({
      'new POST /items': [201, { id: 'a/b c' }],
      'new GET /items/a%2Fb%20c': [200, { ok: 1 }],
    });
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

describe('runSmokeChecks: where the old side answers', () => {
  /** A fake entry point: records every request and answers `{ content }` for any path (the side named by `label` when no header names one). */
  function sideProbe(
    description: string,
    label: string,
    content: Record<string, string> = { new: 'hello', old: 'hello', direct: 'hello' },
  ): HttpProbe & { sent: ProbeRequest[] } {
    const sent: ProbeRequest[] = [];
    return {
      description,
      sent,
      async send(r) {
        sent.push(r);
        const side = r.headers[SIDE_HEADER] ?? label;
        if (side === 'old' && label === 'stage')
          return { status: 503, headers: {}, body: 'switchyard: this side is imported', ms: 1 };
        return { status: 200, headers: {}, body: JSON.stringify({ content: content[side], requestId: side }), ms: 1 };
      },
    };
  }
  const READS = config({
    testTenant: { header: { name: 'x-tenant', value: 'smoke' } },
    checks: [
      { name: 'root', path: '/' },
      { name: 'message', path: '/messages/7', headers: { 'X-Switchyard-Side': 'old' } },
    ],
    ignoreFields: ['requestId'],
  });

  test('GIVEN verification.oldBaseUrl (a direct old side) WHEN reads run THEN old requests go to the old probe without the side header, new ones to the stage with it, and answers are compared', async () => {
    const stage = sideProbe('http://stage-alb:80', 'stage');
    const oldDirect = sideProbe('https://old-api.example.com', 'direct');
    const r = await runSmokeChecks(READS, stage, { kind: 'direct', probe: oldDirect });
    expect(r.failures).toEqual([]);
    expect(r.checks.map((c) => [c.name, c.ok, c.compared, c.reason])).toEqual([
      ['root', true, true, undefined],
      ['message', true, true, undefined],
    ]);
    expect(stage.sent.map((q) => `${q.headers[SIDE_HEADER]} ${q.path}`)).toEqual(['new /', 'new /messages/7']);
    expect(oldDirect.sent.map((q) => q.path)).toEqual(['/', '/messages/7']);
    // No side header at the old side's own entry point (not even one a check sets itself); the tenant header still goes.
    for (const q of oldDirect.sent) expect(q.headers).toEqual({ 'x-tenant': 'smoke' });
    expect(r.old).toEqual({ target: 'https://old-api.example.com', compared: 2, notCompared: [] });
    expect(smokeSummary(r)).toBe(
      '2 of 2 smoke checks passed; 2 compared with the old side at https://old-api.example.com',
    );
  });

  test("fails when the old side's own URL answers differently, naming the field only", async () => {
    const stage = sideProbe('http://stage-alb:80', 'stage');
    const oldDirect = sideProbe('https://old-api.example.com', 'direct', { new: 'hello', direct: 'HELLO' });
    const r = await runSmokeChecks(
      config({ checks: [{ name: 'root', path: '/' }], ignoreFields: ['requestId'] }),
      stage,
      { kind: 'direct', probe: oldDirect },
    );
    expect(r.failures).toEqual([{ check: 'root', reason: 'answer differs from the old side: $.content: differs' }]);
  });

  test('GIVEN an imported old side without oldBaseUrl WHEN reads run THEN they run on the new side only, pass, and are reported not compared with the fix', async () => {
    const stage = sideProbe('http://stage-alb:80', 'stage');
    const unreachable: OldSideAccess = { kind: 'unreachable', reason: OLD_SIDE_IMPORTED_NOT_COMPARED };
    const r = await runSmokeChecks(
      config({
        testTenant: { header: { name: 'x-tenant', value: 'smoke' } },
        checks: [
          { name: 'root', path: '/' },
          { name: 'create', method: 'POST', path: '/messages', expect: { status: 200 } },
        ],
      }),
      stage,
      unreachable,
    );
    expect(r.passed).toBe(true);
    expect(stage.sent.map((q) => `${q.headers[SIDE_HEADER]} ${q.method} ${q.path}`)).toEqual([
      'new GET /',
      'new POST /messages',
    ]);
    expect(r.checks.map((c) => [c.name, c.ok, c.compared, c.reason])).toEqual([
      ['root', true, false, 'old side is imported: set verification.oldBaseUrl to compare answers'],
      ['create', true, false, undefined], // a write never compares by default: nothing missing
    ]);
    expect(r.old).toEqual({ target: null, compared: 0, notCompared: ['root'], reason: OLD_SIDE_IMPORTED_NOT_COMPARED });
    expect(smokeSummary(r)).toBe(
      '2 of 2 smoke checks passed; not compared with the old side: root (old side is imported: set verification.oldBaseUrl to compare answers)',
    );
  });

  test("GIVEN an imported old side without oldBaseUrl WHEN a read fails on the new side THEN the check fails on that alone, not on the old side's 503", async () => {
    const stage: HttpProbe = {
      description: 'stage',
      send: async () => ({ status: 500, headers: {}, body: '', ms: 1 }),
    };
    const r = await runSmokeChecks(config({ checks: [{ name: 'root', path: '/' }] }), stage, {
      kind: 'unreachable',
      reason: OLD_SIDE_IMPORTED_NOT_COMPARED,
    });
    expect(r.failures).toEqual([{ check: 'root', reason: 'status 500, expected 200' }]);
    expect(smokeSummary(r)).toBe(
      '1 of 1 smoke checks failed; not compared with the old side: root (old side is imported: set verification.oldBaseUrl to compare answers)',
    );
  });

  test('fails when a check sets compare: true and the old side cannot be reached: refused before anything is sent', async () => {
    const stage = sideProbe('http://stage-alb:80', 'stage');
    const r = await runSmokeChecks(
      config({
        checks: [
          { name: 'root', path: '/', compare: true },
          { name: 'health', path: '/health' },
        ],
      }),
      stage,
      { kind: 'unreachable', reason: OLD_SIDE_IMPORTED_NOT_COMPARED },
    );
    expect(r.failures).toEqual([
      {
        check: 'root',
        reason: 'refused: compare is true, but old side is imported: set verification.oldBaseUrl to compare answers',
      },
    ]);
    expect(stage.sent).toEqual([]);
  });

  test("GIVEN the listener (default) WHEN an imported side's rule answers 503 THEN the comparison fails: the safe direction, unchanged", async () => {
    const stage = sideProbe('http://stage-alb:80', 'stage');
    const r = await runSmokeChecks(config({ checks: [{ name: 'root', path: '/' }] }), stage);
    expect(r.failures).toEqual([
      { check: 'root', reason: 'answer differs from the old side: status: 503 on old, 200 on new' },
    ]);
    expect(r.old).toEqual({ target: 'http://stage-alb:80 (x-switchyard-side: old)', compared: 1, notCompared: [] });
  });
});

import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FetchHttpProbe, HttpProbeError } from '../../../../lambda/adapters/http/fetch-probe';

describe('FetchHttpProbe against a local HTTP server', () => {
  let server: http.Server;
  let base: string;
  const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    server = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 500);
      if (req.url === '/redirect') return void res.writeHead(302, { location: '/elsewhere' }).end();
      res
        .writeHead(201, { 'content-type': 'application/json', 'X-Request-Id': 'r-1' })
        .end(JSON.stringify({ ok: true }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => (seen.length = 0));

  test('GIVEN a request WHEN sent THEN method, path, headers and body arrive, and status, headers, body and time come back', async () => {
    const probe = new FetchHttpProbe(`${base}/`);
    const r = await probe.send({
      method: 'POST',
      path: '/messages?x=1',
      headers: { 'x-switchyard-side': 'new', 'content-type': 'application/json' },
      body: '{"a":1}',
      timeoutMs: 2000,
    });
    expect(r).toMatchObject({ status: 201, body: '{"ok":true}' });
    expect(r.headers['x-request-id']).toBe('r-1');
    expect(r.ms).toBeGreaterThan(0);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/messages?x=1', body: '{"a":1}' });
    expect(seen[0].headers['x-switchyard-side']).toBe('new');
    expect(probe.description).toBe(base);
  });

  test('GIVEN a redirect THEN its status is the answer (not followed)', async () => {
    const r = await new FetchHttpProbe(base).send({ method: 'GET', path: '/redirect', headers: {}, timeoutMs: 2000 });
    expect(r.status).toBe(302);
    expect(seen).toHaveLength(1);
  });

  test('fails with HttpProbeError when the answer takes longer than the timeout', async () => {
    const err = await new FetchHttpProbe(base)
      .send({ method: 'GET', path: '/slow', headers: {}, timeoutMs: 100 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(HttpProbeError);
    expect(err.message).toBe(`GET ${base}/slow got no answer within 100 ms`);
  });

  test('fails with HttpProbeError naming the cause when nothing listens', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await new FetchHttpProbe(`http://127.0.0.1:${port}`)
      .send({ method: 'GET', path: '/health', headers: {}, timeoutMs: 2000 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(HttpProbeError);
    expect(err.message).toBe(`GET http://127.0.0.1:${port}/health failed: ECONNREFUSED`);
  });

  test('fails when the base URL is not http(s) or carries credentials', () => {
    expect(() => new FetchHttpProbe('ftp://x')).toThrow('the smoke base URL must be http or https, got: ftp:');
    expect(() => new FetchHttpProbe('http://u:p@x')).toThrow('the smoke base URL must not carry credentials');
    expect(() => new FetchHttpProbe('not a url')).toThrow(
      'the smoke base URL must be an absolute http(s) URL, got: not a url',
    );
  });
});

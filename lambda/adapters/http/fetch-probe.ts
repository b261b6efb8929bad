import { ERRORS, SwitchyardError } from '../../core/errors';
import type { HttpProbe, ProbeRequest, ProbeResponse } from '../../core/verify/ports';

/** A smoke request got no HTTP answer: timeout, refused or reset connection, DNS failure. */
export class HttpProbeError extends SwitchyardError {
  readonly name = ERRORS.HttpProbeError;
}

export interface FetchHttpProbeOptions {
  /** Bodies longer than this are cut (smoke answers are small; comparisons then see the cut body). @default 1 MiB */
  readonly maxBodyBytes?: number;
}

/**
 * The HTTP probe over Node's fetch (undici): one request to `baseUrl` + path. Not AWS-specific:
 * the Lambda sends through the stage's ALB listener, the rehearsal through its local router.
 * Redirects are not followed (a check sees the status the service answered).
 */
export class FetchHttpProbe implements HttpProbe {
  public readonly description: string;
  private readonly base: URL;
  private readonly maxBodyBytes: number;

  constructor(baseUrl: string, opts: FetchHttpProbeOptions = {}) {
    let u: URL;
    try {
      u = new URL(baseUrl);
    } catch {
      throw new HttpProbeError(`the smoke base URL must be an absolute http(s) URL, got: ${baseUrl}`);
    }
    if (!/^https?:$/.test(u.protocol))
      throw new HttpProbeError(`the smoke base URL must be http or https, got: ${u.protocol}`);
    if (u.username || u.password) throw new HttpProbeError('the smoke base URL must not carry credentials');
    this.base = u;
    this.description = u.origin + u.pathname.replace(/\/$/, '');
    this.maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;
  }

  async send(request: ProbeRequest): Promise<ProbeResponse> {
    const url = new URL(this.base.pathname.replace(/\/$/, '') + request.path, this.base);
    const what = `${request.method} ${this.description}${request.path.split('?')[0]}`;
    const t0 = performance.now();
    let res: Response;
    let raw: ArrayBuffer;
    try {
      res = await fetch(url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      raw = await res.arrayBuffer();
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      if (err.name === 'TimeoutError' || err.name === 'AbortError')
        throw new HttpProbeError(`${what} got no answer within ${request.timeoutMs} ms`);
      throw new HttpProbeError(`${what} failed: ${err.cause?.code ?? err.message}`);
    }
    const ms = performance.now() - t0;
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k.toLowerCase()] = v;
    });
    const body = new TextDecoder().decode(raw.byteLength > this.maxBodyBytes ? raw.slice(0, this.maxBodyBytes) : raw);
    return { status: res.status, headers, body, ms };
  }
}

/** Errors worth retrying: throttling and transient service faults (by AWS error name or HTTP status). */
export function isRetryable(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown } | undefined;
  if (!err) return false;
  if (err.$retryable) return true;
  if (/Throttl|TooManyRequests|RequestLimitExceeded|Rate exceeded|PriorRequestNotComplete|ServiceUnavailable|InternalFailure|InternalError|RequestTimeout/i.test(err.name ?? '')) return true;
  const status = err.$metadata?.httpStatusCode;
  return status === 429 || (status !== undefined && status >= 500);
}

export interface RetryOptions {
  /** @default 4 */
  readonly attempts?: number;
  /** @default 200 */
  readonly baseDelayMs?: number;
  /** Injected for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Run `fn`, retrying retryable errors with exponential backoff and full jitter. */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 4;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= attempts || !isRetryable(e)) throw e;
      await sleep(Math.random() * (opts.baseDelayMs ?? 200) * 2 ** attempt);
    }
  }
}

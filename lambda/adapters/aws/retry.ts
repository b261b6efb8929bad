/**
 * The one retry layer for AWS calls is the SDK's own (standard retry mode: exponential backoff
 * with jitter on throttling, transient and 5xx errors, with a retry-token bucket). Adapters do not
 * wrap SDK calls in a second loop: that multiplied attempts (4 × 3 = 12 sends for one call) and
 * hid throttling for minutes. Every client is built with {@link AWS_CLIENT_CONFIG}; when the SDK
 * gives up, `call()` turns the last throttling/transient error into `AwsThrottledError`, a named
 * error the state machines may retry later.
 *
 * Polling (snapshot status, Route53 INSYNC) is a wait on a state change, not a retry, and lives in
 * the state machines' Wait loops or the adapter that waits.
 */

/** Attempts per SDK call (first send included). The SDK default is 3; phases run minutes, so allow a little more. */
export const AWS_MAX_ATTEMPTS = 5;

/** Client configuration for every AWS SDK v3 client: only retry settings; endpoint, region and credentials stay the SDK's defaults. */
export const AWS_CLIENT_CONFIG = { maxAttempts: AWS_MAX_ATTEMPTS, retryMode: 'standard' } as const;

/** Errors the SDK treats as retryable (throttling and transient service faults), by AWS error name or HTTP status. */
export function isRetryable(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown } | undefined;
  if (!err) return false;
  if (err.$retryable) return true;
  if (
    /Throttl|TooManyRequests|RequestLimitExceeded|Rate exceeded|PriorRequestNotComplete|ServiceUnavailable|InternalFailure|InternalError|RequestTimeout/i.test(
      err.name ?? '',
    )
  )
    return true;
  const status = err.$metadata?.httpStatusCode;
  return status === 429 || (status !== undefined && status >= 500);
}

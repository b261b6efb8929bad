import { ERRORS, SwitchyardError } from '../../core/errors';
import { AWS_MAX_ATTEMPTS, isRetryable } from './retry';

/** An AWS call was refused for lack of permission; names the action and resource, never a value. */
export class AwsAccessDeniedError extends SwitchyardError {
  readonly name = ERRORS.AwsAccessDeniedError;
}

/** A resource the phase needs does not exist (secret, parameter, alarm, rule, snapshot). */
export class AwsResourceNotFoundError extends SwitchyardError {
  readonly name = ERRORS.AwsResourceNotFoundError;
}

/** AWS kept throttling (or failing transiently) after the SDK's own retries: retry the phase later. */
export class AwsThrottledError extends SwitchyardError {
  readonly name = ERRORS.AwsThrottledError;
}

const isAccessDenied = (e: unknown) =>
  /AccessDenied|UnauthorizedOperation|AuthorizationError|NotAuthorized/i.test((e as { name?: string })?.name ?? '');

/** Translate SDK errors into named errors a person can act on. */
export function mapAwsError(e: unknown, action: string, resource: string): never {
  if (isAccessDenied(e)) {
    throw new AwsAccessDeniedError(
      `${action} on ${resource} was denied: grant the phase function ${action} on that resource`,
    );
  }
  if (isRetryable(e)) {
    throw new AwsThrottledError(
      `${action} on ${resource} still failed with ${(e as { name?: string }).name ?? 'a transient error'} after ` +
        `the SDK's ${AWS_MAX_ATTEMPTS} attempts: retry the phase later, or raise the service quota`,
      { cause: e },
    );
  }
  throw e;
}

/** Run one AWS call (the SDK retries it), mapping access-denied and exhausted retries into named errors. */
export async function call<T>(action: string, resource: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    return mapAwsError(e, action, resource);
  }
}

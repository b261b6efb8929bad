import { ERRORS, SwitchyardError } from '../../core/errors';
/** An AWS call was refused for lack of permission; names the action and resource, never a value. */
export class AwsAccessDeniedError extends SwitchyardError {
  readonly name = ERRORS.AwsAccessDeniedError;
}

/** A resource the phase needs does not exist (secret, parameter, alarm, rule, snapshot). */
export class AwsResourceNotFoundError extends SwitchyardError {
  readonly name = ERRORS.AwsResourceNotFoundError;
}

const isAccessDenied = (e: unknown) => /AccessDenied|UnauthorizedOperation|AuthorizationError|NotAuthorized/i.test((e as { name?: string })?.name ?? '');

/** Translate SDK errors into named errors a person can act on. */
export function mapAwsError(e: unknown, action: string, resource: string): never {
  if (isAccessDenied(e)) {
    throw new AwsAccessDeniedError(`${action} on ${resource} was denied: grant the phase function ${action} on that resource`);
  }
  throw e;
}

/** Run an AWS call, mapping access-denied into AwsAccessDeniedError. */
export async function call<T>(action: string, resource: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    return mapAwsError(e, action, resource);
  }
}

import { z } from 'zod';
import { ERRORS, SwitchyardError } from '../../core/errors';

/** The state input of a phase is malformed; never retried (the Step Functions retry policy excludes it). */
export class InvalidInputError extends SwitchyardError {
  readonly name = ERRORS.InvalidInputError;
}

/** The function's environment is misconfigured (a deploy problem, not an input problem). */
export class ConfigurationError extends SwitchyardError {
  readonly name = ERRORS.ConfigurationError;
}

/** Longest migration id: it names the execution (Step Functions: 80), the snapshot and the restored RDS instance (63, with a hash when longer). */
export const MIGRATION_ID_MAX = 63;

export const migrationId = z
  .string()
  .max(
    MIGRATION_ID_MAX,
    `must be at most ${MIGRATION_ID_MAX} characters (it names the Step Functions execution, the snapshot and the restored RDS instance)`,
  )
  // Single dashes only: RDS identifiers forbid "--" and a trailing dash, and normalizing them would make two ids share one snapshot.
  .regex(
    /^[a-z0-9]+(-[a-z0-9]+)*$/,
    'must be lowercase letters, digits and single dashes, starting and ending with a letter or digit',
  );

/** Parse a handler's input; the error names every bad field and its problem, never a value. */
export function parseInput<T extends z.ZodTypeAny>(schema: T, event: unknown, phase: string): z.output<T> {
  const r = schema.safeParse(event);
  if (r.success) return r.data;
  throw new InvalidInputError(
    `${phase}: invalid input: ${r.error.issues.map((i) => `${i.path.join('.') || '(input)'} ${i.message}`).join('; ')}`,
  );
}

/** Read the function's non-secret settings from its environment. */
export function parseEnv<T extends z.ZodTypeAny>(schema: T, env: NodeJS.ProcessEnv = process.env): z.output<T> {
  const r = schema.safeParse(env);
  if (r.success) return r.data;
  throw new ConfigurationError(
    `function environment is incomplete: ${r.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
  );
}

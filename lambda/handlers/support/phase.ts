import type { z } from 'zod';
import type { PhaseName } from '../../phases';
import { type DepsFactory, once, type PhaseDeps } from './deps';
import { parseInput } from './input';
import type { LambdaContextFields } from './logger';
import { DatabaseUnreachableError, isTransientDbError, redactDbError, redactedReason } from '../../engine/errors';
import { ERRORS } from '../../core/errors';

/**
 * A connection lost or refused mid-phase (server restart, failover, network) surfaces from the
 * driver as a plain error; named DatabaseUnreachableError it is retried by the state machine
 * (retry class `transient-db`). Named errors pass through unchanged.
 */
function nameTransient(e: unknown, phase: string): unknown {
  const name = (e as Error | undefined)?.name;
  if (name && (Object.values(ERRORS) as string[]).includes(name)) return e;
  redactDbError(e);
  return isTransientDbError(e)
    ? new DatabaseUnreachableError(`${phase}: the database connection failed: ${redactedReason(e)}`, { cause: e })
    : e;
}

/** The Lambda context fields a phase uses (the rehearsal and tests pass fewer or none). */
export interface InvocationContext extends Partial<LambdaContextFields> {
  getRemainingTimeInMillis?(): number;
}

export type PhaseHandler<I, O> = (event: I, context?: InvocationContext) => Promise<O>;

/** A phase's handler code, not yet bound to deps: the Lambda entry binds it to AWS, the rehearsal and tests to local adapters. */
export interface DefinedPhase<O = unknown> {
  readonly name: PhaseName;
  make(factory: DepsFactory): PhaseHandler<unknown, O>;
}

/** The phase name with a capital first letter: the label in log lines and error messages. */
function label(name: PhaseName): string {
  return name[0].toUpperCase() + name.slice(1);
}

/**
 * A thin phase handler: validate the input, get the deps, run the phase with a
 * logger bound to the phase, the migration id and the request id, log the outcome
 * (names and counts only), and flush the phase's metrics once, whatever the outcome.
 */
export function definePhase<S extends z.ZodTypeAny, O>(
  name: PhaseName,
  schema: S,
  run: (input: z.output<S>, deps: PhaseDeps, context?: InvocationContext) => Promise<O>,
): DefinedPhase<O> {
  const phase = label(name);
  const make = (factory: DepsFactory): PhaseHandler<unknown, O> => {
    const getDeps = once(factory);
    return async (event, context) => {
      const input = parseInput(schema, event, phase);
      const base = await getDeps();
      const log = base.log.child({ phase, migrationId: (input as { migrationId?: string }).migrationId });
      if (context?.awsRequestId) log.addContext(context as LambdaContextFields);
      const deps: PhaseDeps = { ...base, log };
      const t0 = Date.now();
      try {
        const out = await run(input, deps, context);
        log.info(`${phase} done`, { ms: Date.now() - t0 });
        return out;
      } catch (caught) {
        const e = nameTransient(caught, phase);
        log.error(`${phase} failed`, { error: (e as Error).name, reason: (e as Error).message, ms: Date.now() - t0 });
        throw e;
      } finally {
        log.flushMetrics();
      }
    };
  };
  return { name, make };
}

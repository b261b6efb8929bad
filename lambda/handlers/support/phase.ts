import type { z } from 'zod';
import type { PhaseName } from '../../phases';
import { DepsFactory, once, PhaseDeps } from './deps';
import { parseInput } from './input';

/** The Lambda context fields a phase uses. */
export interface InvocationContext {
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
 * logger bound to the migration id, log the outcome (names and counts only).
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
      const deps: PhaseDeps = { ...base, log };
      const t0 = Date.now();
      try {
        const out = await run(input, deps, context);
        log.info(`${phase} done`, { ms: Date.now() - t0 });
        return out;
      } catch (e) {
        log.error(`${phase} failed`, { error: (e as Error).name, reason: (e as Error).message, ms: Date.now() - t0 });
        throw e;
      }
    };
  };
  return { name, make };
}

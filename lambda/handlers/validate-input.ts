import { z } from 'zod';
import { identifierProblems } from '../core/backup/snapshot';
import {
  BAKE_SECONDS,
  bounded,
  COPY_CONCURRENCY,
  MAX_CATCH_UP_LAG_SECONDS,
  MAX_CATCH_UP_MINUTES,
  SCHEDULE,
} from '../core/limits';
import { pauseAtProblem } from '../core/traffic/pause';
import { getSpec } from '../engine/specs';
import { assertSchedule } from '../core/traffic/weights';
import { InvalidInputError, migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';

/**
 * The Migrate execution input (README: "Start a migration"). Everything but the
 * migration id is optional and defaults to the stage configuration. Limits come from
 * lambda/core/limits.ts, the same ones the stage config enforces at synth.
 */
export const executionInputSchema = z
  .object({
    migrationId,
    dryRun: z.boolean().default(false),
    schedule: z.array(z.number().int()).optional(),
    /** Range checked in the handler: below BAKE_SECONDS.min only where the stage's own default is (a rehearsal). */
    bakeSeconds: bounded({ min: BAKE_SECONDS.overrideMin, max: Number.MAX_SAFE_INTEGER }, ' seconds').optional(),
    maxCatchUpLagSeconds: bounded(MAX_CATCH_UP_LAG_SECONDS, ' seconds', false).optional(),
    maxCatchUpMinutes: bounded(MAX_CATCH_UP_MINUTES, ' minutes').optional(),
    copyConcurrency: bounded(COPY_CONCURRENCY).optional(),
    /** Steps (weights of the schedule) that hold for the operator after their gate passed; [] pauses nowhere. */
    pauseAt: z
      .array(bounded({ min: SCHEDULE.minStep, max: SCHEDULE.maxStep }, ' percent'))
      .max(SCHEDULE.maxSteps, { error: `must have at most ${SCHEDULE.maxSteps} steps` })
      .optional(),
  })
  .strict();

/** First state: validate the execution input and resolve defaults; a malformed input changes nothing. */
export const validateInput = definePhase(PHASE.validateInput, executionInputSchema, async (i, deps) => {
  // Identifiers derived from the id (snapshot, restored instance, execution name) must fit AWS's limits before anything is created.
  const tooLong = identifierProblems(deps.stage, deps.oldDbId, i.migrationId);
  if (tooLong.length) throw new InvalidInputError(`ValidateInput: invalid input: ${tooLong.join('; ')}`);
  const schedule = i.schedule ?? deps.defaults.schedule;
  try {
    assertSchedule(schedule);
  } catch (e) {
    throw new InvalidInputError(
      `ValidateInput: invalid input: schedule ${(e as Error).message.replace(/^schedule /, '')}`,
    );
  }
  // A bake shorter than one CloudWatch period gives the health gate nothing to judge: refused, unless the
  // stage itself bakes shorter (the local rehearsal's stage bakes for 0 s).
  const minBake = Math.min(BAKE_SECONDS.min, deps.defaults.bakeSeconds);
  if (i.bakeSeconds !== undefined && (i.bakeSeconds < minBake || i.bakeSeconds > BAKE_SECONDS.max)) {
    throw new InvalidInputError(
      `ValidateInput: invalid input: bakeSeconds must be a whole number between ${minBake} and ${BAKE_SECONDS.max} seconds ` +
        `(one CloudWatch period, so the health gate sees the step), got: ${i.bakeSeconds}`,
    );
  }
  // A pause at a weight the schedule never sets would never hold: refused, not ignored.
  const pauseAt = i.pauseAt ?? (deps.defaults.pauseAt ?? []).filter((w) => schedule.includes(w));
  const pauseProblem = pauseAtProblem(pauseAt, schedule);
  if (pauseProblem) throw new InvalidInputError(`ValidateInput: invalid input: pauseAt ${pauseProblem}`);
  const spec = getSpec(deps.specName);
  return {
    migrationId: i.migrationId,
    dryRun: i.dryRun,
    schedule,
    bakeSeconds: i.bakeSeconds ?? deps.defaults.bakeSeconds,
    maxCatchUpLagSeconds: i.maxCatchUpLagSeconds ?? deps.defaults.maxCatchUpLagSeconds,
    maxCatchUpMinutes: i.maxCatchUpMinutes ?? deps.defaults.maxCatchUpMinutes,
    copyConcurrency: i.copyConcurrency ?? deps.defaults.copyConcurrency,
    pauseAt,
    specName: spec.name,
    tables: spec.tables.map((t) => t.name),
  };
});

import { z } from 'zod';
import { identifierProblems } from '../core/backup/snapshot';
import { BAKE_SECONDS, COPY_CONCURRENCY, MAX_CATCH_UP_LAG_SECONDS, MAX_CATCH_UP_MINUTES } from '../core/limits';
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
    bakeSeconds: z.number().int().min(BAKE_SECONDS.overrideMin).max(BAKE_SECONDS.max).optional(),
    maxCatchUpLagSeconds: z.number().min(MAX_CATCH_UP_LAG_SECONDS.min).max(MAX_CATCH_UP_LAG_SECONDS.max).optional(),
    maxCatchUpMinutes: z.number().int().min(MAX_CATCH_UP_MINUTES.min).max(MAX_CATCH_UP_MINUTES.max).optional(),
    copyConcurrency: z.number().int().min(COPY_CONCURRENCY.min).max(COPY_CONCURRENCY.max).optional(),
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
  const spec = getSpec(deps.specName);
  return {
    migrationId: i.migrationId,
    dryRun: i.dryRun,
    schedule,
    bakeSeconds: i.bakeSeconds ?? deps.defaults.bakeSeconds,
    maxCatchUpLagSeconds: i.maxCatchUpLagSeconds ?? deps.defaults.maxCatchUpLagSeconds,
    maxCatchUpMinutes: i.maxCatchUpMinutes ?? deps.defaults.maxCatchUpMinutes,
    copyConcurrency: i.copyConcurrency ?? deps.defaults.copyConcurrency,
    specName: spec.name,
    tables: spec.tables.map((t) => t.name),
  };
});

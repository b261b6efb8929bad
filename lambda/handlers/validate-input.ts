import { z } from 'zod';
import { getSpec } from '../engine/specs';
import { assertSchedule } from '../core/traffic/weights';
import { InvalidInputError, migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';

/**
 * The Migrate execution input (README: "Start a migration"). Everything but the
 * migration id is optional and defaults to the stage configuration.
 */
export const executionInputSchema = z
  .object({
    migrationId,
    dryRun: z.boolean().default(false),
    schedule: z.array(z.number().int()).optional(),
    bakeSeconds: z.number().int().min(0).max(86_400).optional(),
    maxCatchUpLagSeconds: z.number().min(0).max(3_600).optional(),
    copyConcurrency: z.number().int().min(1).max(16).optional(),
  })
  .strict();

/** First state: validate the execution input and resolve defaults; a malformed input changes nothing. */
export const validateInput = definePhase(PHASE.validateInput, executionInputSchema, async (i, deps) => {
  const schedule = i.schedule ?? deps.defaults.schedule;
  try {
    assertSchedule(schedule);
  } catch (e) {
    throw new InvalidInputError(`ValidateInput: invalid input: schedule ${(e as Error).message.replace(/^schedule /, '')}`);
  }
  const spec = getSpec(deps.specName);
  return {
    migrationId: i.migrationId,
    dryRun: i.dryRun,
    schedule,
    bakeSeconds: i.bakeSeconds ?? deps.defaults.bakeSeconds,
    maxCatchUpLagSeconds: i.maxCatchUpLagSeconds ?? deps.defaults.maxCatchUpLagSeconds,
    copyConcurrency: i.copyConcurrency ?? deps.defaults.copyConcurrency,
    specName: spec.name,
    tables: spec.tables.map((t) => t.name),
  };
});


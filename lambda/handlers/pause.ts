import { z } from 'zod';
import { bounded, PAUSE_SECONDS, SCHEDULE } from '../core/limits';
import { METRIC } from '../core/metrics';
import { holdStep } from '../core/traffic/pause';
import { PHASE } from '../phases';
import { ConfigurationError, migrationId } from './support/input';
import { definePhase } from './support/phase';

const pauseInput = z
  .object({
    migrationId,
    executionId: z.string().min(1),
    /** `$$.Task.Token`: answered by `switchyard resume|abort` (SendTaskSuccess / SendTaskFailure). */
    taskToken: z.string().min(1).max(2048),
    weight: z.number().int().min(SCHEDULE.minStep).max(SCHEDULE.maxStep),
    healthy: z.boolean(),
    /** The gate's summary (figures and alarm names only), kept with the token for the operator. */
    summary: z.string().optional(),
    maxPauseSeconds: bounded(PAUSE_SECONDS, ' seconds'),
  })
  .strict();

/**
 * Migrate holds a traffic step (`.waitForTaskToken`): record the token with the step's figures
 * where the operator's resume or abort finds it (lock table item `pause#<stage>#<migration id>`),
 * and show the pause on the dashboard. The execution waits until the token is answered or the
 * state's timeout (`maxPauseSeconds`) rolls the traffic back.
 */
export const pause = definePhase(PHASE.pause, pauseInput, async (i, deps) => {
  if (!deps.pauses) throw new ConfigurationError('Pause: no pause store is wired (LOCK_TABLE_NAME is not set)');
  const record = holdStep({ ...i, stage: deps.stage }, new Date(deps.now()));
  await deps.pauses.record(record);
  deps.log.metric(METRIC.pausedAtWeight, i.weight, 'Percent');
  deps.log.info('paused', { weight: i.weight, healthy: i.healthy, expiresAt: record.expiresAt.toISOString() });
  return { paused: true, weight: i.weight, expiresAt: record.expiresAt.toISOString() };
});

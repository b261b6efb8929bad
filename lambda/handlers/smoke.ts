import { z } from 'zod';
import { smokeConfigSchema } from '../core/verify/config';
import { runSmokeChecks, SmokeCheckFailedError } from '../core/verify/smoke';
import { PHASE } from '../phases';
import { ConfigurationError, migrationId } from './support/input';
import { definePhase } from './support/phase';

/**
 * Smoke: the stage's configured HTTP checks against the new side through the direct-access rule,
 * read answers compared with the old side's, before any traffic moves. Input: `{ migrationId, smoke }`
 * (`smoke` is the stage config's `verification.smoke`, put in the task payload by the state machine).
 * Any failed or refused check ends the migration with SmokeCheckFailedError naming each check.
 */
export const smoke = definePhase(PHASE.smoke, z.object({ migrationId, smoke: smokeConfigSchema }), async (i, deps) => {
  if (!deps.probe) throw new ConfigurationError('Smoke: no HTTP probe is wired (the function needs SMOKE_BASE_URL)');
  const report = await runSmokeChecks(i.smoke, deps.probe);
  const summary = { target: deps.probe.description, checks: report.checks.length, failed: report.failures.length };
  if (!report.passed) {
    deps.log.warn('smoke checks failed', { ...summary, failures: report.failures });
    throw new SmokeCheckFailedError(report.failures, report.checks.length);
  }
  deps.log.info('smoke checks passed', summary);
  return { passed: true as const, target: deps.probe.description, checks: report.checks };
});

import { z } from 'zod';
import { smokeConfigSchema } from '../core/verify/config';
import { OLD_SIDE_VIA_LISTENER, runSmokeChecks, SmokeCheckFailedError, smokeSummary } from '../core/verify/smoke';
import { PHASE } from '../phases';
import { ConfigurationError, migrationId } from './support/input';
import { definePhase } from './support/phase';

/**
 * Smoke: the stage's configured HTTP checks against the new side through the direct-access rule,
 * read answers compared with the old side's (through the stage listener, or the old side's own
 * entry point when `verification.oldBaseUrl` is set), before any traffic moves. Input:
 * `{ migrationId, smoke }` (`smoke` is the stage config's `verification.smoke`, put in the task
 * payload by the state machine). Any failed or refused check ends the migration with
 * SmokeCheckFailedError naming each check. Read checks the old side could not answer (an imported
 * old side without `oldBaseUrl`) are named in the output's `old.notCompared` and `summary`, with the fix.
 */
export const smoke = definePhase(PHASE.smoke, z.object({ migrationId, smoke: smokeConfigSchema }), async (i, deps) => {
  if (!deps.probe) throw new ConfigurationError('Smoke: no HTTP probe is wired (the function needs SMOKE_BASE_URL)');
  const report = await runSmokeChecks(i.smoke, deps.probe, deps.oldSide ?? OLD_SIDE_VIA_LISTENER);
  const summary = smokeSummary(report);
  const logged = {
    target: deps.probe.description,
    old: report.old,
    checks: report.checks.length,
    failed: report.failures.length,
    summary,
  };
  if (!report.passed) {
    deps.log.warn('smoke checks failed', { ...logged, failures: report.failures });
    throw new SmokeCheckFailedError(report.failures, report.checks.length);
  }
  if (report.old.notCompared.length)
    deps.log.warn('smoke checks passed without comparing read answers with the old side', logged);
  else deps.log.info('smoke checks passed', logged);
  return { passed: true as const, target: deps.probe.description, old: report.old, summary, checks: report.checks };
});

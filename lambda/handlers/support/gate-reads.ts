/**
 * What the health gate reads through its ports, each read turned into a decision input: figures
 * that cannot be read gate nothing (unhealthy, or a failed canary, with the reason).
 */
import type { z } from 'zod';
import { describeError } from '../../core/errors';
import { decideHealth, type HealthDecision, type HealthPolicy } from '../../core/traffic/health';
import { type CanaryVerdict, decideCanary, skippedCanary } from '../../core/verify/canary';
import type { canaryPolicySchema } from '../../core/verify/config';
import type { CanaryWindow, SideWindow } from '../../core/verify/ports';
import type { PhaseDeps } from './deps';

const NO_TRAFFIC: SideWindow = { requests: 0, errors: 0, errorRate: 0, p50: null, p90: null, p99: null };
const EMPTY: CanaryWindow = { old: NO_TRAFFIC, new: NO_TRAFFIC };

/** The alarms' decision; an alarm that cannot be read gates nothing: unhealthy, with the reason. */
export async function readAlarms(deps: PhaseDeps, policy: HealthPolicy, now: Date): Promise<HealthDecision> {
  try {
    return decideHealth(await deps.alarms.read(), policy, now);
  } catch (e) {
    return { healthy: false, reasons: [`health alarms could not be read: ${describeError(e)}`], alarmsChecked: 0 };
  }
}

/** The canary part: new vs old over the bake window that just ended. */
export async function judgeCanary(
  deps: PhaseDeps,
  fromMs: number,
  toMs: number,
  policy: z.output<typeof canaryPolicySchema>,
): Promise<CanaryVerdict> {
  if (!deps.canaryMetrics) return skippedCanary(EMPTY, 'no canary metrics source is wired: the alarms decide alone');
  let window: CanaryWindow;
  let oldWeight: number;
  try {
    oldWeight = (await deps.router.getWeights()).old;
  } catch (e) {
    return {
      ...decideCanary(EMPTY, policy),
      verdict: 'fail',
      reasons: [`weights could not be read: ${describeError(e)}`],
    };
  }
  try {
    window = await deps.canaryMetrics.window(fromMs, toMs);
  } catch (e) {
    // Figures that cannot be read gate nothing: fail, with the reason.
    return {
      ...decideCanary(EMPTY, policy),
      verdict: 'fail',
      reasons: [`canary metrics could not be read: ${describeError(e)}`],
    };
  }
  if (oldWeight === 0)
    return skippedCanary(
      window,
      'the old side gets no traffic at 100 % new: no same-window comparison, the alarms decide',
    );
  return decideCanary(window, policy);
}

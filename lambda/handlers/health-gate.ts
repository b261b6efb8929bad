import { z } from 'zod';
import { decideCanary, skippedCanary, type CanaryVerdict } from '../core/verify/canary';
import { canaryPolicySchema, DEFAULT_CANARY_POLICY } from '../core/verify/config';
import type { CanaryWindow, SideWindow } from '../core/verify/ports';
import { decideHealth, type HealthDecision } from '../core/traffic/health';
import { describeError } from '../core/errors';
import { BAKE_SECONDS, MAX_BAKE_EXTENSIONS } from '../core/limits';
import { METRIC } from '../core/metrics';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import type { PhaseDeps } from './support/deps';
import { definePhase } from './support/phase';

const NO_TRAFFIC: SideWindow = { requests: 0, errors: 0, errorRate: 0, p50: null, p90: null, p99: null };
const EMPTY: CanaryWindow = { old: NO_TRAFFIC, new: NO_TRAFFIC };

export type GateCanary = CanaryVerdict & { readonly window: { readonly from: string; readonly to: string } };

/** The canary part: new vs old over the bake window that just ended. */
async function judgeCanary(
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

const fmt = (v: number | null) => (v === null ? 'n/a' : `${v} ms`);

/**
 * The health gate after each bake. Healthy = the new side's alarms are fine (the absolute floor)
 * AND the canary comparison passes: the new side's error rate and latency within the configured
 * tolerance of the old side's over the same window (`windowSeconds`, default the stage's bake).
 * Unhealthy is a result (for the Healthy? Choice), not an error. The output carries both sides'
 * figures for the execution output and the notification.
 */
export const healthGate = definePhase(
  PHASE.healthGate,
  z.object({
    migrationId,
    insufficientDataGraceSeconds: z.number().int().min(0).default(300),
    /** The window compared: the last this-many seconds (every bake of the step; 0 reads the last second). @default - the stage's bake seconds */
    windowSeconds: z
      .number()
      .int()
      .min(0)
      .max(BAKE_SECONDS.max * (1 + MAX_BAKE_EXTENSIONS))
      .optional(),
    /** Tolerances of the new side against the old (the stage config's `verification.canary`). */
    canary: canaryPolicySchema.default(DEFAULT_CANARY_POLICY),
  }),
  async (i, deps) => {
    const toMs = deps.now();
    const fromMs = toMs - Math.max(1, i.windowSeconds ?? deps.defaults.bakeSeconds) * 1000;
    let alarms: HealthDecision;
    try {
      alarms = decideHealth(
        await deps.alarms.read(),
        { insufficientDataGraceSeconds: i.insufficientDataGraceSeconds },
        new Date(toMs),
      );
    } catch (e) {
      // An alarm that cannot be read gates nothing: unhealthy, with the reason.
      alarms = { healthy: false, reasons: [`health alarms could not be read: ${describeError(e)}`], alarmsChecked: 0 };
    }
    const verdict = await judgeCanary(deps, fromMs, toMs, i.canary);
    const canary: GateCanary = {
      ...verdict,
      window: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
    };
    const reasons = [
      ...alarms.reasons,
      ...(verdict.verdict === 'fail' ? verdict.reasons.map((r) => `canary: ${r}`) : []),
    ];
    const healthy = reasons.length === 0;
    const figures =
      `new ${verdict.new.requests} req, ${verdict.new.errorRate} % 5xx, p99 ${fmt(verdict.new.p99)}; old ` +
      `${verdict.old.requests} req, ${verdict.old.errorRate} % 5xx, p99 ${fmt(verdict.old.p99)}`;
    const summary = healthy
      ? `healthy; canary ${verdict.verdict} (${verdict.method}): ${figures}`
      : `${reasons.join('; ')} (${figures})`;
    deps.log.metric(METRIC.canaryNewErrorRate, verdict.new.errorRate, 'Percent');
    deps.log.metric(METRIC.canaryOldErrorRate, verdict.old.errorRate, 'Percent');
    // Nothing wrong was seen, there was only too little traffic to compare: Migrate bakes longer (a bounded number of times) before it decides.
    const needsMoreData = !healthy && alarms.healthy && verdict.insufficientData === true;
    if (!healthy)
      deps.log.warn('health gate unhealthy', {
        reasons,
        needsMoreData,
        canary: { verdict: verdict.verdict, old: verdict.old, new: verdict.new },
      });
    return { healthy, needsMoreData, reasons, summary, alarmsChecked: alarms.alarmsChecked, canary };
  },
);

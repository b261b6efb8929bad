import { z } from 'zod';
import type { CanaryVerdict } from '../core/verify/canary';
import { canaryPolicySchema, DEFAULT_CANARY_POLICY } from '../core/verify/config';
import { decideGate } from '../core/traffic/gate';
import { BAKE_SECONDS, MAX_BAKE_EXTENSIONS } from '../core/limits';
import { METRIC } from '../core/metrics';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { judgeCanary, readAlarms } from './support/gate-reads';
import { definePhase } from './support/phase';

export type GateCanary = CanaryVerdict & { readonly window: { readonly from: string; readonly to: string } };

/**
 * The health gate after each bake: the alarms and the canary read through the ports
 * (support/gate-reads.ts), one pure decision (core/traffic/gate.ts). Healthy = the new side's alarms are fine (the absolute floor)
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
    const grace = { insufficientDataGraceSeconds: i.insufficientDataGraceSeconds };
    const alarms = await readAlarms(deps, grace, new Date(toMs));
    const verdict = await judgeCanary(deps, fromMs, toMs, i.canary);
    const canary: GateCanary = {
      ...verdict,
      window: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
    };
    const { healthy, needsMoreData, reasons, summary } = decideGate(alarms, verdict);
    deps.log.metric(METRIC.canaryNewErrorRate, verdict.new.errorRate, 'Percent');
    deps.log.metric(METRIC.canaryOldErrorRate, verdict.old.errorRate, 'Percent');
    if (!healthy)
      deps.log.warn('health gate unhealthy', {
        reasons,
        needsMoreData,
        canary: { verdict: verdict.verdict, old: verdict.old, new: verdict.new },
      });
    return { healthy, needsMoreData, reasons, summary, alarmsChecked: alarms.alarmsChecked, canary };
  },
);

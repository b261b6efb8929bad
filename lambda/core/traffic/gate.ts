import type { CanaryVerdict } from '../verify/canary';
import type { HealthDecision } from './health';

/** The health gate's verdict on one bake: the alarms (absolute floor) and the canary together. */
export interface GateDecision {
  readonly healthy: boolean;
  /** Nothing wrong was seen, only too little traffic to compare: bake longer (a bounded number of times) before deciding. */
  readonly needsMoreData: boolean;
  readonly reasons: string[];
  /** One line with both sides' figures, for the execution output and the notification. */
  readonly summary: string;
}

const fmt = (v: number | null) => (v === null ? 'n/a' : `${v} ms`);

/** Healthy = every alarm fine AND the canary did not fail; the reasons of both otherwise. */
export function decideGate(alarms: HealthDecision, verdict: CanaryVerdict): GateDecision {
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
  const needsMoreData = !healthy && alarms.healthy && verdict.insufficientData === true;
  return { healthy, needsMoreData, reasons, summary };
}

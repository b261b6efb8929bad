/** The state of one alarm as read from the monitoring system. */
export interface AlarmState {
  readonly name: string;
  readonly state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  /** When the alarm entered its current state. */
  readonly since: Date;
}

export interface HealthDecision {
  readonly healthy: boolean;
  /** Why it is unhealthy; empty when healthy. Alarm names only, never metric data. */
  readonly reasons: readonly string[];
  readonly alarmsChecked: number;
}

export interface HealthPolicy {
  /** Alarms that must exist (by name). Missing ones are unhealthy: an alarm that cannot be read gates nothing. */
  readonly required?: readonly string[];
  /** How long INSUFFICIENT_DATA is tolerated (new alarms, quiet metrics). @default 300 */
  readonly insufficientDataGraceSeconds?: number;
  /** No alarm at all is unhealthy unless this is true. @default false */
  readonly allowNoAlarms?: boolean;
}

/**
 * The health gate's decision: any ALARM, any INSUFFICIENT_DATA older than the
 * grace period, any required alarm missing, or no alarm at all = unhealthy.
 */
export function decideHealth(alarms: readonly AlarmState[], policy: HealthPolicy, now: Date): HealthDecision {
  const reasons: string[] = [];
  const grace = (policy.insufficientDataGraceSeconds ?? 300) * 1000;
  const seen = new Set(alarms.map((a) => a.name));
  for (const name of policy.required ?? [])
    if (!seen.has(name)) reasons.push(`alarm ${name} does not exist or cannot be read`);
  if (!alarms.length && !policy.allowNoAlarms) reasons.push('no health alarms found: the gate would pass blind');
  for (const a of alarms) {
    if (a.state === 'ALARM') reasons.push(`alarm ${a.name} is in ALARM since ${a.since.toISOString()}`);
    else if (a.state === 'INSUFFICIENT_DATA' && now.getTime() - a.since.getTime() > grace) {
      reasons.push(`alarm ${a.name} has had INSUFFICIENT_DATA for more than ${grace / 1000} s`);
    }
  }
  return { healthy: reasons.length === 0, reasons, alarmsChecked: alarms.length };
}

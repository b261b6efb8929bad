/**
 * How long after the weights moved back to old the new side may still take a write: connections
 * already open to the new target group (the ALB lets them finish within its deregistration delay),
 * clients resolving the name within the Route53 TTL, and the longest request started just before.
 */
export interface SettleInputs {
  readonly deregistrationSeconds: number;
  /** Route53 weighted routing: the record TTL. @default - none (ALB weights only) */
  readonly dnsTtlSeconds?: number;
  readonly longestRequestSeconds: number;
}

/** The settle window of a traffic rollback, in seconds: the slowest path to the new side, plus the longest request. */
export function rollbackSettleSeconds(s: SettleInputs): number {
  return Math.max(s.deregistrationSeconds, s.dnsTtlSeconds ?? 0) + s.longestRequestSeconds;
}

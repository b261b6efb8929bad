/** Which side of the migration a request or a figure belongs to. */
export type Side = 'old' | 'new';

/**
 * The header that reaches one side directly, outside the weights (`x-switchyard-side: old|new`):
 * the stage listener's direct-access rules match it (lib/constructs/service-environment.ts), the
 * smoke checks send it, the rehearsal's router honours it and names the side that answered with it.
 */
export const SIDE_HEADER = 'x-switchyard-side';

/** One HTTP request of a smoke check, already resolved (variables replaced, side header set). */
export interface ProbeRequest {
  readonly method: string;
  /** Path and query, e.g. `/messages/7`; the probe holds the base URL (the stage's listener). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Serialized body, or none. */
  readonly body?: string;
  readonly timeoutMs: number;
}

/** The answer to one probe request; `ms` is the time to the full body. */
export interface ProbeResponse {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly ms: number;
}

/**
 * Sends smoke requests through the stage's entry point (the ALB listener in AWS, the local router
 * in the rehearsal). A timeout or connection failure rejects; any HTTP status resolves.
 */
export interface HttpProbe {
  /** A label for results and errors, e.g. the base URL (never credentials). */
  readonly description: string;
  send(request: ProbeRequest): Promise<ProbeResponse>;
}

/**
 * How the Smoke phase reaches the old side to compare answers, decided at synth from the stage
 * config (the handler looks nothing up):
 * - `listener`: the stage's entry point with `x-switchyard-side: old` (a provisioned old side);
 * - `direct`: the old side's own entry point (`verification.oldBaseUrl`), without the side header;
 * - `unreachable`: not at all (an imported old side without `oldBaseUrl`): checks run against the
 *   new side only, read checks are reported as not compared with `reason` (which names the fix).
 */
export type OldSideAccess =
  | { readonly kind: 'listener' }
  | { readonly kind: 'direct'; readonly probe: HttpProbe }
  | { readonly kind: 'unreachable'; readonly reason: string };

/** What one side served in a window; latencies in milliseconds, `null` when the side served nothing. */
export interface SideFigures {
  readonly requests: number;
  /** 5xx answers of the side's targets. */
  readonly errors: number;
  /** Percent of requests that were errors (0 when there were no requests). */
  readonly errorRate: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

/** Figures of one side, with every request's latency where the source has them (the rehearsal). */
export type SideWindow = SideFigures & { readonly samples?: readonly number[] };

/** Both sides over the same window. */
export interface CanaryWindow {
  readonly old: SideWindow;
  readonly new: SideWindow;
}

/** Where the canary gate reads both sides' figures (CloudWatch ALB metrics, or recorded samples locally). */
export interface CanaryMetrics {
  readonly description: string;
  /** Figures of both sides between `fromMs` and `toMs` (epoch milliseconds). */
  window(fromMs: number, toMs: number): Promise<CanaryWindow>;
}

/**
 * The catch-up after the copy, before any traffic moves: the state machine drains again until the
 * lag is below `maxLagSeconds`, and gives up (SyncLagError) once `minutes` have passed since the
 * first drain's start without getting there. Nothing moved and nothing is lost when it gives up.
 * Pure: the Sync handler passes the drain's figures.
 */

export interface CatchUpPolicy {
  readonly maxLagSeconds: number;
  readonly minutes: number;
  /** The first drain's own start (ISO), returned by it as `catchUpStartedAt`. @default - this drain's start */
  readonly startedAt?: string;
}

/** What one drain reached. Counts, positions and lag only. */
export interface DrainFigures {
  readonly direction: 'forward' | 'reverse';
  /** The drain reached the position it was asked for. */
  readonly done: boolean;
  readonly lagSeconds: number;
  readonly lagBytes: number;
  readonly sourceLsn: string;
  /** Changes this round applied. */
  readonly changes: number;
}

export interface CatchUpDecision {
  /** When the catch-up started: passed back to the next drain. */
  readonly startedAt: string;
  /** Why to give up (the SyncLagError message); absent while there is time left or once caught up. */
  readonly giveUp?: string;
}

export function decideCatchUp(
  policy: CatchUpPolicy,
  drain: DrainFigures,
  drainStartedAt: number,
  now: number,
): CatchUpDecision {
  const startedAt = policy.startedAt ?? new Date(drainStartedAt).toISOString();
  const minutes = (now - Date.parse(startedAt)) / 60_000;
  const caughtUp = drain.done && drain.lagSeconds <= policy.maxLagSeconds;
  if (caughtUp || minutes < policy.minutes) return { startedAt };
  return {
    startedAt,
    giveUp:
      `CatchUp: the ${drain.direction} sync has not caught up after ${Math.floor(minutes)} min (limit ${policy.minutes}): ` +
      `lag ${drain.lagSeconds.toFixed(1)} s (${drain.lagBytes} bytes behind ${drain.sourceLsn}), ` +
      `maximum ${policy.maxLagSeconds} s; this round applied ${drain.changes} changes. ` +
      'The source takes writes faster than the sync applies them. No traffic moved and nothing was lost: ' +
      'rerun in a quieter window, raise maxCatchUpMinutes or maxCatchUpLagSeconds, or give the new database more capacity',
  };
}

/**
 * What the run tells the walsender: standby status updates whose write and flush positions are
 * the CONFIRMED position only, i.e. everything before it is committed in the destination (or was
 * skipped, or was not ours). The slot's confirmed_flush_lsn therefore never passes what the
 * destination stores, and the walsender keeps sending keepalives while anything is unconfirmed.
 *
 * An update goes out when the confirmed position moved, when the walsender asks, and at least
 * every `intervalMs` (well inside wal_sender_timeout, also while a long apply blocks the run: the
 * run calls `tick` from a timer).
 */
export class Acknowledge {
  private confirmedLsn: bigint;
  private sentLsn = -1n;
  private sentAt = 0;

  constructor(
    private readonly send: (write: bigint, flush: bigint) => void,
    private readonly intervalMs: number,
    /** Already confirmed when the run starts (the slot's confirmed_flush_lsn, or the stored position if later). */
    start: bigint,
    private readonly now: () => number = Date.now,
  ) {
    this.confirmedLsn = start;
  }

  get confirmed(): bigint {
    return this.confirmedLsn;
  }

  /** Everything before `lsn` is stored in the destination (or needs nothing there). Never moves back. */
  confirm(lsn: bigint): void {
    if (lsn > this.confirmedLsn) this.confirmedLsn = lsn;
  }

  /** Send when the position moved, when `force`d (a keepalive asked for a reply), or when the interval passed. */
  tick(force = false): boolean {
    const t = this.now();
    if (!force && this.confirmedLsn === this.sentLsn && t - this.sentAt < this.intervalMs) return false;
    this.send(this.confirmedLsn, this.confirmedLsn);
    this.sentLsn = this.confirmedLsn;
    this.sentAt = t;
    return true;
  }
}

/** Status interval for a wal_sender_timeout (ms; 0 = none): a quarter of it, between 0.1 s and 10 s. */
export function statusIntervalMs(walSenderTimeoutMs: number): number {
  if (walSenderTimeoutMs <= 0) return 10_000;
  return Math.min(10_000, Math.max(100, Math.floor(walSenderTimeoutMs / 4)));
}

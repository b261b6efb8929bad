/** Which state machine holds the stage lock. */
export type LockWorkflow = 'migrate' | 'restore-data' | 'decommission';

/** The stage lock as stored: one item per stage. Identifiers and times only. */
export interface LockHolder {
  /**
   * `<workflow>:<migrationId>@<execution>`: one identity per execution (two executions of the same
   * migration id never share it); the same owner may take its own lock again (a retried Preflight).
   */
  readonly owner: string;
  readonly workflow: LockWorkflow;
  readonly migrationId: string;
  /** The Step Functions execution that took it. @default - unknown */
  readonly executionId?: string;
  readonly acquiredAt: Date;
  /** The lock is free after this instant even if nobody released it (an execution that died). */
  readonly leaseUntil: Date;
  /** Set by RollbackTraffic: a running Migrate must not move traffic again. */
  readonly halted: boolean;
  readonly haltedAt?: Date;
  /** The rollback that set the halt flag (its migration id / execution). */
  readonly haltedBy?: string;
  /**
   * Fencing token: strictly greater for every acquisition of the stage (from a counter that
   * survives releases). Writers compare it where they write (the sync's apply transaction).
   * @default - none (a lock stored before fencing existed)
   */
  readonly token?: number;
}

/** What Finalize records: when the new side started serving 100 %. */
export interface CompletionRecord {
  readonly migrationId: string;
  readonly finishedAt: Date;
}

/**
 * The lock store: one conditional write decides who holds a stage (DynamoDB in AWS,
 * in memory locally). Implementations must make `acquire`, `renew`, `release` and `halt`
 * atomic with respect to each other.
 */
export interface LockStore {
  /** Store `lock` if the stage is free, its lease ended before `now`, or `lock.owner` holds it. Returns undefined when stored, else the holder that kept it. */
  acquire(stage: string, lock: LockHolder, now: Date): Promise<LockHolder | undefined>;
  read(stage: string): Promise<LockHolder | undefined>;
  /** Extend the lease if `owner` holds the lock; returns the lock as it is now, or undefined when `owner` does not hold it. */
  renew(stage: string, owner: string, leaseUntil: Date): Promise<LockHolder | undefined>;
  /** Delete the lock if `owner` holds it; false when it did not (already released, or someone else's). */
  release(stage: string, owner: string): Promise<boolean>;
  /** The next fencing token of the stage (atomic increment of a counter that outlives every lock). */
  nextToken(stage: string): Promise<number>;
  /**
   * Prove ownership before a write: one conditional write that succeeds only while `owner` holds the
   * lock and its lease has not ended at `now`. Returns the lock (token, halt flag), or undefined when
   * `owner` no longer holds it.
   */
  fence(stage: string, owner: string, now: Date): Promise<LockHolder | undefined>;
  /** Set the halt flag on whoever holds the stage; undefined when nobody does. */
  halt(stage: string, by: string, at: Date): Promise<LockHolder | undefined>;
  recordCompletion(stage: string, record: CompletionRecord): Promise<void>;
  readCompletion(stage: string): Promise<CompletionRecord | undefined>;
}

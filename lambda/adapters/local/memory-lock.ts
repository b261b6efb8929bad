import { mayAcquire } from '../../core/lock/lock';
import type { CompletionRecord, LockHolder, LockStore } from '../../core/lock/ports';

/** The stage lock in memory (rehearsal and tests): the same rules as the DynamoDB conditional writes. */
export class MemoryLockStore implements LockStore {
  readonly locks = new Map<string, LockHolder>();
  readonly completions = new Map<string, CompletionRecord>();
  readonly tokens = new Map<string, number>();

  async nextToken(stage: string): Promise<number> {
    const t = (this.tokens.get(stage) ?? 0) + 1;
    this.tokens.set(stage, t);
    return t;
  }

  async fence(stage: string, owner: string, now: Date): Promise<LockHolder | undefined> {
    const held = this.locks.get(stage);
    return held?.owner === owner && held.leaseUntil.getTime() >= now.getTime() ? held : undefined;
  }

  async acquire(stage: string, lock: LockHolder, now: Date): Promise<LockHolder | undefined> {
    const held = this.locks.get(stage);
    if (!mayAcquire(held, lock.owner, now)) return held;
    this.locks.set(stage, lock);
    return undefined;
  }

  async read(stage: string): Promise<LockHolder | undefined> {
    return this.locks.get(stage);
  }

  async renew(stage: string, owner: string, leaseUntil: Date): Promise<LockHolder | undefined> {
    const held = this.locks.get(stage);
    if (held?.owner !== owner) return undefined;
    const renewed = { ...held, leaseUntil };
    this.locks.set(stage, renewed);
    return renewed;
  }

  async release(stage: string, owner: string): Promise<boolean> {
    if (this.locks.get(stage)?.owner !== owner) return false;
    return this.locks.delete(stage);
  }

  async halt(stage: string, by: string, at: Date): Promise<LockHolder | undefined> {
    const held = this.locks.get(stage);
    if (!held) return undefined;
    const halted = { ...held, halted: true, haltedAt: at, haltedBy: by };
    this.locks.set(stage, halted);
    return halted;
  }

  async recordCompletion(stage: string, record: CompletionRecord): Promise<void> {
    this.completions.set(stage, record);
  }

  async readCompletion(stage: string): Promise<CompletionRecord | undefined> {
    return this.completions.get(stage);
  }
}

import { createHash } from 'crypto';

/** old -> new is `forward`; new -> old (after the first traffic step, and to drain a rollback) is `reverse`. */
export type Direction = 'forward' | 'reverse';

/** Prefix of every slot, publication and replication origin the engine creates. Never `rds…` (reserved on RDS). */
export const OBJECT_PREFIX = 'sy_';
/** Prefix of the transactional logical message that marks a transaction written by the sync. */
export const MESSAGE_PREFIX = 'switchyard';
const MAX_IDENT = 63;

/**
 * The slot (and publication and origin) name of one direction of one migration:
 * deterministic, lowercase, at most 63 characters, never starting with `rds`.
 * A long migration id is cut and suffixed with a hash so two ids never collide.
 */
export function syncObjectName(migrationId: string, direction: Direction): string {
  const suffix = direction === 'forward' ? '_fwd' : '_rev';
  const clean = migrationId.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'migration';
  const full = `${OBJECT_PREFIX}${clean}${suffix}`;
  if (full.length <= MAX_IDENT && clean === migrationId) return full;
  const hash = createHash('sha256').update(migrationId).digest('hex').slice(0, 8);
  const room = MAX_IDENT - OBJECT_PREFIX.length - suffix.length - hash.length - 1;
  return `${OBJECT_PREFIX}${clean.slice(0, room)}_${hash}${suffix}`;
}

export interface SyncNames {
  readonly slot: string;
  readonly publication: string;
  readonly origin: string;
}

export function syncNames(migrationId: string, direction: Direction): SyncNames {
  const n = syncObjectName(migrationId, direction);
  return { slot: n, publication: n, origin: n };
}

/** The advisory lock (on the slot's database) one applier holds per batch, and dropSync takes before dropping. */
export function slotLockName(slot: string): string {
  return `switchyard-sync:${slot}`;
}

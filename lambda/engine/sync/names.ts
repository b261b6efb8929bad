import { createHash } from 'node:crypto';

/** old -> new is `forward`; new -> old (after the first traffic step, and to drain a rollback) is `reverse`. */
export type Direction = 'forward' | 'reverse';

/** Prefix of every slot, publication and replication origin the engine creates. Never `rds…` (reserved on RDS). */
export const OBJECT_PREFIX = 'sy_';
/** Prefix of the transactional logical message that marks a transaction written by the sync. */
export const MESSAGE_PREFIX = 'switchyard';
const MAX_IDENT = 63;

/** `sy_<id><suffix>`, at most 63 characters; a long or non-identifier id is cut and suffixed with 8 hex of its SHA-256. */
function objectName(migrationId: string, suffix: string): string {
  const clean =
    migrationId
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'migration';
  const full = `${OBJECT_PREFIX}${clean}${suffix}`;
  if (full.length <= MAX_IDENT && clean === migrationId) return full;
  const hash = createHash('sha256').update(migrationId).digest('hex').slice(0, 8);
  const room = MAX_IDENT - OBJECT_PREFIX.length - suffix.length - hash.length - 1;
  return `${OBJECT_PREFIX}${clean.slice(0, room)}_${hash}${suffix}`;
}

/**
 * The slot (and publication and origin) name of one direction of one migration:
 * deterministic, lowercase, at most 63 characters, never starting with `rds`.
 * A long migration id is cut and suffixed with a hash so two ids never collide.
 */
export function syncObjectName(migrationId: string, direction: Direction): string {
  return objectName(migrationId, direction === 'forward' ? '_fwd' : '_rev');
}

/**
 * The statement-level AFTER DELETE trigger a direction puts on each table it writes (its
 * destination's tables): it records the keys of local deletes in `switchyard.tombstones`
 * (see tombstones.ts). Same name on every table.
 */
export function tombstoneTriggerName(migrationId: string, direction: Direction): string {
  return objectName(migrationId, direction === 'forward' ? '_fwd_tomb' : '_rev_tomb');
}

/** The trigger function of one table (in the bookkeeping schema): the trigger name's base plus 8 hex of the table's name. */
export function tombstoneFunctionName(migrationId: string, direction: Direction, relation: string): string {
  const h = createHash('sha256').update(`${direction}:${relation}`).digest('hex').slice(0, 8);
  return objectName(migrationId, `_${direction === 'forward' ? 'fwd' : 'rev'}_tomb_${h}`);
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

/** The applier lock (on the destination) each apply transaction holds to its COMMIT, and dropSync takes there. */
export function slotLockName(slot: string): string {
  return `switchyard-sync:${slot}`;
}

import { SourceFailoverError } from './errors';
import type { Direction } from './names';
import type { SlotStatus } from './slot';

/**
 * The slot is gone while its publication is still there. Publications are catalog rows and
 * reach a standby with the WAL; logical slots do not (before PostgreSQL 17's failover slots, or
 * without sync_replication_slots on the standby): this is what a source that failed over, or was
 * promoted or restored from a snapshot, looks like. The changes since the slot's last confirmed
 * position are in no slot any more, so the direction cannot continue; the error says which
 * recovery applies. (A slot dropped by hand looks the same and needs the same recovery.)
 */
export function slotLostError(s: SlotStatus, direction: Direction, redo: string): SourceFailoverError {
  return new SourceFailoverError(
    `replication slot ${s.slot} is gone but its publication is still there: the ${direction} sync's source ` +
      `failed over or was promoted/restored (server started ${s.serverStartedAt}; logical slots reach a standby only ` +
      'as failover slots, PostgreSQL 17+ with sync_replication_slots on the standby), or the slot was dropped by ' +
      `hand. Changes since the last applied position cannot be read again. Recovery: ${redo}`,
  );
}

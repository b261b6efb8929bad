import { type CheckOutcome, notApplicable, pass, passIf } from './pack';

/** One side's `max_slot_wal_keep_size` in MB: -1 unlimited, null when the server does not say. */
export interface SlotWalLimit {
  readonly side: 'old' | 'new';
  readonly mb: number | null;
}

/**
 * A stalled replication slot retains WAL without limit unless `max_slot_wal_keep_size` caps it: the
 * database's disk fills and the live service stops. With a cap the slot is invalidated instead
 * (the sync then fails by name and RestoreData / a new copy recovers). Provisioned environments set
 * it to a quarter of the storage; an imported database is checked, not assumed.
 */
export function slotWalLimitOutcome(sides: readonly SlotWalLimit[]): CheckOutcome {
  const known = sides.filter((s) => s.mb !== null);
  if (!known.length) return notApplicable('max_slot_wal_keep_size not readable on either side');
  const unlimited = known.filter((s) => s.mb === -1).map((s) => s.side);
  const detail = known.map((s) => `${s.side} ${s.mb === -1 ? 'unlimited (-1)' : `${s.mb} MB`}`).join(', ');
  if (!unlimited.length) return pass(`max_slot_wal_keep_size: ${detail}`);
  return passIf(
    false,
    `max_slot_wal_keep_size: ${detail}: a stalled slot could fill the ${unlimited.join(' and ')} database's disk`,
    'set max_slot_wal_keep_size to a part of the free storage (e.g. a quarter; MB) in the database ' +
      'parameter group (RDS: dynamic, no reboot), or on a self-managed server with ALTER SYSTEM and a reload',
  );
}

import { SLOT_RETENTION_SHARE_OF_FREE, SLOT_STALL_HOURS } from '../limits';
import { type CheckOutcome, notApplicable, pass, passIf } from './pack';

/** What Preflight knows of one side's storage and WAL. */
export interface StorageFigures {
  readonly side: 'old' | 'new';
  /** Free storage of the database (bytes); null when not known (Aurora grows its storage; a local server). */
  readonly freeBytes: number | null;
  /** WAL written per second, averaged (null when not readable). */
  readonly walBytesPerSecond: number | null;
  /** max_slot_wal_keep_size in MB: -1 unlimited, null unknown. */
  readonly capMb: number | null;
}

const MB = 1024 * 1024;
const GB = 1024 * MB;
const gb = (b: number) => `${(b / GB).toFixed(1)} GB`;

/** The WAL a slot stalled for SLOT_STALL_HOURS retains on this side (capped by max_slot_wal_keep_size). */
export function expectedRetentionBytes(s: StorageFigures): number | null {
  const capped = s.capMb !== null && s.capMb >= 0 ? s.capMb * MB : null;
  if (s.walBytesPerSecond === null) return capped;
  const grown = s.walBytesPerSecond * SLOT_STALL_HOURS * 3600;
  return capped === null ? grown : Math.min(capped, grown);
}

/**
 * A capture's slot retains WAL on its source until the destination confirms it; stalled (a failed
 * sync nobody noticed), it grows at the side's WAL rate. Each side's expected retention over
 * SLOT_STALL_HOURS (or the cap, when smaller) must fit in its share of the free storage, or the
 * database's disk fills and the live service stops before anyone acts.
 */
export function storageHeadroomOutcome(sides: readonly StorageFigures[]): CheckOutcome {
  const judged = sides
    .map((s) => ({ s, retained: expectedRetentionBytes(s) }))
    .filter((x): x is { s: StorageFigures; retained: number } => x.s.freeBytes !== null && x.retained !== null);
  if (!judged.length) return notApplicable('free storage or WAL rate not known on either side');
  const detail = judged
    .map(
      ({ s, retained }) => `${s.side}: ${gb(s.freeBytes!)} free, a ${SLOT_STALL_HOURS} h stall retains ${gb(retained)}`,
    )
    .join('; ');
  const short = judged.filter(({ s, retained }) => retained > s.freeBytes! * SLOT_RETENTION_SHARE_OF_FREE);
  if (!short.length) return pass(detail);
  return passIf(
    false,
    `${detail}: more than ${SLOT_RETENTION_SHARE_OF_FREE * 100} % of the free storage on ${short.map((x) => x.s.side).join(' and ')}`,
    'add storage, or set max_slot_wal_keep_size (MB, parameter group) below ' +
      short
        .map(({ s }) => `${Math.floor((s.freeBytes! * SLOT_RETENTION_SHARE_OF_FREE) / MB)} on ${s.side}`)
        .join(', ') +
      ' (a stalled slot is then invalidated and the sync fails by name instead of filling the disk)',
  );
}

import { type CheckOutcome, fail, passIf } from './pack';

/** The newest snapshot of the old database is the restore point if everything else fails: it must exist and be recent. */
export function snapshotAgeOutcome(
  newest: { readonly snapshotId: string; readonly createdAt?: Date } | undefined,
  dbId: string,
  now: number,
  maxAgeHours: number,
): CheckOutcome {
  if (!newest?.createdAt)
    return fail(
      `no available snapshot of ${dbId}: automated backups look off`,
      `turn on automated backups for ${dbId}, or take a manual snapshot`,
    );
  const hours = (now - newest.createdAt.getTime()) / 3_600_000;
  return passIf(
    hours <= maxAgeHours,
    `newest snapshot ${newest.snapshotId} is ${hours.toFixed(1)} h old (limit ${maxAgeHours} h)`,
    `take a manual snapshot of ${dbId}, or raise maxSnapshotAgeHours`,
  );
}

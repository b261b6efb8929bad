import { z } from 'zod';
import { snapshotIdentifier, SnapshotFailedError } from '../core/backup/snapshot';
import { TAG_KEYS } from '../core/tags';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';

/** Create the pre-migration snapshot of the old database (deterministic id: a retry finds it). */
export const backup = definePhase(PHASE.backup, z.object({ migrationId }), async (i, deps) => {
  const snapshotId = snapshotIdentifier(deps.stage, i.migrationId);
  const s = await deps.snapshots.create(deps.oldDbId, snapshotId, {
    [TAG_KEYS.migrationId]: i.migrationId,
    [TAG_KEYS.stage]: deps.stage,
    [TAG_KEYS.app]: 'switchyard',
  });
  return { snapshotId, status: s.status };
});

/** Status of the snapshot for the Wait/Choice loop: creating | available; failed raises SnapshotFailedError. */
export const backupStatus = definePhase(
  PHASE.backupStatus,
  z.object({ migrationId, snapshotId: z.string().min(1) }),
  async (i, deps) => {
    const s = await deps.snapshots.describe(i.snapshotId);
    if (!s) throw new SnapshotFailedError(`snapshot ${i.snapshotId} does not exist (deleted while being created?)`);
    if (s.status === 'failed')
      throw new SnapshotFailedError(`snapshot ${i.snapshotId} failed: check the RDS events of ${deps.oldDbId}`);
    return { snapshotId: i.snapshotId, status: s.status };
  },
);

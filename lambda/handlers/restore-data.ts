import { z } from 'zod';
import { restoredInstanceIdentifier } from '../core/backup/snapshot';
import { RestoreConflictError, RestoreFailedError, restoreProgress } from '../core/backup/restore';
import { TAG_KEYS } from '../core/tags';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';
import { ERRORS, SwitchyardError } from '../core/errors';

export class RestoreNotReadyError extends SwitchyardError {
  readonly name = ERRORS.RestoreNotReadyError;
}

const input = z.discriminatedUnion('action', [
  z.object({
    migrationId,
    action: z.literal('start'),
    snapshotId: z.string().min(1),
    subnetGroupName: z.string().optional(),
    securityGroupIds: z.array(z.string()).optional(),
  }),
  z.object({ migrationId, action: z.literal('status') }),
  z.object({ migrationId, action: z.literal('repoint') }),
]);

/**
 * Data rollback: restore the pre-migration snapshot into a new instance with the original's
 * settings (start), poll it (status: a failed state ends the execution at once), then point the
 * old environment's database secret at it and restart the old service (repoint).
 * Config versions are restored by TransferConfig in rollback mode.
 */
export const restoreData = definePhase(PHASE.restoreData, input, async (i, deps) => {
  const dbId = restoredInstanceIdentifier(deps.oldDbId, i.migrationId);
  const ours = { [TAG_KEYS.migrationId]: i.migrationId };
  if (i.action === 'start') {
    await deps.snapshots.restore({
      snapshotId: i.snapshotId,
      newDbId: dbId,
      sourceDbId: deps.oldDbId,
      subnetGroupName: i.subnetGroupName,
      securityGroupIds: i.securityGroupIds,
      tags: ours,
    });
    return { dbId, status: 'creating', available: false };
  }
  const s = await deps.snapshots.status(dbId);
  if (i.action === 'status') {
    const progress = restoreProgress(s?.status);
    if (progress === 'failed') {
      throw new RestoreFailedError(
        s
          ? `restored instance ${dbId} is ${s.status}: it will not become available; check its RDS events, fix ` +
              `the cause (network, parameter group, storage, KMS key), delete it and start RestoreData again`
          : `restored instance ${dbId} does not exist (deleted, or the restore never started): start RestoreData again`,
      );
    }
    return { dbId, status: s!.status, available: progress === 'available' };
  }
  if (s?.status !== 'available' || !s.endpoint)
    throw new RestoreNotReadyError(
      `restored instance ${dbId} is ${s?.status ?? 'missing'}, not available: wait before repointing`,
    );
  if (s.tags && s.tags[TAG_KEYS.migrationId] !== i.migrationId) {
    throw new RestoreConflictError(
      `instance ${dbId} is not tagged ${TAG_KEYS.migrationId}=${i.migrationId}: refusing to repoint the old side at a database this migration did not restore`,
    );
  }
  await deps.repointOldDatabase(s.endpoint);
  if (!deps.oldService) {
    deps.log.warn('old service not restarted', { reason: 'imported old environment: no service known to Switchyard' });
    return {
      dbId,
      status: s.status,
      repointed: true,
      serviceRestarted: false,
      note: 'the old environment is imported: restart its service yourself so it reconnects to the restored database',
    };
  }
  await deps.oldService.restart();
  return { dbId, status: s.status, repointed: true, serviceRestarted: true, service: deps.oldService.description };
});

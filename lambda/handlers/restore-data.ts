import { z } from 'zod';
import { restoredInstanceIdentifier } from '../core/backup/snapshot';
import { TAG_KEYS } from '../core/tags';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';
import { ERRORS, SwitchyardError } from '../core/errors';

export class RestoreNotReadyError extends SwitchyardError {
  readonly name = ERRORS.RestoreNotReadyError;
}

const input = z.discriminatedUnion('action', [
  z.object({ migrationId, action: z.literal('start'), snapshotId: z.string().min(1), subnetGroupName: z.string().optional(), securityGroupIds: z.array(z.string()).optional() }),
  z.object({ migrationId, action: z.literal('status') }),
  z.object({ migrationId, action: z.literal('repoint') }),
]);

/**
 * Data rollback: restore the pre-migration snapshot into a new instance (start),
 * poll it (status), then point the old environment's database secret at it (repoint).
 * Config versions are restored by TransferConfig in rollback mode.
 */
export const restoreData = definePhase(PHASE.restoreData, input, async (i, deps) => {
  const dbId = restoredInstanceIdentifier(deps.oldDbId, i.migrationId);
  if (i.action === 'start') {
    await deps.snapshots.restore({ snapshotId: i.snapshotId, newDbId: dbId, subnetGroupName: i.subnetGroupName, securityGroupIds: i.securityGroupIds, tags: { [TAG_KEYS.migrationId]: i.migrationId } });
    return { dbId, status: 'creating' };
  }
  const s = await deps.snapshots.status(dbId);
  if (i.action === 'status') return { dbId, status: s?.status ?? 'missing', available: s?.status === 'available' };
  if (s?.status !== 'available' || !s.endpoint) throw new RestoreNotReadyError(`restored instance ${dbId} is ${s?.status ?? 'missing'}, not available: wait before repointing`);
  await deps.repointOldDatabase(s.endpoint);
  return { dbId, status: s.status, repointed: true };
});


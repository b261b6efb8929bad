/**
 * The sync preconditions pack: everything the sync of one direction needs from its source (and
 * destination, for the conflict rule), in report order. Read-only; `checkSyncPreconditions`
 * (../slot.ts) runs it for Preflight. To add a check: one file in this folder exporting a
 * `PackCheck<SyncPreconditionContext>` (name, info, check returning pass / fail / not-applicable
 * with the fix), and one line here.
 */
import type { PackCheck } from '../../../core/preflight/pack';
import { commitTimestampsSource } from './commit-timestamps-source';
import { commitTimestampsTarget } from './commit-timestamps-target';
import type { SyncPreconditionContext } from './context';
import { freeSlot } from './free-slot';
import { loopGuard } from './loop-guard';
import { replicaIdentity } from './replica-identity';
import { replicaRoleTarget } from './replica-role-target';
import { replicationRole } from './replication-role';
import { reverseMapping } from './reverse-mapping';
import { serverVersion } from './server-version';
import { specTables } from './spec-tables';
import { tableOwnership } from './table-ownership';
import { walLevel } from './wal-level';

export { type SyncPreconditionContext, syncPreconditionContext } from './context';

export const SYNC_PRECONDITIONS: readonly PackCheck<SyncPreconditionContext>[] = [
  specTables,
  reverseMapping,
  walLevel,
  replicationRole,
  freeSlot,
  serverVersion,
  loopGuard,
  commitTimestampsSource,
  replicaIdentity,
  tableOwnership,
  commitTimestampsTarget,
  replicaRoleTarget,
];

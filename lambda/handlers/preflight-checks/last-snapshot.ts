import type { PackCheck } from '../../core/preflight/pack';
import { snapshotAgeOutcome } from '../../core/preflight/snapshot-age';
import type { PreflightContext } from './context';

export const lastSnapshot: PackCheck<PreflightContext> = {
  name: 'lastSnapshot',
  info: 'A recent snapshot of the old database exists: the restore point of last resort.',
  check: async ({ deps, input }) =>
    snapshotAgeOutcome(await deps.snapshots.latest(deps.oldDbId), deps.oldDbId, deps.now(), input.maxSnapshotAgeHours),
};

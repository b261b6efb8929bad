import type { PackCheck } from '../../core/preflight/pack';
import { slotWalLimitOutcome } from '../../core/preflight/slot-wal-limit';
import { withClient } from '../../engine';
import { capabilities } from '../../engine/capabilities';
import type { PreflightContext } from './context';

export const slotWalLimit: PackCheck<PreflightContext> = {
  name: 'slotWalLimit',
  info: 'A stalled replication slot cannot fill either database disk (max_slot_wal_keep_size is set).',
  check: async ({ deps }) => {
    const read = async (side: 'old' | 'new') => {
      const db = side === 'old' ? await deps.sourceDb() : await deps.targetDb();
      const caps = await withClient(db, { readOnly: true, applicationName: 'switchyard-preflight' }, capabilities);
      return { side, mb: caps.maxSlotWalKeepSizeMb };
    };
    return slotWalLimitOutcome(await Promise.all([read('old'), read('new')]));
  },
};

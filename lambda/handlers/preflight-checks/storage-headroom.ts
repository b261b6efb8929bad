import type { PackCheck } from '../../core/preflight/pack';
import { storageHeadroomOutcome } from '../../core/preflight/storage-headroom';
import { withClient } from '../../engine';
import { capabilities } from '../../engine/capabilities';
import { walBytesPerSecond } from '../../engine/wal-rate';
import type { PreflightContext } from './context';

export const storageHeadroom: PackCheck<PreflightContext> = {
  name: 'storageHeadroom',
  info: "A slot stalled for a day cannot fill either database's free storage (WAL rate × a day, or the cap).",
  check: async ({ deps }) => {
    const read = async (side: 'old' | 'new') => {
      const freeBytes = deps.storage ? await deps.storage.freeStorageBytes(side) : null;
      // Free storage not known (Aurora, a local server): nothing to judge, so the WAL rate is not sampled (a second).
      if (freeBytes === null) return { side, freeBytes, walBytesPerSecond: null, capMb: null };
      const db = side === 'old' ? await deps.sourceDb() : await deps.targetDb();
      const server = await withClient(db, { readOnly: true, applicationName: 'switchyard-preflight' }, async (c) => ({
        caps: await capabilities(c),
        rate: await walBytesPerSecond(c),
      }));
      return { side, freeBytes, walBytesPerSecond: server.rate, capMb: server.caps.maxSlotWalKeepSizeMb };
    };
    return storageHeadroomOutcome(await Promise.all([read('old'), read('new')]));
  },
};

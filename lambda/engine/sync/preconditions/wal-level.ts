import { type PackCheck, passIf } from '../../../core/preflight/pack';
import type { SyncPreconditionContext } from './context';

export const walLevel: PackCheck<SyncPreconditionContext> = {
  name: 'wal-level',
  info: 'Logical decoding needs wal_level = logical; without it no slot can be created.',
  check: async ({ caps }) =>
    passIf(
      caps.walLevel === 'logical',
      `wal_level = ${caps.walLevel}`,
      'set wal_level = logical; on RDS set rds.logical_replication = 1 in the DB parameter group and reboot ' +
        'the instance',
    ),
};

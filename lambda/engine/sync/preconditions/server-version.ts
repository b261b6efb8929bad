import { type PackCheck, passIf } from '../../../core/preflight/pack';
import { featureMinimumsLine, MIN_SUPPORTED_MAJOR } from '../../capabilities';
import type { SyncPreconditionContext } from './context';

export const serverVersion: PackCheck<SyncPreconditionContext> = {
  name: 'server-version',
  info: 'The engine supports PostgreSQL 13 to 18; the detail names the server and the minimum of each feature.',
  check: async ({ caps }) =>
    passIf(
      caps.major >= MIN_SUPPORTED_MAJOR,
      `${caps.name}; minimum per feature: ${featureMinimumsLine()}`,
      `upgrade the server to PostgreSQL ${MIN_SUPPORTED_MAJOR} or later (pg_upgrade, or an RDS major-version upgrade)`,
    ),
};

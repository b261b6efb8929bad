import { type PackCheck, passIf } from '../../../core/preflight/pack';
import type { SyncPreconditionContext } from './context';

/** REPLICATION or superuser, or (RDS) membership of rds_replication. */
const CAN_REPLICATE = `SELECT (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user)
    OR (EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication')
        AND pg_has_role(current_user, 'rds_replication', 'MEMBER')) AS can_replicate`;

export const replicationRole: PackCheck<SyncPreconditionContext> = {
  name: 'replication-role',
  info: 'Creating and reading a logical slot needs a login allowed to replicate.',
  check: async ({ source }) => {
    const ok = (await source.query(CAN_REPLICATE)).rows[0].can_replicate === true;
    return passIf(
      ok,
      ok ? 'login may replicate' : 'login has neither REPLICATION nor rds_replication',
      'ALTER ROLE <login> WITH REPLICATION; on RDS: GRANT rds_replication TO <login>',
    );
  },
};

import { notApplicable, type PackCheck, pass } from '../../../core/preflight/pack';
import { capabilities } from '../../capabilities';
import { withClient } from '../../db';
import type { SyncPreconditionContext } from './context';

/**
 * Forward: whether the destination login may skip foreign-key checks on direct writes, as
 * PostgreSQL's apply worker does (../direct.ts). Never a failure: without it the checks run (the
 * same rows, slower on a large transaction), so the detail says how to grant it.
 */
export const replicaRoleTarget: PackCheck<SyncPreconditionContext> = {
  name: 'replica-role-target',
  info: "A large transaction's rows COPYed into the destination are checked against its foreign keys unless the login may set session_replication_role.",
  check: async ({ target, direction }) => {
    if (!target || direction !== 'forward') return notApplicable('the destination is not checked here');
    const caps = await withClient(target, { readOnly: true, applicationName: 'switchyard-preflight' }, capabilities);
    if (caps.replicaRole)
      return pass(`${caps.name}: the login may set session_replication_role (direct writes skip foreign-key checks)`);
    const grant = caps.major >= 15 ? 'GRANT SET ON PARAMETER session_replication_role TO <login>' : 'a superuser login';
    return pass(
      `${caps.name}: the login may not set session_replication_role, so direct writes keep the destination's ` +
        `foreign-key checks (same rows, slower on a large transaction; to skip them as native apply does: ${grant})`,
    );
  },
};

import { notApplicable, type PackCheck, passIf } from '../../../core/preflight/pack';
import { loopGuardFor } from '../../capabilities';
import { LOOP_MARK_RELATION } from '../loop-marker';
import type { SyncPreconditionContext } from './context';

const CAN_MARK = `SELECT has_database_privilege(current_database(), 'CREATE')
    OR to_regclass('${LOOP_MARK_RELATION}') IS NOT NULL AS can_mark`;

/** Two-way: how the other direction's applier will mark what it writes into this server. */
export const loopGuard: PackCheck<SyncPreconditionContext> = {
  name: 'loop-guard',
  info: 'Without a loop guard, each side would send the other its own applied writes back, forever.',
  check: async ({ source, caps, conflicts }) => {
    if (!conflicts) return notApplicable('one-way sync: nothing is written back into this server');
    const guard = loopGuardFor(caps);
    const canMark = guard !== 'marker' || (await source.query(CAN_MARK)).rows[0].can_mark === true;
    const how =
      guard === 'origin'
        ? 'replication origins'
        : guard === 'message'
          ? 'a logical message per applied transaction'
          : `a marker row in ${LOOP_MARK_RELATION} (no origin privilege; pgoutput of ${caps.name} carries no messages)`;
    return passIf(
      canMark,
      `${caps.name}: writes applied into this server are marked with ${how}`,
      `let the login create ${LOOP_MARK_RELATION} (GRANT CREATE ON DATABASE <db> TO <login>)` +
        (caps.originGrantable ? ', or GRANT EXECUTE on the pg_replication_origin_* functions' : ', or use a superuser'),
    );
  },
};

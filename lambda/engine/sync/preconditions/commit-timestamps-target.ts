import { notApplicable, type PackCheck, passIf } from '../../../core/preflight/pack';
import { withClient } from '../../db';
import type { SyncPreconditionContext } from './context';

export const commitTimestampsTarget: PackCheck<SyncPreconditionContext> = {
  name: 'commit-timestamps-target',
  info: '"Later commit wins" compares commit times: the destination must record them too.',
  check: async ({ target, conflicts }) => {
    if (!target || !conflicts) return notApplicable('the destination is not checked here, or the sync is one-way');
    const v = await withClient(target, { readOnly: true, applicationName: 'switchyard-preflight' }, async (c) => {
      return (await c.query(`SELECT current_setting('track_commit_timestamp') AS v`)).rows[0].v as string;
    });
    return passIf(
      v === 'on',
      `track_commit_timestamp = ${v}`,
      'set track_commit_timestamp = on on the destination (RDS: DB parameter group, reboot)',
    );
  },
};

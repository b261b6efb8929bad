import { notApplicable, type PackCheck, passIf } from '../../../core/preflight/pack';
import type { SyncPreconditionContext } from './context';

export const commitTimestampsSource: PackCheck<SyncPreconditionContext> = {
  name: 'commit-timestamps-source',
  info: '"Later commit wins" compares commit times: the source must record them.',
  check: async ({ caps, conflicts }) => {
    if (!conflicts) return notApplicable('one-way sync: no conflict rule to apply');
    const value = caps.trackCommitTimestamp ? 'on' : 'off';
    return passIf(
      caps.trackCommitTimestamp,
      `track_commit_timestamp = ${value}`,
      'set track_commit_timestamp = on (RDS: DB parameter group, reboot) so "later commit wins" can compare ' +
        'commit times',
    );
  },
};

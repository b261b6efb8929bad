import { fail, type PackCheck, pass } from '../../core/preflight/pack';
import { checkSyncPreconditions } from '../../engine/sync';
import type { PreflightContext } from './context';

/** Preconditions about the server, not the tables (the new side's tables come with PrepareTarget). */
const SERVER_LEVEL = new Set([
  'wal-level',
  'replication-role',
  'free-slot',
  'server-version',
  'loop-guard',
  'commit-timestamps-source',
]);

export const replication: PackCheck<PreflightContext> = {
  name: 'replication',
  info: 'Change capture in both directions: wal_level, replication rights, replica identity, free slots, commit timestamps.',
  check: async ({ deps, spec, input }) => {
    const [old, neu] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
    const forward = await checkSyncPreconditions(old, spec, input.migrationId, 'forward', {
      target: neu,
      conflicts: true,
    });
    // The new side's tables do not exist before PrepareTarget: only its server-level settings are checked now.
    const reverse = (await checkSyncPreconditions(neu, spec, input.migrationId, 'reverse', { conflicts: true })).filter(
      (c) => SERVER_LEVEL.has(c.name),
    );
    const failed = [
      ...forward.map((c) => ({ ...c, side: 'old' })),
      ...reverse.map((c) => ({ ...c, side: 'new' })),
    ].filter((c) => !c.ok);
    const applicable = [...forward, ...reverse].filter((c) => c.status !== 'not-applicable').length;
    // Advice, never a failure: whether the new side's login writes large transactions without foreign-key checks.
    const role = forward.find((c) => c.name === 'replica-role-target' && c.status === 'pass');
    return failed.length
      ? fail(failed.map((c) => `${c.side} ${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`).join('; '))
      : pass(`logical replication ready on both sides (${applicable} checks)${role ? `; new ${role.detail}` : ''}`);
  },
};

import { type PackCheck, passIf } from '../../../core/preflight/pack';
import type { SyncPreconditionContext } from './context';

const SLOTS = `SELECT current_setting('max_replication_slots')::int AS max_slots,
    (SELECT count(*)::int FROM pg_replication_slots) AS used,
    EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1) AS have_slot`;

export const freeSlot: PackCheck<SyncPreconditionContext> = {
  name: 'free-slot',
  info: 'The sync needs one replication slot per direction (or its own slot already there).',
  check: async ({ source, slot }) => {
    const x = (await source.query(SLOTS, [slot])).rows[0];
    return passIf(
      x.have_slot || x.used < x.max_slots,
      `${x.used} of ${x.max_slots} replication slots used${x.have_slot ? `; ${slot} exists` : ''}`,
      'drop unused slots (SELECT pg_drop_replication_slot(name)) or raise max_replication_slots ' +
        '(RDS: parameter group, reboot)',
    );
  },
};

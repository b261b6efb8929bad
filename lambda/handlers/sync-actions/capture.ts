import { createSync, installTombstones, moveSequencesPast } from '../../engine/sync';
import type { PhaseDeps } from '../support/deps';
import { endpoints } from './budget';
import type { ActionContext } from './context';
import type { ActionInput } from './input';

/** Publication + slot on the direction's source; reverse: sequences moved apart and tombstone triggers on both sides. */
export async function capture(i: ActionInput<'capture'>, deps: PhaseDeps, { spec }: ActionContext) {
  const { source, old, neu } = await endpoints(deps, i.direction);
  const created = await createSync(source, spec, i.migrationId, i.direction);
  // Inserts on the two sides must never take the same key: the new side's sequences move past the old side's.
  const sequences =
    i.direction === 'forward'
      ? []
      : await moveSequencesPast(spec, { old, new: neu }, { moving: 'new', headroom: i.sequenceHeadroom });
  // Both sides take writes from the next traffic step: from now on each side records its local deletes
  // (tombstones), so that later commit wins also between a delete on one side and an update on the other.
  const tombstoneTriggers =
    i.direction === 'forward'
      ? 0
      : (await installTombstones(old, spec, i.migrationId, 'reverse')) +
        (await installTombstones(neu, spec, i.migrationId, 'forward'));
  deps.log.info('sync capture ready', {
    direction: i.direction,
    slot: created.slot,
    created: created.created,
    sequencesMoved: sequences.length,
    tombstoneTriggers,
  });
  return {
    direction: i.direction,
    slot: created.slot,
    startLsn: created.startLsn,
    sequences: sequences.map((s) => ({ table: s.table, column: s.column, setTo: s.setTo })),
  };
}

import { PHASE } from '../phases';
import { copyAction } from './copy-actions/copy';
import { input } from './copy-actions/input';
import { planCopy } from './copy-actions/plan';
import { definePhase } from './support/phase';

/**
 * `copy` (the default action): copy one table (or one chunk group), or with `tables` several tables
 * at once on one pool of `concurrency` connection pairs (small tables several per transaction;
 * returns counts only); stops before the function times out and reports `complete: false` to loop.
 *
 * `plan`: plan the chunks of every table of the spec (stored in the target, so a retry or a resumed
 * run gets the same boundaries) and return them as chunk groups `{ table, from, to }` for a
 * Distributed Map: at most DISTRIBUTED_COPY.maxItems items and maxItemsBytes of JSON (groups grow
 * to fit), groups already copied left out. Names and counts only.
 */
export const copyData = definePhase(PHASE.copyData, input, async (i, deps, context) => {
  const [source, target] = await Promise.all([deps.sourceDb(), deps.targetDb()]);
  if (i.action === 'plan') return planCopy(i, deps, source, target);
  return copyAction(i, deps, context, source, target);
});

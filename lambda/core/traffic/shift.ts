import type { TrafficRouter } from './ports';
import { ALL_OLD, assertWeights, sameWeights, type Weights } from './weights';
import { ERRORS, SwitchyardError } from '../errors';

/** The weights read back after a change differ from the ones set. */
export class WeightReadBackError extends SwitchyardError {
  readonly name = ERRORS.WeightReadBackError;
}

/** Set weights, read them back and fail if they differ. */
export async function shiftTraffic(router: TrafficRouter, to: Weights): Promise<Weights> {
  assertWeights(to);
  await router.setWeights(to);
  const actual = await router.getWeights();
  if (!sameWeights(actual, to)) {
    throw new WeightReadBackError(
      `${router.description}: set old ${to.old} / new ${to.new} but read back old ${actual.old} / new ${actual.new}`,
    );
  }
  return actual;
}

export interface RollbackResult {
  readonly weights: Weights;
  readonly previous: Weights;
  readonly elapsedMs: number;
}

/** All traffic back to the old side in one call, verified by read-back; measures how long it took. */
export async function rollbackTraffic(router: TrafficRouter, now: () => number = Date.now): Promise<RollbackResult> {
  const t0 = now();
  const previous = await router.getWeights().catch(() => ALL_OLD);
  const weights = await shiftTraffic(router, ALL_OLD);
  return { weights, previous, elapsedMs: now() - t0 };
}

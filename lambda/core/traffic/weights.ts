import { ERRORS, SwitchyardError } from '../errors';
/** Traffic split between the two sides, in percent. */
export interface Weights {
  readonly old: number;
  readonly new: number;
}

export class InvalidWeightsError extends SwitchyardError {
  readonly name = ERRORS.InvalidWeightsError;
}

/** Validate a weight pair: integers 0–100 that sum to 100. */
export function assertWeights(w: Weights): Weights {
  for (const [side, v] of [
    ['old', w.old],
    ['new', w.new],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 100)
      throw new InvalidWeightsError(`weight of the ${side} side must be an integer from 0 to 100, got: ${v}`);
  }
  if (w.old + w.new !== 100)
    throw new InvalidWeightsError(`weights must sum to 100, got: old ${w.old} + new ${w.new} = ${w.old + w.new}`);
  return w;
}

/** The weights for `newPercent` on the new side. */
export function weightsFor(newPercent: number): Weights {
  return assertWeights({ old: 100 - newPercent, new: newPercent });
}

export const ALL_OLD: Weights = { old: 100, new: 0 };

export const sameWeights = (a: Weights, b: Weights) => a.old === b.old && a.new === b.new;

/** Validate a shift schedule: strictly increasing whole percentages ending at 100. */
export function assertSchedule(steps: readonly number[]): readonly number[] {
  if (!steps.length) throw new InvalidWeightsError('schedule must have at least one step');
  steps.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 1 || s > 100)
      throw new InvalidWeightsError(`schedule step ${i} must be an integer from 1 to 100, got: ${s}`);
    if (i > 0 && s <= steps[i - 1])
      throw new InvalidWeightsError(`schedule must be strictly increasing, got: ${steps.join(', ')}`);
  });
  if (steps[steps.length - 1] !== 100)
    throw new InvalidWeightsError(`schedule must end at 100, got: ${steps.join(', ')}`);
  return steps;
}

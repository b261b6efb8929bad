import { type PackCheck, passIf } from '../../core/preflight/pack';
import { sameWeights } from '../../core/traffic/weights';
import type { PreflightContext } from './context';

export const routing: PackCheck<PreflightContext> = {
  name: 'routing',
  info: 'Traffic is where the workflow expects it before it moves any (by default all on the old side).',
  check: async ({ deps, input }) => {
    const w = await deps.router.getWeights();
    const want = input.expectedWeights;
    return passIf(
      sameWeights(w, want),
      `${deps.router.description} at old ${w.old} / new ${w.new} (expected ${want.old} / ${want.new})`,
      'finish or roll back the migration that moved the weights (RollbackTraffic), or pass expectedWeights',
    );
  },
};

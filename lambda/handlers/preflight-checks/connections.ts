import { connectionCheck } from '../../core/preflight/connections';
import { type PackCheck, passIf } from '../../core/preflight/pack';
import { connectionUse } from '../../engine/activity';
import type { PreflightContext } from './context';

export const connections: PackCheck<PreflightContext> = {
  name: 'connections',
  info: "The copy's connections fit on each side beside the live service's: a copy that takes the last ones fails the service.",
  check: async ({ deps, input }) => {
    const need = {
      copyConcurrency: input.copyConcurrency ?? deps.defaults.copyConcurrency,
      copyWorkers: input.copyWorkers,
    };
    const [old, neu] = await Promise.all([deps.sourceDb().then(connectionUse), deps.targetDb().then(connectionUse)]);
    const sides = [connectionCheck('old', old, need), connectionCheck('new', neu, need)];
    // Each failing side's detail names what to lower or raise.
    return passIf(
      sides.every((s) => s.ok),
      sides.map((s) => s.detail).join('; '),
    );
  },
};

import { type PackCheck, passIf } from '../../core/preflight/pack';
import type { PreflightContext } from './context';

export const configuration: PackCheck<PreflightContext> = {
  name: 'configuration',
  info: "The old side's parameters and secrets are where the transfer rules read them.",
  check: async ({ deps }) => {
    const counts = await Promise.all(
      deps.configStores.map(async (s) => {
        const from = s.kind === 'parameter' ? deps.transferRules.parameters?.from : deps.transferRules.secrets?.from;
        return { kind: s.kind, from, n: from ? (await s.list(from)).length : 0 };
      }),
    );
    const empty = counts.filter((c) => c.from && c.n === 0);
    return passIf(
      empty.length === 0,
      empty.length
        ? `nothing to transfer under ${empty.map((c) => c.from).join(', ')}`
        : counts.map((c) => `${c.n} ${c.kind}(s) under ${c.from}`).join(', '),
      "check the stage's parameterPath and secretPrefix of the old environment",
    );
  },
};

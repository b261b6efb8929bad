import { type PackCheck, passIf } from '../../core/preflight/pack';
import { decideHealth } from '../../core/traffic/health';
import type { PreflightContext } from './context';

export const healthAlarms: PackCheck<PreflightContext> = {
  name: 'healthAlarms',
  info: "The new side's health alarms exist and are OK: the health gate cannot judge a step otherwise.",
  check: async ({ deps, input }) => {
    const d = decideHealth(
      await deps.alarms.read(),
      { insufficientDataGraceSeconds: input.alarmGraceSeconds },
      new Date(deps.now()),
    );
    return passIf(
      d.healthy,
      d.healthy ? `${d.alarmsChecked} alarm(s) OK` : d.reasons.join('; '),
      'fix what the alarms report on the new side, or wait for them to leave INSUFFICIENT_DATA',
    );
  },
};

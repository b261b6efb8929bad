import { z } from 'zod';
import { decideHealth } from '../core/traffic/health';
import { migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';

/** The health gate: new side's alarms; unhealthy is a result (for a Choice), not an error. */
export const healthGate = definePhase(PHASE.healthGate,
  z.object({ migrationId, insufficientDataGraceSeconds: z.number().int().min(0).default(300) }),
  async (i, deps) => {
    let alarms;
    try {
      alarms = await deps.alarms.read();
    } catch (e) {
      // An alarm that cannot be read gates nothing: unhealthy, with the reason.
      const reason = `health alarms could not be read: ${(e as Error).name}: ${(e as Error).message}`;
      deps.log.warn('health gate unhealthy', { reasons: [reason] });
      return { healthy: false, reasons: [reason], summary: reason, alarmsChecked: 0 };
    }
    const d = decideHealth(alarms, { insufficientDataGraceSeconds: i.insufficientDataGraceSeconds }, new Date(deps.now()));
    if (!d.healthy) deps.log.warn('health gate unhealthy', { reasons: d.reasons });
    return { healthy: d.healthy, reasons: d.reasons, summary: d.healthy ? 'healthy' : d.reasons.join('; '), alarmsChecked: d.alarmsChecked };
  },
);


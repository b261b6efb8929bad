import { PHASE_NAMES, type PhaseName } from '../phases';
import { backup, backupStatus } from './backup';
import { buildIndexes } from './build-indexes';
import { copyData } from './copy-data';
import { finalize } from './finalize';
import { healthGate } from './health-gate';
import { lock } from './lock';
import { pause } from './pause';
import { preflight } from './preflight';
import { prepareTarget } from './prepare-target';
import { restoreData } from './restore-data';
import { rollbackTraffic } from './rollback-traffic';
import { shiftTraffic } from './shift-traffic';
import { smoke } from './smoke';
import type { DefinedPhase } from './support/phase';
import { sync } from './sync';
import { transferConfig } from './transfer-config';
import { unlock } from './unlock';
import { validateData } from './validate-data';
import { validateInput } from './validate-input';

const DEFINED: readonly DefinedPhase[] = [
  validateInput,
  preflight,
  backup,
  backupStatus,
  transferConfig,
  prepareTarget,
  copyData,
  buildIndexes,
  smoke,
  validateData,
  sync,
  shiftTraffic,
  healthGate,
  pause,
  rollbackTraffic,
  restoreData,
  finalize,
  lock,
  unlock,
];

/** Every phase's handler code by its manifest name (lambda/phases.ts), for binding to deps. */
export const PHASE_HANDLERS: Readonly<Record<PhaseName, DefinedPhase>> = (() => {
  const byName = Object.fromEntries(DEFINED.map((p) => [p.name, p])) as Record<PhaseName, DefinedPhase>;
  const missing = PHASE_NAMES.filter((n) => !byName[n]);
  if (missing.length) throw new Error(`phases in lambda/phases.ts without a handler: ${missing.join(', ')}`);
  return byName;
})();

import { createSnapshot, snapshotStatus } from './backup';
import { catchUpData } from './catch-up';
import { copyData } from './copy-data';
import { finalize } from './finalize';
import { healthGate } from './health-gate';
import { preflight } from './preflight';
import { prepare } from './prepare-target';
import { restoreData } from './restore-data';
import { rollback } from './rollback-traffic';
import { shift } from './shift-traffic';
import type { DepsFactory } from './support/deps';
import type { PhaseHandler } from './support/phase';
import { transferConfig } from './transfer-config';
import { validateData } from './validate-data';
import { validateInput } from './validate-input';

/** Every phase by its export name in index.ts (= the Lambda handler `index.<name>`), for binding to other deps. */
export const PHASES: Readonly<Record<string, { make(factory: DepsFactory): PhaseHandler<unknown, unknown> }>> = {
  validateInput,
  preflight,
  backup: createSnapshot,
  backupStatus: snapshotStatus,
  transferConfig,
  prepareTarget: prepare,
  copyData,
  validateData,
  catchUp: catchUpData,
  shiftTraffic: shift,
  healthGate,
  rollbackTraffic: rollback,
  restoreData,
  finalize,
};

import type { MigrationSpec } from '../../engine/spec';
import type { PreflightInput } from '../preflight';
import type { PhaseDeps } from '../support/deps';

/** What every preflight check reads: the phase's input, its ports and the deployed spec. */
export interface PreflightContext {
  readonly input: PreflightInput;
  readonly deps: PhaseDeps;
  readonly spec: MigrationSpec;
}

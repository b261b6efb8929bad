/**
 * The Lambda entry: every phase handler bound to the AWS adapters, one export per
 * phase of the manifest. The CDK app bundles this one file once and points each
 * function at its export (`index.<phase>`).
 */
import { awsDeps } from './aws-wiring';
import { PHASE_HANDLERS } from './registry';
import type { PhaseHandler } from './support/phase';

const entry: Record<string, PhaseHandler<unknown, unknown>> = Object.fromEntries(
  Object.entries(PHASE_HANDLERS).map(([name, phase]) => [name, phase.make(awsDeps)]),
);
export = entry;

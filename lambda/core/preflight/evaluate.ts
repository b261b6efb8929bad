import { ERRORS, SwitchyardError } from '../errors';
import type { CheckStatus } from './pack';

/** One guardrail of the preflight / gate dry-run, as reported. */
export interface PreflightCheck {
  readonly name: string;
  /** False only when the check failed (not-applicable is not a reason to stop). */
  readonly ok: boolean;
  readonly status: CheckStatus;
  /** What was found (names, counts, ages); never a secret value. */
  readonly detail: string;
  /** What to do about a failure. */
  readonly fix?: string;
}

export interface PreflightReport {
  readonly go: boolean;
  readonly checks: readonly PreflightCheck[];
}

/** The preflight found reasons not to start; the message lists every one, not just the first, with its fix. */
export class PreflightNoGoError extends SwitchyardError {
  readonly name = ERRORS.PreflightNoGoError;
  constructor(public readonly report: PreflightReport) {
    super(
      `no-go: ${report.checks
        .filter((c) => !c.ok)
        .map((c) => `${c.name}: ${c.detail}${c.fix ? ` (fix: ${c.fix})` : ''}`)
        .join('; ')}`,
    );
  }
}

import { ERRORS, SwitchyardError } from '../errors';
/** One guardrail of the preflight / gate dry-run. */
export interface PreflightCheck {
  readonly name: string;
  readonly ok: boolean;
  /** What was found (names, counts, ages); never a secret value. */
  readonly detail: string;
}

export interface PreflightReport {
  readonly go: boolean;
  readonly checks: readonly PreflightCheck[];
}

/** The preflight found reasons not to start; the message lists every one, not just the first. */
export class PreflightNoGoError extends SwitchyardError {
  readonly name = ERRORS.PreflightNoGoError;
  constructor(public readonly report: PreflightReport) {
    super(
      `no-go: ${report.checks
        .filter((c) => !c.ok)
        .map((c) => `${c.name}: ${c.detail}`)
        .join('; ')}`,
    );
  }
}

/** Run every check (each isolated: one throwing does not hide the others) and decide go / no-go. */
export async function runPreflight(
  checks: Readonly<Record<string, () => Promise<{ ok: boolean; detail: string }>>>,
): Promise<PreflightReport> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, fn]) => {
      try {
        return { name, ...(await fn()) };
      } catch (e) {
        return { name, ok: false, detail: `${(e as Error).name ?? 'Error'}: ${(e as Error).message}` };
      }
    }),
  );
  return { go: results.every((r) => r.ok), checks: results };
}

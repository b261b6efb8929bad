/**
 * Preflight as a pack of checks, the way cdk-nag holds rules: each check is one small named
 * function in its own file (lambda/handlers/preflight-checks/<name>.ts) returning pass, fail or
 * not-applicable, with the fix when it fails; a pack is the list of them
 * (lambda/handlers/preflight-checks/index.ts). Adding a check is one file and one line.
 */
import { describeError } from '../errors';
import type { PreflightCheck, PreflightReport } from './evaluate';

export type CheckStatus = 'pass' | 'fail' | 'not-applicable';

/** What one check found. Names, counts and ages only: never a secret or row value. */
export interface CheckOutcome {
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do about a failure (left out when the detail already says it). */
  readonly fix?: string;
}

/** One check of a pack: a name (stable: it keys the report), what it guards, and the check itself. */
export interface PackCheck<C> {
  readonly name: string;
  /** One sentence: what goes wrong when this check is skipped. */
  readonly info: string;
  check(context: C): Promise<CheckOutcome>;
}

export const pass = (detail: string): CheckOutcome => ({ status: 'pass', detail });
export const fail = (detail: string, fix?: string): CheckOutcome => ({
  status: 'fail',
  detail,
  ...(fix ? { fix } : {}),
});
export const notApplicable = (detail: string): CheckOutcome => ({ status: 'not-applicable', detail });
/** `pass(detail)` when ok, else `fail(detail, fix)`. */
export const passIf = (ok: boolean, detail: string, fix?: string): CheckOutcome =>
  ok ? pass(detail) : fail(detail, fix);

/** Run one check, isolated: a check that throws is a failure naming the error. */
async function runCheck<C>({ name, check }: PackCheck<C>, context: C): Promise<PreflightCheck> {
  try {
    const o = await check(context);
    return { name, ok: o.status !== 'fail', status: o.status, detail: o.detail, ...(o.fix ? { fix: o.fix } : {}) };
  } catch (e) {
    return { name, ok: false, status: 'fail', detail: describeError(e) };
  }
}

/**
 * Run every check of the pack, each isolated (one throwing does not hide the others), and decide go / no-go.
 * At once by default; `inOrder` when the checks share one connection (one query at a time).
 */
export async function runPack<C>(
  pack: readonly PackCheck<C>[],
  context: C,
  opts: { inOrder?: boolean } = {},
): Promise<PreflightReport> {
  const checks: PreflightCheck[] = [];
  if (opts.inOrder) for (const c of pack) checks.push(await runCheck(c, context));
  else checks.push(...(await Promise.all(pack.map((c) => runCheck(c, context)))));
  return { go: checks.every((c) => c.ok), checks };
}

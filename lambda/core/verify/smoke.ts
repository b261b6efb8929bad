import { describeError, ERRORS, SwitchyardError } from '../errors';
import { compareAnswers, valueAt } from './compare';
import { READ_METHODS, type SmokeCheck, type SmokeConfig } from './config';
import { type HttpProbe, type OldSideAccess, type ProbeRequest, type ProbeResponse, SIDE_HEADER } from './ports';

/**
 * The smoke phase: every configured check against the new side through the stage's entry point
 * with the direct-access header, and read checks also against the old side (through the same entry
 * point with the `old` header, or its own entry point without it), answers compared. When the old
 * side cannot be reached (imported, no `oldBaseUrl`) read checks run against the new side only and
 * the report says they were not compared, and why. Nothing here knows HTTP beyond the {@link HttpProbe} port.
 */

/** The header the listener's direct-access rules match (defined once, in ./ports). */
export { SIDE_HEADER };

export interface SmokeFailure {
  readonly check: string;
  readonly reason: string;
}

/** One or more smoke checks failed or were refused; lists each by name with the reason (never a response body). */
export class SmokeCheckFailedError extends SwitchyardError {
  readonly name = ERRORS.SmokeCheckFailedError;
  constructor(
    readonly failures: readonly SmokeFailure[],
    total: number,
  ) {
    super(
      `${failures.length} of ${total} smoke checks failed: ${failures.map((f) => `${f.check}: ${f.reason}`).join('; ')}`,
    );
  }
}

export interface SmokeCheckResult {
  readonly name: string;
  readonly method: string;
  /** The configured path (before variables are replaced). */
  readonly path: string;
  readonly ok: boolean;
  /** The new side's status and time; absent when the check was refused or skipped. */
  readonly status?: number;
  readonly ms?: number;
  /** Whether the old side's answer was compared. */
  readonly compared: boolean;
  /** Why the check failed, was refused or skipped; for a passed check: why it was not compared although it would have been. */
  readonly reason?: string;
}

/** How the old side took part, for the phase output: never silent when answers were not compared. */
export interface OldSideReport {
  /** Where the old side's answers came from (`<stage entry point> (x-switchyard-side: old)` or its own base URL); null when it was not reached. */
  readonly target: string | null;
  /** Checks whose answers were compared with the old side's. */
  readonly compared: number;
  /** Checks that would have been compared (reads by default) but were not: the old side cannot be reached. */
  readonly notCompared: readonly string[];
  /** Why they were not compared, naming the fix; present when `notCompared` is not empty. */
  readonly reason?: string;
}

export interface SmokeReport {
  readonly passed: boolean;
  readonly checks: readonly SmokeCheckResult[];
  readonly failures: readonly SmokeFailure[];
  readonly old: OldSideReport;
}

/** The old side through the stage's entry point with `x-switchyard-side: old` (a provisioned old side). */
export const OLD_SIDE_VIA_LISTENER: OldSideAccess = { kind: 'listener' };

const isRead = (method: string) => (READ_METHODS as readonly string[]).includes(method);

/** Whether the check's request also goes to the old side. */
export const comparesWithOld = (c: SmokeCheck) => c.compare ?? isRead(c.method);

const VAR = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const varsIn = (s: string) => [...s.matchAll(VAR)].map((m) => m[1]);
const bodyText = (c: SmokeCheck) => (c.body === undefined ? '' : JSON.stringify(c.body));

/**
 * Why a check may not run, decided before anything is sent: a write without a test tenant, a write
 * that does not address the test tenant, or a `{var}` nothing defines. Empty = every check may run.
 */
export function refusals(config: SmokeConfig, old: OldSideAccess = OLD_SIDE_VIA_LISTENER): SmokeFailure[] {
  const out: SmokeFailure[] = [];
  const tenant = config.testTenant;
  const defined = new Set<string>(tenant?.variable ? [tenant.variable.name] : []);
  for (const c of config.checks) {
    const used = [...varsIn(c.path), ...varsIn(bodyText(c))];
    if (!isRead(c.method)) {
      if (!tenant)
        out.push({
          check: c.name,
          reason: `refused: ${c.method} writes, and no testTenant is configured to receive smoke writes`,
        });
      else if (!tenant.header && !used.includes(tenant.variable!.name)) {
        out.push({
          check: c.name,
          reason: `refused: ${c.method} does not address the test tenant (use {${tenant.variable!.name}} in its path or body)`,
        });
      }
    }
    // An explicit compare cannot be honoured without the old side; answering "not compared" would hide that.
    if (c.compare === true && old.kind === 'unreachable')
      out.push({ check: c.name, reason: `refused: compare is true, but ${old.reason}` });
    const unknown = [...new Set(used.filter((v) => !defined.has(v)))];
    if (unknown.length)
      out.push({
        check: c.name,
        reason: `uses ${unknown.map((v) => `{${v}}`).join(', ')}, which neither the test tenant nor an earlier check's capture defines`,
      });
    for (const v of Object.keys(c.capture)) defined.add(v);
  }
  return out;
}

function substitute(s: string, vars: ReadonlyMap<string, string>, encode: (v: string) => string): string {
  return s.replace(VAR, (m, v: string) => (vars.has(v) ? encode(vars.get(v)!) : m));
}

function substituteBody(body: unknown, vars: ReadonlyMap<string, string>): unknown {
  if (typeof body === 'string') return substitute(body, vars, (v) => v);
  if (Array.isArray(body)) return body.map((x) => substituteBody(x, vars));
  if (body && typeof body === 'object')
    return Object.fromEntries(Object.entries(body).map(([k, x]) => [k, substituteBody(x, vars)]));
  return body;
}

/** What is wrong with the new side's answer to a check; empty = as expected. */
export function evaluateAnswer(check: SmokeCheck, answer: ProbeResponse): string[] {
  const reasons: string[] = [];
  const e = check.expect;
  if (answer.status !== e.status) reasons.push(`status ${answer.status}, expected ${e.status}`);
  if (e.jsonPath) {
    let parsed: unknown;
    let json = true;
    try {
      parsed = JSON.parse(answer.body);
    } catch {
      json = false;
    }
    if (!json) reasons.push(`answer is not JSON, expected ${e.jsonPath} in it`);
    else if (!valueAt(parsed, e.jsonPath).found) reasons.push(`${e.jsonPath} is missing from the answer`);
  }
  if (e.text && !answer.body.includes(e.text)) reasons.push('expected text is missing from the answer');
  if (answer.ms > e.maxLatencyMs)
    reasons.push(`answered in ${Math.round(answer.ms)} ms, more than ${e.maxLatencyMs} ms`);
  return reasons;
}

function captured(check: SmokeCheck, answer: ProbeResponse): { values: [string, string][]; missing: string[] } {
  const values: [string, string][] = [];
  const missing: string[] = [];
  if (!Object.keys(check.capture).length) return { values, missing };
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return { values, missing: Object.values(check.capture) };
  }
  for (const [v, path] of Object.entries(check.capture)) {
    const r = valueAt(parsed, path);
    if (r.found && r.value !== null && typeof r.value !== 'object') values.push([v, String(r.value)]);
    else missing.push(path);
  }
  return { values, missing };
}

/** Where the old side answers, for the report. */
function oldTarget(probe: HttpProbe, old: OldSideAccess): string | null {
  if (old.kind === 'listener') return `${probe.description} (${SIDE_HEADER}: old)`;
  return old.kind === 'direct' ? old.probe.description : null;
}

/**
 * Run every check in order against the new side through `probe` (with `x-switchyard-side: new`),
 * and the checks that compare against the old side as `old` says: through the same probe with the
 * `old` header, through the old side's own probe without the side header, or not at all (read checks
 * then pass or fail on the new side's answer alone, reported `compared: false` with the reason).
 * Refused checks stop the phase before anything is sent. A check that needs a value a failed check
 * should have captured is skipped with that reason. Throws nothing for failed checks: the caller
 * decides (the handler throws {@link SmokeCheckFailedError}).
 */
export async function runSmokeChecks(
  config: SmokeConfig,
  probe: HttpProbe,
  old: OldSideAccess = OLD_SIDE_VIA_LISTENER,
): Promise<SmokeReport> {
  const target = oldTarget(probe, old);
  const refused = refusals(config, old);
  if (refused.length) return refusedReport(config, refused, target);
  const notCompared: string[] = [];
  const vars = new Map<string, string>(
    config.testTenant?.variable ? [[config.testTenant.variable.name, config.testTenant.variable.value]] : [],
  );
  const failedCaptures = new Map<string, string>();
  const checks: SmokeCheckResult[] = [];
  const failures: SmokeFailure[] = [];
  const fail = (c: SmokeCheck, reason: string, extra: Partial<SmokeCheckResult> = {}) => {
    failures.push({ check: c.name, reason });
    checks.push({ name: c.name, method: c.method, path: c.path, ok: false, compared: false, reason, ...extra });
  };
  for (const c of config.checks) {
    const needs = [...new Set([...varsIn(c.path), ...varsIn(bodyText(c))])].filter((v) => failedCaptures.has(v));
    if (needs.length) {
      fail(
        c,
        `skipped: needs ${needs.map((v) => `{${v}}`).join(', ')} from ${[...new Set(needs.map((v) => failedCaptures.get(v)))].join(', ')}, which failed`,
      );
      continue;
    }
    const request = requestFor(c, config, vars);
    const sendNew = () => probe.send({ ...request, headers: { ...request.headers, [SIDE_HEADER]: 'new' } });
    const sendOld = () =>
      old.kind === 'direct'
        ? old.probe.send(withoutSideHeader(request))
        : probe.send({ ...request, headers: { ...request.headers, [SIDE_HEADER]: 'old' } });
    const wanted = comparesWithOld(c);
    // Only a default compare reaches here unreachable (an explicit one is refused above).
    const compare = wanted && old.kind !== 'unreachable';
    if (wanted && !compare) notCompared.push(c.name);
    const notComparedReason = wanted && !compare && old.kind === 'unreachable' ? { reason: old.reason } : {};
    let answers: { new: ProbeResponse; old?: ProbeResponse };
    try {
      const [n, o] = await Promise.all([sendNew(), compare ? sendOld() : Promise.resolve(undefined)]);
      answers = { new: n, old: o };
    } catch (e) {
      for (const v of Object.keys(c.capture)) failedCaptures.set(v, c.name);
      fail(c, `request failed: ${describeError(e)}`, { compared: compare });
      continue;
    }
    const reasons = answerProblems(c, config, answers);
    const cap = captured(c, answers.new);
    for (const [v, value] of cap.values) vars.set(v, value);
    if (cap.missing.length) reasons.push(`cannot capture ${cap.missing.join(', ')} from the answer`);
    if (reasons.length) {
      for (const v of Object.keys(c.capture)) if (!vars.has(v)) failedCaptures.set(v, c.name);
      fail(c, reasons.join('; '), { status: answers.new.status, ms: Math.round(answers.new.ms), compared: compare });
    } else {
      checks.push({
        name: c.name,
        method: c.method,
        path: c.path,
        ok: true,
        status: answers.new.status,
        ms: Math.round(answers.new.ms),
        compared: compare,
        ...notComparedReason,
      });
    }
  }
  const compared = checks.filter((r) => r.compared).length;
  const oldReport: OldSideReport =
    notCompared.length && old.kind === 'unreachable'
      ? { target, compared, notCompared, reason: old.reason }
      : { target, compared, notCompared };
  return { passed: failures.length === 0, checks, failures, old: oldReport };
}

/** Refused checks stop the phase before anything is sent: each refused one with its reason, the others not run. */
function refusedReport(config: SmokeConfig, refused: SmokeFailure[], target: string | null): SmokeReport {
  const byName = new Map(refused.map((r) => [r.check, r.reason]));
  return {
    passed: false,
    failures: refused,
    checks: config.checks.map((c) => ({
      name: c.name,
      method: c.method,
      path: c.path,
      ok: !byName.has(c.name),
      compared: false,
      reason: byName.get(c.name) ?? 'not run: another check was refused',
    })),
    old: { target, compared: 0, notCompared: [] },
  };
}

/** The check's request with the captured values substituted, the test tenant's header and a JSON content type. */
function requestFor(c: SmokeCheck, config: SmokeConfig, vars: ReadonlyMap<string, string>): ProbeRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.headers)) headers[k.toLowerCase()] = v;
  if (config.testTenant?.header) headers[config.testTenant.header.name.toLowerCase()] = config.testTenant.header.value;
  const body = c.body === undefined ? undefined : JSON.stringify(substituteBody(c.body, vars));
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  return {
    method: c.method,
    path: substitute(c.path, vars, encodeURIComponent),
    headers,
    body,
    timeoutMs: config.timeoutMs,
  };
}

/** What is wrong with the new side's answer, and how it differs from the old side's (when compared). */
function answerProblems(
  c: SmokeCheck,
  config: SmokeConfig,
  answers: { new: ProbeResponse; old?: ProbeResponse },
): string[] {
  const reasons = evaluateAnswer(c, answers.new);
  if (answers.old) {
    const diffs = compareAnswers(
      { status: answers.old.status, body: answers.old.body },
      { status: answers.new.status, body: answers.new.body },
      [...config.ignoreFields, ...c.ignore],
      5,
    );
    if (diffs.length) reasons.push(`answer differs from the old side: ${diffs.join(', ')}`);
  }
  return reasons;
}

/** A request to the old side's own entry point: no side header (there is no direct-access rule there to match it). */
function withoutSideHeader(request: ProbeRequest): ProbeRequest {
  const headers = Object.fromEntries(Object.entries(request.headers).filter(([k]) => k.toLowerCase() !== SIDE_HEADER));
  return { ...request, headers };
}

/**
 * One line for the phase output and log: how many checks passed, and, when read checks were not
 * compared with the old side, which and why (with the fix).
 */
export function smokeSummary(report: SmokeReport): string {
  const total = report.checks.length;
  const head = report.passed
    ? `${total} of ${total} smoke checks passed`
    : `${report.failures.length} of ${total} smoke checks failed`;
  const cmp = report.old.target ? `; ${report.old.compared} compared with the old side at ${report.old.target}` : '';
  const not = report.old.notCompared.length
    ? `; not compared with the old side: ${report.old.notCompared.join(', ')} (${report.old.reason})`
    : '';
  return `${head}${cmp}${not}`;
}

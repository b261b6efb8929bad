import { JSON_PATH } from './config';

/**
 * Normalise and compare two answers of the service structurally: JSON objects compare by key
 * (order irrelevant), arrays by position, ignored fields are removed first. Differences are
 * reported as JSON paths with what kind of difference it is, never with the values: answers may
 * hold user data.
 */

export type PathStep = string | number | '*';

/** `$.items[0].id` -> ['items', 0, 'id']; `[*]` -> '*'. Throws on a malformed path. */
export function parseJsonPath(path: string): PathStep[] {
  if (!JSON_PATH.test(path)) throw new Error(`must be a JSON path like $.items[0].id, got: ${path}`);
  const steps: PathStep[] = [];
  for (const m of path.slice(1).matchAll(/\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+|\*)\]/g)) {
    steps.push(m[1] !== undefined ? m[1] : m[2] === '*' ? '*' : Number(m[2]));
  }
  return steps;
}

/** The value at a JSON path (no wildcards), or `found: false`. */
export function valueAt(value: unknown, path: string): { found: boolean; value?: unknown } {
  let cur: unknown = value;
  for (const step of parseJsonPath(path)) {
    if (step === '*') return { found: false };
    if (typeof step === 'number') {
      if (!Array.isArray(cur) || step >= cur.length) return { found: false };
      cur = cur[step];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, step))
        return { found: false };
      cur = (cur as Record<string, unknown>)[step];
    }
  }
  return { found: true, value: cur };
}

const formatPath = (steps: readonly (string | number)[]) =>
  `$${steps.map((s) => (typeof s === 'number' ? `[${s}]` : `.${s}`)).join('')}`;

function matches(pattern: PathStep[], at: readonly (string | number)[]): boolean {
  return pattern.length === at.length && pattern.every((p, i) => p === '*' || p === at[i]);
}

/**
 * Remove ignored fields: a bare name (`createdAt`) at any depth, a JSON path (`$.items[*].requestId`)
 * where it matches. Returns a new value; the input is not changed.
 */
export function normalise(value: unknown, ignore: readonly string[]): unknown {
  const names = new Set(ignore.filter((f) => !f.startsWith('$')));
  const paths = ignore.filter((f) => f.startsWith('$')).map(parseJsonPath);
  const walk = (v: unknown, at: (string | number)[]): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...at, i]));
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const here = [...at, k];
      if (names.has(k) || paths.some((p) => matches(p, here))) continue;
      out[k] = walk(x, here);
    }
    return out;
  };
  return paths.some((p) => p.length === 0) ? undefined : walk(value, []);
}

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Structural differences between two JSON values as `path: what`, at most `limit` (then a count of the rest). */
export function diffJson(oldValue: unknown, newValue: unknown, limit = 10): string[] {
  const out: string[] = [];
  let more = 0;
  const add = (s: string) => {
    if (out.length < limit) out.push(s);
    else more++;
  };
  const walk = (a: unknown, b: unknown, at: (string | number)[]) => {
    const ka = kind(a);
    const kb = kind(b);
    if (ka !== kb) {
      add(`${formatPath(at)}: ${ka} on old, ${kb} on new`);
      return;
    }
    if (ka === 'array') {
      const xa = a as unknown[];
      const xb = b as unknown[];
      if (xa.length !== xb.length) add(`${formatPath(at)}: ${xa.length} items on old, ${xb.length} on new`);
      for (let i = 0; i < Math.min(xa.length, xb.length); i++) walk(xa[i], xb[i], [...at, i]);
      return;
    }
    if (ka === 'object') {
      const oa = a as Record<string, unknown>;
      const ob = b as Record<string, unknown>;
      for (const k of [...new Set([...Object.keys(oa), ...Object.keys(ob)])].sort()) {
        if (!(k in ob)) add(`${formatPath([...at, k])}: only on old`);
        else if (!(k in oa)) add(`${formatPath([...at, k])}: only on new`);
        else walk(oa[k], ob[k], [...at, k]);
      }
      return;
    }
    if (a !== b) add(`${formatPath(at)}: differs`);
  };
  walk(oldValue, newValue, []);
  if (more) out.push(`... and ${more} more`);
  return out;
}

/** One answer as the comparison sees it. */
export interface ComparableAnswer {
  readonly status: number;
  readonly body: string;
  readonly contentType?: string;
}

function parseJson(body: string): { ok: true; value: unknown } | { ok: false } {
  if (!body.trim()) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false };
  }
}

/**
 * Compare the old side's answer with the new side's after normalisation. Empty = the same.
 * A different status is the only difference reported; JSON bodies compare structurally; anything else compares as trimmed text (reported by length only).
 */
export function compareAnswers(
  oldAnswer: ComparableAnswer,
  newAnswer: ComparableAnswer,
  ignore: readonly string[],
  limit = 10,
): string[] {
  // Different statuses: the bodies (an error page against a resource) say nothing more.
  if (oldAnswer.status !== newAnswer.status) return [`status: ${oldAnswer.status} on old, ${newAnswer.status} on new`];
  const diffs: string[] = [];
  const a = parseJson(oldAnswer.body);
  const b = parseJson(newAnswer.body);
  if (a.ok && b.ok) return [...diffs, ...diffJson(normalise(a.value, ignore), normalise(b.value, ignore), limit)];
  if (a.ok !== b.ok)
    return [...diffs, `body: ${a.ok ? 'JSON' : 'not JSON'} on old, ${b.ok ? 'JSON' : 'not JSON'} on new`];
  const ta = oldAnswer.body.trim();
  const tb = newAnswer.body.trim();
  if (ta !== tb) diffs.push(`body: text differs (${utf8Length(ta)} bytes on old, ${utf8Length(tb)} on new)`);
  return diffs;
}

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

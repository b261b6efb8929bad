/**
 * Static checks of the SQL a spec carries (column expressions, source queries): each
 * must be one side-effect-free expression, or one plain SELECT. A small tokenizer reads
 * the text the way PostgreSQL's lexer does for the parts that matter (string literals,
 * quoted identifiers, comments, dollar quotes), so `';'` inside a string or
 * `"delete"` as a quoted identifier never trips it, and nothing can hide from it.
 *
 * This is one layer: the source session is also read-only (db.ts) and every source
 * transaction is `BEGIN READ ONLY`, so a write that gets past the check (a user
 * function with side effects) is still refused by the server.
 */

export type TokenKind = 'ident' | 'quoted' | 'string' | 'number' | 'op' | 'punct';

export interface Token {
  readonly kind: TokenKind;
  /** Identifiers lower-cased; quoted identifiers unquoted; strings without quotes. */
  readonly text: string;
}

/** Why a text cannot be tokenized or used: a short reason, never the offending text. */
export class GuardViolation extends Error {}

const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const OP_CHARS = '+-*/<>=~!@#%^&|`?';

/** A string literal's text from `j` (after the opening quote) and where it ends; `escapes`: an E'…' literal. */
function readString(sql: string, from: number, escapes: boolean): [string, number] {
  let j = from;
  let text = '';
  for (;;) {
    if (j >= sql.length) throw new GuardViolation('unterminated string literal');
    const d = sql[j];
    if (escapes && d === '\\') {
      text += sql[j + 1] ?? '';
      j += 2;
      continue;
    }
    if (d === "'") {
      if (sql[j + 1] !== "'") return [text, j + 1];
      text += "'";
      j += 2;
      continue;
    }
    text += d;
    j++;
  }
}

/** A quoted identifier's text from `from` (after the opening quote) and where it ends. */
function readQuoted(sql: string, from: number): [string, number] {
  let j = from;
  let text = '';
  for (;;) {
    if (j >= sql.length) throw new GuardViolation('unterminated quoted identifier');
    if (sql[j] === '"') {
      if (sql[j + 1] !== '"') return [text, j + 1];
      text += '"';
      j += 2;
      continue;
    }
    text += sql[j++];
  }
}

/** Tokenize SQL text; throws GuardViolation on comments, dollar quotes, parameters, unterminated literals. */
export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if ((c === '-' && sql[i + 1] === '-') || (c === '/' && sql[i + 1] === '*'))
      throw new GuardViolation('comments are not allowed');
    if (c === '$') {
      // $1 parameters and $tag$ … $tag$ dollar quoting: neither belongs in a spec.
      throw new GuardViolation(
        /[0-9]/.test(sql[i + 1] ?? '') ? 'parameters ($n) are not allowed' : 'dollar quoting ($$ … $$) is not allowed',
      );
    }
    if (c === "'" || ((c === 'E' || c === 'e') && sql[i + 1] === "'")) {
      const escapes = c !== "'";
      const [text, end] = readString(sql, escapes ? i + 2 : i + 1, escapes);
      out.push({ kind: 'string', text });
      i = end;
      continue;
    }
    if (c === '"' || ((c === 'U' || c === 'u') && sql[i + 1] === '&' && sql[i + 2] === '"')) {
      const [text, end] = readQuoted(sql, c === '"' ? i + 1 : i + 3);
      out.push({ kind: 'quoted', text });
      i = end;
      continue;
    }
    if ((c === 'U' || c === 'u') && sql[i + 1] === '&' && sql[i + 2] === "'")
      throw new GuardViolation('U& string literals are not allowed');
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT_PART.test(sql[j])) j++;
      out.push({ kind: 'ident', text: sql.slice(i, j).toLowerCase() });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      let j = i + 1;
      while (j < n && /[0-9a-zA-Z_.]/.test(sql[j])) {
        if ((sql[j] === 'e' || sql[j] === 'E') && (sql[j + 1] === '+' || sql[j + 1] === '-')) j++;
        j++;
      }
      out.push({ kind: 'number', text: sql.slice(i, j) });
      i = j;
      continue;
    }
    if (OP_CHARS.includes(c)) {
      let j = i + 1;
      while (j < n && OP_CHARS.includes(sql[j])) {
        if ((sql[j] === '-' && sql[j + 1] === '-') || (sql[j] === '/' && sql[j + 1] === '*'))
          throw new GuardViolation('comments are not allowed');
        j++;
      }
      out.push({ kind: 'op', text: sql.slice(i, j) });
      i = j;
      continue;
    }
    if ('(),.;:[]'.includes(c)) {
      out.push({ kind: 'punct', text: c });
      i++;
      continue;
    }
    throw new GuardViolation(`unexpected character U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`);
  }
  return out;
}

/** Functions that write, lock, signal, reach other databases or change session settings, even in a read-only transaction. */
const FORBIDDEN_FUNCTIONS: readonly (string | RegExp)[] = [
  'set_config',
  'nextval',
  'setval',
  'currval',
  'lastval',
  'txid_current',
  'pg_current_xact_id',
  /^pg_(try_)?advisory/,
  /^dblink/,
  /^lo_/,
  'lowrite',
  'loread',
  /^pg_(terminate|cancel)_backend$/,
  'pg_notify',
  /^pg_logical_emit_message$/,
  /^pg_(create|drop|copy)_.*(slot|restore_point)/,
  /^pg_replication_/,
  'pg_switch_wal',
  'pg_reload_conf',
  'pg_rotate_logfile',
  /^pg_stat_reset/,
  /^pg_(read|write|ls)_(binary_)?(file|dir)/,
  'pg_import_system_collations',
  'query_to_xml',
  'query_to_xml_and_xmlschema',
  'table_to_xml',
  'cursor_to_xml',
];

/** Statement keywords that have no place inside one SELECT expression (writable CTEs, COPY, SELECT … INTO, locking). */
const FORBIDDEN_KEYWORDS = new Set([
  'insert',
  'update',
  'delete',
  'merge',
  'copy',
  'into',
  'truncate',
  'call',
  'do',
  'lock',
  'listen',
  'notify',
  'prepare',
  'execute',
  'grant',
  'revoke',
  'vacuum',
  'create',
  'drop',
  'alter',
  'set',
  'reset',
  'begin',
  'commit',
  'rollback',
  'savepoint',
  'declare',
]);

function forbiddenFunction(name: string): boolean {
  return FORBIDDEN_FUNCTIONS.some((f) => (typeof f === 'string' ? f === name : f.test(name)));
}

/**
 * Problems of one piece of spec SQL (empty when safe). `kind` `expression`: one value
 * expression over `s`; `query`: one SELECT (or WITH … SELECT) statement.
 */
export function sqlProblems(sql: string, kind: 'expression' | 'query'): string[] {
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch (e) {
    if (e instanceof GuardViolation) return [e.message];
    throw e;
  }
  const problems = new Set<string>();
  let depth = 0;
  tokens.forEach((t, i) => {
    const prev = tokens[i - 1];
    const next = tokens[i + 1];
    const afterDot = prev?.kind === 'punct' && prev.text === '.';
    if (t.kind === 'punct' && t.text === ';') problems.add('more than one statement (;)');
    if (t.kind === 'punct' && t.text === '(') depth++;
    if (t.kind === 'punct' && t.text === ')' && --depth < 0) problems.add('unbalanced parentheses');
    const name = t.kind === 'ident' || t.kind === 'quoted' ? t.text.toLowerCase() : undefined;
    if (name !== undefined && next?.kind === 'punct' && next.text === '(' && forbiddenFunction(name))
      problems.add(`calls ${name}()`);
    if (t.kind === 'ident' && !afterDot && FORBIDDEN_KEYWORDS.has(t.text))
      problems.add(`contains ${t.text.toUpperCase()}`);
    if (
      t.kind === 'ident' &&
      t.text === 'for' &&
      next?.kind === 'ident' &&
      ['update', 'share', 'no', 'key'].includes(next.text)
    )
      problems.add('locks rows (FOR UPDATE/SHARE)');
  });
  if (depth > 0) problems.add('unbalanced parentheses');
  if (kind === 'query') {
    const first = tokens[0];
    if (first?.kind !== 'ident' || !['select', 'with'].includes(first.text)) problems.add('is not a SELECT');
  } else if (!tokens.length) {
    problems.add('is empty');
  }
  return [...problems];
}

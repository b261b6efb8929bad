/**
 * Functions a reader can name: none over 80 lines outside the state-machine definitions and the
 * CLI program, and phase handlers under 100 lines (CONTRIBUTING.md). Measured with the TypeScript
 * compiler's parser: from a function's first token (after its doc comment) to its closing brace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..');
const MAX_FUNCTION_LINES = 80;
const MAX_HANDLER_LINES = 100;

/** Where a long function is the clearest form: each is one declaration read top to bottom. */
const ALLOWED_PATHS: readonly RegExp[] = [
  /^lib\/constructs\/workflows\//, // the state-machine definitions: states chained in order
  /^bin\/cli\/program\.ts$/, // the CLI program: one commander declaration per command
];

/**
 * Functions still over the limit, each with why it is not split yet. The test fails when one is
 * split (drop it from the list) or when a function not listed here grows past the limit.
 */
const NOT_YET_SPLIT: Record<string, string> = {};

/** Phase handler files still over 100 lines, with the reason. */
const HANDLERS_NOT_YET_THIN: Record<string, string> = {};

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

/** A function's name as a reader finds it: declared name, the variable or property it is assigned to, or its class member. */
function nameOf(n: ts.Node, sf: ts.SourceFile): string {
  const named = (n as ts.FunctionDeclaration).name;
  if (named) return named.getText(sf);
  if (ts.isConstructorDeclaration(n))
    return `${(n.parent as ts.ClassDeclaration).name?.getText(sf) ?? 'class'}.constructor`;
  const p = n.parent;
  if (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p))
    return p.name.getText(sf);
  if (ts.isCallExpression(p)) return `${p.expression.getText(sf).slice(0, 40)}(…)`;
  return '<anonymous>';
}

/** Every function-like node with a body over `max` lines: `path name` → lines. */
function longFunctions(files: readonly string[], max: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of files) {
    const sf = ts.createSourceFile(f, fs.readFileSync(path.join(ROOT, f), 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node) => {
      if (ts.isFunctionLike(n) && (n as ts.FunctionLikeDeclaration).body) {
        const first = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
        const last = sf.getLineAndCharacterOfPosition(n.getEnd()).line;
        if (last - first + 1 > max) out[`${f} ${nameOf(n, sf)}`] = last - first + 1;
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out;
}

describe('functions a reader can name', () => {
  test('GIVEN bin, lib and lambda WHEN every function is measured THEN none is over 80 lines outside the allowed paths', () => {
    const files = ['bin', 'lib', 'lambda'].flatMap(sources).filter((f) => !ALLOWED_PATHS.some((re) => re.test(f)));
    const long = longFunctions(files, MAX_FUNCTION_LINES);
    const offenders = Object.entries(long)
      .filter(([k]) => !(k in NOT_YET_SPLIT))
      .map(([k, n]) => `${k}: ${n} lines`);
    expect(offenders).toEqual([]);
    expect(Object.keys(NOT_YET_SPLIT).filter((k) => !(k in long))).toEqual([]); // split: drop it from the list
  });

  test('GIVEN the phase handlers WHEN their files are measured THEN each is under 100 lines', () => {
    const notHandlers = new Set(['aws-wiring.ts', 'index.ts', 'registry.ts']);
    const handlers = fs
      .readdirSync(path.join(ROOT, 'lambda/handlers'))
      .filter((f) => f.endsWith('.ts') && !notHandlers.has(f))
      .map((f) => `lambda/handlers/${f}`);
    const lines = Object.fromEntries(
      handlers.map((f) => [f, fs.readFileSync(path.join(ROOT, f), 'utf8').trimEnd().split('\n').length]),
    );
    const over = handlers.filter((f) => lines[f] >= MAX_HANDLER_LINES);
    expect(over.filter((f) => !(f in HANDLERS_NOT_YET_THIN)).map((f) => `${f}: ${lines[f]} lines`)).toEqual([]);
    expect(Object.keys(HANDLERS_NOT_YET_THIN).filter((f) => !over.includes(f))).toEqual([]);
  });
});

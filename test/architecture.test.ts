import * as fs from 'node:fs';
import * as path from 'node:path';
import { PHASE_NAMES } from '../lambda/phases';

const ROOT = path.join(__dirname, '..');

function sources(dir: string): string[] {
  const abs = path.join(ROOT, dir);
  if (!fs.existsSync(abs)) return [];
  return fs.readdirSync(abs, { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return sources(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

const read = (f: string) => fs.readFileSync(path.join(ROOT, f), 'utf8');
const importsOf = (f: string) => [...read(f).matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);

describe('the rooms and their one-way arrows (docs/architecture.md)', () => {
  test('GIVEN lambda/core WHEN its imports are read THEN it does no I/O: no pg, fs or AWS SDK', () => {
    const offenders = sources('lambda/core').flatMap((f) =>
      importsOf(f)
        .filter(
          (i) => /^(pg|pg-copy-streams|fs|node:fs|fs\/promises|http|https|net)$/.test(i) || i.startsWith('@aws-sdk/'),
        )
        .map((i) => `${f} imports ${i}`),
    );
    expect(offenders).toEqual([]);
  });

  test('GIVEN core, engine and adapters WHEN their imports are read THEN none points back up into handlers or rehearsal', () => {
    const offenders = ['lambda/core', 'lambda/engine', 'lambda/adapters'].flatMap((dir) =>
      sources(dir).flatMap((f) =>
        importsOf(f)
          .filter((i) => i.startsWith('.'))
          .map((i) => path.relative(ROOT, path.resolve(ROOT, path.dirname(f), i)))
          .filter((target) => /^lambda\/(handlers|rehearsal)(\/|$)/.test(target))
          .map((target) => `${f} imports ${target}`),
      ),
    );
    expect(offenders).toEqual([]);
  });

  test('GIVEN the phase manifest WHEN the sources are searched THEN each phase name is a string literal in lambda/phases.ts only', () => {
    const files = [...sources('lambda'), ...sources('lib'), ...sources('bin')].filter(
      (f) => f !== path.join('lambda', 'phases.ts'),
    );
    // The same word in another vocabulary, not the phase: each with its reason.
    const otherVocabulary: Record<string, RegExp> = {
      'lib/stacks/switchyard-stage.ts': /name\('backup'\)/g, // the backup stack's name
      'bin/cli/program.ts': /\.command\('sync'\)/g, // the CLI's `switchyard sync` command
      'lambda/engine/sql-guard.ts': /'lock'/g, // the SQL keyword LOCK, refused in spec expressions
      'lib/constructs/workflows/index.ts': /'smoke' \| 'canary'/g, // the stage config's verification.smoke field
      'lib/constructs/workflows/migrate.ts': /'smoke' \| 'canary'/g,
      'lib/local-template.ts': /'smoke' \| 'canary'/g,
      'lambda/handlers/aws-wiring.ts': /PhaseDeps\['lock'\]/g, // the PhaseDeps field
      'lambda/engine/sync/receive.ts': /on\('copyData'/g, // the pg driver's CopyData protocol event
    };
    const code = (f: string) =>
      read(f)
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '')
        .replace(otherVocabulary[f] ?? /$^/g, '');
    const offenders = PHASE_NAMES.flatMap((name) =>
      files.filter((f) => new RegExp(`['"\`]${name}['"\`]`).test(code(f))).map((f) => `${name} in ${f}`),
    );
    expect(offenders).toEqual([]);
  });

  test('GIVEN the manifest WHEN the Lambda entry is loaded THEN it exports exactly one handler per phase', () => {
    const entry = require('../lambda/handlers/index') as Record<string, unknown>;
    expect(Object.keys(entry).sort()).toEqual([...PHASE_NAMES].sort());
    for (const name of PHASE_NAMES) expect(typeof entry[name]).toBe('function');
  });
});

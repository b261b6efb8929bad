import * as fs from 'fs';
import * as path from 'path';
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
        .filter((i) => /^(pg|pg-copy-streams|fs|node:fs|fs\/promises|http|https|net)$/.test(i) || i.startsWith('@aws-sdk/'))
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
    const files = [...sources('lambda'), ...sources('lib'), ...sources('bin')].filter((f) => f !== path.join('lambda', 'phases.ts'));
    // The same word used for something that is not the phase: the backup stack's name.
    const notThePhase = (f: string, name: string) => read(f).replace(/name\('backup'\)/g, '').match(new RegExp(`['"\`]${name}['"\`]`)) === null;
    const offenders = PHASE_NAMES.flatMap((name) => files.filter((f) => !notThePhase(f, name)).map((f) => `${name} in ${f}`));
    expect(offenders).toEqual([]);
  });

  test('GIVEN the manifest WHEN the Lambda entry is loaded THEN it exports exactly one handler per phase', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const entry = require('../lambda/handlers/index') as Record<string, unknown>;
    expect(Object.keys(entry).sort()).toEqual([...PHASE_NAMES].sort());
    for (const name of PHASE_NAMES) expect(typeof entry[name]).toBe('function');
  });
});

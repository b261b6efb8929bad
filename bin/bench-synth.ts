#!/usr/bin/env node
/**
 * npm run bench:synth [-- --reps 3 --json]
 *
 * Times `cdk synth -q` of the whole app (every stage, assets bundled), as a user runs it:
 *   cold: into an empty output directory (esbuild builds the one handler bundle);
 *   warm: again into the same directory (the bundle of unchanged sources is reused).
 * Medians of --reps runs each, with the load average beside them (figures from a loaded machine
 * are not comparable). Run by `npm run bench` after the data benchmarks (npm's `postbench`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = path.join(__dirname, '..');
const CDK = path.join(ROOT, 'node_modules', '.bin', 'cdk');

function parseArgs(argv: string[]): { reps: number; json: boolean } {
  const at = argv.indexOf('--reps');
  const reps = at >= 0 ? Number(argv[at + 1]) : 3;
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a positive integer, got: ${argv[at + 1]}`);
  return { reps, json: argv.includes('--json') };
}

/** One `cdk synth -q` into `outdir`, in seconds; throws with its output when it fails. */
function synthSeconds(outdir: string): number {
  const t0 = performance.now();
  const r = spawnSync(CDK, ['synth', '-q', '--output', outdir], { cwd: ROOT, encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`cdk synth failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function main() {
  const { reps, json } = parseArgs(process.argv.slice(2));
  const cold: number[] = [];
  const warm: number[] = [];
  const load = os.loadavg()[0];
  for (let i = 0; i < reps; i++) {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
    try {
      cold.push(synthSeconds(outdir));
      warm.push(synthSeconds(outdir));
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  }
  const result = {
    synthColdSeconds: median(cold),
    synthWarmSeconds: median(warm),
    runs: { cold, warm },
    cpus: os.cpus().length,
    loadAverage1m: { before: load, after: os.loadavg()[0] },
  };
  if (json) console.log(JSON.stringify(result));
  else
    console.log(
      `cdk synth -q, whole app (median of ${reps}): cold ${result.synthColdSeconds.toFixed(1)} s, ` +
        `warm ${result.synthWarmSeconds.toFixed(1)} s (${result.cpus} CPUs, ` +
        `load ${load.toFixed(1)} → ${result.loadAverage1m.after.toFixed(1)})`,
    );
}

main();

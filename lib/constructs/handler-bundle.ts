import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * The one bundle every phase function runs. Each function points at its own export of the same
 * entry (`index.<phase>`), so the bundle is built once per app and shared: its asset hash is taken
 * from the sources instead of the output, which lets CDK (a) stage the asset once for every
 * function of every stage and (b) skip esbuild altogether when `cdk.out` already holds a bundle
 * of the same sources. The assets are still built at synth (`cdk deploy`, the pipeline's synth
 * step): nothing to run by hand.
 */

const ROOT = path.join(__dirname, '..', '..');

/** The bundled entry holding every phase handler (one asset for all functions). */
export const HANDLERS_ENTRY = path.join(ROOT, 'lambda', 'handlers', 'index.ts');

/** The esbuild options of the bundle (part of its hash: a changed option is a new bundle). */
const OPTIONS = {
  minify: true,
  sourceMap: true,
  target: 'node22',
  // pg's optional native binding is never used; the AWS SDK v3 comes with the Node.js runtime.
  externalModules: ['pg-native', '@aws-sdk/*'],
} as const satisfies nodejs.BundlingOptions;

/** Everything the bundle is built from: the Lambda sources, the locked dependencies, the compiler settings. */
function bundleInputs(): string[] {
  const files = [path.join(ROOT, 'package-lock.json'), path.join(ROOT, 'tsconfig.json')];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(path.join(ROOT, 'lambda'));
  return files.sort();
}

let cached: string | undefined;

/** sha256 of the bundle's inputs (paths and contents) and options; computed once per process. */
export function handlerSourceHash(): string {
  if (cached) return cached;
  const h = createHash('sha256').update(JSON.stringify(OPTIONS));
  for (const f of bundleInputs()) h.update(path.relative(ROOT, f)).update('\0').update(fs.readFileSync(f));
  cached = h.digest('hex');
  return cached;
}

/** The bundling options every phase function shares (one asset hash, so one esbuild run at most). */
export function handlerBundling(): nodejs.BundlingOptions {
  return { ...OPTIONS, externalModules: [...OPTIONS.externalModules], assetHash: handlerSourceHash() };
}

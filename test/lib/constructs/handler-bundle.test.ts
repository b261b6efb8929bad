import * as path from 'node:path';
import { build } from 'esbuild';
import { HANDLERS_ENTRY, handlerBundling, handlerSourceHash } from '../../../lib/constructs/handler-bundle';

describe('the handler bundle', () => {
  test('its asset hash is the hash of its sources, the same on every call', () => {
    expect(handlerSourceHash()).toMatch(/^[0-9a-f]{64}$/);
    expect(handlerBundling().assetHash).toBe(handlerSourceHash());
  });

  // The hash covers lambda/** and package-lock.json: a bundled file outside them would be deployed stale.
  test('bundles nothing outside lambda/ and the locked node_modules', async () => {
    const root = path.join(__dirname, '..', '..', '..');
    const r = await build({
      entryPoints: [HANDLERS_ENTRY],
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      write: false,
      metafile: true,
      external: [...(handlerBundling().externalModules ?? [])],
      logLevel: 'silent',
    });
    const outside = Object.keys(r.metafile.inputs).filter(
      (f) => !f.startsWith('lambda/') && !f.startsWith('node_modules/'),
    );
    expect(outside).toEqual([]);
  });
});

import type { DbEndpoint } from '../../../lambda/engine';
import { registerSpec } from '../../../lambda/engine/specs';
import { createSync, ReplicationSlotMissingError } from '../../../lambda/engine/sync';
import type { PhaseDeps } from '../../../lambda/handlers/support/deps';
import { createLogger } from '../../../lambda/handlers/support/logger';
import { sync } from '../../../lambda/handlers/sync';
import { query } from '../../support/pg';
import { copyAll, itemsSpec, rolePair } from '../engine/sync/helpers';

registerSpec(itemsSpec);

describe('sync handler, bake: a failed direction stops the bake', () => {
  test('GIVEN a 60 s bake whose reverse direction fails at once (no reverse slot) WHEN baked THEN the failure is thrown only once the forward run has stopped too (nothing left running)', async () => {
    const { source, target } = await rolePair('sybk');
    await query(source, `INSERT INTO items SELECT g, 'item ' || g, NULL, g FROM generate_series(1, 10) g`);
    await createSync(source, itemsSpec, 'bakestop', 'forward');
    await copyAll(itemsSpec, source, target);
    const deps = () =>
      ({
        log: createLogger({}, () => undefined),
        specName: itemsSpec.name,
        sourceDb: async () => source,
        targetDb: async (): Promise<DbEndpoint> => target,
        now: () => Date.now(),
      }) as unknown as PhaseDeps;
    const err = await sync
      .make(deps)({ action: 'bake', migrationId: 'bakestop', seconds: 60 }, { getRemainingTimeInMillis: () => 900_000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReplicationSlotMissingError);
    // The forward applier's sessions are gone when the handler returns: it was stopped, not left to run for 60 s.
    const left = await query(
      source,
      `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'switchyard-sync%'`,
    );
    expect(left).toEqual([]);
  }, 120_000);
});

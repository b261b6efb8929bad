import type { DbEndpoint } from '../../lambda/engine';
import {
  appInsertsOnTarget,
  cleanup,
  missingWrites,
  REAL_SCHEMA,
  REAL_SEED,
  type RealSyncOutcome,
  syncUnderWrites,
  tableContents,
} from '../cli/support/real-schema';
import { label, matrixPairs, type Pair, roleDb } from './matrix';

/**
 * `switchyard sync` (no spec) of an application schema (test/cli/support/real-schema.ts: a quoted
 * table name in a non-public schema, mixed-case columns, composite, identity, serial and uuid keys,
 * json/jsonb, arrays, an enum array, a generated column, a partitioned table, TOAST, deferrable and
 * self-referencing foreign keys) with writers on the source through the copy, the streaming sync and
 * the switchover (until its fence ends their sessions): on every major and cross-version pair, both directions (newer → older too).
 */
// test:versions only (jest.config.js leaves it out of npm test); 18 → 18 is test/cli/sync-real-schemas.test.ts.
describe.each(matrixPairs({ upgradeOnly: true }).map((p) => [label(p), p] as const))(
  'switchyard sync of a real schema, %s',
  (_l, pair: Pair) => {
    let source: DbEndpoint;
    let target: DbEndpoint;
    let run: RealSyncOutcome;

    beforeAll(async () => {
      source = await roleDb(pair.old, 'rs_src', [...REAL_SCHEMA, ...REAL_SEED]);
      target = await roleDb(pair.new, 'rs_tgt');
      run = await syncUnderWrites(source, target, { writers: 2, streamWrites: 40, throughSwitchover: true });
    }, 170_000);

    afterAll(async () => {
      if (source && target) await cleanup(source, target);
    });

    test('GIVEN writers through the copy, the stream and the switchover WHEN the fence stops them THEN nothing is lost', async () => {
      expect(run.syncErr).not.toMatch(/^error/m);
      expect(run.syncCode).toBe(0);
      expect(run.switchoverText).not.toMatch(/^error/m);
      expect(run.switchoverCode).toBe(0);
      expect(run.duringStream).toBeGreaterThan(0);
      expect(run.fencedWriters).toBe(2);
      expect(await tableContents(target)).toEqual(await tableContents(source));
      expect(await missingWrites(target, run.ledger)).toEqual([]);
    });

    test('GIVEN the switchover WHEN the application inserts on the target without ids THEN defaults and sequences work', async () => {
      expect(await appInsertsOnTarget(source, target)).toEqual({
        customerIdPastSource: true,
        generatedTax: true,
        invoiceIdPastSource: true,
        invoiceNumberPastSource: true,
        eventIdPastSource: true,
      });
    });
  },
);

import { runEngineDrills } from '../../lambda/rehearsal/engine-drills';
import { freshDatabase } from '../support/pg';

describe('data drills (npm run drill)', () => {
  test('GIVEN a TOASTed-column conflict, a TRUNCATE on each side and a schema with foreign keys and unique constraints under writes, a stale execution WHEN drilled THEN each ends with lost = 0', async () => {
    const results = await runEngineDrills((name) => freshDatabase(name));
    expect(results.map((r) => [r.name, r.lost, r.error])).toEqual([
      ['conflict on a TOASTed column', 0, undefined],
      ['TRUNCATE on the old side', 0, undefined],
      ['TRUNCATE on the new side', 0, undefined],
      ['foreign keys and unique constraints under writes during the copy', 0, undefined],
      ['a stale execution after its lease expired applies behind a newer one', 0, undefined],
    ]);
    expect(results.every((r) => r.ok)).toBe(true);
  }, 240_000);
});

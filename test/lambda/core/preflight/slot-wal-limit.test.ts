import { slotWalLimitOutcome } from '../../../../lambda/core/preflight/slot-wal-limit';

describe('slotWalLimitOutcome (a stalled slot must not fill a disk)', () => {
  test('GIVEN a cap on both sides THEN pass, naming both', () => {
    expect(
      slotWalLimitOutcome([
        { side: 'old', mb: 4096 },
        { side: 'new', mb: 25600 },
      ]),
    ).toEqual({ status: 'pass', detail: 'max_slot_wal_keep_size: old 4096 MB, new 25600 MB' });
  });

  test('fails when a side is unlimited (-1, the PostgreSQL default of an imported database), with the fix', () => {
    const o = slotWalLimitOutcome([
      { side: 'old', mb: -1 },
      { side: 'new', mb: 4096 },
    ]);
    expect(o.status).toBe('fail');
    expect(o.detail).toBe(
      "max_slot_wal_keep_size: old unlimited (-1), new 4096 MB: a stalled slot could fill the old database's disk",
    );
    expect(o.fix).toMatch(/^set max_slot_wal_keep_size .* parameter group/);
  });

  test('GIVEN neither side says THEN not applicable', () => {
    expect(
      slotWalLimitOutcome([
        { side: 'old', mb: null },
        { side: 'new', mb: null },
      ]).status,
    ).toBe('not-applicable');
  });
});

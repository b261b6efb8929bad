import { expectedRetentionBytes, storageHeadroomOutcome } from '../../../../lambda/core/preflight/storage-headroom';

const GB = 1024 ** 3;
const MB = 1024 ** 2;
/** 1 MB/s of WAL: a day is 84.4 GB. */
const busy = { walBytesPerSecond: MB, capMb: -1 };

describe('storageHeadroomOutcome (a slot stalled for a day must fit in the free storage)', () => {
  test('GIVEN an uncapped busy side with little free storage THEN fail, naming the side and the cap to set', () => {
    const o = storageHeadroomOutcome([
      { side: 'old', freeBytes: 100 * GB, ...busy },
      { side: 'new', freeBytes: 500 * GB, ...busy },
    ]);
    expect(o.status).toBe('fail');
    expect(o.detail).toBe(
      'old: 100.0 GB free, a 24 h stall retains 84.4 GB; new: 500.0 GB free, a 24 h stall retains 84.4 GB: ' +
        'more than 50 % of the free storage on old',
    );
    expect(o.fix).toContain('max_slot_wal_keep_size (MB, parameter group) below 51200 on old');
  });

  test('GIVEN the same side with a cap under half its free storage THEN pass: the slot is invalidated first', () => {
    expect(expectedRetentionBytes({ side: 'old', freeBytes: 100 * GB, walBytesPerSecond: MB, capMb: 4096 })).toBe(
      4096 * MB,
    );
    expect(
      storageHeadroomOutcome([{ side: 'old', freeBytes: 100 * GB, walBytesPerSecond: MB, capMb: 4096 }]).status,
    ).toBe('pass');
  });

  test('GIVEN no free-storage figure on either side (Aurora, a local server) THEN not applicable', () => {
    expect(
      storageHeadroomOutcome([
        { side: 'old', freeBytes: null, ...busy },
        { side: 'new', freeBytes: null, ...busy },
      ]).status,
    ).toBe('not-applicable');
  });
});

import { connectionCheck } from '../../../../lambda/core/preflight/connections';

describe('connectionCheck', () => {
  const use = { maxConnections: 100, reserved: 3, inUse: 20 };

  test("GIVEN an inline copy of 4 WHEN 20 of 97 usable connections are in use THEN ok, with what is left after the service's headroom", () => {
    expect(connectionCheck('old', use, { copyConcurrency: 4, copyWorkers: 1 })).toEqual({
      ok: true,
      detail:
        'old needs up to 7 connection(s) (copy 4 × 1 worker(s) + 3 for sync, lock and checks); max_connections 100 (3 reserved), 20 in use, 10 kept free for the service: 60 to spare',
    });
  });

  test('fails when a Distributed Map copy would take the connections the service needs, saying what to lower', () => {
    const r = connectionCheck('new', use, { copyConcurrency: 4, copyWorkers: 17 });
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(
      /^new needs up to 71 connection\(s\) \(copy 4 × 17 worker\(s\).*: only 67 available; lower copyConcurrency \(or copy.maxConcurrency\), or raise max_connections on the new database$/,
    );
  });

  test('fails when the server is already full, even for the smallest copy', () => {
    expect(
      connectionCheck('old', { maxConnections: 20, reserved: 3, inUse: 10 }, { copyConcurrency: 1, copyWorkers: 1 }),
    ).toMatchObject({ ok: false, detail: expect.stringContaining('only 2 available') });
  });

  test('the need exactly at the limit is ok', () => {
    // 100 - 3 reserved - 20 in use - 10 headroom = 67 = 64 + 3.
    expect(connectionCheck('old', use, { copyConcurrency: 16, copyWorkers: 4 }).ok).toBe(true);
  });
});

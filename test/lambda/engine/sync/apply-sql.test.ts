import { beginSql, positionSql } from '../../../../lambda/engine/sync/apply-sql';

describe('apply-sql: the applier statements as text', () => {
  test('GIVEN the message loop guard WHEN the transaction opens THEN the lock is tried second and the mark precedes applied_xacts', () => {
    const s = beginSql({
      lockName: 'switchyard-sync:sy_m_fwd',
      loopGuard: 'message',
      migrationId: 'm',
      direction: 'forward',
    });
    expect(s[0]).toBe('BEGIN');
    expect(s[1]).toBe(`SELECT pg_try_advisory_xact_lock(hashtextextended('switchyard-sync:sy_m_fwd', 0)) AS ok`);
    expect(s[2]).toBe(`SELECT set_config('switchyard.applying', 'on', true)`);
    expect(s[3]).toBe(`SELECT pg_logical_emit_message(true, 'switchyard'::text, 'm:forward'::text)`);
    expect(s[4]).toMatch(/^INSERT INTO switchyard\.applied_xacts .*'forward'\) ON CONFLICT/);
    expect(s).toHaveLength(5);
  });

  test('GIVEN origins or the marker row WHEN the transaction opens THEN no message is emitted', () => {
    for (const loopGuard of ['origin', 'marker'] as const)
      expect(beginSql({ lockName: 'x', loopGuard, migrationId: 'm', direction: 'reverse' }).join(';')).not.toContain(
        'pg_logical_emit_message',
      );
  });

  test('GIVEN values with quotes WHEN inlined THEN they stay literals (quotes doubled)', () => {
    expect(beginSql({ lockName: "a'b", loopGuard: 'message', migrationId: "o'k", direction: 'forward' })[3]).toContain(
      `'o''k:forward'::text`,
    );
    expect(positionSql("s'1", 'forward', '0/16B3748', '2026-12-07T10:00:00.123456Z')).toBe(
      `INSERT INTO switchyard.sync_position (slot_name, direction, lsn, commit_time, applied_at) VALUES ('s''1', 'forward', ` +
        `'0/16B3748'::pg_lsn, '2026-12-07T10:00:00.123456Z'::timestamptz, now()) ON CONFLICT (slot_name) DO UPDATE SET ` +
        'lsn = EXCLUDED.lsn, commit_time = EXCLUDED.commit_time, applied_at = now()',
    );
  });
});

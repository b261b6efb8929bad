import {
  assertSupportedServer,
  capabilitiesFrom,
  loopGuardFor,
  publicationOptions,
} from '../../../lambda/engine/capabilities';
import { ERRORS } from '../../../lambda/core/errors';

/** A catalog row as READ_CAPABILITIES returns it for a non-superuser login. */
const row = (num: number, extra: Record<string, unknown> = {}) => ({
  num,
  version: `${Math.floor(num / 10000)}.${num % 100} (Debian)`,
  superuser: false,
  wal_level: 'logical',
  commit_ts: 'on',
  max_origins: null,
  keep_size: '4GB',
  slot_columns: ['slot_name', 'wal_status', ...(num >= 160000 ? ['conflicting'] : [])],
  emit: true,
  emit_flush: num >= 170000,
  origin_exec: false,
  ...extra,
});

describe('server capabilities', () => {
  test.each([
    [130000, 'publish_via_partition_root = true'],
    [170005, 'publish_via_partition_root = true'],
    [180000, 'publish_via_partition_root = true, publish_generated_columns = stored'],
  ])('publication options of server_version_num %d: %s', (v, expected) => {
    expect(publicationOptions(capabilitiesFrom(row(v)))).toBe(expected);
  });

  test('pgoutput: messages only from 14 on (13 refuses the option)', () => {
    expect(capabilitiesFrom(row(130023)).pgoutput.messages).toBe(false);
    expect(capabilitiesFrom(row(140000)).pgoutput.messages).toBe(true);
  });

  test('session_replication_role: a superuser on every major, a granted login from 15 on (has_parameter_privilege)', () => {
    expect(capabilitiesFrom(row(130023, { superuser: true })).replicaRole).toBe(true);
    expect(capabilitiesFrom(row(140000, { replica_role: true })).replicaRole).toBe(false);
    expect(capabilitiesFrom(row(150000, { replica_role: true })).replicaRole).toBe(true);
    expect(capabilitiesFrom(row(180000)).replicaRole).toBe(false);
  });

  test('loop guard: origins when the login may use them (13: superuser only), else messages (14+), else a marker row', () => {
    expect(loopGuardFor(capabilitiesFrom(row(130023, { origin_exec: true })))).toBe('marker');
    expect(loopGuardFor(capabilitiesFrom(row(130023, { superuser: true })))).toBe('origin');
    expect(loopGuardFor(capabilitiesFrom(row(140000, { origin_exec: true })))).toBe('origin');
    expect(loopGuardFor(capabilitiesFrom(row(150000)))).toBe('message');
    expect(loopGuardFor(capabilitiesFrom(row(160000, { emit: false })))).toBe('marker');
  });

  test('sizes and settings', () => {
    const c = capabilitiesFrom(row(180004, { max_origins: '64', keep_size: '-1' }));
    expect(c).toMatchObject({
      name: 'PostgreSQL 18.4',
      major: 18,
      maxActiveReplicationOrigins: 64,
      maxSlotWalKeepSizeMb: -1,
    });
    expect(capabilitiesFrom(row(130000)).maxSlotWalKeepSizeMb).toBe(4096);
  });

  test('a server older than 13 is refused by name, naming the server and the fix', () => {
    const old = capabilitiesFrom(row(120015));
    expect(() => assertSupportedServer(old, 'the forward sync source')).toThrow(
      expect.objectContaining({
        name: ERRORS.ServerTooOldError,
        message: expect.stringMatching(/the forward sync source runs PostgreSQL 12\.15; .*13 or later: upgrade/),
      }),
    );
    expect(() => assertSupportedServer(capabilitiesFrom(row(130000)), 'x')).not.toThrow();
  });
});

/**
 * What one PostgreSQL server can do for the engine, read once per connection: catalog columns,
 * pgoutput and publication options, logical messages, replication-origin privileges of the
 * current login, settings. Every other module asks this one instead of comparing version numbers.
 *
 * | capability                                   | from | how it is known                              |
 * | -------------------------------------------- | ---- | -------------------------------------------- |
 * | supported at all                             | 13   | server_version_num                           |
 * | publish_via_partition_root                   | 13   | server_version_num                           |
 * | pgoutput `messages` (logical messages)       | 14   | server_version_num (pgoutput is built in)    |
 * | pgoutput `streaming`, proto 2                | 14   | server_version_num                           |
 * | pgoutput `two_phase`, proto 3                | 15   | server_version_num                           |
 * | pgoutput `origin` (= none), proto 4          | 16   | server_version_num                           |
 * | pg_replication_slots.conflicting             | 16   | catalog column                               |
 * | pg_replication_slots.invalidation_reason     | 17   | catalog column                               |
 * | pg_logical_emit_message(…, flush)            | 17   | function signature + EXECUTE privilege       |
 * | publish_generated_columns                    | 18   | server_version_num                           |
 * | replication origins for a non-superuser      | 14   | superuser, or EXECUTE granted (13: superuser) |
 * | session_replication_role for a non-superuser | 15   | superuser, or SET granted (before 15: superuser) |
 */
import type { Client } from 'pg';
import { SwitchyardError } from '../core/errors';
import { describe, ServerCapabilityMissingError, ServerTooOldError } from './errors';

/** The oldest and newest PostgreSQL majors the engine supports on either side. */
export const MIN_SUPPORTED_MAJOR = 13;
export const MAX_SUPPORTED_MAJOR = 18;

/** How the applier writing into a server marks its transactions, so the other direction skips them. */
export type LoopGuard = 'origin' | 'message' | 'marker';

export interface ServerCapabilities {
  /** e.g. `PostgreSQL 14.23` — how errors name the server. */
  readonly name: string;
  readonly versionNum: number;
  readonly major: number;
  readonly superuser: boolean;
  readonly walLevel: string;
  readonly trackCommitTimestamp: boolean;
  /** null on servers without the setting (before 18). */
  readonly maxActiveReplicationOrigins: number | null;
  /** MB; -1 unlimited. */
  readonly maxSlotWalKeepSizeMb: number | null;
  readonly slotColumns: { readonly conflicting: boolean; readonly invalidationReason: boolean };
  /** Logical slots can be created with `failover` (17+): synchronized to standbys that have sync_replication_slots on. */
  readonly failoverSlots: boolean;
  readonly pgoutput: {
    /** Highest proto_version pgoutput speaks. */
    readonly maxProtoVersion: number;
    /** Logical messages (pg_logical_emit_message) in the change stream. */
    readonly messages: boolean;
    readonly streaming: boolean;
    readonly twoPhase: boolean;
    /** `origin = none` filters changes that came from a replication origin on the server. */
    readonly origin: boolean;
  };
  readonly publication: { readonly viaPartitionRoot: boolean; readonly generatedColumns: boolean };
  /** The login may call pg_logical_emit_message. */
  readonly emitMessage: boolean;
  /** ... with `flush` (17+): decoding can be woken without waiting for the WAL writer. */
  readonly emitMessageFlush: boolean;
  /** The login may create, set up and drop replication origins. */
  readonly originPrivilege: boolean;
  /** Origins can be granted to a non-superuser (`GRANT EXECUTE`, 14+; 13 checks for a superuser). */
  readonly originGrantable: boolean;
  /** The login may set session_replication_role (a superuser; 15+ also `GRANT SET ON PARAMETER`). */
  readonly replicaRole: boolean;
}

const ORIGIN_FUNCTIONS = [
  'pg_replication_origin_create(text)',
  'pg_replication_origin_session_setup(text)',
  'pg_replication_origin_drop(text)',
];

const READ_CAPABILITIES = `
  SELECT current_setting('server_version_num')::int AS num, current_setting('server_version') AS version,
         (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
         current_setting('wal_level') AS wal_level,
         current_setting('track_commit_timestamp') AS commit_ts,
         current_setting('max_active_replication_origins', true) AS max_origins,
         current_setting('max_slot_wal_keep_size', true) AS keep_size,
         ARRAY(SELECT attname::text FROM pg_attribute
                WHERE attrelid = 'pg_catalog.pg_replication_slots'::regclass AND attnum > 0) AS slot_columns,
         coalesce((SELECT bool_or(has_function_privilege(p.oid, 'execute')) FROM pg_proc p
                    WHERE p.oid IN (to_regprocedure('pg_logical_emit_message(boolean,text,text)'),
                                    to_regprocedure('pg_logical_emit_message(boolean,text,text,boolean)'))), false) AS emit,
         coalesce(has_function_privilege(
           to_regprocedure('pg_logical_emit_message(boolean,text,text,boolean)'), 'execute'), false) AS emit_flush,
         (SELECT bool_and(has_function_privilege(f, 'execute')) FROM unnest($1::text[]) f) AS origin_exec`;

/** 15+ only (`has_parameter_privilege`): read after READ_CAPABILITIES for a non-superuser. */
const READ_REPLICA_ROLE = `SELECT has_parameter_privilege('session_replication_role', 'SET') AS ok`;

const cache = new WeakMap<Client, Promise<ServerCapabilities>>();

/** Megabytes of a size setting as shown (`4GB`, `512MB`, `-1`). */
function sizeMb(v: string | null): number | null {
  if (v === null || v === '') return null;
  const m = /^(-?\d+)\s*(kB|MB|GB|TB)?$/.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]);
  if (n < 0) return -1;
  const f: Record<string, number> = { kB: 1 / 1024, MB: 1, GB: 1024, TB: 1024 * 1024 };
  return n * f[m[2] ?? 'MB'];
}

export function capabilitiesFrom(row: Record<string, unknown>): ServerCapabilities {
  const num = Number(row.num);
  const major = Math.floor(num / 10000);
  const cols = new Set(row.slot_columns as string[]);
  const superuser = row.superuser === true;
  const maxOrigins = row.max_origins === null || row.max_origins === '' ? null : Number(row.max_origins);
  return {
    name: `PostgreSQL ${String(row.version).split(' ')[0]}`,
    versionNum: num,
    major,
    superuser,
    walLevel: String(row.wal_level),
    trackCommitTimestamp: row.commit_ts === 'on',
    maxActiveReplicationOrigins: maxOrigins,
    maxSlotWalKeepSizeMb: sizeMb(row.keep_size as string | null),
    slotColumns: { conflicting: cols.has('conflicting'), invalidationReason: cols.has('invalidation_reason') },
    failoverSlots: cols.has('failover'),
    pgoutput: {
      maxProtoVersion: major >= 16 ? 4 : major >= 15 ? 3 : major >= 14 ? 2 : 1,
      messages: major >= 14,
      streaming: major >= 14,
      twoPhase: major >= 15,
      origin: major >= 16,
    },
    publication: { viaPartitionRoot: major >= 13, generatedColumns: major >= 18 },
    emitMessage: row.emit === true,
    emitMessageFlush: row.emit_flush === true,
    // Before 14 the origin functions check for a superuser whatever is granted.
    originPrivilege: superuser || (major >= 14 && row.origin_exec === true),
    originGrantable: major >= 14,
    replicaRole: superuser || (major >= 15 && row.replica_role === true),
  };
}

/** The capabilities of the server `c` is connected to (read once per connection). */
export function capabilities(c: Client): Promise<ServerCapabilities> {
  let p = cache.get(c);
  if (!p) {
    p = c.query(READ_CAPABILITIES, [ORIGIN_FUNCTIONS]).then(async (r) => {
      const row = r.rows[0];
      if (row.superuser !== true && Number(row.num) >= 150_000)
        row.replica_role = (await c.query(READ_REPLICA_ROLE)).rows[0].ok;
      return capabilitiesFrom(row);
    });
    p.catch(() => cache.delete(c));
    cache.set(c, p);
  }
  return p;
}

/** Refuse a server older than the supported range, naming it and the fix. */
export function assertSupportedServer(caps: ServerCapabilities, role: string): void {
  if (caps.major < MIN_SUPPORTED_MAJOR) {
    throw new ServerTooOldError(
      `${role} runs ${caps.name}; Switchyard needs PostgreSQL ${MIN_SUPPORTED_MAJOR} or later: upgrade that ` +
        `server first (e.g. pg_upgrade or an RDS major-version upgrade)`,
    );
  }
}

/** The server's `publication` options for the sync: partitions published as their root (13+), stored generated columns (18+). */
export function publicationOptions(caps: ServerCapabilities): string {
  const o: string[] = [];
  if (caps.publication.viaPartitionRoot) o.push('publish_via_partition_root = true');
  if (caps.publication.generatedColumns) o.push('publish_generated_columns = stored');
  return o.join(', ');
}

/**
 * How an applier writing INTO `dst` marks its transactions: a replication origin when the login
 * may use one; else a transactional logical message when the server's pgoutput carries them (14+);
 * else a marker row in a published bookkeeping table (loop-marker.ts).
 */
export function loopGuardFor(dst: ServerCapabilities): LoopGuard {
  if (dst.originPrivilege) return 'origin';
  if (dst.pgoutput.messages && dst.emitMessage) return 'message';
  return 'marker';
}

/** The server cannot carry a logical message to the decoder: the marker table must be published. */
export function needsLoopMarkerTable(caps: ServerCapabilities): boolean {
  return !(caps.pgoutput.messages && caps.emitMessage);
}

/** One feature's minimum major and what it needs, for Preflight and the docs. */
export interface FeatureMinimum {
  readonly feature: string;
  readonly minMajor: number;
  readonly note: string;
}

/** The real minimum per feature (docs/postgres-versions.md carries the same table, proven by test/versions). */
export const FEATURE_MINIMUMS: readonly FeatureMinimum[] = [
  { feature: 'one-way sync', minMajor: 13, note: 'pgoutput, publish_via_partition_root' },
  {
    feature: 'two-way sync with exact loop prevention',
    minMajor: 13,
    note: '13: a marker row in switchyard.loop_marks (or origins as superuser); 14+: origins or logical messages',
  },
  { feature: 'partitioned tables published as their root', minMajor: 13, note: 'publish_via_partition_root' },
  {
    feature: 'stored generated columns in the change stream',
    minMajor: 18,
    note: 'before 18 the target computes them (generated on the target)',
  },
  { feature: 'replication origins for a non-superuser (GRANT EXECUTE)', minMajor: 14, note: '13: superuser only' },
  {
    feature: 'slots that survive a failover (failover slots)',
    minMajor: 17,
    note: 'synchronized to standbys with sync_replication_slots = on; before 17 a promoted standby has no slot',
  },
];

/** The minimums as one line, for Preflight's server-version check. */
export function featureMinimumsLine(): string {
  return FEATURE_MINIMUMS.map((f) => `${f.feature}: ${f.minMajor}+`).join('; ');
}

/** SQLSTATEs of a statement one server cannot run: syntax, unknown function, unsupported feature. */
const NOT_ON_THIS_SERVER = new Set(['42601', '42883', '0A000']);

/**
 * A statement of the sync that a server could not run (a spec expression using a newer major's
 * syntax or function, e.g. `IS JSON` before 16) as a named error naming both servers; anything
 * else is returned unchanged.
 */
export function namedServerError(e: unknown, what: string, servers: readonly ServerCapabilities[]): unknown {
  if (e instanceof SwitchyardError || !NOT_ON_THIS_SERVER.has((e as { code?: string }).code ?? '')) return e;
  return new ServerCapabilityMissingError(
    `${what} ran a statement ${servers.map((s) => s.name).join(' / ')} cannot run (${describe(e)}): a spec ` +
      `expression may need a newer PostgreSQL than one of the servers (docs/postgres-versions.md); ` +
      `rewrite it for the older major. Nothing after the last applied transaction was applied`,
    { cause: e },
  );
}

import type { Client } from 'pg';
import type { ServerCapabilities } from '../capabilities';
import { ServerCapabilityMissingError } from '../errors';
import { META_SCHEMA } from '../prepare';
import { qi } from '../sql';
import { type Direction, syncNames } from './names';

/**
 * The loop guard for servers that can carry neither a replication origin (PostgreSQL 13 without
 * superuser) nor a logical message (pgoutput before 14): the applier writing into such a server
 * bumps its row in `switchyard.loop_marks` as the FIRST change of every applied transaction. The
 * table is in the publication of the direction that reads that server, so its decoder sees the mark
 * before any row of the transaction and skips the whole transaction: exact, whatever the load.
 * One row per (migration, direction) is updated in place: the table never grows.
 */
export const LOOP_MARK_TABLE = 'loop_marks';

/** The marker table, schema-qualified, as a publication lists it. */
export const LOOP_MARK_RELATION = `${META_SCHEMA}.${LOOP_MARK_TABLE}`;

export function isLoopMarkRelation(schema: string, table: string): boolean {
  return schema === META_SCHEMA && table === LOOP_MARK_TABLE;
}

/** Create the marker table (idempotent). The login needs CREATE on the database (it owns it on RDS). */
export async function ensureLoopMarkTable(c: Client): Promise<void> {
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${qi(META_SCHEMA)}`);
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${qi(META_SCHEMA)}.${qi(LOOP_MARK_TABLE)} (
       mark text PRIMARY KEY, n bigint NOT NULL DEFAULT 1, at timestamptz NOT NULL DEFAULT now())`,
  );
}

/** Write the mark; call as the first statement of an applied transaction. */
export async function writeLoopMark(c: Client, migrationId: string, direction: Direction): Promise<void> {
  await c.query(
    `INSERT INTO ${qi(META_SCHEMA)}.${qi(LOOP_MARK_TABLE)} AS m (mark) VALUES ($1)
     ON CONFLICT (mark) DO UPDATE SET n = m.n + 1, at = now()`,
    [`${migrationId}:${direction}`],
  );
}

/** Is the marker table in `publication` (on the server `c` is connected to)? */
export async function publishesLoopMarks(c: Client, publication: string): Promise<boolean> {
  const r = await c.query(
    `SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3`,
    [publication, META_SCHEMA, LOOP_MARK_TABLE],
  );
  return (r.rowCount ?? 0) > 0;
}

/**
 * Before an applier marks with rows: the marker table exists on its destination, and the other
 * direction's publication there (if created yet) publishes it; otherwise a named refusal, since an
 * unmarked write would come back in the other direction.
 */
export async function assertLoopMarksPublished(
  dst: Client,
  caps: ServerCapabilities,
  migrationId: string,
  direction: Direction,
): Promise<void> {
  const why = `${caps.name} gives this login no replication origins and its pgoutput carries no logical messages`;
  try {
    await ensureLoopMarkTable(dst);
  } catch (e) {
    if ((e as { code?: string }).code !== '42501') throw e;
    throw new ServerCapabilityMissingError(
      `the ${direction} sync cannot mark what it applies: ${why}, and the login may not create ${LOOP_MARK_RELATION}. ` +
        `Fix: GRANT CREATE ON DATABASE to the login` +
        `${caps.originGrantable ? ', or GRANT EXECUTE on the pg_replication_origin_* functions' : ', or run as a superuser'}`,
      { cause: e },
    );
  }
  const other = syncNames(migrationId, direction === 'forward' ? 'reverse' : 'forward').publication;
  const pub = await dst.query(`SELECT 1 FROM pg_publication WHERE pubname = $1`, [other]);
  if (pub.rowCount && !(await publishesLoopMarks(dst, other))) {
    throw new ServerCapabilityMissingError(
      `the ${direction} sync cannot mark what it applies: ${why}, and publication ${other} (created before the marker ` +
        `table existed) does not publish ${LOOP_MARK_RELATION}. Fix: drop the other direction's sync objects and create them again`,
    );
  }
}

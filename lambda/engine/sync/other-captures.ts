import { type DbEndpoint, withClient } from '../db';
import { UnknownMigrationIdError } from './errors';
import { type Direction, OBJECT_PREFIX, syncNames } from './names';

/** The slots of one direction that other migrations hold in the same database (names only). */
export async function otherCaptures(source: DbEndpoint, migrationId: string, direction: Direction): Promise<string[]> {
  const suffix = direction === 'forward' ? '_fwd' : '_rev';
  const { slot } = syncNames(migrationId, direction);
  return withClient(source, { readOnly: true, applicationName: 'switchyard-sync' }, async (c) => {
    const r = await c.query(
      `SELECT slot_name FROM pg_replication_slots
        WHERE database = current_database() AND slot_type = 'logical'
          AND starts_with(slot_name, $1) AND right(slot_name, 4) = $2 AND slot_name <> $3
        ORDER BY slot_name`,
      [OBJECT_PREFIX, suffix, slot],
    );
    return r.rows.map((x) => x.slot_name as string);
  });
}

/**
 * A drain of a migration id without a capture (an operator's rollback before any traffic moved
 * has nothing to return) is only "nothing to drain" when no other migration's capture of that
 * direction exists there: else the id is mistyped or stale, and the writes kept in those slots
 * are not returned by this run. Names the slots and what to run.
 */
export async function assertNoOtherCapture(source: DbEndpoint, migrationId: string, direction: Direction) {
  const others = await otherCaptures(source, migrationId, direction);
  if (!others.length) return;
  throw new UnknownMigrationIdError(
    `migration ${migrationId} has no ${direction} capture, but ${others.length} other ${direction} capture(s) ` +
      `exist on that database (${others.join(', ')}): their changes were not returned. Run it again with the ` +
      'migration id of the one to roll back (a slot is named sy_ + the migration id, lowercased; ' +
      'the Migrate execution input holds the id)',
  );
}

import type { Client } from 'pg';
import { capabilities, type ServerCapabilities } from '../../capabilities';
import type { DbEndpoint } from '../../db';
import type { MigrationSpec } from '../../spec';
import { type Direction, syncNames } from '../names';
import { publishedTables } from '../tables';

/** What every sync precondition reads: one read-only connection to the direction's source, and the spec. */
export interface SyncPreconditionContext {
  /** Read-only connection to the source of the direction. */
  readonly source: Client;
  readonly caps: ServerCapabilities;
  readonly spec: MigrationSpec;
  readonly direction: Direction;
  /** The direction's slot name. */
  readonly slot: string;
  /** The source tables the direction publishes (schema-qualified); empty when `tablesError` is set. */
  readonly tables: readonly string[];
  /** Why the spec cannot name them (a reverse direction of a table without a reverse mapping). */
  readonly tablesError?: unknown;
  /** The destination, when its settings are checked too. */
  readonly target?: DbEndpoint;
  /** Two-way sync: the conflict rule (commit timestamps) and the loop guard are needed. */
  readonly conflicts: boolean;
}

export async function syncPreconditionContext(
  source: Client,
  spec: MigrationSpec,
  migrationId: string,
  direction: Direction,
  opts: { target?: DbEndpoint; conflicts?: boolean },
): Promise<SyncPreconditionContext> {
  const base = {
    source,
    caps: await capabilities(source),
    spec,
    direction,
    slot: syncNames(migrationId, direction).slot,
    target: opts.target,
    conflicts: opts.conflicts === true,
  };
  try {
    return { ...base, tables: publishedTables(spec, direction) };
  } catch (e) {
    return { ...base, tables: [], tablesError: e };
  }
}

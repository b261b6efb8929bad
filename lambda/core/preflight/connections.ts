/**
 * Connections the migration opens on one database, against what the server has left for them.
 * The live service shares the server: a copy that takes its last connections fails the service,
 * not just the copy. Pure: the preflight handler reads the figures.
 */

/** What the server allows and what is in use now (client backends). */
export interface ConnectionUse {
  readonly maxConnections: number;
  /** superuser_reserved_connections + reserved_connections: not available to the migration login. */
  readonly reserved: number;
  readonly inUse: number;
}

/** What the migration will hold at once on this side. */
export interface ConnectionNeed {
  /** Chunk copies at once in one copy worker (`copyConcurrency`). */
  readonly copyConcurrency: number;
  /** Copy workers at once: 1 inline, `copy.maxConcurrency` child executions for a Distributed Map. */
  readonly copyWorkers: number;
}

/** The sync (both directions during a bake), the lock renewal and the phase's own checks. */
const OTHER_CONNECTIONS = 3;

/** Connections left free for the service itself: a tenth of what the server allows, at least 5. */
function appHeadroom(use: ConnectionUse): number {
  return Math.max(5, Math.ceil((use.maxConnections - use.reserved) * 0.1));
}

/** ok when the migration's peak fits beside what is in use, keeping the headroom for the service. */
export function connectionCheck(
  side: string,
  use: ConnectionUse,
  need: ConnectionNeed,
): { ok: boolean; detail: string } {
  const copy = need.copyConcurrency * need.copyWorkers;
  const needed = copy + OTHER_CONNECTIONS;
  const headroom = appHeadroom(use);
  const free = use.maxConnections - use.reserved - use.inUse - headroom;
  const what =
    `${side} needs up to ${needed} connection(s) (copy ${need.copyConcurrency} × ${need.copyWorkers} worker(s) ` +
    `+ ${OTHER_CONNECTIONS} for sync, lock and checks); ` +
    `max_connections ${use.maxConnections} (${use.reserved} reserved), ${use.inUse} in use, ${headroom} kept free for the service`;
  return needed <= free
    ? { ok: true, detail: `${what}: ${free - needed} to spare` }
    : {
        ok: false,
        detail:
          `${what}: only ${Math.max(0, free)} available; lower copyConcurrency (or copy.maxConcurrency), or raise ` +
          `max_connections on the ${side} database`,
      };
}

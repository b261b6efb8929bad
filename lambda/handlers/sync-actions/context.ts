import type { Client } from 'pg';
import type { MigrationSpec } from '../../engine/spec';
import type { FenceToken } from '../../engine/sync';

/** What every action works with: the deployed spec and this execution's fence. */
export interface ActionContext {
  readonly spec: MigrationSpec;
  /** This execution's token, raised on the databases an action writes. */
  readonly fence: FenceToken | undefined;
  /** The check every apply transaction runs before it commits. */
  readonly fenced: ((c: Client) => Promise<void>) | undefined;
}

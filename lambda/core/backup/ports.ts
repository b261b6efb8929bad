export type SnapshotStatus = 'creating' | 'available' | 'failed';

export interface SnapshotInfo {
  readonly snapshotId: string;
  readonly status: SnapshotStatus;
  readonly sourceId?: string;
  readonly createdAt?: Date;
}

/** Database snapshots and restores (RDS instance or Aurora cluster). */
export interface SnapshotService {
  /** Create a manual snapshot; an existing snapshot of the same database with that id is success. */
  create(dbId: string, snapshotId: string, tags: Readonly<Record<string, string>>): Promise<SnapshotInfo>;
  describe(snapshotId: string): Promise<SnapshotInfo | undefined>;
  /** Newest snapshot (manual or automated) of a database, for the preflight's age check. */
  latest(dbId: string): Promise<SnapshotInfo | undefined>;
}

export interface RestoreRequest {
  readonly snapshotId: string;
  readonly newDbId: string;
  /**
   * The original instance: the restore copies its network (subnet group, security groups),
   * parameter and option groups, Multi-AZ, instance class, storage type, IAM authentication,
   * deletion protection and tags, so the restored database is the same database.
   * @default - none: only the explicit settings below apply
   */
  readonly sourceDbId?: string;
  /** Overrides of the original's settings (tests, hand restores). @default - the original's */
  readonly subnetGroupName?: string;
  readonly securityGroupIds?: readonly string[];
  readonly instanceClass?: string;
  /** Tags added to the original's; `switchyard:migration-id` marks the instance as this migration's. */
  readonly tags: Readonly<Record<string, string>>;
}

export interface DbStatus {
  readonly status: string;
  readonly endpoint?: { host: string; port: number };
  /** The instance's tags, to tell a restore of ours from someone else's instance. @default - not read */
  readonly tags?: Readonly<Record<string, string>>;
}

/** Restore a database from a snapshot into a new instance and watch it come up. */
export interface RestoreService {
  /** Idempotent for an instance of the same migration; an instance of that id that is not ours fails. */
  restore(req: RestoreRequest): Promise<void>;
  status(dbId: string): Promise<DbStatus | undefined>;
}

/** The old side's service, restarted after its database secret was repointed so it reconnects. */
export interface ServiceRestarter {
  /** What is restarted, for the output (e.g. the ECS service ARN). */
  readonly description: string;
  /** Start a new deployment (new tasks read the repointed secret); returns without waiting for it. */
  restart(): Promise<void>;
}

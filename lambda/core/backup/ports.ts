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
  readonly subnetGroupName?: string;
  readonly securityGroupIds?: readonly string[];
  readonly instanceClass?: string;
  readonly tags: Readonly<Record<string, string>>;
}

export interface DbStatus {
  readonly status: string;
  readonly endpoint?: { host: string; port: number };
}

/** Restore a database from a snapshot into a new instance and watch it come up. */
export interface RestoreService {
  restore(req: RestoreRequest): Promise<void>;
  status(dbId: string): Promise<DbStatus | undefined>;
}

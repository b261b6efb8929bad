import {
  CreateDBClusterSnapshotCommand, CreateDBSnapshotCommand, DescribeDBClusterSnapshotsCommand, DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand, RDSClient, RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import type { DbStatus, RestoreRequest, RestoreService, SnapshotInfo, SnapshotService, SnapshotStatus } from '../../core/backup/ports';
import { SnapshotConflictError } from '../../core/backup/snapshot';
import { call } from './errors';
import { AWS_CLIENT_CONFIG } from './retry';

const toStatus = (s?: string): SnapshotStatus => (s === 'available' ? 'available' : s && /fail|error|incompatible|deleted/.test(s) ? 'failed' : 'creating');
const tagList = (tags: Readonly<Record<string, string>>) => Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
const isName = (e: unknown, n: string) => (e as { name?: string })?.name === n;

/** Manual snapshots of an RDS instance, or (cluster: true) of an Aurora cluster. */
export class RdsSnapshotService implements SnapshotService, RestoreService {
  constructor(
    private readonly opts: { cluster?: boolean } = {},
    private readonly rds: RDSClient = new RDSClient({ ...AWS_CLIENT_CONFIG }),
  ) {}

  async create(dbId: string, snapshotId: string, tags: Readonly<Record<string, string>>): Promise<SnapshotInfo> {
    try {
      if (this.opts.cluster) {
        const r = await call('rds:CreateDBClusterSnapshot', dbId, () =>
          this.rds.send(new CreateDBClusterSnapshotCommand({ DBClusterIdentifier: dbId, DBClusterSnapshotIdentifier: snapshotId, Tags: tagList(tags) })),
        );
        return { snapshotId, status: toStatus(r.DBClusterSnapshot?.Status), sourceId: dbId };
      }
      const r = await call('rds:CreateDBSnapshot', dbId, () =>
        this.rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: dbId, DBSnapshotIdentifier: snapshotId, Tags: tagList(tags) })),
      );
      return { snapshotId, status: toStatus(r.DBSnapshot?.Status), sourceId: dbId };
    } catch (e) {
      if (!isName(e, 'DBSnapshotAlreadyExistsFault') && !isName(e, 'DBClusterSnapshotAlreadyExistsFault')) throw e;
      // A retry after a crash: the snapshot exists. It must be of the same database to count as ours.
      const existing = await this.describe(snapshotId);
      if (!existing || existing.sourceId !== dbId) {
        throw new SnapshotConflictError(`snapshot ${snapshotId} already exists but is of ${existing?.sourceId ?? 'another database'}, not ${dbId}`);
      }
      return existing;
    }
  }

  async describe(snapshotId: string): Promise<SnapshotInfo | undefined> {
    try {
      if (this.opts.cluster) {
        const r = await call('rds:DescribeDBClusterSnapshots', snapshotId, () =>
          this.rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: snapshotId })),
        );
        const s = r.DBClusterSnapshots?.[0];
        return s && { snapshotId, status: toStatus(s.Status), sourceId: s.DBClusterIdentifier, createdAt: s.SnapshotCreateTime };
      }
      const r = await call('rds:DescribeDBSnapshots', snapshotId, () => this.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotId })));
      const s = r.DBSnapshots?.[0];
      return s && { snapshotId, status: toStatus(s.Status), sourceId: s.DBInstanceIdentifier, createdAt: s.SnapshotCreateTime };
    } catch (e) {
      if (isName(e, 'DBSnapshotNotFoundFault') || isName(e, 'DBClusterSnapshotNotFoundFault')) return undefined;
      throw e;
    }
  }

  async latest(dbId: string): Promise<SnapshotInfo | undefined> {
    const all: SnapshotInfo[] = [];
    if (this.opts.cluster) {
      const r = await call('rds:DescribeDBClusterSnapshots', dbId, () => this.rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterIdentifier: dbId })));
      for (const s of r.DBClusterSnapshots ?? []) all.push({ snapshotId: s.DBClusterSnapshotIdentifier!, status: toStatus(s.Status), sourceId: dbId, createdAt: s.SnapshotCreateTime });
    } else {
      const r = await call('rds:DescribeDBSnapshots', dbId, () => this.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: dbId })));
      for (const s of r.DBSnapshots ?? []) all.push({ snapshotId: s.DBSnapshotIdentifier!, status: toStatus(s.Status), sourceId: dbId, createdAt: s.SnapshotCreateTime });
    }
    return all.filter((s) => s.status === 'available' && s.createdAt).sort((a, b) => b.createdAt!.getTime() - a.createdAt!.getTime())[0];
  }

  async restore(req: RestoreRequest): Promise<void> {
    try {
      await call('rds:RestoreDBInstanceFromDBSnapshot', req.snapshotId, () =>
        this.rds.send(
            new RestoreDBInstanceFromDBSnapshotCommand({
              DBSnapshotIdentifier: req.snapshotId,
              DBInstanceIdentifier: req.newDbId,
              DBSubnetGroupName: req.subnetGroupName,
              VpcSecurityGroupIds: req.securityGroupIds ? [...req.securityGroupIds] : undefined,
              DBInstanceClass: req.instanceClass,
              PubliclyAccessible: false,
              DeletionProtection: true,
              CopyTagsToSnapshot: true,
              Tags: tagList(req.tags),
            }),
          ),
      );
    } catch (e) {
      if (!isName(e, 'DBInstanceAlreadyExistsFault')) throw e; // idempotent: a retried restore finds its instance
    }
  }

  async status(dbId: string): Promise<DbStatus | undefined> {
    try {
      const r = await call('rds:DescribeDBInstances', dbId, () => this.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: dbId })));
      const db = r.DBInstances?.[0];
      if (!db) return undefined;
      return { status: db.DBInstanceStatus ?? 'unknown', endpoint: db.Endpoint?.Address ? { host: db.Endpoint.Address, port: db.Endpoint.Port ?? 5432 } : undefined };
    } catch (e) {
      if (isName(e, 'DBInstanceNotFoundFault')) return undefined;
      throw e;
    }
  }
}


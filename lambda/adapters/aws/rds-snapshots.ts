import {
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
  type DBInstance,
  type RestoreDBInstanceFromDBSnapshotCommandInput,
} from '@aws-sdk/client-rds';
import type {
  DbStatus,
  RestoreRequest,
  RestoreService,
  SnapshotInfo,
  SnapshotService,
  SnapshotStatus,
} from '../../core/backup/ports';
import { SnapshotConflictError } from '../../core/backup/snapshot';
import { RestoreConflictError, RestoreFailedError } from '../../core/backup/restore';
import { call } from './errors';
import { AWS_CLIENT_CONFIG } from './retry';

const toStatus = (s?: string): SnapshotStatus =>
  s === 'available' ? 'available' : s && /fail|error|incompatible|deleted/.test(s) ? 'failed' : 'creating';
const tagList = (tags: Readonly<Record<string, string>>) =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
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
          this.rds.send(
            new CreateDBClusterSnapshotCommand({
              DBClusterIdentifier: dbId,
              DBClusterSnapshotIdentifier: snapshotId,
              Tags: tagList(tags),
            }),
          ),
        );
        return { snapshotId, status: toStatus(r.DBClusterSnapshot?.Status), sourceId: dbId };
      }
      const r = await call('rds:CreateDBSnapshot', dbId, () =>
        this.rds.send(
          new CreateDBSnapshotCommand({
            DBInstanceIdentifier: dbId,
            DBSnapshotIdentifier: snapshotId,
            Tags: tagList(tags),
          }),
        ),
      );
      return { snapshotId, status: toStatus(r.DBSnapshot?.Status), sourceId: dbId };
    } catch (e) {
      if (!isName(e, 'DBSnapshotAlreadyExistsFault') && !isName(e, 'DBClusterSnapshotAlreadyExistsFault')) throw e;
      // A retry after a crash: the snapshot exists. It must be of the same database to count as ours.
      const existing = await this.describe(snapshotId);
      if (!existing || existing.sourceId !== dbId) {
        throw new SnapshotConflictError(
          `snapshot ${snapshotId} already exists but is of ${existing?.sourceId ?? 'another database'}, not ${dbId}`,
        );
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
        return (
          s && {
            snapshotId,
            status: toStatus(s.Status),
            sourceId: s.DBClusterIdentifier,
            createdAt: s.SnapshotCreateTime,
          }
        );
      }
      const r = await call('rds:DescribeDBSnapshots', snapshotId, () =>
        this.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotId })),
      );
      const s = r.DBSnapshots?.[0];
      return (
        s && {
          snapshotId,
          status: toStatus(s.Status),
          sourceId: s.DBInstanceIdentifier,
          createdAt: s.SnapshotCreateTime,
        }
      );
    } catch (e) {
      if (isName(e, 'DBSnapshotNotFoundFault') || isName(e, 'DBClusterSnapshotNotFoundFault')) return undefined;
      throw e;
    }
  }

  async latest(dbId: string): Promise<SnapshotInfo | undefined> {
    const all: SnapshotInfo[] = [];
    if (this.opts.cluster) {
      const r = await call('rds:DescribeDBClusterSnapshots', dbId, () =>
        this.rds.send(new DescribeDBClusterSnapshotsCommand({ DBClusterIdentifier: dbId })),
      );
      for (const s of r.DBClusterSnapshots ?? [])
        all.push({
          snapshotId: s.DBClusterSnapshotIdentifier!,
          status: toStatus(s.Status),
          sourceId: dbId,
          createdAt: s.SnapshotCreateTime,
        });
    } else {
      const r = await call('rds:DescribeDBSnapshots', dbId, () =>
        this.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: dbId })),
      );
      for (const s of r.DBSnapshots ?? [])
        all.push({
          snapshotId: s.DBSnapshotIdentifier!,
          status: toStatus(s.Status),
          sourceId: dbId,
          createdAt: s.SnapshotCreateTime,
        });
    }
    return all
      .filter((s) => s.status === 'available' && s.createdAt)
      .sort((a, b) => b.createdAt!.getTime() - a.createdAt!.getTime())[0];
  }

  /**
   * Restore `req.snapshotId` into `req.newDbId` as the same database as `req.sourceDbId`: its
   * network (subnet group, security groups), parameter group (rds.force_ssl and the replication
   * settings stay), option group, Multi-AZ, class, storage type, IAM authentication, deletion
   * protection and tags. Never publicly accessible. The KMS key is the snapshot's (RDS restores an
   * encrypted snapshot with its own key; the restore role needs kms:CreateGrant/DescribeKey on it).
   */
  async restore(req: RestoreRequest): Promise<void> {
    if (this.opts.cluster) {
      throw new RestoreFailedError(
        `RestoreData restores RDS instances; ${req.sourceDbId ?? 'the old database'} is an Aurora cluster: ` +
          `restore ${req.snapshotId} with RestoreDBClusterFromSnapshot by hand`,
      );
    }
    const src = req.sourceDbId ? await this.instance(req.sourceDbId) : undefined;
    if (req.sourceDbId && !src) {
      throw new RestoreFailedError(
        `original instance ${req.sourceDbId} not found: its network and parameter settings cannot be copied; ` +
          `restore ${req.snapshotId} by hand with the original settings`,
      );
    }
    const originalTags = Object.fromEntries(
      (src?.TagList ?? []).filter((t) => t.Key && !t.Key.startsWith('aws:')).map((t) => [t.Key!, t.Value ?? '']),
    );
    const securityGroups =
      req.securityGroupIds ?? src?.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId!).filter(Boolean);
    const provisionedIops = src?.StorageType === 'io1' || src?.StorageType === 'io2';
    const params: RestoreDBInstanceFromDBSnapshotCommandInput = {
      DBSnapshotIdentifier: req.snapshotId,
      DBInstanceIdentifier: req.newDbId,
      DBInstanceClass: req.instanceClass ?? src?.DBInstanceClass,
      DBSubnetGroupName: req.subnetGroupName ?? src?.DBSubnetGroup?.DBSubnetGroupName,
      VpcSecurityGroupIds: securityGroups?.length ? [...securityGroups] : undefined,
      DBParameterGroupName: src?.DBParameterGroups?.[0]?.DBParameterGroupName,
      OptionGroupName: src?.OptionGroupMemberships?.[0]?.OptionGroupName,
      Port: src?.Endpoint?.Port,
      MultiAZ: src?.MultiAZ,
      StorageType: src?.StorageType,
      Iops: provisionedIops ? src?.Iops : undefined,
      EnableIAMDatabaseAuthentication: src?.IAMDatabaseAuthenticationEnabled,
      EnableCloudwatchLogsExports: src?.EnabledCloudwatchLogsExports?.length
        ? [...src.EnabledCloudwatchLogsExports]
        : undefined,
      AutoMinorVersionUpgrade: src?.AutoMinorVersionUpgrade,
      DeletionProtection: src?.DeletionProtection ?? true,
      PubliclyAccessible: false,
      CopyTagsToSnapshot: true,
      Tags: tagList({ ...originalTags, ...req.tags }),
    };
    try {
      await call('rds:RestoreDBInstanceFromDBSnapshot', req.snapshotId, () =>
        this.rds.send(new RestoreDBInstanceFromDBSnapshotCommand(params)),
      );
    } catch (e) {
      if (!isName(e, 'DBInstanceAlreadyExistsFault')) throw e;
      // A retried start finds its own instance; an instance of that name that is not this migration's is not ours to repoint.
      const existing = await this.instance(req.newDbId);
      const mine = Object.entries(req.tags).every(([k, v]) =>
        existing?.TagList?.some((t) => t.Key === k && t.Value === v),
      );
      if (!existing || !mine) {
        throw new RestoreConflictError(
          `instance ${req.newDbId} already exists but is not this migration's restore (tags ` +
            `${Object.keys(req.tags).join(', ')} differ): rename or delete it, or restore under another migration ` +
            `id`,
        );
      }
    }
  }

  private async instance(dbId: string): Promise<DBInstance | undefined> {
    try {
      const r = await call('rds:DescribeDBInstances', dbId, () =>
        this.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: dbId })),
      );
      return r.DBInstances?.[0];
    } catch (e) {
      if (isName(e, 'DBInstanceNotFoundFault')) return undefined;
      throw e;
    }
  }

  async status(dbId: string): Promise<DbStatus | undefined> {
    const db = await this.instance(dbId);
    if (!db) return undefined;
    return {
      status: db.DBInstanceStatus ?? 'unknown',
      endpoint: db.Endpoint?.Address ? { host: db.Endpoint.Address, port: db.Endpoint.Port ?? 5432 } : undefined,
      tags: Object.fromEntries((db.TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    };
  }
}

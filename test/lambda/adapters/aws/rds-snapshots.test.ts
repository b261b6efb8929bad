import 'aws-sdk-client-mock-jest';
import {
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsAccessDeniedError, AwsThrottledError } from '../../../../lambda/adapters/aws/errors';
import { RdsSnapshotService } from '../../../../lambda/adapters/aws/rds-snapshots';
import { SnapshotConflictError, snapshotIdentifier } from '../../../../lambda/core/backup/snapshot';
import { RestoreFailedError } from '../../../../lambda/core/backup/restore';
import { awsError, denied, throttled } from './aws-errors';

const rds = mockClient(RDSClient);
beforeEach(() => rds.reset());
const service = (cluster = false) => new RdsSnapshotService({ cluster }, new RDSClient({ region: 'eu-west-1' }));
const SNAP = snapshotIdentifier('prod', 'm-2026-11-24');

describe('RdsSnapshotService', () => {
  test('snapshot ids are deterministic and valid RDS identifiers', () => {
    expect(SNAP).toBe('switchyard-prod-m-2026-11-24');
    expect(snapshotIdentifier('Prod', 'Run_1!')).toBe('switchyard-prod-run-1');
  });

  test('creates a tagged manual snapshot of the instance', async () => {
    rds.on(CreateDBSnapshotCommand).resolves({ DBSnapshot: { DBSnapshotIdentifier: SNAP, Status: 'creating' } });
    await expect(
      service().create('chat-db', SNAP, { 'switchyard:migration-id': 'm-2026-11-24' }),
    ).resolves.toMatchObject({ status: 'creating' });
    expect(rds).toHaveReceivedCommandWith(CreateDBSnapshotCommand, {
      DBInstanceIdentifier: 'chat-db',
      DBSnapshotIdentifier: SNAP,
      Tags: [{ Key: 'switchyard:migration-id', Value: 'm-2026-11-24' }],
    });
  });

  test('Aurora clusters use the cluster snapshot call', async () => {
    rds.on(CreateDBClusterSnapshotCommand).resolves({ DBClusterSnapshot: { Status: 'creating' } });
    await service(true).create('chat-cluster', SNAP, {});
    expect(rds).toHaveReceivedCommandWith(CreateDBClusterSnapshotCommand, {
      DBClusterIdentifier: 'chat-cluster',
      DBClusterSnapshotIdentifier: SNAP,
    });
  });

  test('a retry that finds its snapshot already existing is success', async () => {
    rds.on(CreateDBSnapshotCommand).rejects(awsError('DBSnapshotAlreadyExistsFault'));
    rds.on(DescribeDBSnapshotsCommand).resolves({
      DBSnapshots: [{ DBSnapshotIdentifier: SNAP, DBInstanceIdentifier: 'chat-db', Status: 'available' }],
    });
    await expect(service().create('chat-db', SNAP, {})).resolves.toMatchObject({
      snapshotId: SNAP,
      status: 'available',
    });
  });

  test('fails when the existing snapshot belongs to another database', async () => {
    rds.on(CreateDBSnapshotCommand).rejects(awsError('DBSnapshotAlreadyExistsFault'));
    rds.on(DescribeDBSnapshotsCommand).resolves({
      DBSnapshots: [{ DBSnapshotIdentifier: SNAP, DBInstanceIdentifier: 'other-db', Status: 'available' }],
    });
    await expect(service().create('chat-db', SNAP, {})).rejects.toThrow(SnapshotConflictError);
  });

  test('fails with AwsThrottledError once the SDK gave up on throttling (no second retry layer)', async () => {
    // aws-sdk-client-mock replaces send(): the SDK's retry middleware does not run, so one throttle is what the SDK returns after its attempts.
    rds
      .on(CreateDBSnapshotCommand)
      .rejectsOnce(throttled())
      .resolves({ DBSnapshot: { Status: 'creating' } });
    await expect(service().create('chat-db', SNAP, {})).rejects.toThrow(AwsThrottledError);
    expect(rds).toHaveReceivedCommandTimes(CreateDBSnapshotCommand, 1);
  });

  test('fails with AwsAccessDeniedError when not allowed', async () => {
    rds.on(CreateDBSnapshotCommand).rejects(denied());
    await expect(service().create('chat-db', SNAP, {})).rejects.toThrow(AwsAccessDeniedError);
  });

  test('status maps RDS states to creating / available / failed', async () => {
    for (const [raw, want] of [
      ['creating', 'creating'],
      ['available', 'available'],
      ['failed', 'failed'],
      ['backing-up', 'creating'],
    ] as const) {
      rds
        .on(DescribeDBSnapshotsCommand)
        .resolves({ DBSnapshots: [{ DBSnapshotIdentifier: SNAP, DBInstanceIdentifier: 'chat-db', Status: raw }] });
      expect((await service().describe(SNAP))?.status).toBe(want);
    }
    rds.on(DescribeDBSnapshotsCommand).rejects(awsError('DBSnapshotNotFoundFault'));
    await expect(service().describe(SNAP)).resolves.toBeUndefined();
  });

  test('restore without an original copies nothing but stays private and deletion-protected (full parameters)', async () => {
    rds.on(RestoreDBInstanceFromDBSnapshotCommand).resolves({});
    await service().restore({
      snapshotId: SNAP,
      newDbId: 'chat-db-restored',
      subnetGroupName: 'sub',
      securityGroupIds: ['sg-1'],
      instanceClass: 'db.t4g.micro',
      tags: { 'switchyard:migration-id': 'm' },
    });
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0].args[0].input).toEqual({
      DBSnapshotIdentifier: SNAP,
      DBInstanceIdentifier: 'chat-db-restored',
      DBSubnetGroupName: 'sub',
      VpcSecurityGroupIds: ['sg-1'],
      DBInstanceClass: 'db.t4g.micro',
      PubliclyAccessible: false,
      DeletionProtection: true,
      CopyTagsToSnapshot: true,
      Tags: [{ Key: 'switchyard:migration-id', Value: 'm' }],
    });
  });

  test('fails when the Aurora cluster restore is asked of RestoreData', async () => {
    await expect(service(true).restore({ snapshotId: SNAP, newDbId: 'x', tags: {} })).rejects.toThrow(
      RestoreFailedError,
    );
  });

  test('provisioned-IOPS storage keeps its IOPS', async () => {
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [{ StorageType: 'io1', Iops: 12000, DBInstanceClass: 'db.r6g.large' }] });
    rds.on(RestoreDBInstanceFromDBSnapshotCommand).resolves({});
    await service().restore({ snapshotId: SNAP, newDbId: 'r', sourceDbId: 'chat-db', tags: {} });
    expect(rds).toHaveReceivedCommandWith(RestoreDBInstanceFromDBSnapshotCommand, { StorageType: 'io1', Iops: 12000 });
  });
});

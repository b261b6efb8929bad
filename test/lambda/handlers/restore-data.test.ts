import 'aws-sdk-client-mock-jest';
import { DescribeDBInstancesCommand, RDSClient, RestoreDBInstanceFromDBSnapshotCommand } from '@aws-sdk/client-rds';
import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { awsDeps } from '../../../lambda/handlers/aws-wiring';
import { restoreData } from '../../../lambda/handlers/restore-data';
import {
  RestoreConflictError,
  RestoreFailedError,
  RESTORE_WAIT,
  RESTORE_WAIT_SECONDS,
} from '../../../lambda/core/backup/restore';
import { awsError } from '../adapters/aws/aws-errors';

const rds = mockClient(RDSClient);
const sm = mockClient(SecretsManagerClient);
const ecs = mockClient(ECSClient);
beforeEach(() => {
  rds.reset();
  sm.reset();
  ecs.reset();
});

const SECRET = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/old/db-AbCdEf';
const SERVICE = 'arn:aws:ecs:eu-west-1:111111111111:service/old-cluster/old-service';
const CLUSTER = 'arn:aws:ecs:eu-west-1:111111111111:cluster/old-cluster';
const ENV = {
  AWS_REGION: 'eu-west-1',
  SWITCHYARD_STAGE: 'prod',
  SOURCE_DB_SECRET_ARN: SECRET,
  TARGET_DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/new/db-XyZabc',
  OLD_DB_ID: 'switchyard-prod-old',
  ROUTING_KIND: 'alb',
  ALB_RULE_ARN: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener-rule/app/a/1/2/3',
  OLD_TARGET_GROUP_ARN: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/old/1',
  NEW_TARGET_GROUP_ARN: 'arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/new/2',
  HEALTH_ALARM_PREFIX: 'switchyard-prod-new-',
  OLD_PARAMETER_PATH: '/app/old',
  NEW_PARAMETER_PATH: '/app/new',
  OLD_SECRET_PREFIX: 'app/old',
  NEW_SECRET_PREFIX: 'app/new',
  NEW_KMS_KEY_ARN: 'arn:aws:kms:eu-west-1:111111111111:key/new-key',
  OLD_SERVICE_ARN: SERVICE,
  OLD_CLUSTER_ARN: CLUSTER,
};
const handler = (env: Record<string, string | undefined> = ENV) => restoreData.make(() => awsDeps(env));
const RESTORED = 'switchyard-prod-old-restored-m-1';

const ORIGINAL = {
  DBInstanceIdentifier: 'switchyard-prod-old',
  DBInstanceClass: 'db.r6g.large',
  DBInstanceStatus: 'available',
  Endpoint: { Address: 'old.abc.eu-west-1.rds.amazonaws.com', Port: 5433 },
  VpcSecurityGroups: [
    { VpcSecurityGroupId: 'sg-0aaa', Status: 'active' },
    { VpcSecurityGroupId: 'sg-0bbb', Status: 'active' },
  ],
  DBSubnetGroup: { DBSubnetGroupName: 'app-db-subnets' },
  DBParameterGroups: [{ DBParameterGroupName: 'app-pg16-force-ssl', ParameterApplyStatus: 'in-sync' }],
  OptionGroupMemberships: [{ OptionGroupName: 'default:postgres-16', Status: 'in-sync' }],
  MultiAZ: true,
  StorageType: 'gp3',
  Iops: 3000,
  IAMDatabaseAuthenticationEnabled: true,
  DeletionProtection: true,
  AutoMinorVersionUpgrade: true,
  EnabledCloudwatchLogsExports: ['postgresql'],
  KmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/old-key',
  TagList: [
    { Key: 'team', Value: 'chat' },
    { Key: 'aws:cloudformation:stack-name', Value: 'x' },
    { Key: 'switchyard:side', Value: 'old' },
  ],
};

describe('RestoreData handler (AWS adapters, mocked SDK)', () => {
  test('GIVEN the original instance WHEN the restore starts THEN it is restored with every setting of the original, private, tagged with the migration id', async () => {
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'switchyard-prod-old' })
      .resolves({ DBInstances: [ORIGINAL] });
    rds.on(RestoreDBInstanceFromDBSnapshotCommand).resolves({});
    await expect(
      handler()({ migrationId: 'm-1', action: 'start', snapshotId: 'switchyard-prod-m-1' }),
    ).resolves.toEqual({ dbId: RESTORED, status: 'creating', available: false });
    expect(rds).toHaveReceivedCommandTimes(RestoreDBInstanceFromDBSnapshotCommand, 1);
    expect(rds.commandCalls(RestoreDBInstanceFromDBSnapshotCommand)[0].args[0].input).toEqual({
      DBSnapshotIdentifier: 'switchyard-prod-m-1',
      DBInstanceIdentifier: RESTORED,
      DBInstanceClass: 'db.r6g.large',
      DBSubnetGroupName: 'app-db-subnets',
      VpcSecurityGroupIds: ['sg-0aaa', 'sg-0bbb'],
      DBParameterGroupName: 'app-pg16-force-ssl',
      OptionGroupName: 'default:postgres-16',
      Port: 5433,
      MultiAZ: true,
      StorageType: 'gp3',
      Iops: undefined,
      EnableIAMDatabaseAuthentication: true,
      EnableCloudwatchLogsExports: ['postgresql'],
      AutoMinorVersionUpgrade: true,
      DeletionProtection: true,
      PubliclyAccessible: false,
      CopyTagsToSnapshot: true,
      Tags: [
        { Key: 'team', Value: 'chat' },
        { Key: 'switchyard:side', Value: 'old' },
        { Key: 'switchyard:migration-id', Value: 'm-1' },
      ],
    });
  });

  test("GIVEN a retried start WHEN the instance already exists with this migration's tag THEN it is success", async () => {
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'switchyard-prod-old' })
      .resolves({ DBInstances: [ORIGINAL] });
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: RESTORED }).resolves({
      DBInstances: [{ DBInstanceIdentifier: RESTORED, TagList: [{ Key: 'switchyard:migration-id', Value: 'm-1' }] }],
    });
    rds.on(RestoreDBInstanceFromDBSnapshotCommand).rejects(awsError('DBInstanceAlreadyExistsFault'));
    await expect(
      handler()({ migrationId: 'm-1', action: 'start', snapshotId: 'switchyard-prod-m-1' }),
    ).resolves.toMatchObject({ dbId: RESTORED });
  });

  test("fails when an instance with the restore's id exists but is not this migration's", async () => {
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: 'switchyard-prod-old' })
      .resolves({ DBInstances: [ORIGINAL] });
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: RESTORED }).resolves({
      DBInstances: [
        { DBInstanceIdentifier: RESTORED, TagList: [{ Key: 'switchyard:migration-id', Value: 'someone-else' }] },
      ],
    });
    rds.on(RestoreDBInstanceFromDBSnapshotCommand).rejects(awsError('DBInstanceAlreadyExistsFault'));
    await expect(handler()({ migrationId: 'm-1', action: 'start', snapshotId: 'switchyard-prod-m-1' })).rejects.toThrow(
      RestoreConflictError,
    );
  });

  test('fails when the original instance is gone (its settings cannot be copied)', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(awsError('DBInstanceNotFoundFault'));
    await expect(handler()({ migrationId: 'm-1', action: 'start', snapshotId: 'switchyard-prod-m-1' })).rejects.toThrow(
      RestoreFailedError,
    );
    expect(rds).not.toHaveReceivedCommand(RestoreDBInstanceFromDBSnapshotCommand);
  });

  test('fails at once when the restored instance is in a terminal failed state', async () => {
    for (const status of [
      'failed',
      'incompatible-restore',
      'incompatible-parameters',
      'incompatible-network',
      'storage-full',
      'inaccessible-encryption-credentials',
    ]) {
      rds
        .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: RESTORED })
        .resolves({ DBInstances: [{ DBInstanceIdentifier: RESTORED, DBInstanceStatus: status }] });
      const err = await handler()({ migrationId: 'm-1', action: 'status' }).catch((e) => e);
      expect(err).toBeInstanceOf(RestoreFailedError);
      expect(err.message).toContain(`is ${status}`);
    }
  });

  test('status reports creating until available', async () => {
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: RESTORED })
      .resolvesOnce({ DBInstances: [{ DBInstanceStatus: 'creating' }] })
      .resolves({ DBInstances: [{ DBInstanceStatus: 'available' }] });
    await expect(handler()({ migrationId: 'm-1', action: 'status' })).resolves.toEqual({
      dbId: RESTORED,
      status: 'creating',
      available: false,
    });
    await expect(handler()({ migrationId: 'm-1', action: 'status' })).resolves.toEqual({
      dbId: RESTORED,
      status: 'available',
      available: true,
    });
  });

  const available = {
    DBInstances: [
      {
        DBInstanceStatus: 'available',
        Endpoint: { Address: 'restored.abc.eu-west-1.rds.amazonaws.com', Port: 5433 },
        TagList: [{ Key: 'switchyard:migration-id', Value: 'm-1' }],
      },
    ],
  };

  test('GIVEN an available restore WHEN repointed THEN the old secret points at it and the old service gets a new deployment', async () => {
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: RESTORED }).resolves(available);
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ host: 'old', port: 5433, username: 'u', password: 'p', dbname: 'app' }),
    });
    sm.on(PutSecretValueCommand).resolves({});
    ecs.on(UpdateServiceCommand).resolves({});
    const out = await handler()({ migrationId: 'm-1', action: 'repoint' });
    expect(out).toEqual({
      dbId: RESTORED,
      status: 'available',
      repointed: true,
      serviceRestarted: true,
      service: `ECS service ${SERVICE}`,
    });
    expect(JSON.parse(sm.commandCalls(PutSecretValueCommand)[0].args[0].input.SecretString!)).toEqual({
      host: 'restored.abc.eu-west-1.rds.amazonaws.com',
      port: 5433,
      username: 'u',
      password: 'p',
      dbname: 'app',
    });
    expect(ecs.commandCalls(UpdateServiceCommand)[0].args[0].input).toEqual({
      cluster: CLUSTER,
      service: SERVICE,
      forceNewDeployment: true,
    });
    expect(JSON.stringify(out)).not.toContain('"p"');
  });

  test('GIVEN an imported old side without a service WHEN repointed THEN the restart is skipped and the output says so', async () => {
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: RESTORED }).resolves(available);
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"host":"old"}' });
    sm.on(PutSecretValueCommand).resolves({});
    const out = await handler({ ...ENV, OLD_SERVICE_ARN: undefined, OLD_CLUSTER_ARN: undefined })({
      migrationId: 'm-1',
      action: 'repoint',
    });
    expect(out).toMatchObject({
      repointed: true,
      serviceRestarted: false,
      note: expect.stringContaining('restart its service yourself'),
    });
    expect(ecs).not.toHaveReceivedCommand(UpdateServiceCommand);
  });

  test("fails when the available instance is not tagged as this migration's restore (nothing repointed)", async () => {
    rds
      .on(DescribeDBInstancesCommand, { DBInstanceIdentifier: RESTORED })
      .resolves({ DBInstances: [{ ...available.DBInstances[0], TagList: [] }] });
    await expect(handler()({ migrationId: 'm-1', action: 'repoint' })).rejects.toThrow(RestoreConflictError);
    expect(sm).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  test('the wait budget fits the 1-hour restore budget with room for repoint, restart and config', () => {
    expect(RESTORE_WAIT_SECONDS).toBe(RESTORE_WAIT.maxPolls * RESTORE_WAIT.pollIntervalSeconds);
    expect(RESTORE_WAIT_SECONDS).toBeLessThanOrEqual(RESTORE_WAIT.budgetSeconds - 15 * 60);
  });
});

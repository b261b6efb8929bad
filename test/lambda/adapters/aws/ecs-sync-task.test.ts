import 'aws-sdk-client-mock-jest';
import {
  DescribeTasksCommand,
  ECSClient,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsAccessDeniedError } from '../../../../lambda/adapters/aws/errors';
import { EcsSyncTasks } from '../../../../lambda/adapters/aws/ecs-sync-task';
import { ERRORS } from '../../../../lambda/core/errors';
import { syncTaskStartedBy } from '../../../../lambda/core/sync/task';
import { denied } from './aws-errors';

const ecs = mockClient(ECSClient);
beforeEach(() => ecs.reset());
const CLUSTER = 'arn:aws:ecs:eu-west-1:111111111111:cluster/switchyard-prod-sync';
const TASK_DEF = 'arn:aws:ecs:eu-west-1:111111111111:task-definition/switchyard-prod-sync:3';
const ARN = 'arn:aws:ecs:eu-west-1:111111111111:task/switchyard-prod-sync/0123456789abcdef';
const tasks = () =>
  new EcsSyncTasks(
    {
      clusterArn: CLUSTER,
      taskDefinitionArn: TASK_DEF,
      containerName: 'sync',
      subnets: ['subnet-a', 'subnet-b'],
      securityGroups: ['sg-db-client'],
    },
    new ECSClient({ region: 'eu-west-1' }),
    { pollMs: 1, maxMs: 200 },
  );

describe('EcsSyncTasks (the long-running sync task on Fargate)', () => {
  test('RunTask starts one Fargate task in the private subnets, found later by migration, with identifiers only', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: ARN }] });
    await expect(
      tasks().start({
        migrationId: 'm-2026-12-07',
        executionId: 'arn:aws:states:eu-west-1:111111111111:execution:switchyard-prod-migrate:m-2026-12-07',
        fenceToken: 7,
        directions: ['forward', 'reverse'],
        conflicts: true,
      }),
    ).resolves.toEqual({ taskArn: ARN });
    const input = ecs.commandCalls(RunTaskCommand)[0].args[0].input;
    expect(input).toMatchObject({
      cluster: CLUSTER,
      taskDefinition: TASK_DEF,
      launchType: 'FARGATE',
      count: 1,
      startedBy: 'm-2026-12-07',
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: ['subnet-a', 'subnet-b'],
          securityGroups: ['sg-db-client'],
          assignPublicIp: 'DISABLED',
        },
      },
    });
    const env = input.overrides?.containerOverrides?.[0].environment ?? [];
    expect(Object.fromEntries(env.map((e) => [e.name, e.value]))).toEqual({
      SYNC_MIGRATION_ID: 'm-2026-12-07',
      SYNC_EXECUTION_ID: 'arn:aws:states:eu-west-1:111111111111:execution:switchyard-prod-migrate:m-2026-12-07',
      SYNC_FENCE_TOKEN: '7',
      SYNC_DIRECTIONS: 'forward,reverse',
      SYNC_CONFLICTS: 'true',
    });
    // No secret value (nor a secret ARN: the task definition holds those) in the call.
    expect(JSON.stringify(input)).not.toMatch(/password|secret/i);
  });

  test('a task ECS could not place fails with a named error that says why', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [], failures: [{ reason: 'RESOURCE:ENI', detail: 'no free IPs' }] });
    await expect(tasks().start({ migrationId: 'm1', directions: ['forward'], conflicts: false })).rejects.toMatchObject(
      {
        name: ERRORS.SyncTaskStoppedError,
        message: expect.stringContaining('RESOURCE:ENI (no free IPs)'),
      },
    );
  });

  test('a task found STOPPED is not running, with ECS reason and exit code', async () => {
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: ARN,
          lastStatus: 'STOPPED',
          stopCode: 'EssentialContainerExited',
          stoppedReason: 'Essential container in task exited',
          containers: [{ exitCode: 137 }],
        },
      ],
    });
    await expect(tasks().status(ARN)).resolves.toEqual({
      taskArn: ARN,
      running: false,
      stoppedReason: 'EssentialContainerExited: Essential container in task exited: exit code 137',
    });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: ARN, lastStatus: 'RUNNING' }] });
    await expect(tasks().status(ARN)).resolves.toEqual({ taskArn: ARN, running: true });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [], failures: [{ arn: ARN, reason: 'MISSING' }] });
    await expect(tasks().status(ARN)).resolves.toMatchObject({ running: false });
  });

  test("stopAll stops the migration's running tasks and returns once each is STOPPED", async () => {
    ecs.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({ taskArns: [ARN] });
    ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({ taskArns: [] });
    ecs.on(StopTaskCommand).resolves({});
    ecs
      .on(DescribeTasksCommand)
      .resolvesOnce({ tasks: [{ taskArn: ARN, lastStatus: 'DEACTIVATING' }] })
      .resolves({ tasks: [{ taskArn: ARN, lastStatus: 'STOPPED' }] });
    await expect(tasks().stopAll('m1')).resolves.toEqual([ARN]);
    expect(ecs).toHaveReceivedCommandWith(ListTasksCommand, { cluster: CLUSTER, startedBy: 'm1' });
    expect(ecs).toHaveReceivedCommandWith(StopTaskCommand, { cluster: CLUSTER, task: ARN });
    expect(ecs).toHaveReceivedCommandTimes(DescribeTasksCommand, 2);
  });

  test('nothing running: stopAll stops nothing', async () => {
    ecs.on(ListTasksCommand).resolves({ taskArns: [] });
    await expect(tasks().stopAll('m1')).resolves.toEqual([]);
    expect(ecs).not.toHaveReceivedCommand(StopTaskCommand);
  });

  test('a task that never reaches STOPPED fails with SyncTaskStopTimeoutError (it may still hold the slot)', async () => {
    ecs.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({ taskArns: [ARN] });
    ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({ taskArns: [] });
    ecs.on(StopTaskCommand).resolves({});
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: ARN, lastStatus: 'DEACTIVATING' }] });
    await expect(tasks().stopAll('m1')).rejects.toMatchObject({ name: ERRORS.SyncTaskStopTimeoutError });
  });

  test('access denied is named', async () => {
    ecs.on(ListTasksCommand).rejects(denied());
    await expect(tasks().stopAll('m1')).rejects.toBeInstanceOf(AwsAccessDeniedError);
  });

  test('startedBy fits ECS (36 characters) and stays distinct for long migration ids', () => {
    expect(syncTaskStartedBy('m-short')).toBe('m-short');
    const a = syncTaskStartedBy(`${'a'.repeat(40)}-one`);
    const b = syncTaskStartedBy(`${'a'.repeat(40)}-two`);
    expect(a).toHaveLength(36);
    expect(a).not.toBe(b);
  });
});

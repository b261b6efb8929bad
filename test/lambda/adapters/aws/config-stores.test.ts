import 'aws-sdk-client-mock-jest';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  AddTagsToResourceCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsConfigStore } from '../../../../lambda/adapters/aws/secrets-config-store';
import { SsmConfigStore } from '../../../../lambda/adapters/aws/ssm-config-store';
import { AwsAccessDeniedError, AwsThrottledError } from '../../../../lambda/adapters/aws/errors';
import { MemoryConfigStore } from '../../../../lambda/adapters/local/memory-config-store';
import { transferConfig } from '../../../../lambda/handlers/transfer-config';
import type { PhaseDeps } from '../../../../lambda/handlers/support/deps';
import { createLogger } from '../../../../lambda/handlers/support/logger';
import { awsError, denied, throttled } from './aws-errors';

const ssm = mockClient(SSMClient);
const sm = mockClient(SecretsManagerClient);
beforeEach(() => {
  ssm.reset();
  sm.reset();
});
const notFound = () => awsError('ParameterNotFound');

describe('SsmConfigStore', () => {
  const store = () => new SsmConfigStore(new SSMClient({ region: 'eu-west-1' }));

  test('a SecureString is written back as a SecureString with its KMS key', async () => {
    ssm.on(GetParameterCommand, { Name: '/a/new/key' }).rejects(notFound());
    ssm.on(PutParameterCommand).resolves({ Version: 1 });
    ssm.on(AddTagsToResourceCommand).resolves({});
    await store().put('/a/new/key', 'v', {
      secure: true,
      kmsKeyId: 'alias/app',
      tags: { 'switchyard:migration-id': 'm1' },
    });
    // Tags in the creating call itself: a new parameter is never untagged (its rollback point rides on it).
    expect(ssm.commandCalls(PutParameterCommand)[0].args[0].input).toEqual({
      Name: '/a/new/key',
      Value: 'v',
      Type: 'SecureString',
      KeyId: 'alias/app',
      Overwrite: false,
      Tags: [{ Key: 'switchyard:migration-id', Value: 'm1' }],
    });
    expect(ssm).not.toHaveReceivedCommand(AddTagsToResourceCommand);
  });

  test('get reads SecureString key ids, and a missing parameter is undefined', async () => {
    ssm
      .on(GetParameterCommand, { Name: '/a/k' })
      .resolves({ Parameter: { Name: '/a/k', Value: 'x', Type: 'SecureString', Version: 3 } });
    ssm.on(DescribeParametersCommand).resolves({ Parameters: [{ Name: '/a/k', KeyId: 'alias/app' }] });
    await expect(store().get('/a/k')).resolves.toEqual({
      value: 'x',
      version: '3',
      secure: true,
      kmsKeyId: 'alias/app',
    });
    ssm.on(GetParameterCommand, { Name: '/a/missing' }).rejects(notFound());
    await expect(store().get('/a/missing')).resolves.toBeUndefined();
  });

  test('restore puts the historical version back', async () => {
    ssm.on(GetParameterHistoryCommand).resolves({
      Parameters: [
        { Name: '/a/k', Version: 1, Value: 'old', Type: 'String' },
        { Name: '/a/k', Version: 2, Value: 'new', Type: 'String' },
      ],
    });
    ssm.on(PutParameterCommand).resolves({ Version: 3 });
    await store().restore('/a/k', '1');
    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, { Name: '/a/k', Value: 'old', Overwrite: true });
  });

  test('listing pages through the path', async () => {
    ssm
      .on(GetParametersByPathCommand)
      .resolvesOnce({ Parameters: [{ Name: '/a/1' }], NextToken: 't' })
      .resolves({ Parameters: [{ Name: '/a/2' }] });
    await expect(store().list('/a')).resolves.toEqual(['/a/1', '/a/2']);
    expect(ssm).toHaveReceivedCommandWith(GetParametersByPathCommand, { Path: '/a', Recursive: true, NextToken: 't' });
  });

  test('fails with AwsThrottledError when throttling outlasts the SDK retries', async () => {
    ssm.on(GetParametersByPathCommand).rejectsOnce(throttled()).resolves({ Parameters: [] });
    await expect(store().list('/a')).rejects.toThrow(AwsThrottledError);
    expect(ssm).toHaveReceivedCommandTimes(GetParametersByPathCommand, 1);
  });

  test('fails with AwsAccessDeniedError naming the parameter', async () => {
    ssm.on(GetParametersByPathCommand).rejects(denied());
    await expect(store().list('/a')).rejects.toThrow(
      new AwsAccessDeniedError(
        'ssm:GetParametersByPath on /a was denied: grant the phase function ssm:GetParametersByPath on that resource',
      ),
    );
  });
});

describe('SecretsConfigStore', () => {
  const store = () => new SecretsConfigStore(new SecretsManagerClient({ region: 'eu-west-1' }));

  test('an existing secret gets a new version; rollback moves AWSCURRENT back', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'old', VersionId: 'v1' });
    sm.on(DescribeSecretCommand).resolves({
      KmsKeyId: 'alias/app',
      VersionIdsToStages: { v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT'] },
    });
    sm.on(PutSecretValueCommand).resolves({ VersionId: 'v2' });
    await expect(store().put('app/new/k', 'new', {})).resolves.toEqual({ version: 'v2', previousVersion: 'v1' });
    sm.on(UpdateSecretVersionStageCommand).resolves({});
    await store().restore('app/new/k', 'v1');
    expect(sm).toHaveReceivedCommandWith(UpdateSecretVersionStageCommand, {
      SecretId: 'app/new/k',
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: 'v1',
      RemoveFromVersionId: 'v2',
    });
  });

  test('a new secret is created with the source KMS key and tags', async () => {
    sm.on(GetSecretValueCommand).rejects(awsError('ResourceNotFoundException'));
    sm.on(CreateSecretCommand).resolves({ VersionId: 'v1' });
    await store().put('app/new/k', 'x', { kmsKeyId: 'alias/app', tags: { a: 'b' } });
    expect(sm).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'app/new/k',
      KmsKeyId: 'alias/app',
      Tags: [{ Key: 'a', Value: 'b' }],
    });
  });

  test('a secret scheduled for deletion reads as absent (InvalidRequestException), and deleting it again is a no-op', async () => {
    sm.on(GetSecretValueCommand).rejects(
      awsError(
        'InvalidRequestException',
        "You can't perform this operation on the secret because it was marked for deletion.",
      ),
    );
    await expect(store().get('app/new/k')).resolves.toBeUndefined();
    sm.on(DeleteSecretCommand).rejects(awsError('InvalidRequestException', 'marked for deletion'));
    await expect(store().delete('app/new/k')).resolves.toBeUndefined();
  });

  test('other InvalidRequestExceptions are not swallowed', async () => {
    sm.on(GetSecretValueCommand).rejects(
      awsError('InvalidRequestException', 'You provided a parameter value that is not valid'),
    );
    await expect(store().get('app/new/k')).rejects.toThrow('not valid');
  });

  test('listing filters by prefix and skips deleted secrets', async () => {
    sm.on(ListSecretsCommand).resolves({
      SecretList: [{ Name: 'app/old/a' }, { Name: 'app/old/b', DeletedDate: new Date() }, { Name: 'app/older/c' }],
    });
    await expect(store().list('app/old')).resolves.toEqual(['app/old/a']);
  });
});

describe('TransferConfig handler against mocked AWS', () => {
  test('GIVEN secrets and parameters WHEN applied THEN values are copied and no value appears in logs or output', async () => {
    const lines: string[] = [];
    const params = new MemoryConfigStore('parameter');
    await params.put('/app/old/db/host', 'old-db.internal');
    const secretValue = 'sk_live_SUPER_SECRET_123';
    // Secrets Manager mocked: one secret under the old prefix, nothing under the new one yet.
    sm.on(ListSecretsCommand).resolves({ SecretList: [{ Name: 'app/old/stripe' }] });
    sm.on(GetSecretValueCommand, { SecretId: 'app/old/stripe' }).resolves({
      SecretString: secretValue,
      VersionId: 'o1',
    });
    sm.on(GetSecretValueCommand, { SecretId: 'app/new/stripe' })
      .rejectsOnce(awsError('ResourceNotFoundException'))
      .rejectsOnce(awsError('ResourceNotFoundException'))
      .resolves({ SecretString: secretValue, VersionId: 'n1' });
    sm.on(DescribeSecretCommand).resolves({ KmsKeyId: 'alias/app' });
    sm.on(CreateSecretCommand).resolves({ VersionId: 'n1' });
    const deps = {
      stage: 'test',
      log: createLogger({ service: 'switchyard' }, (l) => lines.push(l)),
      specName: 'chat-history',
      targetDb: async () => ({
        host: 'new-db.internal',
        port: 5432,
        database: 'app',
        user: 'u',
        password: 'DB_PASSWORD_XYZ',
      }),
      configStores: [params, new SecretsConfigStore(new SecretsManagerClient({ region: 'eu-west-1' }))],
      transferRules: {
        parameters: { from: '/app/old', to: '/app/new' },
        secrets: { from: 'app/old', to: 'app/new' },
        templates: { 'db/host': '{{target.db.host}}' },
      },
      now: () => Date.now(),
    } as unknown as PhaseDeps;
    const handler = transferConfig.make(() => deps);
    const plan = await handler({ migrationId: 'm1', mode: 'plan' });
    const out = await handler({ migrationId: 'm1', mode: 'apply' });
    expect(out).toMatchObject({ created: 2, updated: 0, verified: 2 });
    expect((await params.get('/app/new/db/host'))?.value).toBe('new-db.internal');
    expect(sm).toHaveReceivedCommandWith(CreateSecretCommand, {
      Name: 'app/new/stripe',
      SecretString: secretValue,
      KmsKeyId: 'alias/app',
    });
    const everything = JSON.stringify([plan, out]) + lines.join('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(everything).not.toContain(secretValue);
    expect(everything).not.toContain('DB_PASSWORD_XYZ');
    expect(everything).not.toContain('old-db.internal');
    for (const l of lines) expect(JSON.parse(l)).toMatchObject({ migrationId: 'm1', phase: 'TransferConfig' });
  });

  test('fails when the input is malformed, without touching any store', async () => {
    const handler = transferConfig.make(() => ({ log: createLogger({}, () => undefined) }) as unknown as PhaseDeps);
    await expect(handler({ migrationId: 'M 1', mode: 'apply' })).rejects.toThrow(
      /InvalidInput|invalid input: migrationId must be lowercase/,
    );
    await expect(handler({ migrationId: 'm1', mode: 'rollback' })).rejects.toThrow(
      'TransferConfig: invalid input: applied',
    );
    expect(sm.calls()).toHaveLength(0);
  });
});

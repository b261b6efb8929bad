import 'aws-sdk-client-mock-jest';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  AddTagsToResourceCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  SSMClient,
  DescribeParametersCommand,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { awsDeps, secretNameOf } from '../../../lambda/handlers/aws-wiring';
import { InvalidInputError } from '../../../lambda/handlers/support/input';
import { transferConfig } from '../../../lambda/handlers/transfer-config';
import { awsError } from '../adapters/aws/aws-errors';

const sm = mockClient(SecretsManagerClient);
const ssm = mockClient(SSMClient);
beforeEach(() => {
  sm.reset();
  ssm.reset();
});

const NEW_KEY = 'arn:aws:kms:eu-west-1:111111111111:key/new-side';
const TARGET_SECRET = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/new/db-XyZabc';
const ENV = {
  AWS_REGION: 'eu-west-1',
  SWITCHYARD_STAGE: 'prod',
  SOURCE_DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:app/old/db-AbCdEf',
  TARGET_DB_SECRET_ARN: TARGET_SECRET,
  OLD_DB_ID: 'switchyard-prod-old',
  ROUTING_KIND: 'route53',
  HOSTED_ZONE_ID: 'Z0123',
  RECORD_NAME: 'chat.example.com',
  HEALTH_ALARM_PREFIX: 'switchyard-prod-new-',
  OLD_PARAMETER_PATH: '/app/old',
  NEW_PARAMETER_PATH: '/app/new',
  OLD_SECRET_PREFIX: 'app/old',
  NEW_SECRET_PREFIX: 'app/new',
  NEW_KMS_KEY_ARN: NEW_KEY,
};
const handler = () => transferConfig.make(() => awsDeps(ENV));
const deletedMsg = "You can't perform this operation on the secret because it was marked for deletion.";

/** Old side: one SecureString parameter and one secret; new side: nothing readable yet. */
function oldSide() {
  sm.on(GetSecretValueCommand, { SecretId: TARGET_SECRET }).resolves({
    SecretString: JSON.stringify({ host: 'new-db', port: 5432, username: 'u', password: 'pw', dbname: 'app' }),
  });
  sm.on(ListSecretsCommand).callsFake(({ Filters }) => ({
    SecretList: Filters[0].Values[0] === 'app/old/' ? [{ Name: 'app/old/stripe' }, { Name: 'app/old/db' }] : [],
  }));
  sm.on(GetSecretValueCommand, { SecretId: 'app/old/stripe' }).resolves({ SecretString: 'sk_live', VersionId: 'o1' });
  sm.on(DescribeSecretCommand, { SecretId: 'app/old/stripe' }).resolves({
    KmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/old-side',
  });
  ssm
    .on(GetParametersByPathCommand)
    .callsFake(({ Path }) => ({ Parameters: Path === '/app/old' ? [{ Name: '/app/old/signing-key' }] : [] }));
  ssm
    .on(GetParameterCommand, { Name: '/app/old/signing-key' })
    .resolves({ Parameter: { Name: '/app/old/signing-key', Value: 'pk', Type: 'SecureString', Version: 4 } });
  ssm
    .on(DescribeParametersCommand)
    .resolves({ Parameters: [{ KeyId: 'arn:aws:kms:eu-west-1:111111111111:key/old-side' }] });
  ssm
    .on(GetParameterCommand, { Name: '/app/new/signing-key' })
    .rejectsOnce(awsError('ParameterNotFound'))
    .rejectsOnce(awsError('ParameterNotFound'))
    .resolves({ Parameter: { Value: 'pk', Type: 'SecureString', Version: 1 } });
  ssm.on(PutParameterCommand).resolves({ Version: 1 });
}

describe('TransferConfig handler (AWS adapters, mocked SDK)', () => {
  test("GIVEN a first apply WHEN names are created THEN secrets and SecureStrings use the NEW side's key and carry the rollback point", async () => {
    oldSide();
    sm.on(GetSecretValueCommand, { SecretId: 'app/new/stripe' })
      .rejectsOnce(awsError('ResourceNotFoundException'))
      .resolves({ SecretString: 'sk_live', VersionId: 'n1' });
    sm.on(DescribeSecretCommand, { SecretId: 'app/new/stripe' }).resolves({ KmsKeyId: NEW_KEY });
    sm.on(CreateSecretCommand).resolves({ VersionId: 'n1' });
    const out = await handler()({ migrationId: 'm-1', mode: 'apply' });
    expect(out).toMatchObject({ created: 2, verified: 2 });
    expect(sm.commandCalls(CreateSecretCommand).map((c) => c.args[0].input)).toEqual([
      {
        Name: 'app/new/stripe',
        SecretString: 'sk_live',
        KmsKeyId: NEW_KEY,
        Description: 'switchyard: from app/old/stripe',
        Tags: [
          { Key: 'switchyard:migration-id', Value: 'm-1' },
          { Key: 'switchyard:previous-version', Value: 'm-1/none' },
        ],
      },
    ]);
    expect(ssm.commandCalls(PutParameterCommand)[0].args[0].input).toEqual({
      Name: '/app/new/signing-key',
      Value: 'pk',
      Type: 'SecureString',
      KeyId: NEW_KEY,
      Description: 'switchyard: from /app/old/signing-key',
      Overwrite: false,
      Tags: [
        { Key: 'switchyard:migration-id', Value: 'm-1' },
        { Key: 'switchyard:previous-version', Value: 'm-1/none' },
      ],
    });
    // The new database's own secret (app/new/db) is never a target.
    expect(JSON.stringify(sm.calls().map((c) => c.args[0].input))).not.toContain('app/new/db"');
  });

  test('GIVEN the new secret was deleted by a rollback (scheduled for deletion) WHEN applied again THEN it is restored and rewritten with the new key', async () => {
    oldSide();
    sm.on(GetSecretValueCommand, { SecretId: 'app/new/stripe' })
      .rejectsOnce(awsError('InvalidRequestException', deletedMsg))
      .resolves({ SecretString: 'sk_live', VersionId: 'n2' });
    sm.on(DescribeSecretCommand, { SecretId: 'app/new/stripe' }).resolves({ KmsKeyId: NEW_KEY });
    sm.on(CreateSecretCommand).rejects(
      awsError(
        'InvalidRequestException',
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
      ),
    );
    sm.on(RestoreSecretCommand).resolves({});
    sm.on(UpdateSecretCommand).resolves({ VersionId: 'n2' });
    sm.on(TagResourceCommand).resolves({});
    await expect(handler()({ migrationId: 'm-1', mode: 'apply' })).resolves.toMatchObject({ created: 2, verified: 2 });
    expect(sm).toHaveReceivedCommandWith(RestoreSecretCommand, { SecretId: 'app/new/stripe' });
    expect(sm.commandCalls(UpdateSecretCommand)[0].args[0].input).toEqual({
      SecretId: 'app/new/stripe',
      SecretString: 'sk_live',
      KmsKeyId: NEW_KEY,
      Description: 'switchyard: from app/old/stripe',
    });
    expect(sm).not.toHaveReceivedCommand(PutSecretValueCommand);
  });

  test("GIVEN a second apply WHEN the target exists with the first apply's rollback point THEN that point is kept, not overwritten", async () => {
    oldSide();
    ssm
      .on(GetParameterCommand, { Name: '/app/new/signing-key' })
      .resolves({ Parameter: { Value: 'pk-first', Type: 'SecureString', Version: 2 } });
    ssm.on(ListTagsForResourceCommand).resolves({ TagList: [{ Key: 'switchyard:previous-version', Value: 'm-1/1' }] });
    ssm.on(PutParameterCommand).resolves({ Version: 3 });
    sm.on(GetSecretValueCommand, { SecretId: 'app/new/stripe' }).resolves({ SecretString: 'sk_live', VersionId: 'n1' });
    sm.on(DescribeSecretCommand, { SecretId: 'app/new/stripe' }).resolves({
      KmsKeyId: NEW_KEY,
      Tags: [{ Key: 'switchyard:previous-version', Value: 'm-1/none' }],
    });
    ssm
      .on(GetParameterCommand, { Name: '/app/new/signing-key' })
      .resolvesOnce({ Parameter: { Value: 'pk-first', Type: 'SecureString', Version: 2 } })
      .resolves({ Parameter: { Value: 'pk', Type: 'SecureString', Version: 3 } });
    const out = (await handler()({ migrationId: 'm-1', mode: 'apply' })) as { applied: unknown[] };
    expect(out.applied).toEqual([
      {
        kind: 'parameter',
        source: '/app/old/signing-key',
        target: '/app/new/signing-key',
        action: 'update',
        version: '3',
        previousVersion: '1',
      },
      {
        kind: 'secret',
        source: 'app/old/stripe',
        target: 'app/new/stripe',
        action: 'unchanged',
        version: 'n1',
        created: true,
      },
    ]);
    expect(ssm).not.toHaveReceivedCommand(AddTagsToResourceCommand);
    expect(sm).not.toHaveReceivedCommand(TagResourceCommand);
  });

  test("fails when a rollback's applied list names something outside the new side's namespaces (nothing touched)", async () => {
    const applied = [
      { kind: 'parameter', source: '/app/old/a', target: '/app/new/a', action: 'update', previousVersion: '1' },
      { kind: 'secret', source: 'app/old/x', target: 'app/old/x', action: 'create' },
      { kind: 'secret', source: 'app/old/db', target: 'app/new/db', action: 'update', previousVersion: 'v0' },
    ];
    const err = await handler()({ migrationId: 'm-1', mode: 'rollback', applied }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toContain('secret app/old/x, secret app/new/db');
    expect(sm.calls()).toHaveLength(0);
    expect(ssm.calls()).toHaveLength(0);
  });

  test('secret names are read from ARNs without the random suffix', () => {
    expect(secretNameOf(TARGET_SECRET)).toBe('app/new/db');
    expect(secretNameOf('app/new/db')).toBe('app/new/db');
  });
});

import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  SecretsManagerClient,
  TagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { ConfigStore, PutOptions, StoredValue } from '../../core/config/ports';
import { ROLLBACK_POINT_TAG } from '../../core/config/transfer';
import { AwsResourceNotFoundError, call } from './errors';
import { AWS_CLIENT_CONFIG } from './retry';

const notFound = (e: unknown) => (e as { name?: string }).name === 'ResourceNotFoundException';
/** A secret scheduled for deletion (an earlier rollback deleted it) answers InvalidRequestException to reads and writes. */
const scheduledForDeletion = (e: unknown) =>
  (e as { name?: string }).name === 'InvalidRequestException' &&
  /(marked|scheduled) for deletion/i.test(String((e as Error).message));
const tagList = (tags: Readonly<Record<string, string>> = {}) =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/** Secrets Manager as a ConfigStore. Values are only ever passed to the SDK, never logged or returned in errors. */
export class SecretsConfigStore implements ConfigStore {
  public readonly kind = 'secret' as const;
  constructor(private readonly sm: SecretsManagerClient = new SecretsManagerClient({ ...AWS_CLIENT_CONFIG })) {}

  async list(prefix: string): Promise<string[]> {
    const names: string[] = [];
    let NextToken: string | undefined;
    const p = `${prefix.replace(/\/$/, '')}/`;
    do {
      const r = await call('secretsmanager:ListSecrets', p, () =>
        this.sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [p] }], NextToken })),
      );
      for (const s of r.SecretList ?? []) if (s.Name?.startsWith(p) && !s.DeletedDate) names.push(s.Name);
      NextToken = r.NextToken;
    } while (NextToken);
    return names;
  }

  /** The current value; a secret that does not exist or is scheduled for deletion is absent. */
  async get(name: string): Promise<StoredValue | undefined> {
    try {
      const r = await call('secretsmanager:GetSecretValue', name, () =>
        this.sm.send(new GetSecretValueCommand({ SecretId: name })),
      );
      const d = await call('secretsmanager:DescribeSecret', name, () =>
        this.sm.send(new DescribeSecretCommand({ SecretId: name })),
      );
      if (d.DeletedDate) return undefined;
      return { value: r.SecretString ?? '', version: r.VersionId!, kmsKeyId: d.KmsKeyId };
    } catch (e) {
      if (notFound(e) || scheduledForDeletion(e)) return undefined;
      throw e;
    }
  }

  async put(name: string, value: string, opts: PutOptions): Promise<{ version: string; previousVersion?: string }> {
    const before = opts.current
      ? opts.current.exists
        ? { version: opts.current.version ?? '' }
        : undefined
      : await this.get(name);
    if (before) {
      const r = await call('secretsmanager:PutSecretValue', name, () =>
        this.sm.send(new PutSecretValueCommand({ SecretId: name, SecretString: value })),
      );
      return { version: r.VersionId!, previousVersion: before.version };
    }
    try {
      const r = await call('secretsmanager:CreateSecret', name, () =>
        this.sm.send(
          new CreateSecretCommand({
            Name: name,
            SecretString: value,
            KmsKeyId: opts.kmsKeyId,
            Description: opts.description,
            Tags: tagList(opts.tags),
          }),
        ),
      );
      return { version: r.VersionId! };
    } catch (e) {
      if (!scheduledForDeletion(e)) throw e;
      // Deleted by an earlier rollback and waiting out its recovery window: bring it back, then write
      // value and key in one call (the restored secret may still use another key) and retag it.
      await call('secretsmanager:RestoreSecret', name, () =>
        this.sm.send(new RestoreSecretCommand({ SecretId: name })),
      );
      const r = await call('secretsmanager:UpdateSecret', name, () =>
        this.sm.send(
          new UpdateSecretCommand({
            SecretId: name,
            SecretString: value,
            KmsKeyId: opts.kmsKeyId,
            Description: opts.description,
          }),
        ),
      );
      if (opts.tags && Object.keys(opts.tags).length) {
        await call('secretsmanager:TagResource', name, () =>
          this.sm.send(new TagResourceCommand({ SecretId: name, Tags: tagList(opts.tags) })),
        );
      }
      return { version: r.VersionId! };
    }
  }

  /** Make `version` AWSCURRENT again; the version it replaces keeps AWSPREVIOUS (nothing is overwritten). */
  async restore(name: string, version: string): Promise<void> {
    const d = await call('secretsmanager:DescribeSecret', name, () =>
      this.sm.send(new DescribeSecretCommand({ SecretId: name })),
    );
    const stages = d.VersionIdsToStages ?? {};
    if (!(version in stages)) throw new AwsResourceNotFoundError(`secret ${name} has no version ${version} any more`);
    const current = Object.entries(stages).find(([, s]) => s.includes('AWSCURRENT'))?.[0];
    if (current === version) return;
    await call('secretsmanager:UpdateSecretVersionStage', name, () =>
      this.sm.send(
        new UpdateSecretVersionStageCommand({
          SecretId: name,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: version,
          RemoveFromVersionId: current,
        }),
      ),
    );
  }

  async delete(name: string): Promise<void> {
    try {
      await call('secretsmanager:DeleteSecret', name, () =>
        this.sm.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 })),
      );
    } catch (e) {
      if (!notFound(e) && !scheduledForDeletion(e)) throw e;
    }
  }

  async readRollbackPoint(name: string): Promise<string | undefined> {
    try {
      const d = await call('secretsmanager:DescribeSecret', name, () =>
        this.sm.send(new DescribeSecretCommand({ SecretId: name })),
      );
      return d.Tags?.find((t) => t.Key === ROLLBACK_POINT_TAG)?.Value;
    } catch (e) {
      if (notFound(e) || scheduledForDeletion(e)) return undefined;
      throw e;
    }
  }

  async recordRollbackPoint(name: string, point: string): Promise<void> {
    await call('secretsmanager:TagResource', name, () =>
      this.sm.send(new TagResourceCommand({ SecretId: name, Tags: [{ Key: ROLLBACK_POINT_TAG, Value: point }] })),
    );
  }
}

import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  GetParametersByPathCommand,
  ListTagsForResourceCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type { ConfigStore, PutOptions, StoredValue } from '../../core/config/ports';
import { ROLLBACK_POINT_TAG } from '../../core/config/transfer';
import { AwsResourceNotFoundError, call } from './errors';
import { AWS_CLIENT_CONFIG } from './retry';

/** SSM Parameter Store as a ConfigStore. SecureStrings stay SecureStrings with their KMS key. */
export class SsmConfigStore implements ConfigStore {
  public readonly kind = 'parameter' as const;
  constructor(private readonly ssm: SSMClient = new SSMClient({ ...AWS_CLIENT_CONFIG })) {}

  async list(path: string): Promise<string[]> {
    const names: string[] = [];
    let NextToken: string | undefined;
    do {
      const r = await call('ssm:GetParametersByPath', path, () =>
        this.ssm.send(new GetParametersByPathCommand({ Path: path, Recursive: true, NextToken })),
      );
      for (const p of r.Parameters ?? []) if (p.Name) names.push(p.Name);
      NextToken = r.NextToken;
    } while (NextToken);
    return names;
  }

  async get(name: string): Promise<StoredValue | undefined> {
    try {
      const r = await call('ssm:GetParameter', name, () =>
        this.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true })),
      );
      const p = r.Parameter!;
      const secure = p.Type === 'SecureString';
      return {
        value: p.Value ?? '',
        version: String(p.Version),
        secure,
        kmsKeyId: secure ? await this.keyOf(name) : undefined,
      };
    } catch (e) {
      if (e instanceof ParameterNotFound || (e as { name?: string }).name === 'ParameterNotFound') return undefined;
      throw e;
    }
  }

  private async keyOf(name: string): Promise<string | undefined> {
    const r = await call('ssm:DescribeParameters', name, () =>
      this.ssm.send(
        new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] }),
      ),
    );
    return r.Parameters?.[0]?.KeyId;
  }

  async put(name: string, value: string, opts: PutOptions): Promise<{ version: string; previousVersion?: string }> {
    const before = opts.current
      ? opts.current.exists
        ? { version: opts.current.version ?? '' }
        : undefined
      : await this.get(name);
    const tags = Object.entries(opts.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
    const r = await call('ssm:PutParameter', name, () =>
      this.ssm.send(
        new PutParameterCommand({
          Name: name,
          Value: value,
          Type: opts.secure ? 'SecureString' : 'String',
          KeyId: opts.secure ? opts.kmsKeyId : undefined,
          Description: opts.description,
          Overwrite: before !== undefined,
          // Tags only on create (SSM refuses them with Overwrite), in the same call: a new name is never untagged.
          Tags: !before && tags.length ? tags : undefined,
        }),
      ),
    );
    return { version: String(r.Version), previousVersion: before?.version };
  }

  async readRollbackPoint(name: string): Promise<string | undefined> {
    const r = await call('ssm:ListTagsForResource', name, () =>
      this.ssm.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: name })),
    );
    return r.TagList?.find((t) => t.Key === ROLLBACK_POINT_TAG)?.Value;
  }

  async recordRollbackPoint(name: string, point: string): Promise<void> {
    await call('ssm:AddTagsToResource', name, () =>
      this.ssm.send(
        new AddTagsToResourceCommand({
          ResourceType: 'Parameter',
          ResourceId: name,
          Tags: [{ Key: ROLLBACK_POINT_TAG, Value: point }],
        }),
      ),
    );
  }

  async restore(name: string, version: string): Promise<void> {
    let NextToken: string | undefined;
    do {
      const r = await call('ssm:GetParameterHistory', name, () =>
        this.ssm.send(new GetParameterHistoryCommand({ Name: name, WithDecryption: true, NextToken })),
      );
      const old = r.Parameters?.find((p) => String(p.Version) === version);
      if (old) {
        await call('ssm:PutParameter', name, () =>
          this.ssm.send(
            new PutParameterCommand({
              Name: name,
              Value: old.Value,
              Type: old.Type,
              KeyId: old.Type === 'SecureString' ? old.KeyId : undefined,
              Overwrite: true,
            }),
          ),
        );
        return;
      }
      NextToken = r.NextToken;
    } while (NextToken);
    throw new AwsResourceNotFoundError(
      `parameter ${name} has no version ${version} in its history (SSM keeps the last 100)`,
    );
  }

  async delete(name: string): Promise<void> {
    try {
      await call('ssm:DeleteParameter', name, () => this.ssm.send(new DeleteParameterCommand({ Name: name })));
    } catch (e) {
      if ((e as { name?: string }).name !== 'ParameterNotFound') throw e;
    }
  }
}

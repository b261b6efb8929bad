import { MemoryConfigStore } from '../../../lambda/adapters/local/memory-config-store';
import type { PutOptions } from '../../../lambda/core/config/ports';
import {
  applyTransfer,
  assertAppliedWithinRules,
  ConfigTransferError,
  environmentTransferRules,
  planTransfer,
  ROLLBACK_POINT_TAG,
  rollbackTransfer,
  type TransferRules,
  verifyTransfer,
} from '../../../lambda/core/config/transfer';

/** The memory store plus the tag the AWS stores keep the rollback point in. */
class TaggedStore extends MemoryConfigStore {
  readonly tags = new Map<string, string>();
  override async put(name: string, value: string, opts: PutOptions = {}) {
    const point = opts.tags?.[ROLLBACK_POINT_TAG];
    if (point && !(await this.get(name))) this.tags.set(name, point);
    return super.put(name, value, opts);
  }
  override async delete(name: string) {
    this.tags.delete(name);
    return super.delete(name);
  }
  async readRollbackPoint(name: string) {
    return this.tags.get(name);
  }
  async recordRollbackPoint(name: string, point: string) {
    this.tags.set(name, point);
  }
}

const rules: TransferRules = {
  parameters: { from: '/chat/old', to: '/chat/new' },
  secrets: { from: 'chat/old', to: 'chat/new' },
  renames: [{ from: 'feature/legacy-flag', to: 'feature/flag' }],
  templates: { 'db/host': '{{target.db.host}}', 'api/url': 'https://{{target.db.host}}:{{ target.db.port }}/v1' },
  exclude: ['db'],
};
const ctx = { 'target.db.host': 'new-db.internal', 'target.db.port': '5432' };

async function stores() {
  const params = new TaggedStore('parameter');
  const secrets = new TaggedStore('secret');
  await params.put('/chat/old/db/host', 'old-db.internal');
  await params.put('/chat/old/api/url', 'https://old');
  await params.put('/chat/old/feature/legacy-flag', 'on');
  await params.put('/chat/old/signing-key', 'pk-123', { secure: true, kmsKeyId: 'alias/chat' });
  await params.put('/chat/new/api/url', 'https://stale');
  await params.put('/chat/new/db/host', 'new-db.internal');
  await secrets.put('chat/old/db', '{"password":"old-pw"}');
  await secrets.put('chat/old/stripe', 'sk_live_abc');
  await secrets.put('chat/new/stripe', 'sk_live_old_value');
  return { params, secrets, all: [params, secrets] };
}

describe('config transfer', () => {
  test('plan lists names and actions only: renames, templates and exclusions applied', async () => {
    const { all } = await stores();
    const plan = await planTransfer(all, rules, ctx);
    expect(plan).toEqual([
      { kind: 'parameter', source: '/chat/old/api/url', target: '/chat/new/api/url', action: 'update' },
      { kind: 'parameter', source: '/chat/old/db/host', target: '/chat/new/db/host', action: 'unchanged' },
      {
        kind: 'parameter',
        source: '/chat/old/feature/legacy-flag',
        target: '/chat/new/feature/flag',
        action: 'create',
      },
      { kind: 'parameter', source: '/chat/old/signing-key', target: '/chat/new/signing-key', action: 'create' },
      { kind: 'secret', source: 'chat/old/stripe', target: 'chat/new/stripe', action: 'update' },
    ]);
    expect(JSON.stringify(plan)).not.toMatch(/sk_live|pk-123|old-pw|https:/);
  });

  test('apply writes rendered values, keeps SecureString with its key, and verify matches by SHA-256', async () => {
    const { params, secrets, all } = await stores();
    const applied = await applyTransfer(all, rules, ctx);
    expect((await params.get('/chat/new/api/url'))?.value).toBe('https://new-db.internal:5432/v1');
    expect(await params.get('/chat/new/signing-key')).toMatchObject({
      value: 'pk-123',
      secure: true,
      kmsKeyId: 'alias/chat',
    });
    expect((await secrets.get('chat/new/stripe'))?.value).toBe('sk_live_abc');
    expect(await secrets.get('chat/new/db')).toBeUndefined();
    expect(applied.find((a) => a.target === '/chat/new/api/url')).toMatchObject({
      action: 'update',
      previousVersion: '1',
      version: '2',
    });
    expect(await verifyTransfer(all, rules, ctx)).toEqual({ verified: 5, mismatched: [] });
    await params.put('/chat/new/feature/flag', 'tampered');
    expect((await verifyTransfer(all, rules, ctx)).mismatched).toEqual(['/chat/new/feature/flag']);
  });

  test('rollback restores previous versions and deletes what the migration created', async () => {
    const { params, secrets, all } = await stores();
    const applied = await applyTransfer(all, rules, ctx);
    const r = await rollbackTransfer(all, applied);
    expect(r.deleted.sort()).toEqual(['/chat/new/feature/flag', '/chat/new/signing-key']);
    expect(r.restored.sort()).toEqual(['/chat/new/api/url', 'chat/new/stripe']);
    expect((await params.get('/chat/new/api/url'))?.value).toBe('https://stale');
    expect((await secrets.get('chat/new/stripe'))?.value).toBe('sk_live_old_value');
    expect(await params.get('/chat/new/feature/flag')).toBeUndefined();
  });

  test('re-applying is idempotent: everything is unchanged the second time', async () => {
    const { all } = await stores();
    await applyTransfer(all, rules, ctx);
    expect((await applyTransfer(all, rules, ctx)).every((a) => a.action === 'unchanged')).toBe(true);
  });

  test('fails when a template uses an unknown placeholder, naming it but no value', async () => {
    const { all } = await stores();
    const bad = { ...rules, templates: { 'api/url': '{{target.db.user}}' } };
    await expect(planTransfer(all, bad, ctx)).rejects.toThrow(ConfigTransferError);
    await expect(planTransfer(all, bad, ctx)).rejects.toThrow(
      'template for /chat/new/api/url uses unknown placeholder {{target.db.user}}; known: target.db.host, target.db.port',
    );
  });

  test("GIVEN the new side's key WHEN applied THEN secrets and SecureStrings are written with it, plain parameters without a key", async () => {
    const { params, secrets, all } = await stores();
    await applyTransfer(all, { ...rules, targetKmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/new' }, ctx);
    expect(await params.get('/chat/new/signing-key')).toMatchObject({
      secure: true,
      kmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/new',
    });
    expect((await params.get('/chat/new/feature/flag'))?.kmsKeyId).toBeUndefined();
    await secrets.delete('chat/new/stripe');
    await applyTransfer(all, { ...rules, targetKmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/new' }, ctx);
    expect((await secrets.get('chat/new/stripe'))?.kmsKeyId).toBe('arn:aws:kms:eu-west-1:111111111111:key/new');
  });

  test("fails when a rename or template would write the new database's own credentials secret", async () => {
    const { all } = await stores();
    const std = environmentTransferRules(
      { parameterPath: '/chat/old', secretPrefix: 'chat/old' },
      { parameterPath: '/chat/new', secretPrefix: 'chat/new' },
    );
    expect(std.protectedTargets).toContain('chat/new/db');
    await expect(planTransfer(all, { ...std, renames: [{ from: 'stripe', to: 'db' }] }, ctx)).rejects.toThrow(
      /chat\/new\/db, the new database's own credentials/,
    );
    await expect(planTransfer(all, std, ctx)).resolves.toBeDefined();
  });

  test("GIVEN two applies of one migration WHEN rolled back with the second apply's list THEN the pre-migration state returns", async () => {
    const { params, secrets, all } = await stores();
    await applyTransfer(all, rules, ctx, {}, 'm-1');
    await params.put('/chat/old/feature/legacy-flag', 'off'); // the old side changes between the applies
    await secrets.put('chat/old/stripe', 'sk_live_rotated');
    const second = await applyTransfer(all, rules, ctx, {}, 'm-1');
    expect(second.find((a) => a.target === '/chat/new/feature/flag')).toMatchObject({
      action: 'update',
      created: true,
    });
    expect(second.find((a) => a.target === '/chat/new/api/url')).toMatchObject({
      action: 'unchanged',
      previousVersion: '1',
    });
    await rollbackTransfer(all, second);
    expect(await params.get('/chat/new/feature/flag')).toBeUndefined();
    expect((await params.get('/chat/new/api/url'))?.value).toBe('https://stale');
    expect((await secrets.get('chat/new/stripe'))?.value).toBe('sk_live_old_value');
  });

  test('a rollback point of another migration is not taken for this one', async () => {
    const { params, all } = await stores();
    await applyTransfer(all, rules, ctx, {}, 'm-1');
    const next = await applyTransfer(
      all,
      { ...rules, templates: { ...rules.templates, 'api/url': 'https://v3' } },
      ctx,
      {},
      'm-2',
    );
    expect(next.find((a) => a.target === '/chat/new/api/url')).toMatchObject({
      action: 'update',
      previousVersion: '2',
    });
    expect(params.tags.get('/chat/new/api/url')).toBe('m-2/2');
  });

  test("fails when a hand-edited applied list names something outside the new side's namespaces", () => {
    const std = environmentTransferRules(
      { parameterPath: '/chat/old', secretPrefix: 'chat/old' },
      { parameterPath: '/chat/new', secretPrefix: 'chat/new' },
    );
    const ok = { kind: 'parameter' as const, source: '/chat/old/a', target: '/chat/new/a', action: 'update' as const };
    expect(assertAppliedWithinRules(std, [ok])).toEqual([]);
    expect(
      assertAppliedWithinRules(std, [
        { ...ok, target: '/chat/old/a' },
        { ...ok, target: '/chat/newer/a' },
        { ...ok, kind: 'secret', target: 'chat/new/db' },
        { ...ok, target: '/chat/new/../old/a' },
      ]),
    ).toEqual([
      'parameter /chat/old/a',
      'parameter /chat/newer/a',
      'secret chat/new/db',
      'parameter /chat/new/../old/a',
    ]);
  });
});

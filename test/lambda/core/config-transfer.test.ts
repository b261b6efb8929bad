import { MemoryConfigStore } from '../../../lambda/adapters/local/memory-config-store';
import { applyTransfer, ConfigTransferError, planTransfer, rollbackTransfer, TransferRules, verifyTransfer } from '../../../lambda/core/config/transfer';

const rules: TransferRules = {
  parameters: { from: '/chat/old', to: '/chat/new' },
  secrets: { from: 'chat/old', to: 'chat/new' },
  renames: [{ from: 'feature/legacy-flag', to: 'feature/flag' }],
  templates: { 'db/host': '{{target.db.host}}', 'api/url': 'https://{{target.db.host}}:{{ target.db.port }}/v1' },
  exclude: ['db'],
};
const ctx = { 'target.db.host': 'new-db.internal', 'target.db.port': '5432' };

async function stores() {
  const params = new MemoryConfigStore('parameter');
  const secrets = new MemoryConfigStore('secret');
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
      { kind: 'parameter', source: '/chat/old/feature/legacy-flag', target: '/chat/new/feature/flag', action: 'create' },
      { kind: 'parameter', source: '/chat/old/signing-key', target: '/chat/new/signing-key', action: 'create' },
      { kind: 'secret', source: 'chat/old/stripe', target: 'chat/new/stripe', action: 'update' },
    ]);
    expect(JSON.stringify(plan)).not.toMatch(/sk_live|pk-123|old-pw|https:/);
  });

  test('apply writes rendered values, keeps SecureString with its key, and verify matches by SHA-256', async () => {
    const { params, secrets, all } = await stores();
    const applied = await applyTransfer(all, rules, ctx);
    expect((await params.get('/chat/new/api/url'))?.value).toBe('https://new-db.internal:5432/v1');
    expect(await params.get('/chat/new/signing-key')).toMatchObject({ value: 'pk-123', secure: true, kmsKeyId: 'alias/chat' });
    expect((await secrets.get('chat/new/stripe'))?.value).toBe('sk_live_abc');
    expect(await secrets.get('chat/new/db')).toBeUndefined();
    expect(applied.find((a) => a.target === '/chat/new/api/url')).toMatchObject({ action: 'update', previousVersion: '1', version: '2' });
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
    await expect(planTransfer(all, bad, ctx)).rejects.toThrow('template for /chat/new/api/url uses unknown placeholder {{target.db.user}}; known: target.db.host, target.db.port');
  });
});

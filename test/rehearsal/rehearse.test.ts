import { CHAT_APP_VERIFICATION } from '../../lambda/rehearsal/chat-verification';
import { formatReport } from '../../lambda/rehearsal/report';
import { rehearse, RehearsalInputError } from '../../lambda/rehearsal/rehearse';
import { synthesizeMigrationTemplate } from '../../lib/local-template';
import { query, seededPair, testServer } from '../support/pg';
import { schemaSnapshot, switchyardFootprint } from '../cli/support/catalog';

/** The rehearsal as `npm run rehearse` runs it, on the shared test server instead of a fresh embedded one. */
describe('npm run rehearse (5,000 rows)', () => {
  const template = synthesizeMigrationTemplate('dev', { verification: CHAT_APP_VERIFICATION });
  // 100 writes/s (250 requests/s): even a 1-second bake at 5 % brings the canary its minimum of requests.
  const run = (extra: Record<string, unknown> = {}) =>
    rehearse({ rows: 5_000, bakeSeconds: 1, writesPerSecond: 100, server: testServer(), template, ...extra });

  test('GIVEN clients writing through both sides WHEN rehearsed THEN completed, 100 % new, every acknowledged write present, both databases equal', async () => {
    const r = await run();
    expect([r.outcome, r.error]).toEqual(['completed', undefined]);
    expect(r.expected).toBe(true);
    expect(r.traffic.finalWeights).toEqual({ old: 0, new: 100 });
    expect(r.integrity.tables.map((t) => [t.name, t.match])).toEqual([
      ['conversations', true],
      ['messages', true],
    ]);
    const w = r.integrity.writes!;
    expect(w.checkedOn).toBe('new');
    expect(w.acknowledged).toBeGreaterThan(20);
    expect(w.lost).toBe(0);
    expect(w.present + w.superseded).toBe(w.acknowledged);
    // Writes were acknowledged by both sides while traffic was split.
    expect(w.perStep.filter((st) => st.acknowledged > 0).length).toBeGreaterThanOrEqual(4);
    // (a gate that had too little traffic to compare bakes its step again: not a verdict)
    expect(r.healthGates.filter((g) => !g.needsMoreData).map((g) => g.healthy)).toEqual([true, true, true, true]);
    expect(r.requests.total).toBeGreaterThan(50);
    expect(r.requests.oldErrors).toBe(0);
    expect(r.traffic.steps.map((s) => s.weights.new)).toEqual([0, 5, 25, 50, 100]);
    expect(r.config.map((c) => c.target)).toContain('/chat/new/feature/streaming');
    expect(JSON.stringify(r)).not.toContain('sk-local-example');
    expect(formatReport(r)).toContain('As expected.');
  });

  test('GIVEN --fail-at CopyTable WHEN rehearsed THEN failed before traffic moved, 100 % old, nothing lost', async () => {
    const r = await run({ failAt: 'CopyTable' });
    expect(r.outcome).toBe('failed');
    expect(r.expected).toBe(true);
    expect(r.error).toEqual({ name: 'InjectedFault', cause: 'fault injected into CopyTable (--fail-at)' });
    expect(r.traffic.finalWeights).toEqual({ old: 100, new: 0 });
    expect(r.requests.oldErrors).toBe(0);
    expect(r.phases.some((p) => p.name === 'SetWeights')).toBe(false);
  });

  test('GIVEN --unhealthy-at 25 WHEN rehearsed THEN rolled back to 100 % old by the health gate, and every write the new side acknowledged is in the old database', async () => {
    const r = await run({ unhealthyAt: 25 });
    expect(r.outcome).toBe('rolled-back');
    expect(r.expected).toBe(true);
    expect(r.error?.name).toBe('NewSideUnhealthy');
    expect(r.traffic.finalWeights).toEqual({ old: 100, new: 0 });
    expect(r.traffic.rollbackMs).not.toBeNull();
    expect(r.traffic.steps.map((s) => s.weights.new)).toEqual([0, 5, 25, 0]);
    expect(r.requests.oldErrors).toBe(0);
    const w = r.integrity.writes!;
    expect(w.checkedOn).toBe('old');
    expect(w.lost).toBe(0);
    expect(w.perStep[1].acknowledged).toBeGreaterThan(0); // taken while the new side served 5 %
    expect(r.healthGates.filter((g) => !g.needsMoreData).map((g) => g.healthy)).toEqual([true, false]);
  });

  test('GIVEN --fail-at Bake (traffic already split) WHEN rehearsed THEN rolled back and no acknowledged write is lost', async () => {
    const r = await run({ failAt: 'Bake' });
    expect([r.outcome, r.expected, r.error?.name]).toEqual(['rolled-back', true, 'InjectedFault']);
    expect(r.traffic.finalWeights).toEqual({ old: 100, new: 0 });
    expect(r.integrity.writes!.lost).toBe(0);
  });

  test('GIVEN an operator starts RollbackTraffic while the 25 % step bakes WHEN rehearsed THEN Migrate ends halted, 100 % old, and every write the new side acknowledged is in the old database', async () => {
    const r = await run({ operatorRollbackAt: 25 });
    expect([r.outcome, r.expected, r.error?.name]).toEqual(['rolled-back', true, 'MigrationHaltedError']);
    expect(r.traffic.finalWeights).toEqual({ old: 100, new: 0 });
    expect(r.integrity.writes!.lost).toBe(0);
    expect(r.integrity.writes!.perStep[1].acknowledged).toBeGreaterThan(0);
  });

  test('GIVEN writers on the new side after Finalize WHEN an operator rolls back inside the stability period THEN 100 % old and every write, also those after Finalize, is in the old database', async () => {
    const r = await run({ rollbackAfterFinalize: true });
    expect([r.outcome, r.expected, r.error]).toEqual(['rolled-back', true, undefined]);
    expect(r.phases.map((p) => p.name)).toContain('Finalize');
    expect(r.traffic.finalWeights).toEqual({ old: 100, new: 0 });
    const atFull = r.traffic.steps.findIndex((s) => s.weights.new === 100);
    expect(r.integrity.writes!.perStep.find((s) => s.step === atFull)!.acknowledged).toBeGreaterThan(0);
    expect(r.integrity.writes!.lost).toBe(0);
  });

  test('GIVEN --slow-at 25 (slower, but under the absolute thresholds) WHEN rehearsed THEN the canary comparison with the old side rolls it back', async () => {
    const r = await run({ slowAt: 25, latencyMs: 60 });
    expect([r.outcome, r.expected, r.error?.name]).toEqual(['rolled-back', true, 'NewSideUnhealthy']);
    const tripped = r.healthGates.find((g) => !g.healthy)!;
    expect(tripped.canary?.verdict).toBe('fail');
    expect(r.requests.newErrors).toBe(0); // no errors: only the comparison saw it
    expect(r.integrity.writes!.lost).toBe(0);
  });

  test('GIVEN --break on a read route WHEN rehearsed THEN Smoke stops the migration before any traffic moves', async () => {
    const r = await run({ breakRoute: 'GET /messages/:id' });
    expect([r.outcome, r.expected, r.error?.name]).toEqual(['failed', true, 'SmokeCheckFailedError']);
    expect(r.error?.cause).toMatch(/read a message: answer differs from the old side/);
    expect(r.traffic.steps.map((s) => s.weights.new)).toEqual([0]);
  });

  test('GIVEN --source (a copy of your own database) WHEN rehearsed THEN it is migrated and only read', async () => {
    const { source } = await seededPair('own', 1_000);
    const url = `postgres://${source.user}:${encodeURIComponent(source.password)}@${source.host}:${source.port}/${source.database}`;
    const fingerprint = () =>
      query<{ f: string }>(source, `SELECT (SELECT sum(hashtextextended(m::text, 0)) FROM chat_messages m)::text AS f`);
    const before = await fingerprint();
    const catalogBefore = { ...(await switchyardFootprint(source)), ...(await schemaSnapshot(source)) };
    const r = await run({ source: url, rows: undefined });
    expect(r.outcome).toBe('completed');
    expect(await fingerprint()).toEqual(before);
    // Nothing created on your database: no slot, publication, trigger, function, schema or setting.
    expect({ ...(await switchyardFootprint(source)), ...(await schemaSnapshot(source)) }).toEqual(catalogBefore);
    expect(r.integrity.tables.map((t) => [t.name, t.sourceRows, t.match])).toEqual([
      ['conversations', 50, true],
      ['messages', 1_000, true],
    ]);
  });

  test('GIVEN --spec <file> WHEN rehearsed THEN the spec from the file drives the migration', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { chatHistorySpec } = await import('../../lambda/engine/specs/chat-history');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'spec-')), 'my-spec.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        ...chatHistorySpec,
        name: 'my-chat',
        tables: chatHistorySpec.tables.map((t) => ({ ...t, chunkSize: 400 })),
      }),
    );
    const r = await run({ rows: 2_000, specFile: file });
    expect(r.outcome).toBe('completed');
    expect(r.integrity.tables.every((t) => t.match)).toBe(true);
    // Both tables in one group: one CopyTable call copies them together.
    expect(r.phases.filter((p) => p.name === 'CopyTable')).toHaveLength(1);
  });

  test('fails with RehearsalInputError when --source is not a postgres URL', async () => {
    await expect(run({ source: 'mysql://x@y/z' })).rejects.toThrow(
      '--source must be a postgres:// URL, got protocol: mysql:',
    );
  });

  test('fails with RehearsalInputError when --fail-at names no task state', async () => {
    await expect(run({ failAt: 'Nope' })).rejects.toThrow(RehearsalInputError);
    await expect(run({ unhealthyAt: 0 })).rejects.toThrow('--unhealthy-at must be a percentage from 1 to 100, got: 0');
  });
});

import { z } from 'zod';
import {
  applyTransfer,
  assertAppliedWithinRules,
  planTransfer,
  rollbackTransfer,
  verifyTransfer,
} from '../core/config/transfer';
import { TAG_KEYS } from '../core/tags';
import type { PhaseDeps } from './support/deps';
import { InvalidInputError, migrationId } from './support/input';
import { PHASE } from '../phases';
import { definePhase } from './support/phase';
import { ERRORS, SwitchyardError } from '../core/errors';

const appliedEntry = z.object({
  kind: z.enum(['parameter', 'secret']),
  source: z.string(),
  target: z.string(),
  action: z.enum(['create', 'update', 'unchanged']),
  previousVersion: z.string().optional(),
  version: z.string().optional(),
  created: z.boolean().optional(),
});

const input = z.discriminatedUnion('mode', [
  z.object({ migrationId, mode: z.literal('plan') }),
  z.object({ migrationId, mode: z.literal('apply') }),
  z.object({ migrationId, mode: z.literal('verify') }),
  z.object({ migrationId, mode: z.literal('rollback'), applied: z.array(appliedEntry) }),
]);

export class ConfigVerificationError extends SwitchyardError {
  readonly name = ERRORS.ConfigVerificationError;
}

/** Template values describing the new side (host, port, database name: coordinates, not credentials). */
async function templateContext(deps: PhaseDeps): Promise<Record<string, string>> {
  const t = await deps.targetDb();
  return { 'target.db.host': t.host, 'target.db.port': String(t.port), 'target.db.name': t.database };
}

/**
 * Config transfer. plan: names + create/update/unchanged. apply: writes, then verifies by
 * SHA-256 and returns what it changed (names + version ids) for a rollback. rollback: restores
 * previous versions / deletes what was created. Values never appear in the output or logs.
 */
export const transferConfig = definePhase(PHASE.transferConfig, input, async (i, deps) => {
  const stores = deps.configStores;
  if (i.mode === 'rollback') {
    // `applied` comes back from an operator (RestoreData input): touch only names under the new side's own namespaces.
    const outside = assertAppliedWithinRules(deps.transferRules, i.applied);
    if (outside.length) {
      throw new InvalidInputError(
        `TransferConfig: invalid input: applied names outside the new side's namespaces or protected: ` +
          `${outside.join(', ')}; pass the applied list of the Migrate execution unchanged`,
      );
    }
    return { mode: i.mode, ...(await rollbackTransfer(stores, i.applied)) };
  }
  const ctx = await templateContext(deps);
  if (i.mode === 'plan') {
    const plan = await planTransfer(stores, deps.transferRules, ctx);
    for (const p of plan) deps.log.info('config plan', { kind: p.kind, target: p.target, action: p.action });
    return { mode: i.mode, plan };
  }
  if (i.mode === 'apply') {
    const applied = await applyTransfer(
      stores,
      deps.transferRules,
      ctx,
      { [TAG_KEYS.migrationId]: i.migrationId },
      i.migrationId,
    );
    const verify = await verifyTransfer(stores, deps.transferRules, ctx);
    if (verify.mismatched.length)
      throw new ConfigVerificationError(
        `stored values differ from the expected ones (SHA-256) for: ${verify.mismatched.join(', ')}`,
      );
    const count = (a: string) => applied.filter((x) => x.action === a).length;
    return {
      mode: i.mode,
      applied,
      created: count('create'),
      updated: count('update'),
      unchanged: count('unchanged'),
      verified: verify.verified,
    };
  }
  const verify = await verifyTransfer(stores, deps.transferRules, ctx);
  if (verify.mismatched.length)
    throw new ConfigVerificationError(
      `stored values differ from the expected ones (SHA-256) for: ${verify.mismatched.join(', ')}`,
    );
  return { mode: i.mode, verified: verify.verified };
});

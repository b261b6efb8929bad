import { createHash } from 'node:crypto';
import type { ConfigStore, StoredValue } from './ports';
import { ERRORS, SwitchyardError } from '../errors';

/**
 * Config transfer: copy parameters and secrets from the old side's namespace to
 * the new one, with rename rules and value templates. Plans, results and records
 * carry names, actions and version ids only — never values.
 */

export interface NamespaceMapping {
  readonly from: string;
  readonly to: string;
}

export interface TransferRules {
  /** SSM path mapping, e.g. /chat/old -> /chat/new. */
  readonly parameters?: NamespaceMapping;
  /** Secrets Manager prefix mapping, e.g. chat/old -> chat/new. */
  readonly secrets?: NamespaceMapping;
  /** Renames of the part after the prefix, e.g. { from: 'db/url', to: 'database/url' }. */
  readonly renames?: readonly NamespaceMapping[];
  /** Target relative name -> value template (`{{target.db.host}}`), replacing the copied value. */
  readonly templates?: Readonly<Record<string, string>>;
  /** Relative names not transferred (e.g. `db`: the new side has its own credentials secret). */
  readonly exclude?: readonly string[];
  /** Full target names the transfer must never write (the new database's generated master secret). */
  readonly protectedTargets?: readonly string[];
  /** KMS key (id/ARN/alias) of the new side: secrets created and SecureStrings written there are encrypted with it. @default - the source's key */
  readonly targetKmsKeyId?: string;
}

/**
 * Switchyard's standard rules between two environments: everything under the old path/prefix,
 * except the database credentials secret (`db`, the new side has its own), with the new side's
 * database coordinates rendered into `db/host`, `db/port`, `db/name`.
 */
export function environmentTransferRules(
  from: { parameterPath: string; secretPrefix: string },
  to: { parameterPath: string; secretPrefix: string; kmsKeyId?: string; databaseSecretName?: string },
): TransferRules {
  return {
    parameters: { from: from.parameterPath, to: to.parameterPath },
    secrets: { from: from.secretPrefix, to: to.secretPrefix },
    exclude: ['db'],
    protectedTargets: [join(to.secretPrefix, 'db'), ...(to.databaseSecretName ? [to.databaseSecretName] : [])],
    targetKmsKeyId: to.kmsKeyId,
    templates: { 'db/host': '{{target.db.host}}', 'db/port': '{{target.db.port}}', 'db/name': '{{target.db.name}}' },
  };
}

export type TransferAction = 'create' | 'update' | 'unchanged';

export interface PlanEntry {
  readonly kind: 'parameter' | 'secret';
  readonly source: string;
  readonly target: string;
  readonly action: TransferAction;
}

/** What apply changed, so a rollback can undo exactly that. */
export interface AppliedEntry extends PlanEntry {
  /** Version that was current before the migration's FIRST apply (to restore); absent when the migration created the name. */
  readonly previousVersion?: string;
  readonly version?: string;
  /** The migration created the name (in this or an earlier apply): a rollback deletes it. */
  readonly created?: boolean;
}

/** Tag holding the pre-migration version of a name: `<migration id>/<version>` or `<migration id>/none` (created). */
export const ROLLBACK_POINT_TAG = 'switchyard:previous-version';
const CREATED = 'none';
const rollbackPointValue = (migrationId: string, version?: string) => `${migrationId}/${version ?? CREATED}`;
/** The rollback point of this migration on a name, if one was recorded. */
function parseRollbackPoint(
  value: string | undefined,
  migrationId: string,
): { created: boolean; version?: string } | undefined {
  if (!value?.startsWith(`${migrationId}/`)) return undefined;
  const v = value.slice(migrationId.length + 1);
  return v === CREATED ? { created: true } : { created: false, version: v };
}

export interface VerifyResult {
  readonly verified: number;
  /** Target names whose stored value's SHA-256 differs from the expected one. */
  readonly mismatched: readonly string[];
}

export class ConfigTransferError extends SwitchyardError {
  readonly name = ERRORS.ConfigTransferError;
}

export const sha256 = (v: string) => createHash('sha256').update(v, 'utf8').digest('hex');

function join(prefix: string, rel: string): string {
  return `${prefix.replace(/\/$/, '')}/${rel}`;
}

/** Render `{{ key }}` placeholders; unknown keys fail naming the key and the target (never a value). */
export function renderTemplate(template: string, context: Readonly<Record<string, string>>, target: string): string {
  return template.replace(/\{\{\s*([a-zA-Z0-9_.-]+)\s*\}\}/g, (_, key: string) => {
    if (!(key in context))
      throw new ConfigTransferError(
        `template for ${target} uses unknown placeholder {{${key}}}; known: ${Object.keys(context).sort().join(', ') || 'none'}`,
      );
    return context[key];
  });
}

interface Desired {
  readonly entry: PlanEntry;
  readonly value: string;
  readonly current?: StoredValue;
  readonly secure?: boolean;
  readonly kmsKeyId?: string;
}

function mappingFor(rules: TransferRules, kind: 'parameter' | 'secret'): NamespaceMapping | undefined {
  return kind === 'parameter' ? rules.parameters : rules.secrets;
}

/** Work out every target value (in memory only) and whether it must be created or updated. */
async function desiredState(
  stores: readonly ConfigStore[],
  rules: TransferRules,
  context: Readonly<Record<string, string>>,
): Promise<Desired[]> {
  const out: Desired[] = [];
  for (const store of stores) {
    const map = mappingFor(rules, store.kind);
    if (!map) continue;
    const names = (await store.list(map.from)).sort();
    for (const source of names) {
      let rel = source.slice(map.from.replace(/\/$/, '').length + 1);
      if (rules.exclude?.includes(rel)) continue;
      rel = rules.renames?.find((r) => r.from === rel)?.to ?? rel;
      const target = join(map.to, rel);
      if (rules.protectedTargets?.includes(target)) {
        throw new ConfigTransferError(
          `${store.kind} ${source} would be written to ${target}, the new database's own credentials: exclude it or rename it to another name`,
        );
      }
      const src = await store.get(source);
      if (!src) throw new ConfigTransferError(`${store.kind} ${source} disappeared while planning`);
      const template = rules.templates?.[rel];
      const value = template === undefined ? src.value : renderTemplate(template, context, target);
      const current = await store.get(target);
      const action: TransferAction = !current
        ? 'create'
        : current.value === value && (current.secure ?? false) === (src.secure ?? false)
          ? 'unchanged'
          : 'update';
      // Encrypted values land under the new side's key; plain parameters stay plain.
      const kmsKeyId = store.kind === 'secret' || src.secure ? (rules.targetKmsKeyId ?? src.kmsKeyId) : undefined;
      out.push({ entry: { kind: store.kind, source, target, action }, value, current, secure: src.secure, kmsKeyId });
    }
  }
  return out;
}

/** Dry run: names and create/update/unchanged, never values. */
export async function planTransfer(
  stores: readonly ConfigStore[],
  rules: TransferRules,
  context: Readonly<Record<string, string>>,
): Promise<PlanEntry[]> {
  return (await desiredState(stores, rules, context)).map((d) => d.entry);
}

/**
 * Apply the plan. Encrypted values are written with the new side's key. The first apply of a
 * migration records each name's pre-migration version (`switchyard:previous-version`, set
 * atomically on create); later applies read it back instead of recording their own, so a rollback
 * always returns to the state before the migration. Returns what a rollback needs.
 */
export async function applyTransfer(
  stores: readonly ConfigStore[],
  rules: TransferRules,
  context: Readonly<Record<string, string>>,
  tags: Readonly<Record<string, string>> = {},
  migrationId?: string,
): Promise<AppliedEntry[]> {
  const byKind = new Map(stores.map((s) => [s.kind, s]));
  const applied: AppliedEntry[] = [];
  for (const d of await desiredState(stores, rules, context)) {
    const store = byKind.get(d.entry.kind)!;
    const recorded =
      d.current && migrationId
        ? parseRollbackPoint(await store.readRollbackPoint?.(d.entry.target), migrationId)
        : undefined;
    const point = recorded ?? (d.current ? { created: false, version: d.current.version } : { created: true });
    if (d.entry.action === 'unchanged') {
      applied.push({
        ...d.entry,
        version: d.current?.version,
        ...(recorded ? { previousVersion: recorded.version, created: recorded.created || undefined } : {}),
      });
      continue;
    }
    if (d.entry.action === 'update' && migrationId && !recorded)
      await store.recordRollbackPoint?.(d.entry.target, rollbackPointValue(migrationId, d.current?.version));
    const createTags =
      d.entry.action === 'create' && migrationId
        ? { ...tags, [ROLLBACK_POINT_TAG]: rollbackPointValue(migrationId) }
        : tags;
    const r = await store.put(d.entry.target, d.value, {
      secure: d.secure,
      kmsKeyId: d.kmsKeyId,
      tags: createTags,
      description: `switchyard: from ${d.entry.source}`,
      current: { exists: d.current !== undefined, version: d.current?.version },
    });
    applied.push({
      ...d.entry,
      version: r.version,
      previousVersion: point.created ? undefined : (point.version ?? r.previousVersion),
      ...(point.created ? { created: true } : {}),
    });
  }
  return applied;
}

/** Reject an `applied` list naming anything outside the rules' target namespaces (hand-edited input) or a protected name. */
export function assertAppliedWithinRules(rules: TransferRules, applied: readonly AppliedEntry[]): string[] {
  const bad: string[] = [];
  for (const a of applied) {
    const map = mappingFor(rules, a.kind);
    const inside =
      map !== undefined && a.target.startsWith(`${map.to.replace(/\/$/, '')}/`) && !a.target.split('/').includes('..');
    if (!inside || rules.protectedTargets?.includes(a.target)) bad.push(`${a.kind} ${a.target}`);
  }
  return bad;
}

/** Compare SHA-256 of expected and stored values for every transferred name. */
export async function verifyTransfer(
  stores: readonly ConfigStore[],
  rules: TransferRules,
  context: Readonly<Record<string, string>>,
): Promise<VerifyResult> {
  const desired = await desiredState(stores, rules, context);
  const byKind = new Map(stores.map((s) => [s.kind, s]));
  const mismatched: string[] = [];
  for (const d of desired) {
    const stored = await byKind.get(d.entry.kind)!.get(d.entry.target);
    if (!stored || sha256(stored.value) !== sha256(d.value)) mismatched.push(d.entry.target);
  }
  return { verified: desired.length - mismatched.length, mismatched };
}

/** Undo an apply: restore previous versions of updated names, delete names the migration created. */
export async function rollbackTransfer(
  stores: readonly ConfigStore[],
  applied: readonly AppliedEntry[],
): Promise<{ restored: string[]; deleted: string[] }> {
  const byKind = new Map(stores.map((s) => [s.kind, s]));
  const restored: string[] = [];
  const deleted: string[] = [];
  for (const a of [...applied].reverse()) {
    const store = byKind.get(a.kind);
    if (!store) throw new ConfigTransferError(`no ${a.kind} store to roll back ${a.target}`);
    if (a.action === 'create' || a.created) {
      await store.delete(a.target);
      deleted.push(a.target);
    } else if (a.previousVersion && a.previousVersion !== a.version) {
      await store.restore(a.target, a.previousVersion);
      restored.push(a.target);
    }
  }
  return { restored, deleted };
}

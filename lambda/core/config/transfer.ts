import { createHash } from 'crypto';
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
}

/**
 * Switchyard's standard rules between two environments: everything under the old path/prefix,
 * except the database credentials secret (`db`, the new side has its own), with the new side's
 * database coordinates rendered into `db/host`, `db/port`, `db/name`.
 */
export function environmentTransferRules(from: { parameterPath: string; secretPrefix: string }, to: { parameterPath: string; secretPrefix: string }): TransferRules {
  return {
    parameters: { from: from.parameterPath, to: to.parameterPath },
    secrets: { from: from.secretPrefix, to: to.secretPrefix },
    exclude: ['db'],
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
  /** Version that was current before (to restore); absent when the migration created the name. */
  readonly previousVersion?: string;
  readonly version?: string;
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

const join = (prefix: string, rel: string) => `${prefix.replace(/\/$/, '')}/${rel}`;

/** Render `{{ key }}` placeholders; unknown keys fail naming the key and the target (never a value). */
export function renderTemplate(template: string, context: Readonly<Record<string, string>>, target: string): string {
  return template.replace(/\{\{\s*([a-zA-Z0-9_.-]+)\s*\}\}/g, (_, key: string) => {
    if (!(key in context)) throw new ConfigTransferError(`template for ${target} uses unknown placeholder {{${key}}}; known: ${Object.keys(context).sort().join(', ') || 'none'}`);
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
async function desiredState(stores: readonly ConfigStore[], rules: TransferRules, context: Readonly<Record<string, string>>): Promise<Desired[]> {
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
      const src = await store.get(source);
      if (!src) throw new ConfigTransferError(`${store.kind} ${source} disappeared while planning`);
      const template = rules.templates?.[rel];
      const value = template === undefined ? src.value : renderTemplate(template, context, target);
      const current = await store.get(target);
      const action: TransferAction = !current ? 'create' : current.value === value && (current.secure ?? false) === (src.secure ?? false) ? 'unchanged' : 'update';
      out.push({ entry: { kind: store.kind, source, target, action }, value, current, secure: src.secure, kmsKeyId: src.kmsKeyId });
    }
  }
  return out;
}

/** Dry run: names and create/update/unchanged, never values. */
export async function planTransfer(stores: readonly ConfigStore[], rules: TransferRules, context: Readonly<Record<string, string>>): Promise<PlanEntry[]> {
  return (await desiredState(stores, rules, context)).map((d) => d.entry);
}

/** Apply the plan; SecureStrings stay SecureStrings with their KMS key. Returns what a rollback needs. */
export async function applyTransfer(
  stores: readonly ConfigStore[],
  rules: TransferRules,
  context: Readonly<Record<string, string>>,
  tags: Readonly<Record<string, string>> = {},
): Promise<AppliedEntry[]> {
  const byKind = new Map(stores.map((s) => [s.kind, s]));
  const applied: AppliedEntry[] = [];
  for (const d of await desiredState(stores, rules, context)) {
    if (d.entry.action === 'unchanged') {
      applied.push({ ...d.entry, version: d.current?.version });
      continue;
    }
    const r = await byKind.get(d.entry.kind)!.put(d.entry.target, d.value, { secure: d.secure, kmsKeyId: d.kmsKeyId, tags, description: `switchyard: from ${d.entry.source}`, current: { exists: d.current !== undefined, version: d.current?.version } });
    applied.push({ ...d.entry, version: r.version, previousVersion: d.entry.action === 'update' ? (r.previousVersion ?? d.current?.version) : undefined });
  }
  return applied;
}

/** Compare SHA-256 of expected and stored values for every transferred name. */
export async function verifyTransfer(stores: readonly ConfigStore[], rules: TransferRules, context: Readonly<Record<string, string>>): Promise<VerifyResult> {
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
export async function rollbackTransfer(stores: readonly ConfigStore[], applied: readonly AppliedEntry[]): Promise<{ restored: string[]; deleted: string[] }> {
  const byKind = new Map(stores.map((s) => [s.kind, s]));
  const restored: string[] = [];
  const deleted: string[] = [];
  for (const a of [...applied].reverse()) {
    const store = byKind.get(a.kind);
    if (!store) throw new ConfigTransferError(`no ${a.kind} store to roll back ${a.target}`);
    if (a.action === 'create') {
      await store.delete(a.target);
      deleted.push(a.target);
    } else if (a.action === 'update' && a.previousVersion) {
      await store.restore(a.target, a.previousVersion);
      restored.push(a.target);
    }
  }
  return { restored, deleted };
}

/** One configuration store (SSM Parameter Store or Secrets Manager), as the transfer sees it. */
export interface ConfigStore {
  readonly kind: 'parameter' | 'secret';
  /** Names (full) under a path/prefix, recursively. */
  list(prefix: string): Promise<string[]>;
  /** The current value, or undefined when the name does not exist. */
  get(name: string): Promise<StoredValue | undefined>;
  /** Create or overwrite; returns the new version and the version it replaced. */
  put(name: string, value: string, opts: PutOptions): Promise<{ version: string; previousVersion?: string }>;
  /** Make `version` current again (parameter history / AWSPREVIOUS). */
  restore(name: string, version: string): Promise<void>;
  delete(name: string): Promise<void>;
  /**
   * The rollback point an earlier apply recorded on `name` (tag `switchyard:previous-version`).
   * @default - stores without tags keep no point across applies
   */
  readRollbackPoint?(name: string): Promise<string | undefined>;
  /** Record the rollback point on an existing name (tag); written once per migration, never overwritten. */
  recordRollbackPoint?(name: string, point: string): Promise<void>;
}

export interface StoredValue {
  readonly value: string;
  readonly version: string;
  /** SSM SecureString. */
  readonly secure?: boolean;
  /** KMS key of a SecureString or secret. */
  readonly kmsKeyId?: string;
}

export interface PutOptions {
  /** The caller already knows whether the name exists (and its current version); saves a lookup. */
  readonly current?: { readonly exists: boolean; readonly version?: string };
  readonly secure?: boolean;
  readonly kmsKeyId?: string;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
}

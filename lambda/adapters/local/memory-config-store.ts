import type { ConfigStore, PutOptions, StoredValue } from '../../core/config/ports';

interface Entry {
  versions: { version: string; value: string }[];
  current: string;
  secure?: boolean;
  kmsKeyId?: string;
}

/** An in-memory parameter or secret store with version history (rehearsal and tests). */
export class MemoryConfigStore implements ConfigStore {
  private readonly items = new Map<string, Entry>();
  private seq = 0;
  constructor(public readonly kind: 'parameter' | 'secret') {}

  async list(prefix: string): Promise<string[]> {
    const p = `${prefix.replace(/\/$/, '')}/`;
    return [...this.items.keys()].filter((k) => k.startsWith(p));
  }

  async get(name: string): Promise<StoredValue | undefined> {
    const e = this.items.get(name);
    if (!e) return undefined;
    const v = e.versions.find((x) => x.version === e.current)!;
    return { value: v.value, version: v.version, secure: e.secure, kmsKeyId: e.kmsKeyId };
  }

  async put(
    name: string,
    value: string,
    opts: PutOptions = {},
  ): Promise<{ version: string; previousVersion?: string }> {
    const version =
      this.kind === 'parameter' ? String((this.items.get(name)?.versions.length ?? 0) + 1) : `v${++this.seq}`;
    const e = this.items.get(name);
    if (!e) {
      this.items.set(name, {
        versions: [{ version, value }],
        current: version,
        secure: opts.secure,
        kmsKeyId: opts.kmsKeyId,
      });
      return { version };
    }
    const previousVersion = e.current;
    e.versions.push({ version, value });
    e.current = version;
    return { version, previousVersion };
  }

  async restore(name: string, version: string): Promise<void> {
    const e = this.items.get(name);
    const v = e?.versions.find((x) => x.version === version);
    if (!e || !v) throw new Error(`${this.kind} ${name} has no version ${version}`);
    if (this.kind === 'parameter') await this.put(name, v.value);
    else e.current = version;
  }

  async delete(name: string): Promise<void> {
    this.items.delete(name);
  }
}

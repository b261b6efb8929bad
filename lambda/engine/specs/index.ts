import type { MigrationSpec } from '../spec';
import { chatHistorySpec } from './chat-history';
import { ERRORS, SwitchyardError } from '../../core/errors';

/** Specs versioned in the repo, by name. */
const SPECS: Record<string, MigrationSpec> = { [chatHistorySpec.name]: chatHistorySpec };

export class UnknownSpecError extends SwitchyardError {
  readonly name = ERRORS.UnknownSpecError;
}

export function getSpec(name: string): MigrationSpec {
  const spec = SPECS[name];
  if (!spec) throw new UnknownSpecError(`no migration spec named ${name}; known: ${Object.keys(SPECS).join(', ')}`);
  return spec;
}

/** Make a spec loaded from a file available by name (the rehearsal's --spec). */
export function registerSpec(spec: MigrationSpec): void {
  SPECS[spec.name] = spec;
}

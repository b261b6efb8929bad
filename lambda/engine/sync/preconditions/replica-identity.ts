import { type PackCheck, passIf } from '../../../core/preflight/pack';
import { replicaIdentityProblems } from '../slot';
import { keylessTables } from '../tables';
import type { SyncPreconditionContext } from './context';

export const replicaIdentity: PackCheck<SyncPreconditionContext> = {
  name: 'replica-identity',
  info: 'Publishing a table without a primary key or replica identity makes its UPDATE and DELETE fail on the source.',
  check: async ({ source, tables, spec, direction, tablesError }) => {
    // A keyless spec table needs FULL: its rows are matched by every column (sync/keyless.ts).
    const keyless = tablesError ? [] : keylessTables(spec, direction);
    const problems = await replicaIdentityProblems(source, tables, keyless);
    return passIf(
      problems.length === 0,
      problems.length ? problems.join('; ') : 'every table has a primary key or replica identity',
      'add a primary key, or ALTER TABLE <table> REPLICA IDENTITY FULL',
    );
  },
};

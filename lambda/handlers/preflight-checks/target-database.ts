import { fail, type PackCheck, pass } from '../../core/preflight/pack';
import { checkTarget, SchemaMismatchError, withClient } from '../../engine';
import type { PreflightContext } from './context';

export const targetDatabase: PackCheck<PreflightContext> = {
  name: 'targetDatabase',
  info: 'The new database is reachable and holds no table of the spec in another shape.',
  check: async ({ deps, spec }) =>
    withClient(await deps.targetDb(), { readOnly: true, applicationName: 'switchyard-preflight' }, async (c) => {
      const problems: string[] = [];
      for (const t of spec.tables) {
        try {
          await checkTarget(c, t);
        } catch (e) {
          // Absent tables are created by PrepareTarget; a table that exists in another shape is a conflict.
          if (!(e instanceof SchemaMismatchError) || !/does not exist/.test(e.message))
            problems.push((e as Error).message);
        }
      }
      return problems.length
        ? fail(problems.join('; '), 'drop or rename the conflicting tables on the new database, or fix the spec')
        : pass('reachable; target schema absent or compatible');
    }),
};

import { fail, notApplicable, type PackCheck, pass } from '../../../core/preflight/pack';
import { describe } from '../../errors';
import type { SyncPreconditionContext } from './context';

export const reverseMapping: PackCheck<SyncPreconditionContext> = {
  name: 'reverse-mapping',
  info: 'The reverse sync writes the new side back through a mapping; a table without one cannot go back.',
  check: async ({ direction, tablesError }) => {
    if (tablesError !== undefined)
      return fail(describe(tablesError), 'add "reverse" or "forwardOnly": true to the table in the spec');
    return direction === 'forward'
      ? notApplicable('the forward direction reads the spec as written')
      : pass('every table has a reverse mapping or is forwardOnly');
  },
};

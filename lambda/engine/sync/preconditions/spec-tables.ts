import { notApplicable, type PackCheck, passIf } from '../../../core/preflight/pack';
import type { SyncPreconditionContext } from './context';

export const specTables: PackCheck<SyncPreconditionContext> = {
  name: 'spec-tables',
  info: 'A table read through a query cannot be captured: its later changes would never reach the destination.',
  check: async ({ spec, direction, tables, tablesError }) => {
    if (tablesError !== undefined)
      return notApplicable('the spec names no tables for this direction (reverse-mapping)');
    const queries = spec.tables.filter((t) => direction === 'forward' && !('table' in t.source)).map((t) => t.name);
    return passIf(
      queries.length === 0,
      queries.length
        ? `tables with a query source cannot be captured: ${queries.join(', ')}`
        : `${tables.length} table(s) to capture`,
      'give each synced table a source table (a query source is copy-only)',
    );
  },
};

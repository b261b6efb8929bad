import { type PackCheck, passIf } from '../../../core/preflight/pack';
import { qi } from '../../sql';
import type { SyncPreconditionContext } from './context';

const NOT_OWNED =
  `SELECT t AS name FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL AND NOT ` +
  `pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = to_regclass(t)), 'USAGE')`;

export const tableOwnership: PackCheck<SyncPreconditionContext> = {
  name: 'table-ownership',
  info: 'CREATE PUBLICATION … FOR TABLE needs the login to own every published table.',
  check: async ({ source, tables }) => {
    const own = await source.query(NOT_OWNED, [tables.map(qi)]);
    return passIf(
      own.rowCount === 0,
      own.rowCount
        ? `login does not own: ${own.rows.map((r) => r.name).join(', ')}`
        : 'login owns every published table',
      "run as the tables' owner (CREATE PUBLICATION … FOR TABLE needs ownership)",
    );
  },
};

import { getSpec } from '../../engine/specs';
import { InvalidInputError } from './input';

/** A table of the deployed spec by name, or InvalidInputError listing the valid names. */
export function specTable(specName: string, table: string) {
  const spec = getSpec(specName);
  const t = spec.tables.find((x) => x.name === table);
  if (!t)
    throw new InvalidInputError(
      `table ${table} is not in spec ${spec.name}; tables: ${spec.tables.map((x) => x.name).join(', ')}`,
    );
  return t;
}

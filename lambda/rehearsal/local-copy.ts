import {
  buildDeferredIndexes,
  copyTable,
  type DbEndpoint,
  describeTableWith,
  META_SCHEMA,
  type MigrationSpec,
  moveSequencesPast,
  prepareTarget,
  qualifiedTableSpec,
  sourceRelation,
  withClient,
} from '../engine';
import { introspectSchema } from '../engine/introspect';

/**
 * `rehearse --source`: the rehearsal's old side is a local copy of the user's database, so
 * nothing is ever created there (no slot, publication, trigger or bookkeeping schema: the
 * forward capture and the reverse sync both run against the copy). The user's database is
 * only read: introspected, and each table of the spec copied with read-only sessions.
 * Returns the rows copied.
 */
export async function copyToLocal(user: DbEndpoint, local: DbEndpoint, spec: MigrationSpec): Promise<number> {
  const tableSources = spec.tables.every((t) => 'table' in t.source);
  const tables = tableSources ? [...new Set(spec.tables.map((t) => sourceRelation(t)!))] : undefined;
  const schema = await introspectSchema(user, { tables, name: 'rehearsal-old-copy' });
  await prepareTarget(schema.spec, user, local, { deferIndexes: true });
  let rows = 0;
  for (const t of schema.spec.tables.map(qualifiedTableSpec)) {
    const r = await copyTable(await describeTableWith(t, user, local), user, local, { runId: 'old-copy' });
    rows += r.rowsCopied;
  }
  await buildDeferredIndexes(schema.spec, local);
  // The copy's sequences where the user's are (no headroom: this is the old side itself).
  await moveSequencesPast(schema.spec, { old: user, new: local }, { moving: 'new', headroom: 0 });
  await withClient(local, { applicationName: 'switchyard-rehearsal' }, async (c) => {
    for (const s of schema.finishStatements) await c.query(s);
    // The copy's own bookkeeping: the rehearsal's old side starts as clean as the user's database.
    await c.query(`DROP SCHEMA IF EXISTS ${META_SCHEMA} CASCADE`);
  });
  return rows;
}

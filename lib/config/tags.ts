/** Tag keys Switchyard puts on what it creates; migration snapshots carry all of them. */
export const TAG_KEYS = {
  app: 'switchyard:app',
  stage: 'switchyard:stage',
  side: 'switchyard:side',
  migrationId: 'switchyard:migration-id',
} as const;

/** Deterministic snapshot identifier for a migration (RDS identifiers: letters, digits, dashes). */
export function snapshotIdentifier(stage: string, migrationId: string): string {
  const id = `switchyard-${stage}-${migrationId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/-+/g, '-');
  return id.replace(/-$/, '').slice(0, 255);
}

/** Tag keys Switchyard puts on what it creates; migration snapshots carry all of them. */
export const TAG_KEYS = {
  app: 'switchyard:app',
  stage: 'switchyard:stage',
  side: 'switchyard:side',
  migrationId: 'switchyard:migration-id',
} as const;

/** Free storage of each side's database (RDS FreeStorageSpace); null when the platform does not say (Aurora, local). */
export interface StorageReader {
  freeStorageBytes(side: 'old' | 'new'): Promise<number | null>;
}

import type { DbStatus, RestoreRequest, RestoreService, SnapshotInfo, SnapshotService } from '../../core/backup/ports';
import { SnapshotConflictError } from '../../core/backup/snapshot';

/** Snapshots recorded in memory: available at once (the rehearsal's stand-in for RDS). */
export class MemorySnapshots implements SnapshotService, RestoreService {
  readonly snapshots = new Map<string, SnapshotInfo>();
  readonly restored = new Map<string, DbStatus>();
  constructor(private readonly now: () => number = Date.now) {}

  async create(dbId: string, snapshotId: string): Promise<SnapshotInfo> {
    const existing = this.snapshots.get(snapshotId);
    if (existing && existing.sourceId !== dbId)
      throw new SnapshotConflictError(
        `snapshot ${snapshotId} already exists but is of ${existing.sourceId}, not ${dbId}`,
      );
    const s = existing ?? { snapshotId, status: 'available' as const, sourceId: dbId, createdAt: new Date(this.now()) };
    this.snapshots.set(snapshotId, s);
    return s;
  }
  async describe(snapshotId: string) {
    return this.snapshots.get(snapshotId);
  }
  async latest(dbId: string) {
    return [...this.snapshots.values()]
      .filter((s) => s.sourceId === dbId)
      .sort((a, b) => b.createdAt!.getTime() - a.createdAt!.getTime())[0];
  }
  async restore(req: RestoreRequest) {
    if (!this.snapshots.has(req.snapshotId)) throw new Error(`snapshot ${req.snapshotId} not found`);
    this.restored.set(req.newDbId, { status: 'available', endpoint: { host: '127.0.0.1', port: 5432 } });
  }
  async status(dbId: string) {
    return this.restored.get(dbId);
  }
}

import type { PauseRecord, PauseStore } from '../../core/traffic/pause';

/** Held traffic steps in memory (rehearsal and tests): the same rules as the DynamoDB items. */
export class MemoryPauseStore implements PauseStore {
  readonly pauses = new Map<string, PauseRecord>();

  async record(pause: PauseRecord): Promise<void> {
    this.pauses.set(`${pause.stage}#${pause.migrationId}`, pause);
  }

  async read(stage: string, migrationId: string): Promise<PauseRecord | undefined> {
    return this.pauses.get(`${stage}#${migrationId}`);
  }

  async clear(stage: string, migrationId: string, taskToken: string): Promise<void> {
    if (this.pauses.get(`${stage}#${migrationId}`)?.taskToken === taskToken)
      this.pauses.delete(`${stage}#${migrationId}`);
  }
}

import type { AlarmState } from '../../core/traffic/health';
import type { AlarmReader, TrafficRouter } from '../../core/traffic/ports';
import type { Weights } from '../../core/traffic/weights';

/** Weights held in memory (tests; the rehearsal's HTTP router implements the same port). */
export class MemoryRouter implements TrafficRouter {
  public readonly description = 'local router';
  public history: Weights[] = [];
  constructor(private weights: Weights = { old: 100, new: 0 }) {}
  async getWeights(): Promise<Weights> {
    return this.weights;
  }
  async setWeights(w: Weights): Promise<void> {
    this.weights = w;
    this.history.push(w);
  }
}

/** Alarms whose states a test or the rehearsal sets. */
export class StaticAlarms implements AlarmReader {
  constructor(public alarms: AlarmState[] = [{ name: 'new-5xx', state: 'OK', since: new Date(0) }]) {}
  async read(): Promise<AlarmState[]> {
    return this.alarms;
  }
}

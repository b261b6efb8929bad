import type { Weights } from './weights';
import type { AlarmState } from './health';

/** Something that splits traffic between the old and new side (ALB rule, Route53 pair, local router). */
export interface TrafficRouter {
  /** A label for logs and errors, e.g. the rule ARN or record name. */
  readonly description: string;
  getWeights(): Promise<Weights>;
  /** Apply the weights; returns when the change is in effect (Route53: INSYNC). */
  setWeights(w: Weights): Promise<void>;
}

/** Reads the health alarms of the new side. */
export interface AlarmReader {
  read(): Promise<AlarmState[]>;
}

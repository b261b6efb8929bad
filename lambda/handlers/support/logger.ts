import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricUnit } from '@aws-lambda-powertools/metrics/types';
import { METRIC_NAMESPACE, type MetricName } from '../../core/metrics';

/**
 * The phases' log and metrics port, on Powertools for AWS Lambda: structured JSON lines with the
 * service, stage, phase and migration id as persistent keys (and the request id once the Lambda
 * context is added), and CloudWatch metrics in Embedded Metric Format, buffered and flushed once
 * per invocation by `definePhase`. Keys that look like secrets are redacted; handlers log names,
 * counts and ids only, never a row or secret value.
 *
 * In Lambda the lines go to stdout (the function's log stream). The rehearsal and the tests pass a
 * sink instead, so that running the handlers locally prints nothing unless asked to.
 */
const SECRET_KEY = /pass(word)?|secret(string|value)?$|token|credential|value$/i;

export type LogSink = (line: string) => void;

export type MetricUnitName = 'None' | 'Percent' | 'Seconds' | 'Count' | 'Milliseconds' | 'Count/Second';

/** The Lambda context fields added to every line (Powertools' `addContext`). */
export interface LambdaContextFields {
  readonly awsRequestId: string;
  readonly functionName: string;
  readonly functionVersion: string;
  readonly invokedFunctionArn: string;
  readonly memoryLimitInMB: string;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger with more persistent keys, and its own metrics buffer. */
  child(fields: Record<string, unknown>): Logger;
  /** Add the request id, function name and cold start to every later line. */
  addContext(context: LambdaContextFields): void;
  /** Buffer a CloudWatch metric (dimension Stage); `flushMetrics` writes the buffer as one EMF line. */
  metric(name: MetricName, value: number, unit?: MetricUnitName): void;
  flushMetrics(): void;
}

export { METRIC_NAMESPACE };

const redactSecrets = (key: string, value: unknown) => (key && SECRET_KEY.test(key) ? '[redacted]' : value);

/** Powertools writes through its own Console; pointed at the sink when there is one. */
function useSink<T extends object>(target: T, sink: LogSink | undefined): T {
  if (!sink) return target;
  const stream = new Writable({
    decodeStrings: false,
    write(chunk, _encoding, done) {
      sink(String(chunk).replace(/\n$/, ''));
      done();
    },
  });
  (target as unknown as { console: Console }).console = new Console({ stdout: stream, stderr: stream });
  return target;
}

function powertoolsLogger(base: Record<string, unknown>, sink: LogSink | undefined): PowertoolsLogger {
  const { service, ...keys } = base;
  return useSink(
    new PowertoolsLogger({
      serviceName: typeof service === 'string' ? service : 'switchyard',
      persistentKeys: keys,
      jsonReplacerFn: redactSecrets,
    }),
    sink,
  );
}

function powertoolsMetrics(base: Record<string, unknown>, log: PowertoolsLogger, sink: LogSink | undefined): Metrics {
  const metrics = useSink(new Metrics({ namespace: METRIC_NAMESPACE, logger: log }), sink);
  // One dimension, Stage, as the dashboard and alarms read them (Powertools would add `service`).
  metrics.clearDefaultDimensions();
  metrics.setDefaultDimensions({ Stage: String(base.stage ?? 'unknown') });
  for (const key of ['migrationId', 'phase'])
    if (typeof base[key] === 'string') metrics.addMetadata(key, base[key] as string);
  return metrics;
}

export function createLogger(base: Record<string, unknown>, sink?: LogSink): Logger {
  const log = powertoolsLogger(base, sink);
  const metrics = powertoolsMetrics(base, log, sink);
  return {
    info: (m, f = {}) => log.info(m, f),
    warn: (m, f = {}) => log.warn(m, f),
    error: (m, f = {}) => log.error(m, f),
    child: (f) => createLogger({ ...base, ...f }, sink),
    addContext: (context) => log.addContext(context as Parameters<PowertoolsLogger['addContext']>[0]),
    metric: (name, value, unit = 'None') => metrics.addMetric(name, unit as MetricUnit, value),
    flushMetrics: () => {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    },
  };
}

/**
 * Structured JSON logs with the migration id on every line. Keys that look like
 * secrets are redacted; handlers log names, counts and ids only.
 */
const SECRET_KEY = /pass(word)?|secret(string|value)?$|token|credential|value$/i;

export type LogSink = (line: string) => void;

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  /** A CloudWatch metric as an Embedded Metric Format log line (Lambda turns it into a metric). */
  metric(name: string, value: number, unit?: 'None' | 'Percent' | 'Seconds' | 'Count' | 'Milliseconds'): void;
}

export const METRIC_NAMESPACE = 'Switchyard';

function redact(v: unknown, depth = 0): unknown {
  if (depth > 5 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => redact(x, depth + 1));
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, x]) => [
      k,
      SECRET_KEY.test(k) ? '[redacted]' : redact(x, depth + 1),
    ]),
  );
}

export function createLogger(
  base: Record<string, unknown>,
  sink: LogSink = (l) => process.stdout.write(`${l}\n`),
): Logger {
  const emit = (level: string, message: string, fields: Record<string, unknown> = {}) =>
    sink(
      JSON.stringify({
        level,
        timestamp: new Date().toISOString(),
        message,
        ...(redact(base) as object),
        ...(redact(fields) as object),
      }),
    );
  return {
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARN', m, f),
    error: (m, f) => emit('ERROR', m, f),
    child: (f) => createLogger({ ...base, ...f }, sink),
    metric: (name, value, unit = 'None') =>
      sink(
        JSON.stringify({
          _aws: {
            Timestamp: Date.now(),
            CloudWatchMetrics: [
              { Namespace: METRIC_NAMESPACE, Dimensions: [['Stage']], Metrics: [{ Name: name, Unit: unit }] },
            ],
          },
          Stage: String(base.stage ?? 'unknown'),
          migrationId: base.migrationId,
          [name]: value,
        }),
      ),
  };
}

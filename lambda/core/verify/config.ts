import { z } from 'zod';

/**
 * The verification settings of a stage, defined once: the stage config (lib/config/stage-config.ts)
 * validates them at synth time with these schemas, and the Smoke and HealthGate handlers validate
 * their input with the same ones, so a value the config accepts is a value the handler accepts.
 */

/**
 * Why the Smoke phase does not compare read answers for a stage whose old side is imported and has
 * no `verification.oldBaseUrl` (the stage listener answers 503 for an imported side): the reason
 * each such check and the phase output carry, naming the fix.
 */
export const OLD_SIDE_IMPORTED_NOT_COMPARED = 'old side is imported: set verification.oldBaseUrl to compare answers';

/** Methods that change nothing; every other method is a write and needs a test tenant. */
export const READ_METHODS = ['GET', 'HEAD'] as const;

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9 _.:/-]{0,79}$/, 'must be 1-80 letters, digits, spaces or _ . : / -');
const headerName = z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'must be an HTTP header name');
/** `$`, `$.a.b`, `$.items[0].id`, `$.items[*].id` (ignore lists only). */
export const JSON_PATH = /^\$((\.[A-Za-z_][A-Za-z0-9_-]*)|(\[(\d+|\*)\]))*$/;
const jsonPath = z.string().regex(JSON_PATH, 'must be a JSON path like $.items[0].id');
/** A field to ignore when comparing: a key name at any depth (`createdAt`) or a JSON path (`$.items[*].requestId`). */
const ignoreField = z
  .string()
  .refine(
    (v) => JSON_PATH.test(v) || /^[A-Za-z_][A-Za-z0-9_-]*$/.test(v),
    'must be a field name like createdAt or a JSON path like $.items[*].requestId',
  );

export const smokeCheckSchema = z
  .object({
    /** Names the check in results and errors. */
    name,
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    /** Path and query, e.g. `/messages?conversation=7`; `{var}` is replaced by the test tenant variable or a captured value. */
    path: z.string().startsWith('/', 'must start with /').max(2000),
    /** Extra request headers (never credentials: the state payload is visible in the execution history). */
    headers: z.record(headerName, z.string().max(1000)).default({}),
    /** JSON request body; `{var}` inside strings is replaced like in `path`. */
    body: z.unknown().optional(),
    expect: z
      .object({
        /** Expected status code. @default 200 */
        status: z.number().int().min(100).max(599).default(200),
        /** A JSON path that must be present in the response body. */
        jsonPath: jsonPath.optional(),
        /** Text that must occur in the response body. */
        text: z.string().min(1).max(200).optional(),
        /** Slowest acceptable answer, in milliseconds. @default 2000 */
        maxLatencyMs: z.number().int().min(1).max(60_000).default(2000),
      })
      .default({ status: 200, maxLatencyMs: 2000 }),
    /** Send the same request to the old side and compare the answers. @default - true for GET/HEAD, false for writes */
    compare: z.boolean().optional(),
    /** Fields ignored by the comparison for this check (added to the stage-wide list). */
    ignore: z.array(ignoreField).max(50).default([]),
    /** Values taken from this check's JSON answer for later checks, e.g. `{ id: '$.id' }` makes `{id}` usable. */
    capture: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier'), jsonPath).default({}),
  })
  .strict();

export const testTenantSchema = z
  .object({
    /** Header sent with every smoke request, e.g. `{ name: 'x-tenant', value: 'switchyard-smoke' }`. */
    header: z.object({ name: headerName, value: z.string().min(1).max(200) }).optional(),
    /** A variable usable as `{name}` in paths and bodies, e.g. `{ name: 'tenant', value: '900000001' }`. */
    variable: z
      .object({
        name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an identifier'),
        value: z.string().min(1).max(200),
      })
      .optional(),
  })
  .strict()
  .refine((t) => t.header || t.variable, 'must name a header or a variable');

export const smokeConfigSchema = z
  .object({
    checks: z.array(smokeCheckSchema).min(1, 'must have at least one check').max(50, 'must have at most 50 checks'),
    /** Where writes go. Without it, checks with a method other than GET/HEAD are refused. @default - none */
    testTenant: testTenantSchema.optional(),
    /** Fields every comparison ignores (timestamps, request ids). */
    ignoreFields: z.array(ignoreField).max(100).default(['requestId', 'timestamp', 'date']),
    /** Per-request timeout. @default 5000 */
    timeoutMs: z.number().int().min(100).max(60_000).default(5000),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.checks.forEach((k, i) => {
      if (seen.has(k.name))
        ctx.addIssue({ code: 'custom', path: ['checks', i, 'name'], message: `must be unique, got: ${k.name}` });
      seen.add(k.name);
    });
  });

export const canaryPolicySchema = z
  .object({
    /** New p99 may be at most old p99 × this factor … @default 1.1 */
    p99Ratio: z.number().min(1, 'must be from 1 to 10').max(10, 'must be from 1 to 10').default(1.1),
    /** … plus this many milliseconds. @default 5 */
    p99SlackMs: z.number().min(0, 'must be from 0 to 60000').max(60_000, 'must be from 0 to 60000').default(5),
    /** New error rate may exceed the old one by at most this many percentage points. @default 0.1 */
    errorRatePp: z.number().min(0, 'must be from 0 to 100').max(100, 'must be from 0 to 100').default(0.1),
    /** Requests each side must have served in the window, else the gate fails (a quiet side proves nothing). @default 50 */
    minRequests: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be from 1 to 1000000')
      .max(1_000_000, 'must be from 1 to 1000000')
      .default(50),
    /**
     * Error rate: the new side fails only with at least this many failed requests in the window (one or two
     * 5xx at 5 % of a quiet service are not evidence; the absolute 5xx alarm is the floor). @default 3
     */
    minFailures: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be from 1 to 10000')
      .max(10_000, 'must be from 1 to 10000')
      .default(3),
    /**
     * Latency (rank test): a new side that looks slower on fewer samples than this is not evidence yet: the
     * workflow bakes longer over a wider window instead of rolling back (10 requests at 5 % of a quiet
     * service, on a loaded host, are not a verdict). @default 20
     */
    minLatencySamples: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be from 1 to 1000000')
      .max(1_000_000, 'must be from 1 to 1000000')
      .default(20),
    /** Error rate: significance level of the one-sided two-proportion test (is new's rate above old's?). @default 0.01 */
    errorAlpha: z
      .number()
      .gt(0, 'must be above 0 and at most 0.5')
      .max(0.5, 'must be above 0 and at most 0.5')
      .default(0.01),
    /** Rank test (raw samples only): significance level of the one-sided Mann-Whitney U test. @default 0.01 */
    alpha: z
      .number()
      .gt(0, 'must be above 0 and at most 0.5')
      .max(0.5, 'must be above 0 and at most 0.5')
      .default(0.01),
  })
  .strict();

export type SmokeCheck = z.output<typeof smokeCheckSchema>;
export type SmokeConfig = z.output<typeof smokeConfigSchema>;
export type SmokeConfigInput = z.input<typeof smokeConfigSchema>;
export type TestTenant = z.output<typeof testTenantSchema>;
export type CanaryPolicy = z.output<typeof canaryPolicySchema>;

export const DEFAULT_CANARY_POLICY: CanaryPolicy = canaryPolicySchema.parse({});

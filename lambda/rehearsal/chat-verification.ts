import { canaryPolicySchema, smokeConfigSchema, type CanaryPolicy, type SmokeConfig } from '../core/verify/config';

/**
 * The chat app's smoke checks and canary tolerances (docs/service-verification.md uses them as the
 * example): the rehearsal synthesizes the Migrate definition with these, so `--break` is caught by
 * Smoke before any traffic and `--slow-at` by the canary gate.
 */
export const CHAT_APP_VERIFICATION: { smoke: SmokeConfig; canary: CanaryPolicy } = {
  smoke: smokeConfigSchema.parse({
    checks: [
      { name: 'health', path: '/health', expect: { status: 200, jsonPath: '$.ok' } },
      // A read answered by both sides from their own database: the new release must answer like the old one.
      { name: 'read a message', path: '/messages/1', expect: { status: 200, jsonPath: '$.content' }, compare: true },
      { name: 'read another message', path: '/messages/2', compare: true },
    ],
  }),
  // A one-second rehearsal bake at 5 % brings only a handful of requests to the new side.
  canary: canaryPolicySchema.parse({ minRequests: 5 }),
};

/**
 * Your own database (`--source` or `--spec`): the rehearsal's apps serve only the generic read by
 * key (`GET /items/<n>` on the spec's last table) and `/health`, so Smoke checks those: the new
 * side must answer the read like the old one.
 */
export const GENERIC_APP_VERIFICATION: { smoke: SmokeConfig; canary: CanaryPolicy } = {
  smoke: smokeConfigSchema.parse({
    checks: [
      { name: 'health', path: '/health', expect: { status: 200, jsonPath: '$.ok' } },
      { name: 'read by key', path: '/items/1', expect: { status: 200, jsonPath: '$.found' }, compare: true },
    ],
  }),
  canary: canaryPolicySchema.parse({ minRequests: 5 }),
};

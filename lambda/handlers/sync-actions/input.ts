import { z } from 'zod';
import { BAKE_SECONDS, MAX_CATCH_UP_LAG_SECONDS, MAX_CATCH_UP_MINUTES } from '../../core/limits';
import { migrationId } from '../support/input';
import { fencedBy } from '../support/fence';
import { MAX_RUN_MS } from './budget';

const direction = z.enum(['forward', 'reverse']);
/** `sync.runner: ecs`: the long-running task applies; this call only watches it (and its lag). @default - none: this call applies */
const observe = z.object({ taskArn: z.string().min(1) }).optional();
/** The sync phase's input: one action per call. */
export const input = z.discriminatedUnion('action', [
  /** Publication + slot on the direction's source (forward: before the copy; reverse: before the first traffic step). */
  z.object({
    action: z.literal('capture'),
    migrationId,
    executionId: fencedBy,
    direction,
    sequenceHeadroom: z.number().int().min(0).default(1_000_000),
  }),
  /** Apply one direction up to the source's position at the start of the call (or until the function's time runs out). */
  z.object({
    action: z.literal('drain'),
    migrationId,
    executionId: fencedBy,
    direction,
    maxSeconds: z
      .number()
      .int()
      .min(1)
      .max(MAX_RUN_MS / 1000)
      .default(MAX_RUN_MS / 1000),
    /** An operator's rollback may come before any traffic moved: then there is no reverse capture and nothing to return. */
    ifCaptured: z.boolean().default(false),
    /**
     * Later-commit-wins conflict detection: on once both sides take writes (forward from the first
     * traffic step; reverse always). Off for the catch-up after the copy, whose own rows would look like newer local writes.
     * @default - on for reverse, off for forward
     */
    conflicts: z.boolean().optional(),
    /**
     * After traffic left a side, requests already inside its app may still commit. Wait this long
     * after reaching the position, then drain again, until a settle window brings nothing new.
     * @default 0
     */
    settleSeconds: z.number().int().min(0).max(300).default(0),
    /** Reverse only: once drained, the old side's sequences move past the new side's by this much (the old side takes every insert again). */
    sequenceHeadroom: z.number().int().min(0).default(1_000_000),
    /**
     * The catch-up before any traffic (the state machine calls drain again until the lag is below
     * `maxLagSeconds`): fail with SyncLagError once `minutes` have passed since `startedAt` (the
     * first call's own start, returned as `catchUpStartedAt`) without getting there.
     * @default - no limit (rollback drains must finish)
     */
    catchUp: z
      .object({
        maxLagSeconds: z.number().min(MAX_CATCH_UP_LAG_SECONDS.min).max(MAX_CATCH_UP_LAG_SECONDS.max),
        minutes: z.number().int().min(MAX_CATCH_UP_MINUTES.min).max(MAX_CATCH_UP_MINUTES.max),
        startedAt: z.string().datetime().optional(),
      })
      .optional(),
    observe,
  }),
  /** Both directions at once for the bake time (the lag stays bounded while traffic is split). */
  z.object({
    action: z.literal('bake'),
    migrationId,
    executionId: fencedBy,
    seconds: z.number().int().min(BAKE_SECONDS.overrideMin).max(BAKE_SECONDS.max),
    reverse: z.boolean().default(true),
    observe,
  }),
  /**
   * `sync.runner: ecs`: stop this migration's earlier sync task, if any, and start the long-running
   * one for `directions` (forward for the catch-up; both once the reverse capture exists).
   */
  z.object({
    action: z.literal('startTask'),
    migrationId,
    executionId: fencedBy,
    directions: z.array(direction).min(1),
    conflicts: z.boolean(),
  }),
  /** What a direction still holds (slot state, an upper bound of the row changes not returned). Read-only. */
  z.object({ action: z.literal('pending'), migrationId, executionId: fencedBy, direction }),
  /** Drop the sync objects (slot, publication, origin) of the given directions. Idempotent. */
  z.object({ action: z.literal('cleanup'), migrationId, executionId: fencedBy, directions: z.array(direction).min(1) }),
]);

export type SyncInput = z.infer<typeof input>;
export type ActionInput<A extends SyncInput['action']> = Extract<SyncInput, { action: A }>;

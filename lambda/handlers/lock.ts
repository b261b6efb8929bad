import { acquireLock, assertDecommissionAllowed, checkHalt } from '../core/lock/lock';
import { PHASE } from '../phases';
import { leaseFor, lockInput } from './support/lock-input';
import { definePhase } from './support/phase';

/** The stage lock's decisions (never retried: a held lock or a set halt flag is an answer, not a glitch). */
export const lock = definePhase(PHASE.lock, lockInput, async (i, deps) => {
  const now = new Date(deps.now());
  switch (i.action) {
    case 'acquire': {
      const l = await acquireLock(deps.lock, {
        stage: deps.stage,
        workflow: i.workflow,
        migrationId: i.migrationId,
        executionId: i.executionId,
        now,
      });
      return { owner: l.owner, leaseUntil: l.leaseUntil.toISOString() };
    }
    case 'check': {
      const lease = leaseFor(now, i.bakeSeconds, i.execution);
      const l = await checkHalt(deps.lock, deps.stage, i.migrationId, now, lease, i.executionId);
      return { owner: l.owner, halted: false, leaseUntil: l.leaseUntil.toISOString(), token: l.token };
    }
    case 'halt': {
      const by = i.executionId ? `${i.migrationId} (execution ${i.executionId})` : i.migrationId;
      const held = await deps.lock.halt(deps.stage, by, now);
      deps.log.info('halt flag', { set: Boolean(held), holder: held?.owner });
      return {
        halted: Boolean(held),
        holder: held ? { migrationId: held.migrationId, workflow: held.workflow } : null,
      };
    }
    case 'claimEnded': {
      const held = await deps.lock.read(deps.stage);
      const ours = held?.workflow === 'migrate' && held.executionId === i.executionArn;
      deps.log.info('ended execution', { status: i.status, holdsLock: ours });
      if (!held || !ours) return { claimed: false, holder: held ? held.owner : null };
      await deps.lock.halt(deps.stage, `cleanup of ${i.status} execution ${i.executionArn}`, now);
      return { claimed: true, migrationId: held.migrationId, executionId: held.executionId };
    }
    case 'completion': {
      const c = await deps.lock.readCompletion(deps.stage);
      return c ? { migrationId: c.migrationId, finishedAt: c.finishedAt.toISOString() } : { migrationId: null };
    }
    case 'guardDecommission': {
      const holder = await deps.lock.read(deps.stage);
      assertDecommissionAllowed({
        stage: deps.stage,
        weights: await deps.router.getWeights(),
        completion: await deps.lock.readCompletion(deps.stage),
        holder: holder?.workflow === 'decommission' && holder.migrationId === i.migrationId ? undefined : holder,
        now,
        stabilitySeconds: i.stabilitySeconds,
      });
      return { allowed: true };
    }
  }
});

import { injectedCauseMissing, type RunTrace } from '../../lambda/rehearsal/verdict';

const gate = (w: number, healthy: boolean, needsMoreData = false) => ({
  weights: { new: w },
  healthy,
  ...(needsMoreData ? { needsMoreData } : {}),
});
const run = (over: Partial<RunTrace>): RunTrace => ({ phases: [], healthGates: [], ...over });

describe('injectedCauseMissing (the rehearsal verdict with a fault injected)', () => {
  test('GIVEN --fail-at Finalize WHEN the canary tripped at 5 % and Finalize never ran THEN it is not the expected outcome', () => {
    const r = run({ phases: [{ name: 'SetWeights', status: 'ok' }], healthGates: [gate(5, false)] });
    expect(injectedCauseMissing({ failAt: 'Finalize' }, r)).toBe(
      '--fail-at Finalize: the first state that failed was none (a health gate tripped at 5 % first)',
    );
  });

  test('GIVEN --fail-at Bake WHEN Bake is the first state that failed THEN the cause is seen', () => {
    const r = run({
      phases: [
        { name: 'SetWeights', status: 'ok' },
        { name: 'Bake', status: 'failed' },
      ],
    });
    expect(injectedCauseMissing({ failAt: 'Bake' }, r)).toBeNull();
  });

  test('GIVEN --unhealthy-at 25 WHEN a gate tripped at 5 % THEN not expected; at 25 % (after a needs-more-data bake at 5 %) it is', () => {
    expect(injectedCauseMissing({ unhealthyAt: 25 }, run({ healthGates: [gate(5, false)] }))).toBe(
      '--unhealthy-at 25: a health gate tripped earlier, at 5 %',
    );
    expect(
      injectedCauseMissing(
        { unhealthyAt: 25 },
        run({ healthGates: [gate(5, false, true), gate(5, true), gate(25, false)] }),
      ),
    ).toBeNull();
    expect(injectedCauseMissing({ slowAt: 25 }, run({ healthGates: [gate(5, true), gate(25, true)] }))).toBe(
      '--slow-at 25: no health gate tripped',
    );
  });

  test('GIVEN --break or --operator-rollback-at WHEN the run shows another cause THEN not expected', () => {
    expect(
      injectedCauseMissing({ breakRoute: 'GET /x' }, run({ phases: [{ name: 'Validate', status: 'failed' }] })),
    ).toMatch(/Smoke did not stop the run/);
    expect(
      injectedCauseMissing({ breakRoute: 'GET /x' }, run({ phases: [{ name: 'Smoke', status: 'failed' }] })),
    ).toBeNull();
    expect(
      injectedCauseMissing({ operatorRollbackAt: 25 }, run({ error: { name: 'MigrationHaltedError' } })),
    ).toBeNull();
    expect(injectedCauseMissing({ operatorRollbackAt: 25 }, run({ error: { name: 'HealthGateFailedError' } }))).toMatch(
      /did not end halted \(HealthGateFailedError\)/,
    );
  });

  test('GIVEN --rollback-after-finalize WHEN Migrate or the operator rollback did not succeed THEN not expected', () => {
    const f = { rollbackAfterFinalize: true };
    expect(injectedCauseMissing(f, run({ migrate: 'SUCCEEDED', operator: { status: 'SUCCEEDED' } }))).toBeNull();
    expect(injectedCauseMissing(f, run({ migrate: 'FAILED', error: { name: 'SyncLagError' } }))).toBe(
      '--rollback-after-finalize: Migrate did not complete (SyncLagError)',
    );
    expect(
      injectedCauseMissing(
        f,
        run({ migrate: 'SUCCEEDED', operator: { status: 'FAILED', error: 'ReverseDrainFailedError' } }),
      ),
    ).toBe('--rollback-after-finalize: RollbackTraffic ended FAILED (ReverseDrainFailedError)');
  });
});

import type { RehearsalReport } from './rehearse';

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);

/** The rehearsal report for a terminal. */
export function formatReport(r: RehearsalReport): string {
  const out: string[] = [];
  out.push(
    '',
    `Outcome: ${r.outcome.toUpperCase()}${r.error ? ` (${r.error.name}: ${r.error.cause})` : ''} in ${(r.wallMs / 1000).toFixed(1)} s`,
    `PostgreSQL: old side ${r.postgres.old}, new side ${r.postgres.new}`,
  );
  out.push('', 'Phase timeline');
  for (const p of r.phases) out.push(`  ${pad(p.name, 26)} ${pad(p.status, 7)} ${lpad(p.ms, 7)} ms`);
  out.push('', 'Traffic steps             old: requests errors  p50  p99   new: requests errors  p50  p99  seconds');
  const rate = (e: number, n: number) => (n ? `${((100 * e) / n).toFixed(1)}%` : '-');
  const ms = (v: number | null) => (v === null ? '-' : `${v}`);
  for (const s of r.traffic.steps) {
    out.push(
      `  old ${lpad(s.weights.old, 3)} / new ${lpad(s.weights.new, 3)} ${lpad(s.old.requests, 14)} ` +
        `${lpad(rate(s.old.errors, s.old.requests), 6)} ${lpad(ms(s.old.p50), 4)} ${lpad(ms(s.old.p99), 4)} ` +
        `${lpad(s.new.requests, 14)} ${lpad(rate(s.new.errors, s.new.requests), 6)} ${lpad(ms(s.new.p50), 4)} ` +
        `${lpad(ms(s.new.p99), 4)} ${lpad(s.seconds.toFixed(1), 8)}`,
    );
  }
  out.push(
    `  final weights: old ${r.traffic.finalWeights.old} / new ` +
      `${r.traffic.finalWeights.new}${r.traffic.rollbackMs !== null ? `; traffic rollback took ${r.traffic.rollbackMs} ms` : ''}`,
  );
  out.push(
    `  requests: ${r.requests.total} total, ${r.requests.errors} errors (old side ${r.requests.oldErrors}, new side ${r.requests.newErrors})`,
  );
  out.push('', 'Integrity (recomputed at the end in both databases)');
  out.push('  table                  source rows   target rows  source checksum       target checksum       same data');
  for (const t of r.integrity.tables) {
    const rows = (n: number) => (n < 0 ? 'unreadable' : n);
    out.push(
      `  ${pad(t.name, 22)} ${lpad(rows(t.sourceRows), 12)} ${lpad(rows(t.targetRows), 13)}  ` +
        `${pad(t.sourceHash || '-', 20)}  ${pad(t.targetHash || '-', 20)}  ${t.match ? 'yes' : 'no: they differ'}`,
    );
  }
  const w = r.integrity.writes;
  if (w) {
    out.push('', `Acknowledged writes, checked against the ${w.checkedOn} database (it serves 100 % at the end)`);
    out.push(
      `  acknowledged ${w.acknowledged}, present ${w.present}, superseded ${w.superseded}, LOST ${w.lost}, conflicts ${w.conflicts}`,
    );
    for (const st of w.perStep) {
      const step = r.traffic.steps[st.step];
      out.push(
        `  step old ${lpad(step?.weights.old ?? '?', 3)} / new ${lpad(step?.weights.new ?? '?', 3)}: ` +
          `acknowledged ${lpad(st.acknowledged, 6)}  present ${lpad(st.present, 6)}  superseded ` +
          `${lpad(st.superseded, 6)}  lost ${st.lost}`,
      );
    }
    if (w.lost) out.push(`  lost keys (first ${w.lostKeys.length}): ${w.lostKeys.join(', ')}`);
  }
  if (r.config.length) {
    out.push('', 'Config transfer (names only)');
    for (const c of r.config) out.push(`  ${pad(c.kind, 10)} ${pad(c.target, 36)} ${c.action}`);
  }
  out.push(
    '',
    r.expected ? 'As expected.' : `NOT the expected outcome${r.unexpectedBecause ? `: ${r.unexpectedBecause}` : ''}.`,
  );
  return out.join('\n');
}

import type { RehearsalReport } from './rehearse';

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);

/** The rehearsal report for a terminal. */
export function formatReport(r: RehearsalReport): string {
  const out: string[] = [];
  out.push('', `Outcome: ${r.outcome.toUpperCase()}${r.error ? ` (${r.error.name}: ${r.error.cause})` : ''} in ${(r.wallMs / 1000).toFixed(1)} s`);
  out.push('', 'Phase timeline');
  for (const p of r.phases) out.push(`  ${pad(p.name, 26)} ${pad(p.status, 7)} ${lpad(p.ms, 7)} ms`);
  out.push('', 'Traffic steps                old: requests  errors    new: requests  errors   seconds');
  for (const s of r.traffic.steps) {
    const rate = (e: number, n: number) => (n ? `${((100 * e) / n).toFixed(1)}%` : '-');
    out.push(
      `  old ${lpad(s.weights.old, 3)} / new ${lpad(s.weights.new, 3)}  ${lpad(s.old.requests, 14)} ${lpad(rate(s.old.errors, s.old.requests), 7)}  ${lpad(s.new.requests, 14)} ${lpad(rate(s.new.errors, s.new.requests), 7)}  ${lpad(s.seconds.toFixed(1), 8)}`,
    );
  }
  out.push(`  final weights: old ${r.traffic.finalWeights.old} / new ${r.traffic.finalWeights.new}${r.traffic.rollbackMs !== null ? `; traffic rollback took ${r.traffic.rollbackMs} ms` : ''}`);
  out.push(`  requests: ${r.requests.total} total, ${r.requests.errors} errors (old side ${r.requests.oldErrors}, new side ${r.requests.newErrors})`);
  out.push('', 'Integrity                  source rows   target rows  match');
  for (const t of r.integrity.tables) out.push(`  ${pad(t.name, 22)} ${lpad(t.sourceRows, 12)} ${lpad(t.targetRows, 13)}  ${t.match ? 'yes' : 'NO'}`);
  if (r.config.length) {
    out.push('', 'Config transfer (names only)');
    for (const c of r.config) out.push(`  ${pad(c.kind, 10)} ${pad(c.target, 36)} ${c.action}`);
  }
  out.push('', r.expected ? 'As expected.' : 'NOT the expected outcome.');
  return out.join('\n');
}

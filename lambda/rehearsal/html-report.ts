/**
 * The rehearsal report as one self-contained HTML page: inline CSS and inline SVG charts, no
 * script, no external asset. Every section whose data a report may not carry (the write ledger,
 * latency percentiles, sync lag, health-gate verdicts, phase start offsets) renders only when the
 * data is there. Every string is HTML-escaped.
 */

type Weights = { old: number; new: number };

/** One side's figures in one traffic step; percentiles in ms, null or absent when unknown. */
export interface HtmlSideFigures {
  requests: number;
  errors: number;
  p50?: number | null;
  p99?: number | null;
}

export interface HtmlWriteCounts {
  acknowledged: number;
  present: number;
  lost: number;
  superseded: number;
}

/** What the page renders. RehearsalReport fits it; the optional fields render only when present. */
export interface HtmlReportInput {
  outcome: 'completed' | 'rolled-back' | 'failed';
  expected: boolean;
  error?: { name: string; cause: string };
  wallMs: number;
  rows: number;
  /** `startMs`: offset from the execution start; without it, offsets are the sum of the durations before. */
  phases: { name: string; status: 'ok' | 'failed'; ms: number; startMs?: number }[];
  integrity: {
    tables: {
      name: string;
      sourceRows: number;
      targetRows: number;
      sourceHash: string;
      targetHash: string;
      match: boolean;
    }[];
    writes?: HtmlWriteCounts & {
      conflicts: number;
      checkedOn?: string;
      perStep?: (HtmlWriteCounts & { step: number })[];
      lostKeys?: string[];
    };
  };
  traffic: {
    finalWeights: Weights;
    rollbackMs: number | null;
    steps: { weights: Weights; seconds: number; old: HtmlSideFigures; new: HtmlSideFigures }[];
  };
  requests: { total: number; errors: number; oldErrors: number; newErrors: number };
  config: { kind: string; target: string; action: string }[];
  /** Sync lag samples: ms since the start of the run, lag in seconds, which direction. */
  syncLag?: { atMs: number; lagSeconds: number; direction?: 'forward' | 'reverse' }[];
  /** One verdict per health gate (the HealthGate output): `step` indexes traffic.steps. */
  healthGates?: {
    step?: number;
    weights?: Weights;
    healthy: boolean;
    needsMoreData?: boolean;
    summary?: string;
    reasons?: string[];
    canary?: { verdict: string; method?: string };
  }[];
}

const COLORS = {
  old: '#64748b',
  new: '#2563eb',
  error: '#dc2626',
  ok: '#15803d',
  warn: '#b45309',
  grid: '#e2e8f0',
  axis: '#475569',
};

/** Escape text for HTML content and attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const num = (n: number) => n.toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const pct = (part: number, whole: number) => (whole ? `${((100 * part) / whole).toFixed(1)} %` : '–');
const msOrDash = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${num(v)} ms`);
const weightsLabel = (w: Weights) => `old ${w.old} / new ${w.new}`;
const stepLabel = (w: Weights) => `${w.old} / ${w.new}`;
/** Errors of one side with their rate, red when there are any. */
const errorsCell = (f: HtmlSideFigures) =>
  f.errors
    ? `<span class="status bad">${esc(`${num(f.errors)} (${pct(f.errors, f.requests)})`)}</span>`
    : esc(f.requests ? '0' : '–');

function status(kind: 'ok' | 'bad' | 'warn' | 'info', words: string): string {
  return `<span class="status ${kind}"><span class="dot" aria-hidden="true"></span>${esc(words)}</span>`;
}

function legend(items: [string, string][]): string {
  return `<p class="legend">${items.map(([color, label]) => `<span><i style="background:${color}"></i>${esc(label)}</span>`).join('')}</p>`;
}

function svgOpen(id: string, label: string, width: number, height: number): string {
  return (
    `<svg id="${esc(id)}" class="chart" role="img" aria-label="${esc(label)}" viewBox="0 0 ${width} ${height}" ` +
    `width="${width}" height="${height}" preserveAspectRatio="xMinYMin meet" ` +
    `xmlns="http://www.w3.org/2000/svg"><title>${esc(label)}</title>`
  );
}

/** Round "nice" upper bound for an axis. */
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

interface Frame {
  w: number;
  h: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}
const plotW = (f: Frame) => f.w - f.left - f.right;
const plotH = (f: Frame) => f.h - f.top - f.bottom;

/** A tick value with as many decimals as the step between ticks needs (0.25 s, not "0 s" on every line). */
export function tickLabel(v: number, step: number): string {
  let decimals = 0;
  while (decimals < 6 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-9) decimals++;
  return v.toLocaleString('en-US', { maximumFractionDigits: decimals });
}

function yAxis(f: Frame, max: number, unit: string, ticks = 4): string {
  const out: string[] = [];
  for (let i = 0; i <= ticks; i++) {
    const v = (max * i) / ticks;
    const y = f.top + plotH(f) - (plotH(f) * i) / ticks;
    out.push(`<line x1="${f.left}" x2="${f.w - f.right}" y1="${y}" y2="${y}" stroke="${COLORS.grid}"/>`);
    out.push(
      `<text x="${f.left - 6}" y="${y + 4}" text-anchor="end" class="tick">${esc(tickLabel(v, max / ticks))}${esc(unit)}</text>`,
    );
  }
  return out.join('');
}

function xLabel(f: Frame, text: string): string {
  return `<text x="${f.left + plotW(f) / 2}" y="${f.h - 4}" text-anchor="middle" class="axis-label">${esc(text)}</text>`;
}

/** Weights over time: a step line for each side. */
function weightsChart(steps: HtmlReportInput['traffic']['steps']): string {
  const f: Frame = { w: 880, h: 220, left: 48, right: 16, top: 12, bottom: 36 };
  const total = steps.reduce((n, s) => n + s.seconds, 0) || 1;
  const x = (t: number) => f.left + (plotW(f) * t) / total;
  const y = (w: number) => f.top + plotH(f) - (plotH(f) * w) / 100;
  const path = (side: 'old' | 'new') => {
    let t = 0;
    const d: string[] = [];
    steps.forEach((s, i) => {
      d.push(`${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(s.weights[side]).toFixed(1)}`);
      t += s.seconds;
      d.push(`L${x(t).toFixed(1)},${y(s.weights[side]).toFixed(1)}`);
    });
    return `<path d="${d.join(' ')}" fill="none" stroke="${COLORS[side]}" stroke-width="3" class="series-${side}"/>`;
  };
  const xt: string[] = [];
  for (let i = 0; i <= 5; i++)
    xt.push(
      `<text x="${x((total * i) / 5)}" y="${f.h - 20}" text-anchor="middle" class="tick">${esc(((total * i) / 5).toFixed(1))} s</text>`,
    );
  return (
    `${svgOpen('chart-weights', 'Traffic weights over time, percent per side', f.w, f.h)}${yAxis(f, 100, ' %')}` +
    `${xt.join('')}${path('old')}${path('new')}${xLabel(f, 'seconds since traffic started')}</svg>${legend([
      [COLORS.old, 'old side weight'],
      [COLORS.new, 'new side weight'],
    ])}`
  );
}

/** Requests per side per step, the errors stacked on top in red. */
function requestsChart(steps: HtmlReportInput['traffic']['steps']): string {
  const f: Frame = { w: 880, h: 240, left: 56, right: 16, top: 12, bottom: 40 };
  const max = niceMax(Math.max(1, ...steps.flatMap((s) => [s.old.requests, s.new.requests])));
  const groupW = plotW(f) / Math.max(1, steps.length);
  const barW = Math.min(48, groupW / 3);
  const y = (v: number) => f.top + plotH(f) - (plotH(f) * v) / max;
  const bars: string[] = [];
  steps.forEach((s, i) => {
    const cx = f.left + groupW * i + groupW / 2;
    (['old', 'new'] as const).forEach((side, k) => {
      const fig = s[side];
      const bx = cx + (k === 0 ? -barW - 2 : 2);
      const okH = y(0) - y(fig.requests - fig.errors);
      const errH = y(0) - y(fig.requests);
      bars.push(
        `<rect class="bar bar-${side}" x="${bx.toFixed(1)}" y="${y(fig.requests - fig.errors).toFixed(1)}" ` +
          `width="${barW.toFixed(1)}" height="${Math.max(0, okH).toFixed(1)}" ` +
          `fill="${COLORS[side]}"><title>${esc(`${weightsLabel(s.weights)}: ${side} ${num(fig.requests)} requests, ${num(fig.errors)} errors`)}</title></rect>`,
      );
      if (fig.errors > 0)
        bars.push(
          `<rect class="bar bar-errors" x="${bx.toFixed(1)}" y="${y(fig.requests).toFixed(1)}" ` +
            `width="${barW.toFixed(1)}" height="${Math.max(1, errH - okH).toFixed(1)}" fill="${COLORS.error}"/>`,
        );
    });
    bars.push(
      `<text x="${cx}" y="${f.h - 22}" text-anchor="middle" class="tick">${esc(`${s.weights.old}/${s.weights.new}`)}</text>`,
    );
  });
  return (
    `${svgOpen('chart-requests', 'Requests and errors per side per traffic step', f.w, f.h)}${yAxis(f, max, '')}` +
    `${bars.join('')}${xLabel(f, 'traffic step (old % / new %)')}</svg>${legend([
      [COLORS.old, 'old side requests'],
      [COLORS.new, 'new side requests'],
      [COLORS.error, 'errors (5xx or refused)'],
    ])}`
  );
}

/** p50 and p99 per side per step. */
function latencyChart(steps: HtmlReportInput['traffic']['steps']): string {
  const f: Frame = { w: 880, h: 240, left: 64, right: 16, top: 12, bottom: 40 };
  const values = steps
    .flatMap((s) => [s.old.p50, s.old.p99, s.new.p50, s.new.p99])
    .filter((v): v is number => typeof v === 'number');
  const max = niceMax(Math.max(1, ...values));
  const groupW = plotW(f) / Math.max(1, steps.length);
  const x = (i: number) => f.left + groupW * i + groupW / 2;
  const y = (v: number) => f.top + plotH(f) - (plotH(f) * v) / max;
  const series = (side: 'old' | 'new', p: 'p50' | 'p99') => {
    const pts = steps
      .map((s, i) => [i, s[side][p]] as const)
      .filter((pt): pt is readonly [number, number] => typeof pt[1] === 'number');
    if (!pts.length) return '';
    const d = pts.map(([i, v], k) => `${k ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const dash = p === 'p50' ? ' stroke-dasharray="6 4"' : '';
    return (
      `<path class="series-${side}-${p}" d="${d}" fill="none" stroke="${COLORS[side]}" ` +
      `stroke-width="2.5"${dash}/>` +
      `${pts
        .map(
          ([i, v]) =>
            `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="4" fill="${COLORS[side]}"><title>${esc(`${side} ${p}: ${v} ms`)}</title></circle>`,
        )
        .join('')}`
    );
  };
  const labels = steps
    .map(
      (s, i) =>
        `<text x="${x(i)}" y="${f.h - 22}" text-anchor="middle" class="tick">${esc(`${s.weights.old}/${s.weights.new}`)}</text>`,
    )
    .join('');
  return (
    `${svgOpen('chart-latency', 'Latency p50 and p99 per side per traffic step, in milliseconds', f.w, f.h)}` +
    `${yAxis(f, max, ' ms')}${series('old', 'p99')}${series('new', 'p99')}${series('old', 'p50')}` +
    `${series('new', 'p50')}${labels}${xLabel(f, 'traffic step (old % / new %)')}</svg>${legend([
      [COLORS.old, 'old side (solid p99, dashed p50)'],
      [COLORS.new, 'new side (solid p99, dashed p50)'],
    ])}`
  );
}

/** Sync lag over time, one line per direction. */
function lagChart(samples: NonNullable<HtmlReportInput['syncLag']>): string {
  const f: Frame = { w: 880, h: 220, left: 56, right: 16, top: 12, bottom: 36 };
  const t0 = Math.min(...samples.map((s) => s.atMs));
  const t1 = Math.max(...samples.map((s) => s.atMs));
  const span = Math.max(1, t1 - t0);
  // Under a second the axis reads in milliseconds.
  const peak = Math.max(...samples.map((s) => s.lagSeconds));
  const scale = peak < 1 ? 1000 : 1;
  const unit = scale === 1000 ? ' ms' : ' s';
  const max = niceMax(Math.max(scale === 1000 ? 1 : 0.001, peak * scale));
  const x = (t: number) => f.left + (plotW(f) * (t - t0)) / span;
  const y = (v: number) => f.top + plotH(f) - (plotH(f) * v * scale) / max;
  const dirs = [...new Set(samples.map((s) => s.direction ?? 'forward'))];
  const color = (d: string) => (d === 'reverse' ? COLORS.warn : COLORS.new);
  const lines = dirs.map((d) => {
    const pts = samples.filter((s) => (s.direction ?? 'forward') === d).sort((a, b) => a.atMs - b.atMs);
    const path = pts.map((s, k) => `${k ? 'L' : 'M'}${x(s.atMs).toFixed(1)},${y(s.lagSeconds).toFixed(1)}`).join(' ');
    return (
      `<path class="series-lag-${esc(d)}" d="${path}" fill="none" stroke="${color(d)}" ` +
      `stroke-width="2.5"/>${pts.length === 1 ? `<circle cx="${x(pts[0].atMs)}" cy="${y(pts[0].lagSeconds)}" r="4" fill="${color(d)}"/>` : ''}`
    );
  });
  const xt: string[] = [];
  for (let i = 0; i <= 5; i++)
    xt.push(
      `<text x="${x(t0 + (span * i) / 5)}" y="${f.h - 20}" text-anchor="middle" class="tick">${esc(((t0 + (span * i) / 5) / 1000).toFixed(1))} s</text>`,
    );
  return (
    `${svgOpen('chart-sync-lag', `Sync lag over time, in ${scale === 1000 ? 'milliseconds' : 'seconds'}`, f.w, f.h)}` +
    `${yAxis(f, max, unit)}${xt.join('')}${lines.join('')}${xLabel(f, 'seconds since the run started')}</svg>` +
    `${legend(dirs.map((d) => [color(d), d === 'reverse' ? 'reverse sync (new → old) lag' : 'forward sync (old → new) lag'] as [string, string]))}`
  );
}

/** Phases as a Gantt chart plus the numbers in a table. */
function timeline(
  phases: readonly { name: string; status: 'ok' | 'failed' | 'tripped'; ms: number; startMs?: number }[],
): {
  svg: string;
  rows: { name: string; start: number; ms: number; status: string }[];
  estimated: boolean;
} {
  const estimated = phases.some((p) => p.startMs === undefined);
  let cursor = 0;
  const rows = phases.map((p) => {
    const start = p.startMs ?? cursor;
    cursor = Math.max(cursor, start + p.ms);
    return { name: p.name, start, ms: p.ms, status: p.status };
  });
  const rowH = 18;
  const f: Frame = { w: 880, h: 36 + rows.length * rowH, left: 190, right: 16, top: 8, bottom: 28 };
  const end = Math.max(1, ...rows.map((r) => r.start + r.ms));
  const x = (t: number) => f.left + (plotW(f) * t) / end;
  const bars = rows.map((r, i) => {
    const y = f.top + i * rowH;
    const color = r.status === 'ok' ? COLORS.ok : COLORS.error;
    return (
      `<text x="${f.left - 8}" y="${y + 13}" text-anchor="end" class="tick">${esc(r.name)}</text>` +
      `<rect class="phase-bar phase-${r.status === 'ok' ? 'ok' : r.status === 'tripped' ? 'tripped' : 'failed'}" ` +
      `x="${x(r.start).toFixed(1)}" y="${y + 3}" width="${Math.max(2, x(r.start + r.ms) - x(r.start)).toFixed(1)}" ` +
      `height="${rowH - 6}" rx="2" fill="${color}"><title>${esc(`${r.name}: ${r.status}, starts at ${secs(r.start)}, takes ${secs(r.ms)}`)}</title></rect>`
    );
  });
  const xt: string[] = [];
  for (let i = 0; i <= 5; i++)
    xt.push(
      `<text x="${x((end * i) / 5)}" y="${f.h - 8}" text-anchor="middle" ` +
        `class="tick">${esc(secs((end * i) / 5))}</text><line x1="${x((end * i) / 5)}" x2="${x((end * i) / 5)}" ` +
        `y1="${f.top}" y2="${f.h - f.bottom + 6}" stroke="${COLORS.grid}"/>`,
    );
  return {
    svg: `${svgOpen('chart-phases', 'Phase timeline: start and duration of each state', f.w, f.h)}${xt.join('')}${bars.join('')}</svg>${legend(
      [
        [COLORS.ok, 'ok'],
        [COLORS.error, 'failed, or a health gate that tripped'],
      ],
    )}`,
    rows,
    estimated,
  };
}

/** A table; cells are HTML (escape before), `numeric` lists the right-aligned number columns. */
function table(id: string, caption: string, head: string[], rows: string[][], numeric: number[] = []): string {
  const cls = (i: number) => (numeric.includes(i) ? ' class="num"' : '');
  const th = head.map((h, i) => `<th scope="col"${cls(i)}>${esc(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${c}</td>`).join('')}</tr>`).join('');
  return `<div class="scroll"><table id="${esc(id)}"><caption>${esc(caption)}</caption><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table></div>`;
}

/** The outcome in one sentence. */
export function headline(r: HtmlReportInput): string {
  const w = r.integrity.writes;
  const allMatch = r.integrity.tables.length > 0 && r.integrity.tables.every((t) => t.match);
  const ledger = w ? `${num(w.acknowledged)} acknowledged writes, ${num(w.lost)} lost` : '';
  const err = r.error ? `${r.error.name}${r.error.cause ? `: ${r.error.cause}` : ''}` : '';
  if (r.outcome === 'completed') {
    return (
      `The migration completed: the new side serves ${r.traffic.finalWeights.new} % of traffic, ` +
      `${allMatch ? 'every table matches' : 'but not every table matches'}${ledger ? ` and ${ledger}` : ''}.`
    );
  }
  if (r.outcome === 'rolled-back') {
    return (
      `The migration rolled back to ${r.traffic.finalWeights.old} % ` +
      `old${r.traffic.rollbackMs !== null ? ` in ${num(r.traffic.rollbackMs)} ms` : ''}${err ? ` after ${err}` : ''}${ledger ? `; ${ledger}` : ''}.`
    );
  }
  return `The migration failed${err ? ` with ${err}` : ''}; traffic ends at ${weightsLabel(r.traffic.finalWeights)}${ledger ? `; ${ledger}` : ''}.`;
}

const CSS = `
:root{--fg:#0f172a;--muted:#475569;--line:#e2e8f0;--bg:#f8fafc;--ok:${COLORS.ok};--bad:${COLORS.error};--warn:${COLORS.warn};--info:${COLORS.new}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:960px;margin:0 auto;padding:24px 24px 64px}
h1{font-size:1.6rem;margin:0 0 4px}
h2{font-size:1.2rem;margin:0 0 12px}
h3{font-size:1rem;margin:20px 0 8px;color:var(--muted)}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
.sub{color:var(--muted);margin:0 0 12px}
.headline{font-size:1.15rem;font-weight:600;margin:12px 0;padding:12px 16px;border-left:6px solid var(--info);background:#fff;border-radius:4px}
.headline.ok{border-color:var(--ok)}.headline.bad{border-color:var(--bad)}.headline.warn{border-color:var(--warn)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px;margin:12px 0}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card b{display:block;font-size:1.25rem;font-variant-numeric:tabular-nums}
.card span{color:var(--muted);font-size:.85rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:8px 0 4px;font-size:.95rem}
caption{text-align:left;color:var(--muted);font-size:.85rem;padding-bottom:4px}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{font-weight:600;background:#f1f5f9}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code,.hash{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
.hash{overflow-wrap:anywhere;word-break:break-all}
.status{display:inline-flex;align-items:center;gap:6px;font-weight:600;white-space:nowrap}
.status .dot{width:10px;height:10px;border-radius:50%;display:inline-block}
.status.ok{color:var(--ok)}.status.ok .dot{background:var(--ok)}
.status.bad{color:var(--bad)}.status.bad .dot{background:var(--bad)}
.status.warn{color:var(--warn)}.status.warn .dot{background:var(--warn)}
.status.info{color:var(--info)}.status.info .dot{background:var(--info)}
svg.chart{display:block;width:100%;height:auto;max-width:880px}
svg .tick{font-size:12px;fill:${COLORS.axis}}
svg .axis-label{font-size:12px;fill:${COLORS.axis}}
.legend{display:flex;flex-wrap:wrap;gap:16px;color:var(--muted);font-size:.85rem;margin:4px 0 8px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.note{color:var(--muted);font-size:.85rem}
footer{color:var(--muted);font-size:.8rem;text-align:center}
`;

/** The rehearsal report as one self-contained HTML page. */
export function renderHtmlReport(r: HtmlReportInput): string {
  const tone = r.expected ? (r.outcome === 'completed' ? 'ok' : 'warn') : 'bad';
  const outcomeWords = { completed: 'completed', 'rolled-back': 'rolled back', failed: 'failed' }[r.outcome];
  const parts: string[] = [];

  parts.push(
    `<header><h1>Switchyard rehearsal report</h1><p class="sub">` +
      `${status(r.outcome === 'completed' ? 'ok' : r.outcome === 'rolled-back' ? 'warn' : 'bad', outcomeWords)} ` +
      `&nbsp; ${r.expected ? status('ok', 'the expected outcome') : status('bad', 'NOT the expected outcome')}</p>`,
  );
  parts.push(`<p class="headline ${tone}" id="headline">${esc(headline(r))}</p>`);
  const cards: [string, string][] = [
    [secs(r.wallMs), 'wall time'],
    [num(r.rows), 'rows in the source'],
    [num(r.requests.total), `requests, ${num(r.requests.errors)} failed`],
    [stepLabel(r.traffic.finalWeights), 'final weights, old / new %'],
  ];
  if (r.traffic.rollbackMs !== null) cards.push([`${num(r.traffic.rollbackMs)} ms`, 'traffic rollback']);
  if (r.integrity.writes)
    cards.push([num(r.integrity.writes.lost), `lost of ${num(r.integrity.writes.acknowledged)} acknowledged writes`]);
  parts.push(
    `<div class="cards">${cards.map(([v, l]) => `<div class="card"><b>${esc(v)}</b><span>${esc(l)}</span></div>`).join('')}</div></header>`,
  );
  if (r.error)
    parts.push(
      `<section id="error"><h2>Error</h2><p>${status('bad', r.error.name)}</p><p><code>${esc(r.error.cause)}</code></p></section>`,
    );

  // Phases: a HealthGate task that ran fine but tripped (its verdict: roll back) is drawn as tripped, not ok.
  // The k-th of n HealthGate tasks is the gate record (m - n + k) of m (aligned on the last one).
  const gatePhases = r.phases.filter((p) => p.name === 'HealthGate').length;
  let gateNo = (r.healthGates?.length ?? 0) - gatePhases;
  const phases = r.phases.map((p) => {
    if (p.name !== 'HealthGate') return p;
    const g = r.healthGates?.[gateNo++];
    if (p.status !== 'ok') return p;
    return g && !g.healthy && !g.needsMoreData ? { ...p, status: 'tripped' as const } : p;
  });
  const tl = timeline(phases);
  parts.push(
    `<section id="phases"><h2>Phase timeline</h2>${tl.svg}${
      tl.estimated
        ? '<p class="note">Start offsets are the sum of the task durations before each state (waits such as the bake are not counted).</p>'
        : ''
    }` +
      `${table(
        'table-phases',
        'Each state of the Migrate workflow as it ran',
        ['State', 'Starts at', 'Duration', 'Result'],
        tl.rows.map((p) => [
          esc(p.name),
          esc(secs(p.start)),
          esc(secs(p.ms)),
          p.status === 'ok'
            ? status('ok', 'ok')
            : p.status === 'tripped'
              ? status('bad', 'tripped: roll back')
              : status('bad', 'failed'),
        ]),
        [1, 2],
      )}</section>`,
  );

  // Traffic.
  const steps = r.traffic.steps;
  if (steps.length) {
    const hasLatency = steps.some((s) =>
      [s.old.p50, s.old.p99, s.new.p50, s.new.p99].some((v) => typeof v === 'number'),
    );
    parts.push(
      `<section id="traffic"><h2>Traffic</h2><h3>Weights over time</h3>${weightsChart(steps)}<h3>Requests and ` +
        `errors per step</h3>${requestsChart(steps)}${table(
          'table-traffic',
          'Requests per side in each traffic step; errors with their rate',
          ['Weights old / new (%)', 'Seconds', 'Old requests', 'Old errors', 'New requests', 'New errors'],
          steps.map((s) => [
            esc(stepLabel(s.weights)),
            esc(s.seconds.toFixed(1)),
            esc(num(s.old.requests)),
            errorsCell(s.old),
            esc(num(s.new.requests)),
            errorsCell(s.new),
          ]),
          [0, 1, 2, 3, 4, 5],
        )}<p class="note">Totals: ${esc(num(r.requests.total))} requests, ${esc(num(r.requests.errors))} failed ` +
        `(old side ${esc(num(r.requests.oldErrors))}, new side ${esc(num(r.requests.newErrors))}).</p>${
          hasLatency
            ? `<h3>Latency per step</h3>${latencyChart(steps)}${table(
                'table-latency',
                'Latency percentiles per side in each traffic step ("–": no requests on that side)',
                ['Weights old / new (%)', 'Old p50', 'Old p99', 'New p50', 'New p99'],
                steps.map((s) => [
                  esc(stepLabel(s.weights)),
                  esc(msOrDash(s.old.p50)),
                  esc(msOrDash(s.old.p99)),
                  esc(msOrDash(s.new.p50)),
                  esc(msOrDash(s.new.p99)),
                ]),
                [0, 1, 2, 3, 4],
              )}`
            : ''
        }</section>`,
    );
  }

  // Health gates.
  if (r.healthGates?.length) {
    parts.push(
      `<section id="health-gates"><h2>Health gates</h2>${table(
        'table-health-gates',
        'The verdict after each bake: alarms (absolute floor) and the canary (new side against old over the same window)',
        ['Weights old / new (%)', 'Verdict', 'Canary', 'Why'],
        r.healthGates.map((g) => {
          const w = g.weights ?? (g.step !== undefined ? steps[g.step]?.weights : undefined);
          const why = g.healthy ? (g.summary ?? '') : g.reasons?.length ? g.reasons.join('; ') : (g.summary ?? '');
          const canary = g.canary ? `${g.canary.verdict}${g.canary.method ? ` (${g.canary.method})` : ''}` : '–';
          return [
            esc(w ? stepLabel(w) : g.step !== undefined ? `step ${g.step + 1}` : '–'),
            g.healthy
              ? status('ok', 'healthy')
              : g.needsMoreData
                ? status('warn', 'baking again (too little traffic)')
                : status('bad', 'tripped'),
            esc(canary),
            esc(why),
          ];
        }),
      )}</section>`,
    );
  }

  // Sync lag.
  if (r.syncLag?.length)
    parts.push(
      `<section id="sync-lag"><h2>Sync lag</h2>${lagChart(r.syncLag)}<p class="note">Highest lag: ` +
        `${esc(Math.max(...r.syncLag.map((s) => s.lagSeconds)).toFixed(2))} s over ${esc(num(r.syncLag.length))} ` +
        `samples.</p></section>`,
    );

  // Integrity.
  const rowsText = (n: number) => (n < 0 ? 'unreadable' : num(n));
  const tableRows = r.integrity.tables.map((t) => [
    esc(t.name),
    esc(rowsText(t.sourceRows)),
    esc(rowsText(t.targetRows)),
    `<span class="hash">${esc(t.sourceHash || 'not computed')}</span>`,
    `<span class="hash">${esc(t.targetHash || 'not computed')}</span>`,
    t.match
      ? status('ok', 'same rows, same data')
      : t.sourceRows < 0 || t.targetRows < 0
        ? status('bad', 'could not be compared')
        : r.outcome !== 'completed'
          ? status('warn', 'differs: expected, the run stopped or rolled back before the new side took over')
          : status('bad', t.sourceRows !== t.targetRows ? 'different row counts' : 'same count, different data'),
  ]);
  parts.push(
    `<section id="integrity"><h2>Data integrity</h2><p class="sub">Rows and checksums recomputed at the end in ` +
      `both databases.</p>${table(
        'table-integrity',
        'Each table of the spec: source (old) against target (new)',
        ['Table', 'Source rows', 'Target rows', 'Source checksum', 'Target checksum', 'Result'],
        tableRows,
        [1, 2],
      )}`,
  );
  const w = r.integrity.writes;
  if (w) {
    const verdict =
      w.lost === 0
        ? status('ok', 'no acknowledged write lost')
        : status('bad', `${num(w.lost)} acknowledged writes lost`);
    parts.push(
      `<h3 id="writes">Acknowledged writes</h3><p>${verdict}` +
        `${w.checkedOn ? ` <span class="note">checked against the ${esc(w.checkedOn)} database, which serves 100 % at the end</span>` : ''}` +
        `</p>${table(
          'table-writes',
          "The clients' ledger: every write the app acknowledged, looked up at the end",
          ['Scope', 'Acknowledged', 'Present', 'Superseded', 'Lost', 'Conflicts'],
          [
            [
              esc('whole run'),
              esc(num(w.acknowledged)),
              esc(num(w.present)),
              esc(num(w.superseded)),
              w.lost ? `<b class="status bad">${esc(num(w.lost))}</b>` : esc('0'),
              esc(num(w.conflicts)),
            ],
            ...(w.perStep ?? []).map((s) => [
              esc(steps[s.step] ? `step ${stepLabel(steps[s.step].weights)} %` : `step ${s.step + 1}`),
              esc(num(s.acknowledged)),
              esc(num(s.present)),
              esc(num(s.superseded)),
              s.lost ? `<b class="status bad">${esc(num(s.lost))}</b>` : esc('0'),
              '–',
            ]),
          ],
          [1, 2, 3, 4, 5],
        )}<p class="note">Present: the last acknowledged write of a key is in the database. ` +
        `Superseded: a later acknowledged write to the same key replaced it. ` +
        `Conflicts: same-row writes on both sides resolved by the sync's rule (later commit wins).</p>${
          w.lostKeys?.length
            ? `<p>Lost keys (first ${esc(w.lostKeys.length)}): ${w.lostKeys.map((k) => `<code>${esc(k)}</code>`).join(', ')}</p>`
            : ''
        }`,
    );
  }
  parts.push('</section>');

  if (r.config.length) {
    parts.push(
      `<section id="config"><h2>Config transfer</h2>${table(
        'table-config',
        'Names only, never values',
        ['Kind', 'Target', 'Action'],
        r.config.map((c) => [esc(c.kind), `<code>${esc(c.target)}</code>`, esc(c.action)]),
      )}</section>`,
    );
  }

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(`Switchyard rehearsal: ${outcomeWords}`)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${parts.join('\n')}
<footer>Generated by Switchyard's local rehearsal (npm run rehearse). Self-contained page: no scripts, no external assets.</footer>
</main>
</body>
</html>
`;
}

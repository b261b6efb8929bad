/**
 * The rehearsal report as one self-contained HTML page: inline CSS and inline SVG charts, no
 * script, no external asset. Every section whose data a report may not carry (the write ledger,
 * latency percentiles, sync lag, health-gate verdicts, phase start offsets) renders only when the
 * data is there. Markup is built with the html`…` tagged template (./html.ts), which escapes every
 * interpolated value unless it is markup itself.
 */
import { html, raw, type SafeHtml } from './html';

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

const num = (n: number) => n.toLocaleString('en-US');
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const pct = (part: number, whole: number) => (whole ? `${((100 * part) / whole).toFixed(1)} %` : '–');
const msOrDash = (v: number | null | undefined) => (v === null || v === undefined ? '–' : `${num(v)} ms`);
const weightsLabel = (w: Weights) => `old ${w.old} / new ${w.new}`;
const stepLabel = (w: Weights) => `${w.old} / ${w.new}`;
/** Errors of one side with their rate, red when there are any. */
const errorsCell = (f: HtmlSideFigures) =>
  f.errors
    ? html`<span class="status bad">${`${num(f.errors)} (${pct(f.errors, f.requests)})`}</span>`
    : html`${f.requests ? '0' : '–'}`;

function status(kind: 'ok' | 'bad' | 'warn' | 'info', words: string, wrap = false): SafeHtml {
  const cls = wrap ? `status ${kind} wrap` : `status ${kind}`;
  return html`<span class="${cls}"><span class="dot" aria-hidden="true"></span>${words}</span>`;
}

function legend(items: [string, string][]): SafeHtml {
  return html`<p class="legend">${items.map(([color, label]) => html`<span><i style="background:${color}"></i>${label}</span>`)}</p>`;
}

/** An SVG chart: its label is its accessible name and title. */
function svg(id: string, label: string, width: number, height: number, body: unknown): SafeHtml {
  return html`<svg id="${id}" class="chart" role="img" aria-label="${label}" viewBox="0 0 ${width} ${height}"
    width="${width}" height="${height}" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title>${label}</title>${body}</svg>`;
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

function yAxis(f: Frame, max: number, unit: string, ticks = 4): SafeHtml[] {
  const out: SafeHtml[] = [];
  for (let i = 0; i <= ticks; i++) {
    const v = (max * i) / ticks;
    const y = f.top + plotH(f) - (plotH(f) * i) / ticks;
    out.push(html`<line x1="${f.left}" x2="${f.w - f.right}" y1="${y}" y2="${y}" stroke="${COLORS.grid}"/>`);
    out.push(
      html`<text x="${f.left - 6}" y="${y + 4}" text-anchor="end" class="tick">${tickLabel(v, max / ticks)}${unit}</text>`,
    );
  }
  return out;
}

/** Five evenly spaced labels along the x axis. */
function xTicks(f: Frame, x: (t: number) => number, from: number, span: number, label: (t: number) => string) {
  const out: SafeHtml[] = [];
  for (let i = 0; i <= 5; i++) {
    const t = from + (span * i) / 5;
    out.push(html`<text x="${x(t)}" y="${f.h - 20}" text-anchor="middle" class="tick">${label(t)}</text>`);
  }
  return out;
}

function xLabel(f: Frame, text: string): SafeHtml {
  return html`<text x="${f.left + plotW(f) / 2}" y="${f.h - 4}" text-anchor="middle" class="axis-label">${text}</text>`;
}

/** Weights over time: a step line for each side. */
function weightsChart(steps: HtmlReportInput['traffic']['steps']): SafeHtml {
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
    return html`<path d="${d.join(' ')}" fill="none" stroke="${COLORS[side]}" stroke-width="3" class="series-${side}"/>`;
  };
  const ticks = xTicks(f, x, 0, total, (t) => `${t.toFixed(1)} s`);
  return html`${svg('chart-weights', 'Traffic weights over time, percent per side', f.w, f.h, [
    yAxis(f, 100, ' %'),
    ticks,
    path('old'),
    path('new'),
    xLabel(f, 'seconds since traffic started'),
  ])}${legend([
    [COLORS.old, 'old side weight'],
    [COLORS.new, 'new side weight'],
  ])}`;
}

/** Requests per side per step, the errors stacked on top in red. */
function requestsChart(steps: HtmlReportInput['traffic']['steps']): SafeHtml {
  const f: Frame = { w: 880, h: 240, left: 56, right: 16, top: 12, bottom: 40 };
  const max = niceMax(Math.max(1, ...steps.flatMap((s) => [s.old.requests, s.new.requests])));
  const groupW = plotW(f) / Math.max(1, steps.length);
  const barW = Math.min(48, groupW / 3);
  const y = (v: number) => f.top + plotH(f) - (plotH(f) * v) / max;
  const bar = (s: (typeof steps)[number], side: 'old' | 'new', bx: number) => {
    const fig = s[side];
    const okH = y(0) - y(fig.requests - fig.errors);
    const errH = y(0) - y(fig.requests);
    const title = `${weightsLabel(s.weights)}: ${side} ${num(fig.requests)} requests, ${num(fig.errors)} errors`;
    return html`<rect class="bar bar-${side}" x="${bx.toFixed(1)}" y="${y(fig.requests - fig.errors).toFixed(1)}"
      width="${barW.toFixed(1)}" height="${Math.max(0, okH).toFixed(1)}" fill="${COLORS[side]}"><title>${title}</title></rect>${
        fig.errors > 0 &&
        html`<rect class="bar bar-errors" x="${bx.toFixed(1)}" y="${y(fig.requests).toFixed(1)}"
        width="${barW.toFixed(1)}" height="${Math.max(1, errH - okH).toFixed(1)}" fill="${COLORS.error}"/>`
      }`;
  };
  const bars = steps.map((s, i) => {
    const cx = f.left + groupW * i + groupW / 2;
    return html`${bar(s, 'old', cx - barW - 2)}${bar(s, 'new', cx + 2)}<text
      x="${cx}" y="${f.h - 22}" text-anchor="middle" class="tick">${`${s.weights.old}/${s.weights.new}`}</text>`;
  });
  return html`${svg('chart-requests', 'Requests and errors per side per traffic step', f.w, f.h, [
    yAxis(f, max, ''),
    bars,
    xLabel(f, 'traffic step (old % / new %)'),
  ])}${legend([
    [COLORS.old, 'old side requests'],
    [COLORS.new, 'new side requests'],
    [COLORS.error, 'errors (5xx or refused)'],
  ])}`;
}

/** p50 and p99 per side per step. */
function latencyChart(steps: HtmlReportInput['traffic']['steps']): SafeHtml {
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
    const dash = p === 'p50' && raw(' stroke-dasharray="6 4"');
    const dots = pts.map(
      ([i, v]) =>
        html`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="4" fill="${COLORS[side]}"><title>${`${side} ${p}: ${v} ms`}</title></circle>`,
    );
    return html`<path class="series-${side}-${p}" d="${d}" fill="none" stroke="${COLORS[side]}" stroke-width="2.5"${dash}/>${dots}`;
  };
  const labels = steps.map(
    (s, i) =>
      html`<text x="${x(i)}" y="${f.h - 22}" text-anchor="middle" class="tick">${`${s.weights.old}/${s.weights.new}`}</text>`,
  );
  const label = 'Latency p50 and p99 per side per traffic step, in milliseconds';
  return html`${svg('chart-latency', label, f.w, f.h, [
    yAxis(f, max, ' ms'),
    series('old', 'p99'),
    series('new', 'p99'),
    series('old', 'p50'),
    series('new', 'p50'),
    labels,
    xLabel(f, 'traffic step (old % / new %)'),
  ])}${legend([
    [COLORS.old, 'old side (solid p99, dashed p50)'],
    [COLORS.new, 'new side (solid p99, dashed p50)'],
  ])}`;
}

/** Sync lag over time, one line per direction. */
function lagChart(samples: NonNullable<HtmlReportInput['syncLag']>): SafeHtml {
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
    return html`<path class="series-lag-${d}" d="${path}" fill="none" stroke="${color(d)}" stroke-width="2.5"/>${
      pts.length === 1 && html`<circle cx="${x(pts[0].atMs)}" cy="${y(pts[0].lagSeconds)}" r="4" fill="${color(d)}"/>`
    }`;
  });
  const ticks = xTicks(f, x, t0, span, (t) => `${(t / 1000).toFixed(1)} s`);
  const label = `Sync lag over time, in ${scale === 1000 ? 'milliseconds' : 'seconds'}`;
  const names = (d: string) => (d === 'reverse' ? 'reverse sync (new → old) lag' : 'forward sync (old → new) lag');
  return html`${svg('chart-sync-lag', label, f.w, f.h, [
    yAxis(f, max, unit),
    ticks,
    lines,
    xLabel(f, 'seconds since the run started'),
  ])}${legend(dirs.map((d) => [color(d), names(d)]))}`;
}

type PhaseRow = { name: string; start: number; ms: number; status: 'ok' | 'failed' | 'tripped' };

/** Phases as a Gantt chart plus the numbers in a table. */
function timeline(phases: readonly { name: string; status: PhaseRow['status']; ms: number; startMs?: number }[]): {
  svg: SafeHtml;
  rows: PhaseRow[];
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
    const title = `${r.name}: ${r.status}, starts at ${secs(r.start)}, takes ${secs(r.ms)}`;
    const width = Math.max(2, x(r.start + r.ms) - x(r.start)).toFixed(1);
    return html`<text x="${f.left - 8}" y="${y + 13}" text-anchor="end" class="tick">${r.name}</text><rect
      class="phase-bar phase-${r.status}" x="${x(r.start).toFixed(1)}"
      y="${y + 3}" width="${width}" height="${rowH - 6}" rx="2" fill="${color}"><title>${title}</title></rect>`;
  });
  const ticks: SafeHtml[] = [];
  for (let i = 0; i <= 5; i++) {
    const at = x((end * i) / 5);
    ticks.push(
      html`<text x="${at}" y="${f.h - 8}" text-anchor="middle" class="tick">${secs((end * i) / 5)}</text><line
        x1="${at}" x2="${at}" y1="${f.top}" y2="${f.h - f.bottom + 6}" stroke="${COLORS.grid}"/>`,
    );
  }
  const label = 'Phase timeline: start and duration of each state';
  return {
    svg: html`${svg('chart-phases', label, f.w, f.h, [ticks, bars])}${legend([
      [COLORS.ok, 'ok'],
      [COLORS.error, 'failed, or a health gate that tripped'],
    ])}`,
    rows,
    estimated,
  };
}

/** A table; each cell is text (escaped) or markup (html`…`); `numeric` lists the right-aligned number columns. */
function table(id: string, caption: string, head: string[], rows: unknown[][], numeric: number[] = []): SafeHtml {
  const cls = (i: number) => numeric.includes(i) && raw(' class="num"');
  const th = head.map((h, i) => html`<th scope="col"${cls(i)}>${h}</th>`);
  const tr = rows.map((r) => html`<tr>${r.map((c, i) => html`<td${cls(i)}>${c}</td>`)}</tr>`);
  return html`<div class="scroll"><table id="${id}"><caption>${caption}</caption><thead><tr>${th}</tr></thead><tbody>${tr}</tbody></table></div>`;
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
      `old${r.traffic.rollbackMs !== null ? ` in ${num(r.traffic.rollbackMs)} ms` : ''}${err ? ` after ${err}` : ''}` +
      `${ledger ? `; ${ledger}` : ''}.`
    );
  }
  return (
    `The migration failed${err ? ` with ${err}` : ''}; traffic ends at ${weightsLabel(r.traffic.finalWeights)}` +
    `${ledger ? `; ${ledger}` : ''}.`
  );
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
.status.wrap{white-space:normal}
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

const OUTCOME_WORDS = { completed: 'completed', 'rolled-back': 'rolled back', failed: 'failed' } as const;

/** Title, outcome, the headline sentence and the key figures as cards. */
function headerSection(r: HtmlReportInput): SafeHtml {
  const tone = r.expected ? (r.outcome === 'completed' ? 'ok' : 'warn') : 'bad';
  const outcomeTone = r.outcome === 'completed' ? 'ok' : r.outcome === 'rolled-back' ? 'warn' : 'bad';
  const cards: [string, string][] = [
    [secs(r.wallMs), 'wall time'],
    [num(r.rows), 'rows in the source'],
    [num(r.requests.total), `requests, ${num(r.requests.errors)} failed`],
    [stepLabel(r.traffic.finalWeights), 'final weights, old / new %'],
  ];
  if (r.traffic.rollbackMs !== null) cards.push([`${num(r.traffic.rollbackMs)} ms`, 'traffic rollback']);
  if (r.integrity.writes)
    cards.push([num(r.integrity.writes.lost), `lost of ${num(r.integrity.writes.acknowledged)} acknowledged writes`]);
  const verdict = r.expected ? status('ok', 'the expected outcome') : status('bad', 'NOT the expected outcome');
  return html`<header><h1>Switchyard rehearsal report</h1><p class="sub">${status(outcomeTone, OUTCOME_WORDS[r.outcome])} &nbsp; ${verdict}</p>
<p class="headline ${tone}" id="headline">${headline(r)}</p>
<div class="cards">${cards.map(([v, l]) => html`<div class="card"><b>${v}</b><span>${l}</span></div>`)}</div></header>`;
}

function errorSection(error: NonNullable<HtmlReportInput['error']>): SafeHtml {
  return html`<section id="error"><h2>Error</h2><p>${status('bad', error.name)}</p><p><code>${error.cause}</code></p></section>`;
}

/**
 * Phases: a HealthGate task that ran fine but tripped (its verdict: roll back) is drawn as tripped, not ok.
 * The k-th of n HealthGate tasks is the gate record (m - n + k) of m (aligned on the last one).
 */
function phasesWithVerdicts(r: HtmlReportInput) {
  const gatePhases = r.phases.filter((p) => p.name === 'HealthGate').length;
  let gateNo = (r.healthGates?.length ?? 0) - gatePhases;
  return r.phases.map((p) => {
    if (p.name !== 'HealthGate') return p;
    const g = r.healthGates?.[gateNo++];
    if (p.status !== 'ok') return p;
    return g && !g.healthy && !g.needsMoreData ? { ...p, status: 'tripped' as const } : p;
  });
}

function phasesSection(r: HtmlReportInput): SafeHtml {
  const tl = timeline(phasesWithVerdicts(r));
  const result = (s: PhaseRow['status']) =>
    s === 'ok' ? status('ok', 'ok') : s === 'tripped' ? status('bad', 'tripped: roll back') : status('bad', 'failed');
  const rows = tl.rows.map((p) => [p.name, secs(p.start), secs(p.ms), result(p.status)]);
  const note =
    tl.estimated &&
    html`<p class="note">Start offsets are the sum of the task durations before each state (waits such as the bake are not counted).</p>`;
  return html`<section id="phases"><h2>Phase timeline</h2>${tl.svg}${note}${table(
    'table-phases',
    'Each state of the Migrate workflow as it ran',
    ['State', 'Starts at', 'Duration', 'Result'],
    rows,
    [1, 2],
  )}</section>`;
}

function trafficSection(r: HtmlReportInput): SafeHtml {
  const steps = r.traffic.steps;
  const requests = table(
    'table-traffic',
    'Requests per side in each traffic step; errors with their rate',
    ['Weights old / new (%)', 'Seconds', 'Old requests', 'Old errors', 'New requests', 'New errors'],
    steps.map((s) => [
      stepLabel(s.weights),
      s.seconds.toFixed(1),
      num(s.old.requests),
      errorsCell(s.old),
      num(s.new.requests),
      errorsCell(s.new),
    ]),
    [0, 1, 2, 3, 4, 5],
  );
  const { total, errors, oldErrors, newErrors } = r.requests;
  return html`<section id="traffic"><h2>Traffic</h2><h3>Weights over time</h3>${weightsChart(steps)}
    <h3>Requests and errors per step</h3>${requestsChart(steps)}${requests}<p
    class="note">Totals: ${num(total)} requests, ${num(errors)} failed
    (old side ${num(oldErrors)}, new side ${num(newErrors)}).</p>${latencyPart(steps)}</section>`;
}

function latencyPart(steps: HtmlReportInput['traffic']['steps']): SafeHtml | false {
  const known = steps.some((s) => [s.old.p50, s.old.p99, s.new.p50, s.new.p99].some((v) => typeof v === 'number'));
  if (!known) return false;
  return html`<h3>Latency per step</h3>${latencyChart(steps)}${table(
    'table-latency',
    'Latency percentiles per side in each traffic step ("–": no requests on that side)',
    ['Weights old / new (%)', 'Old p50', 'Old p99', 'New p50', 'New p99'],
    steps.map((s) => [
      stepLabel(s.weights),
      msOrDash(s.old.p50),
      msOrDash(s.old.p99),
      msOrDash(s.new.p50),
      msOrDash(s.new.p99),
    ]),
    [0, 1, 2, 3, 4],
  )}`;
}

function healthGatesSection(r: HtmlReportInput, gates: NonNullable<HtmlReportInput['healthGates']>): SafeHtml {
  const rows = gates.map((g) => {
    const w = g.weights ?? (g.step !== undefined ? r.traffic.steps[g.step]?.weights : undefined);
    const why = g.healthy ? (g.summary ?? '') : g.reasons?.length ? g.reasons.join('; ') : (g.summary ?? '');
    const canary = g.canary ? `${g.canary.verdict}${g.canary.method ? ` (${g.canary.method})` : ''}` : '–';
    const verdict = g.healthy
      ? status('ok', 'healthy')
      : g.needsMoreData
        ? status('warn', 'baking again (too little traffic)')
        : status('bad', 'tripped');
    return [w ? stepLabel(w) : g.step !== undefined ? `step ${g.step + 1}` : '–', verdict, canary, why];
  });
  return html`<section id="health-gates"><h2>Health gates</h2>${table(
    'table-health-gates',
    'The verdict after each bake: alarms (absolute floor) and the canary (new side against old over the same window)',
    ['Weights old / new (%)', 'Verdict', 'Canary', 'Why'],
    rows,
  )}</section>`;
}

function syncLagSection(lag: NonNullable<HtmlReportInput['syncLag']>): SafeHtml {
  const highest = Math.max(...lag.map((s) => s.lagSeconds)).toFixed(2);
  return html`<section id="sync-lag"><h2>Sync lag</h2>${lagChart(lag)}<p class="note">Highest lag: ${highest} s over ${num(lag.length)} samples.</p></section>`;
}

/** A table's result: equal, unreadable, or different (expected when the new side never took over). */
function integrityResult(r: HtmlReportInput, t: HtmlReportInput['integrity']['tables'][number]): SafeHtml {
  if (t.match) return status('ok', 'same rows, same data');
  if (t.sourceRows < 0 || t.targetRows < 0) return status('bad', 'could not be compared');
  if (r.outcome !== 'completed')
    return status('warn', 'differs: expected, the run stopped or rolled back before the new side took over', true);
  return status('bad', t.sourceRows !== t.targetRows ? 'different row counts' : 'same count, different data');
}

function integritySection(r: HtmlReportInput): SafeHtml {
  const rowsText = (n: number) => (n < 0 ? 'unreadable' : num(n));
  const rows = r.integrity.tables.map((t) => [
    t.name,
    rowsText(t.sourceRows),
    rowsText(t.targetRows),
    html`<span class="hash">${t.sourceHash || 'not computed'}</span>`,
    html`<span class="hash">${t.targetHash || 'not computed'}</span>`,
    integrityResult(r, t),
  ]);
  return html`<section id="integrity"><h2>Data integrity</h2><p class="sub">Rows and checksums recomputed at the end in both databases.</p>${table(
    'table-integrity',
    'Each table of the spec: source (old) against target (new)',
    ['Table', 'Source rows', 'Target rows', 'Source checksum', 'Target checksum', 'Result'],
    rows,
    [1, 2],
  )}
${
  r.integrity.writes &&
  html`${writesPart(r.integrity.writes, r.traffic.steps)}
`
}</section>`;
}

/** The clients' ledger: the whole run, then each step. */
function writesPart(
  w: NonNullable<HtmlReportInput['integrity']['writes']>,
  steps: HtmlReportInput['traffic']['steps'],
): SafeHtml {
  const verdict =
    w.lost === 0
      ? status('ok', 'no acknowledged write lost')
      : status('bad', `${num(w.lost)} acknowledged writes lost`);
  const lostCell = (n: number) => (n ? html`<b class="status bad">${num(n)}</b>` : '0');
  const rows = [
    ['whole run', num(w.acknowledged), num(w.present), num(w.superseded), lostCell(w.lost), num(w.conflicts)],
    ...(w.perStep ?? []).map((s) => [
      steps[s.step] ? `step ${stepLabel(steps[s.step].weights)} %` : `step ${s.step + 1}`,
      num(s.acknowledged),
      num(s.present),
      num(s.superseded),
      lostCell(s.lost),
      '–',
    ]),
  ];
  const checkedOn =
    w.checkedOn &&
    html` <span class="note">checked against the ${w.checkedOn} database, which serves 100 % at the end</span>`;
  const lostKeys =
    !!w.lostKeys?.length &&
    html`<p>Lost keys (first ${w.lostKeys.length}): ${w.lostKeys.map((k, i) => html`${i ? ', ' : ''}<code>${k}</code>`)}</p>`;
  return html`<h3 id="writes">Acknowledged writes</h3><p>${verdict}${checkedOn}</p>${table(
    'table-writes',
    "The clients' ledger: every write the app acknowledged, looked up at the end",
    ['Scope', 'Acknowledged', 'Present', 'Superseded', 'Lost', 'Conflicts'],
    rows,
    [1, 2, 3, 4, 5],
  )}<p class="note">Present: the last acknowledged write of a key is in the database. Superseded: a later acknowledged write to the same key
    replaced it. Conflicts: same-row writes on both sides resolved by the sync's rule (later commit wins).</p>${lostKeys}`;
}

function configSection(config: HtmlReportInput['config']): SafeHtml {
  return html`<section id="config"><h2>Config transfer</h2>${table(
    'table-config',
    'Names only, never values',
    ['Kind', 'Target', 'Action'],
    config.map((c) => [c.kind, html`<code>${c.target}</code>`, c.action]),
  )}</section>`;
}

/** The rehearsal report as one self-contained HTML page. */
export function renderHtmlReport(r: HtmlReportInput): string {
  const sections = [
    headerSection(r),
    r.error && errorSection(r.error),
    phasesSection(r),
    r.traffic.steps.length > 0 && trafficSection(r),
    r.healthGates?.length && healthGatesSection(r, r.healthGates),
    r.syncLag?.length && syncLagSection(r.syncLag),
    integritySection(r),
    r.config.length > 0 && configSection(r.config),
  ].filter((s): s is SafeHtml => s instanceof Object);
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${`Switchyard rehearsal: ${OUTCOME_WORDS[r.outcome]}`}</title>
<style>${raw(CSS)}</style>
</head>
<body>
<main>
${sections.map((s, i) => html`${i ? '\n' : ''}${s}`)}
<footer>Generated by Switchyard's local rehearsal (npm run rehearse). Self-contained page: no scripts, no external assets.</footer>
</main>
</body>
</html>
`.value;
}

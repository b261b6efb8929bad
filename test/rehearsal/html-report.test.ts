import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { type HtmlReportInput, renderHtmlReport, tickLabel } from '../../lambda/rehearsal/html-report';
import type { RehearsalReport } from '../../lambda/rehearsal/rehearse';

// Compile-time check: today's RehearsalReport renders as is.
const fromRehearsal = (r: RehearsalReport): HtmlReportInput => r;
void fromRehearsal;

const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium';

const side = (requests: number, errors: number, p50: number | null, p99: number | null) => ({
  requests,
  errors,
  p50,
  p99,
});

/** A rollback at the 50 % step: the health gate tripped on the new side's errors. */
function rolledBack(): HtmlReportInput {
  return {
    outcome: 'rolled-back',
    expected: true,
    error: { name: 'NewSideUnhealthy', cause: 'canary: new error rate 12.5 % > old 0 % + 1 %' },
    wallMs: 18_400,
    rows: 100_000,
    phases: [
      { name: 'Preflight', status: 'ok', ms: 120, startMs: 0 },
      { name: 'Backup', status: 'ok', ms: 300, startMs: 130 },
      { name: 'CopyTable', status: 'ok', ms: 2_400, startMs: 450 },
      { name: 'Validate', status: 'ok', ms: 900, startMs: 2_900 },
      { name: 'SetWeights', status: 'ok', ms: 40, startMs: 3_900 },
      { name: 'HealthGate', status: 'ok', ms: 60, startMs: 5_000 },
      { name: 'RollbackTraffic', status: 'ok', ms: 35, startMs: 7_200 },
      { name: 'Finalize', status: 'failed', ms: 10, startMs: 7_300 },
    ],
    integrity: {
      tables: [
        {
          name: 'chat_sessions',
          sourceRows: 1_000,
          targetRows: 1_000,
          sourceHash: 'a1b2c3d4e5f60718',
          targetHash: 'a1b2c3d4e5f60718',
          match: true,
        },
        {
          name: 'chat_messages',
          sourceRows: 100_000,
          targetRows: 99_998,
          sourceHash: '0f0e0d0c0b0a0908',
          targetHash: '1f1e1d1c1b1a1918',
          match: false,
        },
      ],
      writes: {
        acknowledged: 4_210,
        present: 3_900,
        lost: 0,
        superseded: 310,
        conflicts: 2,
        checkedOn: 'old',
        lostKeys: [],
        perStep: [
          { step: 0, acknowledged: 1_000, present: 930, lost: 0, superseded: 70 },
          { step: 1, acknowledged: 1_500, present: 1_400, lost: 0, superseded: 100 },
          { step: 2, acknowledged: 1_710, present: 1_570, lost: 0, superseded: 140 },
        ],
      },
    },
    traffic: {
      finalWeights: { old: 100, new: 0 },
      rollbackMs: 35,
      steps: [
        { weights: { old: 95, new: 5 }, seconds: 1.2, old: side(1_900, 0, 3, 11), new: side(100, 0, 4, 12) },
        { weights: { old: 75, new: 25 }, seconds: 1.1, old: side(1_500, 0, 3, 10), new: side(500, 3, 4, 15) },
        { weights: { old: 50, new: 50 }, seconds: 1.3, old: side(1_000, 0, 3, 12), new: side(1_000, 125, 6, 48) },
        { weights: { old: 100, new: 0 }, seconds: 2.0, old: side(2_000, 0, 3, 9), new: side(0, 0, null, null) },
      ],
    },
    requests: { total: 8_000, errors: 128, oldErrors: 0, newErrors: 128 },
    config: [{ kind: 'parameter', target: '/chat/rehearsal/new/db/host', action: 'create' }],
    syncLag: [
      { atMs: 3_000, lagSeconds: 0.4, direction: 'forward' },
      { atMs: 4_000, lagSeconds: 0.9, direction: 'forward' },
      { atMs: 5_000, lagSeconds: 0.2, direction: 'forward' },
      { atMs: 4_500, lagSeconds: 0.1, direction: 'reverse' },
      { atMs: 6_500, lagSeconds: 0.3, direction: 'reverse' },
    ],
    healthGates: [
      { step: 0, healthy: true, summary: 'healthy; canary pass (ratio)', canary: { verdict: 'pass', method: 'ratio' } },
      { step: 1, healthy: true, summary: 'healthy; canary pass (ratio)', canary: { verdict: 'pass', method: 'ratio' } },
      {
        step: 2,
        healthy: false,
        reasons: ['canary: new error rate 12.5 % > old 0 % + 1 %'],
        canary: { verdict: 'fail', method: 'ratio' },
      },
    ],
  };
}

/** Today's minimal shape: no ledger, no percentiles, no lag, no gates, no phase offsets. */
function minimal(): HtmlReportInput {
  const r = rolledBack();
  return {
    outcome: 'completed',
    expected: true,
    wallMs: 9_000,
    rows: 100,
    phases: r.phases.map(({ name, ms }) => ({ name, status: 'ok' as const, ms })),
    integrity: { tables: [r.integrity.tables[0]] },
    traffic: {
      finalWeights: { old: 0, new: 100 },
      rollbackMs: null,
      steps: [
        {
          weights: { old: 0, new: 100 },
          seconds: 1,
          old: { requests: 0, errors: 0 },
          new: { requests: 10, errors: 0 },
        },
      ],
    },
    requests: { total: 10, errors: 0, oldErrors: 0, newErrors: 0 },
    config: [],
  };
}

describe('renderHtmlReport (markup)', () => {
  test('GIVEN a rolled-back run WHEN rendered THEN the headline says so in one sentence and the tripped gate shows as tripped', () => {
    const html = renderHtmlReport(rolledBack());
    expect(html).toContain(
      'The migration rolled back to 100 % old in 35 ms after NewSideUnhealthy: canary: new error rate 12.5 % &gt; old 0 % + 1 %; 4,210 acknowledged writes, 0 lost.',
    );
    expect(html).toMatch(/<tr><td>50 \/ 50<\/td><td><span class="status bad">.*tripped<\/span>/);
    expect(html).not.toMatch(/>NO</);
  });

  test('GIVEN a rolled-back run WHEN rendered THEN the tripped HealthGate task is red "tripped", and the row-count difference is marked expected', () => {
    const html = renderHtmlReport(rolledBack());
    expect(html).toMatch(/<tr><td>HealthGate<\/td>.*?<span class="status bad">.*?tripped: roll back<\/span>/);
    expect(html).toContain('class="phase-bar phase-tripped"');
    expect(html).toContain('differs: expected, the run stopped or rolled back before the new side took over');
    expect(html).not.toContain('different row counts');
    const done = renderHtmlReport({ ...rolledBack(), outcome: 'completed' });
    expect(done).toContain('different row counts');
  });

  test('GIVEN sync lag under a second WHEN rendered THEN the axis reads in milliseconds with distinct gridline labels', () => {
    const r = rolledBack();
    r.syncLag = [
      { atMs: 1_000, lagSeconds: 0.0004, direction: 'forward' },
      { atMs: 2_000, lagSeconds: 0.0021, direction: 'forward' },
    ];
    const svg = /<svg id="chart-sync-lag"[\s\S]*?<\/svg>/.exec(renderHtmlReport(r))![0];
    const ticks = [...svg.matchAll(/text-anchor="end" class="tick">([^<]+)</g)].map((m) => m[1]);
    expect(ticks).toEqual(['0 ms', '0.625 ms', '1.25 ms', '1.875 ms', '2.5 ms']);
    expect(tickLabel(0.25, 0.25)).toBe('0.25');
    expect(tickLabel(75, 25)).toBe('75');
  });

  test('GIVEN a table that could not be read WHEN rendered THEN it says so in words, not -1', () => {
    const r = rolledBack();
    r.integrity.tables[1] = {
      name: 'chat_messages',
      sourceRows: -1,
      targetRows: -1,
      sourceHash: '',
      targetHash: '',
      match: false,
    };
    const html = renderHtmlReport(r);
    expect(html).toContain('<td class="num">unreadable</td>');
    expect(html).toContain('could not be compared');
    expect(html).not.toMatch(/<td class="num">-1<\/td>/);
  });

  test('GIVEN strings with markup WHEN rendered THEN every one is escaped', () => {
    const r = rolledBack();
    r.integrity.tables[0].name = '<script>alert(1)</script>';
    r.error = { name: 'X"><img src=x>', cause: "it's <b>" };
    r.config = [{ kind: 'secret', target: 'a&b', action: '<create>' }];
    const html = renderHtmlReport(r);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('X&quot;&gt;&lt;img src=x&gt;');
    expect(html).toContain('a&amp;b');
  });

  test('GIVEN a report without the optional data WHEN rendered THEN those sections are left out and the rest renders', () => {
    const html = renderHtmlReport(minimal());
    for (const id of ['health-gates', 'sync-lag', 'writes', 'table-latency', 'chart-latency', 'error', 'config'])
      expect(html).not.toContain(`id="${id}"`);
    for (const id of ['chart-phases', 'chart-weights', 'chart-requests', 'table-integrity'])
      expect(html).toContain(`id="${id}"`);
    expect(html).toContain('sum of the task durations');
    expect(html).toContain('The migration completed: the new side serves 100 % of traffic, every table matches.');
  });

  test('GIVEN any report WHEN rendered THEN the page references no external asset and runs no script', () => {
    const html = renderHtmlReport(rolledBack());
    expect(html).not.toMatch(/<script|<link|<img|\bsrc=|\bhref=|url\(|@import/i);
  });
});

const INSTALL_CHROMIUM =
  'apt-get update && apt-get install -y --no-install-recommends chromium (as root), or set SWITCHYARD_CHROMIUM';
/** Without Chromium this suite reports itself skipped with the install line; CI (.ci/run) sets SWITCHYARD_REQUIRE_CHROMIUM so it never skips. */
const browserAvailable = fs.existsSync(CHROMIUM) || !!process.env.SWITCHYARD_REQUIRE_CHROMIUM;
if (!browserAvailable)
  console.warn(
    `SKIPPED: renderHtmlReport in headless Chromium: no Chromium at ${CHROMIUM}; to run it: ${INSTALL_CHROMIUM}`,
  );

(browserAvailable ? describe : describe.skip)(
  browserAvailable
    ? 'renderHtmlReport in headless Chromium'
    : `renderHtmlReport in headless Chromium (SKIPPED: no Chromium at ${CHROMIUM}; install: ${INSTALL_CHROMIUM})`,
  () => {
    let browser: Browser;
    let dir: string;

    beforeAll(async () => {
      if (!fs.existsSync(CHROMIUM)) {
        throw new Error(
          `Chromium not found at ${CHROMIUM}: run the install step of .ci/run as root (apt-get update && apt-get install -y --no-install-recommends chromium), or set SWITCHYARD_CHROMIUM to a Chromium binary, then rerun`,
        );
      }
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-html-'));
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        // Playwright gives the browser its own throw-away profile (its --user-data-dir) and runs it headless.
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
        timeout: 8_000,
      });
    }, 10_000);

    afterAll(async () => {
      await browser?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    test('GIVEN the report file WHEN Chromium opens it THEN every chart and table renders with a size, and nothing else is fetched', async () => {
      const file = path.join(dir, 'report.html');
      fs.writeFileSync(file, renderHtmlReport(rolledBack()));
      const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
      const requests: string[] = [];
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 5_000 });
      const seen = await page.evaluate(() => {
        // Runs in the page; the project compiles without DOM types, so the few used are declared here.
        type El = {
          id: string;
          textContent: string | null;
          getBoundingClientRect(): { width: number; height: number };
          querySelectorAll(s: string): ArrayLike<El> & Iterable<El>;
        };
        const g = globalThis as unknown as {
          document: El & { querySelector(s: string): El | null };
          getComputedStyle(e: El): { color: string };
        };
        const doc = g.document;
        const box = (el: El) => {
          const r = el.getBoundingClientRect();
          return { w: Math.round(r.width), h: Math.round(r.height) };
        };
        const charts = Object.fromEntries(
          [...doc.querySelectorAll('svg.chart')].map((s) => [
            s.id,
            { ...box(s), marks: s.querySelectorAll('path, rect, circle').length },
          ]),
        );
        const tables = Object.fromEntries(
          [...doc.querySelectorAll('table')].map((t) => [
            t.id,
            { ...box(t), rows: t.querySelectorAll('tbody tr').length },
          ]),
        );
        const main = box(doc.querySelector('main')!);
        const gate = doc.querySelector('#table-health-gates tbody tr:nth-child(3)')?.textContent ?? '';
        const trippedColor = g.getComputedStyle(
          doc.querySelector('#table-health-gates tbody tr:nth-child(3) .status')!,
        ).color;
        return {
          charts,
          tables,
          main,
          gate,
          trippedColor,
          headline: doc.querySelector('#headline')?.textContent ?? '',
        };
      });
      for (const id of ['chart-phases', 'chart-weights', 'chart-requests', 'chart-latency', 'chart-sync-lag']) {
        expect(seen.charts[id]).toBeDefined();
        expect(seen.charts[id].w).toBeGreaterThan(300);
        expect(seen.charts[id].h).toBeGreaterThan(100);
        expect(seen.charts[id].marks).toBeGreaterThanOrEqual(2);
      }
      expect(seen.tables['table-phases'].rows).toBe(8);
      expect(seen.tables['table-traffic'].rows).toBe(4);
      expect(seen.tables['table-latency'].rows).toBe(4);
      expect(seen.tables['table-integrity'].rows).toBe(2);
      expect(seen.tables['table-writes'].rows).toBe(4);
      expect(seen.tables['table-health-gates'].rows).toBe(3);
      for (const t of Object.values(seen.tables)) expect(t.w * t.h).toBeGreaterThan(0);
      expect(seen.main.w).toBeLessThanOrEqual(960);
      expect(seen.gate).toContain('tripped');
      expect(seen.trippedColor).toBe('rgb(220, 38, 38)');
      expect(seen.headline).toMatch(/^The migration rolled back to 100 % old/);
      expect(requests).toEqual([pathToFileURL(file).href]);
      // SWITCHYARD_SCREENSHOT_DIR=<dir> keeps the page and its screenshot for a look.
      const png = path.join(process.env.SWITCHYARD_SCREENSHOT_DIR ?? dir, 'rehearsal-report.png');
      if (process.env.SWITCHYARD_SCREENSHOT_DIR)
        fs.copyFileSync(file, path.join(process.env.SWITCHYARD_SCREENSHOT_DIR, 'rehearsal-report.html'));
      await page.screenshot({ path: png, fullPage: true });
      const header = fs.readFileSync(png);
      expect(header.subarray(1, 4).toString()).toBe('PNG');
      expect(header.readUInt32BE(16)).toBe(1366);
      expect(header.readUInt32BE(20)).toBeGreaterThan(1500);
    }, 10_000);

    test('GIVEN a rolled-back run at 1400 px WHEN Chromium lays it out THEN no table is cut: every result column fits its box', async () => {
      const file = path.join(dir, 'wide.html');
      fs.writeFileSync(file, renderHtmlReport(rolledBack()));
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 5_000 });
      const cut = await page.evaluate(() => {
        type Box = { right: number };
        type El = {
          id: string;
          scrollWidth: number;
          clientWidth: number;
          getBoundingClientRect(): Box;
          querySelector(s: string): El | null;
        };
        const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<El> } }).document;
        return [...doc.querySelectorAll('.scroll')]
          .map((s) => {
            const t = s.querySelector('table')!;
            const last = t.querySelector('tbody tr td:last-child');
            const right = last ? last.getBoundingClientRect().right : 0;
            return { id: t.id, overflow: s.scrollWidth - s.clientWidth, past: right - s.getBoundingClientRect().right };
          })
          .filter((x) => x.overflow > 0 || x.past > 0.5);
      });
      expect(cut).toEqual([]);
    }, 10_000);
  },
);

// The browser suite's checks: opens each run directory's report.html in headless Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core) and checks, against the run's own
// files, that the page shows what the run observed:
//   - no script error, no console error, no request but the page itself;
//   - the timeline holds every event of events.jsonl: per lane, its marks plus the counts of
//     its bars equal the lane's events; the table's rows plus its gaps equal them too;
//   - each resource chart has one line per process with every row of samples.csv;
//   - the flow-control windows: a chart per leg, connection and owner of frames.jsonl's window
//     changes, each drawn line with its series' every change as a step at its run time and
//     value, a band at 0 for each stretch its window stayed at or below 0, and each
//     window_exhausted finding marked on its window's chart; without frames.jsonl the section
//     says why;
//   - the verdict table has a row per expectation of report.json, held as it says; each thread
//     dump shows as many folded threads as report.json counts;
//   - clicking a mark keeps its attributes in the panel and selects its row; the filter hides
//     rows; a drag zooms every chart to that stretch of time and a double-click undoes it;
//     a status message of markup stays text (window.pwned never set);
//   - without JavaScript the page still has every mark with its <title> tooltip.
// Saves a full-page screenshot of each report as SHOTS/NAME.png.
//   usage: node check.mjs CHROMIUM SHOTS RUNDIR...
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [executablePath, shots, ...dirs] = process.argv.slice(2);
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let passed = 0, failed = 0;

function laneOf(e) {
  if (e.event === 'fault' || e.event === 'fire') return 'runner';
  return { client: 'client', server: 'server', proxy: 'wire' }[e.side] || 'runner';
}

function readEvents(dir) {
  const lines = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').split('\n').filter(l => l);
  const byLane = { client: 0, wire: 0, server: 0, runner: 0 };
  for (const l of lines) byLane[laneOf(JSON.parse(l))]++;
  return { total: lines.length, byLane };
}

function readSamples(dir) {
  const rows = fs.readFileSync(path.join(dir, 'samples.csv'), 'utf8').split('\n').filter(l => l);
  const side = rows[0].split(',').indexOf('side');
  const bySide = {};
  for (const r of rows.slice(1)) { const s = r.split(',')[side]; bySide[s] = (bySide[s] || 0) + 1; }
  return bySide;
}

// frames.jsonl's window changes, as report.html's windows charts should hold them: per leg and
// connection (sorted, at most CONNS_MAX as the page caps them) and owner, each stream's changes
// in run time (start_ms + 1000 * t); the capture's end; which frame emptied which windows.
const CONNS_MAX = 8, STREAMS_MAX = 16, ZEROS_MAX = 50;
// Runs whose window must reach 0 (the scenario's point): owner and stream (null: any) of a band
// the page must draw, whatever frames.jsonl says. With every WINDOW_UPDATE withheld, whether the
// stream's window or the connection's runs out first depends on timing.
const REACHES_ZERO = { 'send-blocked-reader-stopped': ['server', 1], 'window-update-withheld': ['server', null] };

function readWindows(dir, report) {
  const name = report.frames && report.frames.json_file;
  if (!name || !fs.existsSync(path.join(dir, name))) return null;
  const start = report.frames.start_ms || 0;
  const series = new Map(), frames = new Map();
  let tCap = 0, changes = 0;
  for (const l of fs.readFileSync(path.join(dir, name), 'utf8').split('\n')) {
    if (!l) continue;
    const o = JSON.parse(l), t = start + 1000 * o.t;
    if (typeof o.t === 'number' && t > tCap) tCap = t;
    if (!Array.isArray(o.windows)) continue;
    frames.set(o.frame, { leg: o.leg, conn: o.conn, emptied: o.windows.filter(w => w.window <= 0).map(w => w.owner) });
    for (const w of o.windows) {
      const key = `${o.leg}/${o.conn}/${w.owner}/${w.stream}`;
      if (!series.has(key)) series.set(key, { leg: o.leg, conn: o.conn, owner: w.owner, stream: w.stream, v: [] });
      series.get(key).v.push({ t, window: w.window, delta: w.delta, cause: w.cause });
      changes++;
    }
  }
  return { series: [...series.values()], frames, tCap, changes };
}

// A window's stretches at or below 0: until a change lifts it, its stream closes, or the
// capture ends.
function zeroStretches(v, tCap) {
  const out = [];
  let since = null;
  for (const c of v) {
    if (since !== null && (c.window > 0 || c.cause === 'close')) { out.push([since, c.t]); since = null; }
    if (since === null && c.window <= 0 && c.cause !== 'close') since = c.t;
  }
  if (since !== null) out.push([since, Math.max(tCap, since)]);
  return out;
}

// The step line of a series: its value before the first change (unless the stream opened
// there), then at each change the old value and the new one, held to the capture's end unless
// the stream closed.
function stepPoints(v, tCap, chart) {
  const x = t => chart.x0 + (chart.x1 - chart.x0) * t / chart.T;
  const y = w => chart.bottom - (chart.bottom - chart.top) * (w / chart.div - chart.yLo) / (chart.yHi - chart.yLo);
  const pts = [];
  if (v[0].cause !== 'open') pts.push([x(v[0].t), y(v[0].window - v[0].delta)]);
  v.forEach((c, i) => {
    if (i > 0) pts.push([x(c.t), y(v[i - 1].window)]);
    pts.push([x(c.t), y(c.window)]);
  });
  const last = v[v.length - 1];
  if (last.cause !== 'close' && tCap > last.t) pts.push([x(tCap), y(last.window)]);
  return pts;
}

function checkWindows(seen, win, report, want) {
  if (!win) {
    want(seen.charts.length === 0 && seen.why.length > 0,
      `no frames.jsonl, yet the windows section has ${seen.charts.length} charts and says "${seen.why}"`);
    return { changes: 0, zeros: 0, marks: 0 };
  }
  const conns = [...new Set(win.series.map(s => `${s.leg}/${s.conn}`))]
    .map(k => k.split('/').map(Number)).sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, CONNS_MAX);
  let zeros = 0, marks = 0, drawnChanges = 0;
  for (const [leg, conn] of conns) {
    for (const owner of ['client', 'server']) {
      const mine = win.series.filter(s => s.leg === leg && s.conn === conn && s.owner === owner);
      if (!mine.length) continue;
      const what = `leg ${leg} conn ${conn} ${owner}`;
      const chart = seen.charts.find(c => c.leg === leg && c.conn === conn && c.owner === owner);
      if (!chart) { want(false, `${what}: no windows chart for its ${mine.length} series`); continue; }
      const streams = mine.filter(s => s.stream !== 0).length, hasConn = mine.length > streams;
      want(chart.series === mine.length, `${what}: the chart says ${chart.series} series, frames.jsonl has ${mine.length}`);
      want(chart.shown === Math.min(streams, STREAMS_MAX) + hasConn,
        `${what}: ${chart.shown} lines for ${streams} streams${hasConn ? ' and the connection' : ''}`);
      want(chart.lines.length === chart.shown, `${what}: ${chart.lines.length} lines drawn, the chart says ${chart.shown}`);
      if (streams > STREAMS_MAX) want(chart.capped, `${what}: ${streams} streams and no word that some are left out`);
      for (const line of chart.lines) {
        const s = mine.find(m => m.stream === line.stream);
        if (!s) { want(false, `${what}: a line for stream ${line.stream}, which frames.jsonl lacks`); continue; }
        const min = Math.min(...s.v.map(c => c.window));
        want(line.changes === s.v.length && line.min === min,
          `${what} stream ${s.stream}: the line has ${line.changes} changes (lowest ${line.min}), frames.jsonl ${s.v.length} (lowest ${min})`);
        if (line.drawn === s.v.length) {
          drawnChanges += s.v.length;
          const pts = stepPoints(s.v, win.tCap, chart);
          // (written so that a NaN, an attribute missing, fails)
          const off = pts.findIndex((p, i) => !line.points[i] ||
            !(Math.abs(p[0] - line.points[i][0]) <= 0.02 && Math.abs(p[1] - line.points[i][1]) <= 0.02));
          want(pts.length === line.points.length && off < 0,
            `${what} stream ${s.stream}: ${line.points.length} points drawn, ${pts.length} expected; ` +
            (off >= 0 ? `point ${off} is ${line.points[off]}, expected ${pts[off].map(n => n.toFixed(2))}` : ''));
        }
        const want0 = zeroStretches(s.v, win.tCap).slice(0, ZEROS_MAX);
        const bands = chart.zeros.filter(z => z.stream === s.stream);
        zeros += bands.length;
        want(bands.length === want0.length && want0.every((z, i) =>
          Math.abs(bands[i].t0 - z[0]) < 0.002 && Math.abs(bands[i].t1 - z[1]) < 0.002),
          `${what} stream ${s.stream}: bands at 0 ${JSON.stringify(bands.map(b => [b.t0, b.t1]))}, ` +
          `frames.jsonl has ${JSON.stringify(want0.map(z => z.map(t => +t.toFixed(3))))}`);
      }
    }
  }
  for (const f of (report.findings || []).filter(f => f.kind === 'window_exhausted')) {
    const fr = win.frames.get(f.frame);
    if (!fr || !conns.some(([l, c]) => l === fr.leg && c === fr.conn)) continue;
    for (const owner of new Set(fr.emptied)) {
      const chart = seen.charts.find(c => c.leg === fr.leg && c.conn === fr.conn && c.owner === owner);
      const m = chart && chart.marks.find(m => m.frame === f.frame && Math.abs(m.t - f.at_ms) < 0.002);
      want(m, `the window_exhausted finding of frame ${f.frame} at ${f.at_ms} ms is not marked on the ${owner}'s chart`);
      if (m) marks++;
    }
  }
  return { changes: win.changes, drawnChanges, zeros, marks };
}

async function open(context, file, problems) {
  const page = await context.newPage();
  page.on('pageerror', e => problems.push(`script error: ${e.message}`));
  page.on('console', m => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('request', r => { if (r.url() !== file) problems.push(`request for ${r.url()}`); });
  await page.goto(file, { waitUntil: 'load' });
  return page;
}

async function checkReport(context, dir) {
  const name = path.basename(dir);
  const file = pathToFileURL(path.join(dir, 'report.html')).href;
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8'));
  const events = readEvents(dir), samples = readSamples(dir);
  const problems = [];
  const want = (ok, what) => { if (!ok) problems.push(what); };
  const page = await open(context, file, problems);

  const seen = await page.evaluate(() => {
    const svg = document.getElementById('timeline');
    const num = (el, a) => Number(el.getAttribute(a));
    return {
      badge: document.getElementById('verdict').textContent,
      scripts: document.scripts.length,
      pwned: window.pwned === undefined ? null : window.pwned,
      events: num(svg, 'data-events'),
      drawn: num(svg, 'data-drawn'),
      marks: svg.querySelectorAll('.ev').length,
      untitled: [...svg.querySelectorAll('.ev, .bin')].filter(e => !e.querySelector('title')).length,
      lanes: [...svg.querySelectorAll('g.lane')].map(g => ({
        lane: g.dataset.lane, events: num(g, 'data-events'), marks: g.querySelectorAll('.ev').length,
        binned: [...g.querySelectorAll('.bin')].reduce((s, b) => s + num(b, 'data-n'), 0),
      })),
      rows: document.querySelectorAll('table.events tr[data-i]').length,
      gaps: [...document.querySelectorAll('table.events tr.gap')].reduce((s, r) => s + num(r, 'data-n'), 0),
      series: [...document.querySelectorAll('svg.samples polyline.series')].map(p => ({
        metric: p.closest('svg').dataset.metric, side: p.dataset.side, n: num(p, 'data-points'),
        points: p.getAttribute('points').trim().split(/\s+/).filter(x => x).length,
      })),
      clauses: [...document.querySelectorAll('table.verdict tr.clause')].map(r => r.classList.contains('held')),
      dumps: [...document.querySelectorAll('article.dump')].map(a => ({
        threads: num(a, 'data-threads'), folded: a.querySelectorAll('details.thread').length,
      })),
      windows: {
        why: [...document.querySelectorAll('#windows p.none, #windows p.warn')].map(p => p.textContent).join(' '),
        charts: [...document.querySelectorAll('#windows svg.windows')].map(c => {
          const d = k => Number(c.dataset[k]);
          return {
            leg: d('leg'), conn: d('conn'), owner: c.dataset.owner, series: d('series'), shown: d('shown'),
            T: d('tEnd'), x0: d('x0'), x1: d('x1'), yLo: d('yLo'), yHi: d('yHi'), top: d('top'),
            bottom: d('bottom'), div: d('div'),
            capped: !!c.closest('figure').nextElementSibling?.classList.contains('cap'),
            lines: [...c.querySelectorAll('polyline.series')].map(p => ({
              stream: num(p, 'data-stream'), changes: num(p, 'data-changes'), drawn: num(p, 'data-drawn'),
              min: num(p, 'data-min'),
              points: p.getAttribute('points').trim().split(/\s+/).map(xy => xy.split(',').map(Number)),
            })),
            zeros: [...c.querySelectorAll('rect.zero')].map(r => ({
              stream: num(r, 'data-stream'), t0: num(r, 'data-t0'), t1: num(r, 'data-t1'),
            })),
            marks: [...c.querySelectorAll('g.finding-mark')].map(g => ({ t: num(g, 'data-t'), frame: num(g, 'data-frame') })),
          };
        }),
      },
    };
  });

  want(seen.badge === report.verdict, `verdict badge "${seen.badge}", report.json says "${report.verdict}"`);
  want(seen.scripts === 1, `${seen.scripts} <script> elements, wanted only the page's own`);
  want(seen.pwned === null, `a status message ran as script (window.pwned = ${seen.pwned})`);
  want(seen.events === events.total, `timeline says ${seen.events} events, events.jsonl has ${events.total}`);
  want(seen.marks === seen.drawn, `${seen.marks} marks drawn, the timeline says ${seen.drawn}`);
  want(seen.untitled === 0, `${seen.untitled} marks or bars without a <title>`);
  for (const l of seen.lanes) {
    want(l.events === events.byLane[l.lane],
      `lane ${l.lane}: says ${l.events} events, events.jsonl has ${events.byLane[l.lane]}`);
    want(l.marks + l.binned === events.byLane[l.lane],
      `lane ${l.lane}: ${l.marks} marks + ${l.binned} in bars != ${events.byLane[l.lane]} events`);
  }
  want(seen.lanes.length === 4, `${seen.lanes.length} lanes, wanted 4`);
  want(seen.rows + seen.gaps === events.total,
    `event table: ${seen.rows} rows + ${seen.gaps} in gaps != ${events.total} events`);
  for (const metric of ['rss_kib', 'threads']) {
    for (const [side, n] of Object.entries(samples)) {
      const s = seen.series.find(x => x.metric === metric && x.side === side);
      want(s && s.n === n && s.points === n,
        `${metric} chart: ${side} has ${s ? `${s.n} (${s.points} points)` : 'no line'}, samples.csv has ${n}`);
    }
  }
  want(seen.clauses.length === report.expectations.length,
    `${seen.clauses.length} verdict rows, report.json has ${report.expectations.length} expectations`);
  report.expectations.forEach((e, i) =>
    want(seen.clauses[i] === e.held, `clause ${i + 1} shown held=${seen.clauses[i]}, report.json says ${e.held}`));
  const windows = checkWindows(seen.windows, readWindows(dir, report), report, want);
  if (REACHES_ZERO[name]) {
    const [owner, stream] = REACHES_ZERO[name];
    const bands = seen.windows.charts.filter(c => c.owner === owner)
      .flatMap(c => c.zeros.filter(z => stream === null || z.stream === stream));
    want(bands.length > 0 && windows.marks > 0,
      `the ${owner}'s window${stream === null ? 's' : ` on stream ${stream}`} should reach 0: ` +
      `${bands.length} bands at 0, ${windows.marks} findings marked`);
  }
  want(seen.dumps.length === (report.thread_dumps || []).length, `${seen.dumps.length} dumps shown`);
  for (const d of seen.dumps)
    want(d.folded === d.threads, `a dump of ${d.threads} threads shows ${d.folded} folded threads`);

  // Interaction: a mark keeps its attributes in the panel and selects its row.
  const mark = page.locator('#timeline .ev').first();
  if (await mark.count()) {
    const wasOpen = await page.evaluate(() => {
      const d = document.querySelector('details.events'), open = d.open;
      d.open = true;
      return open;
    });
    const title = (await mark.locator('title').textContent()).split('\n')[0];
    await mark.dispatchEvent('click');
    const detail = await page.locator('#ev-detail').textContent();
    want(detail.startsWith(title), `clicking a mark shows "${detail.slice(0, 60)}", wanted "${title}"`);
    const i = await mark.getAttribute('data-i');
    const row = page.locator(`#ev-${i}`);
    if (await row.count())
      want((await row.getAttribute('class')).includes('sel'), `the mark's row ev-${i} is not selected`);
    const word = title.split(' \u00b7 ').pop(); // the mark's event name
    await page.fill('#ev-filter', word);
    const shown = await page.evaluate(() => [...document.querySelectorAll('table.events tbody tr')]
      .filter(r => !r.hidden).map(r => r.textContent.toLowerCase()));
    want(shown.length > 0 && shown.every(t => t.includes(word)),
      `filter "${word}" leaves ${shown.length} rows, some without it`);
    await page.fill('#ev-filter', '');
    // The screenshot shows the page as it opens, with the click's selection kept.
    await page.evaluate(open => { document.querySelector('details.events').open = open; }, wasOpen);
  }
  // Zoom: a drag across the middle fifth of the timeline shows that stretch in every chart;
  // marks inside it land inside the plot, marks before it to its left; a double-click undoes it.
  const box = await page.locator('#timeline').boundingBox();
  const y = box.y + box.height * 0.3;
  await page.mouse.move(box.x + box.width * 0.4, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, y, { steps: 4 });
  await page.mouse.up();
  const zoomed = await page.evaluate(() => {
    const svg = document.getElementById('timeline'), r = svg.getBoundingClientRect();
    const unit = r.width / svg.viewBox.baseVal.width;
    const x0 = r.left + Number(svg.dataset.x0) * unit, x1 = r.left + Number(svg.dataset.x1) * unit;
    const z = (svg.dataset.zoom || '').split(',').map(Number);
    let inside = 0, misplaced = 0;
    for (const m of svg.querySelectorAll('.ev')) {
      const t = Number(m.dataset.t), b = m.getBoundingClientRect(), c = (b.left + b.right) / 2;
      if (t >= z[0] && t <= z[1]) { inside++; if (c < x0 - 8 || c > x1 + 8) misplaced++; }
      if (t < z[0] - (z[1] - z[0]) * 0.05 && c > x0) misplaced++;
    }
    // The windows charts' bands at 0 are stretched to their times in the zoomed axis.
    let bands = 0;
    for (const c of document.querySelectorAll('svg.windows')) {
      const x0 = Number(c.dataset.x0), w = Number(c.dataset.x1) - x0, x = t => x0 + w * (t - z[0]) / (z[1] - z[0]);
      for (const r of c.querySelectorAll('rect.zero')) {
        const u0 = x(Number(r.dataset.t0)), u1 = x(Number(r.dataset.t1));
        if (!(Math.abs(Number(r.getAttribute('x')) - u0) <= 0.02 &&
          Math.abs(Number(r.getAttribute('width')) - Math.max(u1 - u0, 0.5)) <= 0.02)) bands++;
      }
    }
    return { z, inside, misplaced, bands,
      charts: [...document.querySelectorAll('svg.chart')].map(s => s.dataset.zoom || null) };
  });
  want(zoomed.z.length === 2 && zoomed.z[0] > 0 && zoomed.z[1] > zoomed.z[0],
    `a drag across the timeline did not zoom (data-zoom ${zoomed.z})`);
  want(zoomed.charts.every(z => z === zoomed.charts[0]), `the charts did not follow the zoom: ${zoomed.charts}`);
  want(zoomed.misplaced === 0, `${zoomed.misplaced} marks are drawn outside their time after the zoom`);
  want(zoomed.bands === 0, `${zoomed.bands} bands at 0 of the windows charts are not at their time after the zoom`);
  await page.locator('#timeline').dblclick({ position: { x: box.width * 0.5, y: box.height * 0.3 } });
  const after = await page.evaluate(() => [...document.querySelectorAll('svg.chart')].filter(s => s.dataset.zoom).length);
  want(after === 0, `a double-click left ${after} charts zoomed`);

  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  await page.close();
  report_(name, problems,
    `${events.total} events (${seen.drawn} marks), ${Object.values(samples).reduce((a, b) => a + b, 0)} samples, ` +
    `${seen.clauses.length} clauses, ${seen.dumps.length} dumps, ` +
    `${windows.changes} window changes (${windows.drawnChanges || 0} checked point by point, ` +
    `${windows.zeros} bands at 0, ${windows.marks} findings marked)`);
}

// The page without JavaScript: every mark is there with its tooltip, the table is there.
async function checkNoScript(context, dir) {
  const name = path.basename(dir);
  const file = pathToFileURL(path.join(dir, 'report.html')).href;
  const events = readEvents(dir);
  const problems = [];
  const page = await open(context, file, problems);
  const n = await page.locator('#timeline .ev title, #timeline .bin title').count();
  const rows = await page.locator('table.events tr[data-i]').count();
  if (n === 0 || rows === 0) problems.push(`without JavaScript: ${n} tooltips, ${rows} rows`);
  if (events.total === 0) problems.push('no events');
  await page.close();
  report_(`${name} without JavaScript`, problems, `${n} marks and bars with tooltips, ${rows} rows`);
}

function report_(what, problems, summary) {
  if (problems.length) {
    failed++;
    console.log(`FAIL ${what}`);
    for (const p of problems) console.log(`    ${p}`);
  } else {
    passed++;
    console.log(`ok   ${what}: ${summary}`);
  }
}

async function withBrowser(options, fn) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath, args, headless: true, viewport: { width: 1280, height: 900 }, ...options,
    });
    await fn(context);
  } finally {
    if (context) await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

fs.mkdirSync(shots, { recursive: true });
try {
  await withBrowser({}, async context => { for (const d of dirs) await checkReport(context, d); });
  await withBrowser({ javaScriptEnabled: false }, async context => checkNoScript(context, dirs[0]));
} catch (e) {
  failed++;
  console.log(`FAIL the browser: ${e.message}`);
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

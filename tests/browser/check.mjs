// The browser suite's checks: opens each run directory's report.html in headless Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core) and checks, against the run's own
// files, that the page shows what the run observed:
//   - no script error, no console error, no request but the page itself;
//   - the timeline holds every event of events.jsonl: per lane, its marks plus the counts of
//     its bars equal the lane's events; the table's rows plus its gaps equal them too;
//   - each resource chart has one line per process with every row of samples.csv;
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
    return { z, inside, misplaced,
      charts: [...document.querySelectorAll('svg.chart')].map(s => s.dataset.zoom || null) };
  });
  want(zoomed.z.length === 2 && zoomed.z[0] > 0 && zoomed.z[1] > zoomed.z[0],
    `a drag across the timeline did not zoom (data-zoom ${zoomed.z})`);
  want(zoomed.charts.every(z => z === zoomed.charts[0]), `the charts did not follow the zoom: ${zoomed.charts}`);
  want(zoomed.misplaced === 0, `${zoomed.misplaced} marks are drawn outside their time after the zoom`);
  await page.locator('#timeline').dblclick({ position: { x: box.width * 0.5, y: box.height * 0.3 } });
  const after = await page.evaluate(() => [...document.querySelectorAll('svg.chart')].filter(s => s.dataset.zoom).length);
  want(after === 0, `a double-click left ${after} charts zoomed`);

  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  await page.close();
  report_(name, problems,
    `${events.total} events (${seen.drawn} marks), ${Object.values(samples).reduce((a, b) => a + b, 0)} samples, ` +
    `${seen.clauses.length} clauses, ${seen.dumps.length} dumps`);
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

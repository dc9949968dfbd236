// The README's picture of a report: the top of a run's report.html (verdict, timeline zoomed
// out, processes, RSS and threads), at half scale. Not part of the suite; run by hand after the
// browser suite has installed playwright-core (node finds it beside the script, so copy it there):
//   cp SOURCE/tests/browser/readme-shot.mjs BUILD/tests/browser/npm/ && cd BUILD/tests/browser/npm &&
//   node readme-shot.mjs /usr/bin/chromium \
//     BUILD/tests/browser/runs/unread-stream-memory-growth SOURCE/docs/report-html.png
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [executablePath, dir, out] = process.argv.slice(2);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath, headless: true, viewport: { width: 1280, height: 900 }, deviceScaleFactor: 0.6,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await context.newPage();
  await page.goto(pathToFileURL(path.join(dir, 'report.html')).href);
  const end = await page.evaluate(() => {
    const charts = document.querySelectorAll('svg.samples');
    return charts[charts.length - 1].getBoundingClientRect().bottom + window.scrollY + 16;
  });
  await page.screenshot({ path: out, fullPage: true, clip: { x: 0, y: 0, width: 1280, height: end } });
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}

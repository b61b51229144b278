// The gallery's first paint, measured once in a real Chromium.
//
//   MICROGO_BASE_URL=http://127.0.0.1:5000 MICROGO_USER=Rex \
//   MICROGO_PASSWORD='Rex siu super' node bench/gallery_paint.mjs
//
// bench/gallery_paint.py starts the stack, uploads the images and runs this
// once per run. It opens the page in headless Debian Chromium (the flags of
// tests/browser/gallery.test.mjs, a fresh user-data-dir: nothing cached),
// logs in through the form, and waits until the first page of cards is
// shown with every preview decoded (naturalWidth > 0 for every card <img>).
// It prints one line of JSON:
//
//   ms_click:    from the click on "Log in" to the last preview decoded
//   ms_nav:      from the navigation's start to the same moment (the page's
//                load, the automated typing, the login and the grid)
//   cards, in_viewport: cards of the first page, and how many of them are
//                within the 1280x800 viewport
//   bytes_rt:    bytes transferred per the Resource Timing API: the
//                navigation's and every resource's transferSize (headers and
//                encoded body), up to that moment
//   bytes_cdp:   the same counted by CDP (Network.loadingFinished's
//                encodedDataLength), a cross-check
//   requests:    resources fetched (the navigation included)
//
// playwright-core is tests/browser's (npm ci there), imported by path.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PW = path.join(HERE, '..', 'tests', 'browser', 'node_modules', 'playwright-core', 'index.mjs');
const { chromium } = await import(PW);

const BASE = (process.env.MICROGO_BASE_URL || 'http://127.0.0.1:5000').replace(/\/$/, '');
const USER = process.env.MICROGO_USER || 'Rex';
const PASSWORD = process.env.MICROGO_PASSWORD || 'Rex siu super';
const TIMEOUT = 60000; // ms for the whole first paint

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'microgo-chromium-'));
let context;
let result;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(TIMEOUT);
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  // CDP's count of the bytes received, per request, until the moment measured.
  const cdp = await context.newCDPSession(page);
  const cdpBytes = new Map();
  cdp.on('Network.loadingFinished', (e) => cdpBytes.set(e.requestId, e.encodedDataLength));
  await cdp.send('Network.enable');

  await page.goto(BASE + '/', { waitUntil: 'load' });
  await page.locator('#login-form').waitFor({ state: 'visible' });
  await page.fill('#username', USER);
  await page.fill('#password', PASSWORD);
  // The click's moment, in the page's clock, just before it.
  await page.evaluate(() => { window.__mgClick = performance.now(); });
  await page.click('#login-button');
  // The first page is in when the listing has been handled (Load more shown
  // or not, the grid not empty); it is painted when every preview decoded.
  const done = await page.waitForFunction(() => {
    const imgs = [...document.querySelectorAll('#cards > li img')];
    const listed = imgs.length > 0 && !document.getElementById('gallery').hidden;
    if (!listed || !imgs.every((i) => i.complete && i.naturalWidth > 0)) return false;
    return performance.now();
  }, null, { polling: 'raf', timeout: TIMEOUT });
  const tDone = await done.jsonValue();
  const cdpSnapshot = [...cdpBytes.values()].reduce((a, b) => a + b, 0);
  const m = await page.evaluate((t) => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource').filter((r) => r.responseEnd <= t);
    const imgs = [...document.querySelectorAll('#cards > li img')];
    return {
      ms_click: t - window.__mgClick,
      ms_nav: t - nav.startTime,
      cards: imgs.length,
      in_viewport: imgs.filter((i) => {
        const r = i.getBoundingClientRect();
        return r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
      }).length,
      bytes_rt: nav.transferSize + res.reduce((a, r) => a + r.transferSize, 0),
      body_bytes_rt: nav.encodedBodySize + res.reduce((a, r) => a + r.encodedBodySize, 0),
      requests: 1 + res.length,
      previews: res.filter((r) => r.name.endsWith('/preview')).length,
      more_shown: !document.getElementById('more').hidden,
    };
  }, tDone);
  result = { ok: errors.length === 0, ...m, bytes_cdp: cdpSnapshot, errors };
} catch (e) {
  result = { ok: false, errors: [String(e && e.message || e)] };
} finally {
  if (context) await context.close().catch(() => {});
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);

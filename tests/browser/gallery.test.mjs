// microgo's web page in a real Chromium, driven by playwright-core.
//
//   MICROGO_BASE_URL=http://127.0.0.1:5000 MICROGO_FIXTURES=dir \
//   MICROGO_SCREENSHOTS=dir node gallery.test.mjs
//
// run_with_stack.py sets all three: a fresh stack (seed users Rex and Mập,
// no images) and the images it made with Pillow. The tests run in order on
// one page and share its state (each says what it needs from the ones
// before). The last line is "N passed, M failed".

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = (process.env.MICROGO_BASE_URL || 'http://127.0.0.1:5000').replace(/\/$/, '');
const FIXTURES = process.env.MICROGO_FIXTURES;
const SHOTS = process.env.MICROGO_SCREENSHOTS || fs.mkdtempSync(path.join(os.tmpdir(), 'microgo-shots-'));
const TEST_TIMEOUT = 60000; // ms for one test
const PNG = 'Mập khùng at the lake, a rather long file name.png';
const JPG = 'sunset.jpg';
const BIG = 'harbour, 12 MP.jpg'; // 4000x3000, photo-like
const BIG_SIZE = [4000, 3000];
const DROPPED = 'dropped.png';
const NOT_IMAGE = 'notes.png';
const REFUSAL = 'the file is not an image in a supported format';

if (!FIXTURES) {
  console.log('gallery.test.mjs: MICROGO_FIXTURES is not set (run run_with_stack.py)');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const fixture = (name) => path.join(FIXTURES, name);

/* ---- a tiny runner ---- */

const tests = [];
const test = (name, fn) => tests.push({ name, fn });
let current = ''; // the running test, to attribute browser messages

function assert(cond, msg) { if (!cond) throw new Error(msg); }
function eq(a, b, msg) {
  if (a !== b) throw new Error(`${msg}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);
}
function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([promise, new Promise((_, rej) => {
    t = setTimeout(() => rej(new Error(`${what} took over ${ms} ms`)), ms);
  })]).finally(() => clearTimeout(t));
}

/* ---- the browser ---- */

const LAUNCH = {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
};
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'microgo-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  ...LAUNCH,
  viewport: { width: 1280, height: 800 },
  acceptDownloads: true,
});
context.setDefaultTimeout(15000);
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });

// Everything the page says on its console, its uncaught errors and its CSP
// violations, with the test that was running. The page reports violations
// through a binding: an init script runs before the page's own and is not
// subject to its CSP.
const consoleErrors = [];
const cspViolations = [];
await context.exposeBinding('__mgCsp', (src, v) => cspViolations.push({ test: current, page: src.page, ...v }));
await context.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__mgCsp({ directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample });
  });
});

function watch(p) {
  p.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      consoleErrors.push({ test: current, page: p, type: m.type(), text: m.text() });
  });
  p.on('pageerror', (e) => consoleErrors.push({ test: current, page: p, type: 'pageerror', text: String(e) }));
}

const page = context.pages()[0] || await context.newPage();
watch(page);

// Chrome asks for credentials (the native dialog) through Fetch.authRequired
// when Fetch intercepts with handleAuthRequests: each such request is
// counted here, and cancelled as a dismissed dialog would be.
const authPrompts = [];
const cdp = await context.newCDPSession(page);
cdp.on('Fetch.requestPaused', (e) => cdp.send('Fetch.continueRequest', { requestId: e.requestId }).catch(() => {}));
cdp.on('Fetch.authRequired', (e) => {
  authPrompts.push(e.request.url);
  cdp.send('Fetch.continueWithAuth', { requestId: e.requestId,
    authChallengeResponse: { response: 'CancelAuth' } }).catch(() => {});
});
await cdp.send('Fetch.enable', { handleAuthRequests: true, patterns: [{ urlPattern: '*/login*' }] });

// Browser messages a test provokes on purpose: Chrome logs every 4xx
// answer as "Failed to load resource". Only these statuses, in these tests.
const EXPECTED = new Map();

/* ---- helpers ---- */

const basic = (u, p) => 'Basic ' + Buffer.from(`${u}:${p}`, 'utf8').toString('base64');
const sessionToken = () => page.evaluate(() => sessionStorage.getItem('microgo.token'));
const card = (name) => page.locator('#cards > li.card', { has: page.locator('.name', { hasText: name }) });
const cardNames = () => page.locator('#cards > li.card .name').allTextContents();

async function apiListing(token) {
  const res = await fetch(`${BASE}/img_collection?limit=1000`, { headers: { Authorization: `Bearer ${token}` } });
  eq(res.status, 200, 'GET /img_collection status');
  return res.json();
}

// Waits until every preview in the grid has decoded (naturalWidth > 0).
async function previewsDecoded(expected) {
  await page.waitForFunction((n) => {
    const imgs = [...document.querySelectorAll('#cards img')];
    return imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, expected, { timeout: 20000 });
  const srcs = await page.locator('#cards img').evaluateAll((l) => l.map((i) => i.src));
  assert(srcs.every((s) => s.startsWith('blob:')), `previews are blob: URLs (${srcs})`);
}

async function loginByForm(user, pw) {
  await page.fill('#username', user);
  await page.fill('#password', pw);
  await page.click('#login-button');
  await page.locator('#gallery').waitFor({ state: 'visible' });
}

/* ---- the tests ---- */

test('the page, its script and style are served with the CSP, and the CSP refuses inline script', async () => {
  const res = await fetch(`${BASE}/`);
  eq(res.status, 200, 'GET /');
  const csp = res.headers.get('content-security-policy') || '';
  assert(/script-src 'self'/.test(csp) && !/unsafe-inline/.test(csp), `CSP: ${csp}`);
  for (const [p, type] of [['/app.js', 'javascript'], ['/style.css', 'css'], ['/favicon.svg', 'svg']]) {
    const r = await fetch(BASE + p);
    eq(r.status, 200, `GET ${p}`);
    assert((r.headers.get('content-type') || '').includes(type), `${p} content type`);
  }
  // The detector itself: an inline script on a page of ours must be refused
  // and reported (on a page of its own, left out of the final check).
  const probe = await context.newPage();
  watch(probe);
  await probe.goto(BASE + '/');
  const ran = await probe.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.head.append(s);
    return window.__inlineRan === true;
  });
  assert(!ran, 'an inline script ran: the CSP does not hold');
  await probe.waitForTimeout(300);
  assert(cspViolations.some((v) => v.page === probe), 'the inline script was refused but no violation was reported');
  await probe.close();
});

test('a wrong password shows the error, and no native sign-in dialog', async () => {
  EXPECTED.set(current, [401]);
  await page.goto(BASE + '/');
  await page.locator('#login-form').waitFor({ state: 'visible' });
  // The detector itself: a /login refusal without X-Requested-With asks
  // Chrome for credentials.
  await page.evaluate((h) => fetch('/login', { method: 'POST', headers: { Authorization: h } }),
    basic('Rex', 'not the password'));
  assert(authPrompts.length === 1, `a plain Basic 401 should have asked for credentials (${authPrompts.length})`);
  authPrompts.length = 0;

  await page.fill('#username', 'Rex');
  await page.fill('#password', 'not the password');
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/login')),
    page.click('#login-button'),
  ]);
  eq(res.status(), 401, '/login status');
  assert((res.headers()['www-authenticate'] || '').startsWith('xBasic'), `WWW-Authenticate: ${res.headers()['www-authenticate']}`);
  const err = page.locator('#login-error');
  await err.waitFor({ state: 'visible' });
  assert(/wrong username or password/i.test(await err.textContent()), `error text: ${await err.textContent()}`);
  eq(await err.getAttribute('aria-live'), 'assertive', 'the error is announced');
  eq(authPrompts.length, 0, 'native credential prompts');
  assert(await page.locator('#gallery').isHidden(), 'the gallery stays hidden');
  eq(await sessionToken(), null, 'no token kept');
});

test('login works, by keyboard alone, with a visible focus ring', async () => {
  await page.goto(BASE + '/');
  await page.locator('#username').waitFor({ state: 'visible' });
  // The page focuses Username itself; type, Tab to Password, Tab to the button.
  eq(await page.evaluate(() => document.activeElement.id), 'username', 'focus after load');
  await page.keyboard.type('Rex');
  await page.keyboard.press('Tab');
  eq(await page.evaluate(() => document.activeElement.id), 'password', 'Tab goes to Password');
  await page.keyboard.type('Rex siu super');
  await page.keyboard.press('Tab');
  const ring = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return { id: document.activeElement.id, style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
  });
  eq(ring.id, 'login-button', 'Tab goes to Log in');
  assert(ring.style !== 'none' && ring.width >= 2, `focus ring on Log in: ${JSON.stringify(ring)}`);
  await page.keyboard.press('Enter');
  await page.locator('#gallery').waitFor({ state: 'visible' });
  eq(await page.textContent('#who-name'), 'Logged in as Rex', 'who');
  assert((await sessionToken() || '').split('.').length === 3, 'a JWT in sessionStorage');
  assert(await page.locator('#login').isHidden(), 'the form is hidden');
  // Every control has a label.
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, button')]
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
    .map((el) => el.outerHTML));
  eq(unlabelled.length, 0, `controls without a label ${unlabelled}`);
  eq(await page.locator('#cards > li').count(), 0, 'no cards yet');
});

test('uploading three images (a 12 MP photo among them) shows a progress bar each, then three cards whose previews decoded', async () => {
  await page.setInputFiles('#files', [fixture(PNG), fixture(JPG), fixture(BIG)]);
  const rows = page.locator('#uploads > li');
  // Every row has its bar from the start, before its upload's turn comes.
  eq(await rows.count(), 3, 'upload rows');
  eq(await page.locator('#uploads > li progress').count(), 3, 'a <progress> per file');
  await page.waitForFunction(() => [...document.querySelectorAll('#uploads > li .status')]
    .filter((s) => s.textContent === 'uploaded').length === 3, null, { timeout: 45000 });
  eq(await rows.count(), 3, 'upload rows');
  for (let i = 0; i < 3; i++) {
    const bar = rows.nth(i).locator('progress');
    eq(await bar.count(), 1, 'a <progress> per file');
    eq(await bar.evaluate((b) => [b.value, b.max].join('/')), '100/100', 'progress complete');
  }
  await previewsDecoded(3);
  // Newest first: the 12 MP photo went last.
  const names = await cardNames();
  eq(JSON.stringify(names), JSON.stringify([BIG, JPG, PNG]), 'card order');
  eq(await card(PNG).locator('img').getAttribute('alt'), PNG, 'alt is the file name');
  const facts = await card(JPG).locator('.facts').textContent();
  assert(/\d+(\.\d)? KB/.test(facts), `size shown: ${facts}`);
  assert(await card(JPG).locator('time').getAttribute('datetime'), 'time shown');
  // The big photo's preview is the server's (at most 512 px), not the original.
  const big = await card(BIG).locator('img').evaluate((i) => [i.naturalWidth, i.naturalHeight]);
  assert(big[0] > 0 && big[0] <= 512 && big[1] <= 512, `the 12 MP photo's preview is ${big}`);
  const bigFacts = await card(BIG).locator('.facts').textContent();
  assert(/\d+(\.\d)? MB/.test(bigFacts), `size of the 12 MP photo: ${bigFacts}`);
  const listed = (await apiListing(await sessionToken())).filter((r) => r.tag === 'original');
  eq(listed.length, 3, 'originals in the API listing');
  const bigRec = listed.find((r) => r.filename === BIG);
  eq(bigRec && bigRec.length, fs.statSync(fixture(BIG)).size, 'the 12 MP photo stored whole');
});

test('a file that is not an image shows the server\'s refusal, and no card', async () => {
  EXPECTED.set(current, [415]);
  await page.setInputFiles('#files', fixture(NOT_IMAGE));
  const row = page.locator('#uploads > li', { hasText: NOT_IMAGE });
  await row.locator('.status', { hasText: 'refused' }).waitFor({ timeout: 20000 });
  const text = await row.locator('.status').textContent();
  assert(text.includes(REFUSAL), `refusal shown: ${text}`);
  assert(await row.evaluate((r) => r.classList.contains('failed')), 'row marked failed');
  await page.waitForTimeout(500);
  eq(await page.locator('#cards > li').count(), 3, 'cards');
});

test('a file dropped on the zone is uploaded', async () => {
  const bytes = fs.readFileSync(fixture(PNG)).toString('base64');
  const dt = await page.evaluateHandle(({ b64, name }) => {
    const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const d = new DataTransfer();
    d.items.add(new File([bin], name, { type: 'image/png' }));
    return d;
  }, { b64: bytes, name: DROPPED });
  await page.dispatchEvent('#drop', 'dragover', { dataTransfer: dt });
  assert(await page.locator('#drop.over').count() === 1, 'the zone shows a drop is possible');
  await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
  await card(DROPPED).waitFor({ timeout: 30000 });
  await previewsDecoded(4);
  eq((await cardNames())[0], DROPPED, 'the newest card first');
});

test('a reload keeps the session and the grid', async () => {
  await page.reload();
  await page.locator('#gallery').waitFor({ state: 'visible' });
  assert(await page.locator('#login').isHidden(), 'no login form');
  eq(await page.textContent('#who-name'), 'Logged in as Rex', 'who');
  await previewsDecoded(4);
  eq(JSON.stringify(await cardNames()), JSON.stringify([DROPPED, BIG, JPG, PNG]), 'cards after reload');
});

test('Download gives a file whose bytes are the upload\'s', async () => {
  const [dl] = await Promise.all([
    page.waitForEvent('download', { timeout: 20000 }),
    card(JPG).locator('button.download').click(),
  ]);
  eq(dl.suggestedFilename(), JPG, 'download name');
  const got = fs.readFileSync(await dl.path());
  assert(got.equals(fs.readFileSync(fixture(JPG))), `downloaded ${got.length} bytes differ from the upload`);
});

test('Share gives a URL that fetches the image without a token, and Copy copies it', async () => {
  const c = card(PNG);
  await c.locator('button.share').click();
  const input = c.locator('.shared input');
  await input.waitFor({ state: 'visible' });
  const url = await input.inputValue();
  assert(url.startsWith(`${BASE}/shared/`), `share URL: ${url}`);
  eq(await input.getAttribute('readonly'), '', 'the link is read-only');
  eq(await c.locator('.shared label').getAttribute('for'), await input.getAttribute('id'), 'the link has its label');
  const res = await fetch(url); // no Authorization
  eq(res.status, 200, 'shared URL status');
  const got = Buffer.from(await res.arrayBuffer());
  assert(got.equals(fs.readFileSync(fixture(PNG))), 'shared bytes differ from the upload');
  await c.locator('button.copy').click();
  await page.locator('#notice', { hasText: 'Link copied.' }).waitFor();
  eq(await page.evaluate(() => navigator.clipboard.readText()), url, 'clipboard');
  await page.screenshot({ path: path.join(SHOTS, 'desktop-1280x800.png') });
});

test('a share link opened in a fresh browser (no session, no token) shows the image; a 2 s link expires', async () => {
  const id = await card(BIG).getAttribute('data-id');
  await card(BIG).locator('button.share').click();
  const input = card(BIG).locator('.shared input');
  await input.waitFor({ state: 'visible' });
  const url = await input.inputValue();
  assert(url.startsWith(`${BASE}/shared/${id}/original/`), `share URL: ${url}`);

  const other = await chromium.launch(LAUNCH);
  try {
    const fresh = await other.newContext();
    const sent = []; // every request the fresh context makes, and its Authorization
    fresh.on('request', (r) => sent.push({ url: r.url(), auth: r.headers().authorization }));
    const p = await fresh.newPage();
    // The detector first: this context really has no token (the file's own
    // URL is refused), so only the link can let it in.
    const denied = await p.goto(`${BASE}/img_collection/${id}`);
    eq(denied.status(), 401, 'the file without the link, in the fresh context');
    eq(await p.evaluate(() => sessionStorage.getItem('microgo.token')), null, 'no token in the fresh context');

    const res = await p.goto(url);
    eq(res.status(), 200, 'share link in the fresh context');
    eq(res.headers()['content-type'], 'image/jpeg', 'content type of the shared photo');
    const body = await res.body();
    assert(body.equals(fs.readFileSync(fixture(BIG))), `the shared bytes (${body.length}) are not the upload's`);
    // Shown in an <img> of a blank page of that context: it decodes. The
    // blank page is on the link's origin (answered by Playwright, not the
    // server): Chromium's Private Network Access refuses an about:blank
    // page (origin null) an image from loopback.
    const blank = await fresh.newPage();
    await blank.route(`${BASE}/blank.html`, (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html><title>blank</title>' }));
    await blank.goto(`${BASE}/blank.html`);
    const size = await blank.evaluate((src) => new Promise((resolve) => {
      const img = new Image();
      img.onload = () => resolve([img.naturalWidth, img.naturalHeight]);
      img.onerror = () => resolve([0, 0]);
      img.src = src;
      document.body.append(img);
    }), url);
    eq(JSON.stringify(size), JSON.stringify(BIG_SIZE), 'the shared photo decoded in an <img>');
    assert(sent.length >= 3 && sent.every((r) => !r.auth), `the fresh context sent Authorization: ${JSON.stringify(sent.filter((r) => r.auth))}`);

    // A link of 2 seconds, made through the API with the page's token.
    const link = await page.evaluate(async (fid) => {
      const r = await fetch(`/img_collection/${fid}/link`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${sessionStorage.getItem('microgo.token')}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ ttl: 2 }),
      });
      return { status: r.status, body: await r.json() };
    }, await card(JPG).getAttribute('data-id'));
    eq(link.status, 201, 'POST /link with ttl 2');
    const left = Date.parse(link.body.expires_at) - Date.now();
    assert(left > 0 && left <= 3000, `a 2 s link expires in ${left} ms (${link.body.expires_at})`);
    const short = BASE + link.body.path;
    const before = await p.goto(short);
    eq(before.status(), 200, 'the 2 s link at once');
    assert((await before.body()).equals(fs.readFileSync(fixture(JPG))), 'the 2 s link gives the JPEG');
    await p.waitForTimeout(3000);
    const after = await p.goto(short);
    eq(after.status(), 403, 'the 2 s link after 3 s');
    assert((after.headers()['content-type'] || '').startsWith('application/json'), `403 content type: ${after.headers()['content-type']}`);
    eq((await after.json()).message, 'this link has expired', '403 message');
    await fresh.close();
  } finally {
    await other.close();
  }
});

test('Delete asks first; confirmed, the card goes and the API no longer lists it', async () => {
  const c = card(DROPPED);
  const id = await c.getAttribute('data-id');
  // Cancelled: nothing happens.
  page.once('dialog', (d) => d.dismiss());
  await c.locator('button.delete').click();
  await page.waitForTimeout(300);
  eq(await c.count(), 1, 'card after a cancelled delete');
  let asked = '';
  page.once('dialog', (d) => { asked = d.message(); d.accept(); });
  await c.locator('button.delete').click();
  await c.waitFor({ state: 'detached', timeout: 15000 });
  assert(asked.includes(DROPPED), `confirm() names the file: ${asked}`);
  eq(await page.locator('#cards > li').count(), 3, 'cards left');
  const listed = await apiListing(await sessionToken());
  assert(!listed.some((r) => r.id === id || r.original === id), 'the API still lists the deleted file or its copy');
  eq(listed.filter((r) => r.tag === 'original').length, 3, 'originals left in the API');
  await page.locator('#notice', { hasText: `Deleted ${DROPPED}.` }).waitFor();
});

test('at phone width (390x844) nothing scrolls sideways', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.reload();
  await previewsDecoded(3);
  await card(PNG).locator('button.share').click(); // the widest content: a link
  await card(PNG).locator('.shared input').waitFor({ state: 'visible' });
  const m = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth }));
  assert(m.sw <= m.cw, `page is ${m.sw}px wide in a ${m.cw}px viewport`);
  const outside = await page.evaluate(() => [...document.querySelectorAll('button, input, progress, img, .name')]
    .filter((el) => { const r = el.getBoundingClientRect(); return r.width && (r.left < 0 || r.right > innerWidth + 0.5); })
    .map((el) => el.outerHTML.slice(0, 80)));
  eq(outside.length, 0, `elements past the edge ${outside}`);
  await page.screenshot({ path: path.join(SHOTS, 'phone-390x844.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('an invalid token sends the page back to the login form with a message', async () => {
  EXPECTED.set(current, [401]);
  await page.evaluate(() => sessionStorage.setItem('microgo.token', 'eyJhbGciOiJIUzI1NiJ9.e30.bad'));
  await card(JPG).locator('button.share').click();
  await page.locator('#login-form').waitFor({ state: 'visible' });
  const notice = await page.textContent('#notice');
  assert(/invalid token.*log in again/i.test(notice), `notice: ${notice}`);
  eq(await sessionToken(), null, 'the bad token is dropped');
  eq(await page.locator('#cards > li').count(), 0, 'the grid is cleared');
  // And on a load with a bad token, straight to the form.
  await page.evaluate(() => sessionStorage.setItem('microgo.token', 'nope'));
  await page.reload();
  await page.locator('#login-form').waitFor({ state: 'visible' });
  assert(/log in again/i.test(await page.textContent('#notice')), 'message after reload');
});

test('Log out returns to the login form and forgets the token', async () => {
  await loginByForm('Rex', 'Rex siu super');
  await previewsDecoded(3);
  await page.click('#logout');
  await page.locator('#login-form').waitFor({ state: 'visible' });
  eq(await sessionToken(), null, 'token after log out');
  assert(await page.locator('#gallery').isHidden(), 'gallery hidden');
  eq(await page.locator('#cards > li').count(), 0, 'no cards left in the page');
  eq(await page.evaluate(() => document.activeElement.id), 'username', 'focus on Username');
  await page.reload();
  await page.locator('#login-form').waitFor({ state: 'visible' });
  assert(await page.locator('#gallery').isHidden(), 'still logged out after a reload');
});

test('Load more shows the rest of a long listing (Mập, a UTF-8 login)', async () => {
  const res = await fetch(`${BASE}/login`, { method: 'POST', headers: { Authorization: basic('Mập', 'Mập khùng') } });
  eq(res.status, 200, 'Mập logs in');
  const { token } = await res.json();
  const tiles = fs.readdirSync(fixture('many')).sort();
  for (const name of tiles) {
    const form = new FormData();
    form.append('data', new Blob([fs.readFileSync(path.join(fixture('many'), name))], { type: 'image/png' }), name);
    const up = await fetch(`${BASE}/upload`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
    eq(up.status, 201, `upload of ${name}`);
  }
  await loginByForm('Mập', 'Mập khùng');
  eq(await page.textContent('#who-name'), 'Logged in as Mập', 'who');
  const more = page.locator('#more');
  await more.waitFor({ state: 'visible' });
  const first = await page.locator('#cards > li').count();
  assert(first > 0 && first < tiles.length, `first page shows ${first} of ${tiles.length}`);
  await more.click();
  await page.waitForFunction((n) => document.querySelectorAll('#cards > li').length === n, tiles.length);
  await more.waitFor({ state: 'hidden' });
  const names = await cardNames();
  eq(JSON.stringify(names), JSON.stringify([...tiles].reverse()), 'every tile once, newest first');
  await previewsDecoded(tiles.length);
  await page.click('#logout');
});

test('no console errors and no CSP violations during the run', async () => {
  const bad = consoleErrors.filter((m) => {
    if (m.page.isClosed()) return false; // the CSP probe page
    const st = /status of (\d{3})/.exec(m.text);
    return !(st && m.text.startsWith('Failed to load resource') &&
      (EXPECTED.get(m.test) || []).includes(Number(st[1])));
  });
  const csp = cspViolations.filter((v) => !v.page.isClosed());
  assert(bad.length === 0 && csp.length === 0, 'browser reported:\n' +
    bad.map((m) => `  [${m.test}] ${m.type}: ${m.text}`).concat(
      csp.map((v) => `  [${v.test}] CSP ${v.directive}: ${v.blocked} ${v.sample || ''}`)).join('\n'));
});

/* ---- run ---- */

let passed = 0;
let failed = 0;
for (const t of tests) {
  current = t.name;
  const start = Date.now();
  try {
    await withTimeout(t.fn(), TEST_TIMEOUT, 'the test');
    passed++;
    console.log(`ok      ${t.name} (${Date.now() - start} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAILED  ${t.name} (${Date.now() - start} ms)\n        ${String(e && e.message || e).split('\n').join('\n        ')}`);
    await page.screenshot({ path: path.join(SHOTS, `failed-${passed + failed}.png`) }).catch(() => {});
  }
}
await context.close();
fs.rmSync(profile, { recursive: true, force: true });
console.log(`screenshots: ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

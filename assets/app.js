// microgo's web page: log in, upload, browse, download, share, delete.
// Plain JavaScript, no framework and no build step. Every API call goes to
// this same origin (the CSP allows no other); docs/API.md is the contract.

const TOKEN_KEY = 'microgo.token';
// Listing records per request. Each upload is listed as two records (the
// original and its WEBP copy), so a page shows about half as many cards.
const PAGE_RECORDS = 30;
const SHARE_TTL = 86400; // seconds a share link lasts

const $ = (id) => document.getElementById(id);
const ui = {
  notice: $('notice'), login: $('login'), loginForm: $('login-form'),
  username: $('username'), password: $('password'), loginButton: $('login-button'),
  loginError: $('login-error'), who: $('who'), whoName: $('who-name'),
  logout: $('logout'), gallery: $('gallery'), galleryTitle: $('gallery-title'),
  drop: $('drop'), files: $('files'), uploads: $('uploads'), empty: $('empty'),
  cards: $('cards'), more: $('more'), template: $('card-template'),
};

// The listing so far: records seen (id -> record) and where the next page
// starts. Uploads add two records on top, deletes take some away, and the
// offset follows both so "Load more" neither skips nor repeats.
let listing = { seen: new Map(), offset: 0 };
const previews = new Set(); // blob: URLs to revoke on log out
let uploadQueue = Promise.resolve(); // uploads run one after another
let cardCount = 0; // for unique ids of the share inputs

class SessionEnded extends Error {}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function say(text) { ui.notice.textContent = text; }

// The server's {"message": ...}, or a fallback when the body is not JSON.
async function messageOf(res, fallback) {
  try {
    const body = await res.json();
    if (body && typeof body.message === 'string') return body.message;
  } catch (e) { /* not JSON: nginx or a proxy */ }
  return fallback || `the server answered ${res.status}`;
}

// fetch() with the Bearer token. A 401 means the token expired or is not
// valid: back to the login form, and the caller stops (SessionEnded).
async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: `Bearer ${token()}` },
    options.headers || {});
  const res = await fetch(path, Object.assign({}, options, { headers }));
  if (res.status === 401) {
    endSession(`${capital(await messageOf(res, 'your session has ended'))}: please log in again.`);
    throw new SessionEnded();
  }
  return res;
}

function capital(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

// Basic credentials are UTF-8 bytes in base64 (btoa() alone takes Latin-1).
function basic(user, pw) {
  const bytes = new TextEncoder().encode(`${user}:${pw}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

function formatSize(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/* ---- login and logout ---- */

async function login(event) {
  event.preventDefault();
  const user = ui.username.value;
  if (!user || !ui.password.value) {
    ui.loginError.textContent = 'Enter your username and password.';
    return;
  }
  ui.loginError.textContent = '';
  ui.loginButton.disabled = true;
  try {
    // X-Requested-With makes a refusal carry "xBasic", a scheme browsers
    // do not know, so no native sign-in dialog opens over the page.
    const res = await fetch('/login', {
      method: 'POST',
      headers: { Authorization: basic(user, ui.password.value),
        'X-Requested-With': 'XMLHttpRequest' },
    });
    if (!res.ok) {
      const msg = await messageOf(res);
      ui.loginError.textContent = res.status === 401
        ? 'Wrong username or password.' : `Could not log in: ${msg}.`;
      ui.password.select();
      return;
    }
    const body = await res.json();
    sessionStorage.setItem(TOKEN_KEY, body.token);
    ui.password.value = '';
    say('');
    await startSession(user);
  } catch (e) {
    if (!(e instanceof SessionEnded))
      ui.loginError.textContent = 'Could not reach the server. Try again.';
  } finally {
    ui.loginButton.disabled = false;
  }
}

// Shows the gallery for a token: asks /me whose it is, then the listing.
async function startSession(name) {
  if (!name) {
    const res = await api('/me');
    if (!res.ok) throw new Error(await messageOf(res));
    name = (await res.json()).username;
  }
  ui.whoName.textContent = `Logged in as ${name}`;
  ui.login.hidden = true;
  ui.who.hidden = false;
  ui.gallery.hidden = false;
  ui.galleryTitle.focus();
  await loadMore();
}

// Back to the login form; message says why (expired token, log out).
function endSession(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const url of previews) URL.revokeObjectURL(url);
  previews.clear();
  listing = { seen: new Map(), offset: 0 };
  ui.cards.replaceChildren();
  ui.uploads.replaceChildren();
  ui.more.hidden = true;
  ui.empty.hidden = true;
  ui.gallery.hidden = true;
  ui.who.hidden = true;
  ui.login.hidden = false;
  say(message || '');
  ui.username.focus();
}

/* ---- the listing ---- */

async function loadMore() {
  ui.more.disabled = true;
  try {
    const res = await api(`/img_collection?limit=${PAGE_RECORDS}&offset=${listing.offset}`);
    if (!res.ok) { say(`Could not list your images: ${await messageOf(res)}.`); return; }
    const records = await res.json();
    listing.offset += records.length;
    for (const r of records) {
      if (listing.seen.has(r.id)) continue; // moved down by an upload
      listing.seen.set(r.id, r);
      if (r.tag === 'original') ui.cards.append(makeCard(r));
    }
    // A full page means there may be more.
    ui.more.hidden = records.length < PAGE_RECORDS;
    ui.empty.hidden = ui.cards.children.length > 0;
  } catch (e) {
    if (!(e instanceof SessionEnded)) say('Could not reach the server.');
  } finally {
    ui.more.disabled = false;
  }
}

/* ---- cards ---- */

function makeCard(rec) {
  const li = ui.template.content.firstElementChild.cloneNode(true);
  const n = ++cardCount;
  li.dataset.id = rec.id;
  const img = li.querySelector('img');
  img.alt = rec.filename;
  li.querySelector('.name').textContent = rec.filename;
  li.querySelector('.size').textContent = formatSize(rec.length);
  const time = li.querySelector('time');
  time.dateTime = rec.uploadedAt;
  time.textContent = new Date(rec.uploadedAt).toLocaleString();
  // Buttons say which file they act on to a screen reader.
  for (const [cls, verb] of [['download', 'Download'], ['share', 'Share'], ['delete', 'Delete']])
    li.querySelector(`.${cls}`).setAttribute('aria-label', `${verb} ${rec.filename}`);
  const input = li.querySelector('.shared input');
  input.id = `share-${n}`;
  li.querySelector('.shared label').htmlFor = input.id;
  li.querySelector('.copy').setAttribute('aria-label', `Copy the share link of ${rec.filename}`);

  li.querySelector('.download').addEventListener('click', () => download(li, rec));
  li.querySelector('.share').addEventListener('click', () => share(li, rec));
  li.querySelector('.delete').addEventListener('click', () => remove(li, rec));
  li.querySelector('.copy').addEventListener('click', () => copy(input));
  loadPreview(img, rec);
  return li;
}

// An <img> cannot send the Bearer header: fetch the preview, show a blob.
async function loadPreview(img, rec) {
  try {
    const res = await api(rec.preview || `${rec.url}/preview`);
    if (!res.ok) { img.alt = `${rec.filename} (no preview)`; return; }
    const url = URL.createObjectURL(await res.blob());
    previews.add(url);
    img.src = url;
  } catch (e) { /* session ended, or offline: the alt text stays */ }
}

function cardError(li, text) { li.querySelector('.card-error').textContent = text; }

async function download(li, rec) {
  cardError(li, '');
  try {
    const res = await api(`${rec.url}?download=1`);
    if (!res.ok) { cardError(li, `Download failed: ${await messageOf(res)}.`); return; }
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = rec.filename;
    document.body.append(a);
    a.click();
    a.remove();
    // The download has started from the blob by now; give it a moment.
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (e) {
    if (!(e instanceof SessionEnded)) cardError(li, 'Download failed: the server cannot be reached.');
  }
}

async function share(li, rec) {
  cardError(li, '');
  try {
    const res = await api(`${rec.url}/link`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ttl: SHARE_TTL, rendition: 'original' }),
    });
    if (res.status !== 201) { cardError(li, `Could not share: ${await messageOf(res)}.`); return; }
    const link = await res.json();
    const box = li.querySelector('.shared');
    const input = box.querySelector('input');
    // The link on this page's own origin: the server's url is built from
    // the Host header nginx passes on, which drops a non-default port.
    input.value = new URL(link.path, location.origin).href;
    box.hidden = false;
    input.focus();
    input.select();
  } catch (e) {
    if (!(e instanceof SessionEnded)) cardError(li, 'Could not share: the server cannot be reached.');
  }
}

async function copy(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    say('Link copied.');
  } catch (e) {
    // No clipboard permission: leave it selected for Ctrl+C.
    input.focus();
    input.select();
    say('Press Ctrl+C (or ⌘C) to copy the selected link.');
  }
}

async function remove(li, rec) {
  if (!confirm(`Delete ${rec.filename}? This cannot be undone.`)) return;
  cardError(li, '');
  try {
    const res = await api(rec.url, { method: 'DELETE' });
    if (res.status !== 204 && res.status !== 404) { // 404: already gone
      cardError(li, `Could not delete: ${await messageOf(res)}.`);
      return;
    }
    forget(rec.id);
    // Keep the keyboard focus near: the next card, else the previous one.
    const next = li.nextElementSibling || li.previousElementSibling;
    const img = li.querySelector('img');
    if (img.src.startsWith('blob:')) { URL.revokeObjectURL(img.src); previews.delete(img.src); }
    li.remove();
    say(`Deleted ${rec.filename}.`);
    ui.empty.hidden = ui.cards.children.length > 0;
    (next ? next.querySelector('.delete') : ui.files).focus();
  } catch (e) {
    if (!(e instanceof SessionEnded)) cardError(li, 'Could not delete: the server cannot be reached.');
  }
}

// A deleted original takes its copy with it: the listing shrinks by the
// records of it already seen.
function forget(id) {
  for (const [rid, r] of listing.seen) {
    if (rid === id || r.original === id) {
      listing.seen.delete(rid);
      listing.offset = Math.max(0, listing.offset - 1);
    }
  }
}

/* ---- uploads ---- */

function queueFiles(fileList) {
  for (const file of Array.from(fileList)) {
    const row = uploadRow(file);
    // One at a time: the service takes a few uploads per user at once.
    uploadQueue = uploadQueue.then(() => upload(file, row));
  }
}

function uploadRow(file) {
  const li = document.createElement('li');
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = file.name;
  const bar = document.createElement('progress');
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute('aria-label', `Upload of ${file.name}`);
  const status = document.createElement('span');
  status.className = 'status';
  status.setAttribute('role', 'status');
  status.textContent = 'waiting';
  li.append(name, bar, status);
  ui.uploads.prepend(li);
  return li;
}

// XHR, not fetch(): only XHR reports upload progress.
function upload(file, row) {
  const bar = row.querySelector('progress');
  const status = row.querySelector('.status');
  return new Promise((resolve) => {
    const form = new FormData();
    form.append('data', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/upload');
    xhr.setRequestHeader('Authorization', `Bearer ${token()}`);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
    });
    xhr.upload.addEventListener('load', () => { status.textContent = 'processing…'; });
    xhr.addEventListener('load', async () => {
      const body = xhr.response || {};
      if (xhr.status === 201) {
        bar.value = 100;
        status.textContent = 'uploaded';
        row.classList.add('done');
        await showUploaded(body.fs_id, body.compressed_id, file);
      } else if (xhr.status === 401) {
        endSession(`${capital(body.message || 'your session has ended')}: please log in again.`);
      } else {
        row.classList.add('failed');
        bar.hidden = true;
        status.textContent = `refused: ${body.message || `the server answered ${xhr.status}`}`;
      }
      resolve();
    });
    xhr.addEventListener('error', () => {
      row.classList.add('failed');
      status.textContent = 'failed: the server cannot be reached';
      resolve();
    });
    status.textContent = 'uploading';
    xhr.send(form);
  });
}

// The new original's card goes first. Its record comes from the listing
// (the stored name, the server's time); both its records are now on top.
async function showUploaded(fsId, copyId, file) {
  listing.offset += 2;
  let rec = null;
  try {
    const res = await api('/img_collection?limit=10');
    if (res.ok) {
      for (const r of await res.json()) {
        if (r.id === fsId) rec = r;
        if (r.id === fsId || r.id === copyId) listing.seen.set(r.id, r);
      }
    }
  } catch (e) {
    if (e instanceof SessionEnded) return;
  }
  if (!rec) {
    rec = { id: fsId, filename: file.name, tag: 'original', original: null,
      uploadedAt: new Date().toISOString(), length: file.size,
      url: `/img_collection/${fsId}`, preview: `/img_collection/${fsId}/preview` };
    listing.seen.set(fsId, rec);
  }
  if (!ui.cards.querySelector(`[data-id="${fsId}"]`)) ui.cards.prepend(makeCard(rec));
  ui.empty.hidden = true;
}

/* ---- wiring ---- */

ui.loginForm.addEventListener('submit', login);
ui.logout.addEventListener('click', () => endSession('You are logged out.'));
ui.more.addEventListener('click', loadMore);
ui.files.addEventListener('change', () => {
  queueFiles(ui.files.files);
  ui.files.value = ''; // the same file may be chosen again
});

// Drag and drop onto the zone; dragover must be cancelled to allow a drop.
ui.drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => ui.drop.classList.remove('over'));
ui.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  ui.drop.classList.remove('over');
  if (e.dataTransfer && e.dataTransfer.files.length) queueFiles(e.dataTransfer.files);
});
// A file dropped beside the zone would make the browser navigate to it.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

// A token kept from before the reload: check it, else show the form.
if (token()) {
  startSession().catch((e) => {
    if (!(e instanceof SessionEnded)) endSession('Could not reach the server.');
  });
} else {
  endSession();
}

#!/usr/bin/env node
// Headless "browser" for the device flow of vmauth's test IdP (server.mjs): approves or denies
// a user_code by driving the provider's real pages over HTTP (device verification form + xsrf,
// confirmation form, login interaction, consent interaction), with a path-aware cookie jar and
// redirects followed by hand. No backdoor: it only submits the HTML forms the provider serves.
//
//   node approve.mjs [options] <USER_CODE | verification_uri_complete>
//
// Options:
//   --issuer URL        provider (default $IDP_ISSUER or http://127.0.0.1:${IDP_PORT:-9090})
//   --user NAME         login name or email (default alice)
//   --password PW       password (default: the user's password from config.json)
//   --deny              deny instead of approve (same as --deny-at confirm)
//   --deny-at STAGE     where to deny: confirm (device confirmation page "Abort"),
//                       login ("Cancel" on the login page) or consent ("Deny" on the consent page)
//   --verbose, -v       log every HTTP exchange to stderr
//
// Exit status: 0 = the requested outcome happened (approved, or denied when a deny was asked
// for); 2 = usage error; 3 = the flow failed (unknown/expired/used code, bad credentials,
// unexpected page). The last stdout line is one of: approved | denied | failed: <state> <message>
//
// Page flow: GET /device (form + xsrf) -> POST /device xsrf+user_code (confirm page) ->
// POST /device confirm=yes -> 303 /interaction/:uid (login) -> POST .../login -> 303
// /device/:uid -> 303 /interaction/:uid2 (consent) -> POST .../confirm -> 303 /device/:uid2 ->
// "Sign-in success". Every page carries <body data-op-state="...">, which drives the loop below.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  if (msg) console.error(`approve.mjs: ${msg}`);
  console.error('usage: node approve.mjs [--issuer URL] [--user NAME] [--password PW] [--deny | --deny-at confirm|login|consent] [-v] <USER_CODE | verification_uri_complete>');
  process.exit(2);
}

// ---------------------------------------------------------------- arguments
const opts = {
  issuer: process.env.IDP_ISSUER || `http://127.0.0.1:${process.env.IDP_PORT || 9090}`,
  user: 'alice',
  password: undefined,
  denyAt: undefined,
  verbose: false,
  code: undefined,
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 1) {
  const a = argv[i];
  const val = () => {
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    i += 1;
    return argv[i];
  };
  switch (a) {
    case '--issuer': opts.issuer = val(); break;
    case '--user': opts.user = val(); break;
    case '--password': opts.password = val(); break;
    case '--deny': opts.denyAt ??= 'confirm'; break;
    case '--deny-at': opts.denyAt = val(); break;
    case '-v': case '--verbose': opts.verbose = true; break;
    case '-h': case '--help': usage(); break;
    default:
      if (a.startsWith('-')) usage(`unknown option ${a}`);
      if (opts.code) usage('only one user code expected');
      opts.code = a;
  }
}
if (!opts.code) usage('missing user code');
if (opts.denyAt && !['confirm', 'login', 'consent'].includes(opts.denyAt)) usage('--deny-at must be confirm, login or consent');
opts.issuer = opts.issuer.replace(/\/+$/, '');

if (opts.password === undefined) {
  try {
    const cfg = JSON.parse(fs.readFileSync(path.resolve(here, process.env.IDP_CONFIG_FILE || 'config.json'), 'utf8'));
    const users = cfg.users || {};
    const entry = users[opts.user]
      || Object.values(users).find((u) => u.email?.toLowerCase() === opts.user.toLowerCase());
    opts.password = entry?.password;
  } catch { /* no config: password must be given */ }
  if (opts.password === undefined && opts.denyAt !== 'confirm' && opts.denyAt !== 'login') {
    usage(`no password known for user ${opts.user}; pass --password`);
  }
}

const log = (...args) => { if (opts.verbose) console.error(...args); };

// ---------------------------------------------------------------- cookie jar (RFC 6265 subset)
const jar = []; // { name, value, path }
function defaultPath(url) {
  const p = url.pathname;
  if (!p.startsWith('/') || p.lastIndexOf('/') === 0) return '/';
  return p.slice(0, p.lastIndexOf('/'));
}
function pathMatches(reqPath, cookiePath) {
  if (reqPath === cookiePath) return true;
  if (!reqPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || reqPath.charAt(cookiePath.length) === '/';
}
function storeCookies(res, url) {
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    let cpath = defaultPath(url);
    let expired = false;
    for (const attr of attrs) {
      const [k, ...rest] = attr.split('=');
      const key = k.trim().toLowerCase();
      const v = rest.join('=').trim();
      if (key === 'path' && v.startsWith('/')) cpath = v;
      if (key === 'max-age' && Number(v) <= 0) expired = true;
      if (key === 'expires' && Date.parse(v) <= Date.now()) expired = true;
    }
    const idx = jar.findIndex((c) => c.name === name && c.path === cpath);
    if (idx !== -1) jar.splice(idx, 1);
    if (!expired) jar.push({ name, value, path: cpath });
  }
}
function cookieHeader(url) {
  return jar
    .filter((c) => pathMatches(url.pathname, c.path))
    .sort((a, b) => b.path.length - a.path.length)
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

// ---------------------------------------------------------------- http with manual redirects
async function send(method, url, form) {
  const headers = { accept: 'text/html', 'user-agent': 'vmauth-idp-approve/1.0' };
  const cookie = cookieHeader(url);
  if (cookie) headers.cookie = cookie;
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const res = await fetch(url, { method, headers, body, redirect: 'manual' });
  storeCookies(res, url);
  const text = await res.text();
  log(`${method} ${url.pathname}${url.search} -> ${res.status}${res.headers.get('location') ? ` Location: ${res.headers.get('location')}` : ''}`);
  return { res, text };
}

async function navigate(method, url, form) {
  let { res, text } = await send(method, url, form);
  for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.get('location'); hops += 1) {
    if (hops > 10) throw new Error('too many redirects');
    url = new URL(res.headers.get('location'), url);
    ({ res, text } = await send('GET', url));
  }
  return { url, status: res.status, text };
}

// ---------------------------------------------------------------- html form parsing
const decode = (s) => s
  .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
  .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
  .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
  .replace(/&amp;/g, '&');
function attrs(tag) {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:.-]+)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/g)) {
    out[m[1].toLowerCase()] = decode(m[3] ?? m[4] ?? m[5] ?? '');
  }
  return out;
}
function parseForms(html) {
  const forms = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const a = attrs(m[1]);
    const fields = [];
    for (const i of m[2].matchAll(/<input\b([^>]*?)\/?>/gi)) {
      const ia = attrs(i[1]);
      if (ia.name) fields.push({ name: ia.name, value: ia.value ?? '', type: (ia.type || 'text').toLowerCase() });
    }
    forms.push({
      id: a.id, action: a.action, method: (a.method || 'get').toUpperCase(), fields,
    });
  }
  return forms;
}
function pageState(html) {
  return /<body[^>]*\bdata-op-state="([^"]*)"/i.exec(html)?.[1];
}
function pageMessage(html) {
  const m = /id="op-message"[^>]*>([\s\S]*?)<\//i.exec(html);
  return m ? decode(m[1]).replace(/\s+/g, ' ').trim() : '';
}

async function submit(page, formId, overrides = {}, remove = []) {
  const form = page.forms.find((f) => f.id === formId);
  if (!form) throw new Error(`form ${formId} not found on ${page.url}`);
  const data = {};
  for (const f of form.fields) data[f.name] = f.value;
  for (const k of remove) delete data[k];
  Object.assign(data, overrides);
  const target = new URL(form.action || page.url.href, page.url);
  log(`  submit ${formId} fields=${Object.keys(data).join(',')}`);
  return load(form.method, target, form.method === 'POST' ? data : undefined);
}

async function load(method, url, form) {
  const r = await navigate(method, url, form);
  return { ...r, state: pageState(r.text), forms: parseForms(r.text), message: pageMessage(r.text) };
}

// ---------------------------------------------------------------- the flow
function done(outcome, code) {
  console.log(outcome);
  process.exit(code);
}

async function main() {
  const deny = opts.denyAt !== undefined;
  let start;
  if (/^https?:\/\//.test(opts.code)) {
    start = new URL(opts.code); // verification_uri_complete (auto-submitting form_post page)
  } else {
    start = new URL(`${opts.issuer}/device`);
  }
  let page = await load('GET', start);
  let codeSubmitted = false;

  for (let step = 0; step < 25; step += 1) {
    log(`page state=${page.state ?? '(none)'} status=${page.status} url=${page.url.pathname}`);
    switch (page.state) {
      case 'input':
        if (codeSubmitted) return done(`failed: input ${page.message}`, 3);
        codeSubmitted = true;
        page = await submit(page, 'op.deviceInputForm', { user_code: opts.code });
        break;
      case 'confirm':
        codeSubmitted = true;
        page = opts.denyAt === 'confirm'
          ? await submit(page, 'op.deviceConfirmForm', { abort: 'yes' }, ['confirm'])
          : await submit(page, 'op.deviceConfirmForm');
        break;
      case 'login':
        page = opts.denyAt === 'login'
          ? await submit(page, 'abort-form')
          : await submit(page, 'login-form', { login: opts.user, password: opts.password ?? '' });
        break;
      case 'consent':
        page = opts.denyAt === 'consent'
          ? await submit(page, 'abort-form')
          : await submit(page, 'consent-form');
        break;
      case 'success':
        if (deny) return done('failed: success (the request was approved although a deny was asked for)', 3);
        return done('approved', 0);
      case 'aborted':
        if (deny) return done('denied', 0);
        return done(`failed: aborted ${page.message}`, 3);
      case undefined: {
        // provider's auto-submitting form_post page (verification_uri_complete): submit it
        const auto = page.forms.length === 1 && page.forms[0].fields.every((f) => f.type === 'hidden')
          ? page.forms[0] : undefined;
        if (!auto || page.status !== 200) return done(`failed: unexpected page (HTTP ${page.status}) at ${page.url.href}`, 3);
        const data = Object.fromEntries(auto.fields.map((f) => [f.name, f.value]));
        codeSubmitted = true;
        page = await load(auto.method, new URL(auto.action || page.url.href, page.url), data);
        break;
      }
      default: // login-failed, code-not-found, code-expired, code-already-used, no-code, error
        return done(`failed: ${page.state} ${page.message}`, 3);
    }
  }
  return done('failed: too many steps', 3);
}

main().catch((err) => {
  console.error(`approve.mjs: ${err.stack || err}`);
  done(`failed: exception ${err.message}`, 3);
});

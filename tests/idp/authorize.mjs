#!/usr/bin/env node
// Headless "browser" for the authorization-code flow of vmauth's test IdP (server.mjs): opens an
// authorization URL (as a CLI prints it, plain or PAR `request_uri`), signs in through the provider's
// real login and consent pages (path-aware cookie jar, redirects followed by hand, only the HTML forms
// the provider serves: no backdoor), and then either follows the final redirect to the client's
// redirect_uri (e.g. a loopback listener on 127.0.0.1) or prints it. The approve.mjs counterpart for
// the device flow.
//
//   node authorize.mjs [options] <AUTHORIZATION_URL>
//
// Options:
//   --issuer URL        the provider (default $IDP_ISSUER or http://127.0.0.1:${IDP_PORT:-9090}); a redirect
//                       to any other origin that carries `code`, `error` or `state` is the client redirect
//   --user NAME         login name or email (default alice)
//   --password PW       password (default: the user's password from config.json)
//   --deny              press "Deny" on the consent page (same as --deny-at consent)
//   --deny-at STAGE     login ("Cancel" on the login page) or consent ("Deny")
//   --no-follow         print the client redirect URL on stdout and stop (for a "paste the URL" test)
//   --report FILE       (follow mode) write a JSON report of what the client's listener answered:
//                       {redirect, hops:[{url,status,location}], final_url, status, headers, body}
//   --verbose, -v       log every HTTP exchange to stderr
//
// Follow mode (the default) does what a browser does with the redirect: GET it, then follow further
// redirects on the listener's own origin (at most 5), and keep the last page.
//
// Exit status: 0 = the client redirect carried a `code` (and, when following, the listener answered
// with any HTTP status); 2 = usage error; 3 = the flow failed at the provider (error page, unexpected
// page, bad client or redirect_uri); 4 = the listener could not be reached (follow mode); 5 = the client
// redirect carried `error=` (e.g. after --deny; followed too unless --no-follow).
// The last stdout line is the client redirect URL (--no-follow), `followed <status> <final_url>`, or
// `failed: <state> <message>`.
//
// Page flow: GET /auth (or /auth?client_id=...&request_uri=... after PAR) -> 303 /interaction/:uid
// (login) -> POST .../login -> 303 /auth/:uid -> 303 /interaction/:uid2 (consent) -> POST
// .../confirm -> 303 /auth/:uid2 -> 303 redirect_uri?code=...&state=...&iss=... Every provider page
// carries <body data-op-state="...">, which drives the loop below.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  if (msg) console.error(`authorize.mjs: ${msg}`);
  console.error('usage: node authorize.mjs [--issuer URL] [--user NAME] [--password PW] [--deny | --deny-at login|consent] [--no-follow] [--report FILE] [-v] <AUTHORIZATION_URL>');
  process.exit(2);
}

// ---------------------------------------------------------------- arguments
const opts = {
  issuer: process.env.IDP_ISSUER || `http://127.0.0.1:${process.env.IDP_PORT || 9090}`,
  user: 'alice',
  password: undefined,
  denyAt: undefined,
  follow: true,
  report: undefined,
  verbose: false,
  url: undefined,
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
    case '--deny': opts.denyAt ??= 'consent'; break;
    case '--deny-at': opts.denyAt = val(); break;
    case '--no-follow': opts.follow = false; break;
    case '--report': opts.report = val(); break;
    case '-v': case '--verbose': opts.verbose = true; break;
    case '-h': case '--help': usage(); break;
    default:
      if (a.startsWith('-')) usage(`unknown option ${a}`);
      if (opts.url) usage('only one URL expected');
      opts.url = a;
  }
}
if (!opts.url) usage('missing authorization URL');
if (!/^https?:\/\//.test(opts.url)) usage('the authorization URL must be http(s)');
if (opts.denyAt && !['login', 'consent'].includes(opts.denyAt)) usage('--deny-at must be login or consent');
const idpOrigin = new URL(opts.issuer).origin;

if (opts.password === undefined) {
  try {
    const cfg = JSON.parse(fs.readFileSync(path.resolve(here, process.env.IDP_CONFIG_FILE || 'config.json'), 'utf8'));
    const users = cfg.users || {};
    const entry = users[opts.user]
      || Object.values(users).find((u) => u.email?.toLowerCase() === opts.user.toLowerCase());
    opts.password = entry?.password;
  } catch { /* no config: password must be given */ }
  if (opts.password === undefined && opts.denyAt !== 'login') usage(`no password known for user ${opts.user}; pass --password`);
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

// ---------------------------------------------------------------- http
// Cookies go only to the provider's origin (a browser would not send them to the client's listener).
async function send(method, url, form) {
  const headers = { accept: 'text/html', 'user-agent': 'vmauth-idp-authorize/1.0' };
  if (url.origin === idpOrigin) {
    const cookie = cookieHeader(url);
    if (cookie) headers.cookie = cookie;
  }
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const res = await fetch(url, {
    method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(20000),
  });
  if (url.origin === idpOrigin) storeCookies(res, url);
  const text = await res.text();
  log(`${method} ${url.href} -> ${res.status}${res.headers.get('location') ? ` Location: ${res.headers.get('location')}` : ''}`);
  return { res, text };
}

// A redirect that leaves the provider and carries an authorization response is the client redirect.
function isClientRedirect(url) {
  if (url.origin === idpOrigin) return false;
  const q = url.searchParams;
  return q.has('code') || q.has('error') || q.has('state') || /[#&](code|error|state)=/.test(url.hash);
}

// Navigate the provider's pages. Returns { page } for a provider page, or { client: URL } when the
// provider redirects to the client (or renders an auto-submitting form_post page aimed at it).
async function navigate(method, url, form) {
  let { res, text } = await send(method, url, form);
  for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.get('location'); hops += 1) {
    if (hops > 15) throw new Error('too many redirects');
    const next = new URL(res.headers.get('location'), url);
    if (isClientRedirect(next)) return { client: next };
    url = next;
    ({ res, text } = await send('GET', url));
  }
  const page = {
    url, status: res.status, text, state: pageState(text), forms: parseForms(text), message: pageMessage(text),
  };
  // response_mode=form_post: a page whose only form posts hidden fields to another origin
  if (page.forms.length === 1 && page.forms[0].action) {
    const f = page.forms[0];
    const target = new URL(f.action, url);
    if (target.origin !== idpOrigin && f.fields.every((x) => x.type === 'hidden') && f.fields.some((x) => ['code', 'error', 'state'].includes(x.name))) {
      const u = new URL(target);
      for (const x of f.fields) u.searchParams.set(x.name, x.value);
      return { client: u, formPost: { action: target, fields: Object.fromEntries(f.fields.map((x) => [x.name, x.value])) } };
    }
  }
  return { page };
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

async function submit(page, formId, overrides = {}) {
  const form = page.forms.find((f) => f.id === formId);
  if (!form) throw new Error(`form ${formId} not found on ${page.url}`);
  const data = {};
  for (const f of form.fields) data[f.name] = f.value;
  Object.assign(data, overrides);
  const target = new URL(form.action || page.url.href, page.url);
  log(`  submit ${formId} fields=${Object.keys(data).join(',')}`);
  return navigate(form.method, target, form.method === 'POST' ? data : undefined);
}

// ---------------------------------------------------------------- the client side of the redirect
async function followToClient(first, formPost) {
  const hops = [];
  let url = first;
  let res;
  let text = '';
  try {
    if (formPost) {
      ({ res, text } = await send('POST', formPost.action, formPost.fields));
      url = formPost.action;
    } else {
      ({ res, text } = await send('GET', url));
    }
    hops.push({ url: url.href, status: res.status, location: res.headers.get('location') });
    for (let n = 0; n < 5 && res.status >= 300 && res.status < 400 && res.headers.get('location'); n += 1) {
      const next = new URL(res.headers.get('location'), url);
      if (next.origin !== first.origin) break; // a browser would go on; the listener's own pages are what we check
      url = next;
      ({ res, text } = await send('GET', url));
      hops.push({ url: url.href, status: res.status, location: res.headers.get('location') });
    }
  } catch (err) {
    return { error: `${err.cause?.code || err.name}: ${err.cause?.message || err.message}`, hops };
  }
  return {
    hops, final_url: url.href, status: res.status, headers: Object.fromEntries(res.headers.entries()), body: text,
  };
}

// ---------------------------------------------------------------- the flow
function done(outcome, code) {
  console.log(outcome);
  process.exit(code);
}

async function main() {
  let step = await navigate('GET', new URL(opts.url));
  for (let n = 0; n < 25 && step.page; n += 1) {
    const { page } = step;
    log(`page state=${page.state ?? '(none)'} status=${page.status} url=${page.url.pathname}`);
    switch (page.state) {
      case 'login':
        step = opts.denyAt === 'login'
          ? await submit(page, 'abort-form')
          : await submit(page, 'login-form', { login: opts.user, password: opts.password ?? '' });
        break;
      case 'consent':
        step = opts.denyAt === 'consent'
          ? await submit(page, 'abort-form')
          : await submit(page, 'consent-form');
        break;
      case undefined:
        return done(`failed: unexpected-page HTTP ${page.status} at ${page.url.href}: ${page.text.replace(/\s+/g, ' ').slice(0, 200)}`, 3);
      default: // login-failed, error, ...
        return done(`failed: ${page.state} ${page.message}`, 3);
    }
  }
  if (!step.client) return done('failed: too many steps', 3);
  const redirect = step.client;
  const isError = redirect.searchParams.has('error');
  log(`client redirect: ${redirect.href}`);
  if (!opts.follow) return done(redirect.href, isError ? 5 : 0);
  const r = await followToClient(redirect, step.formPost);
  if (opts.report) fs.writeFileSync(opts.report, `${JSON.stringify({ redirect: redirect.href, ...r }, null, 1)}\n`);
  if (r.error) return done(`failed: listener-unreachable ${r.error} (${redirect.origin})`, 4);
  return done(`followed ${r.status} ${r.final_url}`, isError ? 5 : 0);
}

main().catch((err) => {
  console.error(`authorize.mjs: ${err.stack || err}`);
  done(`failed: exception ${err.message}`, 3);
});

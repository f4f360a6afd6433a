#!/usr/bin/env node
// Headless "browser" for the authorization-code flow of vmauth's test IdP (server.mjs): opens an
// authorization URL (as a CLI prints it, plain or PAR `request_uri`), signs in through the provider's
// real login and consent pages (path-aware cookie jar, redirects followed by hand, only the HTML forms
// the provider serves: no backdoor), and then either follows the final redirect to the client's
// redirect_uri (e.g. a loopback listener on 127.0.0.1) or prints it. The approve.mjs counterpart for
// the device flow; the browser itself (options, cookie jar, HTTP, page parsing, login/consent
// answers) is browser.mjs, shared with approve.mjs. This file has the flow's own options, the
// client-redirect detection (also response_mode=form_post), the following of that redirect, and the loop.
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
import { answerInteraction, createBrowser, done, lookUpPassword, makeUsage, parseArgs, readPage, run } from './browser.mjs';

const usage = makeUsage('authorize.mjs', 'node authorize.mjs [--issuer URL] [--user NAME] [--password PW] [--deny | --deny-at login|consent] [--no-follow] [--report FILE] [-v] <AUTHORIZATION_URL>');

// ---------------------------------------------------------------- arguments
const opts = parseArgs(process.argv.slice(2), usage, {
  deny: 'consent',
  denyStages: ['login', 'consent'],
  positional: {
    key: 'url',
    missing: 'missing authorization URL',
    duplicate: 'only one URL expected',
    pattern: /^https?:\/\//,
    invalid: 'the authorization URL must be http(s)',
  },
  defaults: { follow: true, report: undefined },
  extra: {
    '--no-follow': (o) => { o.follow = false; },
    '--report': (o, val) => { o.report = val(); },
  },
});
const idpOrigin = new URL(opts.issuer).origin;
lookUpPassword(opts, usage, ['login']);

// ---------------------------------------------------------------- the browser
// Cookies go only to the provider's origin (a browser would not send them to the client's listener).
const { log, send, navigate, formRequest } = createBrowser({
  userAgent: 'vmauth-idp-authorize/1.0',
  verbose: opts.verbose,
  cookieOrigin: idpOrigin,
  timeoutMs: 20000,
});

// A redirect that leaves the provider and carries an authorization response is the client redirect.
function isClientRedirect(url) {
  if (url.origin === idpOrigin) return false;
  const q = url.searchParams;
  return q.has('code') || q.has('error') || q.has('state') || /[#&](code|error|state)=/.test(url.hash);
}

// Navigate the provider's pages. Returns { page } for a provider page, or { client: URL } when the
// provider redirects to the client (or renders an auto-submitting form_post page aimed at it).
async function open(method, url, form) {
  const r = await navigate(method, url, form, { maxHops: 15, stopAt: isClientRedirect });
  if (r.redirect) return { client: r.redirect };
  const page = readPage(r);
  // response_mode=form_post: a page whose only form posts hidden fields to another origin
  if (page.forms.length === 1 && page.forms[0].action) {
    const f = page.forms[0];
    const target = new URL(f.action, page.url);
    if (target.origin !== idpOrigin && f.fields.every((x) => x.type === 'hidden') && f.fields.some((x) => ['code', 'error', 'state'].includes(x.name))) {
      const u = new URL(target);
      for (const x of f.fields) u.searchParams.set(x.name, x.value);
      return { client: u, formPost: { action: target, fields: Object.fromEntries(f.fields.map((x) => [x.name, x.value])) } };
    }
  }
  return { page };
}

async function submit(page, formId, overrides = {}) {
  return open(...formRequest(page, formId, overrides));
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
async function main() {
  let step = await open('GET', new URL(opts.url));
  for (let n = 0; n < 25 && step.page; n += 1) {
    const { page } = step;
    log(`page state=${page.state ?? '(none)'} status=${page.status} url=${page.url.pathname}`);
    switch (page.state) {
      case 'login':
      case 'consent':
        step = await answerInteraction(page, opts, submit);
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

run('authorize.mjs', main);

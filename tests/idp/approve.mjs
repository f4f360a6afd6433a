#!/usr/bin/env node
// Headless "browser" for the device flow of vmauth's test IdP (server.mjs): approves or denies
// a user_code by driving the provider's real pages over HTTP (device verification form + xsrf,
// confirmation form, login interaction, consent interaction), with a path-aware cookie jar and
// redirects followed by hand. No backdoor: it only submits the HTML forms the provider serves.
// The browser itself (options, cookie jar, HTTP, page parsing, login/consent answers) is
// browser.mjs, shared with authorize.mjs; this file has the device flow's options and loop.
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
import { answerInteraction, createBrowser, done, lookUpPassword, makeUsage, parseArgs, readPage, run } from './browser.mjs';

const usage = makeUsage('approve.mjs', 'node approve.mjs [--issuer URL] [--user NAME] [--password PW] [--deny | --deny-at confirm|login|consent] [-v] <USER_CODE | verification_uri_complete>');

// ---------------------------------------------------------------- arguments
const opts = parseArgs(process.argv.slice(2), usage, {
  deny: 'confirm',
  denyStages: ['confirm', 'login', 'consent'],
  positional: { key: 'code', missing: 'missing user code', duplicate: 'only one user code expected' },
});
opts.issuer = opts.issuer.replace(/\/+$/, '');
lookUpPassword(opts, usage, ['confirm', 'login']);

// ---------------------------------------------------------------- the browser
const { log, navigate, formRequest } = createBrowser({
  userAgent: 'vmauth-idp-approve/1.0',
  verbose: opts.verbose,
  logUrl: (url) => `${url.pathname}${url.search}`,
});

async function load(method, url, form) {
  return readPage(await navigate(method, url, form));
}

async function submit(page, formId, overrides = {}, remove = []) {
  return load(...formRequest(page, formId, overrides, remove));
}

// ---------------------------------------------------------------- the flow
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
      case 'consent':
        page = await answerInteraction(page, opts, submit);
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

run('approve.mjs', main);

// The headless "browser" shared by approve.mjs (device flow) and authorize.mjs (authorization-code
// flow) of vmauth's test IdP (server.mjs): the options both take, the user's password from
// config.json, a path-aware cookie jar, HTTP with redirects followed by hand, and the parsing of the
// provider's pages (HTML forms, <body data-op-state="...">, id="op-message"). It only submits the
// HTML forms the provider serves: no backdoor. Not a script of its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------- command line
// usage(msg) prints `<script>: msg` (if any) and the usage line on stderr, and exits with status 2.
export function makeUsage(script, usageLine) {
  return (msg) => {
    if (msg) console.error(`${script}: ${msg}`);
    console.error(`usage: ${usageLine}`);
    process.exit(2);
  };
}

// Parses the options both scripts take (--issuer, --user, --password, --deny, --deny-at,
// -v/--verbose, -h/--help), the script's own flags in `extra` ({ '--flag': (opts, val) => ... },
// val() takes the option's value) and the one positional argument, stored as opts[positional.key].
// --deny means --deny-at `deny` (unless --deny-at was given); --deny-at takes one of denyStages.
// positional: { key, missing, duplicate } usage messages, and optionally { pattern, invalid }.
export function parseArgs(argv, usage, {
  deny, denyStages, positional, defaults = {}, extra = {},
}) {
  const opts = {
    issuer: process.env.IDP_ISSUER || `http://127.0.0.1:${process.env.IDP_PORT || 9090}`,
    user: 'alice',
    password: undefined,
    denyAt: undefined,
    verbose: false,
    ...defaults,
    [positional.key]: undefined,
  };
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
      case '--deny': opts.denyAt ??= deny; break;
      case '--deny-at': opts.denyAt = val(); break;
      case '-v': case '--verbose': opts.verbose = true; break;
      case '-h': case '--help': usage(); break;
      default:
        if (Object.hasOwn(extra, a)) {
          extra[a](opts, val);
          break;
        }
        if (a.startsWith('-')) usage(`unknown option ${a}`);
        if (opts[positional.key]) usage(positional.duplicate);
        opts[positional.key] = a;
    }
  }
  if (!opts[positional.key]) usage(positional.missing);
  if (positional.pattern && !positional.pattern.test(opts[positional.key])) usage(positional.invalid);
  if (opts.denyAt && !denyStages.includes(opts.denyAt)) {
    usage(`--deny-at must be ${denyStages.slice(0, -1).join(', ')} or ${denyStages.at(-1)}`);
  }
  return opts;
}

// Without --password: the user's password from config.json ($IDP_CONFIG_FILE), found by login name
// or email. A usage error when there is none, unless opts.denyAt is one of `noPasswordStages`.
export function lookUpPassword(opts, usage, noPasswordStages) {
  if (opts.password !== undefined) return;
  try {
    const cfg = JSON.parse(fs.readFileSync(path.resolve(here, process.env.IDP_CONFIG_FILE || 'config.json'), 'utf8'));
    const users = cfg.users || {};
    const entry = users[opts.user]
      || Object.values(users).find((u) => u.email?.toLowerCase() === opts.user.toLowerCase());
    opts.password = entry?.password;
  } catch { /* no config: password must be given */ }
  if (opts.password === undefined && !noPasswordStages.includes(opts.denyAt)) {
    usage(`no password known for user ${opts.user}; pass --password`);
  }
}

// ---------------------------------------------------------------- cookie jar (RFC 6265 subset)
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
function cookieJar() {
  const jar = []; // { name, value, path }
  return {
    store(res, url) {
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
    },
    header(url) {
      return jar
        .filter((c) => pathMatches(url.pathname, c.path))
        .sort((a, b) => b.path.length - a.path.length)
        .map((c) => `${c.name}=${c.value}`)
        .join('; ');
    },
  };
}

// ---------------------------------------------------------------- http with manual redirects
// One browser: its cookie jar and its --verbose log (stderr).
//   userAgent     the User-Agent header
//   verbose       log every HTTP exchange (and whatever the script logs with log())
//   cookieOrigin  send and keep cookies only for this origin (default: every origin)
//   timeoutMs     abort a request after this long (default: no timeout)
//   logUrl        how a request's URL is shown in the log (default: url.href)
export function createBrowser({
  userAgent, verbose, cookieOrigin, timeoutMs, logUrl = (url) => url.href,
}) {
  const jar = cookieJar();
  const log = (...args) => { if (verbose) console.error(...args); };

  async function send(method, url, form) {
    const withCookies = cookieOrigin === undefined || url.origin === cookieOrigin;
    const headers = { accept: 'text/html', 'user-agent': userAgent };
    if (withCookies) {
      const cookie = jar.header(url);
      if (cookie) headers.cookie = cookie;
    }
    let body;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(url, {
      method, headers, body, redirect: 'manual', signal: timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs),
    });
    if (withCookies) jar.store(res, url);
    const text = await res.text();
    log(`${method} ${logUrl(url)} -> ${res.status}${res.headers.get('location') ? ` Location: ${res.headers.get('location')}` : ''}`);
    return { res, text };
  }

  // Sends the request and GETs the redirects (more than maxHops + 1 of them: an error). Returns
  // { url, res, text } for the last answer, or { redirect: URL } for the first redirect that
  // stopAt(url) picks, without following it.
  async function navigate(method, url, form, { maxHops = 10, stopAt = () => false } = {}) {
    let { res, text } = await send(method, url, form);
    for (let hops = 0; res.status >= 300 && res.status < 400 && res.headers.get('location'); hops += 1) {
      if (hops > maxHops) throw new Error('too many redirects');
      const next = new URL(res.headers.get('location'), url);
      if (stopAt(next)) return { redirect: next };
      url = next;
      ({ res, text } = await send('GET', url));
    }
    return { url, res, text };
  }

  // The request that submitting form `formId` of `page` makes: its fields as served, minus `remove`,
  // plus `overrides`. Returns [method, target URL, form data (POST only)] for navigate().
  function formRequest(page, formId, overrides = {}, remove = []) {
    const form = page.forms.find((f) => f.id === formId);
    if (!form) throw new Error(`form ${formId} not found on ${page.url}`);
    const data = {};
    for (const f of form.fields) data[f.name] = f.value;
    for (const k of remove) delete data[k];
    Object.assign(data, overrides);
    const target = new URL(form.action || page.url.href, page.url);
    log(`  submit ${formId} fields=${Object.keys(data).join(',')}`);
    return [form.method, target, form.method === 'POST' ? data : undefined];
  }

  return {
    log, send, navigate, formRequest,
  };
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
export function parseForms(html) {
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
export function pageState(html) {
  return /<body[^>]*\bdata-op-state="([^"]*)"/i.exec(html)?.[1];
}
export function pageMessage(html) {
  const m = /id="op-message"[^>]*>([\s\S]*?)<\//i.exec(html);
  return m ? decode(m[1]).replace(/\s+/g, ' ').trim() : '';
}

// A page as the flow loops see it, from navigate()'s { url, res, text }.
export function readPage({ url, res, text }) {
  return {
    url, status: res.status, text, state: pageState(text), forms: parseForms(text), message: pageMessage(text),
  };
}

// ---------------------------------------------------------------- the login and consent pages
// What both flows do on the provider's interaction pages (state `login` or `consent`): sign in as
// opts.user and allow, or press "Cancel" / "Deny" where opts.denyAt names the page. Returns what
// submit(page, formId, overrides) returns.
export function answerInteraction(page, opts, submit) {
  if (page.state === 'login') {
    return opts.denyAt === 'login'
      ? submit(page, 'abort-form')
      : submit(page, 'login-form', { login: opts.user, password: opts.password ?? '' });
  }
  if (page.state === 'consent') {
    return opts.denyAt === 'consent'
      ? submit(page, 'abort-form')
      : submit(page, 'consent-form');
  }
  throw new Error(`not a login or consent page: ${page.state}`);
}

// ---------------------------------------------------------------- outcome
// The last stdout line and the exit status.
export function done(outcome, code) {
  console.log(outcome);
  process.exit(code);
}

// Runs the flow; an exception is `failed: exception <message>`, exit status 3 (stack on stderr).
export function run(script, main) {
  main().catch((err) => {
    console.error(`${script}: ${err.stack || err}`);
    done(`failed: exception ${err.message}`, 3);
  });
}

// vmauth's own test OpenID Provider (end-to-end tests and local development).
//
// Built on panva's oidc-provider 9.13.3 (OpenID Certified; pinned in package.json and
// package-lock.json). TEST USE ONLY: every secret, password and key here is public, and all
// state is kept in memory (lost on restart).
//
// Configured by environment variables (see README.md) and config.json. Protocol on stdout:
//   1. exactly one line `IDP_READY issuer=http://127.0.0.1:<port> platform=http://127.0.0.1:<port2>`
//      once it is listening (IDP_PORT=0, the default, picks a free port; the issuer uses the
//      real bound port). `platform=` is the issuer of the CI-platform stub (platform.mjs), which
//      always runs in this process on its own ephemeral port;
//   2. then one access-log line per request, e.g.
//      `POST /token 400 grant_type=refresh_token error=invalid_grant client_id=vmauth-cli`
//      (grant_type for the token endpoint, error when the answer is an OAuth error, then the
//      non-secret request details of requestDetail(): client_id, and for authorization/PAR
//      requests response_type, redirect_uri, code_challenge_method, state/nonce presence, ...),
//      and one `PLATFORM <METHOD> <path> <status> key=value...` line per request to the stub.
// Secretless CI (federation.mjs): the IdP trusts the stub's tokens as federated client
// credentials, as RFC 7523 JWT-bearer grants and as RFC 8693 token-exchange subject tokens.
// Everything else (settings, the Node 20 "Unsupported runtime" warning, library notices,
// server errors) goes to stderr.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider, { errors } from 'oidc-provider';

import {
  FEDERATION_GTYS, TOKEN_EXCHANGE_GRANT, federationExtraClaims, federationTrust, installFederation,
} from './federation.mjs';
import { DEFAULT_REQUEST_TOKEN, startPlatform } from './platform.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

// oidc-provider prints its "NOTICE" messages with console.info, i.e. on stdout; keep stdout
// for the ready line and the access log only.
console.info = (...args) => console.error(...args);

// ---------------------------------------------------------------------------
// environment knobs
// ---------------------------------------------------------------------------
function intEnv(name, dflt, min = 0) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min) {
    throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return v;
}
function boolEnv(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  return !['0', 'false', 'no', 'off'].includes(raw.toLowerCase());
}

const HOST = process.env.IDP_HOST || '127.0.0.1';
const PORT = intEnv('IDP_PORT', 0, 0); // 0 = ephemeral port
const ACCESS_TOKEN_TTL = intEnv('IDP_ACCESS_TOKEN_TTL', 3600, 1);
const CLIENT_CREDENTIALS_TTL = intEnv('IDP_CLIENT_CREDENTIALS_TTL', ACCESS_TOKEN_TTL, 1);
const ID_TOKEN_TTL = intEnv('IDP_ID_TOKEN_TTL', 3600, 1);
const REFRESH_TOKEN_TTL = intEnv('IDP_REFRESH_TOKEN_TTL', 14 * 24 * 3600, 1);
const DEVICE_CODE_TTL = intEnv('IDP_DEVICE_CODE_TTL', 600, 1);
const POLL_INTERVAL = intEnv('IDP_DEVICE_POLL_INTERVAL', 1, 0);
const SLOW_DOWN = boolEnv('IDP_SLOW_DOWN', true);
const SLOW_DOWN_INCREMENT = intEnv('IDP_SLOW_DOWN_INCREMENT', 5, 0);
const SLOW_DOWN_TOLERANCE_MS = intEnv('IDP_SLOW_DOWN_TOLERANCE_MS', 100, 0);
const ROTATE_REFRESH_TOKEN = boolEnv('IDP_REFRESH_TOKEN_ROTATION', true);
const ISSUE_REFRESH_TOKEN = (process.env.IDP_ISSUE_REFRESH_TOKEN || 'offline_access').toLowerCase();
const ACCESS_LOG = boolEnv('IDP_ACCESS_LOG', true);
// Set by the Rust test harness: exit when stdin closes, so an IdP never outlives a test
// process that was killed before it could drop its `Idp`.
const EXIT_ON_STDIN_EOF = boolEnv('IDP_EXIT_ON_STDIN_EOF', false);
const CONFIG_FILE = path.resolve(here, process.env.IDP_CONFIG_FILE || 'config.json');
const EXTRA_AUDIENCES = (process.env.IDP_EXTRA_AUDIENCES || '').split(',').map((s) => s.trim()).filter(Boolean);
const OPAQUE_AUDIENCES = (process.env.IDP_OPAQUE_AUDIENCES || '').split(',').map((s) => s.trim()).filter(Boolean);
// Protected resources on loopback with a port unknown when the IdP starts (e.g. the MCP server of
// tests/python/mcp_resource.py on an ephemeral port): accept any http://127.0.0.1:<port>/... or
// http://[::1]:<port>/... resource indicator, with opaque access tokens (introspection shows
// `aud`) and the scopes IDP_LOOPBACK_RESOURCE_SCOPES.
const LOOPBACK_RESOURCES = boolEnv('IDP_LOOPBACK_RESOURCES', false);
const LOOPBACK_RESOURCE_SCOPES = (process.env.IDP_LOOPBACK_RESOURCE_SCOPES ?? 'mcp').split(/[\s,]+/).filter(Boolean).join(' ');
// RFC 7591 dynamic client registration (+ RFC 7592 management): off unless asked for.
const REGISTRATION_IAT = process.env.IDP_REGISTRATION_INITIAL_ACCESS_TOKEN || '';
const REGISTRATION = boolEnv('IDP_REGISTRATION', false) || REGISTRATION_IAT !== '';
const REGISTRATIONS_FILE = process.env.IDP_REGISTRATIONS_FILE ? path.resolve(process.env.IDP_REGISTRATIONS_FILE) : '';
// RFC 6749 section 5.2 error code for a grant the client is not registered for (see README)
const UNAUTHORIZED_CLIENT = boolEnv('IDP_UNAUTHORIZED_CLIENT', true);
// CI-platform stub: the request token its GitHub and Azure endpoints expect
const PLATFORM_REQUEST_TOKEN = process.env.IDP_PLATFORM_REQUEST_TOKEN || DEFAULT_REQUEST_TOKEN;
// a jwt-bearer grant request must name a federation rule (federation_rule_id)
const REQUIRE_FEDERATION_RULE = boolEnv('IDP_REQUIRE_FEDERATION_RULE', false);

if (!['offline_access', 'always'].includes(ISSUE_REFRESH_TOKEN)) {
  throw new Error('IDP_ISSUE_REFRESH_TOKEN must be "offline_access" or "always"');
}

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

// ---------------------------------------------------------------------------
// fixtures: clients, users, resource servers (config.json)
// ---------------------------------------------------------------------------
const fixtures = JSON.parse(fs.readFileSync(CONFIG_FILE, 'utf8'));
const configDir = path.dirname(CONFIG_FILE);

const clients = fixtures.clients.map(({ jwks_file: jwksFile, ...client }) => {
  if (jwksFile) {
    return { ...client, jwks: JSON.parse(fs.readFileSync(path.resolve(configDir, jwksFile), 'utf8')) };
  }
  return client;
});

const users = fixtures.users || {};
const resources = { ...(fixtures.resources || {}) };
for (const aud of EXTRA_AUDIENCES) {
  resources[aud] ??= { scope: 'api:read api:write', accessTokenFormat: 'jwt' };
}
for (const aud of OPAQUE_AUDIENCES) {
  resources[aud] ??= { scope: 'api:read api:write', accessTokenFormat: 'opaque' };
}

// IDP_LOOPBACK_RESOURCES: a resource indicator naming a loopback server on an explicit port,
// over plain http, without user info or fragment (any path and query), is a resource server
// with opaque tokens; anything else is not
function loopbackResource(resourceIndicator) {
  if (!LOOPBACK_RESOURCES || typeof resourceIndicator !== 'string') return undefined;
  const url = URL.parse(resourceIndicator);
  if (!url || url.protocol !== 'http:' || !['127.0.0.1', '[::1]'].includes(url.hostname) || url.port === ''
    || url.username || url.password || url.hash || resourceIndicator.includes('#')) return undefined;
  return { scope: LOOPBACK_RESOURCE_SCOPES, accessTokenFormat: 'opaque' };
}

// resource server info for oidc-provider (getResourceServerInfo) and the federation grants
async function resourceServerInfo(ctx, resourceIndicator) {
  const rs = Object.hasOwn(resources, resourceIndicator) ? resources[resourceIndicator] : loopbackResource(resourceIndicator);
  if (!rs) throw new errors.InvalidTarget(`unknown resource/audience ${resourceIndicator}`);
  return {
    scope: rs.scope ?? '',
    audience: rs.audience,
    accessTokenTTL: rs.accessTokenTTL,
    accessTokenFormat: rs.accessTokenFormat ?? 'jwt',
    jwt: { sign: { alg: rs.alg ?? 'RS256' } },
  };
}

// ---------------------------------------------------------------------------
// CI-platform stub (platform.mjs), started before the IdP listens, and the IdP's trust in it
// (config.json `federation`, its issuer "platform" being the stub's URL)
// ---------------------------------------------------------------------------
let platform;
try {
  platform = await startPlatform({ host: HOST, requestToken: PLATFORM_REQUEST_TOKEN, accessLog: ACCESS_LOG });
} catch (err) {
  console.error(`cannot listen on ${HOST}:0 (CI-platform stub): ${err.code || err.message}`);
  process.exit(1);
}
const trust = federationTrust(fixtures.federation, { platformIssuer: platform.issuer });
// a client with a federated credential authenticates with its platform token only; the
// client_secret oidc-provider checks is a random one that only this process knows
for (const client of clients) {
  const credential = trust.credentials.get(client.client_id);
  if (credential) client.client_secret = credential.secret;
}

// login by user name or (case-insensitive) email
function findUser(login) {
  if (!login) return undefined;
  if (Object.hasOwn(users, login)) return [login, users[login]];
  const lower = login.toLowerCase();
  return Object.entries(users).find(([, u]) => u.email?.toLowerCase() === lower);
}

// ---------------------------------------------------------------------------
// signing keys: IDP_JWKS_FILE (private JWKS) or fresh RS256 + ES256 keys per start
// ---------------------------------------------------------------------------
function signingKeys() {
  if (process.env.IDP_JWKS_FILE) {
    return JSON.parse(fs.readFileSync(path.resolve(here, process.env.IDP_JWKS_FILE), 'utf8'));
  }
  // Node 20 deadlock workaround: do NOT call `.export({ format: 'jwk' })` on a KeyObject
  // returned by generateKeyPairSync. JWK export holds the key's mutex while allocating; if
  // that allocation triggers a GC which destroys the (unreachable) key generation job, the
  // job's destructor locks the same mutex and the process hangs forever before listening
  // (seen ~1 start in 25-80 with node v20.20.2). So generate PEM strings and export the JWK
  // from a fresh KeyObject that shares no mutex with any generation job.
  const pem = { privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } };
  const jwk = (type, options) => crypto.createPrivateKey(crypto.generateKeyPairSync(type, { ...options, ...pem }).privateKey)
    .export({ format: 'jwk' });
  const rsa = jwk('rsa', { modulusLength: 2048 });
  const ec = jwk('ec', { namedCurve: 'P-256' });
  const stamp = Date.now().toString(36);
  return {
    keys: [
      { ...rsa, kid: `rs256-${stamp}`, alg: 'RS256', use: 'sig' },
      { ...ec, kid: `es256-${stamp}`, alg: 'ES256', use: 'sig' },
    ],
  };
}

// ---------------------------------------------------------------------------
// storage adapter: in-memory like oidc-provider's bundled MemoryAdapter, but WITHOUT its
// 1000-entry LRU cap (which silently evicts live tokens/sessions once a long test run has
// created a few hundred artifacts). Entries live for their TTL + clockTolerance (15 s),
// exactly like the bundled adapter, so an expired device code still answers `expired_token`
// for 15 s and `invalid_grant` afterwards.
// ---------------------------------------------------------------------------
const CLOCK_TOLERANCE = 15; // oidc-provider default, kept so behaviour matches the bundled adapter
const store = new Map(); // key -> { value, expiresAt }
const grantMembers = new Map(); // grantId -> Set(key), for revokeByGrantId

function storeGet(key) {
  const entry = store.get(key);
  if (!entry) return undefined;
  if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
    store.delete(key);
    return undefined;
  }
  return entry.value;
}
function storeSet(key, value, expiresAt) {
  store.set(key, { value, expiresAt });
}
setInterval(() => { // periodic sweep of expired entries
  const now = Date.now();
  for (const [key, entry] of store) {
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) store.delete(key);
  }
  for (const [grantId, keys] of grantMembers) {
    for (const key of keys) if (!store.has(key)) keys.delete(key);
    if (!keys.size) grantMembers.delete(grantId);
  }
}, 30_000).unref();

class TestAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + (expiresIn + CLOCK_TOLERANCE) * 1000 : undefined;
    if (this.model === 'Session' && payload.uid) storeSet(`sessionUid:${payload.uid}`, id, expiresAt);
    if (payload.userCode) storeSet(`userCode:${payload.userCode}`, id, expiresAt);
    if (payload.grantId && this.model !== 'Grant') {
      if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
      grantMembers.get(payload.grantId).add(key);
    }
    storeSet(key, payload, expiresAt);
  }

  async find(id) {
    return storeGet(this.key(id));
  }

  async findByUid(uid) {
    const id = storeGet(`sessionUid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = storeGet(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = storeGet(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    const key = this.key(id);
    const payload = storeGet(key);
    store.delete(key);
    if (payload?.userCode && storeGet(`userCode:${payload.userCode}`) === id) store.delete(`userCode:${payload.userCode}`);
    if (payload?.uid && this.model === 'Session' && storeGet(`sessionUid:${payload.uid}`) === id) store.delete(`sessionUid:${payload.uid}`);
  }

  async revokeByGrantId(grantId) {
    const keys = grantMembers.get(grantId);
    if (!keys) return;
    for (const key of [...keys]) {
      if (key.startsWith(`${this.model}:`)) {
        store.delete(key);
        keys.delete(key);
      }
    }
    if (!keys.size) grantMembers.delete(grantId);
  }
}

// ---------------------------------------------------------------------------
// small html helpers for the user-facing pages
// ---------------------------------------------------------------------------
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[c]));

// <body data-op-state="..."> is a stable, machine-readable marker used by approve.mjs.
function page(title, state, body) {
  return `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:sans-serif;max-width:28em;margin:2em auto}input,button{display:block;margin:.5em 0;font-size:1em}.err{color:#b00}</style>
</head>
<body data-op-state="${esc(state)}">
<h1>${esc(title)}</h1>
${body}
</body>
</html>`;
}

// oidc-provider error class name -> data-op-state of the re-rendered device input page
const RERENDER_STATES = {
  NoCodeError: 'no-code',
  NotFoundError: 'code-not-found',
  ExpiredError: 'code-expired',
  AlreadyUsedError: 'code-already-used',
  AbortedError: 'aborted',
};

// ---------------------------------------------------------------------------
// provider configuration
// ---------------------------------------------------------------------------
const jwks = signingKeys(); // kept: the token exchange verifies this IdP's own JWTs with it
const configuration = {
  adapter: TestAdapter,
  clockTolerance: CLOCK_TOLERANCE,
  clients,
  jwks: structuredClone(jwks),
  cookies: { keys: ['vmauth-test-idp-cookie-key-1', 'vmauth-test-idp-cookie-key-2'] },

  async findAccount(ctx, sub) {
    const user = Object.hasOwn(users, sub) ? users[sub] : undefined;
    if (!user) return undefined;
    return {
      accountId: sub,
      async claims() {
        const { password, ...claims } = user;
        return { sub, ...claims };
      },
    };
  },

  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'roles'],
    roles: ['roles'],
  },
  scopes: ['openid', 'offline_access', 'email', 'profile', 'roles'],
  // put the scope-requested claims into the ID token itself (not only into userinfo)
  conformIdTokenClaims: false,
  // Auth0-style `audience` at the authorization endpoint (the device authorization and token
  // endpoints read it from the request body, see defaultResource below)
  extraParams: ['audience'],

  interactions: {
    url(ctx, interaction) {
      return `/interaction/${interaction.uid}`;
    },
  },

  // RFC 7591 section 2 metadata that oidc-provider does not know by itself (it drops unknown
  // client metadata otherwise)
  extraClientMetadata: { properties: ['software_id', 'software_version'] },

  // The authorization-code flow for native clients needs no switch here: oidc-provider 9.13.3's
  // defaults already give PKCE (S256 only, required for public clients, see pkce.required), PAR
  // (RFC 9126, POST /request, enabled but not required), RFC 9207 `iss` in every authorization
  // response, and RFC 8252 loopback redirect URIs that match any port for application_type
  // native clients (client `vmauth-cli-browser` in config.json).
  features: {
    devInteractions: { enabled: false }, // real login/consent pages below instead
    registration: {
      enabled: REGISTRATION,
      initialAccessToken: REGISTRATION_IAT || false,
      issueRegistrationAccessToken: true,
    },
    registrationManagement: { enabled: REGISTRATION, rotateRegistrationAccessToken: false },
    clientCredentials: { enabled: true },
    // allowedPolicy: same rules as the library defaults, but configured explicitly so the
    // library does not print a "you SHOULD change it" notice on first use
    introspection: {
      enabled: true,
      async allowedPolicy(ctx, client, token) {
        // the token of a client deleted by RFC 7592 is inactive (RFC 7592 section 2.3);
        // oidc-provider 9.13.3 would answer a 500 when another client introspects it (it looks
        // up the token's client for its subject type)
        if (token.clientId !== client.clientId && !(await ctx.oidc.provider.Client.find(token.clientId))) return false;
        // anyone may introspect the tokens of secretless CI (so tests can check them as the
        // device client, like tests/support/idp.rs active()); otherwise a public client may
        // only introspect its own tokens
        if (FEDERATION_GTYS.has(token.gty) || trust.credentials.has(token.clientId)) return true;
        return !(client.clientAuthMethod === 'none' && token.clientId !== ctx.oidc.client.clientId);
      },
    },
    revocation: {
      enabled: true,
      async allowedPolicy(ctx, client, token) {
        if (token.clientId !== client.clientId) {
          if (client.clientAuthMethod === 'none') return false;
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        }
        return true;
      },
    },
    userinfo: { enabled: true },
    deviceFlow: {
      enabled: true,
      charset: 'base-20',
      mask: '****-****',
      async userCodeInputSource(ctx, form, out, err) {
        let state = 'input';
        let msg = 'Enter the code displayed on your device';
        if (err) {
          state = RERENDER_STATES[err.name] || 'error';
          msg = state === 'error'
            ? `There was an error processing your request: ${out?.error || ''} ${out?.error_description || ''}`
            : `${err.message}`;
        }
        ctx.body = page('Device sign-in', state, `<p class="${err ? 'err' : ''}" id="op-message">${esc(msg)}</p>
${form}
<button type="submit" form="op.deviceInputForm">Continue</button>`);
      },
      async userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
        ctx.body = page('Confirm device', 'confirm', `<p><strong>${esc(client.clientName || client.clientId)}</strong> is asking to sign in.</p>
<p>The following code should be displayed on your device: <code id="op-user-code">${esc(userCode)}</code></p>
${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`);
      },
      async successSource(ctx) {
        const name = ctx.oidc.client.clientName || ctx.oidc.client.clientId;
        ctx.body = page('Sign-in success', 'success', `<p>Your sign-in with ${esc(name)} was successful, you can now close this page.</p>`);
      },
    },
    resourceIndicators: {
      enabled: true,
      // RFC 8707 `resource` is native. Auth0-style `audience` is mapped onto it here; it is
      // used only when no `resource` parameter was sent.
      async defaultResource(ctx, client, oneOf) {
        const audience = ctx.oidc.params?.audience ?? ctx.oidc.body?.audience;
        if (typeof audience === 'string' && audience) {
          if (!oneOf) return audience;
          if (oneOf.includes(audience)) return audience;
        }
        return oneOf;
      },
      // Auth0-like: a device_code/refresh_token request without `resource` gets an access
      // token for the resource granted at the device authorization request.
      async useGrantedResource() {
        return true;
      },
      getResourceServerInfo: resourceServerInfo,
    },
  },

  async extraTokenClaims(ctx, token) {
    // token exchange: RFC 8693 `act` (JWT claim / introspection member)
    const extra = { ...federationExtraClaims(token) };
    // user-bound access tokens carry the user's roles (JWT claim / introspection member)
    if (token.accountId && Object.hasOwn(users, token.accountId)) {
      extra.roles = users[token.accountId].roles ?? [];
    }
    return Object.keys(extra).length ? extra : undefined;
  },

  async issueRefreshToken(ctx, client, code) {
    if (!client.grantTypeAllowed('refresh_token')) return false;
    return ISSUE_REFRESH_TOKEN === 'always' || code.scopes.has('offline_access');
  },
  rotateRefreshToken: () => ROTATE_REFRESH_TOKEN,

  ttl: {
    // the jwt-bearer and token-exchange grants' tokens live as long as client_credentials ones
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL
      || (FEDERATION_GTYS.has(token.gty) ? CLIENT_CREDENTIALS_TTL : ACCESS_TOKEN_TTL),
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL || CLIENT_CREDENTIALS_TTL,
    DeviceCode: DEVICE_CODE_TTL,
    IdToken: ID_TOKEN_TTL,
    RefreshToken: REFRESH_TOKEN_TTL,
    Grant: Math.max(REFRESH_TOKEN_TTL, ACCESS_TOKEN_TTL, 3600),
    Session: Math.max(REFRESH_TOKEN_TTL, 3600),
    Interaction: 3600,
  },

  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', 'error', `<p class="err" id="op-message">${esc(out.error)}: ${esc(out.error_description)}</p>`);
  },
};

// ---------------------------------------------------------------------------
// middleware (installed on the provider once it exists, see start())
// ---------------------------------------------------------------------------

// 1. access log: `METHOD /path STATUS[ grant_type=...][ error=...][ details...]` on stdout
// (tests/support/idp.rs matches substrings of these lines, so keep this order: the details
// come last).
async function accessLog(ctx, next) {
  await next();
  if (!ACCESS_LOG) return;
  let line = `${ctx.method} ${ctx.path} ${ctx.status}`;
  // (a token request the federation middleware answered itself never reached oidc-provider,
  // so it has no ctx.oidc: its details come from the form that middleware read)
  const gt = ctx.oidc ? ctx.oidc.params?.grant_type : ctx.state.tokenForm?.grant_type;
  if (gt) line += ` grant_type=${gt}`;
  if (ctx.body && typeof ctx.body === 'object' && !Buffer.isBuffer(ctx.body) && ctx.body.error) {
    line += ` error=${ctx.body.error}`;
  }
  line += requestDetail(ctx);
  process.stdout.write(`${line}\n`);
}

// Non-secret request details appended to the access-log line: which client asked, and for an
// authorization request (front channel or PAR) the parameters a browser login must get right;
// for token requests also the secretless-CI details (tokenDetail). Values never contain
// spaces (URL-encoded where needed); `state`/`nonce` are logged as present or absent only.
const CLIENT_ROUTES = ['device_authorization', 'token', 'authorization', 'pushed_authorization_request', 'registration',
  'resume', 'client', 'client_update', 'client_delete'];
const RESOURCE_ROUTES = ['device_authorization', 'token', 'authorization', 'pushed_authorization_request'];
function requestDetail(ctx) {
  const route = ctx.oidc ? ctx.oidc.route : (ctx.state.tokenForm && 'token');
  const params = (ctx.oidc ? ctx.oidc.params : ctx.state.tokenForm) || {};
  const out = [];
  const clientId = ctx.oidc?.client?.clientId
    ?? (route === 'registration' && ctx.body && typeof ctx.body === 'object' ? ctx.body.client_id : undefined)
    // a federated client whose assertion failed (answered by the federation middleware)
    ?? (!ctx.oidc && ctx.state.federatedClientId);
  if (clientId && CLIENT_ROUTES.includes(route)) out.push(`client_id=${encodeURIComponent(clientId)}`);
  if (route === 'authorization' || route === 'pushed_authorization_request') {
    if (params.response_type) out.push(`response_type=${encodeURIComponent(params.response_type)}`);
    if (params.redirect_uri) out.push(`redirect_uri=${encodeURIComponent(params.redirect_uri)}`);
    if (params.code_challenge_method || params.code_challenge) {
      out.push(`code_challenge_method=${encodeURIComponent(params.code_challenge_method || 'plain')}`);
    }
    if (params.request_uri) out.push('request_uri=present');
    out.push(`state=${params.state ? 'present' : 'absent'}`, `nonce=${params.nonce ? 'present' : 'absent'}`);
    if (params.prompt) out.push(`prompt=${encodeURIComponent(params.prompt)}`);
  }
  if (RESOURCE_ROUTES.includes(route) && params.resource) {
    const r = Array.isArray(params.resource) ? params.resource : [params.resource];
    out.push(`resource=${r.map(encodeURIComponent).join(',')}`);
  }
  if (route === 'token') out.push(...tokenDetail(ctx));
  return out.length ? ` ${out.join(' ')}` : '';
}

// Token requests, from the form as sent (ctx.state.tokenForm, read by the federation
// middleware; never a token value): `audience=`, for token exchange `subject_token_type=`,
// `requested_token_type=` (when sent) and `actor_token=yes|no`, `federation_rule_id=` when
// sent, and the unverified `client_assertion_iss=` of a client assertion (`-` when it has none).
// Token type URNs are logged like grant_type (colons kept), other values URL-encoded.
function tokenDetail(ctx) {
  const form = ctx.state.tokenForm || ctx.oidc?.body || {};
  const one = (v) => (Array.isArray(v) ? v.join(',') : String(v));
  const urn = (v) => encodeURIComponent(one(v)).replace(/%3A/g, ':');
  const out = [];
  if (form.audience) out.push(`audience=${[].concat(form.audience).map(encodeURIComponent).join(',')}`);
  if (form.grant_type === TOKEN_EXCHANGE_GRANT) {
    if (form.subject_token_type) out.push(`subject_token_type=${urn(form.subject_token_type)}`);
    if (form.requested_token_type) out.push(`requested_token_type=${urn(form.requested_token_type)}`);
    out.push(`actor_token=${form.actor_token ? 'yes' : 'no'}`);
  }
  if (form.federation_rule_id) out.push(`federation_rule_id=${encodeURIComponent(one(form.federation_rule_id))}`);
  if (ctx.state.clientAssertionIss !== undefined) out.push(`client_assertion_iss=${encodeURIComponent(ctx.state.clientAssertionIss)}`);
  return out;
}

// 1a. RFC 6749 section 5.2 / RFC 8628 section 3.2: a request for a grant type the client is not
// registered for is `unauthorized_client`. oidc-provider 9.13.3 answers `invalid_request`
// ("... is not allowed for this client") on the device authorization and token endpoints;
// Entra, Okta, Keycloak and Auth0 answer unauthorized_client, which is what a client's
// policy-refusal detection looks for. The description is kept. IDP_UNAUTHORIZED_CLIENT=0 keeps
// the library's answer.
async function unauthorizedClient(ctx, next) {
  await next();
  if (!UNAUTHORIZED_CLIENT) return;
  const route = ctx.oidc?.route;
  if (['device_authorization', 'token', 'backchannel_authentication'].includes(route)
    && ctx.status === 400 && ctx.body && typeof ctx.body === 'object' && ctx.body.error === 'invalid_request'
    && /grant.type.* is not allowed for this client$/.test(ctx.body.error_description || '')) {
    ctx.body = { ...ctx.body, error: 'unauthorized_client' };
  }
}

// 1b. IDP_REGISTRATIONS_FILE: one JSON line per dynamic registration (RFC 7591) and deletion
// (RFC 7592), including the registration access token, so tests can check that a client never
// shows it.
async function registrationsLog(ctx, next) {
  await next();
  if (!REGISTRATIONS_FILE) return;
  const route = ctx.oidc?.route;
  let entry;
  if (route === 'registration' && ctx.status === 201 && ctx.body && typeof ctx.body === 'object') {
    entry = { event: 'registered', ...ctx.body };
  } else if (route === 'client_delete' && ctx.status === 204) {
    entry = { event: 'deleted', client_id: ctx.oidc.client?.clientId ?? ctx.params?.clientId };
  }
  if (entry) fs.appendFileSync(REGISTRATIONS_FILE, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`, { mode: 0o600 });
}

// 2. upstream quirk guard: GET /device/auth matches the provider's `GET /device/:uid` resume
// route and ends in a 500 in oidc-provider 9.13.3; answer a clear 405 instead.
async function deviceAuthGetGuard(ctx, next) {
  if (ctx.path === '/device/auth' && ctx.method !== 'POST' && ctx.method !== 'OPTIONS') {
    ctx.status = 405;
    ctx.set('allow', 'POST, OPTIONS');
    ctx.body = { error: 'invalid_request', error_description: 'the device authorization endpoint only accepts POST' };
    return;
  }
  await next();
}

// 3. RFC 8628 `interval` + `slow_down`. oidc-provider 9.13.3 never sends `interval` in the
// device authorization response (clients then default to 5 s) and never emits `slow_down`
// (the error class exists but nothing throws it). A poll that would have been answered
// `authorization_pending` but arrived less than (current interval - tolerance) after the
// previous poll for the same device_code is answered `slow_down` instead, and that
// device_code's interval grows by IDP_SLOW_DOWN_INCREMENT seconds (RFC 8628 §3.5). The first
// poll is never slow_down; approved/denied/expired answers pass through whatever the timing.
const polls = new Map(); // device_code -> { last: ms, interval: ms }
async function intervalAndSlowDown(ctx, next) {
  const arrived = Date.now();
  await next();
  const route = ctx.oidc?.route;
  if (route === 'device_authorization' && ctx.status === 200 && ctx.body?.device_code) {
    ctx.body.interval = POLL_INTERVAL;
    return;
  }
  if (route !== 'token' || ctx.oidc.params?.grant_type !== DEVICE_GRANT) return;
  const deviceCode = ctx.oidc.params.device_code;
  if (typeof deviceCode !== 'string') return;
  const pending = ctx.status === 400 && ctx.body?.error === 'authorization_pending';
  if (!pending) {
    polls.delete(deviceCode);
    return;
  }
  if (!SLOW_DOWN) return;
  const state = polls.get(deviceCode);
  if (!state) {
    if (polls.size > 10000) { // bounded memory: drop the oldest half
      [...polls.keys()].slice(0, 5000).forEach((k) => polls.delete(k));
    }
    polls.set(deviceCode, { last: arrived, interval: POLL_INTERVAL * 1000 });
    return;
  }
  const elapsed = arrived - state.last;
  state.last = arrived;
  if (elapsed + SLOW_DOWN_TOLERANCE_MS < state.interval) {
    state.interval += SLOW_DOWN_INCREMENT * 1000;
    ctx.body = {
      error: 'slow_down',
      error_description: `polled ${elapsed}ms after the previous request; wait at least ${state.interval / 1000}s between requests`,
    };
  }
}

// 4. login / consent interaction pages (what a real deployment renders itself; the library's
// devInteractions, which accepts any login, is disabled). Routes:
//   GET  /interaction/:uid            login or consent page
//   POST /interaction/:uid/login      login=<username|email>&password=...
//   POST /interaction/:uid/confirm    grant what was asked
//   GET|POST /interaction/:uid/abort  deny -> access_denied
// Built on the documented interactionDetails / interactionResult / Grant API.
const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?\/?$/;

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function loginPage(uid, client, error, login) {
  return page('Sign-in', error ? 'login-failed' : 'login', `<p>Sign in to continue to <strong>${esc(client?.clientName || client?.clientId)}</strong>.</p>
${error ? `<p class="err" id="op-message">${esc(error)}</p>` : ''}
<form id="login-form" method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<input type="text" name="login" placeholder="username or email" value="${esc(login || '')}" required autofocus>
<input type="password" name="password" placeholder="password" required>
<button type="submit">Sign-in</button>
</form>
<form id="abort-form" method="post" action="/interaction/${esc(uid)}/abort"><button type="submit">Cancel</button></form>`);
}

function consentPage(uid, client, details, accountId) {
  const items = [];
  const scopes = (details.missingOIDCScope || []).filter((s) => s !== 'openid');
  if (scopes.length) items.push(`<li>scopes: ${scopes.map(esc).join(', ')}</li>`);
  const claims = (details.missingOIDCClaims || []).filter((c) => !['sub', 'sid', 'auth_time', 'acr', 'amr', 'iss'].includes(c));
  if (claims.length) items.push(`<li>claims: ${claims.map(esc).join(', ')}</li>`);
  for (const [indicator, s] of Object.entries(details.missingResourceScopes || {})) {
    items.push(`<li>${esc(indicator)}: ${s.map(esc).join(', ') || '(no scopes)'}</li>`);
  }
  if (!items.length) items.push('<li>confirm a previously given authorization</li>');
  return page('Authorize', 'consent', `<p>Signed in as <strong id="op-account">${esc(accountId)}</strong>.</p>
<p><strong>${esc(client?.clientName || client?.clientId)}</strong> is requesting:</p>
<ul>${items.join('')}</ul>
<form id="consent-form" method="post" action="/interaction/${esc(uid)}/confirm"><button type="submit" autofocus>Allow</button></form>
<form id="abort-form" method="post" action="/interaction/${esc(uid)}/abort"><button type="submit">Deny</button></form>`);
}

function interactions(provider) {
  async function finish(ctx, result, merge) {
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
    ctx.redirect(returnTo);
    ctx.status = 303;
  }

  return async (ctx, next) => {
    const m = INTERACTION_PATH.exec(ctx.path);
    if (!m) return next();
    const [, uid, action] = m;
    ctx.set('cache-control', 'no-store');
    ctx.type = 'html';
    try {
      const interaction = await provider.interactionDetails(ctx.req, ctx.res);
      if (interaction.uid !== uid) throw new errors.SessionNotFound('interaction uid mismatch');
      const {
        prompt: { name, details }, params, session, grantId,
      } = interaction;
      const client = await provider.Client.find(params.client_id);

      if (!action) {
        if (ctx.method !== 'GET') ctx.throw(405);
        if (name === 'login') {
          ctx.body = loginPage(uid, client);
        } else if (name === 'consent') {
          ctx.body = consentPage(uid, client, details, session?.accountId);
        } else {
          ctx.throw(501, `prompt ${name} not implemented`);
        }
        return undefined;
      }

      if (action === 'abort') {
        if (!['GET', 'POST'].includes(ctx.method)) ctx.throw(405);
        await finish(ctx, { error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
        return undefined;
      }

      if (ctx.method !== 'POST') ctx.throw(405);
      const form = await readForm(ctx.req);

      if (action === 'login') {
        if (name !== 'login') ctx.throw(400, `expected prompt ${name}, not login`);
        const login = form.get('login');
        const found = findUser(login);
        if (!found || form.get('password') !== found[1].password) {
          ctx.status = 401;
          ctx.body = loginPage(uid, client, 'Invalid username or password.', login);
          return undefined;
        }
        await finish(ctx, { login: { accountId: found[0], amr: ['pwd'] } }, false);
        return undefined;
      }

      // action === 'confirm': grant exactly what the prompt says is missing
      if (name !== 'consent') ctx.throw(400, `expected prompt ${name}, not consent`);
      const grant = grantId
        ? await provider.Grant.find(grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
      if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
      for (const [indicator, s] of Object.entries(details.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, s.join(' '));
      }
      await finish(ctx, { consent: { grantId: await grant.save() } }, true);
    } catch (err) {
      ctx.status = err.status || err.statusCode || 400;
      ctx.type = 'html';
      ctx.body = page('Error', 'error', `<p class="err" id="op-message">${esc(err.error || err.name)}: ${esc(err.error_description || err.message)}</p>`);
    }
    return undefined;
  };
}

// ---------------------------------------------------------------------------
// start: listen first (IDP_PORT=0 means "any free port"), then build the provider with the
// issuer that carries the real bound port, then announce readiness on stdout.
// ---------------------------------------------------------------------------
let handler = (req, res) => { // only until the provider exists (a few ms after listen)
  res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
  res.end('starting\n');
};
const server = http.createServer((req, res) => handler(req, res));
server.on('error', (err) => {
  console.error(`cannot listen on ${HOST}:${PORT}: ${err.code || err.message}`);
  process.exit(1);
});

server.listen(PORT, HOST, () => {
  const { port } = server.address();
  const hostPart = HOST.includes(':') ? `[${HOST}]` : HOST;
  const issuer = process.env.IDP_ISSUER || `http://${hostPart}:${port}`;

  // a jwt-bearer / token-exchange token without a resource may carry the OpenID scopes (but
  // offline_access: those grants issue no refresh token) and any resource's scopes
  const untargetedScopes = new Set([
    ...configuration.scopes.filter((s) => s !== 'offline_access'),
    ...Object.values(resources).flatMap((rs) => (rs.scope ?? '').split(' ').filter(Boolean)),
  ]);
  const provider = new Provider(issuer, configuration);
  provider.use(accessLog); // outermost: sees the final status and body
  provider.use(unauthorizedClient);
  provider.use(registrationsLog);
  provider.use(deviceAuthGetGuard);
  provider.use(intervalAndSlowDown);
  provider.use(interactions(provider));
  // secretless CI: registers the jwt-bearer and token-exchange grants; its middleware reads
  // every token request body first (federated client credentials)
  provider.use(installFederation(provider, {
    trust,
    ownJwks: jwks,
    resourceServerInfo,
    untargetedScopes,
    requireRule: REQUIRE_FEDERATION_RULE,
  }));
  provider.on('server_error', (ctx, err) => {
    console.error(`server_error on ${ctx.method} ${ctx.path}:`, err);
  });
  handler = provider.callback();

  console.error(`settings: pid=${process.pid} access_token_ttl=${ACCESS_TOKEN_TTL}s client_credentials_ttl=${CLIENT_CREDENTIALS_TTL}s `
    + `id_token_ttl=${ID_TOKEN_TTL}s device_code_ttl=${DEVICE_CODE_TTL}s poll_interval=${POLL_INTERVAL}s `
    + `slow_down=${SLOW_DOWN ? `on(+${SLOW_DOWN_INCREMENT}s,tol=${SLOW_DOWN_TOLERANCE_MS}ms)` : 'off'} `
    + `refresh_ttl=${REFRESH_TOKEN_TTL}s rotation=${ROTATE_REFRESH_TOKEN} issue_refresh=${ISSUE_REFRESH_TOKEN} `
    + `resources=${Object.keys(resources).join(',')} `
    + `registration=${REGISTRATION ? (REGISTRATION_IAT ? 'on(initial-access-token)' : 'on(open)') : 'off'} `
    + `unauthorized_client=${UNAUTHORIZED_CLIENT ? 'on' : 'off'} `
    + `platform=${platform.issuer} trusted_issuers=${[...trust.issuers.keys()].join(',') || '-'} `
    + `federated_clients=${[...trust.credentials.keys()].join(',') || '-'} `
    + `require_federation_rule=${REQUIRE_FEDERATION_RULE ? 'on' : 'off'} `
    + `loopback_resources=${LOOPBACK_RESOURCES ? `on(scope=${LOOPBACK_RESOURCE_SCOPES || '-'})` : 'off'}`);
  process.stdout.write(`IDP_READY issuer=${issuer} platform=${platform.issuer}\n`);
});

function shutdown(signal) {
  console.error(`received ${signal}, shutting down`);
  platform.server.close();
  platform.server.closeAllConnections?.();
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (EXIT_ON_STDIN_EOF) {
  process.stdin.on('end', () => shutdown('stdin EOF'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}

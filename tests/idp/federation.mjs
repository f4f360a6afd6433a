// The IdP side of "secretless CI" for vmauth's test IdP: it accepts a CI platform's OIDC token
// (a JWT from a trusted foreign issuer, normally the platform stub of platform.mjs) in three
// shapes. TEST USE ONLY.
//
//   1. client authentication with a federated credential (Entra style): client_assertion=<JWT>
//      for a client that has a federated credential (vmauth-ci-federated). A middleware checks
//      the JWT before oidc-provider sees the request and, when it passes, rewrites the request
//      into that client's client_secret_post with a secret only this process knows.
//   2. the RFC 7523 JWT-bearer authorization grant (urn:ietf:params:oauth:grant-type:jwt-bearer)
//   3. RFC 8693 token exchange (urn:ietf:params:oauth:grant-type:token-exchange), which also
//      takes this IdP's own ID tokens and access tokens as subject tokens.
//
// Trust comes from the `federation` section of config.json (see README.md); the issuer name
// "platform" stands for the stub's issuer URL. Foreign tokens are verified the way a relying
// party does it: discovery document -> jwks_uri -> JWKS over HTTP, signature checked with
// node:crypto, then iss / aud / exp (nbf and iat with 60 s leeway) / sub. Nothing is shared
// with platform.mjs but its URL.
import * as crypto from 'node:crypto';
import * as querystring from 'node:querystring';

import { errors } from 'oidc-provider';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const TOKEN_TYPE = {
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
};
// `gty` of the access tokens the two grants issue (stored with opaque tokens)
export const FEDERATION_GTYS = new Set(['jwt-bearer', 'token-exchange']);
const LEEWAY = 60; // seconds, for nbf and iat only (never for exp)
const BODY_LIMIT = 56 * 1024; // as oidc-provider's own body parser
const FETCH_TIMEOUT_MS = 5000;

const epoch = () => Math.floor(Date.now() / 1000);
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const list = (v) => (v === undefined ? [] : [].concat(v));

// A failed check on a JWT: `check` is the name the error description starts with
// (signature | issuer | audience | expired | subject | token type | inactive).
class CheckFailed extends Error {
  constructor(check, detail) {
    super(`${check}: ${detail}`);
    this.check = check;
  }
}

// ---------------------------------------------------------------------------
// JWS (compact serialization) with node:crypto
// ---------------------------------------------------------------------------
const PSS = crypto.constants.RSA_PKCS1_PSS_PADDING;
const ALGS = {
  RS256: { hash: 'sha256', kty: 'RSA' },
  RS384: { hash: 'sha384', kty: 'RSA' },
  RS512: { hash: 'sha512', kty: 'RSA' },
  PS256: { hash: 'sha256', kty: 'RSA', padding: PSS, saltLength: 32 },
  PS384: { hash: 'sha384', kty: 'RSA', padding: PSS, saltLength: 48 },
  PS512: { hash: 'sha512', kty: 'RSA', padding: PSS, saltLength: 64 },
  ES256: { hash: 'sha256', kty: 'EC', crv: 'P-256' },
  ES384: { hash: 'sha384', kty: 'EC', crv: 'P-384' },
  ES512: { hash: 'sha512', kty: 'EC', crv: 'P-521' },
  EdDSA: { hash: null, kty: 'OKP' },
}; // never "none" or HS*: a JWT with any other alg does not verify

function decodeJwt(token, what) {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) {
    throw new CheckFailed('signature', `the ${what} is not a signed JWT`);
  }
  let header;
  let payload;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw new CheckFailed('signature', `the ${what} is not a signed JWT`);
  }
  if (!isObject(header) || !isObject(payload)) throw new CheckFailed('signature', `the ${what} is not a signed JWT`);
  return {
    header, payload, input: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], 'base64url'),
  };
}

// `iss` of a JWT, unverified (for the access log only), or undefined
export function unverifiedIssuer(token) {
  try {
    const { iss } = decodeJwt(token, 'token').payload;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

// JWKS (public or private members) -> [{ kid, alg, kty, crv, key: public KeyObject }]
function importJwks(jwks) {
  const out = [];
  for (const jwk of Array.isArray(jwks?.keys) ? jwks.keys : []) {
    if (!isObject(jwk) || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
    const pub = {
      RSA: { kty: 'RSA', n: jwk.n, e: jwk.e },
      EC: { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y },
      OKP: { kty: 'OKP', crv: jwk.crv, x: jwk.x },
    }[jwk.kty];
    if (!pub) continue;
    try {
      out.push({
        kid: jwk.kid, alg: jwk.alg, kty: jwk.kty, crv: jwk.crv, key: crypto.createPublicKey({ key: pub, format: 'jwk' }),
      });
    } catch {
      // a key Node cannot import is no key to verify with
    }
  }
  return out;
}

function signatureValid(jwt, keys) {
  const spec = Object.hasOwn(ALGS, jwt.header.alg) ? ALGS[jwt.header.alg] : undefined;
  if (!spec) return false;
  const candidates = keys.filter((k) => k.kty === spec.kty
    && (k.alg === undefined || k.alg === jwt.header.alg)
    && (spec.crv === undefined || k.crv === spec.crv)
    && (jwt.header.kid === undefined || k.kid === jwt.header.kid));
  return candidates.some((k) => {
    const options = { key: k.key };
    if (spec.kty === 'EC') options.dsaEncoding = 'ieee-p1363'; // JWS: r || s, not DER
    if (spec.padding) Object.assign(options, { padding: spec.padding, saltLength: spec.saltLength });
    try {
      return crypto.verify(spec.hash, Buffer.from(jwt.input), options, jwt.signature);
    } catch {
      return false;
    }
  });
}

function checkTimes(payload, what) {
  const now = epoch();
  if (typeof payload.exp !== 'number') throw new CheckFailed('expired', `the ${what} has no exp`);
  if (payload.exp <= now) throw new CheckFailed('expired', `the ${what} expired ${now - payload.exp} s ago`);
  if (typeof payload.nbf === 'number' && payload.nbf > now + LEEWAY) {
    throw new CheckFailed('expired', `the ${what} is not valid yet (nbf is ${payload.nbf - now} s ahead)`);
  }
  if (typeof payload.iat === 'number' && payload.iat > now + LEEWAY) {
    throw new CheckFailed('expired', `the ${what} is issued in the future (iat is ${payload.iat - now} s ahead)`);
  }
}

function checkAudience(payload, allowed, what) {
  if (!list(payload.aud).some((a) => typeof a === 'string' && allowed.includes(a))) {
    throw new CheckFailed('audience', `the ${what}'s aud ${JSON.stringify(payload.aud ?? null)} is not ${allowed.join(' or ')}`);
  }
}

// a subject pattern ending in `*` matches by prefix, any other exactly
const subjectMatches = (patterns, sub) => patterns.some((p) => (p.endsWith('*') ? sub.startsWith(p.slice(0, -1)) : sub === p));

// ---------------------------------------------------------------------------
// keys of a trusted foreign issuer, fetched like a relying party: discovery, then jwks_uri;
// fetched again (at most once a second) when a token names a kid that is not known yet
// ---------------------------------------------------------------------------
class IssuerKeys {
  constructor(issuer, jwksUri) {
    this.issuer = issuer;
    this.jwksUri = jwksUri;
    this.keys = undefined;
    this.fetchedAt = 0;
    this.pending = undefined;
  }

  async get(kid) {
    const stale = !this.keys || (kid !== undefined && !this.keys.some((k) => k.kid === kid) && Date.now() - this.fetchedAt > 1000);
    if (stale) {
      this.pending ??= this.fetch().finally(() => { this.pending = undefined; });
      await this.pending;
    }
    return this.keys;
  }

  async fetch() {
    const getJson = async (url) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: 'application/json' } });
      if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
      return res.json();
    };
    try {
      if (!this.jwksUri) {
        const meta = await getJson(`${this.issuer}/.well-known/openid-configuration`);
        if (meta?.issuer !== this.issuer) throw new Error(`the discovery document names issuer ${meta?.issuer}`);
        if (typeof meta.jwks_uri !== 'string') throw new Error('the discovery document has no jwks_uri');
        this.jwksUri = meta.jwks_uri;
      }
      this.keys = importJwks(await getJson(this.jwksUri));
      this.fetchedAt = Date.now();
    } catch (err) {
      throw new CheckFailed('signature', `cannot get the keys of ${this.issuer}: ${err.message}`);
    }
  }
}

// ---------------------------------------------------------------------------
// trust (config.json `federation`), with "platform" replaced by the stub's issuer
// ---------------------------------------------------------------------------
export function federationTrust(section, { platformIssuer }) {
  const cfg = section || {};
  const resolve = (iss) => (iss === 'platform' ? platformIssuer : iss);
  const issuers = new Map(); // iss -> { issuer, subjects, keys }
  for (const entry of cfg.trusted_issuers || []) {
    const issuer = resolve(entry.issuer);
    if (typeof issuer !== 'string' || !issuer) throw new Error('federation.trusted_issuers[].issuer must be a string');
    issuers.set(issuer, { issuer, subjects: entry.subjects || [], keys: new IssuerKeys(issuer, entry.jwks_uri) });
  }
  const credentials = new Map(); // client_id -> { issuer, audiences, subjects, secret }
  for (const entry of cfg.federated_credentials || []) {
    const issuer = resolve(entry.issuer);
    if (!issuers.has(issuer)) {
      throw new Error(`federation: the federated credential of ${entry.client_id} names issuer ${entry.issuer}, `
        + 'which is not in trusted_issuers');
    }
    credentials.set(entry.client_id, {
      clientId: entry.client_id,
      issuer,
      audiences: list(entry.audiences ?? entry.audience),
      subjects: entry.subjects || issuers.get(issuer).subjects,
      // the client's client_secret, known only to this process: a request whose assertion
      // passed is handed to oidc-provider as client_secret_post with it
      secret: crypto.randomBytes(32).toString('base64url'),
    });
  }
  return {
    issuers,
    credentials,
    exchangeAudiences: list(cfg.token_exchange_audiences),
    rules: new Set(list(cfg.federation_rules)),
  };
}

// ---------------------------------------------------------------------------
// extra claims of the tokens the grants issue (RFC 8693 `act`), merged in extraTokenClaims
// ---------------------------------------------------------------------------
const tokenExtras = new WeakMap(); // AccessToken -> { act }
export function federationExtraClaims(token) {
  return tokenExtras.get(token);
}

/**
 * Set up the three shapes on `provider`: registers the two grant types and returns the
 * client-assertion middleware (to be installed with provider.use, before any middleware
 * that could read the token request body).
 *   trust               federationTrust(...)
 *   ownJwks             this IdP's signing JWKS (private members are ignored)
 *   resourceServerInfo  (ctx, identifier, client) -> resource server info, throws invalid_target
 *   untargetedScopes    scopes a token without a resource/audience may carry
 *   requireRule         a jwt-bearer request must name a federation rule (federation_rule_id)
 */
export function installFederation(provider, {
  trust, ownJwks, resourceServerInfo, untargetedScopes, requireRule,
}) {
  const ownKeys = importJwks(ownJwks);
  const tokenPath = provider.pathFor('token');
  const tokenEndpoint = provider.urlFor('token');

  const grantError = (err) => {
    if (!(err instanceof CheckFailed)) throw err;
    return Object.assign(new errors.InvalidGrant(), { error_description: err.message });
  };

  // A JWT from a trusted foreign issuer: signature, audience, times, subject (in this order).
  async function verifyForeign(jwt, trusted, { what, audiences, subjects }) {
    if (!signatureValid(jwt, await trusted.keys.get(jwt.header.kid))) {
      throw new CheckFailed('signature', `the ${what}'s signature does not verify with the keys of ${trusted.issuer}`);
    }
    checkAudience(jwt.payload, audiences, what);
    checkTimes(jwt.payload, what);
    const { sub } = jwt.payload;
    if (typeof sub !== 'string' || !sub) throw new CheckFailed('subject', `the ${what} has no sub`);
    if (!subjectMatches(subjects, sub)) throw new CheckFailed('subject', `the ${what}'s sub ${sub} is not trusted`);
    return jwt.payload;
  }

  // A JWT this IdP signed: an ID token or a JWT access token (typ at+jwt).
  function verifyOwn(jwt, { what, kind }) {
    if (!signatureValid(jwt, ownKeys)) throw new CheckFailed('signature', `the ${what}'s signature does not verify with this IdP's keys`);
    const isAccessToken = /^(application\/)?at\+jwt$/i.test(jwt.header.typ ?? '');
    if (kind === 'id_token' && isAccessToken) throw new CheckFailed('token type', `the ${what} is an access token, not an ID token`);
    if (kind === 'access_token' && !isAccessToken) throw new CheckFailed('token type', `the ${what} is not an access token`);
    checkTimes(jwt.payload, what);
    const { sub } = jwt.payload;
    if (typeof sub !== 'string' || !sub) throw new CheckFailed('subject', `the ${what} has no sub`);
    return jwt.payload;
  }

  // A JWT from a trusted foreign issuer, or (kind id_token | access_token | any) from this IdP;
  // kind foreign: from a trusted foreign issuer only, access_token: from this IdP only.
  async function verifyJwt(token, { what, kind, audiences }) {
    const jwt = decodeJwt(token, what);
    const { iss } = jwt.payload;
    if (iss === provider.issuer && kind !== 'foreign') return verifyOwn(jwt, { what, kind });
    if (kind === 'access_token') {
      throw new CheckFailed('issuer', `the ${what} is not an access token of this IdP (its iss is ${JSON.stringify(iss ?? null)})`);
    }
    const trusted = typeof iss === 'string' ? trust.issuers.get(iss) : undefined;
    if (!trusted) throw new CheckFailed('issuer', `the ${what}'s iss ${JSON.stringify(iss ?? null)} is not a trusted issuer`);
    return verifyForeign(jwt, trusted, { what, audiences, subjects: trusted.subjects });
  }

  // An access token this IdP issued and that is still active: opaque (looked up) or JWT.
  async function verifyAccessToken(token, what) {
    if (typeof token === 'string' && token.split('.').length === 3) {
      return verifyJwt(token, { what, kind: 'access_token' });
    }
    const found = await provider.AccessToken.find(token) || await provider.ClientCredentials.find(token);
    let active = found?.isValid;
    if (active && found.grantId) {
      const grant = await provider.Grant.find(found.grantId, { ignoreExpiration: true });
      active = grant && !grant.isExpired && grant.clientId === found.clientId && grant.accountId === found.accountId;
    }
    if (!active) throw new CheckFailed('inactive', `the ${what} is not an active access token of this IdP`);
    return { sub: found.accountId || found.clientId, act: found.extra?.act };
  }

  // RFC 8693 subject_token / actor_token of the given type
  async function verifyExchangeToken(token, type, what) {
    const audiences = [provider.issuer, tokenEndpoint, ...trust.exchangeAudiences];
    switch (type) {
      case TOKEN_TYPE.jwt: return verifyJwt(token, { what, kind: 'any', audiences });
      case TOKEN_TYPE.idToken: return verifyJwt(token, { what, kind: 'id_token', audiences });
      case TOKEN_TYPE.accessToken: return verifyAccessToken(token, what);
      default: throw new errors.InvalidRequest(`unsupported ${what}_type`);
    }
  }

  // The one resource the new token is for (`resource` and/or `audience`), or undefined.
  async function resolveTarget(ctx) {
    const { params, client } = ctx.oidc;
    const asked = [...new Set([...list(params.resource), ...list(params.audience)])];
    if (!asked.length) return undefined;
    if (asked.length > 1) throw new errors.InvalidTarget('only one resource/audience is supported');
    return new provider.ResourceServer(asked[0], await resourceServerInfo(ctx, asked[0], client));
  }

  // A new access token for `sub`, for the requesting client. Scopes: those asked for that the
  // target allows (without a target: untargetedScopes); others are left out, as the
  // client_credentials grant does. The format (JWT / opaque) and TTL follow the target.
  async function issueAccessToken(ctx, { sub, gty, target, act }) {
    const allowed = target ? target.scopes : untargetedScopes;
    const scope = [...ctx.oidc.requestParamScopes].filter((s) => allowed.has(s)).join(' ');
    const at = new provider.AccessToken({
      accountId: sub, client: ctx.oidc.client, gty, scope: scope || undefined,
    });
    if (target) at.resourceServer = target;
    if (act) tokenExtras.set(at, { act });
    ctx.oidc.entity('AccessToken', at);
    const value = await at.save();
    return {
      access_token: value, token_type: at.tokenType, expires_in: at.expiration, scope: at.scope || undefined,
    };
  }

  const required = (params, name) => {
    if (typeof params[name] !== 'string' || !params[name]) throw new errors.InvalidRequest(`missing required parameter '${name}'`);
    return params[name];
  };

  // 2. RFC 7523 section 2.1: the platform's JWT is the grant. aud must be this IdP (issuer or
  // token endpoint URL, RFC 7523 section 3).
  async function jwtBearerGrant(ctx) {
    const { params } = ctx.oidc;
    const assertion = required(params, 'assertion');
    if (params.federation_rule_id === undefined) {
      if (requireRule) throw new errors.InvalidRequest("missing required parameter 'federation_rule_id'");
    } else if (!trust.rules.has(params.federation_rule_id)) {
      throw Object.assign(new errors.InvalidGrant(), { error_description: 'unknown federation rule' });
    }
    const target = await resolveTarget(ctx);
    const claims = await verifyJwt(assertion, { what: 'assertion', kind: 'foreign', audiences: [provider.issuer, tokenEndpoint] })
      .catch((err) => { throw grantError(err); });
    ctx.body = await issueAccessToken(ctx, { sub: claims.sub, gty: 'jwt-bearer', target });
  }

  // 3. RFC 8693: a platform JWT, an ID token or an access token of this IdP for a new access
  // token (for the resource/audience asked for, else for the client itself).
  async function tokenExchangeGrant(ctx) {
    const { params } = ctx.oidc;
    const subjectToken = required(params, 'subject_token');
    const subjectType = required(params, 'subject_token_type');
    if (!Object.values(TOKEN_TYPE).includes(subjectType)) throw new errors.InvalidRequest('unsupported subject_token_type');
    if (params.requested_token_type !== undefined && params.requested_token_type !== TOKEN_TYPE.accessToken) {
      throw new errors.InvalidRequest(`unsupported requested_token_type (only ${TOKEN_TYPE.accessToken} is issued)`);
    }
    if (params.actor_token !== undefined && params.actor_token_type === undefined) {
      throw new errors.InvalidRequest("missing required parameter 'actor_token_type'");
    }
    if (params.actor_token_type !== undefined && params.actor_token === undefined) {
      throw new errors.InvalidRequest('actor_token_type without actor_token');
    }
    if (params.actor_token_type !== undefined && !Object.values(TOKEN_TYPE).includes(params.actor_token_type)) {
      throw new errors.InvalidRequest('unsupported actor_token_type');
    }
    const target = await resolveTarget(ctx);
    const subject = await verifyExchangeToken(subjectToken, subjectType, 'subject_token')
      .catch((err) => { throw grantError(err); });
    const actor = params.actor_token === undefined ? undefined
      : await verifyExchangeToken(params.actor_token, params.actor_token_type, 'actor_token')
        .catch((err) => { throw grantError(err); });
    // RFC 8693 section 4.1: the current actor, with the earlier chain nested in it
    const act = actor ? { sub: actor.sub, ...(isObject(subject.act) ? { act: subject.act } : {}) } : subject.act;
    const answer = await issueAccessToken(ctx, {
      sub: subject.sub, gty: 'token-exchange', target, act: isObject(act) ? act : undefined,
    });
    ctx.body = { ...answer, issued_token_type: TOKEN_TYPE.accessToken };
  }

  const targetParams = ['scope', 'resource', 'audience'];
  provider.registerGrantType(JWT_BEARER_GRANT, jwtBearerGrant,
    ['assertion', 'federation_rule_id', ...targetParams], ['resource', 'audience']);
  provider.registerGrantType(TOKEN_EXCHANGE_GRANT, tokenExchangeGrant,
    ['subject_token', 'subject_token_type', 'actor_token', 'actor_token_type', 'requested_token_type', ...targetParams],
    ['resource', 'audience']);

  // 1. Federated client credential. oidc-provider 9.13.3 reads a POST body itself
  // (lib/shared/selective_body.js): from the request stream while it is readable, else, once
  // an upstream middleware has consumed the stream, from `req.body` (a Buffer is parsed exactly
  // like the stream; the library prints a one-time "already parsed request body detected"
  // warning on stderr). So every urlencoded POST to the token endpoint is read here and handed
  // back as req.body: unchanged, or, for a client with a federated credential whose assertion
  // passed, with client_assertion(_type) replaced by the client's internal client_secret.
  // A failed assertion gets 401 invalid_client with error_description = the check that failed.
  // Clients without a federated credential (private_key_jwt ones included) are not touched.
  async function readBody(req) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req.iterator({ destroyOnReturn: false })) {
      size += chunk.length;
      if (size > BODY_LIMIT) throw new Error('request entity too large');
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  return async function federatedClientAssertion(ctx, next) {
    if (ctx.method !== 'POST' || ctx.path !== tokenPath || !ctx.is('application/x-www-form-urlencoded')) return next();
    let raw;
    try {
      raw = await readBody(ctx.req);
    } catch {
      ctx.status = 400;
      ctx.body = { error: 'invalid_request', error_description: 'failed to parse the request body' };
      return undefined;
    }
    ctx.req.body = raw;
    const form = querystring.parse(raw.toString('utf8'));
    // for the access log: the request as sent (no secret is ever logged from it)
    ctx.state.tokenForm = form;
    if (typeof form.client_assertion === 'string') ctx.state.clientAssertionIss = unverifiedIssuer(form.client_assertion) ?? '-';

    const credential = typeof form.client_id === 'string' ? trust.credentials.get(form.client_id) : undefined;
    if (!credential || typeof form.client_assertion !== 'string' || form.client_assertion_type !== CLIENT_ASSERTION_TYPE) {
      return next();
    }
    ctx.state.federatedClientId = credential.clientId;
    try {
      const jwt = decodeJwt(form.client_assertion, 'client_assertion');
      if (jwt.payload.iss !== credential.issuer) {
        throw new CheckFailed('issuer', `the client_assertion's iss is not ${credential.issuer}`);
      }
      await verifyForeign(jwt, trust.issuers.get(credential.issuer), {
        what: 'client_assertion', audiences: credential.audiences, subjects: credential.subjects,
      });
    } catch (err) {
      if (!(err instanceof CheckFailed)) throw err;
      ctx.status = 401;
      ctx.set('cache-control', 'no-store');
      ctx.body = { error: 'invalid_client', error_description: err.check };
      return undefined;
    }
    const rewritten = { ...form, client_secret: credential.secret };
    delete rewritten.client_assertion;
    delete rewritten.client_assertion_type;
    ctx.req.body = Buffer.from(querystring.stringify(rewritten));
    return next();
  };
}

// A CI-platform stub for vmauth's test IdP ("secretless CI"): it plays GitHub Actions, Azure
// Pipelines and Google Cloud's metadata server, each of which hands a job a short-lived OIDC
// token (a JWT) signed with the platform's own key. server.mjs starts it in the same process,
// on its own ephemeral port, before the IdP listens, and names its issuer on the ready line
// (`IDP_READY issuer=... platform=http://127.0.0.1:<port>`). TEST USE ONLY.
//
// Issuer P = http://<IDP_HOST>:<port>. Routes (see README.md "CI-platform stub"):
//   GET  /.well-known/openid-configuration   {issuer, jwks_uri}
//   GET  /jwks                                public JWKS (one ES256 key, kid platform-1)
//   GET  /github/token?api-version=2.0&audience=AUD                  GitHub Actions
//   POST /azure/oidctoken?api-version=7.1&serviceConnectionId=ID     Azure Pipelines
//   GET  /computeMetadata/v1/instance/service-accounts/default/identity?audience=AUD&format=full
//                                                                    Google metadata server
//   POST /mint     {"aud","sub","exp_in"} -> a JWT (GitLab, env, file, Kubernetes, CircleCI,
//                  fake platform CLIs); no authentication
//   POST /control  {"fail_next": N, "status": S} | {"reset": true}: outage simulation
//
// Access log on stdout, one line per request, never with a token or the request token:
//   PLATFORM <METHOD> <path without query> <status> key=value...
// The IdP side (federation.mjs) shares nothing with this module: it trusts P through
// config.json and fetches P's discovery document and JWKS over HTTP like any relying party.
import * as crypto from 'node:crypto';
import * as http from 'node:http';

export const PLATFORM_KID = 'platform-1';
export const DEFAULT_REQUEST_TOKEN = 'platform-request-token-test';
const TOKEN_TTL = 300; // seconds, every platform token
const GITHUB_DEFAULT_AUDIENCE = 'https://github.com/octo-org';
const GITHUB_SUB = 'repo:octo-org/app:ref:refs/heads/main';
const AZURE_AUDIENCE = 'api://AzureADTokenExchange';
const AZURE_SUB_PREFIX = 'sc://octo-org/app/';
const GCP_SUB = '112233445566778899';
const GCP_EMAIL = 'vmauth-ci@octo-project.iam.gserviceaccount.com';
const MINT_DEFAULTS = { aud: 'api://vmauth-test-idp', sub: GITHUB_SUB, exp_in: 300 };
const BODY_LIMIT = 64 * 1024;

const PATHS = {
  discovery: '/.well-known/openid-configuration',
  jwks: '/jwks',
  github: '/github/token',
  azure: '/azure/oidctoken',
  gcp: '/computeMetadata/v1/instance/service-accounts/default/identity',
  mint: '/mint',
  control: '/control',
};
// the endpoints a CI job calls; /control's fail_next applies to these only
const JOB_ENDPOINTS = new Set([PATHS.github, PATHS.azure, PATHS.gcp]);

// The platform's signing key. Same Node 20 deadlock workaround as server.mjs's signingKeys():
// generate PEM strings and export the JWK from a fresh KeyObject, never from one returned by
// generateKeyPairSync.
function platformKey() {
  const { privateKey } = crypto.generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const { kty, crv, x, y } = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
  return {
    privateKey: crypto.createPrivateKey(privateKey),
    publicJwk: { kty, crv, x, y, kid: PLATFORM_KID, alg: 'ES256', use: 'sig' },
  };
}

const b64url = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');

// constant-time comparison of the presented request token with the expected one
function sameSecret(presented, expected) {
  const a = crypto.createHash('sha256').update(presented).digest();
  const b = crypto.createHash('sha256').update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

// `Authorization: <scheme> <token>` with scheme bearer (any case) -> ok | bad | missing
function checkAuth(req, requestToken) {
  const value = req.headers.authorization;
  if (value === undefined || value === '') return 'missing';
  const m = /^(\S+)[ \t]+(\S+)[ \t]*$/.exec(value);
  if (!m || m[1].toLowerCase() !== 'bearer') return 'bad';
  return sameSecret(m[2], requestToken) ? 'ok' : 'bad';
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > BODY_LIMIT) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// A JSON object body (empty body = {}), or undefined when it is not one.
async function readJson(req) {
  const text = await readBody(req);
  if (text.trim() === '') return {};
  try {
    const value = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

// log values never contain spaces (URL-encoded); absent ones are `-`
const logValue = (v) => (v === undefined || v === null || v === '' ? '-' : encodeURIComponent(String(v)));

/**
 * Start the stub on `host`, port `port` (0: any free port).
 * Resolves to { issuer, server, mint(claims) } once it is listening.
 *   requestToken  the bearer token the GitHub and Azure endpoints expect
 *   accessLog     false: no PLATFORM lines on stdout
 */
export function startPlatform({
  host = '127.0.0.1', port = 0, requestToken = DEFAULT_REQUEST_TOKEN, accessLog = true,
} = {}) {
  const key = platformKey();
  const jwks = { keys: [key.publicJwk] };
  let issuer; // set once listening (the port is in it)
  const failures = { remaining: 0, status: 503 }; // POST /control

  // A compact JWS, ES256 (r || s, RFC 7518 section 3.4), over the standard claims + `extra`.
  // `expIn` may be negative (an already expired token, as if issued TOKEN_TTL s before it
  // expired). `nbfIn` (optional) moves nbf, e.g. into the future.
  function mint({
    aud, sub, expIn = TOKEN_TTL, nbfIn, iss, extra = {},
  }) {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + expIn;
    const iat = expIn > 0 ? now : exp - TOKEN_TTL;
    const header = { alg: 'ES256', typ: 'JWT', kid: PLATFORM_KID };
    const claims = {
      iss: iss ?? issuer, sub, aud, iat, nbf: nbfIn === undefined ? iat : now + nbfIn, exp, jti: crypto.randomUUID(), ...extra,
    };
    const input = `${b64url(header)}.${b64url(claims)}`;
    const sig = crypto.sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${input}.${sig.toString('base64url')}`;
  }

  function send(res, status, type, body, headers = {}) {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
    res.end(body);
  }
  const json = (res, status, obj, headers) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(obj), headers);
  const text = (res, status, body, headers) => send(res, status, 'text/plain; charset=utf-8', body, headers);

  async function route(req, res, url, fields) {
    const path = url.pathname;
    const q = url.searchParams;
    const method = req.method;
    const onlyMethod = (allowed) => {
      if (method === allowed) return true;
      json(res, 405, { message: `use ${allowed}` }, { allow: allowed });
      return false;
    };

    // what the job's request looked like, logged whether it succeeds, fails or is failed
    if (path === PATHS.github) {
      fields.push(['auth', checkAuth(req, requestToken)], ['api-version', q.get('api-version')], ['audience', q.get('audience')]);
    } else if (path === PATHS.azure) {
      fields.push(['auth', checkAuth(req, requestToken)], ['api-version', q.get('api-version')],
        ['serviceConnectionId', q.get('serviceConnectionId')]);
    } else if (path === PATHS.gcp) {
      const flavor = req.headers['metadata-flavor'];
      fields.push(['metadata-flavor', flavor === 'Google' ? 'yes' : 'no'], ['audience', q.get('audience')], ['format', q.get('format')]);
    }
    const field = (name) => fields.find(([k]) => k === name)?.[1];

    // POST /control's injected outage comes first: the platform is "down" whatever was asked
    if (JOB_ENDPOINTS.has(path) && failures.remaining > 0) {
      failures.remaining -= 1;
      fields.push(['injected', 'yes']);
      json(res, failures.status, { message: 'unavailable' }, path === PATHS.gcp ? { 'metadata-flavor': 'Google' } : {});
      return;
    }

    switch (path) {
      case PATHS.discovery:
        if (!onlyMethod('GET')) return;
        json(res, 200, { issuer, jwks_uri: `${issuer}${PATHS.jwks}` });
        return;

      case PATHS.jwks:
        if (!onlyMethod('GET')) return;
        json(res, 200, jwks);
        return;

      // GitHub Actions: ACTIONS_ID_TOKEN_REQUEST_URL (+ &audience=AUD) with
      // `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`
      case PATHS.github: {
        if (!onlyMethod('GET')) return;
        if (field('auth') !== 'ok') {
          json(res, 401, { message: 'Bad credentials' });
          return;
        }
        if (q.get('api-version') !== '2.0') {
          json(res, 400, { message: 'api-version=2.0 is required' });
          return;
        }
        const aud = q.get('audience') || GITHUB_DEFAULT_AUDIENCE;
        json(res, 200, { count: 1, value: mint({ aud, sub: GITHUB_SUB }) });
        return;
      }

      // Azure Pipelines: POST $SYSTEM_OIDCREQUESTURI?api-version=7.1&serviceConnectionId=ID with
      // `Authorization: Bearer $SYSTEM_ACCESSTOKEN`; the body is ignored
      case PATHS.azure: {
        if (!onlyMethod('POST')) return;
        await readBody(req);
        if (field('auth') !== 'ok') {
          json(res, 401, { message: 'Bad credentials' });
          return;
        }
        const id = q.get('serviceConnectionId');
        if (q.get('api-version') !== '7.1' || !id) {
          json(res, 400, { message: 'api-version=7.1 and serviceConnectionId are required' });
          return;
        }
        json(res, 200, { oidcToken: mint({ aud: AZURE_AUDIENCE, sub: `${AZURE_SUB_PREFIX}${id}` }) });
        return;
      }

      // Google metadata server (GCE_METADATA_HOST points here): the identity token as text
      case PATHS.gcp: {
        const google = { 'metadata-flavor': 'Google' };
        if (!onlyMethod('GET')) return;
        if (field('metadata-flavor') !== 'yes') {
          text(res, 403, 'Missing required header "Metadata-Flavor": "Google"\n', google);
          return;
        }
        const aud = q.get('audience');
        if (!aud) {
          text(res, 400, 'non-empty audience parameter required\n', google);
          return;
        }
        const extra = { azp: GCP_SUB, email: GCP_EMAIL, email_verified: true };
        if (q.get('format') === 'full') {
          extra.google = {
            compute_engine: {
              instance_creation_timestamp: 1700000000,
              instance_id: '4242424242424242424',
              instance_name: 'ci-runner-1',
              project_id: 'octo-project',
              project_number: 123456789012,
              zone: 'europe-west1-b',
            },
          };
        }
        text(res, 200, mint({ aud, sub: GCP_SUB, extra }), google);
        return;
      }

      // tests: a platform token with the claims asked for (no authentication)
      case PATHS.mint: {
        if (!onlyMethod('POST')) return;
        const body = await readJson(req);
        const aud = body?.aud ?? MINT_DEFAULTS.aud;
        const sub = body?.sub ?? MINT_DEFAULTS.sub;
        const expIn = body?.exp_in ?? MINT_DEFAULTS.exp_in;
        const validAud = typeof aud === 'string' || (Array.isArray(aud) && aud.every((a) => typeof a === 'string'));
        if (!body || !validAud || typeof sub !== 'string' || !Number.isSafeInteger(expIn)
          || (body.nbf_in !== undefined && !Number.isSafeInteger(body.nbf_in))
          || (body.iss !== undefined && typeof body.iss !== 'string')
          || (body.claims !== undefined && (typeof body.claims !== 'object' || body.claims === null || Array.isArray(body.claims)))) {
          json(res, 400, {
            message: 'JSON body {"aud": string|string[], "sub": string, "exp_in": integer, '
              + '"nbf_in"?: integer, "iss"?: string, "claims"?: object}',
          });
          return;
        }
        fields.push(['audience', Array.isArray(aud) ? aud.join(',') : aud], ['sub', sub], ['exp_in', expIn]);
        text(res, 200, mint({
          aud, sub, expIn, nbfIn: body.nbf_in, iss: body.iss, extra: body.claims,
        }));
        return;
      }

      // tests: make the next N job requests fail with status S, or reset
      case PATHS.control: {
        if (!onlyMethod('POST')) return;
        const body = await readJson(req);
        if (body?.reset === true) {
          failures.remaining = 0;
          failures.status = 503;
          fields.push(['reset', 'yes']);
        } else {
          const n = body?.fail_next;
          const status = body?.status ?? 503;
          if (!Number.isSafeInteger(n) || n < 0 || !Number.isSafeInteger(status) || status < 100 || status > 599) {
            json(res, 400, { message: 'JSON body {"fail_next": N >= 0, "status": 100..599 (default 503)} or {"reset": true}' });
            return;
          }
          failures.remaining = n;
          failures.status = status;
          fields.push(['fail_next', n], ['status', status]);
        }
        json(res, 200, { fail_next: failures.remaining, status: failures.status });
        return;
      }

      default:
        json(res, 404, { message: 'Not Found' });
    }
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, issuer);
    const fields = [];
    try {
      await route(req, res, url, fields);
    } catch (err) {
      console.error(`platform stub: error on ${req.method} ${url.pathname}:`, err);
      if (!res.headersSent) json(res, 500, { message: 'internal error' });
      else res.destroy();
    }
    if (accessLog) {
      const kv = fields.map(([k, v]) => ` ${k}=${logValue(v)}`).join('');
      process.stdout.write(`PLATFORM ${req.method} ${url.pathname} ${res.statusCode}${kv}\n`);
    }
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const hostPart = host.includes(':') ? `[${host}]` : host;
      issuer = `http://${hostPart}:${server.address().port}`;
      resolve({ issuer, server, mint });
    });
  });
}

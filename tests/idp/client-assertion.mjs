#!/usr/bin/env node
// Prints a private_key_jwt client assertion (RFC 7523) for the test client vmauth-ci-jwt of
// vmauth's test IdP. Test use only: the key in keys/ is public.
//   node client-assertion.mjs [--client ID] [--key PEM] [--kid KID] [--aud URL] [--ttl SECONDS]
// Defaults: client vmauth-ci-jwt, key keys/vmauth-ci-jwt.private.pem, kid vmauth-ci-jwt-key-1,
// aud = the issuer ($IDP_ISSUER or http://127.0.0.1:${IDP_PORT:-9090}), ttl 60.
// The provider accepts the issuer or the token endpoint URL as `aud`; every call makes a fresh
// `jti` (a replayed assertion gets invalid_client).
// Use with: -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
//           -d client_assertion=$(node client-assertion.mjs --aud "$IDP_ISSUER")
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const opts = {
  client: 'vmauth-ci-jwt',
  key: path.join(here, 'keys/vmauth-ci-jwt.private.pem'),
  kid: 'vmauth-ci-jwt-key-1',
  aud: process.env.IDP_ISSUER || `http://127.0.0.1:${process.env.IDP_PORT || 9090}`,
  ttl: 60,
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, '');
  if (!(k in opts) || argv[i + 1] === undefined) {
    console.error('usage: node client-assertion.mjs [--client ID] [--key PEM] [--kid KID] [--aud URL] [--ttl SECONDS]');
    process.exit(2);
  }
  opts[k] = argv[i + 1];
}

const b64 = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url');
const now = Math.floor(Date.now() / 1000);
const header = { alg: 'RS256', typ: 'JWT', kid: opts.kid };
const payload = {
  iss: opts.client,
  sub: opts.client,
  aud: opts.aud,
  jti: crypto.randomUUID(),
  iat: now,
  exp: now + Number(opts.ttl),
};
const input = `${b64(header)}.${b64(payload)}`;
const sig = crypto.sign('sha256', Buffer.from(input), fs.readFileSync(opts.key)).toString('base64url');
console.log(`${input}.${sig}`);

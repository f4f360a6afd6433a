//! Entry points for the fuzz targets in `fuzz/` (built only with the `fuzzing`
//! feature; not part of vmauth's API).
//!
//! Each function drives one parser of untrusted input through vmauth's real
//! code and checks properties that must hold for every input. They never panic
//! on their own: a panic is a bug found (a panic in vmauth, or a broken property
//! asserted here). Inputs are bytes; where a target needs several fields they
//! are separated by newlines, as described on each function, so that seeds stay
//! readable.

#![doc(hidden)]

use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::clock::{FakeClock, SystemRng};
use crate::credential::{
    Credential, LoginId, Secret, normalize, normalize_issuer, parse_scopes, timestamp,
};
use crate::error::{from_server, is_format_char, one_line};
use crate::jwt::{claims, expiry};
use crate::oidc::client_auth::Signer;
use crate::oidc::discovery::{Metadata, issuer_matches, well_known_urls};
use crate::oidc::grant::{
    TokenResponse, expires_at, is_bearer_token, merge_refresh, new_credential,
};
use crate::oidc::http::{Reply, require_secure};
use crate::oidc::id_token::{Expected, LEEWAY, check_id_token, refreshed_mix_up};
use crate::oidc::{ErrorCode, ProtocolError, parse_reply};
use crate::state::StateDir;
use crate::store::CredentialStore;
use crate::store::file::FileStore;
use crate::ui::terminal_safe;

/// The endpoint replies are said to come from (messages name it).
const URL: &str = "https://idp.example/token?secret=q";
/// A body marker: it must never show up in an error message unless an OAuth
/// `error` / `error_description` carried it (those are shown by design).
const MARKER: &str = "tok-SECRET";
/// "Now" for expiry and ID-token time checks: the day the seeds were taken from
/// the test identity provider (2026-11-23), so its ID tokens are current.
const NOW: i64 = 1_795_407_000;

/// Lines of `data` (lossy UTF-8): the first `n - 1` lines and the rest.
fn fields(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data
        .splitn(n, |b| *b == b'\n')
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    out.resize(n, String::new());
    out
}

/// An HTTP reply from `STATUS\nCONTENT-TYPE\nWWW-AUTHENTICATE\nRETRY-AFTER\nBODY`.
/// A status that is not a number is 200; an empty `WWW-Authenticate` line is no
/// header; `Retry-After` is read as `Http` reads it (whole seconds).
fn reply_from(data: &[u8]) -> Reply {
    let mut parts = data.splitn(5, |b| *b == b'\n');
    let mut line = || String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let status = line().trim().parse::<u16>().unwrap_or(200);
    let content_type = line();
    let www_authenticate = Some(line()).filter(|h| !h.is_empty());
    let retry_after = line().trim().parse::<u64>().ok().map(Duration::from_secs);
    let body = parts.next().unwrap_or_default().to_vec();
    Reply {
        status,
        content_type,
        body,
        www_authenticate,
        retry_after,
    }
}

/// No control or invisible formatting characters.
fn clean(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() || is_format_char(c))
}

/// Properties of every error `parse_reply` returns for `reply`.
fn check_error(e: &ProtocolError, reply: &Reply) {
    let msg = e.to_string();
    assert!(
        clean(&msg),
        "error message with control characters: {msg:?}"
    );
    assert!(
        !msg.contains("secret=q"),
        "message shows the URL's query: {msg:?}"
    );
    let body_marker = reply
        .body
        .windows(MARKER.len())
        .any(|w| w == MARKER.as_bytes());
    // Headers are quoted (sanitised, so compare with the sanitised text: control
    // characters taken out of `tok-S\x1cECRET` leave the marker).
    let header_marker = one_line(&reply.content_type).contains(MARKER)
        || reply
            .www_authenticate
            .as_deref()
            .is_some_and(|h| one_line(h).contains(MARKER));
    // A Status error shows the Content-Type header (sanitised) by design, never the body.
    if body_marker
        && !header_marker
        && !matches!(e, ProtocolError::OAuth(_) | ProtocolError::Status { .. })
    {
        assert!(!msg.contains(MARKER), "message quotes the body: {msg:?}");
    }
    if let ProtocolError::OAuth(o) = e {
        assert_eq!(o.status, reply.status, "OAuth error with another status");
        assert!(!o.error.as_str().is_empty(), "OAuth error without a code");
        assert_eq!(o.retry_after, reply.retry_after);
        assert_eq!(ErrorCode::parse(o.error.as_str()), o.error);
    }
    assert_eq!(
        e.retry_after().is_some(),
        reply.retry_after.is_some()
            && !matches!(
                e,
                ProtocolError::BadResponse { .. } | ProtocolError::Config(_)
            )
    );
    if !(200..300).contains(&reply.status) {
        assert!(
            matches!(e, ProtocolError::OAuth(_) | ProtocolError::Status { .. }),
            "HTTP {} turned into {e:?}",
            reply.status
        );
        let transient = reply.status >= 500 || reply.status == 429;
        if transient {
            assert!(
                e.is_transient(),
                "HTTP {} is not transient: {e:?}",
                reply.status
            );
        }
    }
}

/// `parse_reply` for `reply`, with the properties every reply must meet.
fn parse_checked<T: serde::de::DeserializeOwned>(reply: &Reply) -> Option<T> {
    match parse_reply::<T>(reply, URL) {
        Ok(t) => {
            assert!(
                (200..300).contains(&reply.status),
                "HTTP {} accepted as a success",
                reply.status
            );
            Some(t)
        }
        Err(e) => {
            check_error(&e, reply);
            None
        }
    }
}

/// A credential with most fields set, as a login would store it (built from
/// JSON, so that new optional fields of `Credential` need no change here).
fn sample_credential(key_hint: &str) -> Credential {
    serde_json::from_value(serde_json::json!({
        "issuer": "https://fuzz.example",
        "client_id": "fuzz-cli",
        "audience": format!("aud-{}", key_hint.len()),
        "access_token": "at-fuzz",
        "refresh_token": "rt-fuzz",
        "expires_at": "2030-03-17T17:46:40Z",
        "scope": "openid offline_access",
        "token_type": "Bearer",
        "resource": ["https://api.example"],
        "requested_scope": "openid offline_access",
        "client_auth": {"auth": "client_secret_post", "secret_file": "/run/secret"},
    }))
    .expect("the sample credential is valid")
}

/// A credential written as JSON and read back must be the same credential, but
/// for its times, which the file holds within 1970 to 9999 (`timestamp::format`
/// clamps them; an expiry after 9999 used to come back as 1970, that is expired:
/// fuzz/regressions/token_response/, helper_output/).
fn check_credential_round_trip(c: &Credential) {
    let json = serde_json::to_vec(c).expect("a credential always serialises");
    let back: Credential = serde_json::from_slice(&json).expect("a written credential reads back");
    let written = |t: i64| t.clamp(0, timestamp::MAX);
    let expected = Credential {
        expires_at: written(c.expires_at),
        issued_at: c.issued_at.map(written),
        ..c.clone()
    };
    assert_eq!(back, expected, "credential changed on a write and read");
    let again: Credential = serde_json::from_slice(&serde_json::to_vec(&back).expect("serialises"))
        .expect("a written credential reads back");
    assert_eq!(
        again, back,
        "a second write and read changed the credential"
    );
}

/// A successful token response (`oidc::grant::TokenResponse`) from a reply
/// `STATUS\nCONTENT-TYPE\nWWW-AUTHENTICATE\nRETRY-AFTER\nBODY`; then what vmauth
/// does with one: the bearer check, the credential it stores (which must survive
/// a write and read), a merge into an earlier login, and the ID-token rules.
pub fn token_response(data: &[u8]) {
    let reply = reply_from(data);
    let Some(tokens) = parse_checked::<TokenResponse>(&reply) else {
        return;
    };
    // Debug output is redacted: no token may show (unless another field holds it too).
    let debug = format!("{tokens:?}");
    let shown = format!("{:?}{:?}", tokens.scope, tokens.token_type);
    for t in [
        Some(&tokens.access_token),
        tokens.refresh_token.as_ref(),
        tokens.id_token.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        if t.len() >= 12 && !shown.contains(t.as_str()) && !"<redacted>".contains(t.as_str()) {
            assert!(!debug.contains(t.as_str()), "Debug shows a token: {debug}");
        }
    }
    let bearer = is_bearer_token(&tokens.access_token);
    assert!(!bearer || !tokens.access_token.is_empty());
    let at = expires_at(NOW, tokens.expires_in, &tokens.access_token);
    if let Some(s) = tokens.expires_in {
        assert!(
            (NOW..=NOW + 366 * 24 * 3600).contains(&at),
            "expires_in {s} gave {at}"
        );
    }
    let id = LoginId {
        issuer: "https://idp.example".into(),
        client_id: "vmauth-cli".into(),
        audience: None,
    };
    let scopes = vec!["openid".to_string()];
    let cred = new_credential(&id, tokens.clone(), NOW, &scopes, &[]);
    assert_eq!(cred.expires_at, at);
    check_credential_round_trip(&cred);
    let merged = merge_refresh(&cred, tokens.clone(), NOW + 60);
    assert_eq!(merged.access_token.expose(), tokens.access_token);
    assert_eq!(merged.refresh_token, cred.refresh_token);
    if let Some(id_token) = tokens.id_token.as_ref() {
        let expected = Expected {
            issuer: &id.issuer,
            published: &id.issuer,
            client_id: &id.client_id,
            now: NOW,
        };
        let first = check_id_token(id_token, &expected);
        // A token that passes the checks, again, is about the same party.
        if first.is_ok() {
            assert_eq!(refreshed_mix_up(id_token, &cred, &id.issuer), None);
        }
    }
}

/// A device authorization response from a reply
/// `STATUS\nCONTENT-TYPE\nWWW-AUTHENTICATE\nRETRY-AFTER\nBODY`. The checks of
/// `oidc::device` (`check_authorization`, `RawAuthorization`) are private, so
/// this reads the reply as `parse_reply` does for that endpoint, into a JSON value.
pub fn device_authorization(data: &[u8]) {
    let reply = reply_from(data);
    if let Some(v) = parse_checked::<Value>(&reply) {
        // A success never is an OAuth error document, even one that repeats
        // a member (fuzz/regressions/device_authorization/, fixed).
        if let Value::Object(m) = &v {
            assert!(
                !(m.get("error").is_some_and(Value::is_string)
                    && !m.contains_key("access_token")
                    && serde_json::from_value::<crate::oidc::OAuthError>(v.clone())
                        .is_ok_and(|e| !e.error.as_str().is_empty())),
                "an OAuth error document accepted as a success"
            );
        }
    }
}

/// An error reply: like [`token_response`], but the status is forced to 4xx/5xx
/// (a status outside 400–599 is mapped into it), so every input is an error.
pub fn error_response(data: &[u8]) {
    let mut reply = reply_from(data);
    if !(400..600).contains(&reply.status) {
        reply.status = 400 + reply.status % 200;
    }
    let r = parse_reply::<TokenResponse>(&reply, URL);
    let Err(e) = r else {
        panic!("an HTTP error status is never a token response");
    };
    check_error(&e, &reply);
}

/// A `WWW-Authenticate` header (all of `data`) on a bare 401, as a token
/// endpoint answers a failed client authentication.
pub fn www_authenticate(data: &[u8]) {
    let header = String::from_utf8_lossy(data).into_owned();
    let reply = Reply {
        status: 401,
        content_type: "text/plain".into(),
        body: b"Unauthorized".to_vec(),
        www_authenticate: Some(header.clone()),
        retry_after: None,
    };
    let e = parse_reply::<TokenResponse>(&reply, URL).expect_err("a 401 is never a success");
    check_error(&e, &reply);
    if let ProtocolError::OAuth(o) = &e {
        let code = format!("error=\"{}\"", o.error.as_str());
        assert!(header.contains(&code), "code {code} not in {header:?}");
    }
}

/// Issuer metadata: `CONFIGURED-ISSUER\nDOCUMENT` (the document is a 200 JSON
/// reply), parsed into `oidc::discovery::Metadata`; then the issuer mix-up rule
/// (`issuer_matches`), the endpoints' HTTPS rule and the well-known URLs.
pub fn discovery(data: &[u8]) {
    let f = fields(data, 2);
    let configured = &f[0];
    let reply = Reply {
        status: 200,
        content_type: "application/json".into(),
        body: f[1].as_bytes().to_vec(),
        www_authenticate: None,
        retry_after: None,
    };
    check_issuer_rules(configured, configured);
    let Some(meta) = parse_checked::<Metadata>(&reply) else {
        return;
    };
    check_issuer_rules(&meta.issuer, configured);
    let _ = meta.device_endpoint();
    for url in [
        meta.token_endpoint.as_deref(),
        meta.device_authorization_endpoint.as_deref(),
        meta.revocation_endpoint.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        if let Ok(u) = require_secure(url, "endpoint") {
            assert!(u.host().is_some());
            assert!(matches!(u.scheme(), "https" | "http"));
        }
    }
}

fn check_issuer_rules(published: &str, configured: &str) {
    let m = issuer_matches(published, configured);
    assert!(
        issuer_matches(published, published),
        "issuer does not match itself: {published:?}"
    );
    assert_eq!(issuer_matches(&format!("{published}/"), configured), m);
    assert_eq!(issuer_matches(published, &format!("{configured}/")), m);
    if !published.contains("{tenantid}") && !configured.contains("{tenantid}") {
        assert_eq!(m, issuer_matches(configured, published), "not symmetric");
    }
    let urls = well_known_urls(configured);
    assert!(matches!(urls.len(), 1 | 2));
    assert_eq!(
        urls[0],
        format!(
            "{}/.well-known/openid-configuration",
            configured.trim_end_matches('/')
        )
    );
    // Discovery is given a login's issuer (`LoginId::new`: normalised, control
    // and invisible characters refused). Raw, `https://idp\x1f` passes
    // `require_secure` (`url` drops C0 controls and spaces at the ends) but gives
    // `https://idp\x1f/.well-known/…`, not a URL: fuzz/regressions/discovery/.
    let Ok(id) = LoginId::new(configured, "fuzz-cli", None) else {
        return;
    };
    if let Ok(issuer) = require_secure(&id.issuer, "issuer") {
        // Both discovery URLs are URLs on the issuer's origin.
        let urls = well_known_urls(&id.issuer);
        assert_eq!(urls.len(), 2);
        for u in &urls {
            let u = url::Url::parse(u).unwrap_or_else(|e| panic!("{u:?} is not a URL: {e}"));
            assert_eq!(
                u.origin(),
                issuer.origin(),
                "{u} left the origin of {issuer}"
            );
        }
    }
}

/// JWT claims and the ID-token rules: `ISSUER\nPUBLISHED-ISSUER\nCLIENT-ID\nTOKEN`.
/// When `TOKEN` is a JSON object it is also encoded as a JWT payload, which must
/// read back unchanged and goes through the same ID-token checks (so the fuzzer
/// can reach the claims without going through base64).
pub fn jwt_claims(data: &[u8]) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let f = fields(data, 4);
    let (issuer, published, client_id, token) = (&f[0], &f[1], &f[2], &f[3]);
    let expected = Expected {
        issuer,
        published,
        client_id,
        now: NOW,
    };
    check_jwt(token, &expected);
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(token) {
        let jwt = format!(
            "eyJhbGciOiJub25lIn0.{}.sig",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&map).expect("a map serialises"))
        );
        assert_eq!(
            claims(&jwt).as_ref(),
            Some(&map),
            "claims changed on encoding"
        );
        check_jwt(&jwt, &expected);
    }
}

/// The claims of `token` and the ID-token rules for it.
fn check_jwt(token: &str, expected: &Expected) {
    let c = claims(token);
    // Reading only some claims gives those of the whole payload, and the same
    // answer on whether it is a JWT at all (the head check included).
    let names = ["sub", "email", "name", "roles", "exp"];
    assert_eq!(
        crate::jwt::claims_named(token, &names),
        c.as_ref().map(|c| c
            .iter()
            .filter(|(k, _)| names.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()),
        "claims_named disagrees with claims for {token:?}"
    );
    if c.is_some() {
        assert_eq!(
            token.split('.').count(),
            3,
            "claims from a non-JWS {token:?}"
        );
    }
    assert_eq!(
        expiry(token),
        c.as_ref()
            .and_then(|c| c.get("exp"))
            .and_then(Value::as_i64)
    );
    let result = check_id_token(token, expected);
    if let Err(e) = &result {
        assert!(
            clean(e) || !clean(expected.issuer) || !clean(expected.client_id),
            "message with control characters: {e:?}"
        );
    } else {
        let c = c.as_ref().expect("an accepted ID token has claims");
        let aud_ok = match c.get("aud") {
            Some(Value::String(a)) => a == expected.client_id,
            Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(expected.client_id)),
            _ => false,
        };
        assert!(aud_ok, "accepted an ID token for another audience");
        // Times compared without overflow: unexpired and not issued in the future.
        let time = |n: &str| c.get(n).and_then(Value::as_i64).map(i128::from);
        let (now, leeway) = (i128::from(expected.now), i128::from(LEEWAY));
        assert!(
            time("exp").is_some_and(|exp| exp + leeway >= now),
            "accepted an expired ID token"
        );
        assert!(
            time("iat").is_some_and(|iat| iat - leeway <= now),
            "accepted an ID token from the future"
        );
    }
    let old = Credential {
        issuer: expected.issuer.to_string(),
        client_id: expected.client_id.to_string(),
        id_token: Some(Secret::new(token)),
        ..sample_credential("")
    };
    // A token that passes the checks, again, is about the same party.
    if result.is_ok() {
        assert_eq!(refreshed_mix_up(token, &old, expected.published), None);
    }
}

/// A private temporary directory (in `$TMPDIR`: point it at a tmpfs such as
/// `/dev/shm` for speed, since the stores fsync).
fn temp_dir() -> Option<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("vmauth-fuzz-")
        .tempdir()
        .ok()
}

/// The raw `credentials` object of a credentials file, and the document without
/// it and without `version` (which vmauth rewrites).
fn raw_doc(path: &Path) -> Option<(Map<String, Value>, Map<String, Value>)> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Some((Map::new(), Map::new()));
    }
    let Value::Object(mut doc) = serde_json::from_slice(&bytes).ok()? else {
        return None;
    };
    let creds = match doc.remove("credentials") {
        Some(Value::Object(c)) => c,
        _ => Map::new(),
    };
    doc.remove("version");
    Some((creds, doc))
}

/// What `get` says about one key, comparable before and after a write.
fn read_back(store: &FileStore, key: &str) -> Result<Option<Value>, ()> {
    match store.get(key) {
        Ok(Some(c)) => serde_json::to_value(&c).map(Some).map_err(|_| ()),
        Ok(None) => Ok(None),
        Err(_) => Err(()),
    }
}

/// The credentials file: `data` is written as `credentials.json` in a temporary
/// directory and read with the file store. When the store accepts it, one login
/// is written (a new key, or an existing one when `data`'s length is odd) and
/// every other entry, and every other top-level field, must read back
/// identical, both as raw JSON and through the store.
pub fn credentials_file(data: &[u8]) {
    let Some(dir) = temp_dir() else { return };
    let path = dir.path().join("credentials.json");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let store = FileStore::new(path.clone(), true, Box::new(|_| {}));
    let Ok(listed) = store.list() else { return };
    let (before, top_before) =
        raw_doc(&path).expect("the store accepted a file that is not a JSON object");
    let key = match before.keys().next() {
        Some(k) if data.len() % 2 == 1 => k.clone(),
        _ => "https://fuzz.example|fuzz-cli".to_string(),
    };
    let others: Vec<(String, Result<Option<Value>, ()>)> = before
        .keys()
        .filter(|k| **k != key)
        .map(|k| (k.clone(), read_back(&store, k)))
        .collect();
    // `list` shows exactly the entries `get` can read.
    for (k, c) in &listed {
        assert!(before.contains_key(k));
        assert_eq!(store.get(k).ok().flatten().as_ref(), Some(c));
    }
    let cred = sample_credential(&key);
    store
        .put(&key, &cred)
        .expect("a readable credentials file takes a write");
    let (after, top_after) = raw_doc(&path).expect("vmauth wrote an unreadable file");
    assert_eq!(top_after, top_before, "top-level fields changed");
    for (k, v) in &before {
        if *k != key {
            assert_eq!(
                after.get(k),
                Some(v),
                "entry {k:?} changed on a write of {key:?}"
            );
        }
    }
    assert_eq!(
        after.len(),
        before.len() + usize::from(!before.contains_key(&key))
    );
    for (k, was) in &others {
        assert_eq!(&read_back(&store, k), was, "entry {k:?} reads differently");
    }
    assert_eq!(store.get(&key).ok().flatten(), Some(cred));
    assert!(store.list().is_ok());
}

/// A credential as a credential helper prints it (`get KEY`): parsed as
/// `credential::Credential`; one that parses must survive a write and read.
pub fn helper_output(data: &[u8]) {
    if let Ok(c) = serde_json::from_slice::<Credential>(data) {
        check_credential_round_trip(&c);
        let _ = c.requested_scopes();
        let _ = c.ttl(NOW);
    }
}

/// `state.json` (the current login and the `--store auto` choice): `data` is
/// written as the file, read through `state::StateDir` (its `State` struct is
/// private), then updated; each update must keep the other field.
pub fn state_json(data: &[u8]) {
    let Some(dir) = temp_dir() else { return };
    if std::fs::write(dir.path().join("state.json"), data).is_err() {
        return;
    }
    let state = StateDir::new(dir.path().to_path_buf(), true, Box::new(|_| {}));
    let current = state.get();
    let auto = state.auto_store();
    let key = "https://fuzz.example|fuzz-cli";
    state.set(Some(key)).expect("state.json takes a write");
    assert_eq!(state.get().as_deref(), Some(key));
    assert_eq!(
        state.auto_store(),
        auto,
        "setting the login lost the store choice"
    );
    state
        .set_auto_store("file")
        .expect("state.json takes a write");
    assert_eq!(
        state.get().as_deref(),
        Some(key),
        "the store choice lost the login"
    );
    state
        .set(current.as_deref())
        .expect("state.json takes a write");
    assert_eq!(state.get(), current);
    assert_eq!(state.auto_store().as_deref(), Some("file"));
}

/// Configuration normalisation: `ISSUER\nCLIENT-ID\nAUDIENCE\nSCOPES` through
/// `credential::{normalize, normalize_issuer, parse_scopes, LoginId}`; a valid
/// login's cache key must give the login back.
pub fn config_normalise(data: &[u8]) {
    let f = fields(data, 4);
    let (issuer, client, audience, scopes) = (&f[0], &f[1], &f[2], &f[3]);
    for s in [issuer, client, audience, scopes] {
        let n = normalize(s);
        assert_eq!(normalize(&n), n, "normalize is not idempotent on {s:?}");
        assert_eq!(n.trim(), n);
        let i = normalize_issuer(s);
        assert!(!i.ends_with('/'));
    }
    let list = parse_scopes(scopes);
    for (i, s) in list.iter().enumerate() {
        assert!(!s.is_empty() && !s.contains(',') && !s.contains(char::is_whitespace));
        assert!(!list[..i].contains(s), "duplicate scope {s:?}");
    }
    // Stored as `requested_scope` (joined with spaces) and read back with parse_scopes.
    assert_eq!(parse_scopes(&list.join(" ")), list);
    let audience = Some(audience.as_str()).filter(|a| !a.is_empty());
    if let Ok(id) = LoginId::new(issuer, client, audience) {
        assert!(!id.issuer.is_empty() && !id.client_id.is_empty());
        assert!(!id.issuer.contains('|') && !id.client_id.contains('|'));
        assert_eq!(
            LoginId::from_key(&id.cache_key()),
            id,
            "cache key round trip"
        );
        let _ = id.login_hint();
    }
    let key = issuer.as_str();
    if key.contains('|') {
        assert_eq!(LoginId::from_key(key).cache_key(), key);
    }
}

/// Durations as `--min-ttl` takes them (`90`, `90s`, `5m`, `1h`): the string
/// (all of `data`) must not panic the parser; and the first 8 bytes as a number
/// `n` must give `n`, `ns`, `nm` and `nh` back.
pub fn durations(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    if let Ok(n) = crate::cli::parse_duration_secs(&s) {
        let t = s.trim();
        assert!(t.ends_with(|c: char| c.is_ascii_digit() || "smh".contains(c)));
        let _ = n;
    }
    let mut b = [0u8; 8];
    let len = data.len().min(8);
    b[..len].copy_from_slice(&data[..len]);
    let n = u64::from_le_bytes(b);
    let p = crate::cli::parse_duration_secs;
    assert_eq!(p(&n.to_string()), Ok(n));
    assert_eq!(p(&format!(" {n}s ")), Ok(n));
    assert_eq!(p(&format!("{n}m")).ok(), n.checked_mul(60));
    assert_eq!(p(&format!("{n} h")).ok(), n.checked_mul(3600));
}

/// Text from a server, shown on a terminal: `terminal_safe` keeps newlines but
/// no control or formatting characters; `one_line` (and `from_server`, with a
/// limit from the first byte) gives one clean line.
pub fn terminal_text(data: &[u8]) {
    let (max, rest) = match data.split_first() {
        Some((m, rest)) => (usize::from(*m), rest),
        None => (0, data),
    };
    let s = String::from_utf8_lossy(rest);
    let safe = terminal_safe(&s);
    assert!(
        !safe
            .chars()
            .any(|c| c != '\n' && (c.is_control() || is_format_char(c))),
        "terminal_safe left a control character: {safe:?}"
    );
    assert_eq!(terminal_safe(&safe), safe);
    let line = one_line(&s);
    assert!(clean(&line), "one_line left a control character: {line:?}");
    assert!(!line.contains('\n') && !line.contains("  "));
    assert_eq!(line.trim(), line);
    assert_eq!(one_line(&line), line, "one_line is not idempotent");
    let short = from_server(&s, max);
    assert!(clean(&short));
    assert!(short.chars().count() <= max + 1);
    if short != line {
        assert!(short.ends_with('…'));
        assert!(line.starts_with(short.trim_end_matches('…')));
    }
}

/// A PEM private key for `private_key_jwt` (`oidc::client_auth::Signer::from_pem`);
/// a key that loads must sign an assertion whose claims read back (or fail with
/// vmauth's signing error, never panic).
pub fn pem_keys(data: &[u8]) {
    let clock = Rc::new(FakeClock::at(NOW));
    let rng = Rc::new(SystemRng::default());
    let Ok(signer) = Signer::from_pem(data, Some("kid-1".into()), "key", clock, rng) else {
        return;
    };
    let jwt = match signer.assertion("cli", "https://idp.example/token") {
        Ok(jwt) => jwt,
        Err(e) => panic!("a loaded key does not sign: {e:?}"),
    };
    let c = claims(&jwt).expect("an assertion is a JWT");
    assert_eq!(c["iss"], "cli");
    assert_eq!(c["sub"], "cli");
    assert_eq!(c["aud"], "https://idp.example/token");
    assert_eq!(c["exp"], NOW + 60);
    assert!(matches!(signer.alg(), "RS256" | "ES256"));
}

/// What the listener and the paste prompt make of an answer: the code only
/// with this request's `state` (and `iss`, when there is one), at most
/// [`crate::oidc::browser::MAX_PARAM`] bytes; every refusal's text free of
/// control characters, and the page that shows it free of markup from the input.
fn check_answer(returned: &crate::oidc::browser::Returned) {
    use crate::oidc::browser::{AuthorizationRequest, MAX_PARAM, Refused, Returned};
    for iss_required in [false, true] {
        let request = AuthorizationRequest::fixed("st-8J", "https://fuzz.example", iss_required);
        match request.code(returned) {
            Ok(code) => {
                assert!(
                    !code.is_empty() && code.len() <= MAX_PARAM,
                    "code of {} bytes",
                    code.len()
                );
                if let Returned::Query(params) = returned {
                    let one = |k: &str| params.iter().filter(|(n, _)| n == k).count();
                    assert_eq!(one("state"), 1, "accepted without exactly one state");
                    assert!(
                        params.iter().any(|(k, v)| k == "state" && v == "st-8J"),
                        "accepted another state"
                    );
                    assert!(
                        params
                            .iter()
                            .all(|(k, v)| k != "iss" || v == "https://fuzz.example"),
                        "accepted another iss"
                    );
                    assert!(
                        !iss_required || one("iss") == 1,
                        "accepted without the required iss"
                    );
                    assert!(
                        params.iter().all(|(k, _)| k != "error"),
                        "accepted an error answer"
                    );
                }
            }
            Err(e) => {
                let text = e.to_string();
                assert!(
                    !text.chars().any(|c| c.is_control()),
                    "control characters in {text:?}"
                );
                let page = crate::loopback::page("Sign-in not completed", &text);
                let body = page.split("<p>").nth(1).unwrap_or("");
                assert!(
                    !body.trim_end_matches("</p></body></html>").contains('<'),
                    "markup from the input: {page}"
                );
                if let Refused::Error { error, .. } = &e {
                    assert!(error.len() <= 200, "an error code of {} bytes", error.len());
                }
            }
        }
    }
}

/// A request to the browser login's loopback listener, as it arrives (all of
/// `data`): its head parsed (`loopback::parse_head`), its query read and judged
/// as this sign-in's answer or not ([`check_answer`]).
pub fn callback_request(data: &[u8]) {
    let Some(head) = crate::loopback::parse_head(data) else {
        return;
    };
    assert!(
        head.path.starts_with('/'),
        "a path not in origin form: {:?}",
        head.path
    );
    assert!(!head.path.contains('?'), "the query left in the path");
    let params = crate::oidc::browser::parse_query(head.query.as_deref().unwrap_or(""));
    check_answer(&crate::oidc::browser::Returned::Query(params));
}

/// What a person pastes at the browser login's prompt (all of `data`, as text):
/// an address, a query or a bare code (`oidc::browser::parse_pasted`), judged
/// as the listener judges ([`check_answer`]); a bare code is visible ASCII.
pub fn pasted_answer(data: &[u8]) {
    use crate::oidc::browser::{MAX_PARAM, Returned, parse_pasted};
    let text = String::from_utf8_lossy(data);
    let Some(returned) = parse_pasted(&text) else {
        return;
    };
    if let Returned::Code(code) = &returned {
        assert!(code.len() <= MAX_PARAM, "a code of {} bytes", code.len());
        assert!(
            code.bytes().all(|b| (0x21..0x7f).contains(&b)),
            "a code with {code:?}"
        );
    }
    check_answer(&returned);
}

/// A pushed authorization request's answer (RFC 9126 §2.2) from a reply
/// `STATUS\nCONTENT-TYPE\nWWW-AUTHENTICATE\nRETRY-AFTER\nBODY`: taken only
/// with a `request_uri` a URL can carry.
pub fn par_answer(data: &[u8]) {
    use crate::oidc::browser::{MAX_PARAM, ParAnswer, check_par_answer};
    let reply = reply_from(data);
    let Some(answer) = parse_checked::<ParAnswer>(&reply) else {
        return;
    };
    if check_par_answer(&answer, URL).is_ok() {
        let uri = &answer.request_uri;
        assert!(
            !uri.is_empty() && uri.len() <= MAX_PARAM,
            "request_uri of {} bytes",
            uri.len()
        );
        assert!(
            !uri.chars().any(|c| c.is_control() || c == ' '),
            "request_uri {uri:?}"
        );
        // It goes into the URL the browser opens: it must come back out the same.
        let mut url = url::Url::parse("https://fuzz.example/auth").expect("a URL");
        url.query_pairs_mut().append_pair("request_uri", uri);
        let back = url
            .query_pairs()
            .find(|(k, _)| k == "request_uri")
            .map(|(_, v)| v.into_owned());
        assert_eq!(back.as_deref(), Some(uri.as_str()));
    }
}

/// git's request to a credential helper, as it arrives on stdin (all of
/// `data`, as text): `key=value` lines up to a blank line. Every attribute
/// read is one git could have sent (a non-empty key, no NUL, no line end),
/// nothing after the blank line is read, and reading is idempotent.
pub fn git_request(data: &[u8]) {
    use crate::commands::git_credential::parse_request;
    let text = String::from_utf8_lossy(data);
    let attrs = parse_request(&text);
    let head = text.split("\n\n").next().unwrap_or("");
    for (k, v) in &attrs {
        assert!(!k.is_empty() && !k.contains(['\0', '\n', '=']), "key {k:?}");
        assert!(!v.contains(['\0', '\n']), "value {v:?}");
        assert!(
            head.contains(&format!("{k}={v}")),
            "{k}={v} not in the head {head:?}"
        );
    }
    let again: String = attrs.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    assert_eq!(parse_request(&again), attrs, "read twice differently");
}

/// A request line from cargo to a credential provider (all of `data`, as
/// text): taken only as version 1 with a registry; a refusal is a one-line
/// message that names vmauth.
pub fn cargo_request(data: &[u8]) {
    use crate::commands::cargo_credential::parse_request;
    let text = String::from_utf8_lossy(data);
    match parse_request(&text) {
        Ok(r) => assert_eq!(r.v, 1, "version {}", r.v),
        Err(why) => {
            assert!(why.starts_with("vmauth: "), "{why}");
            assert!(!why.contains('\n'), "{why:?}");
        }
    }
}

/// A CI platform's answer to a token request (`federated::parse_answer`):
/// the first byte picks the shape (GitHub's `value`, Azure's `oidcToken`, or
/// plain text as Google's metadata server and the CLIs give), the rest is the
/// body. A failure never quotes the body; a token taken passes
/// `federated::check_token` only when it is a compact JWT that has not expired.
pub fn platform_answer(data: &[u8]) {
    use crate::federated::{check_token, parse_answer};
    let Some((&shape, body)) = data.split_first() else {
        return;
    };
    let field = ["value", "oidcToken", ""][usize::from(shape % 3)];
    match parse_answer(body, field) {
        Err(why) => assert!(!why.contains(MARKER), "the answer was quoted: {why}"),
        Ok(token) => {
            if let Err(why) = check_token(&token, NOW) {
                assert!(!why.contains(MARKER), "the token was quoted: {why}");
                return;
            }
            assert!(!token.is_empty() && token.len() <= 64 * 1024);
            assert_eq!(token.split('.').count(), 3, "not three parts");
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                "a character a JWT cannot have"
            );
            if let Some(exp) = crate::jwt::expiry(&token) {
                assert!(exp > NOW, "an expired token was taken");
            }
        }
    }
}

/// A token-exchange answer (RFC 8693) from a reply
/// `STATUS\nCONTENT-TYPE\nWWW-AUTHENTICATE\nRETRY-AFTER\nBODY`: taken only
/// when what it issued is an access token (or a JWT), never with its tokens in
/// the error.
pub fn exchange_answer(data: &[u8]) {
    use crate::oidc::exchange::{TokenType, check_issued};
    let reply = reply_from(data);
    let Some(tokens) = parse_checked::<TokenResponse>(&reply) else {
        return;
    };
    match check_issued(&tokens, URL) {
        Ok(()) => assert!(matches!(
            tokens.issued_token_type.as_deref().map(TokenType::parse),
            None | Some(Some(TokenType::AccessToken | TokenType::Jwt))
        )),
        Err(e) => {
            let text = e.to_string();
            assert!(
                tokens.access_token.len() < 12 || !text.contains(&tokens.access_token),
                "the issued token was shown: {text}"
            );
        }
    }
}

/// RFC 9728 discovery input: the first line is a `WWW-Authenticate` value
/// (`oidc::resource::challenges`, `resource_metadata_url`), the rest a
/// protected-resource metadata reply `STATUS\nCONTENT-TYPE\nWWW-AUTHENTICATE\nRETRY-AFTER\nBODY`
/// checked for the resource `https://api.example/v1`. A metadata URL taken
/// from a challenge is never empty and holds no control character; metadata
/// passes only with that resource and https (or loopback) servers.
pub fn resource_metadata(data: &[u8]) {
    use crate::oidc::resource::{ResourceMetadata, challenges, check, resource_metadata_url};
    let (header, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let header = String::from_utf8_lossy(header);
    for c in challenges(&header) {
        assert!(!c.scheme.is_empty());
        for (k, v) in &c.params {
            assert!(!k.is_empty() && k.bytes().all(|b| !b.is_ascii_uppercase()));
            assert!(
                !v.chars().any(|ch| ch.is_control()),
                "a control character in {v:?}"
            );
        }
    }
    if let Some(url) = resource_metadata_url(&header) {
        assert!(!url.is_empty() && !url.chars().any(char::is_control));
    }
    let reply = reply_from(rest);
    let Some(meta) = parse_checked::<ResourceMetadata>(&reply) else {
        return;
    };
    const RESOURCE: &str = "https://api.example/v1";
    if check(&meta, RESOURCE, URL).is_ok() {
        assert_eq!(meta.resource.trim_end_matches('/'), RESOURCE);
        assert!(!meta.authorization_servers.is_empty());
        for s in &meta.authorization_servers {
            assert!(crate::oidc::http::require_secure(s, "server").is_ok());
        }
    }
}

/// An RFC 7591 registration answer (a reply as for `token_response`): taken
/// only with a client id vmauth can send and, without a secret, a public
/// client; its Debug output never shows the registration access token.
pub fn registration_answer(data: &[u8]) {
    use crate::oidc::registration::{MAX_CLIENT_ID, Registration, check_registration};
    let reply = reply_from(data);
    let Some(r) = parse_checked::<Registration>(&reply) else {
        return;
    };
    if let Some(t) = &r.registration_access_token {
        let debug = format!("{r:?}");
        let t = t.expose();
        assert!(
            t.len() < 12
                || !debug.contains(t)
                || r.client_id.contains(t)
                || r.registration_client_uri
                    .as_deref()
                    .is_some_and(|u| u.contains(t)),
            "the registration access token is shown"
        );
    }
    if check_registration(&r, URL).is_ok() {
        assert!(!r.client_id.is_empty() && r.client_id.len() <= MAX_CLIENT_ID);
        assert!(r.client_id.bytes().all(|b| (0x21..0x7f).contains(&b)));
    }
}

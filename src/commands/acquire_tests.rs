//! In-process tests of the acquire rules: refresh margins, the store that cannot
//! take a refresh, refusals, ID-token verification and the ID token as the token.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use wiremock::{MockServer, ResponseTemplate};

use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::store::{CredentialStore, StoreKind};
use crate::testing::harness::*;
use crate::testing::keys::{TestKey, jwks};

/// A store that reads but will not write: `put` fails, and `check_writable`
/// fails too unless `admits_writes` (a store that fails only on the real write).
struct ReadOnly {
    inner: Box<dyn CredentialStore>,
    admits_writes: bool,
}

impl CredentialStore for ReadOnly {
    fn kind(&self) -> StoreKind {
        self.inner.kind()
    }
    fn location(&self) -> String {
        self.inner.location()
    }
    fn get(&self, key: &str) -> Result<Option<Credential>> {
        self.inner.get(key)
    }
    fn put(&self, _: &str, _: &Credential) -> Result<()> {
        Err(Error::storage("the disk is read-only"))
    }
    fn delete(&self, key: &str) -> Result<bool> {
        self.inner.delete(key)
    }
    fn list(&self) -> Result<Vec<(String, Credential)>> {
        self.inner.list()
    }
    fn check_writable(&self) -> Result<()> {
        if self.admits_writes {
            Ok(())
        } else {
            Err(Error::storage(
                "cannot create a file in /vm: read-only file system",
            ))
        }
    }
}

#[test]
fn a_refresh_token_is_not_spent_when_its_successor_cannot_be_stored() {
    let h = Harness::new();
    let s = idp();
    h.store(&s.uri(), "at-old", Some("rt-old"), 30);
    let read_only = |inner| -> Box<dyn CredentialStore> {
        Box::new(ReadOnly {
            inner,
            admits_writes: false,
        })
    };
    // 30 s left, 60 s wanted: a refresh is due, but the store cannot take it. The
    // cached token is still good, so it is served with a warning.
    let r = h.run_wrapped(&["token"], read_only);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-old\n"), "{r:?}");
    assert!(
        r.stderr.contains(
            "not refreshing, because the refreshed tokens could not be saved (the login is kept)"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(requests(&s, "/token"), 0, "the refresh token was not spent");
    // Once expired: an error, still without spending the refresh token.
    h.clock.advance(Duration::from_secs(60));
    let r = h.run_wrapped(&["token"], read_only);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("read-only file system"), "{}", r.stderr);
    assert_eq!(requests(&s, "/token"), 0);
    assert_eq!(
        h.credentials()["credentials"][&format!("{}|cli", s.uri())]["refresh_token"],
        "rt-old"
    );
}

#[test]
fn refreshed_tokens_the_store_refuses_are_kept_for_the_next_call() {
    let h = Harness::new();
    let s = idp();
    h.store(&s.uri(), "at-old", Some("rt-old"), -5);
    let failing_put = |inner| -> Box<dyn CredentialStore> {
        Box::new(ReadOnly {
            inner,
            admits_writes: true,
        })
    };
    let r = h.run_wrapped(&["token"], failing_put);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-refreshed\n"), "{r:?}");
    assert!(
        r.stderr
            .contains("the tokens were refreshed but could not be saved"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("the next vmauth call will use them"),
        "{}",
        r.stderr
    );
    assert_eq!(requests(&s, "/token"), 1);
    // The next call (the store still refusing) uses them: no second refresh with
    // the spent refresh token.
    let r = h.run_wrapped(&["token"], failing_put);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-refreshed\n"), "{r:?}");
    assert_eq!(requests(&s, "/token"), 1);
    // When the store works again, the kept tokens move back into it.
    h.clock.advance(Duration::from_secs(290));
    let r = h.run(&["token"]);
    assert_eq!(r.code, 0, "{r:?}");
    let entry = &h.credentials()["credentials"][&format!("{}|cli", s.uri())];
    assert_eq!(entry["refresh_token"], "rt-2", "{entry}");
    assert!(
        !h.dir
            .path()
            .join("config/rescue")
            .read_dir()
            .unwrap()
            .any(|_| true)
    );
}

#[test]
fn short_lived_tokens_are_refreshed_once_not_on_every_call() {
    let h = Harness::new();
    let s = rt().block_on(
        MockIdp::new()
            .post("/token", |_| {
                ResponseTemplate::new(200).set_body_json(json!({
                    "access_token": "at-short", "refresh_token": "rt-short", "expires_in": 30,
                }))
            })
            .start(),
    );
    h.store(&s.uri(), "at-old", Some("rt-old"), -1);
    for _ in 0..5 {
        let r = h.run(&["token"]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "at-short\n"), "{r:?}");
    }
    assert_eq!(
        requests(&s, "/token"),
        1,
        "30 s tokens with the default 60 s min-ttl"
    );
    // Past half its life it is refreshed again.
    h.clock.advance(Duration::from_secs(16));
    h.run(&["token"]);
    assert_eq!(requests(&s, "/token"), 2);
}

#[test]
fn a_refresh_refused_without_an_oauth_error_means_log_in_again() {
    let h = Harness::new();
    let s = rt().block_on(
        MockIdp::new()
            .post("/token", |_| ResponseTemplate::new(400))
            .start(),
    );
    let key = h.store(&s.uri(), "at-old", Some("rt-old"), 30);
    // Still valid: served, with the reason it could not be refreshed.
    let r = h.run(&["token"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-old\n"), "{r:?}");
    assert!(
        r.stderr.contains("HTTP 400 without an OAuth error"),
        "{}",
        r.stderr
    );
    h.clock.advance(Duration::from_secs(31));
    let r = h.run(&["token"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains(
            "refused to refresh the login (HTTP 400 without an OAuth error); run: vmauth login"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(
        h.credentials()["credentials"][&key]["refresh_token"],
        "rt-old",
        "login kept"
    );
}

/// A mock identity provider whose refresh answers carry ID tokens signed by
/// `first` on the first refresh and `then` afterwards, and whose key set holds
/// `first` on the first fetch and both keys afterwards (a rotation).
fn rotating_idp(first: &TestKey, then: &TestKey) -> MockServer {
    let answer = |key: &TestKey, uri: &str| {
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "at-new", "refresh_token": "rt-new", "expires_in": 3600,
            "id_token": signed_id_token(key, uri, "alice"),
        }))
    };
    // The ID tokens name the server's URL, known once it runs: sign them for
    // a builder mounted on a started server.
    rt().block_on(async {
        let s = MockServer::start().await;
        let uri = s.uri();
        let (first_answer, then_answer) = (answer(first, &uri), answer(then, &uri));
        let jwks_first = ResponseTemplate::new(200).set_body_json(jwks(&[first]));
        let jwks_both = ResponseTemplate::new(200).set_body_json(jwks(&[first, then]));
        MockIdp::new()
            .get_once("/jwks", move |_| jwks_first)
            .get("/jwks", move |_| jwks_both)
            .post_once("/token", move |_| first_answer)
            .post("/token", move |_| then_answer)
            .mount_on(&s)
            .await;
        s
    })
}

#[test]
fn id_tokens_are_verified_against_the_issuers_keys_which_are_cached() {
    let h = Harness::new();
    let (k1, k2) = (TestKey::rsa("k1"), TestKey::ec("k2"));
    let s = rotating_idp(&k1, &k2);
    let key = h.store(&s.uri(), "at-old", Some("rt-old"), -1);
    let r = h.run(&["token"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-new\n"), "{r:?}");
    assert_eq!(requests(&s, "/jwks"), 1);
    let status: Value = serde_json::from_str(&h.run(&["status", "--json"]).stdout).unwrap();
    assert_eq!(status["logins"][0]["id_token_verified"], true);
    // The issuer rotates to k2 right away: the cached set (fetched just now) is
    // not refetched within 5 minutes, so the new ID token cannot be checked. The
    // refreshed access and refresh tokens are kept (the old refresh token may be
    // spent), with the previous, verified ID token.
    let before = h.credentials()["credentials"][&key]["id_token"].clone();
    let r = h.run(&["token", "--force-refresh"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-new\n"), "{r:?}");
    assert!(
        r.stderr.contains("the refreshed ID token cannot be verified now (it was signed with a key the issuer does not publish (kid \"k2\")); keeping the previous one"),
        "{}",
        r.stderr
    );
    assert_eq!(h.credentials()["credentials"][&key]["id_token"], before);
    assert_eq!(requests(&s, "/jwks"), 1, "no refetch within 5 minutes");
    assert_eq!(
        h.credentials()["credentials"][&key]["refresh_token"],
        "rt-new"
    );
    // Six minutes later an unknown key id refetches the set once, and verifies.
    h.clock.advance(Duration::from_secs(360));
    let r = h.run(&["token", "--force-refresh"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(requests(&s, "/jwks"), 2);
}

/// Store a login for the provider `s` whose refresh token is `rt-0` and
/// whose ID token (for alice) is signed by `key`; returns its key and ID token.
fn store_login_with_id_token(h: &Harness, s: &MockServer, key: &TestKey) -> (String, Value) {
    let login = h.store(&s.uri(), "at-0", Some("rt-0"), -1);
    let mut doc = h.credentials();
    let idt = signed_id_token(key, &s.uri(), "alice");
    doc["credentials"][&login]["id_token"] = idt.clone().into();
    h.put_credentials(&doc);
    (login, idt.into())
}

#[test]
fn a_refreshed_id_token_that_fails_its_checks_keeps_the_refreshed_tokens() {
    // Each of these ID tokens fails a check that says nothing about who the
    // tokens are for. The provider rotates refresh tokens and revokes the
    // family on reuse: dropping the new refresh token would lose the login.
    type Claims = fn(&str) -> Value;
    let cases: [(&str, Claims, &str); 3] = [
        (
            "issued 600 s in the future (the provider's clock is ahead)",
            |iss| json!({"iss": iss, "aud": "cli", "sub": "alice", "iat": NOW + 600, "exp": NOW + 4200}),
            "issued 600s in the future",
        ),
        (
            "already expired",
            |iss| json!({"iss": iss, "aud": "cli", "sub": "alice", "iat": NOW - 7200, "exp": NOW - 3600}),
            "expired",
        ),
        (
            "signed by a key the issuer does not publish, under its kid",
            |iss| json!({"iss": iss, "aud": "cli", "sub": "alice", "iat": NOW, "exp": NOW + 3600, "forged": true}),
            "signature does not verify",
        ),
    ];
    for (what, claims, warning) in cases {
        let h = Harness::new();
        let (k1, other) = (Arc::new(TestKey::ec("k1")), Arc::new(TestKey::ec("k1")));
        let issuer = Arc::new(std::sync::OnceLock::<String>::new());
        let iss = issuer.clone();
        let (k1c, otherc) = (k1.clone(), other.clone());
        let tokens = RotatingTokens::new("rt-0", move |_| {
            let c = claims(iss.get().unwrap());
            Some(if c.get("forged").is_some() {
                otherc.sign(&c)
            } else {
                k1c.sign(&c)
            })
        });
        let s = rotating_provider(jwks(&[&k1]), tokens);
        issuer.set(s.uri()).unwrap();
        let (login, old_idt) = store_login_with_id_token(&h, &s, &k1);
        let r = h.run(&["token"]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "at-1\n"), "{what}: {r:?}");
        assert!(
            r.stderr.contains("the refreshed ID token was not accepted")
                && r.stderr.contains(warning)
                && r.stderr
                    .contains("the refreshed access and refresh tokens are kept"),
            "{what}: {}",
            r.stderr
        );
        let stored = &h.credentials()["credentials"][&login];
        assert_eq!(stored["refresh_token"], "rt-1", "{what}");
        assert_eq!(
            stored["id_token"], old_idt,
            "{what}: the previous ID token stays"
        );
        // The login lives on: the next refresh sends rt-1, which the provider takes.
        let r = h.run(&["token", "--force-refresh"]);
        assert_eq!((r.code, r.stdout.as_str()), (0, "at-2\n"), "{what}: {r:?}");
    }
}

#[test]
fn a_key_rotated_under_the_same_kid_refetches_the_key_set() {
    let h = Harness::new();
    // The issuer replaces the key "k1" by another one with the same id.
    let (k1, k1_new) = (Arc::new(TestKey::ec("k1")), Arc::new(TestKey::ec("k1")));
    let issuer = Arc::new(std::sync::OnceLock::<String>::new());
    let iss = issuer.clone();
    let (a, b) = (k1.clone(), k1_new.clone());
    let tokens = RotatingTokens::new("rt-0", move |n| {
        let key = if n == 1 { &a } else { &b };
        Some(signed_id_token(key, iss.get().unwrap(), "alice"))
    });
    let (set_before, set_after) = (jwks(&[&k1]), jwks(&[&k1_new]));
    let s = rt().block_on(
        MockIdp::new()
            .get_once("/jwks", move |_| {
                ResponseTemplate::new(200).set_body_json(set_before)
            })
            .get("/jwks", move |_| {
                ResponseTemplate::new(200).set_body_json(set_after)
            })
            .post_with("/token", tokens)
            .start(),
    );
    issuer.set(s.uri()).unwrap();
    let (login, _) = store_login_with_id_token(&h, &s, &k1);
    let r = h.run(&["token"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-1\n"), "{r:?}");
    assert_eq!(requests(&s, "/jwks"), 1);
    // Six minutes later the cached set no longer verifies the new signature
    // under "k1": it is fetched again once, and the new ID token verifies.
    h.clock.advance(Duration::from_secs(360));
    let r = h.run(&["token", "--force-refresh"]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "at-2\n"), "{r:?}");
    assert!(!r.stderr.contains("not accepted"), "{}", r.stderr);
    assert_eq!(requests(&s, "/jwks"), 2);
    let stored = &h.credentials()["credentials"][&login];
    let idt = stored["id_token"].as_str().unwrap();
    assert_eq!(
        crate::oidc::jwks::header(idt).unwrap().kid.as_deref(),
        Some("k1")
    );
    let set = crate::oidc::jwks::Jwks::parse(jwks(&[&k1_new]).to_string().as_bytes()).unwrap();
    assert!(
        crate::oidc::jwks::verify(idt, &set, None).is_ok(),
        "the new ID token is stored"
    );
}

#[test]
fn a_refreshed_id_token_for_another_user_is_refused_and_its_tokens_put_aside() {
    let h = Harness::new();
    let k1 = Arc::new(TestKey::ec("k1"));
    let issuer = Arc::new(std::sync::OnceLock::<String>::new());
    let iss = issuer.clone();
    let k = k1.clone();
    let tokens = RotatingTokens::new("rt-0", move |_| {
        Some(signed_id_token(&k, iss.get().unwrap(), "mallory"))
    });
    let s = rotating_provider(jwks(&[&k1]), tokens);
    issuer.set(s.uri()).unwrap();
    let (login, old_idt) = store_login_with_id_token(&h, &s, &k1);
    let r = h.run(&["token"]);
    assert_eq!((r.code, r.stdout.as_str()), (1, ""), "{r:?}");
    assert!(
        r.stderr.contains("refusing the refreshed tokens: the ID token: its subject differs from the logged-in user, so they are not this login's")
            && r.stderr.contains("vmauth logout revokes them"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("rt-1") && !r.stderr.contains("at-1"));
    assert_eq!(h.credentials()["credentials"][&login]["id_token"], old_idt);
    // Logging out revokes the login's tokens and the ones put aside.
    let r = h.run(&["logout"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("tokens put aside after a refused refresh: refresh token revoked"),
        "{}",
        r.stderr
    );
    let revoked: Vec<String> = rt()
        .block_on(s.received_requests())
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/revoke")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert!(
        revoked.iter().any(|b| b.contains("token=rt-1")),
        "{revoked:?}"
    );
    assert!(
        revoked.iter().any(|b| b.contains("token=at-1")),
        "{revoked:?}"
    );
    assert!(
        !h.dir
            .path()
            .join("config/refused")
            .read_dir()
            .unwrap()
            .any(|_| true),
        "nothing left aside"
    );
}

#[test]
fn the_id_token_is_given_and_refreshed_by_its_own_expiry() {
    let h = Harness::new();
    let k1 = TestKey::ec("k1");
    let s = rotating_idp(&k1, &k1);
    // The access token has an hour; the ID token only 30 s of its hour.
    let key = h.store(&s.uri(), "at-old", Some("rt-old"), 3600);
    let mut doc = h.credentials();
    let old_idt = k1.sign(
        &json!({"iss": s.uri(), "aud": "cli", "sub": "alice", "iat": NOW - 3570, "exp": NOW + 30}),
    );
    doc["credentials"][&key]["id_token"] = old_idt.clone().into();
    h.put_credentials(&doc);
    // The access token is served from the cache…
    assert_eq!(h.run(&["token"]).stdout, "at-old\n");
    assert_eq!(requests(&s, "/token"), 0);
    // …the ID token is refreshed first.
    let r = h.run(&["token", "--token-type", "id"]);
    assert_eq!(r.code, 0, "{r:?}");
    let idt = r.stdout.trim_end();
    assert_ne!(idt, old_idt);
    assert_eq!(crate::jwt::claims(idt).unwrap()["exp"], NOW + 3600);
    assert_eq!(requests(&s, "/token"), 1);
    // A login without an ID token: exit 4, saying why.
    let h = Harness::new();
    h.store("https://idp.example.com", "at", Some("rt"), 3600);
    let r = h.run(&["token", "--token-type", "id"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(
        r.stderr.contains("this login has no ID token"),
        "{}",
        r.stderr
    );
}

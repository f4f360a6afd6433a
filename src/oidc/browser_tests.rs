use super::*;

/// RFC 7636 Appendix B: the verifier and challenge of the specification's example.
#[test]
fn s256_challenge_matches_rfc_7636_appendix_b() {
    assert_eq!(
        challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

struct Counting(std::cell::Cell<u8>);

impl Rng for Counting {
    fn fill(&self, dest: &mut [u8]) -> Result<(), ring::error::Unspecified> {
        for b in dest {
            *b = self.0.get();
            self.0.set(self.0.get().wrapping_add(1));
        }
        Ok(())
    }
    fn secure(&self) -> &dyn ring::rand::SecureRandom {
        unimplemented!("not used")
    }
}

#[test]
fn a_verifier_is_43_url_safe_characters_and_fresh_each_time() {
    let rng = Counting(std::cell::Cell::new(0));
    let a = pkce(&rng).unwrap();
    let b = pkce(&rng).unwrap();
    // RFC 7636 §4.1: 43 to 128 characters of [A-Z a-z 0-9 - . _ ~].
    assert_eq!(a.verifier.len(), 43);
    assert!(
        a.verifier
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c))
    );
    assert_ne!(a.verifier, b.verifier);
    assert_eq!(a.challenge, challenge(&a.verifier));
}

fn request(iss_required: bool) -> AuthorizationRequest {
    AuthorizationRequest {
        url: "https://idp.example.com/auth?x".into(),
        redirect_uri: "http://127.0.0.1:5555/callback".into(),
        state: "st-1".into(),
        nonce: Some("n-1".into()),
        expires_in: None,
        verifier: "v".into(),
        issuer: "https://idp.example.com".into(),
        iss_required,
    }
}

fn q(s: &str) -> Returned {
    Returned::Query(parse_query(s))
}

#[test]
fn the_code_is_taken_only_with_this_requests_state_and_issuer() {
    let r = request(false);
    assert_eq!(r.code(&q("code=abc&state=st-1")), Ok("abc".into()));
    assert_eq!(
        r.code(&q("code=abc&state=st-1&iss=https%3A%2F%2Fidp.example.com")),
        Ok("abc".into())
    );
    let refused = |query: &str, needle: &str| {
        let e = r.code(&q(query)).unwrap_err().to_string();
        assert!(e.contains(needle), "{query}: {e}");
    };
    refused("code=abc&state=other", "state is not this login's");
    refused("code=abc", "carries no state");
    refused("code=abc&state=st-1&state=st-1", "state twice");
    refused(
        "code=abc&state=st-1&iss=https%3A%2F%2Fevil.example",
        "not https://idp.example.com (RFC 9207",
    );
    refused("state=st-1", "no authorization code");
    refused("code=&state=st-1", "no authorization code");
    // An issuer that says it always sends iss (RFC 9207 §3).
    let e = request(true).code(&q("code=abc&state=st-1")).unwrap_err();
    assert!(e.to_string().contains("carries no iss"), "{e}");
}

#[test]
fn a_bare_code_is_taken_only_when_the_id_token_must_carry_the_nonce() {
    assert_eq!(
        request(false).code(&Returned::Code("c".into())),
        Ok("c".into())
    );
    let mut no_openid = request(false);
    no_openid.nonce = None;
    let e = no_openid.code(&Returned::Code("c".into())).unwrap_err();
    assert!(e.to_string().contains("paste the whole address"), "{e}");
}

#[test]
fn an_error_answer_is_reported_sanitised() {
    let r = request(false);
    let e = r
        .code(&q(
            "error=access_denied&error_description=The+user+said+%1b%5b31mno&state=st-1",
        ))
        .unwrap_err();
    match &e {
        Refused::Error { error, description } => {
            assert_eq!(error, "access_denied");
            let d = description.as_deref().unwrap();
            assert!(d.contains("The user said"), "{d}");
            assert!(!d.contains('\u{1b}'), "{d:?}");
        }
        other => panic!("{other:?}"),
    }
    // An error for another request is not this login's error.
    assert!(matches!(
        r.code(&q("error=access_denied&state=other")),
        Err(Refused::NotOurs(_))
    ));
}

#[test]
fn pasted_text_is_an_address_a_query_or_a_bare_code() {
    assert_eq!(
        parse_pasted("  http://127.0.0.1:5555/callback?code=a%2Bb&state=s \n"),
        Some(Returned::Query(vec![
            ("code".into(), "a+b".into()),
            ("state".into(), "s".into())
        ]))
    );
    assert_eq!(
        parse_pasted("?code=x&state=s"),
        Some(Returned::Query(vec![
            ("code".into(), "x".into()),
            ("state".into(), "s".into())
        ]))
    );
    assert_eq!(
        parse_pasted("4/0AbCdEf-gh_ij.kl~"),
        Some(Returned::Code("4/0AbCdEf-gh_ij.kl~".into()))
    );
    // An address copied without its scheme: its query.
    assert_eq!(
        parse_pasted("127.0.0.1:5555/callback?code=x&state=s"),
        Some(Returned::Query(vec![
            ("code".into(), "x".into()),
            ("state".into(), "s".into())
        ]))
    );
    // Never a "code" with something of a query in it.
    assert_eq!(parse_pasted("state=s"), None);
    assert_eq!(parse_pasted("a?b"), None);
    assert_eq!(parse_pasted(""), None);
    assert_eq!(parse_pasted("two words"), None);
    assert_eq!(parse_pasted("http://127.0.0.1:5555/callback"), None);
    assert_eq!(parse_pasted(&"a".repeat(MAX_PARAM + 1)), None);
}

#[test]
fn a_par_answer_must_name_a_request() {
    let ok = ParAnswer {
        request_uri: "urn:ietf:params:oauth:request_uri:abc".into(),
        expires_in: Some(60),
    };
    assert!(check_par_answer(&ok, "https://idp/par").is_ok());
    for bad in ["", "a b", "x\u{7}"] {
        let a = ParAnswer {
            request_uri: bad.into(),
            expires_in: None,
        };
        assert!(check_par_answer(&a, "https://idp/par").is_err(), "{bad:?}");
    }
}

use super::*;

#[test]
fn loopback_hosts() {
    for u in [
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://[::1]:1",
        "http://localhost",
        "http://LOCALHOST.",
    ] {
        assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
    }
    for u in [
        "http://10.0.0.1",
        "http://example.com",
        "http://localhost.example.com",
        "http://evil.localhost",
        "http://[::2]",
    ] {
        assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
    }
}

#[test]
fn https_required_except_loopback() {
    assert!(require_secure("https://idp.example.com", "issuer").is_ok());
    assert!(require_secure("http://127.0.0.1:9/x", "issuer").is_ok());
    let e = require_secure("http://idp.example.com", "issuer").unwrap_err();
    assert!(e.to_string().contains("requires https"), "{e}");
    assert!(require_secure("ftp://idp", "issuer").is_err());
    assert!(require_secure("not a url", "issuer").is_err());
    assert!(require_secure("https://u:p@idp", "issuer").is_err());
}

#[test]
fn strip_query_drops_secrets_in_urls() {
    assert_eq!(
        strip_query("https://idp/x?code=abc#frag"),
        "https://idp/x".to_string()
    );
}

#[test]
fn the_trust_store_is_read_at_the_first_certificate_check_only() {
    let http = Http::new(Timeouts::default()).unwrap();
    runtime().block_on(async {
        let s = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::any())
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_string("{}"))
            .mount(&s)
            .await;
        let reply = http.get(&format!("{}/x", s.uri())).await.unwrap();
        assert_eq!(reply.status, 200);
    });
    assert!(
        !http.trust_store_loaded(),
        "http:// loopback needs no trust store"
    );
    // A certificate to check: now the system's trust store is read (and this
    // non-certificate refused).
    let e = http
        .verifier
        .verify_server_cert(
            &CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]),
            &[],
            &ServerName::try_from("idp.example.com").unwrap(),
            &[],
            UnixTime::now(),
        )
        .unwrap_err();
    assert!(http.trust_store_loaded());
    // (A machine without CA certificates refuses it for that reason instead.)
    assert!(
        matches!(
            e,
            rustls::Error::InvalidCertificate(_) | rustls::Error::General(_)
        ),
        "{e:?}"
    );
}

#[test]
fn a_303_is_not_followed() {
    // A 303 says the request was processed: its target's answer must not pass
    // for the answer of an endpoint (nor a failure there for one that is gone).
    let http = Http::new(Timeouts::default()).unwrap();
    runtime().block_on(async {
        let s = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::path("/token"))
            .respond_with(
                wiremock::ResponseTemplate::new(303)
                    .insert_header("Location", format!("{}/elsewhere", s.uri())),
            )
            .mount(&s)
            .await;
        let reply = http
            .post_form(&format!("{}/token", s.uri()), &[], None)
            .await
            .unwrap();
        assert_eq!(reply.status, 303);
        let followed = s
            .received_requests()
            .await
            .unwrap()
            .iter()
            .any(|r| r.url.path() == "/elsewhere");
        assert!(!followed);
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

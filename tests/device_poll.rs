//! The RFC 8628 polling state machine under a fake clock, against an in-process
//! mock token endpoint. No real waiting: the clock records every sleep.

mod support;

use std::time::Duration;

use support::mock_idp::MockIdp;
use vmauth::clock::FakeClock;
use vmauth::oidc::device::{Authorization, Poll, PollError, PollEvent};
use vmauth::oidc::grant::ClientRequest;
use vmauth::oidc::http::{Http, Timeouts};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn auth(interval: u64, expires_in: u64) -> Authorization {
    Authorization {
        device_code: "dev-code-1".into(),
        user_code: "ABCD-EFGH".into(),
        verification_uri: "https://idp/device".into(),
        verification_uri_complete: None,
        expires_in: Duration::from_secs(expires_in),
        interval: Duration::from_secs(interval),
    }
}

fn client() -> ClientRequest {
    ClientRequest {
        client_id: "vmauth-cli".into(),
        auth: Default::default(),
        scopes: vec!["openid".into()],
        audience: Some("https://api.example.test".into()),
        resources: vec![],
        assertion_audience: None,
    }
}

fn http() -> Http {
    Http::new(Timeouts {
        connect: Duration::from_secs(2),
        total: Duration::from_secs(5),
    })
    .unwrap()
}

fn oauth_error(code: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(serde_json::json!({
        "error": code,
        "error_description": format!("{code} from mock")
    }))
}

fn success() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "access_token": "AT-1",
        "token_type": "Bearer",
        "expires_in": 300,
        "refresh_token": "RT-1"
    }))
}

/// Mount `responses` in order, each answering once.
async fn token_endpoint(responses: Vec<ResponseTemplate>) -> MockServer {
    let mut idp = MockIdp::bare();
    for r in responses {
        idp = idp.mount(|_| {
            Mock::given(method("POST"))
                .and(path("/token"))
                .and(body_string_contains(
                    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code",
                ))
                .and(body_string_contains("device_code=dev-code-1"))
                .and(body_string_contains(
                    "audience=https%3A%2F%2Fapi.example.test",
                ))
                .respond_with(r)
                .up_to_n_times(1)
                .expect(1)
        });
    }
    idp.start().await
}

async fn run(
    server: &MockServer,
    a: Authorization,
) -> (Result<String, PollError>, Vec<u64>, Vec<PollEvent>) {
    run_with(&http(), &format!("{}/token", server.uri()), a).await
}

/// Poll `token_endpoint` through `http` under a fresh fake clock; returns the
/// access token or the error, the sleeps, and the events.
async fn run_with(
    http: &Http,
    token_endpoint: &str,
    a: Authorization,
) -> (Result<String, PollError>, Vec<u64>, Vec<PollEvent>) {
    let clock = FakeClock::default();
    let client = client();
    let poll = Poll {
        http,
        clock: &clock,
        token_endpoint,
        client: &client,
    };
    let mut events = Vec::new();
    let r = poll
        .run(&a, |e| events.push(e))
        .await
        .map(|t| t.access_token);
    (
        r,
        clock.sleeps().iter().map(Duration::as_secs).collect(),
        events,
    )
}

#[tokio::test]
async fn pending_then_success_waits_the_interval_before_every_poll() {
    let s = token_endpoint(vec![
        oauth_error("authorization_pending"),
        oauth_error("authorization_pending"),
        success(),
    ])
    .await;
    let (r, sleeps, _) = run(&s, auth(5, 600)).await;
    assert_eq!(r.unwrap(), "AT-1");
    assert_eq!(sleeps, vec![5, 5, 5]);
}

#[tokio::test]
async fn slow_down_twice_adds_five_seconds_each_time_and_keeps_it() {
    let s = token_endpoint(vec![
        oauth_error("authorization_pending"),
        oauth_error("slow_down"),
        oauth_error("slow_down"),
        oauth_error("authorization_pending"),
        success(),
    ])
    .await;
    let (r, sleeps, events) = run(&s, auth(5, 600)).await;
    assert_eq!(r.unwrap(), "AT-1");
    assert_eq!(sleeps, vec![5, 5, 10, 15, 15]);
    assert_eq!(
        events,
        vec![
            PollEvent::SlowDown(Duration::from_secs(10)),
            PollEvent::SlowDown(Duration::from_secs(15))
        ]
    );
}

#[tokio::test]
async fn server_sent_interval_on_slow_down_wins_when_larger() {
    let s = token_endpoint(vec![
        ResponseTemplate::new(400)
            .set_body_json(serde_json::json!({"error": "slow_down", "interval": 20})),
        success(),
    ])
    .await;
    let (r, sleeps, _) = run(&s, auth(5, 600)).await;
    assert_eq!(r.unwrap(), "AT-1");
    assert_eq!(sleeps, vec![5, 20]);
}

#[tokio::test]
async fn access_denied_stops_at_once() {
    let s = token_endpoint(vec![
        oauth_error("authorization_pending"),
        oauth_error("access_denied"),
    ])
    .await;
    let (r, sleeps, _) = run(&s, auth(5, 600)).await;
    assert_eq!(r.unwrap_err(), PollError::Denied);
    assert_eq!(sleeps.len(), 2, "no poll after the answer");
}

#[tokio::test]
async fn expired_token_from_the_server() {
    let s = token_endpoint(vec![oauth_error("expired_token")]).await;
    let (r, _, _) = run(&s, auth(5, 600)).await;
    assert_eq!(r.unwrap_err(), PollError::Expired);
}

#[tokio::test]
async fn local_deadline_ends_polling_without_another_request() {
    // expires_in 12 s, interval 5 s: polls at 5 and 10; at 12 the code is dead.
    let s = token_endpoint(vec![
        oauth_error("authorization_pending"),
        oauth_error("authorization_pending"),
    ])
    .await;
    let (r, sleeps, _) = run(&s, auth(5, 12)).await;
    assert_eq!(r.unwrap_err(), PollError::Expired);
    assert_eq!(sleeps, vec![5, 5, 2]);
}

#[tokio::test]
async fn missing_interval_means_five_seconds() {
    // The default is applied when the authorization response is parsed; check the
    // full path through `authorize`.
    let server = MockIdp::bare()
        .mount(|_| {
            Mock::given(method("POST"))
                .and(path("/device"))
                .and(body_string_contains("client_id=vmauth-cli"))
                .and(body_string_contains("scope=openid"))
                .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "device_code": "dev-code-1", "user_code": "ABCD-EFGH",
                    "verification_uri": "https://idp/device", "expires_in": 600
                })))
                .expect(1)
        })
        .mount(|_| {
            Mock::given(method("POST"))
                .and(path("/token"))
                .respond_with(success())
                .expect(1)
        })
        .start()
        .await;
    let a =
        vmauth::oidc::device::authorize(&http(), &format!("{}/device", server.uri()), &client())
            .await
            .unwrap();
    assert_eq!(a.interval, Duration::from_secs(5));
    let (r, sleeps, _) = run(&server, a).await;
    assert_eq!(r.unwrap(), "AT-1");
    assert_eq!(sleeps, vec![5]);
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_succeed() {
    let s = token_endpoint(vec![
        ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"),
        ResponseTemplate::new(503),
        success(),
    ])
    .await;
    let (r, sleeps, events) = run(&s, auth(5, 600)).await;
    assert_eq!(r.unwrap(), "AT-1");
    assert_eq!(sleeps, vec![5, 10, 20]);
    assert_eq!(events.len(), 2);
    assert!(
        matches!(&events[0], PollEvent::Retrying { reason, .. } if reason.contains("HTTP 502"))
    );
}

#[tokio::test]
async fn server_errors_until_the_deadline_expire() {
    let server = MockIdp::bare()
        .mount(|_| Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)))
        .start()
        .await;
    let (r, sleeps, _) = run(&server, auth(5, 100)).await;
    assert_eq!(r.unwrap_err(), PollError::Expired);
    assert_eq!(
        sleeps.iter().sum::<u64>(),
        100,
        "stops exactly at the deadline"
    );
}

#[tokio::test]
async fn unexpected_oauth_error_is_reported() {
    let s = token_endpoint(vec![oauth_error("invalid_client")]).await;
    let (r, _, _) = run(&s, auth(5, 600)).await;
    match r.unwrap_err() {
        PollError::Failed(e) => {
            assert_eq!(e.oauth_code().map(|c| c.as_str()), Some("invalid_client"));
            assert!(e.to_string().contains("invalid_client from mock"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn connection_refused_fails_at_once() {
    // Bind then drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/token");
    let (r, sleeps, _) = run_with(&http(), &url, auth(5, 600)).await;
    match r.unwrap_err() {
        PollError::Failed(e) => {
            assert!(!e.is_transient());
            assert!(e.to_string().contains("connection refused"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sleeps, vec![5], "one poll, no retries");
}

#[tokio::test]
async fn malformed_success_body_is_an_error_not_a_retry() {
    let s = token_endpoint(vec![
        ResponseTemplate::new(200).set_body_raw("{\"access_token\": ", "application/json"),
    ])
    .await;
    let (r, _, _) = run(&s, auth(5, 600)).await;
    match r.unwrap_err() {
        PollError::Failed(e) => assert!(e.to_string().contains("malformed JSON"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let s = token_endpoint(vec![success().set_delay(Duration::from_secs(3)), success()]).await;
    let http = Http::new(Timeouts {
        connect: Duration::from_millis(300),
        total: Duration::from_millis(300),
    })
    .unwrap();
    let (r, _, events) = run_with(&http, &format!("{}/token", s.uri()), auth(5, 600)).await;
    assert_eq!(r.unwrap(), "AT-1");
    assert!(
        matches!(&events[..], [PollEvent::Retrying { reason, wait }] if reason.contains("timed out") && *wait == Duration::from_secs(10)),
        "{events:?}"
    );
}

#[tokio::test]
async fn oauth_errors_with_5xx_or_429_are_retried() {
    let s = token_endpoint(vec![
        ResponseTemplate::new(503)
            .set_body_json(serde_json::json!({"error": "temporarily_unavailable"})),
        ResponseTemplate::new(429).set_body_json(serde_json::json!({"error": "too_many_requests"})),
        success(),
    ])
    .await;
    let (r, sleeps, events) = run(&s, auth(5, 600)).await;
    assert_eq!(r.unwrap(), "AT-1");
    assert_eq!(sleeps, vec![5, 10, 20]);
    assert_eq!(events.len(), 2);
}

#[tokio::test]
async fn pending_answered_with_200_like_github() {
    let s = token_endpoint(vec![
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"error": "authorization_pending"})),
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"error": "slow_down", "interval": 10})),
        success(),
    ])
    .await;
    let (r, sleeps, _) = run(&s, auth(5, 600)).await;
    assert_eq!(r.unwrap(), "AT-1");
    assert_eq!(sleeps, vec![5, 5, 10]);
}

#[tokio::test]
async fn a_tls_failure_fails_at_once_and_names_tls() {
    // https to a server that speaks plain HTTP: the TLS handshake fails.
    let s = MockIdp::bare().start().await;
    let url = format!("{}/token", s.uri()).replace("http://", "https://");
    let (r, sleeps, _) = run_with(&http(), &url, auth(5, 600)).await;
    match r.unwrap_err() {
        PollError::Failed(e) => assert!(e.to_string().contains("TLS"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(sleeps, vec![5], "one poll, no retries");
}

#[tokio::test]
async fn a_hanging_token_endpoint_does_not_outlive_the_code() {
    let s = token_endpoint(vec![success().set_delay(Duration::from_secs(30))]).await;
    let started = std::time::Instant::now();
    // The code expires 2 s after the first poll starts; the request may not take
    // the HTTP client's 60 s timeout.
    let slow_http = Http::new(Timeouts {
        connect: Duration::from_secs(2),
        total: Duration::from_secs(60),
    })
    .unwrap();
    let (r, _, _) = run_with(&slow_http, &format!("{}/token", s.uri()), auth(1, 3)).await;
    assert_eq!(r.unwrap_err(), PollError::Expired);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_deadline() {
    let s = token_endpoint(vec![
        ResponseTemplate::new(503).insert_header("Retry-After", "40"),
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "7")
            .set_body_json(serde_json::json!({"error": "slow_down_please"})),
        success(),
    ])
    .await;
    let (r, sleeps, _) = run(&s, auth(5, 600)).await;
    assert_eq!(r.unwrap(), "AT-1");
    // 40 s as asked (not the 10 s backoff); then the 20 s backoff, more than the 7 s asked.
    assert_eq!(sleeps, vec![5, 40, 20]);
    // A Retry-After beyond the code's life is cut at the deadline.
    let s = token_endpoint(vec![
        ResponseTemplate::new(503).insert_header("Retry-After", "9999"),
    ])
    .await;
    let (r, sleeps, _) = run(&s, auth(5, 100)).await;
    assert_eq!(r.unwrap_err(), PollError::Expired);
    assert_eq!(sleeps, vec![5, 95]);
}

#[tokio::test]
async fn a_dpop_token_is_refused() {
    let s = token_endpoint(vec![ResponseTemplate::new(200).set_body_json(
        serde_json::json!({
            "access_token": "AT-1", "token_type": "DPoP", "expires_in": 300
        }),
    )])
    .await;
    match run(&s, auth(5, 600)).await.0.unwrap_err() {
        PollError::Failed(e) => assert!(e.to_string().contains("\"DPoP\""), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn basic_authenticated_device_requests_keep_client_id_in_the_body() {
    let server = MockIdp::bare()
        .mount(|_| {
            Mock::given(method("POST"))
                .and(path("/device"))
                .and(body_string_contains("client_id=vmauth-cli"))
                .and(wiremock::matchers::header_exists("authorization"))
                .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                    "device_code": "d", "user_code": "ABCD", "verification_uri": "https://idp/device"
                })))
                .expect(1)
        })
        .start()
        .await;
    let mut c = client();
    c.auth =
        vmauth::oidc::client_auth::ClientAuth::SecretBasic(vmauth::secret::Secret::new("s3cret"));
    vmauth::oidc::device::authorize(&http(), &format!("{}/device", server.uri()), &c)
        .await
        .unwrap();
}

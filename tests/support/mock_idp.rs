//! The one builder of in-process mock identity providers (wiremock), for the
//! answers a real OpenID Provider will not give. Shared by the integration
//! tests (`tests/support`) and the crate's own tests (`src/testing`).
#![allow(dead_code)]

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

/// Where OIDC discovery is served.
pub const WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// The metadata of a provider at `uri`, with its endpoints at `/token`,
/// `/device/auth`, `/revoke` and `/jwks`.
pub fn metadata(uri: &str) -> Value {
    json!({
        "issuer": uri,
        "token_endpoint": format!("{uri}/token"),
        "device_authorization_endpoint": format!("{uri}/device/auth"),
        "revocation_endpoint": format!("{uri}/revoke"),
        "jwks_uri": format!("{uri}/jwks"),
    })
}

type Build<T> = Box<dyn FnOnce(&str) -> T>;

/// A mock provider to start: its discovery answer and the mocks mounted on
/// it, in order, each built from the server's URL (its issuer).
pub struct MockIdp {
    discovery: Option<Build<ResponseTemplate>>,
    mocks: Vec<Build<Mock>>,
}

impl Default for MockIdp {
    fn default() -> Self {
        MockIdp::new()
    }
}

impl MockIdp {
    /// Discovery serves [`metadata`]; nothing else is mounted.
    pub fn new() -> MockIdp {
        MockIdp::bare().metadata(metadata)
    }

    /// Nothing mounted, not even discovery (what nothing matches answers 404).
    pub fn bare() -> MockIdp {
        MockIdp {
            discovery: None,
            mocks: Vec::new(),
        }
    }

    /// Discovery serves `meta(uri)` instead.
    pub fn metadata(self, meta: impl FnOnce(&str) -> Value + 'static) -> MockIdp {
        self.discovery(move |uri| ResponseTemplate::new(200).set_body_json(meta(uri)))
    }

    /// Discovery answers `answer(uri)` (an error, a redirect, a slow answer).
    pub fn discovery(mut self, answer: impl FnOnce(&str) -> ResponseTemplate + 'static) -> MockIdp {
        self.discovery = Some(Box::new(answer));
        self
    }

    /// `POST /device/auth` answers with the device code `dev-1` and the user
    /// code `WDJB-MJHT`, to approve at `{uri}/activate` within 600 s, polling
    /// every 5 s (the device authorization most tests need).
    pub fn device_authorization(self) -> MockIdp {
        self.post("/device/auth", |uri| {
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "device_code": "dev-1", "user_code": "WDJB-MJHT",
                "verification_uri": format!("{uri}/activate"),
                "verification_uri_complete": format!("{uri}/activate?user_code=WDJB-MJHT"),
                "expires_in": 600, "interval": 5,
            }))
        })
    }

    /// `GET p` answers `answer(uri)`.
    pub fn get(self, p: &str, answer: impl FnOnce(&str) -> ResponseTemplate + 'static) -> MockIdp {
        self.route("GET", p, answer, false)
    }

    /// `POST p` answers `answer(uri)`.
    pub fn post(self, p: &str, answer: impl FnOnce(&str) -> ResponseTemplate + 'static) -> MockIdp {
        self.route("POST", p, answer, false)
    }

    /// The first `GET p` answers `answer(uri)` (mount the later answer after it).
    pub fn get_once(
        self,
        p: &str,
        answer: impl FnOnce(&str) -> ResponseTemplate + 'static,
    ) -> MockIdp {
        self.route("GET", p, answer, true)
    }

    /// The first `POST p` answers `answer(uri)`.
    pub fn post_once(
        self,
        p: &str,
        answer: impl FnOnce(&str) -> ResponseTemplate + 'static,
    ) -> MockIdp {
        self.route("POST", p, answer, true)
    }

    fn route(
        self,
        m: &'static str,
        p: &str,
        answer: impl FnOnce(&str) -> ResponseTemplate + 'static,
        once: bool,
    ) -> MockIdp {
        let p = p.to_string();
        self.mount(move |uri| {
            let mock = Mock::given(method(m))
                .and(path(p))
                .respond_with(answer(uri));
            if once { mock.up_to_n_times(1) } else { mock }
        })
    }

    /// `POST p` is answered by `responder` (answers that change with the requests).
    pub fn post_with(self, p: &str, responder: impl Respond + 'static) -> MockIdp {
        let p = p.to_string();
        self.mount(move |_| {
            Mock::given(method("POST"))
                .and(path(p))
                .respond_with(responder)
        })
    }

    /// Any other mock, built from the server's URL.
    pub fn mount(mut self, mock: impl FnOnce(&str) -> Mock + 'static) -> MockIdp {
        self.mocks.push(Box::new(mock));
        self
    }

    /// Start it.
    pub async fn start(self) -> MockServer {
        let s = MockServer::start().await;
        self.mount_on(&s).await;
        s
    }

    /// Mount it on `s`, already running (for answers made before, that name
    /// its URL).
    pub async fn mount_on(self, s: &MockServer) {
        let uri = s.uri();
        if let Some(answer) = self.discovery {
            Mock::given(method("GET"))
                .and(path(WELL_KNOWN))
                .respond_with(answer(&uri))
                .mount(s)
                .await;
        }
        for mock in self.mocks {
            mock(&uri).mount(s).await;
        }
    }
}

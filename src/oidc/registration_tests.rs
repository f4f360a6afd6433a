use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn vmauth_registers_as_a_native_public_client_and_can_delete_it() {
    rt().block_on(async {
        let s = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/reg"))
            .and(header("authorization", "Bearer initial-access-token-1"))
            .and(body_partial_json(json!({
                "client_name": "vmauth", "application_type": "native",
                "token_endpoint_auth_method": "none", "software_id": "vmauth",
                "redirect_uris": ["http://127.0.0.1/callback", "http://[::1]/callback"],
                "grant_types": ["urn:ietf:params:oauth:grant-type:device_code", "authorization_code", "refresh_token"],
            })))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({
                "client_id": "dyn-1", "registration_access_token": "rat-secret-123456",
                "registration_client_uri": format!("{}/reg/dyn-1", s.uri()),
                "token_endpoint_auth_method": "none",
            })))
            .mount(&s)
            .await;
        Mock::given(method("DELETE"))
            .and(path("/reg/dyn-1"))
            .and(header("authorization", "Bearer rat-secret-123456"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&s)
            .await;
        let http = Http::new(Default::default()).unwrap();
        let iat = Secret::new("initial-access-token-1".to_string());
        let r = register(&http, &format!("{}/reg", s.uri()), &ClientMetadata::vmauth(None), Some(&iat))
            .await
            .unwrap();
        assert_eq!(r.client_id, "dyn-1");
        assert!(!format!("{r:?}").contains("rat-secret"), "{r:?}");
        unregister(&http, &r).await.unwrap();
    });
}

#[test]
fn a_refusal_never_shows_the_initial_access_token_and_odd_answers_are_refused() {
    rt().block_on(async {
        let s = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/reg"))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "error": "invalid_token", "error_description": "bad token initial-access-token-1",
            })))
            .mount(&s)
            .await;
        for (p, answer) in [
            ("/bad-id", json!({"client_id": "has space"})),
            (
                "/confidential",
                json!({"client_id": "c", "token_endpoint_auth_method": "client_secret_basic"}),
            ),
            (
                "/http-uri",
                json!({"client_id": "c", "registration_client_uri": "http://evil.example/reg/c"}),
            ),
            ("/bar", json!({"client_id": "a|b"})),
            (
                "/secret",
                json!({"client_id": "c", "client_secret": "s", "token_endpoint_auth_method": "client_secret_post"}),
            ),
        ] {
            Mock::given(method("POST"))
                .and(path(p))
                .respond_with(ResponseTemplate::new(201).set_body_json(answer))
                .mount(&s)
                .await;
        }
        let http = Http::new(Default::default()).unwrap();
        let iat = Secret::new("initial-access-token-1".to_string());
        let e = register(
            &http,
            &format!("{}/reg", s.uri()),
            &ClientMetadata::vmauth(None),
            Some(&iat),
        )
        .await
        .unwrap_err();
        assert!(!e.to_string().contains("initial-access-token-1"), "{e}");
        for p in ["/bad-id", "/confidential", "/http-uri", "/bar", "/secret"] {
            let e = register(
                &http,
                &format!("{}{p}", s.uri()),
                &ClientMetadata::vmauth(None),
                None,
            )
            .await;
            assert!(e.is_err(), "{p}: {e:?}");
        }
        assert!(
            register(
                &http,
                "http://idp.example.com/reg",
                &ClientMetadata::vmauth(None),
                None
            )
            .await
            .is_err()
        );
    });
}

#[test]
fn only_204_401_or_404_count_as_deleted() {
    rt().block_on(async {
        let s = MockServer::start().await;
        // A redirected DELETE answered as a GET: the registration, 200.
        Mock::given(method("DELETE"))
            .and(path("/reg/dyn-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"client_id": "dyn-1"})))
            .mount(&s)
            .await;
        let r: Registration = serde_json::from_value(json!({
            "client_id": "dyn-1", "registration_access_token": "rat-secret-123456",
            "registration_client_uri": format!("{}/reg/dyn-1", s.uri()),
        }))
        .unwrap();
        let http = Http::new(Default::default()).unwrap();
        assert!(unregister(&http, &r).await.is_err());
    });
}

//! Smoke test of the end-to-end test IdP harness (tests/support/idp.rs + tests/idp/).
//! It needs `node` on PATH; it does not run vmauth itself.

mod support;

use support::idp;

use std::time::Duration;

use idp::Idp;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn device_auth(idp: &Idp, scope: &str) -> serde_json::Value {
    let res = idp.post_form(
        "/device/auth",
        &[("client_id", "vmauth-cli"), ("scope", scope)],
    );
    assert_eq!(res.status, 200, "device authorization failed: {}", res.body);
    res.json()
}

fn poll(idp: &Idp, device_code: &str) -> idp::HttpResponse {
    idp.post_form(
        "/token",
        &[
            ("client_id", "vmauth-cli"),
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
        ],
    )
}

#[test]
fn discovery_and_device_flow_approve() {
    let idp = Idp::start();
    assert!(
        idp.issuer.starts_with("http://127.0.0.1:"),
        "issuer {}",
        idp.issuer
    );

    let disco = idp.get("/.well-known/openid-configuration");
    assert_eq!(disco.status, 200);
    let disco = disco.json();
    assert_eq!(disco["issuer"], idp.issuer.as_str());
    assert_eq!(
        disco["device_authorization_endpoint"],
        idp.url("/device/auth").as_str()
    );
    // The access log is read by another thread: poll for the line, with a deadline.
    assert!(
        idp.wait_for_log(
            "GET /.well-known/openid-configuration 200",
            Duration::from_secs(10)
        ),
        "{:?}",
        idp.log()
    );

    let da = device_auth(&idp, "openid profile email offline_access");
    assert_eq!(da["interval"], 1);
    let device_code = da["device_code"].as_str().unwrap();
    let user_code = da["user_code"].as_str().unwrap();

    let pending = poll(&idp, device_code);
    assert_eq!(pending.status, 400);
    assert_eq!(pending.json()["error"], "authorization_pending");

    idp.approve(user_code); // panics unless approve.mjs printed "approved"

    let tokens = poll(&idp, device_code);
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let tokens = tokens.json();
    assert!(tokens["access_token"].is_string());
    assert!(tokens["refresh_token"].is_string());
    assert!(tokens["id_token"].is_string());

    // refresh rotates; reusing the old refresh token is invalid_grant
    let rt = tokens["refresh_token"].as_str().unwrap();
    let refresh = |rt: &str| {
        idp.post_form(
            "/token",
            &[
                ("client_id", "vmauth-cli"),
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
            ],
        )
    };
    let fresh = refresh(rt);
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_ne!(fresh.json()["refresh_token"].as_str().unwrap(), rt);
    assert_eq!(refresh(rt).json()["error"], "invalid_grant");

    let timeout = Duration::from_secs(10);
    assert!(idp.wait_for_log("POST /token 200 grant_type=refresh_token", timeout));
    assert!(idp.wait_for_log(
        "POST /token 400 grant_type=refresh_token error=invalid_grant",
        timeout
    ));
    assert_eq!(
        idp.count(&format!("POST /token 200 grant_type={DEVICE_GRANT}")),
        1,
        "{:#?}",
        idp.log()
    );
}

#[test]
fn deny_and_verification_uri_complete_and_knobs() {
    let idp = Idp::start_with(&[("IDP_DEVICE_POLL_INTERVAL", "0"), ("IDP_SLOW_DOWN", "0")]);
    let scope = "openid email offline_access";

    // deny at the device confirmation page
    let da = device_auth(&idp, scope);
    assert_eq!(da["interval"], 0);
    idp.deny(da["user_code"].as_str().unwrap());
    let denied = poll(&idp, da["device_code"].as_str().unwrap());
    assert_eq!(denied.status, 400);
    assert_eq!(denied.json()["error"], "access_denied");

    // approve as bob, starting from verification_uri_complete
    let da = device_auth(&idp, scope);
    idp.approve_as("bob", da["verification_uri_complete"].as_str().unwrap());
    let tokens = poll(&idp, da["device_code"].as_str().unwrap());
    assert_eq!(tokens.status, 200, "{}", tokens.body);

    // a failed approval is reported, not hidden
    let run = idp.run_approve(&["NOPE-NOPE"]);
    assert_eq!(run.status, Some(3), "{run:?}");
    assert!(
        run.outcome().starts_with("failed: code-not-found"),
        "{run:?}"
    );

    assert!(idp.wait_for_log("error=access_denied", Duration::from_secs(10)));
}

use serde_json::json;

use super::*;

const NOW: i64 = 2_000_000_000;

fn credential() -> Credential {
    serde_json::from_value(json!({
        "issuer": "https://idp.example.com", "client_id": "cli", "audience": "https://api",
        "access_token": "at-123", "refresh_token": "rt", "id_token": null,
        "expires_at": timestamp::format(NOW + 300), "scope": "openid api",
    }))
    .unwrap()
}

fn render_at(format: OutputFormat, exec_info: Option<&str>) -> Result<String> {
    render(
        format,
        &credential(),
        TokenChoice::Access,
        NOW,
        60,
        exec_info,
    )
}

#[test]
fn raw_header_and_env_are_exact() {
    assert_eq!(render_at(OutputFormat::Raw, None).unwrap(), "at-123\n");
    assert_eq!(
        render_at(OutputFormat::Header, None).unwrap(),
        "Authorization: Bearer at-123\n"
    );
    assert_eq!(
        render_at(OutputFormat::Env, None).unwrap(),
        "export VMAUTH_TOKEN='at-123'\nexport VMAUTH_TOKEN_EXPIRES_AT='2033-05-18T03:38:20Z'\n"
    );
    assert_eq!(shell_quote("it's"), r"'it'\''s'");
}

#[test]
fn json_has_every_documented_field() {
    let v: Value = serde_json::from_str(&render_at(OutputFormat::Json, None).unwrap()).unwrap();
    assert_eq!(
        v,
        json!({
            "token": "at-123", "token_type": "Bearer", "token_use": "access_token",
            "expires_at": "2033-05-18T03:38:20Z", "expires_in": 300,
            "issuer": "https://idp.example.com", "client_id": "cli", "audience": "https://api",
            "scopes": ["openid", "api"], "claims": {},
        })
    );
}

#[test]
fn exec_credentials_follow_kubectls_version_and_expire_early() {
    let v: Value =
        serde_json::from_str(&render_at(OutputFormat::ExecCredential, None).unwrap()).unwrap();
    assert_eq!(
        v,
        json!({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
               "status": {"token": "at-123", "expirationTimestamp": "2033-05-18T03:37:20Z"}})
    );
    let info = r#"{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}"#;
    let v: Value =
        serde_json::from_str(&render_at(OutputFormat::ExecCredential, Some(info)).unwrap())
            .unwrap();
    assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1beta1");
    let old = r#"{"apiVersion":"client.authentication.k8s.io/v1alpha1"}"#;
    let e = render_at(OutputFormat::ExecCredential, Some(old)).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.message().contains("v1alpha1"), "{e}");
}

use super::*;

fn parse(text: &str) -> Result<Config> {
    Config::parse(text, Path::new("/home/me/.config/vmauth/config.toml"))
}

#[test]
fn a_complete_profile_reads() {
    let c = parse(
        r#"
# my logins
default_profile = "work"

[profiles.work]
issuer = "https://idp.example.com"
client_id = "my-cli"
audience = "https://api.example.com"
scope = "openid offline_access api"
resource = ["https://api.example.com"]
token_type = "id"
store = "file"
min_ttl = 90
output = "json"
device_authorization_endpoint = "https://idp.example.com/device"

[profiles.ci]
issuer = "https://idp.example.com"
client_id = "my-ci"
grant = "client_credentials"
client_auth = "private_key_jwt"
private_key = "/run/secrets/ci.pem"
key_id = "k1"
min_ttl = "5m"
"#,
    )
    .unwrap();
    assert_eq!(c.default_profile.as_deref(), Some("work"));
    assert_eq!(c.profiles["work"].min_ttl.as_deref(), Some("90"));
    assert_eq!(c.profiles["ci"].min_ttl.as_deref(), Some("5m"));
    assert_eq!(
        c.profiles["ci"].grant.as_deref(),
        Some("client_credentials")
    );
}

#[test]
fn unknown_keys_and_wrong_types_name_the_file_line_and_key() {
    let e = parse("[profiles.work]\nissuer = \"https://i\"\nclient = \"x\"\n").unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.message().starts_with(
            "/home/me/.config/vmauth/config.toml line 3 (client): unknown field `client`"
        ),
        "{e}"
    );
    let e = parse("[profiles.work]\n\nissuer = 5\n").unwrap_err();
    assert!(e.message().contains("line 3 (issuer)"), "{e}");
    let e = parse("default_profile = \"gone\"\n").unwrap_err();
    assert!(e.message().contains("no [profiles.gone]"), "{e}");
    let e = parse("[profiles.work\n").unwrap_err();
    assert!(e.message().contains("line 1"), "{e}");
}

#[test]
fn secrets_are_refused_with_the_ways_that_work() {
    let e = parse("[profiles.ci]\nissuer = \"https://i\"\n\nclient_secret = \"hunter2\"\n")
        .unwrap_err();
    let m = e.message();
    assert!(
        m.contains("line 4: profile \"ci\" has a \"client_secret\""),
        "{m}"
    );
    assert!(
        m.contains("VMAUTH_CLIENT_SECRET")
            && m.contains("client_secret_file")
            && m.contains("--client-secret-stdin"),
        "{m}"
    );
    assert!(!m.contains("hunter2"), "{m}");
}

#[test]
fn saving_keeps_comments_and_other_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "# keep me\ndefault_profile = \"a\"\n\n[profiles.a] # inline\nissuer = \"https://a\"\nclient_id = \"a\"\n").unwrap();
    let profile = |issuer: &str, client: &str| Profile {
        issuer: Some(issuer.into()),
        client_id: Some(client.into()),
        ..Default::default()
    };
    save(&path, "b", &profile("https://b", "b")).unwrap();
    save(&path, "a", &profile("https://a2", "a")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("# keep me\ndefault_profile = \"a\"\n"),
        "{text}"
    );
    let c = Config::load_in(dir.path(), true).unwrap();
    assert_eq!(c.profiles["a"].issuer.as_deref(), Some("https://a2"));
    assert_eq!(c.profiles["b"].issuer.as_deref(), Some("https://b"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn a_saved_profile_reads_back_as_the_same_profile() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let p = Profile {
        issuer: Some("https://idp".into()),
        client_id: Some("ci".into()),
        resource: Some(vec!["https://api".into()]),
        grant: Some("client_credentials".into()),
        client_auth: Some("private_key_jwt".into()),
        private_key: Some("/run/key.pem".into()),
        key_id: Some("k1".into()),
        assertion_audience: Some("issuer".into()),
        ..Default::default()
    };
    save(&path, "ci", &p).unwrap();
    assert_eq!(Config::load_in(dir.path(), true).unwrap().profiles["ci"], p);
}

#[test]
fn a_config_file_that_is_not_text_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, b"issuer = \"\xff\xfe\"\n").unwrap();
    let e = Config::load_in(dir.path(), true).unwrap_err();
    assert!(e.message().contains("is not UTF-8 text"), "{e}");
    assert_eq!(e.exit_code(), 2);
}

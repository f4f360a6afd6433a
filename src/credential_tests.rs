use super::*;

#[test]
fn normalize_strips_whitespace_and_wrapping_quotes_repeatedly() {
    assert_eq!(normalize("  \"'abc'\"  "), "abc");
    assert_eq!(normalize("\" x \""), "x");
    assert_eq!(normalize("'unbalanced\""), "'unbalanced\"");
    assert_eq!(normalize("\""), "\"");
    assert_eq!(normalize("''"), "");
}

#[test]
fn issuer_trailing_slash_is_the_same_login() {
    let a = LoginId::new("\"https://idp/\"", "cli", None).unwrap();
    let b = LoginId::new("https://idp", " cli ", Some("")).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.cache_key(), "https://idp|cli");
}

#[test]
fn audience_is_part_of_the_key() {
    let a = LoginId::new("https://idp", "cli", Some("'https://api'")).unwrap();
    assert_eq!(a.cache_key(), "https://idp|cli|https://api");
    assert!(a.login_hint().ends_with("--audience https://api"));
}

#[test]
fn control_characters_are_refused() {
    for (i, c, a) in [
        ("https://a\u{1f}", "cli", None),
        ("https://a", "c\u{7}li", None),
        ("https://a", "cli", Some("api\u{202e}")),
    ] {
        let e = LoginId::new(i, c, a).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.message().contains("control or invisible characters"),
            "{e}"
        );
    }
}

#[test]
fn keys_round_trip() {
    let id = LoginId::from_key("https://i|c|https://api");
    assert_eq!(id.audience.as_deref(), Some("https://api"));
    assert_eq!(id.cache_key(), "https://i|c|https://api");
    assert_eq!(LoginId::from_key("https://i|c").audience, None);
}

#[test]
fn missing_parts_name_the_flag() {
    let e = LoginId::new(" ", "cli", None).unwrap_err();
    assert!(e.message().contains("--issuer"));
    assert_eq!(e.exit_code(), 2);
    let e = LoginId::new("https://idp", "''", None).unwrap_err();
    assert!(e.message().contains("--client-id"));
}

#[test]
fn scopes_split_on_space_and_comma() {
    assert_eq!(
        parse_scopes("openid, profile  api,openid"),
        vec!["openid", "profile", "api"]
    );
}

#[test]
fn secrets_do_not_show_in_debug() {
    let c: Credential = serde_json::from_str(
        r#"{"issuer":"https://i","client_id":"c","access_token":"AT-123","refresh_token":"RT-456","id_token":null,"expires_at":"2030-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("AT-123") && !dbg.contains("RT-456"), "{dbg}");
}

#[test]
fn timestamps_read_validmind_formats() {
    assert_eq!(timestamp::parse("2030-01-01T00:00:00Z"), Some(1893456000));
    assert_eq!(
        timestamp::parse("2030-01-01T00:00:00.123456+00:00"),
        Some(1893456000)
    );
    assert_eq!(timestamp::parse("2030-01-01T00:00:00"), Some(1893456000));
    assert_eq!(timestamp::parse("tomorrow"), None);
    assert_eq!(timestamp::format(1893456000), "2030-01-01T00:00:00Z");
}

#[test]
fn unknown_fields_survive() {
    let json = r#"{"issuer":"https://i","client_id":"c","access_token":"a","refresh_token":null,"id_token":null,"expires_at":"bad","nb_field":{"x":1}}"#;
    let c: Credential = serde_json::from_str(json).unwrap();
    assert_eq!(c.expires_at, 0);
    let back = serde_json::to_value(&c).unwrap();
    assert_eq!(back["nb_field"]["x"], 1);
}

#[test]
fn client_settings_keep_their_stored_form() {
    let json = r#"{"auth":"private_key_jwt","private_key":"/k.pem","assertion_audience":"issuer"}"#;
    let s: ClientSettings = serde_json::from_str(json).unwrap();
    assert_eq!(s.auth, Method::PrivateKeyJwt);
    assert_eq!(s.assertion_audience, Some(AssertionAudience::Issuer));
    assert_eq!(serde_json::to_string(&s).unwrap(), json);
}

#[test]
fn a_missing_expiry_counts_as_expired() {
    let c: Credential = serde_json::from_str(
        r#"{"issuer":"https://i","client_id":"c","access_token":"a","refresh_token":"r"}"#,
    )
    .unwrap();
    assert_eq!(c.expires_at, 0);
    assert!(c.ttl(1) < 0);
}

#[test]
fn other_tools_numbers_survive_a_rewrite_exactly() {
    // As the ValidMind library (Python's json module) writes them.
    let json = r#"{"issuer":"https://i","client_id":"c","access_token":"a","refresh_token":null,"id_token":null,"expires_at":"2030-01-01T00:00:00Z","obtained_at":1732300000.1234567,"ratio":0.1,"tiny":5e-324,"big":123456789012345678901234567890,"neg":-9223372036854775809,"nested":{"f":[1.0000000000000002,3.141592653589793]}}"#;
    let c: Credential = serde_json::from_str(json).unwrap();
    let back = serde_json::to_string(&c).unwrap();
    for n in [
        "1732300000.1234567",
        "0.1",
        "5e-324",
        "123456789012345678901234567890",
        "-9223372036854775809",
        "1.0000000000000002",
        "3.141592653589793",
    ] {
        assert!(back.contains(n), "{n} changed: {back}");
    }
}

#[test]
fn the_refresh_margin_adapts_to_short_lived_tokens() {
    let mut c: Credential = serde_json::from_str(
        r#"{"issuer":"https://i","client_id":"c","access_token":"opaque","expires_at":"2030-01-01T00:00:30Z","issued_at":"2030-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    assert_eq!(c.refresh_margin(60), 15, "half of a 30 s lifetime");
    assert_eq!(c.refresh_margin(10), 10, "min-ttl when smaller");
    let now = c.expires_at - 20;
    assert!(c.fresh_enough(now, 60), "20 s left of 30: still good");
    assert!(!c.fresh_enough(now + 10, 60));
    // Without issued_at: a JWT's iat/exp, else min-ttl as it is.
    c.issued_at = None;
    assert_eq!(c.refresh_margin(60), 60);
    use base64::Engine;
    let payload =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"iat":100,"exp":140}"#);
    c.access_token = Secret::new(format!("e30.{payload}.sig"));
    assert_eq!(c.refresh_margin(60), 20);
    assert_eq!(
        serde_json::to_value(&c).unwrap().get("issued_at"),
        None,
        "not written when unknown"
    );
}

#[test]
fn expiries_beyond_the_file_formats_range_are_clamped_not_wrapped() {
    // Found by fuzzing: an expiry after 9999 was written as 1970 (expired at once).
    let c: Credential = serde_json::from_str(
        r#"{"issuer":"https://i","client_id":"c","access_token":"a","expires_at":253402300800000}"#,
    )
    .unwrap();
    assert_eq!(c.expires_at, timestamp::MAX);
    let back: Credential = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
    assert_eq!(back.expires_at, c.expires_at, "reads back as written");
    assert_eq!(timestamp::format(i64::MAX), "9999-12-31T23:59:59Z");
    assert_eq!(timestamp::format(-5), "1970-01-01T00:00:00Z");
}

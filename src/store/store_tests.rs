//! Unit tests for `src/store/mod.rs`.

use super::*;

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

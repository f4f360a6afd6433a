//! The platform answers' parser and the token check.

use super::{check_token, parse_answer};

fn jwt(payload: &str) -> String {
    use base64::Engine;
    let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!("{}.{}.c2ln", b(r#"{"alg":"ES256"}"#), b(payload))
}

#[test]
fn each_platforms_answer_is_read_by_its_field() {
    assert_eq!(
        parse_answer(br#"{"count":1,"value":"a.b.c"}"#, "value").unwrap(),
        "a.b.c"
    );
    assert_eq!(
        parse_answer(br#"{"oidcToken":"a.b.c"}"#, "oidcToken").unwrap(),
        "a.b.c"
    );
    assert_eq!(parse_answer(b" a.b.c\n", "").unwrap(), "a.b.c");
    let e = parse_answer(br#"{"value":1}"#, "value").unwrap_err();
    assert!(e.contains("not a string"), "{e}");
    let e = parse_answer(br#"{"token":"secret.secret.secret"}"#, "value").unwrap_err();
    assert!(e.contains("no \"value\"") && !e.contains("secret"), "{e}");
    let e = parse_answer(b"<html>secret</html>", "value").unwrap_err();
    assert!(!e.contains("secret"), "{e}");
    assert!(parse_answer(&[0xff, 0xfe], "").is_err());
    assert!(parse_answer(&vec![b'a'; 70 * 1024], "").is_err());
}

#[test]
fn a_platform_token_must_be_a_jwt_that_has_not_expired() {
    let now = 1_900_000_000;
    assert!(check_token(&jwt(&format!(r#"{{"exp":{}}}"#, now + 60)), now).is_ok());
    assert!(check_token(&jwt(r#"{"sub":"no exp"}"#), now).is_ok());
    let e = check_token(&jwt(&format!(r#"{{"exp":{}}}"#, now - 5)), now).unwrap_err();
    assert!(e.contains("expired 5 s ago"), "{e}");
    for bad in ["", "a.b", "a.b.c.d", "a b.c.d", ".b.c", "a.b.c\n"] {
        assert!(check_token(bad, now).is_err(), "{bad:?}");
    }
}

#[test]
fn an_expiry_at_the_edge_of_time_does_not_overflow() {
    assert!(check_token(&jwt(r#"{"exp":-9223372036854775808}"#), i64::MAX).is_err());
    assert!(check_token(&jwt(r#"{"exp":9223372036854775807}"#), i64::MIN).is_ok());
}

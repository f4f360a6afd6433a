//! Unit tests for `src/config.rs`.

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

struct FakeEnv(Vec<(&'static str, &'static str)>);
impl Env for FakeEnv {
    fn var(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

#[test]
fn legacy_variable_is_the_fallback() {
    let env = FakeEnv(vec![("VM_OIDC_ISSUER", "https://legacy")]);
    assert_eq!(
        with_fallback(&env, Some("https://new".into()), "VM_OIDC_ISSUER").as_deref(),
        Some("https://new")
    );
    assert_eq!(
        with_fallback(&env, None, "VM_OIDC_ISSUER").as_deref(),
        Some("https://legacy")
    );
    assert_eq!(
        with_fallback(&env, Some(" ".into()), "VM_OIDC_ISSUER").as_deref(),
        Some("https://legacy")
    );
    assert_eq!(with_fallback(&env, None, "VM_OIDC_CLIENT_ID"), None);
}

//! Unit tests for `src/store/offsets.rs`.

use super::*;

#[test]
fn an_entry_is_exactly_one_member_with_that_key_and_an_object() {
    let ok = br#""https://i|c": {"issuer": "https://i", "n": [1, {"x": "}"}]}"#;
    assert_eq!(
        entry_at(ok, "https://i|c").unwrap().get(),
        r#"{"issuer": "https://i", "n": [1, {"x": "}"}]}"#
    );
    // The key may be written with escapes.
    assert!(entry_at(br#""https:\/\/i\u007cc": {}"#, "https://i|c").is_some());
    for bad in [
        &br#""https://i|c": {"issuer": "https://i"}, "other": {}"#[..],
        br#""https://i|c": {}, "https://i|c": {}"#,
        br#""https://i|c": {"issuer": "https://"#,
        br#""https://i|x": {}"#,
        br#""https://i|c": "not an object""#,
        br#"c": {}"#,
        br#"{}"#,
        b"",
    ] {
        assert!(
            entry_at(bad, "https://i|c").is_none(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn a_range_is_used_only_for_the_same_file_key_and_version() {
    let t = tempfile::tempdir().unwrap();
    let offsets = Offsets::new(crate::state::ConfigDir::new(t.path().join("config"), true));
    let file = t.path().join("credentials.json");
    fs::write(&file, "{}").unwrap();
    let identity = Identity::of(&fs::metadata(&file).unwrap()).unwrap();
    offsets.set(&file, identity, "k", (10, 20)).unwrap();
    assert_eq!(offsets.get(&file, identity, "k"), Some((10, 20)));
    assert_eq!(offsets.get(&file, identity, "other"), None);
    assert_eq!(offsets.get(&t.path().join("x.json"), identity, "k"), None);
    // Written again (in place): another version.
    fs::write(&file, "{ }").unwrap();
    let changed = Identity::of(&fs::metadata(&file).unwrap()).unwrap();
    assert_ne!(changed, identity);
    assert_eq!(offsets.get(&file, changed, "k"), None);
    offsets.forget(&file, "k");
    assert_eq!(offsets.get(&file, identity, "k"), None);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(t.path().join("config/offsets"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}

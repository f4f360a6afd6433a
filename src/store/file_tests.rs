//! Unit tests for `src/store/file.rs`.

use super::*;
use crate::credential::Secret;
use serde_json::Map;

use super::offsets::{Identity, Offsets};

fn cred(at: &str) -> Credential {
    Credential {
        issuer: "https://i".into(),
        client_id: "c".into(),
        audience: None,
        access_token: Secret::new(at),
        refresh_token: Some(Secret::new("rt")),
        id_token: None,
        expires_at: 1_900_000_000,
        issued_at: None,
        id_token_verified: false,
        scope: Some("openid".into()),
        token_type: Some("Bearer".into()),
        resource: vec![],
        requested_scope: None,
        client_credentials: None,
        client_auth: None,
        exchanged_from: None,
        userinfo: None,
        extra: Map::new(),
    }
}

fn store(dir: &Path) -> FileStore {
    FileStore::new(dir.join("vm/credentials.json"), true, Box::new(|_| {}))
}

#[test]
fn round_trip_keeps_other_entries_and_fields() {
    let t = tempfile::tempdir().unwrap();
    let s = store(t.path());
    fs::create_dir_all(t.path().join("vm")).unwrap();
    fs::write(
        &s.path,
        r#"{"version":1,"top":"kept","credentials":{"other|x":{"issuer":"o","client_id":"x","access_token":"A","expires_at":"2030-01-01T00:00:00+00:00","custom":1}}}"#,
    )
    .unwrap();
    s.put("https://i|c", &cred("at1")).unwrap();
    let doc: Value = serde_json::from_slice(&fs::read(&s.path).unwrap()).unwrap();
    assert_eq!(doc["top"], "kept");
    assert_eq!(doc["credentials"]["other|x"]["custom"], 1);
    assert_eq!(
        doc["credentials"]["https://i|c"]["expires_at"],
        "2030-03-17T17:46:40Z"
    );
    assert_eq!(
        s.get("https://i|c").unwrap().unwrap().access_token.expose(),
        "at1"
    );
    assert_eq!(s.list().unwrap().len(), 2);
    assert!(s.delete("https://i|c").unwrap());
    assert!(!s.delete("https://i|c").unwrap());
    assert!(s.get("other|x").unwrap().is_some());
}

#[test]
fn corrupt_file_is_never_overwritten() {
    let t = tempfile::tempdir().unwrap();
    let s = store(t.path());
    fs::create_dir_all(t.path().join("vm")).unwrap();
    fs::write(&s.path, "{not json").unwrap();
    let e = s.put("k", &cred("a")).unwrap_err();
    assert!(e.message().contains("not a valid credentials file"), "{e}");
    assert_eq!(fs::read_to_string(&s.path).unwrap(), "{not json");
}

#[test]
fn what_is_wrong_with_a_file_is_named() {
    let t = tempfile::tempdir().unwrap();
    let s = store(t.path());
    fs::create_dir_all(t.path().join("vm")).unwrap();
    for (text, why) in [
        ("[1]", "(not a JSON object)"),
        (
            r#"{"credentials": []}"#,
            r#"("credentials" is not an object)"#,
        ),
        (
            r#"{"credentials": "x"}"#,
            r#"("credentials" is not an object)"#,
        ),
        (
            r#"{"version": 2, "credentials": {}}"#,
            "(written by a newer version; upgrade vmauth)",
        ),
        // A damaged login that is not the one asked for still damages the file:
        // unparsed logins are checked well-formed.
        (
            r#"{"credentials": {"k": {"issuer": "i",}, "other": {}}}"#,
            "(not JSON)",
        ),
        (r#"{"credentials": {}} trailing"#, "(not JSON)"),
    ] {
        fs::write(&s.path, text).unwrap();
        let e = s.get("other").unwrap_err();
        assert!(e.message().contains(why), "{text}: {e}");
        assert!(s.put("k", &cred("a")).is_err());
        assert_eq!(
            fs::read_to_string(&s.path).unwrap(),
            text,
            "never overwritten"
        );
    }
}

#[test]
fn other_logins_and_members_are_written_back_byte_for_byte() {
    let t = tempfile::tempdir().unwrap();
    let s = store(t.path());
    fs::create_dir_all(t.path().join("vm")).unwrap();
    // Another tool's formatting: compact, escaped key and text, exponents,
    // integers beyond 64 bits, a float's last digit.
    let other = r#"{"issuer":"o","client_id":"x","access_token":"A\u00e9\/","expires_at":"2030-01-01T00:00:00Z","n":1E2,"big":123456789012345678901234567890,"f":0.30000000000000004}"#;
    let top = r#"[ 1,2 , {"a" : null} ]"#;
    fs::write(
        &s.path,
        format!(
            r#"{{"zz_tool": {top}, "version": 1, "credentials": {{"other\u007cx": {other}}}}}"#
        ),
    )
    .unwrap();
    s.put("https://i|c", &cred("at1")).unwrap();
    let text = fs::read_to_string(&s.path).unwrap();
    assert!(text.contains(&format!(r#""other|x": {other}"#)), "{text}");
    assert!(text.contains(&format!(r#""zz_tool": {top}"#)), "{text}");
    // The login written is pretty-printed in place, and the whole is JSON.
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["credentials"]["https://i|c"]["access_token"], "at1");
    assert!(
        text.contains("\n    \"https://i|c\": {\n      \"access_token\": \"at1\""),
        "{text}"
    );
    // The escaped key is found, and a second rewrite changes nothing else.
    assert_eq!(
        s.get("other|x").unwrap().unwrap().access_token.expose(),
        "Aé/"
    );
    s.put("https://i|c", &cred("at1")).unwrap();
    assert_eq!(fs::read_to_string(&s.path).unwrap(), text);
}

#[test]
fn a_login_or_member_written_twice_counts_once_the_last() {
    let t = tempfile::tempdir().unwrap();
    let s = store(t.path());
    fs::create_dir_all(t.path().join("vm")).unwrap();
    let login = |at: &str| {
        format!(
            r#"{{"issuer":"https://i","client_id":"c","access_token":"{at}","expires_at":"2030-01-01T00:00:00Z"}}"#
        )
    };
    fs::write(
        &s.path,
        format!(
            r#"{{"credentials": {{"k": {}}}, "credentials": {{"https://i|c": {}, "https://i|c": {}}}}}"#,
            login("gone"),
            login("first"),
            login("last")
        ),
    )
    .unwrap();
    assert!(s.get("k").unwrap().is_none(), "the last credentials object");
    assert_eq!(
        s.get("https://i|c").unwrap().unwrap().access_token.expose(),
        "last"
    );
    assert_eq!(s.list().unwrap().len(), 1);
    s.put("x|y", &cred("a")).unwrap();
    let text = fs::read_to_string(&s.path).unwrap();
    assert!(!text.contains("first") && !text.contains("gone"), "{text}");
}

#[test]
fn missing_file_is_empty() {
    let t = tempfile::tempdir().unwrap();
    let s = store(t.path());
    assert!(s.get("k").unwrap().is_none());
    assert!(s.list().unwrap().is_empty());
    assert!(!s.delete("k").unwrap());
}

#[test]
fn concurrent_writers_lose_nothing() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("vm/credentials.json");
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let s = FileStore::new(path, true, Box::new(|_| {}));
                s.put(&format!("k{i}"), &cred("a")).unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store(t.path()).list().unwrap().len(), 8);
}

#[test]
fn temporary_files_of_interrupted_writes_are_cleaned_on_the_next_write() {
    let t = tempfile::tempdir().unwrap();
    let s = store(t.path());
    fs::create_dir_all(t.path().join("vm")).unwrap();
    let dir = t.path().join("vm");
    // A process that no longer exists (pid_max is at most 2^22 on Linux).
    let dead = dir.join(".vmauth-4194305-abcdef.tmp");
    let alive = dir.join(format!(".vmauth-{}-abcdef.tmp", std::process::id()));
    let other = dir.join(".notes-1-x.tmp");
    for p in [&dead, &alive, &other] {
        fs::write(p, "partial").unwrap();
    }
    s.put("https://i|c", &cred("at1")).unwrap();
    assert!(!dead.exists(), "a dead writer's file is removed");
    assert!(alive.exists(), "a running writer's file is left alone");
    assert!(other.exists(), "other files are not vmauth's to remove");
    let tmps: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert_eq!(tmps.len(), 2, "the write itself left none");
}

/// A credentials file of `n` logins (about 2.7 KB each, as real ones), with the
/// given separator between members (how another tool may format it).
fn big_file(path: &Path, n: usize, pretty: bool, at: &str) {
    let mut creds = Map::new();
    for i in 0..n {
        let iss = format!("https://idp{i:04}.example.com");
        creds.insert(
            format!("{iss}|c"),
            serde_json::json!({"issuer": iss, "client_id": "c",
                "access_token": format!("{at}{}", "x".repeat(2600)),
                "expires_at": "2999-01-01T00:00:00Z"}),
        );
    }
    let doc = serde_json::json!({"version": 1, "credentials": creds});
    let text = if pretty {
        serde_json::to_string_pretty(&doc).unwrap()
    } else {
        doc.to_string()
    };
    fs::write(path, text).unwrap();
}

fn with_offsets(dir: &Path) -> FileStore {
    store(dir).with_offsets(Offsets::new(crate::state::ConfigDir::new(
        dir.join("config"),
        true,
    )))
}

#[test]
fn a_large_file_is_read_whole_once_then_only_at_the_login() {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("vm")).unwrap();
    let s = with_offsets(t.path());
    big_file(&s.path, 100, true, "A");
    let key = "https://idp0042.example.com|c";
    let token = |s: &FileStore| {
        s.get(key)
            .unwrap()
            .unwrap()
            .access_token
            .expose()
            .to_string()
    };
    assert!(token(&s).starts_with("Axx"));
    assert_eq!(s.whole_reads.get(), 1);
    let first = token(&s);
    for _ in 0..3 {
        assert_eq!(token(&s), first);
    }
    assert_eq!(s.whole_reads.get(), 1, "the login's bytes only");
    // Another tool rewrites the file in place, in another layout: read whole again.
    big_file(&s.path, 100, false, "B");
    assert!(token(&s).starts_with('B'));
    assert_eq!(s.whole_reads.get(), 2);
    assert!(token(&s).starts_with('B'));
    assert_eq!(s.whole_reads.get(), 2);
    // vmauth's own write (one whole read) replaces the file: read whole again.
    s.put(key, &cred("C-new")).unwrap();
    assert_eq!(token(&s), "C-new");
    assert_eq!(s.whole_reads.get(), 4);
    assert_eq!(token(&s), "C-new");
    assert_eq!(s.whole_reads.get(), 4);
    // A login that is not there, and a small file, never use or make offsets.
    assert!(s.get("https://none|c").unwrap().is_none());
    let small = tempfile::tempdir().unwrap();
    fs::create_dir_all(small.path().join("vm")).unwrap();
    let s2 = with_offsets(small.path());
    s2.put(key, &cred("small")).unwrap();
    assert_eq!(s2.get(key).unwrap().unwrap().access_token.expose(), "small");
    assert!(!small.path().join("config/offsets").exists());
}

#[test]
fn remembered_offsets_that_do_not_hold_the_login_are_not_used() {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("vm")).unwrap();
    let s = with_offsets(t.path());
    big_file(&s.path, 100, true, "A");
    let (key, other) = (
        "https://idp0042.example.com|c",
        "https://idp0043.example.com|c",
    );
    s.get(other).unwrap();
    // Planted: the other login's range filed as this login's, for this version.
    let offsets = Offsets::new(crate::state::ConfigDir::new(t.path().join("config"), true));
    let identity = Identity::of(&fs::metadata(&s.path).unwrap()).unwrap();
    let bytes = fs::read(&s.path).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let start = text.find(&format!("\"{other}\"")).unwrap() as u64;
    offsets
        .set(&s.path, identity, key, (start, start + 3000))
        .unwrap();
    let before = s.whole_reads.get();
    let c = s.get(key).unwrap().unwrap();
    assert_eq!(c.issuer, "https://idp0042.example.com");
    assert_eq!(
        s.whole_reads.get(),
        before + 1,
        "checked, refused, read whole"
    );
    // Garbage in the offsets file is ignored the same way.
    for f in fs::read_dir(t.path().join("config/offsets")).unwrap() {
        fs::write(f.unwrap().path(), "{not json").unwrap();
    }
    assert_eq!(
        s.get(key).unwrap().unwrap().issuer,
        "https://idp0042.example.com"
    );
}

#[test]
fn an_offsets_range_beyond_the_file_is_not_read() {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("vm")).unwrap();
    let s = with_offsets(t.path());
    big_file(&s.path, 100, true, "A");
    let key = "https://idp0042.example.com|c";
    let offsets = Offsets::new(crate::state::ConfigDir::new(t.path().join("config"), true));
    let identity = Identity::of(&fs::metadata(&s.path).unwrap()).unwrap();
    for range in [
        (0, u64::MAX),
        (u64::MAX - 1, u64::MAX),
        (10, 5),
        (0, identity.size() + 1),
    ] {
        offsets.set(&s.path, identity, key, range).unwrap();
        assert!(
            s.get(key)
                .unwrap()
                .unwrap()
                .access_token
                .expose()
                .starts_with('A'),
            "{range:?}"
        );
    }
}

#[test]
fn a_login_written_twice_is_read_at_its_last_place() {
    let t = tempfile::tempdir().unwrap();
    fs::create_dir_all(t.path().join("vm")).unwrap();
    let s = with_offsets(t.path());
    big_file(&s.path, 100, false, "A");
    let key = "https://idp0042.example.com|c";
    // Another copy of the login at the end: the last one counts.
    let text = fs::read_to_string(&s.path).unwrap();
    let last = format!(
        r#","{key}":{{"issuer":"https://idp0042.example.com","client_id":"c","access_token":"LAST","expires_at":"2999-01-01T00:00:00Z"}}"#
    );
    let end = text
        .find(r#"},"version""#)
        .expect("compact, credentials first");
    fs::write(&s.path, format!("{}{last}{}", &text[..end], &text[end..])).unwrap();
    assert_eq!(s.get(key).unwrap().unwrap().access_token.expose(), "LAST");
    let reads = s.whole_reads.get();
    assert_eq!(s.get(key).unwrap().unwrap().access_token.expose(), "LAST");
    assert_eq!(s.whole_reads.get(), reads, "read at its offsets");
}

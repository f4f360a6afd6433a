//! Property tests (proptest, stable toolchain) of round trips that must hold for
//! every input: the credentials file, login cache keys, timestamps, terminal text
//! and durations. The fuzz targets in `fuzz/` check the same kinds of properties
//! on arbitrary bytes; these run in `cargo test`, with few cases to stay fast.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::cli::parse_duration_secs;
use crate::credential::{Credential, LoginId, Secret, timestamp};
use crate::error::{from_server, is_format_char, one_line};
use crate::store::CredentialStore;
use crate::store::file::FileStore;
use crate::ui::terminal_safe;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Unix seconds from 1970 to 9999-12-31: the times a credentials file holds
/// (earlier ones read back as 1970, which is as expired).
const FIRST: i64 = 0;
const LAST: i64 = 253_402_300_799;

/// Characters that sanitising must deal with, mixed with arbitrary ones.
fn nasty_char() -> impl Strategy<Value = char> {
    prop_oneof![
        any::<char>(),
        prop::sample::select(vec![
            '\x1b', '\n', '\r', '\t', '\x07', '\x7f', '\u{85}', '\u{9b}', ' ', '\u{a0}',
            '\u{200b}', '\u{200e}', '\u{202e}', '\u{2066}', '\u{2028}', '\u{feff}', 'a', '…',
        ]),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(nasty_char(), 0..48).prop_map(|v| v.into_iter().collect())
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        text().prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn credential() -> impl Strategy<Value = Credential> {
    (
        (text(), text(), prop::option::of(text()), text()),
        (
            prop::option::of(text()),
            prop::option::of(text()),
            FIRST..=LAST,
        ),
        (
            prop::option::of(text()),
            prop::collection::vec(text(), 0..3),
        ),
        // Other tools' fields, kept as they are (not vmauth's own names).
        prop::collection::btree_map("x_[a-z_]{1,8}", json_value(), 0..3),
    )
        .prop_map(
            |((issuer, client_id, audience, at), (rt, idt, exp), (scope, resource), extra)| {
                Credential {
                    issuer,
                    client_id,
                    audience,
                    access_token: Secret::new(at),
                    refresh_token: rt.map(Secret::new),
                    id_token: idt.map(Secret::new),
                    expires_at: exp,
                    issued_at: None,
                    id_token_verified: false,
                    scope,
                    token_type: Some("Bearer".into()),
                    resource,
                    requested_scope: None,
                    client_credentials: None,
                    client_auth: None,
                    exchanged_from: None,
                    userinfo: None,
                    extra: extra.into_iter().collect(),
                }
            },
        )
}

/// An entry of the credentials file: vmauth's, or another tool's (any JSON).
fn entry() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => credential().prop_map(|c| serde_json::to_value(c).unwrap()),
        1 => json_value(),
    ]
}

fn read_doc(path: &std::path::Path) -> Map<String, Value> {
    match serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap() {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

proptest! {
    #![proptest_config(config())]

    /// Writing one login leaves every other entry of the file (vmauth's and other
    /// tools') and every other top-level field exactly as it was.
    #[test]
    fn file_store_put_keeps_other_entries(
        entries in prop::collection::btree_map(".{0,12}", entry(), 0..5),
        top in prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..3),
        new in credential(),
        replace in any::<prop::sample::Index>(),
        replace_existing in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vm/credentials.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut doc: Map<String, Value> = top
            .into_iter()
            .filter(|(k, _)| k != "credentials" && k != "version")
            .collect();
        doc.insert("version".into(), json!(1));
        doc.insert("credentials".into(), Value::Object(entries.clone().into_iter().collect()));
        std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
        let store = FileStore::new(path.clone(), true, Box::new(|_| {}));
        let key = if replace_existing && !entries.is_empty() {
            entries.keys().nth(replace.index(entries.len())).unwrap().clone()
        } else {
            "https://new.example|new-client".to_string()
        };
        let got_before: Vec<_> = entries
            .keys()
            .filter(|k| **k != key)
            .map(|k| (k.clone(), store.get(k).ok()))
            .collect();

        store.put(&key, &new).unwrap();

        let mut after = read_doc(&path);
        let Some(Value::Object(creds)) = after.remove("credentials") else {
            panic!("no credentials object");
        };
        doc.remove("credentials");
        prop_assert_eq!(&after, &doc);
        for (k, v) in &entries {
            if *k != key {
                prop_assert_eq!(creds.get(k), Some(v), "entry {:?} changed", k);
            }
        }
        prop_assert_eq!(creds.len(), entries.len() + usize::from(!entries.contains_key(&key)));
        for (k, was) in got_before {
            prop_assert_eq!(store.get(&k).ok(), was);
        }
        prop_assert_eq!(store.get(&key).unwrap(), Some(new));
    }

    /// Reading a login of a large file at its remembered offsets gives what
    /// reading the whole file gives, for any keys, entries and layout.
    #[test]
    fn offsets_read_what_the_whole_file_holds(
        entries in prop::collection::btree_map(".{0,12}", entry(), 1..5),
        pretty in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vm/credentials.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // Padding puts the file above the size where offsets are kept.
        let doc = json!({"version": 1, "padding": "x".repeat(70_000), "credentials": entries});
        let text = if pretty { serde_json::to_vec_pretty(&doc) } else { serde_json::to_vec(&doc) };
        std::fs::write(&path, text.unwrap()).unwrap();
        let plain = FileStore::new(path.clone(), true, Box::new(|_| {}));
        let indexed = FileStore::new(path.clone(), true, Box::new(|_| {}))
            .with_offsets(crate::store::offsets::Offsets::new(crate::state::ConfigDir::new(dir.path().join("config"), true)));
        for k in entries.keys() {
            let whole = plain.get(k).map_err(|e| e.message());
            let reads = indexed.whole_reads.get();
            for _ in 0..2 {
                prop_assert_eq!(&indexed.get(k).map_err(|e| e.message()), &whole, "{:?}", k);
            }
            // A login that reads well, under a key written without escapes, is
            // read whole once, then at its offsets.
            if matches!(whole, Ok(Some(_))) && serde_json::to_string(k).unwrap() == format!("\"{k}\"") {
                prop_assert_eq!(indexed.whole_reads.get(), reads + 1, "{:?}", k);
            }
        }
    }

    /// A login's cache key gives the login back.
    #[test]
    fn login_id_cache_key_round_trip(
        issuer in prop_oneof![text(), "https://[a-z]{1,8}\\.example(/[a-z|]{0,6}){0,2}/?"],
        client in prop_oneof![text(), "[a-zA-Z0-9_-]{1,12}"],
        audience in prop::option::of(prop_oneof![text(), "https://api[|a-z]{0,6}"]),
    ) {
        if let Ok(id) = LoginId::new(&issuer, &client, audience.as_deref()) {
            prop_assert_eq!(LoginId::from_key(&id.cache_key()), id);
        }
    }

    /// Every expiry in years 0001–9999 is written and read back exactly, also in
    /// the naive ISO form (no offset) the Python library writes.
    #[test]
    fn timestamps_round_trip(unix in FIRST..=LAST) {
        let s = timestamp::format(unix);
        prop_assert_eq!(timestamp::parse(&s), Some(unix), "{}", s);
        prop_assert_eq!(timestamp::parse(s.trim_end_matches('Z')), Some(unix), "{}", s);
        prop_assert_eq!(timestamp::parse(&format!(" {s} ")), Some(unix));
    }

    /// Sanitised text has no control or invisible formatting characters
    /// (`terminal_safe` keeps newlines; `one_line` and `from_server` do not).
    #[test]
    fn sanitised_text_has_no_control_characters(s in text(), max in 0usize..64) {
        let bad = |c: char| c.is_control() || is_format_char(c);
        let safe = terminal_safe(&s);
        prop_assert!(!safe.chars().any(|c| c != '\n' && bad(c)), "{:?}", safe);
        let line = one_line(&s);
        prop_assert!(!line.chars().any(bad), "{:?}", line);
        prop_assert!(!line.contains('\n'));
        prop_assert_eq!(one_line(&line), line.clone());
        let short = from_server(&s, max);
        prop_assert!(!short.chars().any(bad), "{:?}", short);
        prop_assert!(short.chars().count() <= max + 1);
    }

    /// `--min-ttl` takes `n`, `ns`, `nm` and `nh`.
    #[test]
    fn durations_agree(n in prop_oneof![any::<u64>(), 0u64..100_000]) {
        prop_assert_eq!(parse_duration_secs(&n.to_string()), Ok(n));
        prop_assert_eq!(parse_duration_secs(&format!("{n}s")), Ok(n));
        prop_assert_eq!(parse_duration_secs(&format!("{n}m")).ok(), n.checked_mul(60));
        prop_assert_eq!(parse_duration_secs(&format!("{n}h")).ok(), n.checked_mul(3600));
    }
}

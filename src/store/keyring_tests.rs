use super::*;

#[test]
fn split_respects_char_boundaries() {
    assert_eq!(split("abcdef", 4), vec!["abcd", "ef"]);
    assert_eq!(split("ééé", 3), vec!["é", "é", "é"]);
    assert!(split("", 4).is_empty());
    assert_eq!(split("ab", 4), vec!["ab"]);
}

#[test]
fn chunk_heads_round_trip() {
    let c = Chunks::new(3, &crate::clock::CountingRng::default()).unwrap();
    assert_eq!(
        Chunks::parse(&c.head()),
        Some(Chunks {
            n: 3,
            generation: c.generation.clone()
        })
    );
    assert_eq!(c.names("k").len(), 3);
    assert!(c.names("k")[0].starts_with("k#vmauth-part-"));
    for bad in [
        "vmauth-chunked:3",
        "vmauth-chunked:x:ab",
        "vmauth-chunked:0:ab",
        "vmauth-chunked:2:zz",
        "{}",
    ] {
        assert_eq!(Chunks::parse(bad), None, "{bad}");
    }
}

#[test]
fn error_descriptions_carry_no_data() {
    let e = keyring_core::Error::BadEncoding(b"secret-token".to_vec());
    assert!(!keychain_error(&e).message().contains("secret"));
    let e = keyring_core::Error::Invalid("secret-token".into(), "bad".into());
    assert!(!keychain_error(&e).message().contains("secret"));
}

#[test]
fn keychain_failures_are_named_in_a_few_words() {
    assert_eq!(
        short_cause(
            "zbus error: Failed to connect to address `unix:path=/run/user/0/bus`: No such file or directory (os error 2)"
        ),
        "no D-Bus session bus"
    );
    assert!(
        short_cause("org.freedesktop.DBus.Error.ServiceUnknown: The name is not activatable")
            .starts_with("no Secret Service")
    );
    assert_eq!(
        short_cause("odd\nthing"),
        "the OS keychain failed: odd thing"
    );
}

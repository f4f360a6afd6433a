//! The tool adapters' parsers: git's request, cargo's requests.

use super::cargo_credential::parse_request as cargo_request;
use super::git_credential::{attr, has_capability, parse_request};

#[test]
fn gits_request_is_read_up_to_the_blank_line() {
    let r = parse_request(
        "capability[]=authtype\r\ncapability[]=state\nprotocol=https\nhost=git.example.com:8443\nwwwauth[]=Bearer realm=\"x\"\nno-equals-sign\n\nhost=after-the-blank-line\n",
    );
    assert_eq!(attr(&r, "protocol"), Some("https"));
    assert_eq!(attr(&r, "host"), Some("git.example.com:8443"));
    assert!(has_capability(&r, "authtype") && has_capability(&r, "state"));
    assert!(!has_capability(&r, "other"));
    assert_eq!(attr(&r, "wwwauth[]"), Some("Bearer realm=\"x\""));
    assert!(!r.iter().any(|(_, v)| v == "after-the-blank-line"));
    assert!(parse_request("host=a\0b\n").is_empty());
}

#[test]
fn cargos_requests_are_version_1_with_a_registry() {
    let r = cargo_request(r#"{"v":1,"kind":"get","operation":"read","registry":{"index-url":"sparse+https://r.example/index/","name":"r","headers":["WWW-Authenticate: Cargo"]},"args":["--profile","w"],"future":1}"#).unwrap();
    assert_eq!(r.kind, "get");
    assert_eq!(r.operation.as_deref(), Some("read"));
    assert_eq!(r.registry.name.as_deref(), Some("r"));
    assert_eq!(r.args, ["--profile", "w"]);
    let e = cargo_request(r#"{"v":2,"kind":"get","registry":{"index-url":"x"}}"#).unwrap_err();
    assert!(e.contains("version 2"), "{e}");
    assert!(cargo_request("not json").is_err());
    assert!(
        cargo_request(r#"{"v":1,"kind":"get"}"#).is_err(),
        "no registry"
    );
}

/// Found by fuzzing (fuzz/regressions/git_request/): a value of carriage
/// returns lost one at each reading; git never sends one, so it is passed over.
#[test]
fn a_carriage_return_in_a_value_is_not_gits() {
    assert!(parse_request("WW=\r\r\r").is_empty());
    assert!(parse_request("a=b\rc\n").is_empty());
    assert_eq!(
        parse_request("a=b\r\n"),
        vec![("a".to_string(), "b".to_string())]
    );
}

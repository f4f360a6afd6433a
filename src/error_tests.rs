use super::*;
use crate::secret::{scrub, wire_forms};
use crate::ui::terminal_safe;

#[test]
fn exit_codes_are_stable() {
    assert_eq!(Error::usage("x").exit_code(), 2);
    assert_eq!(Error::auth_required("x").exit_code(), 4);
    assert_eq!(Error::not_completed("x").exit_code(), 5);
    assert_eq!(Error::interrupted().exit_code(), 130);
    assert_eq!(Error::idp("x").exit_code(), 1);
    assert_eq!(Error::storage("x").exit_code(), 1);
}

#[test]
fn messages_are_one_line_without_control_characters() {
    let e = Error::idp("bad\nthing\x1b[2J  here\r\n");
    assert_eq!(e.message(), "bad thing[2J here");
}

#[test]
fn context_keeps_the_kind_and_the_cause() {
    let io = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe closed");
    let e = Error::io("write the token to stdout", io).context("token");
    assert_eq!(e.kind(), Kind::Storage);
    assert_eq!(
        e.message(),
        "token: cannot write the token to stdout: pipe closed"
    );
    assert!(!e.is_broken_pipe(), "only a closed stdout is quiet");
    assert!(Error::stdout_closed().context("token").is_broken_pipe());
    assert!(!Error::storage("x").is_broken_pipe());
    assert_eq!(e.with_kind(Kind::Usage).exit_code(), 2);
}

#[test]
fn terminal_text_loses_escapes_and_bidi_overrides() {
    assert_eq!(
        terminal_safe("a\x1b]0;PWNED\x07b\nc\u{202E}d"),
        "a]0;PWNEDb\ncd"
    );
    assert_eq!(one_line("AB\u{200B}CD"), "ABCD");
}

#[test]
fn terminal_text_loses_every_invisible_format_character() {
    // Tag characters spell hidden ASCII ("evil" here); Arabic number signs,
    // shorthand format controls and musical beams are Cf too.
    let hidden: String = "evil"
        .chars()
        .map(|c| char::from_u32(0xE0000 + c as u32).unwrap())
        .collect();
    let text = format!("ok\u{E0001}{hidden}\u{E007F}\u{0600}\u{1BCA0}\u{1D173}\u{13439}!");
    assert_eq!(terminal_safe(&text), "ok!");
    assert_eq!(one_line(&text), "ok!");
    assert_eq!(from_server(&text, 10), "ok!");
    // Visible neighbours stay.
    assert!(
        !is_format_char('\u{E0100}'),
        "a variation selector is Mn, not Cf"
    );
    assert!(!is_format_char('a'));
}

#[test]
fn server_text_is_truncated() {
    assert_eq!(from_server("abcdef", 3), "abc…");
    assert_eq!(from_server("abc", 3), "abc");
}

#[test]
fn scrubbing_replaces_every_secret_longest_first() {
    let text = "bad secret s3cr3t+x (s3cr3t%2Bx), token abcd-efgh-ijkl and abcd";
    let mut secrets = wire_forms("s3cr3t+x");
    secrets.push("abcd-efgh-ijkl".into());
    secrets.push("abcd".into());
    secrets.push("ab".into()); // too short to scrub
    assert_eq!(
        scrub(text, &secrets),
        "bad secret [redacted] ([redacted]), token [redacted] and [redacted]"
    );
    assert_eq!(scrub("nothing here", &secrets), "nothing here");
    // A secret cut short by the length limit for server text.
    let token = "eyJhbGciOiJSUzI1NiJ9.payload-payload-payload";
    let cut = from_server(&format!("expired token {token}"), 30);
    assert_eq!(scrub(&cut, &[token]), "expired token [redacted]…");
}

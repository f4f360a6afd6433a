//! Secrets: a wrapper that keeps them out of `Debug` output, logs and
//! panics; where they are told as they arrive ([`Sink`]); and how text is
//! kept free of them ([`scrub`]).

use serde::{Deserialize, Serialize};

/// A token or other secret. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself: call only where it is sent or printed on purpose.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Where secrets are told as they arrive, so that no message can show them
/// afterwards ([`crate::io::Io`] scrubs them from everything it prints).
pub trait Sink {
    /// From now on `value` is a secret.
    fn keep(&self, value: &str);
}

/// The secret a file holds (`what`, for messages: "client secret file"):
/// at most 64 KiB, without its trailing line break (editors add one). An
/// empty answer is the caller's to refuse, in its own words.
pub fn read_file(path: &std::path::Path, what: &str) -> crate::error::Result<String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| {
        crate::error::Error::with_cause(
            crate::error::Kind::Usage,
            format!("cannot read the {what} {}", path.display()),
            e,
        )
    };
    let mut text = String::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(64 << 10)
        .read_to_string(&mut text)
        .map_err(cannot)?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

/// What replaces a secret in text shown to people.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not scrubbed from text: they would take
/// ordinary words with them, and nothing that short is a credential.
pub const MIN_SCRUBBED_LEN: usize = 4;

/// `text` with every occurrence of each of `secrets` replaced by [`REDACTED`]
/// (longest first, so a secret containing another goes as a whole).
pub fn scrub<S: AsRef<str>>(text: &str, secrets: &[S]) -> String {
    let mut sorted: Vec<&str> = secrets
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| s.len() >= MIN_SCRUBBED_LEN)
        .collect();
    if sorted.is_empty() {
        return text.to_string();
    }
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in &sorted {
        if out.contains(s) {
            out = out.replace(s, REDACTED);
        }
    }
    // A secret cut short by [`crate::error::from_server`]'s length limit ends in '…': its
    // beginning is a secret too.
    const CUT_MIN: usize = 12;
    let mut search = 0;
    while let Some(found) = out[search..].find('…') {
        let end = search + found;
        let before = &out[..end];
        let cut = sorted
            .iter()
            .filter(|s| s.len() > CUT_MIN)
            .filter_map(|s| {
                (CUT_MIN..s.len())
                    .rev()
                    .filter(|k| s.is_char_boundary(*k))
                    .find(|k| before.ends_with(&s[..*k]))
            })
            .max();
        match cut {
            Some(k) => {
                out.replace_range(end - k..end, REDACTED);
                search = end - k + REDACTED.len() + '…'.len_utf8();
            }
            None => search = end + '…'.len_utf8(),
        }
    }
    out
}

/// The forms a secret takes on the wire: itself and its
/// `application/x-www-form-urlencoded` encoding.
pub fn wire_forms(secret: &str) -> Vec<String> {
    let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    if encoded == secret {
        vec![secret.to_string()]
    } else {
        vec![secret.to_string(), encoded]
    }
}

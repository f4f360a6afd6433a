//! A wrapper that keeps secrets out of `Debug` output, logs and panics.

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

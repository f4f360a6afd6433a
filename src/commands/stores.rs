//! Opening the credential store that `--store` (or `VMAUTH_STORE`,
//! `VM_OIDC_NO_PERSIST`) names, including the `auto` decision.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::Env;
use crate::error::{Error, Result};
use crate::store::CredentialStore;
use crate::store::auto::AutoStore;
use crate::store::current::StateDir;
use crate::store::file::FileStore;
use crate::store::helper::HelperStore;
use crate::store::keyring::{KeyringStore, default_max_item};
use crate::store::memory::MemoryStore;
use crate::ui::Ui;

/// Every keychain call gives up after this long.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(3);
/// A credential helper gets this long per operation.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

pub fn open(
    choice: &str,
    env: &dyn Env,
    (creds_path, creds_own): (PathBuf, bool),
    state: &StateDir,
    ui: Ui,
    will_write: bool,
) -> Result<Box<dyn CredentialStore>> {
    let warn = move |m: &str| ui.warn(m);
    let file = || FileStore::new(creds_path.clone(), creds_own, Box::new(warn));
    let keyring = |check_write: bool| {
        let max_item = env
            .var("VMAUTH_KEYRING_MAX_ITEM")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(default_max_item);
        KeyringStore::open(
            state.dir().to_path_buf(),
            state.own_dir(),
            KEYRING_TIMEOUT,
            max_item,
            check_write,
            Box::new(warn),
        )
    };
    Ok(match choice {
        "file" => Box::new(file()),
        "memory" => Box::new(MemoryStore::default()),
        "helper" => {
            let program = env
                .var("VMAUTH_CREDENTIAL_HELPER")
                .filter(|p| !p.trim().is_empty())
                .ok_or_else(|| {
                    Error::usage("--store helper needs VMAUTH_CREDENTIAL_HELPER=<program>; see README.md for the protocol")
                })?;
            let timeout = env
                .var("VMAUTH_HELPER_TIMEOUT")
                .and_then(|v| v.trim().parse().ok())
                .map(Duration::from_secs)
                .unwrap_or(HELPER_TIMEOUT);
            Box::new(HelperStore::new(program.trim().to_string(), timeout))
        }
        "keyring" => Box::new(keyring(will_write).map_err(|e| {
            Error::usage(format!(
                "--store keyring: {}; or use --store file",
                e.message()
            ))
        })?),
        "auto" => match state.auto_store().as_deref() {
            Some("file") => Box::new(file()),
            Some("keyring") => match keyring(will_write) {
                Ok(k) => Box::new(AutoStore::new(k, file(), Box::new(warn))),
                Err(e) => {
                    ui.warn(&format!(
                        "the OS keychain is not available now ({}); using {}",
                        e.message(),
                        creds_path.display()
                    ));
                    Box::new(file())
                }
            },
            // The first decision checks that the keychain takes writes too.
            _ => match keyring(true) {
                Ok(k) => {
                    state.set_auto_store("keyring")?;
                    Box::new(AutoStore::new(k, file(), Box::new(warn)))
                }
                Err(e) => {
                    ui.info(&format!(
                        "vmauth: no usable OS keychain ({}); credentials go to {} (mode 0600). This choice is remembered; use --store keyring to require a keychain.",
                        e.message(),
                        creds_path.display()
                    ));
                    state.set_auto_store("file")?;
                    Box::new(file())
                }
            },
        },
        other => {
            return Err(Error::usage(format!(
                "unknown store {other:?}; use auto, keyring, file, memory or helper"
            )));
        }
    })
}

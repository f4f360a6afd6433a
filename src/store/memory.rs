//! The memory backend: nothing is written anywhere; logins live as long as the
//! process. For client-credentials `token` calls and commands that run a child.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::{Credential, CredentialStore, StoreKind};
use crate::error::Result;

#[derive(Default)]
pub struct MemoryStore {
    entries: RefCell<BTreeMap<String, Credential>>,
}

impl CredentialStore for MemoryStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Memory
    }

    fn location(&self) -> String {
        "process memory (not persisted)".into()
    }

    fn get(&self, key: &str) -> Result<Option<Credential>> {
        Ok(self.entries.borrow().get(key).cloned())
    }

    fn put(&self, key: &str, credential: &Credential) -> Result<()> {
        self.entries
            .borrow_mut()
            .insert(key.to_string(), credential.clone());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<bool> {
        Ok(self.entries.borrow_mut().remove(key).is_some())
    }

    fn list(&self) -> Result<Vec<(String, Credential)>> {
        Ok(self
            .entries
            .borrow()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

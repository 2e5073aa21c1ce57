//! In-process key locks: writers of one key (a pool, say) queue here instead of colliding
//! at commit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

/// In-process locks by key: writers of one key queue here instead of colliding at
/// commit. Correctness never rests on them (versions do that, across processes too);
/// they only spare a hot key the retries.
#[derive(Default)]
pub(crate) struct KeyLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyLocks {
    fn entry(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = match self.locks.lock() {
            Ok(locks) => locks,
            Err(poisoned) => poisoned.into_inner(),
        };
        locks.entry(key.to_string()).or_default().clone()
    }

    pub(crate) async fn lock(&self, key: &str) -> OwnedMutexGuard<()> {
        self.entry(key).lock_owned().await
    }

    /// The lock on `key` if no one holds it.
    pub(crate) fn try_lock(&self, key: &str) -> Option<OwnedMutexGuard<()>> {
        self.entry(key).try_lock_owned().ok()
    }
}

//! What the store's test files share: a fresh database on either backend.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use switchboard_store::{Store, StoreConfig};

/// A new empty database: an SQLite file in `dir`, or a fresh PostgreSQL schema.
pub async fn open(dir: &tempfile::TempDir, name: &str, postgres: bool) -> Store {
    let url = if postgres {
        let base = std::env::var("SWITCHBOARD_TEST_DATABASE_URL").unwrap();
        let separator = if base.contains('?') { '&' } else { '?' };
        format!(
            "{base}{separator}schema=t_{}",
            uuid::Uuid::new_v4().simple()
        )
    } else {
        dir.path().join(name).display().to_string()
    };
    Store::open(&StoreConfig::new(url)).await.unwrap()
}

pub fn postgres_available() -> bool {
    std::env::var("SWITCHBOARD_TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty())
}

/// The tests of this binary share one disk. The one that measures how far the WAL grows
/// runs alone (`alone`), the others beside each other (`beside`): their fsyncs (and
/// PostgreSQL's, when it is set) slow that test's checkpoints, which its bound assumes
/// run at the disk's own pace; with them, the WAL grew past it on a busy machine.
static DISK: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

pub async fn alone() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    DISK.write().await
}

pub async fn beside() -> tokio::sync::RwLockReadGuard<'static, ()> {
    DISK.read().await
}

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

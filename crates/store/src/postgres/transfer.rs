//! The PostgreSQL half of export and import (see `crate::transfer`): a REPEATABLE READ,
//! READ ONLY transaction is the snapshot; one ordinary transaction is the loader.

use super::PgStore;
use crate::shared::map;
use crate::transfer::{Loader, Snapshot, TransferTx};
use crate::StoreResult;

/// A page of documents for `Snapshot`: `doc::text`, as JSONB does not decode as text
/// (SQLite's document is text already).
const DOCUMENTS_PAGE: &str =
    "SELECT seq, kind, id, version, p_name, p_state, p_type, p_updated, p_links::text AS p_links, doc::text AS doc
     FROM documents WHERE seq > $1 ORDER BY seq LIMIT $2";

impl PgStore {
    pub(crate) async fn snapshot(&self) -> StoreResult<Snapshot> {
        let tx = self.begin_snapshot().await?;
        Ok(Snapshot::new(TransferTx::Postgres(tx), DOCUMENTS_PAGE))
    }

    /// The document column is JSONB: its text is cast on the way in.
    pub(crate) async fn loader(&self) -> StoreResult<Loader> {
        let tx = map(self.pool.begin().await)?;
        Ok(Loader::new(TransferTx::Postgres(tx), "::jsonb"))
    }
}

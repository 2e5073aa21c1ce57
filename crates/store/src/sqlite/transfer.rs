//! The SQLite half of export and import (see `crate::transfer`): a read transaction on a
//! WAL reader is the snapshot; an immediate transaction on the writer is the loader.

use super::SqliteStore;
use crate::shared::map;
use crate::transfer::{Loader, Snapshot, TransferTx};
use crate::StoreResult;

/// A page of documents for `Snapshot`; the document is JSON text already.
const DOCUMENTS_PAGE: &str =
    "SELECT seq, kind, id, version, p_name, p_state, p_type, p_updated, p_links, doc
     FROM documents WHERE seq > $1 ORDER BY seq LIMIT $2";

impl SqliteStore {
    /// A read transaction: in WAL mode it keeps seeing the state of its first read.
    pub(crate) async fn snapshot(&self) -> StoreResult<Snapshot> {
        let tx = map(self.reader.begin().await)?;
        Ok(Snapshot::new(TransferTx::Sqlite(tx), DOCUMENTS_PAGE))
    }

    /// An immediate transaction on the sqlx write connection for the whole load (an
    /// import fills an empty database; the writer thread is idle meanwhile).
    /// The document column takes the JSON text as it is: no cast.
    pub(crate) async fn loader(&self) -> StoreResult<Loader> {
        let tx = map(self.migrator.begin_with("BEGIN IMMEDIATE").await)?;
        Ok(Loader::new(TransferTx::Sqlite(tx), ""))
    }
}

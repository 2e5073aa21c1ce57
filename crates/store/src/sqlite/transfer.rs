//! The SQLite side of export and import (see `crate::transfer`): a read transaction on a
//! WAL reader is the snapshot; an immediate transaction on the writer is the loader.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use super::{apply, map, SqliteStore};
use crate::transfer::{documents_insert, jobs_insert, raw_job_status, Counts, RawDocument, RawJob};
use crate::{Promoted, StoreResult};

pub(crate) struct SqliteSnapshot {
    tx: Transaction<'static, Sqlite>,
}

pub(crate) struct SqliteLoader {
    tx: Transaction<'static, Sqlite>,
}

impl SqliteStore {
    /// A read transaction: in WAL mode it keeps seeing the state of its first read.
    pub(crate) async fn snapshot(&self) -> StoreResult<SqliteSnapshot> {
        Ok(SqliteSnapshot {
            tx: map(self.reader.begin().await)?,
        })
    }

    /// Takes the one writer connection for the whole load; the group committer waits.
    pub(crate) async fn loader(&self) -> StoreResult<SqliteLoader> {
        Ok(SqliteLoader {
            tx: map(self.writer.begin_with("BEGIN IMMEDIATE").await)?,
        })
    }
}

fn raw_document(row: &SqliteRow) -> StoreResult<RawDocument> {
    Ok(RawDocument {
        seq: map(row.try_get("seq"))?,
        kind: map(row.try_get("kind"))?,
        id: map(row.try_get("id"))?,
        version: map(row.try_get("version"))?,
        promoted: Promoted {
            name: map(row.try_get("p_name"))?,
            state: map(row.try_get("p_state"))?,
            type_name: map(row.try_get("p_type"))?,
            updated: map(row.try_get("p_updated"))?,
        },
        json: map(row.try_get("doc"))?,
    })
}

fn raw_job(row: &SqliteRow) -> StoreResult<RawJob> {
    let status: String = map(row.try_get("status"))?;
    Ok(RawJob {
        id: map(row.try_get("id"))?,
        queue: map(row.try_get("queue"))?,
        dedup_key: map(row.try_get("dedup_key"))?,
        payload: map(row.try_get("payload"))?,
        status: raw_job_status(&status)?,
        attempts: map(row.try_get("attempts"))?,
        run_at: map(row.try_get("run_at"))?,
        last_error: map(row.try_get("last_error"))?,
        created_at: map(row.try_get("created_at"))?,
    })
}

impl SqliteSnapshot {
    pub(crate) async fn counts(&mut self) -> StoreResult<Counts> {
        let row = map(sqlx::query(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM jobs)",
        )
        .fetch_one(&mut *self.tx)
        .await)?;
        let documents: i64 = map(row.try_get(0))?;
        let jobs: i64 = map(row.try_get(1))?;
        Ok(Counts {
            documents: documents.max(0) as u64,
            jobs: jobs.max(0) as u64,
        })
    }

    pub(crate) async fn documents(
        &mut self,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<RawDocument>> {
        let rows = map(sqlx::query(
            "SELECT seq, kind, id, version, p_name, p_state, p_type, p_updated, doc
                 FROM documents WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await)?;
        rows.iter().map(raw_document).collect()
    }

    pub(crate) async fn jobs(&mut self, after_id: i64, limit: i64) -> StoreResult<Vec<RawJob>> {
        let rows = map(sqlx::query(
            "SELECT id, queue, dedup_key, payload, status, attempts, run_at, last_error,
                    created_at
                 FROM jobs WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await)?;
        rows.iter().map(raw_job).collect()
    }
}

impl SqliteLoader {
    pub(crate) async fn target_is_empty(&mut self) -> StoreResult<bool> {
        let row = map(sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM documents) OR EXISTS (SELECT 1 FROM jobs)",
        )
        .fetch_one(&mut *self.tx)
        .await)?;
        let occupied: i64 = map(row.try_get(0))?;
        Ok(occupied == 0)
    }

    pub(crate) async fn documents(&mut self, documents: &[RawDocument]) -> StoreResult<()> {
        if documents.is_empty() {
            return Ok(());
        }
        let insert = documents_insert(documents, "");
        map(
            apply(sqlx::query(sqlx::AssertSqlSafe(insert.sql)), &insert.binds)
                .execute(&mut *self.tx)
                .await,
        )?;
        Ok(())
    }

    pub(crate) async fn jobs(&mut self, jobs: &[RawJob]) -> StoreResult<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        let insert = jobs_insert(jobs);
        map(
            apply(sqlx::query(sqlx::AssertSqlSafe(insert.sql)), &insert.binds)
                .execute(&mut *self.tx)
                .await,
        )?;
        Ok(())
    }

    pub(crate) async fn commit(self) -> StoreResult<()> {
        map(self.tx.commit().await)
    }
}

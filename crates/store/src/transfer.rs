//! Moving all data from one database to another (`switchboard export` / `import`): a
//! consistent read-only snapshot that pages through every document and job, and a
//! loader that writes rows back exactly as they were (kind, id, version, promoted
//! columns, job state) in one transaction. This file holds the rows, the statements and
//! the code of both, written once for both backends; each backend's own `transfer`
//! module opens the transactions and says what its dialect says differently.

use sqlx::{Database, Encode, Postgres, Sqlite, Transaction, Type};

use crate::shared::{apply, map, Query, StoreRow};
use crate::sql::{Bind, Builder};
use crate::{Promoted, StoreError, StoreResult};

/// A document row as stored.
#[derive(Debug, Clone)]
pub struct RawDocument {
    /// Position in creation order. Read from a snapshot; ignored by a loader, which
    /// assigns new positions in the order it is given documents (so creation order, and
    /// with it the default order of lists, survives the move).
    pub seq: i64,
    pub kind: String,
    pub id: String,
    pub version: i64,
    pub promoted: Promoted,
    pub json: String,
}

/// Where a job stands. Done jobs leave the queue, so these are the only two states a
/// stored job can be in; a job leased by a worker is `Ready` with a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting to run (now, or at its retry time), or running under a lease.
    Ready,
    /// Dead-lettered after its last attempt, kept for inspection.
    Dead,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Ready => "ready",
            JobStatus::Dead => "dead",
        }
    }

    pub fn parse(text: &str) -> Option<JobStatus> {
        match text {
            "ready" => Some(JobStatus::Ready),
            "dead" => Some(JobStatus::Dead),
            _ => None,
        }
    }
}

/// A job row as stored, without its lease: a lease belongs to a process of the source
/// database, so a loaded job is free to be claimed at once.
#[derive(Debug, Clone)]
pub struct RawJob {
    /// Position in the queue. Read from a snapshot; ignored by a loader (new ids in the
    /// order given, so jobs due at the same time keep their order).
    pub id: i64,
    pub queue: String,
    pub dedup_key: Option<String>,
    pub payload: String,
    pub status: JobStatus,
    pub attempts: i64,
    /// Milliseconds since the epoch.
    pub run_at: i64,
    pub last_error: Option<String>,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// How many rows a snapshot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub documents: u64,
    pub jobs: u64,
}

/// The open transaction of a snapshot or a loader, on either backend.
pub(crate) enum TransferTx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs the same code on whichever backend's transaction this is: the code is written
/// once and compiled for each backend's row and argument types.
macro_rules! on_tx {
    ($tx:expr, $name:ident => $body:expr) => {
        match $tx {
            TransferTx::Sqlite($name) => $body,
            TransferTx::Postgres($name) => $body,
        }
    };
}

/// A read-only view of one committed state of the whole database, however long the
/// export takes and whatever is written meanwhile.
pub struct Snapshot {
    tx: TransferTx,
    /// The backend's `SELECT` of a page of documents: the dialects read the document
    /// as text differently.
    documents_page: &'static str,
}

impl Snapshot {
    /// `tx` must see one committed state throughout (each backend opens it so).
    pub(crate) fn new(tx: TransferTx, documents_page: &'static str) -> Snapshot {
        Snapshot { tx, documents_page }
    }

    pub async fn counts(&mut self) -> StoreResult<Counts> {
        on_tx!(&mut self.tx, tx => {
            let row = map(sqlx::query(COUNTS).fetch_one(&mut **tx).await)?;
            counts(&row)
        })
    }

    /// Up to `limit` documents of every kind with `seq` above `after_seq`, in creation
    /// order: page on with the last one's `seq` (start at 0).
    pub async fn documents(&mut self, after_seq: i64, limit: i64) -> StoreResult<Vec<RawDocument>> {
        let sql = self.documents_page;
        on_tx!(&mut self.tx, tx => {
            let rows = map(page_after(sql, after_seq, limit).fetch_all(&mut **tx).await)?;
            rows.iter().map(raw_document).collect()
        })
    }

    /// Up to `limit` jobs (ready or dead) with an id above `after_id`, in queue order.
    pub async fn jobs(&mut self, after_id: i64, limit: i64) -> StoreResult<Vec<RawJob>> {
        on_tx!(&mut self.tx, tx => {
            let rows = map(page_after(JOBS_PAGE, after_id, limit).fetch_all(&mut **tx).await)?;
            rows.iter().map(raw_job).collect()
        })
    }
}

/// One write transaction that takes rows as they were exported. Nothing is visible
/// before `commit`, and dropping the loader writes nothing.
///
/// The caches of a running SQLite server do not see these writes, and a PostgreSQL
/// process may write beside them: load only while no server uses the database.
pub struct Loader {
    tx: TransferTx,
    /// Appended to the document's placeholder in an INSERT: the backend's column may
    /// not take text as it is.
    doc_cast: &'static str,
}

impl Loader {
    pub(crate) fn new(tx: TransferTx, doc_cast: &'static str) -> Loader {
        Loader { tx, doc_cast }
    }

    /// True when the database holds no document and no job, as this transaction sees it.
    pub async fn target_is_empty(&mut self) -> StoreResult<bool> {
        on_tx!(&mut self.tx, tx => {
            let row = map(sqlx::query(OCCUPIED).fetch_one(&mut **tx).await)?;
            Ok(!row.flag("occupied")?)
        })
    }

    /// Inserts documents with their ids, versions and promoted columns, in the order
    /// given. A (kind, id) already present fails with `Duplicate`.
    pub async fn documents(&mut self, documents: &[RawDocument]) -> StoreResult<()> {
        // `chunks` yields no empty chunk, so no INSERT without rows is built.
        for chunk in documents.chunks(ROWS_PER_STATEMENT) {
            self.execute(documents_insert(chunk, self.doc_cast)).await?;
        }
        Ok(())
    }

    /// Inserts jobs with their state, attempts, due time and dedup key, in the order
    /// given. A dedup key already present fails with `Duplicate`.
    pub async fn jobs(&mut self, jobs: &[RawJob]) -> StoreResult<()> {
        for chunk in jobs.chunks(ROWS_PER_STATEMENT) {
            self.execute(jobs_insert(chunk)).await?;
        }
        Ok(())
    }

    /// Makes every row loaded visible at once.
    pub async fn commit(mut self) -> StoreResult<()> {
        // SQLite keeps its link index by triggers; PostgreSQL's is written here, from the
        // documents just loaded (the target was empty, so `links` is too).
        if let TransferTx::Postgres(tx) = &mut self.tx {
            map(sqlx::query(crate::postgres::LINKS_FROM_DOCUMENTS)
                .execute(&mut **tx)
                .await)?;
        }
        on_tx!(self.tx, tx => map(tx.commit().await))
    }

    async fn execute(&mut self, insert: Builder) -> StoreResult<()> {
        on_tx!(&mut self.tx, tx => {
            let query = apply(sqlx::query(sqlx::AssertSqlSafe(insert.sql)), &insert.binds);
            map(query.execute(&mut **tx).await)?;
        });
        Ok(())
    }
}

/// Rows per multi-row INSERT: at most 9 bind values each, far below either backend's
/// limit on parameters, and few round trips.
const ROWS_PER_STATEMENT: usize = 200;

/// How many rows a snapshot holds, decoded by `counts`.
const COUNTS: &str =
    "SELECT (SELECT count(*) FROM documents) AS documents, (SELECT count(*) FROM jobs) AS jobs";

/// Whether the target holds any row at all.
const OCCUPIED: &str =
    "SELECT EXISTS (SELECT 1 FROM documents) OR EXISTS (SELECT 1 FROM jobs) AS occupied";

/// A page of jobs for `page_after`, decoded by `raw_job`.
const JOBS_PAGE: &str =
    "SELECT id, queue, dedup_key, payload, status, attempts, run_at, last_error, created_at
     FROM jobs WHERE id > $1 ORDER BY id LIMIT $2";

/// A page of a snapshot: `sql` reads the rows after position `$1`, in order, `$2` at most.
fn page_after<DB>(sql: &'static str, after: i64, limit: i64) -> Query<DB>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    sqlx::query(sql).bind(after).bind(limit)
}

fn counts(row: &impl StoreRow) -> StoreResult<Counts> {
    Ok(Counts {
        documents: row.int("documents")?.max(0) as u64,
        jobs: row.int("jobs")?.max(0) as u64,
    })
}

/// A row with every column of `documents` (the document as text).
fn raw_document(row: &impl StoreRow) -> StoreResult<RawDocument> {
    Ok(RawDocument {
        seq: row.int("seq")?,
        kind: row.text("kind")?,
        id: row.text("id")?,
        version: row.int("version")?,
        promoted: Promoted {
            name: row.optional_text("p_name")?,
            state: row.optional_text("p_state")?,
            type_name: row.optional_text("p_type")?,
            updated: row.optional_text("p_updated")?,
            links: Promoted::links_from(row.optional_text("p_links")?.as_deref()),
        },
        json: row.text("doc")?,
    })
}

/// A row of `JOBS_PAGE`.
fn raw_job(row: &impl StoreRow) -> StoreResult<RawJob> {
    Ok(RawJob {
        id: row.int("id")?,
        queue: row.text("queue")?,
        dedup_key: row.optional_text("dedup_key")?,
        payload: row.text("payload")?,
        status: raw_job_status(&row.text("status")?)?,
        attempts: row.int("attempts")?,
        run_at: row.int("run_at")?,
        last_error: row.optional_text("last_error")?,
        created_at: row.int("created_at")?,
    })
}

/// A stored status, which only this crate writes.
fn raw_job_status(text: &str) -> StoreResult<JobStatus> {
    JobStatus::parse(text).ok_or_else(|| {
        StoreError::Database(sqlx::Error::Decode(
            format!("unknown job status '{text}'").into(),
        ))
    })
}

/// Appends a bind for `value`, or NULL.
fn optional(builder: &mut Builder, value: &Option<String>) {
    match value {
        Some(text) => builder.bind(Bind::Text(text.clone())),
        None => builder.push("NULL"),
    }
}

/// `INSERT INTO documents … VALUES (…), (…)`, the document cast by `doc_cast` (PostgreSQL:
/// `::jsonb`).
fn documents_insert(documents: &[RawDocument], doc_cast: &str) -> Builder {
    let mut insert = Builder::default();
    insert.push(
        "INSERT INTO documents (kind, id, version, p_name, p_state, p_type, p_updated, p_links, doc) VALUES ",
    );
    for (index, document) in documents.iter().enumerate() {
        insert.push(if index == 0 { "(" } else { ", (" });
        insert.bind(Bind::Text(document.kind.clone()));
        insert.push(", ");
        insert.bind(Bind::Text(document.id.clone()));
        insert.push(", ");
        insert.bind(Bind::Int(document.version));
        let promoted = &document.promoted;
        for value in [
            &promoted.name,
            &promoted.state,
            &promoted.type_name,
            &promoted.updated,
        ] {
            insert.push(", ");
            optional(&mut insert, value);
        }
        insert.push(", ");
        optional(&mut insert, &promoted.links_json());
        if promoted.links_json().is_some() {
            insert.push(doc_cast);
        }
        insert.push(", ");
        insert.bind(Bind::Text(document.json.clone()));
        insert.push(doc_cast);
        insert.push(")");
    }
    insert
}

/// `INSERT INTO jobs … VALUES (…), (…)`, without leases.
fn jobs_insert(jobs: &[RawJob]) -> Builder {
    let mut insert = Builder::default();
    insert.push(
        "INSERT INTO jobs (queue, dedup_key, payload, status, attempts, run_at, last_error, created_at) VALUES ",
    );
    for (index, job) in jobs.iter().enumerate() {
        insert.push(if index == 0 { "(" } else { ", (" });
        insert.bind(Bind::Text(job.queue.clone()));
        insert.push(", ");
        optional(&mut insert, &job.dedup_key);
        insert.push(", ");
        insert.bind(Bind::Text(job.payload.clone()));
        insert.push(", ");
        insert.bind(Bind::Text(job.status.as_str().to_string()));
        insert.push(", ");
        insert.bind(Bind::Int(job.attempts));
        insert.push(", ");
        insert.bind(Bind::Int(job.run_at));
        insert.push(", ");
        optional(&mut insert, &job.last_error);
        insert.push(", ");
        insert.bind(Bind::Int(job.created_at));
        insert.push(")");
    }
    insert
}

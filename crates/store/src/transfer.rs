//! Moving all data from one database to another (`switchboard export` / `import`): a
//! consistent read-only snapshot that pages through every document and job, and a
//! loader that writes rows back exactly as they were (kind, id, version, promoted
//! columns, job state) in one transaction. Each backend implements both in its own
//! `transfer` module; this file holds the rows and the backend-neutral wrappers.

use crate::postgres::transfer::{PgLoader, PgSnapshot};
use crate::sql::{Bind, Builder};
use crate::sqlite::transfer::{SqliteLoader, SqliteSnapshot};
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

/// A read-only view of one committed state of the whole database, however long the
/// export takes and whatever is written meanwhile.
pub struct Snapshot {
    backend: SnapshotBackend,
}

enum SnapshotBackend {
    Sqlite(SqliteSnapshot),
    Postgres(PgSnapshot),
}

impl From<SqliteSnapshot> for Snapshot {
    fn from(snapshot: SqliteSnapshot) -> Self {
        Snapshot {
            backend: SnapshotBackend::Sqlite(snapshot),
        }
    }
}

impl From<PgSnapshot> for Snapshot {
    fn from(snapshot: PgSnapshot) -> Self {
        Snapshot {
            backend: SnapshotBackend::Postgres(snapshot),
        }
    }
}

impl Snapshot {
    pub async fn counts(&mut self) -> StoreResult<Counts> {
        match &mut self.backend {
            SnapshotBackend::Sqlite(snapshot) => snapshot.counts().await,
            SnapshotBackend::Postgres(snapshot) => snapshot.counts().await,
        }
    }

    /// Up to `limit` documents of every kind with `seq` above `after_seq`, in creation
    /// order: page on with the last one's `seq` (start at 0).
    pub async fn documents(&mut self, after_seq: i64, limit: i64) -> StoreResult<Vec<RawDocument>> {
        match &mut self.backend {
            SnapshotBackend::Sqlite(snapshot) => snapshot.documents(after_seq, limit).await,
            SnapshotBackend::Postgres(snapshot) => snapshot.documents(after_seq, limit).await,
        }
    }

    /// Up to `limit` jobs (ready or dead) with an id above `after_id`, in queue order.
    pub async fn jobs(&mut self, after_id: i64, limit: i64) -> StoreResult<Vec<RawJob>> {
        match &mut self.backend {
            SnapshotBackend::Sqlite(snapshot) => snapshot.jobs(after_id, limit).await,
            SnapshotBackend::Postgres(snapshot) => snapshot.jobs(after_id, limit).await,
        }
    }
}

/// One write transaction that takes rows as they were exported. Nothing is visible
/// before `commit`, and dropping the loader writes nothing.
///
/// The caches of a running SQLite server do not see these writes, and a PostgreSQL
/// process may write beside them: load only while no server uses the database.
pub struct Loader {
    backend: LoaderBackend,
}

enum LoaderBackend {
    Sqlite(SqliteLoader),
    Postgres(PgLoader),
}

impl From<SqliteLoader> for Loader {
    fn from(loader: SqliteLoader) -> Self {
        Loader {
            backend: LoaderBackend::Sqlite(loader),
        }
    }
}

impl From<PgLoader> for Loader {
    fn from(loader: PgLoader) -> Self {
        Loader {
            backend: LoaderBackend::Postgres(loader),
        }
    }
}

impl Loader {
    /// True when the database holds no document and no job, as this transaction sees it.
    pub async fn target_is_empty(&mut self) -> StoreResult<bool> {
        match &mut self.backend {
            LoaderBackend::Sqlite(loader) => loader.target_is_empty().await,
            LoaderBackend::Postgres(loader) => loader.target_is_empty().await,
        }
    }

    /// Inserts documents with their ids, versions and promoted columns, in the order
    /// given. A (kind, id) already present fails with `Duplicate`.
    pub async fn documents(&mut self, documents: &[RawDocument]) -> StoreResult<()> {
        for chunk in documents.chunks(ROWS_PER_STATEMENT) {
            match &mut self.backend {
                LoaderBackend::Sqlite(loader) => loader.documents(chunk).await?,
                LoaderBackend::Postgres(loader) => loader.documents(chunk).await?,
            }
        }
        Ok(())
    }

    /// Inserts jobs with their state, attempts, due time and dedup key, in the order
    /// given. A dedup key already present fails with `Duplicate`.
    pub async fn jobs(&mut self, jobs: &[RawJob]) -> StoreResult<()> {
        for chunk in jobs.chunks(ROWS_PER_STATEMENT) {
            match &mut self.backend {
                LoaderBackend::Sqlite(loader) => loader.jobs(chunk).await?,
                LoaderBackend::Postgres(loader) => loader.jobs(chunk).await?,
            }
        }
        Ok(())
    }

    /// Makes every row loaded visible at once.
    pub async fn commit(self) -> StoreResult<()> {
        match self.backend {
            LoaderBackend::Sqlite(loader) => loader.commit().await,
            LoaderBackend::Postgres(loader) => loader.commit().await,
        }
    }
}

/// Rows per multi-row INSERT: at most 9 bind values each, far below either backend's
/// limit on parameters, and few round trips.
const ROWS_PER_STATEMENT: usize = 200;

/// A stored status, which only this crate writes.
pub(crate) fn raw_job_status(text: &str) -> StoreResult<JobStatus> {
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
/// `::jsonb`); the one statement both backends run.
pub(crate) fn documents_insert(documents: &[RawDocument], doc_cast: &str) -> Builder {
    let mut insert = Builder::default();
    insert.push(
        "INSERT INTO documents (kind, id, version, p_name, p_state, p_type, p_updated, doc) VALUES ",
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
        insert.bind(Bind::Text(document.json.clone()));
        insert.push(doc_cast);
        insert.push(")");
    }
    insert
}

/// `INSERT INTO jobs … VALUES (…), (…)`, without leases.
pub(crate) fn jobs_insert(jobs: &[RawJob]) -> Builder {
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

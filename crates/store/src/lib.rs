//! The storage layer: JSON documents with promoted columns, a durable job queue, and
//! the compilation of list queries into parameterised SQL.
//!
//! Layout:
//! - `query`: the backend-neutral query model (conditions, sort, page) the engine builds;
//! - `sql`: compilation of that model to SQL text plus bind values;
//! - `tx`: the write transaction, buffered, the same for every backend;
//! - `sqlite`: the embedded SQLite backend (WAL, one writer connection, a reader pool);
//! - `postgres`, `pg_sql`: the PostgreSQL backend and its dialect of `sql`;
//! - `shared`: the SQL both backends run to the letter, and the decoding of their rows;
//! - `transfer`: export and import of every row (a snapshot, a loader), written once;
//!   each backend opens their transactions in `sqlite/transfer.rs` and
//!   `postgres/transfer.rs`;
//! - `location`: which database a URL names, checked before anything is created;
//! - `cache`: the in-process caches that backend keeps (documents, counts).
//!
//! The store knows no TMF API: it stores documents of a `kind` (an opaque string the engine
//! chooses) and runs jobs of a `queue` (also opaque).

mod cache;
mod location;
mod pg_regex;
mod pg_sql;
mod postgres;
pub mod query;
mod shared;
mod sql;
mod sqlite;
mod transfer;
mod tx;

pub use location::{check_database_url, locate, Location};
pub use query::{Column, Condition, ListQuery, Op, Operand, SortKey, Target};
pub use transfer::{Counts, JobStatus, Loader, RawDocument, RawJob, Snapshot};
pub use tx::Tx;

use postgres::PgStore;
use sqlite::SqliteStore;

/// How to open the store.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `sqlite://path/to/file.db` (created when missing) or a plain file path.
    pub url: String,
    /// Reader connections; the writer is always one.
    pub readers: u32,
    /// `FULL` makes every commit survive power loss; `NORMAL` (the default) survives a
    /// crash of the process, with WAL keeping the database consistent either way.
    pub synchronous_full: bool,
    /// Documents kept in memory for reads by id (0 disables the cache; SQLite only).
    pub cache_entries: usize,
    /// Connections in the pool (PostgreSQL).
    pub pg_connections: u32,
}

impl StoreConfig {
    pub fn new(url: impl Into<String>) -> Self {
        StoreConfig {
            url: url.into(),
            readers: 4,
            synchronous_full: false,
            cache_entries: 20_000,
            pg_connections: 16,
        }
    }
}

/// The store: one of the backends behind one interface.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Calls the same method on whichever backend this store is.
macro_rules! dispatch {
    ($store:expr, $backend:ident => $call:expr) => {
        match &$store.backend {
            Backend::Sqlite($backend) => $call,
            Backend::Postgres($backend) => $call,
        }
    };
}

impl Store {
    /// Opens (and migrates) the database the URL names: `postgres://…` (with an optional
    /// `schema=NAME` parameter of ours) or an SQLite file (see `locate`). A URL of
    /// another form, or a file that cannot be written, is refused before anything is
    /// created; a new SQLite file whose opening failed is removed again.
    pub async fn open(config: &StoreConfig) -> StoreResult<Store> {
        let backend = match locate(&config.url).map_err(StoreError::Settings)? {
            Location::Postgres => Backend::Postgres(PgStore::open(config).await?),
            Location::Sqlite(file) => {
                location::check_sqlite_file(&file).map_err(StoreError::Settings)?;
                let existed = file.exists();
                match SqliteStore::open(config).await {
                    Ok(store) => Backend::Sqlite(store),
                    Err(error) => {
                        if !existed {
                            location::remove_sqlite_files(&file);
                        }
                        return Err(error);
                    }
                }
            }
        };
        Ok(Store { backend })
    }

    /// True when the database answers a read of each of its tables (`/ready`).
    pub async fn ping(&self) -> bool {
        dispatch!(self, store => store.ping().await)
    }

    pub async fn get(&self, kind: &str, id: &str) -> StoreResult<Option<Document>> {
        dispatch!(self, store => store.get(kind, id).await)
    }

    /// One page of matches and the count of all matches.
    pub async fn list(&self, query: &ListQuery) -> StoreResult<Page> {
        dispatch!(self, store => store.list(query).await)
    }

    /// Documents of `kinds` whose links hold any of the `targets` (`link(kind, id)`
    /// keys), in creation order, at most `limit`: who refers to these documents, through
    /// the link index, in one query. A document referring to two targets comes once
    /// per target.
    pub async fn referrers(
        &self,
        targets: &[String],
        kinds: &[String],
        limit: i64,
    ) -> StoreResult<Vec<Referrer>> {
        if targets.is_empty() || kinds.is_empty() {
            return Ok(Vec::new());
        }
        dispatch!(self, store => store.referrers(targets, kinds, limit).await)
    }

    /// Every document of a kind in creation order (exports).
    pub async fn all(&self, kind: &str) -> StoreResult<Vec<Document>> {
        dispatch!(self, store => store.all(kind).await)
    }

    /// Every document of a small kind (hub subscriptions); backends may cache it.
    pub(crate) async fn all_small(&self, kind: &str) -> StoreResult<Vec<Document>> {
        dispatch!(self, store => store.all_small(kind).await)
    }

    /// Starts a write transaction (buffered; see `Tx`).
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(Tx::new(self.clone()))
    }

    pub(crate) async fn commit(
        &self,
        ops: Vec<tx::Op>,
        touched: Vec<(String, String)>,
        submit: tx::Submit,
    ) -> StoreResult<()> {
        dispatch!(self, store => store.commit(ops, touched, submit).await)
    }

    /// A document a transaction of this process submitted and published, not yet
    /// committed (SQLite, whose commits queue for the writer; PostgreSQL
    /// commits before releasing, so it has none).
    pub(crate) fn submitted(&self, kind: &str, id: &str) -> Option<Document> {
        match &self.backend {
            Backend::Sqlite(store) => store.submitted(kind, id),
            Backend::Postgres(_) => None,
        }
    }

    /// Claims up to `limit` due jobs under a lease of `lease_ms`; a job whose lease ran
    /// out (its worker died) is due again.
    pub async fn claim(&self, limit: i64, lease_ms: i64) -> StoreResult<Vec<Job>> {
        dispatch!(self, store => store.claim(limit, lease_ms).await)
    }

    /// Extends the lease of a job still held by the claim `attempts` to `lease_ms` from
    /// now: a running job's worker renews it, so a lease runs out when its worker dies,
    /// not while the job is still at work. False when the job is no longer that claim's.
    pub async fn renew(&self, job_id: i64, attempts: i64, lease_ms: i64) -> StoreResult<bool> {
        dispatch!(self, store => store.renew(job_id, attempts, lease_ms).await)
    }

    /// The job is done: it leaves the queue. `attempts` is the claim's fencing token:
    /// a worker whose lease ran out and whose job another worker re-claimed changes
    /// nothing (the job is that worker's now).
    pub async fn complete(&self, job_id: i64, attempts: i64) -> StoreResult<()> {
        dispatch!(self, store => store.complete(job_id, attempts).await)
    }

    /// The job failed: it runs again at `retry_at`, or is dead-lettered when `None`.
    /// Fenced by `attempts` like `complete`.
    pub async fn fail(
        &self,
        job_id: i64,
        attempts: i64,
        error: &str,
        retry_at: Option<i64>,
    ) -> StoreResult<()> {
        dispatch!(self, store => store.fail(job_id, attempts, error, retry_at).await)
    }

    /// Forwards the database's "new work" signals of other processes to `wake`
    /// (PostgreSQL LISTEN/NOTIFY; a hint only, the worker still polls). A no-op where one
    /// process owns the database.
    pub fn forward_wakeups(&self, wake: std::sync::Arc<tokio::sync::Notify>) {
        if let Backend::Postgres(store) = &self.backend {
            store.forward_wakeups(wake);
        }
    }

    /// When the next ready job falls due (milliseconds since the epoch), if any.
    pub async fn next_due(&self) -> StoreResult<Option<i64>> {
        dispatch!(self, store => store.next_due().await)
    }

    pub async fn dead_jobs(&self) -> StoreResult<Vec<DeadJob>> {
        dispatch!(self, store => store.dead_jobs().await)
    }

    /// Jobs not yet done (ready or leased).
    pub async fn pending_jobs(&self) -> StoreResult<i64> {
        dispatch!(self, store => store.pending_jobs().await)
    }
}

/// True when `url` names a database several server processes may share (PostgreSQL);
/// an SQLite file belongs to one process, whose caches see every write.
pub fn is_shared_database(url: &str) -> bool {
    matches!(locate(url), Ok(Location::Postgres))
}

/// Export and import (`switchboard export` / `import`).
impl Store {
    /// True when other processes may write the database (PostgreSQL): what this
    /// process knows of it may be out of date.
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// "SQLite" or "PostgreSQL", for messages.
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }

    /// A read-only view of one committed state of every document and job.
    pub async fn snapshot(&self) -> StoreResult<Snapshot> {
        dispatch!(self, store => store.snapshot().await)
    }

    /// One transaction that writes rows back as they were exported (see `Loader`).
    pub async fn loader(&self) -> StoreResult<Loader> {
        dispatch!(self, store => store.loader().await)
    }
}

/// A stored document as it comes out of the database: the JSON text is handed on
/// unparsed so that a plain read can be served without a parse/serialise round trip.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub version: i64,
    pub json: String,
}

/// A document found through the link index, with its kind.
#[derive(Debug, Clone)]
pub struct Referrer {
    /// The link key it was found through.
    pub target: String,
    pub kind: String,
    pub document: Document,
}

/// The values the store keeps beside the JSON so that lists can filter, sort and page
/// on them through an index.
#[derive(Debug, Clone, Default)]
pub struct Promoted {
    pub name: Option<String>,
    pub state: Option<String>,
    pub type_name: Option<String>,
    pub updated: Option<String>,
    /// What this document refers to, as `link(kind, id)` keys: the store indexes them so
    /// that the documents referring to one document are found without a scan.
    pub links: Vec<String>,
}

impl Promoted {
    /// The links as the store keeps them: a JSON array of keys, or none.
    pub(crate) fn links_json(&self) -> Option<String> {
        if self.links.is_empty() {
            None
        } else {
            serde_json::to_string(&self.links).ok()
        }
    }

    /// Reads back what `links_json` wrote.
    pub(crate) fn links_from(text: Option<&str>) -> Vec<String> {
        text.and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }
}

/// The index key of a reference to document `id` of `kind` (kinds hold no space).
pub fn link(kind: &str, id: &str) -> String {
    format!("{kind} {id}")
}

/// One page of a list plus the number of all matches. The page comes back as the
/// documents' JSON joined by commas (wrap it in brackets for an array): one value from
/// the database instead of one row per document.
#[derive(Debug, Clone)]
pub struct Page {
    pub total: u64,
    pub count: u64,
    pub items: String,
}

/// A job claimed from the queue under a lease.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub queue: String,
    pub payload: String,
    /// How many times the job has been claimed, this claim included.
    pub attempts: i64,
}

/// A job that ended in the dead-letter state, kept for inspection.
#[derive(Debug, Clone)]
pub struct DeadJob {
    pub id: i64,
    pub queue: String,
    pub payload: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The optimistic-concurrency check failed: the document changed since it was read.
    #[error("the document was changed concurrently")]
    VersionConflict,
    /// A document with the same kind and id already exists.
    #[error("a document with this id already exists")]
    Duplicate,
    /// The database refused a query a client wrote (e.g. a regular expression its
    /// engine does not support).
    #[error("the database refused the query: {0}")]
    InvalidQuery(String),
    /// The database could not be reached or refused to work (pool timeout, I/O).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Any other failure of the SQLite writer (rusqlite), as its message.
    #[error("database error: {0}")]
    Failed(String),
    /// The database URL names no database this store can open, or one that cannot be
    /// opened (at start-up only): what is wrong and what to do.
    #[error("{0}")]
    Settings(String),
}

impl StoreError {
    pub(crate) fn classify(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.to_string()),
            // PostgreSQL: connection exceptions (08…), shutdown and start-up (57P0…),
            // too many connections (53300), a statement over its timeout (57014): the
            // database, not the request, is at fault.
            sqlx::Error::Database(db)
                if db.code().is_some_and(|code| {
                    code.starts_with("08")
                        || code.starts_with("57P")
                        || code == "53300"
                        || code == "57014"
                }) =>
            {
                StoreError::Unavailable(db.message().to_string())
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate,
            // PostgreSQL: invalid_regular_expression.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("2201B") => {
                StoreError::InvalidQuery(db.message().to_string())
            }
            _ => StoreError::Database(error),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Milliseconds since the Unix epoch, the clock the job queue runs on.
pub fn now_millis() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

//! The storage layer: JSON documents with promoted columns, a durable job queue, and
//! the compilation of list queries into parameterised SQL.
//!
//! Layout:
//! - `query`: the backend-neutral query model (conditions, sort, page) the engine builds;
//! - `sql`: compilation of that model to SQL text plus bind values;
//! - `sqlite`: the embedded SQLite backend (WAL, one writer connection, a reader pool);
//! - `cache`: the in-process caches that backend keeps (documents, counts).
//!
//! The store knows no TMF API: it stores documents of a `kind` (an opaque string the engine
//! chooses) and runs jobs of a `queue` (also opaque).

mod cache;
pub mod query;
mod sql;
mod sqlite;

pub use query::{Column, Condition, ListQuery, Op, Operand, SortKey, Target};
pub use sqlite::{Store, StoreConfig, Tx};

/// A stored document as it comes out of the database: the JSON text is handed on
/// unparsed so that a plain read can be served without a parse/serialise round trip.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub version: i64,
    pub json: String,
}

/// The values the store keeps beside the JSON so that lists can filter, sort and page
/// on them through an index.
#[derive(Debug, Clone, Default)]
pub struct Promoted {
    pub name: Option<String>,
    pub state: Option<String>,
    pub type_name: Option<String>,
    pub updated: Option<String>,
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
    /// The database could not be reached or refused to work (pool timeout, I/O).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl StoreError {
    pub(crate) fn classify(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(error.to_string())
            }
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate,
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

//! What both backends do alike, written once: the SQL they run to the letter, the
//! binding of values into it, and the decoding of their rows into the store's types.
//!
//! Each function here is generic over the driver (`Sqlite`, `Postgres`) or its row
//! type; the bounds only say "this driver takes and gives our integers and texts".
//! Where the dialects differ (PostgreSQL's JSONB read as `doc::text` and written with
//! `::jsonb`, its `greatest`, its `SKIP LOCKED` claim; SQLite's group-commit batch), the
//! SQL stays in its backend, with the reason beside it. The statements of export and
//! import live in `transfer`.

use sqlx::{ColumnIndex, Database, Decode, Encode, Row, Type};

use crate::sql::Bind;
use crate::{DeadJob, Document, Job, StoreError, StoreResult};

/// The readiness probe: a read of each table, so that a database without our tables
/// (or that cannot read them) is not reported ready the way `SELECT 1` would be.
pub(crate) const READY: &str = "SELECT EXISTS (SELECT 1 FROM documents), \
     EXISTS (SELECT 1 FROM jobs), EXISTS (SELECT 1 FROM links)";

/// A statement of either backend with its values bound, ready to run.
pub(crate) type Query<DB> = sqlx::query::Query<'static, DB, <DB as Database>::Arguments>;

/// A driver error as ours, classified (connection trouble becomes `Unavailable`).
pub(crate) fn map<T>(result: Result<T, sqlx::Error>) -> StoreResult<T> {
    result.map_err(StoreError::classify)
}

/// Binds the values of a compiled statement (`sql::Builder`), in placeholder order.
pub(crate) fn apply<'q, DB>(
    mut query: sqlx::query::Query<'q, DB, DB::Arguments>,
    binds: &[Bind],
) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    DB: Database,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> f64: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text.as_str()),
            Bind::Real(real) => query.bind(*real),
            Bind::Int(int) => query.bind(*int),
        };
    }
    query
}

/// `SELECT count(*)` of the documents a compiled filter (`d` for the table) matches.
pub(crate) fn count_sql(filter: &str) -> String {
    format!("SELECT count(*) FROM documents d WHERE {filter}")
}

/// Jobs not yet done: ready, or leased by a worker.
pub(crate) const PENDING_JOBS: &str = "SELECT count(*) FROM jobs WHERE status = 'ready'";

pub(crate) const DEAD_JOBS: &str = "SELECT id, queue, payload, attempts, last_error FROM jobs
     WHERE status = 'dead' ORDER BY id";

/// Binds a backend's claim statement, whose placeholders both dialects give the same
/// meaning: `$1` the end of the new lease, `$2` now, `$3` the most jobs to claim. The
/// claims differ in how they keep two workers from taking the same job.
pub(crate) fn claim_jobs<DB>(sql: &'static str, limit: i64, lease_ms: i64) -> Query<DB>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    let now = crate::now_millis();
    sqlx::query(sql).bind(now + lease_ms).bind(now).bind(limit)
}

// Renewing and settling a job are fenced by the claim's attempt number: a worker whose
// lease ran out changes nothing once another worker has claimed the job again.

pub(crate) const RENEW_JOB: &str = "UPDATE jobs SET lease_until = $1
     WHERE id = $2 AND attempts = $3 AND status = 'ready'";

/// Extends the lease of a job still held by the claim `attempts` to `lease_ms` from now;
/// it changes one row when the claim still holds.
pub(crate) fn renew_job<DB>(job_id: i64, attempts: i64, lease_ms: i64) -> Query<DB>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    sqlx::query(RENEW_JOB)
        .bind(crate::now_millis() + lease_ms)
        .bind(job_id)
        .bind(attempts)
}

pub(crate) const COMPLETE_JOB: &str = "DELETE FROM jobs WHERE id = $1 AND attempts = $2";

/// The job is done: it leaves the queue.
pub(crate) fn complete_job<DB>(job_id: i64, attempts: i64) -> Query<DB>
where
    DB: Database,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    sqlx::query(COMPLETE_JOB).bind(job_id).bind(attempts)
}

pub(crate) const FAIL_JOB: &str =
    "UPDATE jobs SET status = $1, run_at = $2, lease_until = NULL, last_error = $3
     WHERE id = $4 AND attempts = $5";

/// The status and `run_at` of a failed job (`FAIL_JOB`'s first two values): ready again
/// at `retry_at`, or dead as of `now`.
pub(crate) fn failed_state(retry_at: Option<i64>, now: i64) -> (&'static str, i64) {
    match retry_at {
        Some(at) => ("ready", at),
        None => ("dead", now),
    }
}

/// The job failed: it runs again at `retry_at`, or is dead-lettered when `None`.
pub(crate) fn fail_job<DB>(
    job_id: i64,
    attempts: i64,
    error: &str,
    retry_at: Option<i64>,
) -> Query<DB>
where
    DB: Database,
    for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    for<'t> i64: Encode<'t, DB> + Type<DB>,
{
    let (status, run_at) = failed_state(retry_at, crate::now_millis());
    sqlx::query(FAIL_JOB)
        .bind(status)
        .bind(run_at)
        .bind(error)
        .bind(job_id)
        .bind(attempts)
}

/// The columns of a row, read by name, for the row type of either backend. The bounds
/// that say "this driver decodes our column types" are stated once, on the impl below.
pub(crate) trait StoreRow {
    fn text(&self, column: &str) -> StoreResult<String>;
    fn optional_text(&self, column: &str) -> StoreResult<Option<String>>;
    fn int(&self, column: &str) -> StoreResult<i64>;
    /// SQLite has no boolean type: its 0 and 1 read as false and true.
    fn flag(&self, column: &str) -> StoreResult<bool>;
}

impl<R> StoreRow for R
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, column: &str) -> StoreResult<String> {
        map(self.try_get(column))
    }

    fn optional_text(&self, column: &str) -> StoreResult<Option<String>> {
        map(self.try_get(column))
    }

    fn int(&self, column: &str) -> StoreResult<i64> {
        map(self.try_get(column))
    }

    fn flag(&self, column: &str) -> StoreResult<bool> {
        map(self.try_get(column))
    }
}

/// A row with `id`, `version` and `doc` (as text).
pub(crate) fn document(row: &impl StoreRow) -> StoreResult<Document> {
    Ok(Document {
        id: row.text("id")?,
        version: row.int("version")?,
        json: row.text("doc")?,
    })
}

/// A row with `target`, `kind`, `id`, `version` and `doc` (text).
pub(crate) fn referrer(row: &impl StoreRow) -> StoreResult<crate::Referrer> {
    Ok(crate::Referrer {
        target: row.text("target")?,
        kind: row.text("kind")?,
        document: document(row)?,
    })
}

/// A list of strings as the JSON array both backends read a list parameter from.
pub(crate) fn list_json(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_string())
}

/// A row with `id`, `queue`, `payload` and `attempts`, as a claim returns them.
pub(crate) fn job(row: &impl StoreRow) -> StoreResult<Job> {
    Ok(Job {
        id: row.int("id")?,
        queue: row.text("queue")?,
        payload: row.text("payload")?,
        attempts: row.int("attempts")?,
    })
}

/// A row of `DEAD_JOBS`.
pub(crate) fn dead_job(row: &impl StoreRow) -> StoreResult<DeadJob> {
    Ok(DeadJob {
        id: row.int("id")?,
        queue: row.text("queue")?,
        payload: row.text("payload")?,
        attempts: row.int("attempts")?,
        last_error: row.optional_text("last_error")?,
    })
}

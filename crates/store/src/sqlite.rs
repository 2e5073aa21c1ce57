//! The embedded SQLite backend: WAL journal, one writer connection (SQLite allows one
//! writer at a time, so queueing in the pool is cheaper than retrying on SQLITE_BUSY)
//! and a pool of readers that never block the writer.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqlitePool};

use crate::query::ListQuery;
use crate::sql::{order_clause, where_clause, Bind, Builder};
use crate::{DeadJob, Document, Job, Page, Promoted, StoreError, StoreResult};

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS documents (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        p_name TEXT,
        p_state TEXT,
        p_type TEXT,
        p_updated TEXT,
        doc TEXT NOT NULL
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS documents_kind_id ON documents (kind, id)",
    "CREATE INDEX IF NOT EXISTS documents_kind_state ON documents (kind, p_state)",
    "CREATE INDEX IF NOT EXISTS documents_kind_name ON documents (kind, p_name)",
    "CREATE INDEX IF NOT EXISTS documents_kind_type ON documents (kind, p_type)",
    "CREATE INDEX IF NOT EXISTS documents_kind_updated ON documents (kind, p_updated)",
    "CREATE TABLE IF NOT EXISTS jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL,
        dedup_key TEXT UNIQUE,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'ready',
        attempts INTEGER NOT NULL DEFAULT 0,
        run_at INTEGER NOT NULL,
        lease_until INTEGER,
        last_error TEXT,
        created_at INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS jobs_due ON jobs (status, run_at)",
];

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
}

impl StoreConfig {
    pub fn new(url: impl Into<String>) -> Self {
        StoreConfig {
            url: url.into(),
            readers: 4,
            synchronous_full: false,
        }
    }
}

#[derive(Clone)]
pub struct Store {
    writer: SqlitePool,
    reader: SqlitePool,
}

fn map<T>(result: Result<T, sqlx::Error>) -> StoreResult<T> {
    result.map_err(StoreError::classify)
}

fn document(row: &SqliteRow) -> StoreResult<Document> {
    Ok(Document {
        id: map(row.try_get("id"))?,
        version: map(row.try_get("version"))?,
        json: map(row.try_get("doc"))?,
    })
}

fn apply<'q>(
    mut query: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>,
    binds: &'q [Bind],
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments> {
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text.as_str()),
            Bind::Real(real) => query.bind(*real),
            Bind::Int(int) => query.bind(*int),
        };
    }
    query
}

impl Store {
    pub async fn open(config: &StoreConfig) -> StoreResult<Store> {
        let url = if config.url.starts_with("sqlite:") {
            config.url.clone()
        } else {
            format!("sqlite://{}", config.url)
        };
        let options = map(SqliteConnectOptions::from_str(&url))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(if config.synchronous_full {
                SqliteSynchronous::Full
            } else {
                SqliteSynchronous::Normal
            })
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(false)
            .with_regexp();
        let writer = map(SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await)?;
        for statement in MIGRATIONS {
            map(sqlx::query(*statement).execute(&writer).await)?;
        }
        let reader = map(SqlitePoolOptions::new()
            .max_connections(config.readers.max(1))
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await)?;
        Ok(Store { writer, reader })
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.reader).await.is_ok()
    }

    pub async fn get(&self, kind: &str, id: &str) -> StoreResult<Option<Document>> {
        let row = map(sqlx::query(
            "SELECT id, version, doc FROM documents WHERE kind = $1 AND id = $2",
        )
        .bind(kind)
        .bind(id)
        .fetch_optional(&self.reader)
        .await)?;
        row.as_ref().map(document).transpose()
    }

    /// One page of matches and the count of all matches, read in one snapshot.
    pub async fn list(&self, query: &ListQuery) -> StoreResult<Page> {
        let mut filter = Builder::default();
        where_clause(&mut filter, query);
        let mut connection = map(self.reader.acquire().await)?;
        map(sqlx::query("BEGIN").execute(&mut *connection).await)?;
        let count_sql = format!("SELECT count(*) FROM documents d WHERE {}", filter.sql);
        let total: i64 = match apply(sqlx::query(sqlx::AssertSqlSafe(count_sql)), &filter.binds)
            .fetch_one(&mut *connection)
            .await
        {
            Ok(row) => map(row.try_get(0))?,
            Err(error) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *connection).await;
                return Err(StoreError::classify(error));
            }
        };
        let mut page = filter;
        page.sql = format!(
            "SELECT d.id, d.version, d.doc FROM documents d WHERE {}",
            page.sql
        );
        order_clause(&mut page, &query.sort);
        page.push(" LIMIT ");
        page.bind(Bind::Int(query.limit.min(i64::MAX as u64) as i64));
        page.push(" OFFSET ");
        page.bind(Bind::Int(query.offset.min(i64::MAX as u64) as i64));
        let rows = apply(
            sqlx::query(sqlx::AssertSqlSafe(page.sql.clone())),
            &page.binds,
        )
        .fetch_all(&mut *connection)
        .await;
        let _ = sqlx::query("COMMIT").execute(&mut *connection).await;
        let rows = map(rows)?;
        let documents = rows.iter().map(document).collect::<StoreResult<Vec<_>>>()?;
        Ok(Page {
            total: total.max(0) as u64,
            documents,
        })
    }

    /// Every document of a kind in creation order (hub subscriptions, exports).
    pub async fn all(&self, kind: &str) -> StoreResult<Vec<Document>> {
        let rows = map(sqlx::query(
            "SELECT id, version, doc FROM documents WHERE kind = $1 ORDER BY seq",
        )
        .bind(kind)
        .fetch_all(&self.reader)
        .await)?;
        rows.iter().map(document).collect()
    }

    /// Starts a write transaction; it takes the database's write lock at once.
    pub async fn begin(&self) -> StoreResult<Tx> {
        let inner = map(self.writer.begin_with("BEGIN IMMEDIATE").await)?;
        Ok(Tx { inner })
    }

    /// Claims up to `limit` due jobs under a lease of `lease_ms`; a job whose lease ran
    /// out (its worker died) is due again.
    pub async fn claim(&self, limit: i64, lease_ms: i64) -> StoreResult<Vec<Job>> {
        let now = crate::now_millis();
        let rows = map(sqlx::query(
            "UPDATE jobs SET lease_until = $1, attempts = attempts + 1
                 WHERE id IN (
                    SELECT id FROM jobs
                    WHERE status = 'ready' AND run_at <= $2
                      AND (lease_until IS NULL OR lease_until <= $2)
                    ORDER BY run_at, id LIMIT $3)
                 RETURNING id, queue, payload, attempts",
        )
        .bind(now + lease_ms)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.writer)
        .await)?;
        rows.iter()
            .map(|row| {
                Ok(Job {
                    id: map(row.try_get("id"))?,
                    queue: map(row.try_get("queue"))?,
                    payload: map(row.try_get("payload"))?,
                    attempts: map(row.try_get("attempts"))?,
                })
            })
            .collect()
    }

    /// The job is done: it leaves the queue.
    pub async fn complete(&self, job_id: i64) -> StoreResult<()> {
        map(sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(job_id)
            .execute(&self.writer)
            .await)?;
        Ok(())
    }

    /// The job failed: it runs again at `retry_at`, or is dead-lettered when `None`.
    pub async fn fail(&self, job_id: i64, error: &str, retry_at: Option<i64>) -> StoreResult<()> {
        let (status, run_at) = match retry_at {
            Some(at) => ("ready", at),
            None => ("dead", crate::now_millis()),
        };
        map(sqlx::query(
            "UPDATE jobs SET status = $1, run_at = $2, lease_until = NULL, last_error = $3
                 WHERE id = $4",
        )
        .bind(status)
        .bind(run_at)
        .bind(error)
        .bind(job_id)
        .execute(&self.writer)
        .await)?;
        Ok(())
    }

    /// When the next ready job falls due (milliseconds since the epoch), if any.
    pub async fn next_due(&self) -> StoreResult<Option<i64>> {
        let row = map(sqlx::query(
            "SELECT min(max(run_at, coalesce(lease_until, 0))) FROM jobs WHERE status = 'ready'",
        )
        .fetch_one(&self.reader)
        .await)?;
        map(row.try_get::<Option<i64>, _>(0))
    }

    pub async fn dead_jobs(&self) -> StoreResult<Vec<DeadJob>> {
        let rows = map(sqlx::query(
            "SELECT id, queue, payload, attempts, last_error FROM jobs
                 WHERE status = 'dead' ORDER BY id",
        )
        .fetch_all(&self.reader)
        .await)?;
        rows.iter()
            .map(|row| {
                Ok(DeadJob {
                    id: map(row.try_get("id"))?,
                    queue: map(row.try_get("queue"))?,
                    payload: map(row.try_get("payload"))?,
                    attempts: map(row.try_get("attempts"))?,
                    last_error: map(row.try_get("last_error"))?,
                })
            })
            .collect()
    }

    /// Jobs not yet done (ready or leased), for tests and the metrics endpoint.
    pub async fn pending_jobs(&self) -> StoreResult<i64> {
        let row = map(
            sqlx::query("SELECT count(*) FROM jobs WHERE status = 'ready'")
                .fetch_one(&self.reader)
                .await,
        )?;
        map(row.try_get(0))
    }
}

/// A write transaction: documents and the jobs their change starts commit together.
pub struct Tx {
    inner: sqlx::Transaction<'static, Sqlite>,
}

impl Tx {
    pub async fn get(&mut self, kind: &str, id: &str) -> StoreResult<Option<Document>> {
        let row = map(sqlx::query(
            "SELECT id, version, doc FROM documents WHERE kind = $1 AND id = $2",
        )
        .bind(kind)
        .bind(id)
        .fetch_optional(&mut *self.inner)
        .await)?;
        row.as_ref().map(document).transpose()
    }

    pub async fn all(&mut self, kind: &str) -> StoreResult<Vec<Document>> {
        let rows = map(sqlx::query(
            "SELECT id, version, doc FROM documents WHERE kind = $1 ORDER BY seq",
        )
        .bind(kind)
        .fetch_all(&mut *self.inner)
        .await)?;
        rows.iter().map(document).collect()
    }

    /// Inserts a new document at version 1.
    pub async fn insert(
        &mut self,
        kind: &str,
        id: &str,
        json: &str,
        promoted: &Promoted,
    ) -> StoreResult<i64> {
        map(sqlx::query(
            "INSERT INTO documents (kind, id, version, p_name, p_state, p_type, p_updated, doc)
                 VALUES ($1, $2, 1, $3, $4, $5, $6, $7)",
        )
        .bind(kind)
        .bind(id)
        .bind(promoted.name.as_deref())
        .bind(promoted.state.as_deref())
        .bind(promoted.type_name.as_deref())
        .bind(promoted.updated.as_deref())
        .bind(json)
        .execute(&mut *self.inner)
        .await)?;
        Ok(1)
    }

    /// Replaces a document if it is still at `expected_version`; returns the new version.
    pub async fn update(
        &mut self,
        kind: &str,
        id: &str,
        expected_version: i64,
        json: &str,
        promoted: &Promoted,
    ) -> StoreResult<i64> {
        let row = map(sqlx::query(
            "UPDATE documents SET version = version + 1, p_name = $1, p_state = $2,
                    p_type = $3, p_updated = $4, doc = $5
                 WHERE kind = $6 AND id = $7 AND version = $8
                 RETURNING version",
        )
        .bind(promoted.name.as_deref())
        .bind(promoted.state.as_deref())
        .bind(promoted.type_name.as_deref())
        .bind(promoted.updated.as_deref())
        .bind(json)
        .bind(kind)
        .bind(id)
        .bind(expected_version)
        .fetch_optional(&mut *self.inner)
        .await)?;
        match row {
            Some(row) => map(row.try_get(0)),
            None => Err(StoreError::VersionConflict),
        }
    }

    /// Deletes a document; false when it did not exist.
    pub async fn delete(&mut self, kind: &str, id: &str) -> StoreResult<bool> {
        let done = map(
            sqlx::query("DELETE FROM documents WHERE kind = $1 AND id = $2")
                .bind(kind)
                .bind(id)
                .execute(&mut *self.inner)
                .await,
        )?;
        Ok(done.rows_affected() > 0)
    }

    /// Queues a job to run from `run_at` (ms since the epoch). With a `dedup_key`, a job
    /// already queued under that key is kept and this one dropped: steps stay idempotent.
    pub async fn enqueue(
        &mut self,
        queue: &str,
        payload: &str,
        dedup_key: Option<&str>,
        run_at: i64,
    ) -> StoreResult<()> {
        map(sqlx::query(
            "INSERT INTO jobs (queue, dedup_key, payload, run_at, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(queue)
        .bind(dedup_key)
        .bind(payload)
        .bind(run_at)
        .bind(crate::now_millis())
        .execute(&mut *self.inner)
        .await)?;
        Ok(())
    }

    pub async fn commit(self) -> StoreResult<()> {
        map(self.inner.commit().await)
    }
}

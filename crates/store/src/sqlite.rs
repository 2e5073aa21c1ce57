//! The embedded SQLite backend: WAL journal, one writer (SQLite allows one writer at a
//! time, so queueing writes in the process is cheaper than retrying on SQLITE_BUSY; see
//! `writer`) and a pool of readers that never block it.

pub(crate) mod transfer;
mod writer;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::cache::Caches;
use crate::query::ListQuery;
use crate::shared::{self, apply, map};
use crate::sql::{order_clause, where_clause, Bind, Builder};
use crate::tx::Op;
use crate::{DeadJob, Document, Job, Page, StoreConfig, StoreError, StoreResult};
use writer::Request;

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS documents (
        seq INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        p_name TEXT,
        p_state TEXT,
        p_type TEXT,
        p_updated TEXT,
        doc TEXT NOT NULL,
        p_links TEXT
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS documents_kind_id ON documents (kind, id)",
    // (kind, seq): lists in creation order page through an index, with no sort.
    "CREATE INDEX IF NOT EXISTS documents_kind_seq ON documents (kind, seq)",
    "CREATE INDEX IF NOT EXISTS documents_kind_state ON documents (kind, p_state)",
    "CREATE INDEX IF NOT EXISTS documents_kind_type ON documents (kind, p_type)",
    // Orders, reservations and inventory entries have no `name` or `lastUpdate` to index:
    // with every document in these indexes, each write group rewrote their last page of
    // every kind it wrote. A filter on the attribute (`=`, `<`, ... imply NOT NULL) still
    // uses them. (Older databases had them whole, under the plain names.)
    "DROP INDEX IF EXISTS documents_kind_name",
    "DROP INDEX IF EXISTS documents_kind_updated",
    "CREATE INDEX IF NOT EXISTS documents_kind_named ON documents (kind, p_name)
        WHERE p_name IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS documents_kind_updated_set ON documents (kind, p_updated)
        WHERE p_updated IS NOT NULL",
    "CREATE TABLE IF NOT EXISTS jobs (
        id INTEGER PRIMARY KEY,
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
    // Older databases have it: their writer aborted its batches through it.
    "DROP TABLE IF EXISTS write_guard",
];

/// The link index: one row per key in a document's `p_links`, kept by triggers so that
/// every path that writes documents (commits, imports) keeps it true.
const LINK_MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS links (target TEXT NOT NULL, seq INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS links_target ON links (target, seq)",
    "CREATE INDEX IF NOT EXISTS links_seq ON links (seq)",
    "CREATE TRIGGER IF NOT EXISTS documents_links_insert AFTER INSERT ON documents
        WHEN new.p_links IS NOT NULL
     BEGIN
        INSERT INTO links (target, seq) SELECT value, new.seq FROM json_each(new.p_links);
     END",
    // Most updates leave a document's references as they were: nothing to redo then.
    // (Older databases had the same trigger without the WHEN, under another name.)
    "DROP TRIGGER IF EXISTS documents_links_update",
    "CREATE TRIGGER IF NOT EXISTS documents_links_changed AFTER UPDATE OF p_links ON documents
        WHEN old.p_links IS NOT new.p_links
     BEGIN
        DELETE FROM links WHERE seq = old.seq;
        INSERT INTO links (target, seq)
            SELECT value, new.seq FROM json_each(coalesce(new.p_links, '[]'));
     END",
    "CREATE TRIGGER IF NOT EXISTS documents_links_delete AFTER DELETE ON documents
     BEGIN
        DELETE FROM links WHERE seq = old.seq;
     END",
];

/// The SQL of a list: the filter alone (to count the matches) and the page, the
/// documents of the page aggregated inside SQLite into one value, in the page's order.
fn page_sql(query: &ListQuery) -> (Builder, Builder) {
    let mut filter = Builder::default();
    where_clause(&mut filter, query);
    let mut page = filter.clone();
    page.sql = format!(
        "SELECT coalesce(group_concat(d.doc, ','{{ORDER}}), ''), count(*) FROM \
         (SELECT d.seq, d.p_name, d.p_state, d.p_type, d.p_updated, d.id, d.doc \
          FROM documents d WHERE {}",
        filter.sql
    );
    order_clause(&mut page, &query.sort);
    // Through subqueries: SQLite's planner reads a bound LIMIT's or OFFSET's value, and
    // a statement whose plan read a bound value is prepared again at each execution.
    page.push(" LIMIT (SELECT ");
    page.bind(Bind::Int(query.limit.min(i64::MAX as u64) as i64));
    page.push(") OFFSET (SELECT ");
    page.bind(Bind::Int(query.offset.min(i64::MAX as u64) as i64));
    page.push(")) AS d");
    // The aggregate's ORDER BY repeats the page order; its binds number on.
    let mut order = page.clone();
    order.sql.clear();
    order_clause(&mut order, &query.sort);
    page.binds = order.binds;
    page.sql = page.sql.replacen("{ORDER}", &order.sql, 1);
    (filter, page)
}

// SQLite keeps the document as JSON text, read as it is (PostgreSQL's JSONB is read
// through `doc::text`).
const DOCUMENT: &str = "SELECT id, version, doc FROM documents WHERE kind = $1 AND id = $2";
const DOCUMENTS_OF_KIND: &str =
    "SELECT id, version, doc FROM documents WHERE kind = $1 ORDER BY seq";

/// The embedded backend.
#[derive(Clone)]
pub(crate) struct SqliteStore {
    /// The sqlx write connection: migrations, and imports (`loader`), which run while the
    /// writer is idle.
    migrator: SqlitePool,
    reader: SqlitePool,
    caches: Arc<Caches>,
    /// Every other write goes to the writer thread (`writer`), in order.
    writer: mpsc::UnboundedSender<Request>,
    /// Published documents of transactions submitted to the writer and not yet
    /// committed, by (kind, id): what the next writer of a hot key builds on.
    submitted: Arc<std::sync::Mutex<HashMap<(String, String), Document>>>,
}

fn page_of(row: &SqliteRow, total: u64) -> StoreResult<Page> {
    let count: i64 = map(row.try_get(1))?;
    Ok(Page {
        total,
        count: count.max(0) as u64,
        items: map(row.try_get(0))?,
    })
}

impl SqliteStore {
    pub(crate) async fn open(config: &StoreConfig) -> StoreResult<SqliteStore> {
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
        let migrator = map(SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await)?;
        for statement in MIGRATIONS {
            map(sqlx::query(*statement).execute(&migrator).await)?;
        }
        // Databases made before the link index lack its column.
        let has_links: i64 = map(sqlx::query_scalar(
            "SELECT count(*) FROM pragma_table_info('documents') WHERE name = 'p_links'",
        )
        .fetch_one(&migrator)
        .await)?;
        if has_links == 0 {
            map(sqlx::query("ALTER TABLE documents ADD COLUMN p_links TEXT")
                .execute(&migrator)
                .await)?;
        }
        for statement in LINK_MIGRATIONS {
            map(sqlx::query(*statement).execute(&migrator).await)?;
        }
        let reader = map(SqlitePoolOptions::new()
            .max_connections(config.readers.max(1))
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone().read_only(true))
            .await)?;
        let caches = Arc::new(Caches::new(config.cache_entries));
        let writer = writer::start(
            options.get_filename(),
            config.synchronous_full,
            caches.clone(),
        )?;
        Ok(SqliteStore {
            submitted: Arc::default(),
            migrator,
            reader,
            caches,
            writer,
        })
    }

    /// True when the readers read every table and the writer is at work.
    pub(crate) async fn ping(&self) -> bool {
        !self.writer.is_closed()
            && sqlx::query(shared::READY)
                .execute(&self.reader)
                .await
                .is_ok()
    }

    pub(crate) async fn get(&self, kind: &str, id: &str) -> StoreResult<Option<Document>> {
        let ticket = match self.caches.document(kind, id) {
            Ok(cached) => return Ok(cached),
            Err(ticket) => ticket,
        };
        let row = map(sqlx::query(DOCUMENT)
            .bind(kind)
            .bind(id)
            .fetch_optional(&self.reader)
            .await)?;
        let found = row.as_ref().map(shared::document).transpose()?;
        self.caches.fill_document(ticket, found.as_ref());
        Ok(found)
    }

    /// One page of matches and the count of all matches, read in one snapshot.
    pub(crate) async fn list(&self, query: &ListQuery) -> StoreResult<Page> {
        let (filter, page) = page_sql(query);
        // Counts of unchanged kinds are remembered: a paged list then costs one index
        // range scan of `limit` rows instead of a scan of every match. The count holds
        // for the page if no write to the kind committed while the page was read.
        let epoch = self.caches.kind_epoch(&query.kind);
        let page_key = format!("{}{:?}", page.sql, page.binds);
        if let Some(cached) = self.caches.page(&query.kind, &page_key) {
            return Ok(cached);
        }
        let count_key = format!("{}{:?}", filter.sql, filter.binds);
        if let Some(total) = self.caches.count(&query.kind, &count_key) {
            let row = map(apply(
                sqlx::query(sqlx::AssertSqlSafe(page.sql.clone())),
                &page.binds,
            )
            .fetch_one(&self.reader)
            .await)?;
            if self.caches.kind_epoch(&query.kind) == epoch {
                let result = page_of(&row, total)?;
                self.caches.fill_page(&query.kind, epoch, page_key, &result);
                return Ok(result);
            }
        }
        let mut connection = map(self.reader.acquire().await)?;
        map(sqlx::query("BEGIN").execute(&mut *connection).await)?;
        let count_sql = shared::count_sql(&filter.sql);
        let counted = apply(sqlx::query(sqlx::AssertSqlSafe(count_sql)), &filter.binds)
            .fetch_one(&mut *connection)
            .await;
        let row = match &counted {
            Ok(_) => Some(
                apply(sqlx::query(sqlx::AssertSqlSafe(page.sql)), &page.binds)
                    .fetch_one(&mut *connection)
                    .await,
            ),
            Err(_) => None,
        };
        let _ = sqlx::query("COMMIT").execute(&mut *connection).await;
        let total: i64 = map(map(counted)?.try_get(0))?;
        let total = total.max(0) as u64;
        let row = map(row.ok_or(sqlx::Error::RowNotFound)?)?;
        self.caches.fill_count(&query.kind, epoch, count_key, total);
        let result = page_of(&row, total)?;
        self.caches.fill_page(&query.kind, epoch, page_key, &result);
        Ok(result)
    }

    /// Every document of a kind in creation order (hub subscriptions, exports).
    pub(crate) async fn all(&self, kind: &str) -> StoreResult<Vec<Document>> {
        let rows = map(sqlx::query(DOCUMENTS_OF_KIND)
            .bind(kind)
            .fetch_all(&self.reader)
            .await)?;
        rows.iter().map(shared::document).collect()
    }

    pub(crate) async fn referrers(
        &self,
        targets: &[String],
        kinds: &[String],
        limit: i64,
    ) -> StoreResult<Vec<crate::Referrer>> {
        let rows = map(sqlx::query(
            "SELECT l.target, d.kind, d.id, d.version, d.doc
             FROM links l JOIN documents d ON d.seq = l.seq
             WHERE l.target IN (SELECT value FROM json_each($1))
               AND d.kind IN (SELECT value FROM json_each($2))
             ORDER BY l.seq LIMIT (SELECT $3)",
        )
        .bind(shared::list_json(targets))
        .bind(shared::list_json(kinds))
        .bind(limit)
        .fetch_all(&self.reader)
        .await)?;
        rows.iter().map(shared::referrer).collect()
    }

    /// Claims up to `limit` due jobs under a lease of `lease_ms`; a job whose lease ran
    /// out (its worker died) is due again. Runs on the writer, grouped with the commits.
    pub(crate) async fn claim(&self, limit: i64, lease_ms: i64) -> StoreResult<Vec<Job>> {
        let (reply, outcome) = oneshot::channel();
        self.write(
            Request::Claim {
                limit,
                lease_ms,
                reply,
            },
            outcome,
        )
        .await
    }

    /// Extends the lease of a job still held by the claim `attempts`.
    pub(crate) async fn renew(
        &self,
        job_id: i64,
        attempts: i64,
        lease_ms: i64,
    ) -> StoreResult<bool> {
        let (reply, outcome) = oneshot::channel();
        self.write(
            Request::Renew {
                job: job_id,
                attempts,
                lease_ms,
                reply,
            },
            outcome,
        )
        .await
    }

    /// The job is done: it leaves the queue.
    /// Goes through the writer: under load, the completions of many jobs
    /// share one write transaction with the documents committed meanwhile.
    pub(crate) async fn complete(&self, job_id: i64, attempts: i64) -> StoreResult<()> {
        let op = Op::CompleteJob {
            id: job_id,
            attempts,
        };
        let nothing = crate::tx::Submit {
            publish: Vec::new(),
            release: Vec::new(),
        };
        self.commit(vec![op], Vec::new(), nothing).await
    }

    /// The job failed: it runs again at `retry_at`, or is dead-lettered when `None`.
    pub(crate) async fn fail(
        &self,
        job_id: i64,
        attempts: i64,
        error: &str,
        retry_at: Option<i64>,
    ) -> StoreResult<()> {
        let (reply, outcome) = oneshot::channel();
        self.write(
            Request::Fail {
                job: job_id,
                attempts,
                error: error.to_string(),
                retry_at,
                reply,
            },
            outcome,
        )
        .await
    }

    /// Hands a request to the writer and waits for its outcome.
    async fn write<T>(
        &self,
        request: Request,
        outcome: oneshot::Receiver<StoreResult<T>>,
    ) -> StoreResult<T> {
        if self.writer.send(request).is_err() {
            return Err(stopped());
        }
        outcome.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// When the next ready job falls due (milliseconds since the epoch), if any.
    pub(crate) async fn next_due(&self) -> StoreResult<Option<i64>> {
        // SQLite's `max` of two arguments is PostgreSQL's `greatest`.
        let row = map(sqlx::query(
            "SELECT min(max(run_at, coalesce(lease_until, 0))) FROM jobs WHERE status = 'ready'",
        )
        .fetch_one(&self.reader)
        .await)?;
        map(row.try_get::<Option<i64>, _>(0))
    }

    pub(crate) async fn dead_jobs(&self) -> StoreResult<Vec<DeadJob>> {
        let rows = map(sqlx::query(shared::DEAD_JOBS).fetch_all(&self.reader).await)?;
        rows.iter().map(shared::dead_job).collect()
    }

    /// Jobs not yet done (ready or leased), for tests and the metrics endpoint.
    pub(crate) async fn pending_jobs(&self) -> StoreResult<i64> {
        let row = map(sqlx::query(shared::PENDING_JOBS)
            .fetch_one(&self.reader)
            .await)?;
        map(row.try_get(0))
    }
}

impl SqliteStore {
    /// Every document of a small kind (hub subscriptions), served from memory while
    /// the kind is unchanged.
    pub(crate) async fn all_small(&self, kind: &str) -> StoreResult<Vec<Document>> {
        if let Some(cached) = self.caches.all(kind) {
            return Ok(cached);
        }
        let epoch = self.caches.kind_epoch(kind);
        let documents = self.all(kind).await?;
        self.caches.fill_all(kind, epoch, &documents);
        Ok(documents)
    }

    pub(crate) fn submitted(&self, kind: &str, id: &str) -> Option<Document> {
        let submitted = match self.submitted.lock() {
            Ok(submitted) => submitted,
            Err(poisoned) => poisoned.into_inner(),
        };
        submitted.get(&(kind.to_string(), id.to_string())).cloned()
    }

    /// Commits a transaction's writes through the writer. Its published
    /// documents are visible to `submitted` from the moment the request is queued (the
    /// writer applies requests in order) until it is settled; the locks handed in are
    /// released once it is queued.
    pub(crate) async fn commit(
        &self,
        ops: Vec<Op>,
        touched: Vec<(String, String)>,
        submit: crate::tx::Submit,
    ) -> StoreResult<()> {
        let published: Vec<((String, String), i64)> = submit
            .publish
            .iter()
            .map(|(key, document)| (key.clone(), document.version))
            .collect();
        if !published.is_empty() {
            let mut submitted = match self.submitted.lock() {
                Ok(submitted) => submitted,
                Err(poisoned) => poisoned.into_inner(),
            };
            for (key, document) in submit.publish {
                submitted.insert(key, document);
            }
        }
        let (reply, outcome) = oneshot::channel();
        let request = Request::Commit {
            ops,
            touched,
            reply,
        };
        let sent = self.writer.send(request);
        drop(submit.release);
        let outcome = match sent {
            Err(_) => Err(stopped()),
            Ok(()) => outcome.await.unwrap_or_else(|_| Err(stopped())),
        };
        if !published.is_empty() {
            // Committed (readers now find it in the database) or failed (a writer that
            // built on it fails its version check): either way it is no longer in flight,
            // unless a later writer has published over it.
            let mut submitted = match self.submitted.lock() {
                Ok(submitted) => submitted,
                Err(poisoned) => poisoned.into_inner(),
            };
            for (key, version) in published {
                if submitted
                    .get(&key)
                    .is_some_and(|document| document.version == version)
                {
                    submitted.remove(&key);
                }
            }
        }
        outcome
    }
}

fn stopped() -> StoreError {
    StoreError::Unavailable("the SQLite writer has stopped".to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::query::{Column, Condition, Op, Operand, SortKey, Target};

    /// A list's page statement is prepared once however often it runs, whatever its
    /// limit and offset (a bound LIMIT read by the planner made SQLite prepare it anew at
    /// every execution).
    #[test]
    fn a_list_page_is_prepared_once_whatever_its_limit_and_offset() {
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        for statement in MIGRATIONS.iter().chain(LINK_MIGRATIONS) {
            connection.execute_batch(statement).unwrap();
        }
        for seq in 0..50 {
            connection
                .execute(
                    "INSERT INTO documents (kind, id, version, p_state, doc)
                     VALUES ('offering', ?1, 1, 'Launched', '{}')",
                    [format!("o{seq}")],
                )
                .unwrap();
        }
        let launched = Condition {
            target: Target::Column(Column::State),
            op: Op::Eq,
            values: vec![Operand {
                raw: "Launched".to_string(),
                number: None,
                instant: None,
                boolean: None,
            }],
        };
        for sort in [
            vec![],
            vec![SortKey {
                target: Target::Column(Column::Name),
                descending: true,
            }],
        ] {
            let query = |limit, offset| ListQuery {
                kind: "offering".to_string(),
                conditions: vec![launched.clone()],
                sort: sort.clone(),
                offset,
                limit,
            };
            let (_, first) = page_sql(&query(20, 0));
            let mut statement = connection.prepare(&first.sql).unwrap();
            for (limit, offset) in [(20, 0), (20, 20), (5, 45), (20, 0)] {
                let (_, page) = page_sql(&query(limit, offset));
                assert_eq!(page.sql, first.sql, "one statement for every page");
                for (index, bind) in page.binds.iter().enumerate() {
                    let at = statement
                        .parameter_index(&format!("${}", index + 1))
                        .unwrap()
                        .unwrap();
                    match bind {
                        Bind::Text(text) => statement.raw_bind_parameter(at, text),
                        Bind::Real(real) => statement.raw_bind_parameter(at, real),
                        Bind::Int(int) => statement.raw_bind_parameter(at, int),
                    }
                    .unwrap();
                }
                let mut rows = statement.raw_query();
                let count: i64 = rows.next().unwrap().unwrap().get(1).unwrap();
                assert_eq!(count, (50 - offset as i64).min(limit as i64));
            }
            assert_eq!(
                statement.get_status(rusqlite::StatementStatus::RePrepare),
                0
            );
        }
    }
}

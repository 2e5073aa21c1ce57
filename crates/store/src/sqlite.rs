//! The embedded SQLite backend: WAL journal, one writer connection (SQLite allows one
//! writer at a time, so queueing in the pool is cheaper than retrying on SQLITE_BUSY)
//! and a pool of readers that never block the writer.

pub(crate) mod transfer;

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
use crate::{DeadJob, Document, Job, Page, Promoted, StoreConfig, StoreError, StoreResult};

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
    "CREATE INDEX IF NOT EXISTS documents_kind_name ON documents (kind, p_name)",
    "CREATE INDEX IF NOT EXISTS documents_kind_type ON documents (kind, p_type)",
    "CREATE INDEX IF NOT EXISTS documents_kind_updated ON documents (kind, p_updated)",
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
    // Stays empty: a batch inserts NULL here to abort when a versioned write missed.
    "CREATE TABLE IF NOT EXISTS write_guard (conflict INTEGER NOT NULL)",
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
    "CREATE TRIGGER IF NOT EXISTS documents_links_update AFTER UPDATE OF p_links ON documents
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

// SQLite keeps the document as JSON text, read as it is (PostgreSQL's JSONB is read
// through `doc::text`).
const DOCUMENT: &str = "SELECT id, version, doc FROM documents WHERE kind = $1 AND id = $2";
const DOCUMENTS_OF_KIND: &str =
    "SELECT id, version, doc FROM documents WHERE kind = $1 ORDER BY seq";

/// The embedded backend.
#[derive(Clone)]
pub(crate) struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    caches: Arc<Caches>,
    committer: mpsc::UnboundedSender<CommitRequest>,
    /// Published documents of transactions submitted to the committer and not yet
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
        let writer = map(SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await)?;
        for statement in MIGRATIONS {
            map(sqlx::query(*statement).execute(&writer).await)?;
        }
        // Databases made before the link index lack its column.
        let has_links: i64 = map(sqlx::query_scalar(
            "SELECT count(*) FROM pragma_table_info('documents') WHERE name = 'p_links'",
        )
        .fetch_one(&writer)
        .await)?;
        if has_links == 0 {
            map(sqlx::query("ALTER TABLE documents ADD COLUMN p_links TEXT")
                .execute(&writer)
                .await)?;
        }
        for statement in LINK_MIGRATIONS {
            map(sqlx::query(*statement).execute(&writer).await)?;
        }
        let reader = map(SqlitePoolOptions::new()
            .max_connections(config.readers.max(1))
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(true))
            .await)?;
        let caches = Arc::new(Caches::new(config.cache_entries));
        let (committer_tx, committer_rx) = mpsc::unbounded_channel();
        tokio::spawn(committer(writer.clone(), caches.clone(), committer_rx));
        Ok(SqliteStore {
            submitted: Arc::default(),
            writer,
            reader,
            caches,
            committer: committer_tx,
        })
    }

    /// True when the database answers a trivial query.
    pub(crate) async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.reader).await.is_ok()
    }

    pub(crate) async fn get(&self, kind: &str, id: &str) -> StoreResult<Option<Document>> {
        let ticket = match self.caches.document(kind, id) {
            Ok(cached) => return Ok(Some(cached)),
            Err(ticket) => ticket,
        };
        let row = map(sqlx::query(DOCUMENT)
            .bind(kind)
            .bind(id)
            .fetch_optional(&self.reader)
            .await)?;
        let found = row.as_ref().map(shared::document).transpose()?;
        if let Some(found) = &found {
            self.caches.fill_document(ticket, found);
        }
        Ok(found)
    }

    /// One page of matches and the count of all matches, read in one snapshot.
    pub(crate) async fn list(&self, query: &ListQuery) -> StoreResult<Page> {
        let mut filter = Builder::default();
        where_clause(&mut filter, query);
        // The page is aggregated inside SQLite into one value, in the page's order.
        let mut page = filter.clone();
        page.sql = format!(
            "SELECT coalesce(group_concat(d.doc, ','{{ORDER}}), ''), count(*) FROM \
             (SELECT d.seq, d.p_name, d.p_state, d.p_type, d.p_updated, d.id, d.doc \
              FROM documents d WHERE {}",
            filter.sql
        );
        order_clause(&mut page, &query.sort);
        page.push(" LIMIT ");
        page.bind(Bind::Int(query.limit.min(i64::MAX as u64) as i64));
        page.push(" OFFSET ");
        page.bind(Bind::Int(query.offset.min(i64::MAX as u64) as i64));
        page.push(") AS d");
        // The aggregate's ORDER BY repeats the page order; its binds number on.
        let mut order = page.clone();
        order.sql.clear();
        order_clause(&mut order, &query.sort);
        page.binds = order.binds;
        page.sql = page.sql.replacen("{ORDER}", &order.sql, 1);
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
             ORDER BY l.seq LIMIT $3",
        )
        .bind(shared::list_json(targets))
        .bind(shared::list_json(kinds))
        .bind(limit)
        .fetch_all(&self.reader)
        .await)?;
        rows.iter().map(shared::referrer).collect()
    }

    /// Claims up to `limit` due jobs under a lease of `lease_ms`; a job whose lease ran
    /// out (its worker died) is due again.
    pub(crate) async fn claim(&self, limit: i64, lease_ms: i64) -> StoreResult<Vec<Job>> {
        // Claims run on the one writer connection, one at a time, so no row locks are
        // needed (PostgreSQL's claim locks with SKIP LOCKED instead).
        let claim = shared::claim_jobs(
            "UPDATE jobs SET lease_until = $1, attempts = attempts + 1
                 WHERE id IN (
                    SELECT id FROM jobs
                    WHERE status = 'ready' AND run_at <= $2
                      AND (lease_until IS NULL OR lease_until <= $2)
                    ORDER BY run_at, id LIMIT $3)
                 RETURNING id, queue, payload, attempts",
            limit,
            lease_ms,
        );
        let rows = map(claim.fetch_all(&self.writer).await)?;
        rows.iter().map(shared::job).collect()
    }

    /// Extends the lease of a job still held by the claim `attempts`.
    pub(crate) async fn renew(
        &self,
        job_id: i64,
        attempts: i64,
        lease_ms: i64,
    ) -> StoreResult<bool> {
        let renew = shared::renew_job(job_id, attempts, lease_ms);
        let renewed = map(renew.execute(&self.writer).await)?;
        Ok(renewed.rows_affected() == 1)
    }

    /// The job is done: it leaves the queue.
    /// Goes through the group committer: under load, the completions of many jobs
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
        let fail = shared::fail_job(job_id, attempts, error, retry_at);
        map(fail.execute(&self.writer).await)?;
        Ok(())
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

/// Raised inside a batch when an update or delete matched no row at the expected version.
const CONFLICT_GUARD: &str = "INSERT INTO write_guard (conflict) SELECT NULL WHERE changes() = 0;";

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

    /// Commits a transaction's writes through the group committer. Its published
    /// documents are visible to `submitted` from the moment the request is queued (the
    /// committer applies requests in order) until it is settled; the locks handed in are
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
        let request = CommitRequest {
            ops,
            touched,
            reply,
        };
        let sent = self.committer.send(request);
        drop(submit.release);
        let outcome = match sent {
            Err(_) => Err(StoreError::Unavailable(
                "the committer has stopped".to_string(),
            )),
            Ok(()) => outcome.await.unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "the committer has stopped".to_string(),
                ))
            }),
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

/// One transaction waiting for the committer.
struct CommitRequest {
    ops: Vec<Op>,
    touched: Vec<(String, String)>,
    reply: oneshot::Sender<StoreResult<()>>,
}

/// Transactions committed together at most; and the bind parameters one group may use
/// (SQLite allows 32766).
const GROUP_MAX: usize = 256;
const GROUP_MAX_BINDS: usize = 16_000;

/// The group committer: takes every transaction waiting when it gets to work and
/// commits them in one SQLite transaction, so that concurrent writes share the page
/// writes and the round trip. If the group fails, each member is retried alone and
/// gets its own outcome: a conflict in one transaction never fails another.
async fn committer(
    writer: SqlitePool,
    caches: Arc<Caches>,
    mut requests: mpsc::UnboundedReceiver<CommitRequest>,
) {
    while let Some(first) = requests.recv().await {
        // Let the tasks that are ready to commit too get their request in first: one
        // commit of many writes costs far less than many commits (each rewrites its
        // pages in the WAL), and a yield costs microseconds.
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        let mut group = vec![first];
        let mut binds = 0;
        while group.len() < GROUP_MAX && binds < GROUP_MAX_BINDS {
            match requests.try_recv() {
                Ok(request) => {
                    binds += request.ops.len() * 12;
                    group.push(request);
                }
                Err(_) => break,
            }
        }
        for request in &group {
            caches.invalidate(&request.touched);
        }
        let together = execute(&writer, group.iter().flat_map(|request| &request.ops)).await;
        let outcomes: Vec<StoreResult<()>> = match together {
            Ok(()) => group.iter().map(|_| Ok(())).collect(),
            Err(error) if group.len() == 1 => vec![Err(error)],
            Err(_) => {
                let mut outcomes = Vec::with_capacity(group.len());
                for request in &group {
                    outcomes.push(execute(&writer, request.ops.iter()).await);
                }
                outcomes
            }
        };
        for (request, outcome) in group.into_iter().zip(outcomes) {
            caches.invalidate(&request.touched);
            if outcome.is_ok() {
                // Write-through: what was just committed is what the next read wants
                // (a step reads back the order it moved, the resource it made).
                for op in &request.ops {
                    let (kind, id, version, json) = match op {
                        Op::Insert { kind, id, json, .. } => (kind, id, 1, json),
                        Op::Update {
                            kind,
                            id,
                            expected_version,
                            json,
                            ..
                        } => (kind, id, expected_version + 1, json),
                        _ => continue,
                    };
                    caches.store(
                        kind,
                        &Document {
                            id: id.clone(),
                            version,
                            json: json.clone(),
                        },
                    );
                }
            }
            let _ = request.reply.send(outcome);
        }
    }
}

/// Runs operations as one transaction in one multi-statement round trip.
async fn execute<'a>(writer: &SqlitePool, ops: impl Iterator<Item = &'a Op>) -> StoreResult<()> {
    let mut batch = Builder::default();
    batch.push("BEGIN IMMEDIATE;");
    let now = crate::now_millis();
    for op in ops {
        op.write(&mut batch, now);
    }
    batch.push("COMMIT;");
    let mut connection = map(writer.acquire().await)?;
    // Group shapes vary, so the statement is not kept in the prepared-statement cache.
    let result = apply(sqlx::query(sqlx::AssertSqlSafe(batch.sql)), &batch.binds)
        .persistent(false)
        .execute(&mut *connection)
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(error) => {
            // The batch stopped at the failing statement with the transaction open.
            if sqlx::query("ROLLBACK")
                .execute(&mut *connection)
                .await
                .is_err()
            {
                // A connection in an unknown transaction state must not be reused.
                connection.close_on_drop();
            }
            let conflict =
                matches!(&error, sqlx::Error::Database(db) if db.message().contains("write_guard"));
            if conflict {
                Err(StoreError::VersionConflict)
            } else {
                Err(StoreError::classify(error))
            }
        }
    }
}

impl Op {
    /// Appends this operation's statements, with their values as bind parameters.
    fn write(&self, batch: &mut Builder, now: i64) {
        match self {
            Op::Insert {
                kind,
                id,
                json,
                promoted,
            } => {
                batch.push(
                    "INSERT INTO documents (kind, id, version, p_name, p_state, p_type, p_updated, p_links, doc) VALUES (",
                );
                batch.bind(Bind::Text(kind.clone()));
                batch.push(", ");
                batch.bind(Bind::Text(id.clone()));
                batch.push(", 1, ");
                promoted_values(batch, promoted);
                batch.push(", ");
                batch.bind(Bind::Text(json.clone()));
                batch.push(");");
            }
            Op::Update {
                kind,
                id,
                expected_version,
                json,
                promoted,
            } => {
                batch.push("UPDATE documents SET version = version + 1, (p_name, p_state, p_type, p_updated, p_links) = (");
                promoted_values(batch, promoted);
                batch.push("), doc = ");
                batch.bind(Bind::Text(json.clone()));
                at_version(batch, kind, id, *expected_version);
            }
            Op::Delete {
                kind,
                id,
                expected_version,
            } => {
                batch.push("DELETE FROM documents");
                at_version(batch, kind, id, *expected_version);
            }
            Op::Enqueue {
                queue,
                payload,
                dedup_key,
                run_at,
            } => {
                batch.push(
                    "INSERT INTO jobs (queue, dedup_key, payload, run_at, created_at) VALUES (",
                );
                batch.bind(Bind::Text(queue.clone()));
                batch.push(", ");
                match dedup_key {
                    Some(key) => batch.bind(Bind::Text(key.clone())),
                    None => batch.push("NULL"),
                }
                batch.push(", ");
                batch.bind(Bind::Text(payload.clone()));
                batch.push(", ");
                batch.bind(Bind::Int(*run_at));
                batch.push(", ");
                batch.bind(Bind::Int(now));
                batch.push(") ON CONFLICT DO NOTHING;");
            }
            Op::CompleteJob { id, attempts } => {
                batch.push("DELETE FROM jobs WHERE id = ");
                batch.bind(Bind::Int(*id));
                batch.push(" AND attempts = ");
                batch.bind(Bind::Int(*attempts));
                batch.push(";");
            }
            Op::CancelJobs { queue, key_prefix } => {
                batch.push("DELETE FROM jobs WHERE queue = ");
                batch.bind(Bind::Text(queue.clone()));
                batch.push(" AND status = 'ready' AND substr(dedup_key, 1, length(");
                batch.bind(Bind::Text(key_prefix.clone()));
                batch.push(")) = ");
                batch.bind(Bind::Text(key_prefix.clone()));
                batch.push(";");
            }
        }
    }
}

/// ` WHERE` the document is still at `version`, then the guard that aborts the batch
/// when it was not.
fn at_version(batch: &mut Builder, kind: &str, id: &str, version: i64) {
    batch.push(" WHERE kind = ");
    batch.bind(Bind::Text(kind.to_string()));
    batch.push(" AND id = ");
    batch.bind(Bind::Text(id.to_string()));
    batch.push(" AND version = ");
    batch.bind(Bind::Int(version));
    batch.push(";");
    batch.push(CONFLICT_GUARD);
}

fn promoted_values(batch: &mut Builder, promoted: &Promoted) {
    let links = promoted.links_json();
    let values = [
        &promoted.name,
        &promoted.state,
        &promoted.type_name,
        &promoted.updated,
        &links,
    ];
    for (index, value) in values.into_iter().enumerate() {
        if index > 0 {
            batch.push(", ");
        }
        match value {
            Some(text) => batch.bind(Bind::Text(text.clone())),
            None => batch.push("NULL"),
        }
    }
}

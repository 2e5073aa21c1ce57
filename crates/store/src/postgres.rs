//! The PostgreSQL backend: stateless server processes sharing one database. Documents
//! are JSONB; writes are one transaction each, checked by version; jobs are claimed with
//! `FOR UPDATE SKIP LOCKED` under a lease. Only SQL that CockroachDB and YugabyteDB also
//! run: no extensions, no PL/pgSQL, no advisory locks. No in-process caches: another
//! process may write at any time. Here: opening (the `schema=` parameter, migrations) and
//! the reads; the write transaction is `commit`, the job queue and its wake-ups `jobs`.

mod commit;
mod jobs;
pub(crate) mod transfer;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool, Postgres, Row, Transaction};

use crate::pg_sql::{order_clause, where_clause};
use crate::query::ListQuery;
use crate::shared::{self, apply, map};
use crate::sql::{Bind, Builder};
use crate::{Document, Page, StoreConfig, StoreError, StoreResult};

/// Fills `links` from the documents' `p_links` when it is empty (an older database, or
/// an import, which writes documents only).
pub(crate) const LINKS_FROM_DOCUMENTS: &str = "INSERT INTO links (target, kind, id)
     SELECT jsonb_array_elements_text(p_links), kind, id FROM documents
     WHERE p_links IS NOT NULL AND NOT EXISTS (SELECT 1 FROM links)
     ON CONFLICT DO NOTHING";

const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS documents (
        seq BIGSERIAL PRIMARY KEY,
        kind TEXT COLLATE \"C\" NOT NULL,
        id TEXT COLLATE \"C\" NOT NULL,
        version BIGINT NOT NULL,
        p_name TEXT COLLATE \"C\",
        p_state TEXT COLLATE \"C\",
        p_type TEXT COLLATE \"C\",
        p_updated TEXT COLLATE \"C\",
        doc JSONB NOT NULL
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS documents_kind_id ON documents (kind, id)",
    "CREATE INDEX IF NOT EXISTS documents_kind_seq ON documents (kind, seq)",
    "CREATE INDEX IF NOT EXISTS documents_kind_state ON documents (kind, p_state, seq)",
    "CREATE INDEX IF NOT EXISTS documents_kind_name ON documents (kind, p_name)",
    "CREATE INDEX IF NOT EXISTS documents_kind_type ON documents (kind, p_type)",
    "CREATE INDEX IF NOT EXISTS documents_kind_updated ON documents (kind, p_updated)",
    // The link index: who refers to a document (impact walks, reference checks).
    "ALTER TABLE documents ADD COLUMN IF NOT EXISTS p_links JSONB",
    // The link index proper: one row per key, written with the document in the same
    // transaction (no triggers: no PL/pgSQL here). A B-tree on the key has estimates a
    // planner trusts; a GIN index on `p_links` was passed over for scans (26-45 ms per
    // lookup on 13 k documents instead of under 1 ms).
    "DROP INDEX IF EXISTS documents_links",
    "DROP INDEX IF EXISTS documents_link_keys",
    "CREATE TABLE IF NOT EXISTS links (
        target TEXT COLLATE \"C\" NOT NULL,
        kind TEXT COLLATE \"C\" NOT NULL,
        id TEXT COLLATE \"C\" NOT NULL
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS links_key ON links (target, kind, id)",
    "CREATE INDEX IF NOT EXISTS links_document ON links (kind, id)",
    // Databases written before the table existed: filled once from `p_links`.
    LINKS_FROM_DOCUMENTS,
    "CREATE TABLE IF NOT EXISTS jobs (
        id BIGSERIAL PRIMARY KEY,
        queue TEXT NOT NULL,
        dedup_key TEXT UNIQUE,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'ready',
        attempts BIGINT NOT NULL DEFAULT 0,
        run_at BIGINT NOT NULL,
        lease_until BIGINT,
        last_error TEXT,
        created_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS jobs_due ON jobs (status, run_at)",
    "CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (run_at, id) WHERE status = 'ready'",
    // Waiting jobs by dedup key in byte order: a key prefix is a range of it (see
    // `Op::CancelJobs`), whatever the database's collation.
    "CREATE INDEX IF NOT EXISTS jobs_ready_key ON jobs ((dedup_key COLLATE \"C\"))
        WHERE status = 'ready'",
];

/// Times a transaction is retried after a serialization failure or a deadlock.
const RETRIES: usize = 5;

#[derive(Clone)]
pub(crate) struct PgStore {
    pool: PgPool,
    /// When this process last sent a NOTIFY (ms since the epoch): NOTIFY serialises
    /// commits, so it is sent at most every 50 ms (see `commit`); the wake-up it gives
    /// other processes is only a hint anyway.
    last_notify: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

// `doc::text`: JSONB does not decode as text, and `Document` hands the text on
// unparsed (SQLite's document is text already).
const DOCUMENT: &str =
    "SELECT id, version, doc::text AS doc FROM documents WHERE kind = $1 AND id = $2";
const DOCUMENTS_OF_KIND: &str =
    "SELECT id, version, doc::text AS doc FROM documents WHERE kind = $1 ORDER BY seq";

/// Splits our own `schema=NAME` parameter off a PostgreSQL URL: each test (or tenant)
/// can live in a schema of its own.
fn schema_of(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut schema = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("schema=") {
            Some(name) => {
                schema = Some(name.to_string());
                false
            }
            None => true,
        })
        .collect();
    let url = if rest.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    (url, schema)
}

/// Longest wait for the first connection at start-up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl PgStore {
    pub(crate) async fn open(config: &StoreConfig) -> StoreResult<PgStore> {
        let (url, schema) = schema_of(&config.url);
        let mut options = PgConnectOptions::from_str(&url).map_err(|error| {
            StoreError::Settings(format!(
                "is not a PostgreSQL URL this server reads: {error}"
            ))
        })?;
        if let Some(schema) = &schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(StoreError::Settings(format!(
                    "schema name '{schema}' may hold only letters, digits and '_'"
                )));
            }
        }
        // One connection first, within a bounded time, so that a server that is down,
        // unknown or refusing these credentials is reported as such at start-up (the
        // pool would retry until its timeout and report only that it timed out).
        let mut first = match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(error)) => {
                return Err(StoreError::Settings(format!(
                    "cannot connect to PostgreSQL: {error}; check the host, port, \
                     credentials and database name, and that the server is running"
                )))
            }
            Err(_) => {
                return Err(StoreError::Settings(format!(
                    "PostgreSQL did not answer within {} s; check the host and port, \
                     and that the server is running",
                    CONNECT_TIMEOUT.as_secs()
                )))
            }
        };
        if let Some(schema) = &schema {
            let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
            // Another process may create it at the same moment; it exists either way.
            let _ = sqlx::query(sqlx::AssertSqlSafe(create))
                .execute(&mut first)
                .await;
            options = options.options([("search_path", schema.as_str())]);
        }
        let _ = first.close().await;
        // No statement may hold a connection for long: a pathological filter ends with a
        // 503 (57014 is classified as unavailable) instead of occupying the pool.
        options = options.options([("statement_timeout", "10s")]);
        let pool = map(PgPoolOptions::new()
            .max_connections(config.pg_connections.max(2))
            .min_connections(1)
            // While the database is down, requests fail within this with a 503
            // rather than wait for it.
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(options)
            .await)?;
        let store = PgStore {
            pool,
            last_notify: std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0)),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations; several processes starting together may race on
    /// `CREATE … IF NOT EXISTS`, so a failed round is retried.
    async fn migrate(&self) -> StoreResult<()> {
        let mut last = None;
        for attempt in 0..RETRIES {
            let mut failed = None;
            for statement in MIGRATIONS {
                if let Err(error) = sqlx::query(*statement).execute(&self.pool).await {
                    failed = Some(error);
                    break;
                }
            }
            match failed {
                None => return Ok(()),
                Some(error) => last = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(50 * (attempt as u64 + 1))).await;
        }
        Err(last
            .map(StoreError::classify)
            .unwrap_or_else(|| StoreError::Unavailable("migrations failed".to_string())))
    }

    pub(crate) async fn ping(&self) -> bool {
        sqlx::query(shared::READY).execute(&self.pool).await.is_ok()
    }

    pub(crate) async fn get(&self, kind: &str, id: &str) -> StoreResult<Option<Document>> {
        if id.contains('\0') {
            // No id holds NUL (PostgreSQL text cannot).
            return Ok(None);
        }
        let row = map(sqlx::query(DOCUMENT)
            .bind(kind)
            .bind(id)
            .fetch_optional(&self.pool)
            .await)?;
        row.as_ref().map(shared::document).transpose()
    }

    /// The count and the page, in one snapshot (REPEATABLE READ, read only).
    pub(crate) async fn list(&self, query: &ListQuery) -> StoreResult<Page> {
        let mut filter = Builder::default();
        where_clause(&mut filter, query);
        let mut page = filter.clone();
        page.sql = format!(
            "SELECT d.doc::text AS doc FROM documents d WHERE {}",
            filter.sql
        );
        order_clause(&mut page, &query.sort);
        page.push(" LIMIT ");
        page.bind(Bind::Int(query.limit.min(i64::MAX as u64) as i64));
        page.push(" OFFSET ");
        page.bind(Bind::Int(query.offset.min(i64::MAX as u64) as i64));
        let count_sql = shared::count_sql(&filter.sql);
        let mut tx = self.begin_snapshot().await?;
        let total: i64 = map(map(apply(
            sqlx::query(sqlx::AssertSqlSafe(count_sql)),
            &filter.binds,
        )
        .fetch_one(&mut *tx)
        .await)?
        .try_get(0))?;
        let rows = map(
            apply(sqlx::query(sqlx::AssertSqlSafe(page.sql)), &page.binds)
                .fetch_all(&mut *tx)
                .await,
        )?;
        let _ = tx.commit().await;
        let mut items = String::new();
        for (index, row) in rows.iter().enumerate() {
            if index > 0 {
                items.push(',');
            }
            let doc: String = map(row.try_get(0))?;
            items.push_str(&doc);
        }
        Ok(Page {
            total: total.max(0) as u64,
            count: rows.len() as u64,
            items,
        })
    }

    pub(crate) async fn referrers(
        &self,
        targets: &[String],
        kinds: &[String],
        limit: i64,
    ) -> StoreResult<Vec<crate::Referrer>> {
        // No ORDER BY: it tempts the planner to walk documents in `seq` order and filter;
        // the few rows are put in creation order here.
        let rows = map(sqlx::query(
            "SELECT l.target, d.seq, d.kind, d.id, d.version, d.doc::text AS doc
             FROM links l JOIN documents d ON d.kind = l.kind AND d.id = l.id
             WHERE l.target = ANY($1) AND l.kind = ANY($2)
             LIMIT $3",
        )
        .bind(targets)
        .bind(kinds)
        .bind(limit)
        .fetch_all(&self.pool)
        .await)?;
        let mut found: Vec<(i64, crate::Referrer)> = Vec::with_capacity(rows.len());
        for row in &rows {
            found.push((map(row.try_get("seq"))?, shared::referrer(row)?));
        }
        found.sort_by_key(|(seq, _)| *seq);
        Ok(found.into_iter().map(|(_, referrer)| referrer).collect())
    }

    pub(crate) async fn all(&self, kind: &str) -> StoreResult<Vec<Document>> {
        let rows = map(sqlx::query(DOCUMENTS_OF_KIND)
            .bind(kind)
            .fetch_all(&self.pool)
            .await)?;
        rows.iter().map(shared::document).collect()
    }

    /// A transaction that sees one committed state throughout and cannot write: the
    /// count and the page of a list, or a whole export, agree with each other.
    pub(crate) async fn begin_snapshot(&self) -> StoreResult<Transaction<'static, Postgres>> {
        let mut tx = map(self.pool.begin().await)?;
        map(
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await,
        )?;
        Ok(tx)
    }

    /// Not cached: another process may have changed the kind.
    pub(crate) async fn all_small(&self, kind: &str) -> StoreResult<Vec<Document>> {
        self.all(kind).await
    }
}

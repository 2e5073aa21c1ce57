//! The PostgreSQL write transaction: a commit's buffered writes in one transaction,
//! checked by version, kept in step with the link index, retried on serialization
//! failures and deadlocks; a commit that queues work sends `NOTIFY switchboard_jobs`.

use std::time::Duration;

use sqlx::{Postgres, Transaction};

use super::{PgStore, RETRIES};
use crate::tx::Op;
use crate::{StoreError, StoreResult};

/// NOTIFY serialises commits: one process sends it at most this often.
const NOTIFY_EVERY_MS: i64 = 50;

impl PgStore {
    /// One transaction for the writes, retried on serialization failures.
    /// Locks handed in (`submit.release`) are held until the transaction has committed:
    /// nothing is published before it is.
    pub(crate) async fn commit(
        &self,
        ops: Vec<Op>,
        _touched: Vec<(String, String)>,
        _submit: crate::tx::Submit,
    ) -> StoreResult<()> {
        let mut attempt = 0;
        loop {
            match self.commit_once(&ops).await {
                Err(Retry::Again(error)) if attempt + 1 < RETRIES => {
                    attempt += 1;
                    tracing::debug!(%error, attempt, "retrying a transaction");
                    tokio::time::sleep(Duration::from_millis(5 * attempt as u64)).await;
                }
                Err(Retry::Again(error)) => return Err(StoreError::classify(error)),
                Err(Retry::Final(error)) => return Err(error),
                Ok(()) => return Ok(()),
            }
        }
    }

    async fn commit_once(&self, ops: &[Op]) -> Result<(), Retry> {
        let mut tx = self.pool.begin().await.map_err(Retry::from)?;
        let now = crate::now_millis();
        let mut queued = false;
        for op in ops {
            let changed = match op {
                Op::Insert {
                    kind,
                    id,
                    json,
                    promoted,
                } => sqlx::query(
                    "INSERT INTO documents (kind, id, version, p_name, p_state, p_type, p_updated, doc, p_links)
                     VALUES ($1, $2, 1, $3, $4, $5, $6, $7::jsonb, $8::jsonb)",
                )
                .bind(kind)
                .bind(id)
                .bind(promoted.name.as_deref())
                .bind(promoted.state.as_deref())
                .bind(promoted.type_name.as_deref())
                .bind(promoted.updated.as_deref())
                .bind(json)
                .bind(promoted.links_json())
                .execute(&mut *tx)
                .await
                .map(|done| done.rows_affected() == 1),
                Op::Update {
                    kind,
                    id,
                    expected_version,
                    json,
                    promoted,
                } => sqlx::query(
                    "UPDATE documents SET version = version + 1, p_name = $1, p_state = $2,
                        p_type = $3, p_updated = $4, doc = $5::jsonb, p_links = $9::jsonb
                     WHERE kind = $6 AND id = $7 AND version = $8",
                )
                .bind(promoted.name.as_deref())
                .bind(promoted.state.as_deref())
                .bind(promoted.type_name.as_deref())
                .bind(promoted.updated.as_deref())
                .bind(json)
                .bind(kind)
                .bind(id)
                .bind(expected_version)
                .bind(promoted.links_json())
                .execute(&mut *tx)
                .await
                .map(|done| done.rows_affected() == 1),
                Op::Delete {
                    kind,
                    id,
                    expected_version,
                } => sqlx::query(
                    "DELETE FROM documents WHERE kind = $1 AND id = $2 AND version = $3",
                )
                .bind(kind)
                .bind(id)
                .bind(expected_version)
                .execute(&mut *tx)
                .await
                .map(|done| done.rows_affected() == 1),
                Op::Enqueue {
                    queue,
                    payload,
                    dedup_key,
                    run_at,
                } => {
                    queued = true;
                    sqlx::query(
                        "INSERT INTO jobs (queue, dedup_key, payload, run_at, created_at)
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    )
                    .bind(queue)
                    .bind(dedup_key.as_deref())
                    .bind(payload)
                    .bind(run_at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map(|_| true)
                }
                Op::CompleteJob { id, attempts } => {
                    sqlx::query("DELETE FROM jobs WHERE id = $1 AND attempts = $2")
                        .bind(id)
                        .bind(attempts)
                        .execute(&mut *tx)
                        .await
                        .map(|_| true)
                }
                // A range of the key (`jobs_ready_key`): jobs are dropped as orders end,
                // while thousands of others may wait (deliveries to a subscriber that is
                // down), which a scan would read each time.
                Op::CancelJobs { queue, key_prefix } => sqlx::query(
                    "DELETE FROM jobs WHERE (dedup_key COLLATE \"C\") >= $2
                        AND (dedup_key COLLATE \"C\") < $3
                        AND queue = $1 AND status = 'ready'
                        AND substr(dedup_key, 1, length($2)) = $2",
                )
                .bind(queue)
                .bind(key_prefix)
                .bind(format!("{key_prefix}{}", char::MAX))
                .execute(&mut *tx)
                .await
                .map(|_| true),
            };
            match changed {
                Ok(true) => {}
                Ok(false) => return Err(Retry::Final(StoreError::VersionConflict)),
                Err(error) => return Err(Retry::from(error)),
            }
            write_links(&mut tx, op).await.map_err(Retry::from)?;
        }
        if queued && self.notify_due() {
            // A hint for the workers of other processes; polling remains the guarantee.
            let _ = sqlx::query("NOTIFY switchboard_jobs")
                .execute(&mut *tx)
                .await;
        }
        tx.commit().await.map_err(Retry::from)
    }

    /// True (and noted) when no NOTIFY went out in the last `NOTIFY_EVERY_MS`.
    fn notify_due(&self) -> bool {
        use std::sync::atomic::Ordering;
        let now = crate::now_millis();
        let last = self.last_notify.load(Ordering::Relaxed);
        now - last >= NOTIFY_EVERY_MS
            && self
                .last_notify
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// True for errors worth retrying the whole transaction for.
fn retryable(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db)
        if matches!(db.code().as_deref(), Some("40001") | Some("40P01")))
}

/// How a transaction attempt failed.
enum Retry {
    /// A serialization failure or deadlock: run the whole transaction again.
    Again(sqlx::Error),
    /// Anything else, already classified.
    Final(StoreError),
}

impl From<sqlx::Error> for Retry {
    fn from(error: sqlx::Error) -> Self {
        if retryable(&error) {
            Retry::Again(error)
        } else {
            Retry::Final(StoreError::classify(error))
        }
    }
}

/// Keeps `links` in step with a document write, in its transaction: one statement per
/// write, and an update that keeps its links leaves their rows alone.
async fn write_links(tx: &mut Transaction<'static, Postgres>, op: &Op) -> Result<(), sqlx::Error> {
    let write = match op {
        Op::Insert {
            kind, id, promoted, ..
        } if !promoted.links.is_empty() => sqlx::query(
            "INSERT INTO links (target, kind, id) SELECT unnest($1::text[]), $2, $3
             ON CONFLICT DO NOTHING",
        )
        .bind(&promoted.links)
        .bind(kind)
        .bind(id),
        // Rows for links the document no longer has go; new ones come; the rest stay.
        Op::Update {
            kind, id, promoted, ..
        } => sqlx::query(
            "WITH gone AS (
                DELETE FROM links WHERE kind = $2 AND id = $3 AND target <> ALL($1::text[]))
             INSERT INTO links (target, kind, id) SELECT unnest($1::text[]), $2, $3
             ON CONFLICT DO NOTHING",
        )
        .bind(&promoted.links)
        .bind(kind)
        .bind(id),
        Op::Delete { kind, id, .. } => sqlx::query("DELETE FROM links WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id),
        Op::Insert { .. } | Op::Enqueue { .. } | Op::CancelJobs { .. } | Op::CompleteJob { .. } => {
            return Ok(())
        }
    };
    write.execute(&mut **tx).await?;
    Ok(())
}

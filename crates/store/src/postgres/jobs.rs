//! The PostgreSQL job queue: claims with `FOR UPDATE SKIP LOCKED` under a lease, lease
//! renewal, completion and failure, and the `LISTEN` task that wakes the local worker
//! when another process queued work.

use std::time::Duration;

use sqlx::Row;

use super::PgStore;
use crate::shared::{self, map};
use crate::{DeadJob, Job, StoreResult};

impl PgStore {
    /// Listens on the `switchboard_jobs` channel and wakes `wake` on every notification;
    /// reconnects after a lost connection. Polling stays the guarantee.
    pub(crate) fn forward_wakeups(&self, wake: std::sync::Arc<tokio::sync::Notify>) {
        let pool = self.pool.clone();
        tokio::spawn(async move {
            loop {
                if pool.is_closed() {
                    return;
                }
                let listening = async {
                    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                    listener.listen("switchboard_jobs").await?;
                    loop {
                        listener.recv().await?;
                        wake.notify_waiters();
                    }
                    #[allow(unreachable_code)]
                    Ok::<(), sqlx::Error>(())
                };
                if let Err(error) = listening.await {
                    tracing::debug!(%error, "job notifications interrupted; reconnecting");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    pub(crate) async fn claim(&self, limit: i64, lease_ms: i64) -> StoreResult<Vec<Job>> {
        // The rows are locked in the CTE and updated through the join: with
        // `WHERE id IN (subquery)` a waiting claimer re-checks only the id and claims
        // the job a second time under READ COMMITTED.
        let claim = shared::claim_jobs(
            "WITH due AS (
                SELECT id FROM jobs
                WHERE status = 'ready' AND run_at <= $2
                  AND (lease_until IS NULL OR lease_until <= $2)
                ORDER BY run_at, id LIMIT $3
                FOR UPDATE SKIP LOCKED)
             UPDATE jobs AS j SET lease_until = $1, attempts = j.attempts + 1
             FROM due WHERE j.id = due.id
             RETURNING j.id, j.queue, j.payload, j.attempts",
            limit,
            lease_ms,
        );
        let rows = map(claim.fetch_all(&self.pool).await)?;
        rows.iter().map(shared::job).collect()
    }

    pub(crate) async fn renew(
        &self,
        job_id: i64,
        attempts: i64,
        lease_ms: i64,
    ) -> StoreResult<bool> {
        let renew = shared::renew_job(job_id, attempts, lease_ms);
        let renewed = map(renew.execute(&self.pool).await)?;
        Ok(renewed.rows_affected() == 1)
    }

    pub(crate) async fn complete(&self, job_id: i64, attempts: i64) -> StoreResult<()> {
        let complete = shared::complete_job(job_id, attempts);
        map(complete.execute(&self.pool).await)?;
        Ok(())
    }

    pub(crate) async fn fail(
        &self,
        job_id: i64,
        attempts: i64,
        error: &str,
        retry_at: Option<i64>,
    ) -> StoreResult<()> {
        let fail = shared::fail_job(job_id, attempts, error, retry_at);
        map(fail.execute(&self.pool).await)?;
        Ok(())
    }

    pub(crate) async fn next_due(&self) -> StoreResult<Option<i64>> {
        // `greatest` is SQLite's two-argument `max`; the cast makes sure it decodes as i64.
        let row = map(sqlx::query(
            "SELECT min(greatest(run_at, coalesce(lease_until, 0)))::bigint FROM jobs
                 WHERE status = 'ready'",
        )
        .fetch_one(&self.pool)
        .await)?;
        map(row.try_get::<Option<i64>, _>(0))
    }

    pub(crate) async fn dead_jobs(&self) -> StoreResult<Vec<DeadJob>> {
        let rows = map(sqlx::query(shared::DEAD_JOBS).fetch_all(&self.pool).await)?;
        rows.iter().map(shared::dead_job).collect()
    }

    pub(crate) async fn pending_jobs(&self) -> StoreResult<i64> {
        let row = map(sqlx::query(shared::PENDING_JOBS)
            .fetch_one(&self.pool)
            .await)?;
        map(row.try_get(0))
    }
}

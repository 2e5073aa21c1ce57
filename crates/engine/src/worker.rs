//! The background job runner: claims due jobs under a lease, runs them (event delivery
//! is built in; other queues run the handler an API registered), and settles each as
//! done, retried with exponential backoff, or dead-lettered.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use switchboard_store::Job;
use tokio::task::JoinSet;

use crate::events::DELIVERY_QUEUE;
use crate::kernel::Engine;

pub use crate::kernel::{JobFuture, JobHandler};

/// Jobs claimed per round trip and run at once by one worker.
const BATCH: i64 = 32;
const MAX_IN_FLIGHT: usize = 256;

/// The worker's last reading of when the next job falls due.
#[derive(Default)]
struct KnownDue {
    read_at: Option<std::time::Instant>,
    due: Option<i64>,
}

impl Engine {
    /// Runs jobs until `shutdown` resolves. Spawn one per process with the worker role.
    pub async fn run_worker(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut running: JoinSet<()> = JoinSet::new();
        let mut known_due = KnownDue::default();
        loop {
            // Listen for wake-ups before looking at the queue: `notify_waiters` reaches
            // only futures that already exist, so a commit landing between the claim
            // and the select would otherwise wait out the whole poll interval.
            let wake = self.inner.wake.notified();
            tokio::pin!(wake);
            while running.try_join_next().is_some() {}
            let room = MAX_IN_FLIGHT.saturating_sub(running.len()) as i64;
            let asked = room.min(BATCH);
            let claimed = if asked > 0 {
                match self.store().claim(asked, self.config().lease_ms).await {
                    Ok(jobs) => jobs,
                    Err(error) => {
                        tracing::warn!(%error, "claiming jobs failed");
                        Vec::new()
                    }
                }
            } else {
                Vec::new()
            };
            // A full batch may have left due jobs behind: claim again at once. A short
            // one took every job due: the next are announced by a wake-up (a commit that
            // queues work, here or, on PostgreSQL, in another process) or fall due later.
            let full = asked > 0 && claimed.len() as i64 == asked;
            for job in claimed {
                let engine = self.clone();
                running.spawn(async move { engine.settle(job).await });
            }
            if full {
                continue;
            }
            let at_capacity = running.len() >= MAX_IN_FLIGHT;
            let sleep = if at_capacity {
                Duration::from_millis(self.config().poll_interval_ms.max(1))
            } else {
                self.idle_sleep(&mut known_due).await
            };
            tokio::select! {
                _ = &mut shutdown => break,
                _ = &mut wake => {}
                _ = tokio::time::sleep(sleep) => {}
                // Room again for the jobs left waiting.
                Some(_) = running.join_next(), if at_capacity => {}
            }
        }
        // Jobs still running keep their lease and are taken over after it expires if
        // they cannot finish; give them a moment to settle.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while running.join_next().await.is_some() {}
        })
        .await;
    }

    /// Until the next job falls due, bounded by the poll interval. The due time is read
    /// from the store when it may have moved unseen: the one known has come, the last
    /// read is a poll interval old, or the database is shared (another process may have
    /// queued one; its commits wake this worker). A job this process queued for later
    /// (or a retry) moves it by its own time, with no read; so does nothing else (a job
    /// done or dropped only leaves a wake-up with nothing to do). Otherwise the last read
    /// answers: a wake-up for work due now costs no read.
    async fn idle_sleep(&self, known: &mut KnownDue) -> Duration {
        // A zero interval would make the clamp below panic (min > max) and kill the
        // worker; a millisecond is as eager as polling needs to be.
        let poll = Duration::from_millis(self.config().poll_interval_ms.max(1));
        let now = switchboard_store::now_millis();
        let queued = self
            .inner
            .queued_due
            .swap(i64::MAX, std::sync::atomic::Ordering::AcqRel);
        if queued != i64::MAX {
            known.due = Some(known.due.map_or(queued, |due| due.min(queued)));
        }
        let stale = self.store().is_shared()
            || known.read_at.is_none_or(|at| at.elapsed() >= poll)
            || known.due.is_some_and(|due| due <= now);
        if stale {
            match self.store().next_due().await {
                Ok(due) => {
                    *known = KnownDue {
                        read_at: Some(std::time::Instant::now()),
                        due,
                    }
                }
                Err(_) => {
                    *known = KnownDue::default();
                    return poll;
                }
            }
        }
        match known.due {
            Some(due) => {
                let wait = due - switchboard_store::now_millis();
                Duration::from_millis(wait.clamp(1, poll.as_millis() as i64) as u64)
            }
            None => poll,
        }
    }

    async fn settle(&self, job: Job) {
        let started = std::time::Instant::now();
        let outcome = self.run_leased(&job).await;
        metrics::histogram!("switchboard_job_seconds", "queue" => job.queue.clone())
            .record(started.elapsed().as_secs_f64());
        let settled = match (&outcome, job.attempts < self.config().max_attempts) {
            (Ok(()), _) => "done",
            (Err(_), true) => "retry",
            (Err(_), false) => "dead",
        };
        metrics::counter!("switchboard_jobs_total", "queue" => job.queue.clone(), "outcome" => settled)
            .increment(1);
        let retry_at = (settled == "retry").then(|| {
            let config = self.config();
            let exponent = (job.attempts - 1).clamp(0, 30) as u32;
            let delay = config
                .backoff_base_ms
                .saturating_mul(1i64 << exponent)
                .min(config.backoff_max_ms);
            switchboard_store::now_millis() + delay
        });
        let result = match outcome {
            Ok(()) => self.store().complete(job.id, job.attempts).await,
            Err(error) => {
                if retry_at.is_none() {
                    tracing::warn!(job = job.id, queue = %job.queue, attempts = job.attempts, %error, "job dead-lettered");
                } else {
                    tracing::debug!(job = job.id, queue = %job.queue, attempts = job.attempts, %error, "job failed, will retry");
                }
                self.store()
                    .fail(job.id, job.attempts, &error, retry_at)
                    .await
            }
        };
        if let (Some(at), true) = (retry_at, result.is_ok()) {
            // The worker sleeps until the next due job it knew of: this one may be sooner.
            self.due_at(at);
            self.wake();
        }
        if let Err(error) = result {
            // The lease expires and the job runs again: handlers are idempotent.
            tracing::warn!(job = job.id, %error, "settling a job failed");
        }
    }

    /// Runs a job while renewing its lease (every third of it), so that the lease runs
    /// out when this process dies, not while a slow callback or a long export is still at
    /// work: another worker would run the job a second time meanwhile.
    async fn run_leased(&self, job: &Job) -> Result<(), String> {
        let run = self.run_job(job);
        tokio::pin!(run);
        tokio::select! {
            outcome = &mut run => return outcome,
            () = self.keep_lease(job) => {}
        }
        // The job was claimed again (the lease ran out all the same, e.g. the database was
        // away): finish this run; settling is fenced, so its outcome changes nothing.
        run.await
    }

    /// Renews the job's lease until the job is no longer this claim's.
    async fn keep_lease(&self, job: &Job) {
        let lease_ms = self.config().lease_ms;
        let every = Duration::from_millis((lease_ms / 3).max(1) as u64);
        loop {
            tokio::time::sleep(every).await;
            match self.store().renew(job.id, job.attempts, lease_ms).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(job = job.id, queue = %job.queue, "a running job's lease was lost");
                    return;
                }
                // Tried again at the next tick; the lease lasts three of them.
                Err(error) => tracing::warn!(job = job.id, %error, "renewing a lease failed"),
            }
        }
    }

    async fn run_job(&self, job: &Job) -> Result<(), String> {
        let payload: Value = serde_json::from_str(&job.payload)
            .map_err(|error| format!("payload is not JSON: {error}"))?;
        if job.queue == DELIVERY_QUEUE {
            return self.deliver(&payload).await;
        }
        match self.inner.handlers.get(&job.queue) {
            Some(handler) => {
                let handler: Arc<dyn JobHandler> = handler.clone();
                handler.run(self, &payload).await
            }
            None => Err(format!("no handler for queue '{}'", job.queue)),
        }
    }

    /// POSTs one event to a subscriber's callback; any 2xx is success.
    async fn deliver(&self, payload: &Value) -> Result<(), String> {
        let callback = payload
            .get("callback")
            .and_then(Value::as_str)
            .ok_or("delivery without callback")?;
        let event = payload.get("event").ok_or("delivery without event")?;
        let url = reqwest::Url::parse(callback).map_err(|error| format!("{callback}: {error}"))?;
        if !crate::callbacks::literal_allowed(self.inner.config.callbacks, &url) {
            return Err(format!(
                "POST {callback}: refused, the address is in a private, loopback or reserved network"
            ));
        }
        let response = self
            .inner
            .http
            .post(callback)
            .json(event)
            .send()
            .await
            .map_err(|error| format!("POST {callback}: {error}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("POST {callback}: status {}", response.status()))
        }
    }
}

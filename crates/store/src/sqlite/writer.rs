//! The SQLite writer: one thread that owns the database's one write connection and
//! runs every write of the process (document commits, job claims, renewals, failures).
//!
//! Requests are gathered into groups by the `gather` task (it yields a few times first,
//! so that the tasks about to write get their request in) and handed to the thread, which
//! takes every group waiting and runs them in one SQLite transaction: one WAL append for
//! many writes. The thread talks to SQLite through rusqlite, so each statement is
//! prepared once and kept (`prepare_cached`); through sqlx every group was one
//! multi-statement text, parsed anew each time (the parser and trigger compilation took a
//! fifth of the core under the order bench).
//!
//! A member that fails (a version check missed, an id already taken, any statement
//! error) is left out: the transaction is rolled back and run again without it, so one
//! transaction's conflict never fails another's. A failure of the transaction itself
//! (BEGIN, COMMIT) fails every member of it.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::cache::Caches;
use crate::shared;
use crate::tx::Op;
use crate::{Document, Job, Promoted, StoreError, StoreResult};

/// Requests taken into one transaction at most.
const GROUP_MAX: usize = 512;

/// One write waiting for the writer, with where its outcome goes.
pub(crate) enum Request {
    /// A transaction's buffered writes; `touched` are the keys whose cached documents it
    /// invalidates.
    Commit {
        ops: Vec<Op>,
        touched: Vec<(String, String)>,
        reply: oneshot::Sender<StoreResult<()>>,
    },
    /// Claims up to `limit` due jobs under a lease of `lease_ms`.
    Claim {
        limit: i64,
        lease_ms: i64,
        reply: oneshot::Sender<StoreResult<Vec<Job>>>,
    },
    /// Extends the lease of a job still held by the claim `attempts`.
    Renew {
        job: i64,
        attempts: i64,
        lease_ms: i64,
        reply: oneshot::Sender<StoreResult<bool>>,
    },
    /// A job failed: it runs again at `retry_at`, or is dead-lettered.
    Fail {
        job: i64,
        attempts: i64,
        error: String,
        retry_at: Option<i64>,
        reply: oneshot::Sender<StoreResult<()>>,
    },
}

/// What a member of a group produced.
enum Outcome {
    Done,
    Claimed(Vec<Job>),
    Renewed(bool),
}

/// Opens the write connection and starts the writer thread and the task that gathers
/// its groups; requests sent to the returned channel are run in the order sent.
pub(crate) fn start(
    path: &Path,
    synchronous_full: bool,
    caches: Arc<Caches>,
) -> StoreResult<mpsc::UnboundedSender<Request>> {
    let connection = open(path, synchronous_full).map_err(|error| store_error(&error))?;
    let checkpointer = open(path, synchronous_full).map_err(|error| store_error(&error))?;
    let (groups_tx, groups_rx) = std_mpsc::channel::<Vec<Request>>();
    let (wrote_tx, wrote_rx) = std_mpsc::sync_channel::<()>(1);
    let caught_up = Arc::new(AtomicBool::new(false));
    let checkpointed = caught_up.clone();
    std::thread::Builder::new()
        .name("sqlite-checkpoint".to_string())
        .spawn(move || checkpoint(checkpointer, wrote_rx, &checkpointed))
        .map_err(|error| StoreError::Unavailable(format!("cannot start the writer: {error}")))?;
    std::thread::Builder::new()
        .name("sqlite-writer".to_string())
        .spawn(move || run(connection, caches, groups_rx, wrote_tx, &caught_up))
        .map_err(|error| StoreError::Unavailable(format!("cannot start the writer: {error}")))?;
    let (requests_tx, requests_rx) = mpsc::unbounded_channel();
    tokio::spawn(gather(requests_rx, groups_tx));
    Ok(requests_tx)
}

fn open(path: &Path, synchronous_full: bool) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::from_secs(5))?;
    // The journal mode (WAL) is the file's and was set when the store opened it.
    connection.pragma_update(
        None,
        "synchronous",
        if synchronous_full { "FULL" } else { "NORMAL" },
    )?;
    connection.pragma_update(None, "foreign_keys", "OFF")?;
    // The checkpoint thread copies the WAL back; the writer checkpoints only when that
    // thread has fallen this far behind (its checkpoint then finds little left to copy).
    connection.pragma_update(None, "wal_autocheckpoint", BACKSTOP_PAGES)?;
    connection.set_prepared_statement_cache_capacity(32);
    Ok(connection)
}

/// Takes the requests waiting, after letting the tasks that are about to write get theirs
/// in (one transaction of many writes costs far less than many transactions, and a yield
/// costs microseconds), and hands them to the thread as one group. It does not wait for
/// the group to commit: the next group gathers meanwhile.
async fn gather(
    mut requests: mpsc::UnboundedReceiver<Request>,
    groups: std_mpsc::Sender<Vec<Request>>,
) {
    while let Some(first) = requests.recv().await {
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match requests.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        if let Err(std_mpsc::SendError(group)) = groups.send(group) {
            for request in group {
                request.refuse("the SQLite writer has stopped");
            }
        }
    }
}

/// Write groups between two checkpoints of the checkpoint thread.
const GROUPS_PER_CHECKPOINT: u32 = 64;
/// WAL pages at which the writer checkpoints itself.
const BACKSTOP_PAGES: i64 = 16_000;

/// The checkpoint thread: copies the WAL back into the database while the writer goes on
/// (a passive checkpoint blocks no writer). Done by the writer at commit, as SQLite does
/// by default, a checkpoint of a few thousand pages stopped every write for 25-50 ms.
/// It runs again at once while it did not catch up with the end of the WAL; when it
/// did, it tells the writer (`caught_up`), which copies the few pages committed since
/// before its next group: SQLite starts the WAL over from its beginning only at a write
/// transaction that began with the WAL wholly copied, which the writer, going on with
/// its next group while this thread copies, never found by itself. (The WAL then grew
/// to the writer's backstop, 64 MB, each time, every frame a new page of the file, and
/// every page lookup searched a longer WAL index; the CPU this saves per order was
/// within the noise of the order bench.)
fn checkpoint(connection: Connection, wrote: std_mpsc::Receiver<()>, caught_up: &AtomicBool) {
    while wrote.recv().is_ok() {
        for _ in 0..4 {
            match passive_checkpoint(&connection) {
                Ok((log, copied)) if copied < log => continue,
                Ok(_) => {
                    caught_up.store(true, Ordering::Release);
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "checkpointing the WAL failed");
                    break;
                }
            }
        }
    }
}

/// Copies what it can of the WAL into the database: (frames in the WAL, frames copied).
fn passive_checkpoint(connection: &Connection) -> rusqlite::Result<(i64, i64)> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
        Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
    })
}

/// The writer thread: runs groups until the store is gone.
fn run(
    connection: Connection,
    caches: Arc<Caches>,
    groups: std_mpsc::Receiver<Vec<Request>>,
    wrote: std_mpsc::SyncSender<()>,
    caught_up: &AtomicBool,
) {
    let mut since_checkpoint = 0;
    while let Ok(mut group) = groups.recv() {
        if caught_up.swap(false, Ordering::Acquire) {
            // The checkpoint thread copied all but what the last groups wrote: copied
            // too, the WAL starts over at this group (see `checkpoint`).
            if let Err(error) = passive_checkpoint(&connection) {
                tracing::warn!(%error, "checkpointing the WAL failed");
            }
        }
        while group.len() < GROUP_MAX {
            match groups.try_recv() {
                Ok(more) => group.extend(more),
                Err(_) => break,
            }
        }
        for request in &group {
            if let Request::Commit { touched, .. } = request {
                caches.invalidate(touched);
            }
        }
        metrics::counter!("switchboard_sqlite_write_groups_total").increment(1);
        metrics::counter!("switchboard_sqlite_writes_total").increment(group.len() as u64);
        let started = std::time::Instant::now();
        let outcomes = run_group(&connection, &group);
        metrics::histogram!("switchboard_sqlite_group_seconds")
            .record(started.elapsed().as_secs_f64());
        for (request, outcome) in group.into_iter().zip(outcomes) {
            request.answer(outcome, &caches);
        }
        since_checkpoint += 1;
        if since_checkpoint >= GROUPS_PER_CHECKPOINT {
            // Full: a checkpoint is under way, which will see this group's pages too.
            if wrote.try_send(()).is_ok() {
                since_checkpoint = 0;
            }
        }
    }
}

impl Request {
    fn refuse(self, why: &str) {
        let error = || StoreError::Unavailable(why.to_string());
        match self {
            Request::Commit { reply, .. } | Request::Fail { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            Request::Claim { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            Request::Renew { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
        }
    }

    /// Sends the outcome; a committed document goes to the cache first (write-through:
    /// a step reads back the order it moved, the resource it made).
    fn answer(self, outcome: StoreResult<Outcome>, caches: &Caches) {
        match self {
            Request::Commit {
                ops,
                touched,
                reply,
            } => {
                caches.invalidate(&touched);
                if outcome.is_ok() {
                    // A document written twice in one transaction (created, then
                    // changed) is cached as the last write left it, and not at all
                    // when that write deleted it.
                    let mut last = std::collections::HashSet::new();
                    for op in ops.into_iter().rev() {
                        let (kind, id, version, json) = match op {
                            Op::Insert { kind, id, json, .. } => (kind, id, 1, json),
                            Op::Update {
                                kind,
                                id,
                                expected_version,
                                json,
                                ..
                            } => (kind, id, expected_version + 1, json),
                            Op::Delete { kind, id, .. } => {
                                last.insert((kind, id));
                                continue;
                            }
                            _ => continue,
                        };
                        if last.insert((kind.clone(), id.clone())) {
                            caches.store(&kind, &Document { id, version, json });
                        }
                    }
                }
                let _ = reply.send(outcome.map(|_| ()));
            }
            Request::Fail { reply, .. } => {
                let _ = reply.send(outcome.map(|_| ()));
            }
            Request::Claim { reply, .. } => {
                let _ = reply.send(outcome.map(|outcome| match outcome {
                    Outcome::Claimed(jobs) => jobs,
                    _ => Vec::new(),
                }));
            }
            Request::Renew { reply, .. } => {
                let _ =
                    reply.send(outcome.map(|outcome| matches!(outcome, Outcome::Renewed(true))));
            }
        }
    }
}

/// Why a try at a group's transaction stopped.
enum Stop {
    /// This member failed; the others are run again without it.
    Member(usize, StoreError),
    /// The transaction itself failed: every member fails with it.
    Transaction(rusqlite::Error),
}

/// Runs the group in one transaction; members that fail are left out of it.
fn run_group(connection: &Connection, group: &[Request]) -> Vec<StoreResult<Outcome>> {
    let mut failed: Vec<Option<StoreError>> = group.iter().map(|_| None).collect();
    loop {
        match try_group(connection, group, &failed) {
            Ok(outcomes) => {
                return outcomes
                    .into_iter()
                    .zip(failed)
                    .map(|(outcome, failure)| match (outcome, failure) {
                        (_, Some(error)) => Err(error),
                        (Some(outcome), None) => Ok(outcome),
                        (None, None) => {
                            Err(StoreError::Failed("the write was not run".to_string()))
                        }
                    })
                    .collect();
            }
            Err(Stop::Member(index, error)) => {
                rollback(connection);
                failed[index] = Some(error);
            }
            Err(Stop::Transaction(error)) => {
                rollback(connection);
                return group.iter().map(|_| Err(store_error(&error))).collect();
            }
        }
    }
}

fn rollback(connection: &Connection) {
    if !connection.is_autocommit() {
        if let Err(error) = connection.execute_batch("ROLLBACK") {
            tracing::warn!(%error, "rolling back a write group failed");
        }
    }
}

fn try_group(
    connection: &Connection,
    group: &[Request],
    failed: &[Option<StoreError>],
) -> Result<Vec<Option<Outcome>>, Stop> {
    let statement = |sql: &str| -> Result<(), Stop> {
        connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute([]))
            .map(|_| ())
            .map_err(Stop::Transaction)
    };
    statement("BEGIN IMMEDIATE")?;
    let now = crate::now_millis();
    let mut outcomes = Vec::with_capacity(group.len());
    for (index, request) in group.iter().enumerate() {
        if failed[index].is_some() {
            outcomes.push(None);
            continue;
        }
        let outcome =
            member(connection, request, now).map_err(|error| Stop::Member(index, error))?;
        outcomes.push(Some(outcome));
    }
    statement("COMMIT")?;
    Ok(outcomes)
}

fn member(connection: &Connection, request: &Request, now: i64) -> StoreResult<Outcome> {
    let sql = |error: rusqlite::Error| store_error(&error);
    match request {
        Request::Commit { ops, .. } => {
            for op in ops {
                write(connection, op, now)?;
            }
            Ok(Outcome::Done)
        }
        Request::Claim {
            limit, lease_ms, ..
        } => {
            let mut claim = connection.prepare_cached(CLAIM).map_err(sql)?;
            let rows = claim
                .query_map(params![now + lease_ms, now, limit], |row| {
                    Ok(Job {
                        id: row.get(0)?,
                        queue: row.get(1)?,
                        payload: row.get(2)?,
                        attempts: row.get(3)?,
                    })
                })
                .map_err(sql)?;
            let jobs = rows.collect::<rusqlite::Result<Vec<Job>>>().map_err(sql)?;
            Ok(Outcome::Claimed(jobs))
        }
        Request::Renew {
            job,
            attempts,
            lease_ms,
            ..
        } => {
            let renewed = connection
                .prepare_cached(shared::RENEW_JOB)
                .and_then(|mut renew| renew.execute(params![now + lease_ms, job, attempts]))
                .map_err(sql)?;
            Ok(Outcome::Renewed(renewed == 1))
        }
        Request::Fail {
            job,
            attempts,
            error,
            retry_at,
            ..
        } => {
            let (status, run_at) = shared::failed_state(*retry_at, now);
            connection
                .prepare_cached(shared::FAIL_JOB)
                .and_then(|mut fail| fail.execute(params![status, run_at, error, job, attempts]))
                .map_err(sql)?;
            Ok(Outcome::Done)
        }
    }
}

// Every statement that writes says `OR ROLLBACK`: a failing one ends the whole
// transaction (which `run_group` runs again without its member) instead of undoing just
// itself, so SQLite keeps no statement journal (it took ~8 % of the core).

/// Claims due jobs: the one writer runs claims one at a time, so no row locks are needed
/// (PostgreSQL's claim locks with SKIP LOCKED instead). A job whose lease ran out (its
/// worker died) is due again. The bound time is read through `(SELECT ?2)` for the
/// `jobs_due` range: the index serves it all the same, but the planner no longer estimates
/// the range from the bound value (STAT4), which made SQLite prepare the statement again
/// at every claim (~4 % of the core). So is the limit: the planner reads a bound LIMIT's
/// value, and such a statement is prepared again whenever that parameter is bound, even
/// to the same value (~8 % of the core at 300 orders/s).
const CLAIM: &str = "UPDATE OR ROLLBACK jobs SET lease_until = ?1, attempts = attempts + 1
     WHERE id IN (
        SELECT id FROM jobs
        WHERE status = 'ready' AND run_at <= (SELECT ?2)
          AND (lease_until IS NULL OR lease_until <= ?2)
        ORDER BY run_at, id LIMIT (SELECT ?3))
     RETURNING id, queue, payload, attempts";

const INSERT: &str = "INSERT OR ROLLBACK INTO documents
     (kind, id, version, p_name, p_state, p_type, p_updated, p_links, doc)
     VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8)";
const UPDATE: &str = "UPDATE OR ROLLBACK documents SET version = version + 1,
     p_name = ?1, p_state = ?2, p_type = ?3, p_updated = ?4, p_links = ?5, doc = ?6
     WHERE kind = ?7 AND id = ?8 AND version = ?9";
const DELETE: &str = "DELETE FROM documents WHERE kind = ?1 AND id = ?2 AND version = ?3";
const ENQUEUE: &str = "INSERT OR ROLLBACK INTO jobs (queue, dedup_key, payload, run_at, created_at)
     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
// The range (?3 is the prefix followed by the last code point) lets the dedup key's
// index find the jobs: they are dropped as orders end, while thousands of others may
// wait (deliveries to a subscriber that is down), which a scan would read each time.
// `+status` keeps the planner off `jobs_due`: without statistics it prefers that
// index's equality on the status to the key's range, and reads every waiting job.
const CANCEL_JOBS: &str = "DELETE FROM jobs WHERE dedup_key >= ?2 AND dedup_key < ?3
     AND queue = ?1 AND +status = 'ready' AND substr(dedup_key, 1, length(?2)) = ?2";

/// Runs one buffered write; an update or delete that finds the document at another
/// version (or gone) is a `VersionConflict`.
fn write(connection: &Connection, op: &Op, now: i64) -> StoreResult<()> {
    let run = |sql: &str, values: &[&dyn rusqlite::ToSql]| -> StoreResult<usize> {
        connection
            .prepare_cached(sql)
            .and_then(|mut statement| statement.execute(values))
            .map_err(|error| store_error(&error))
    };
    let versioned = |changed: usize| {
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::VersionConflict)
        }
    };
    match op {
        Op::Insert {
            kind,
            id,
            json,
            promoted,
        } => {
            let [name, state, type_name, updated, links] = promoted_values(promoted);
            run(
                INSERT,
                params![kind, id, name, state, type_name, updated, links, json],
            )?;
            Ok(())
        }
        Op::Update {
            kind,
            id,
            expected_version,
            json,
            promoted,
        } => {
            let [name, state, type_name, updated, links] = promoted_values(promoted);
            versioned(run(
                UPDATE,
                params![
                    name,
                    state,
                    type_name,
                    updated,
                    links,
                    json,
                    kind,
                    id,
                    expected_version
                ],
            )?)
        }
        Op::Delete {
            kind,
            id,
            expected_version,
        } => versioned(run(DELETE, params![kind, id, expected_version])?),
        Op::Enqueue {
            queue,
            payload,
            dedup_key,
            run_at,
        } => {
            run(ENQUEUE, params![queue, dedup_key, payload, run_at, now])?;
            Ok(())
        }
        Op::CompleteJob { id, attempts } => {
            run(shared::COMPLETE_JOB, params![id, attempts])?;
            Ok(())
        }
        Op::CancelJobs { queue, key_prefix } => {
            let past = format!("{key_prefix}{}", char::MAX);
            run(CANCEL_JOBS, params![queue, key_prefix, past])?;
            Ok(())
        }
    }
}

/// The promoted columns: name, state, type, updated, links.
fn promoted_values(promoted: &Promoted) -> [Option<String>; 5] {
    [
        promoted.name.clone(),
        promoted.state.clone(),
        promoted.type_name.clone(),
        promoted.updated.clone(),
        promoted.links_json(),
    ]
}

/// SQLite's errors in the store's terms: a taken id is `Duplicate`; a busy, locked,
/// full or failing database is `Unavailable` (503, retry later).
fn store_error(error: &rusqlite::Error) -> StoreError {
    match error.sqlite_error() {
        Some(failure)
            if failure.code == ErrorCode::ConstraintViolation
                && matches!(
                    failure.extended_code,
                    rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
        {
            StoreError::Duplicate
        }
        Some(failure)
            if matches!(
                failure.code,
                ErrorCode::DatabaseBusy
                    | ErrorCode::DatabaseLocked
                    | ErrorCode::SystemIoFailure
                    | ErrorCode::DiskFull
                    | ErrorCode::CannotOpen
                    | ErrorCode::ReadOnly
                    | ErrorCode::OutOfMemory
            ) =>
        {
            StoreError::Unavailable(error.to_string())
        }
        _ => StoreError::Failed(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn jobs_table() -> Connection {
        let connection = Connection::open_in_memory().unwrap();
        for statement in super::super::MIGRATIONS {
            connection.execute_batch(statement).unwrap();
        }
        connection
    }

    #[test]
    fn dropping_jobs_by_key_searches_the_key_index() {
        let connection = jobs_table();
        let plan: Vec<String> = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {CANCEL_JOBS}"))
            .unwrap()
            .query_map(params!["queue", "a", "b"], |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(plan.len(), 1, "{plan:?}");
        assert!(
            plan[0].contains("USING INDEX sqlite_autoindex_jobs_1 (dedup_key>? AND dedup_key<?)"),
            "{plan:?}"
        );
    }

    #[test]
    fn a_claim_is_prepared_once_whatever_its_limit_and_time() {
        let connection = jobs_table();
        let mut claim = connection.prepare(CLAIM).unwrap();
        for n in 1..=10_i64 {
            connection
                .execute(
                    "INSERT INTO jobs (queue, payload, run_at, created_at) VALUES ('q', '{}', ?1, ?1)",
                    [n],
                )
                .unwrap();
            let claimed = claim
                .query_map(params![n + 1_000, n, n % 4 + 1], |row| row.get::<_, i64>(0))
                .unwrap()
                .count();
            assert_eq!(claimed, 1);
        }
        assert_eq!(claim.get_status(rusqlite::StatementStatus::RePrepare), 0);
    }
}

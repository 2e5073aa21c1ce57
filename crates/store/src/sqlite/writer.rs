//! The SQLite writer: one thread that owns the database's one write connection and
//! runs every write of the process (document commits, job claims, renewals, failures).
//!
//! Requests are gathered into groups by the `gather` task (it yields a few times first,
//! so that the tasks about to write get their request in) and handed to the thread, which
//! takes every group waiting and runs them in one SQLite transaction: one WAL append for
//! many writes. The thread talks to SQLite through rusqlite, so each statement is
//! prepared once and kept (`prepare_cached`, see `statements`); through sqlx every group
//! was one multi-statement text, parsed anew each time (the parser and trigger
//! compilation took a fifth of the core under the order bench). A second thread
//! (`checkpoint`) copies the WAL back so that no commit waits for a checkpoint.
//!
//! A member that fails (a version check missed, an id already taken, any statement
//! error) is left out: the transaction is rolled back and run again without it, so one
//! transaction's conflict never fails another's. A failure of the transaction itself
//! (BEGIN, COMMIT) fails every member of it.

mod checkpoint;
mod statements;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::cache::Caches;
use crate::tx::Op;
use crate::{Document, Job, StoreError, StoreResult};
use checkpoint::{checkpoint, passive_checkpoint, BACKSTOP_PAGES, GROUPS_PER_CHECKPOINT};
use statements::store_error;

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
    match request {
        Request::Commit { ops, .. } => {
            for op in ops {
                statements::write(connection, op, now)?;
            }
            Ok(Outcome::Done)
        }
        Request::Claim {
            limit, lease_ms, ..
        } => statements::claim(connection, *limit, *lease_ms, now).map(Outcome::Claimed),
        Request::Renew {
            job,
            attempts,
            lease_ms,
            ..
        } => statements::renew(connection, *job, *attempts, *lease_ms, now).map(Outcome::Renewed),
        Request::Fail {
            job,
            attempts,
            error,
            retry_at,
            ..
        } => {
            statements::fail(connection, *job, *attempts, error, *retry_at, now)?;
            Ok(Outcome::Done)
        }
    }
}

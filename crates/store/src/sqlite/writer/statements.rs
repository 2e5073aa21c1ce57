//! The writer's statements: the SQL of every write the writer runs (documents, the job
//! queue) and how each runs on the write connection, prepared once and kept.

use rusqlite::{params, Connection, ErrorCode};

use crate::shared;
use crate::tx::Op;
use crate::{Job, Promoted, StoreError, StoreResult};

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

/// Claims up to `limit` due jobs under a lease of `lease_ms`.
pub(super) fn claim(
    connection: &Connection,
    limit: i64,
    lease_ms: i64,
    now: i64,
) -> StoreResult<Vec<Job>> {
    let sql = |error: rusqlite::Error| store_error(&error);
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
    rows.collect::<rusqlite::Result<Vec<Job>>>().map_err(sql)
}

/// Extends the lease of a job still held by the claim `attempts`; false when it is not.
pub(super) fn renew(
    connection: &Connection,
    job: i64,
    attempts: i64,
    lease_ms: i64,
    now: i64,
) -> StoreResult<bool> {
    let renewed = connection
        .prepare_cached(shared::RENEW_JOB)
        .and_then(|mut renew| renew.execute(params![now + lease_ms, job, attempts]))
        .map_err(|error| store_error(&error))?;
    Ok(renewed == 1)
}

/// A job failed: it runs again at `retry_at`, or is dead-lettered.
pub(super) fn fail(
    connection: &Connection,
    job: i64,
    attempts: i64,
    error: &str,
    retry_at: Option<i64>,
    now: i64,
) -> StoreResult<()> {
    let (status, run_at) = shared::failed_state(retry_at, now);
    connection
        .prepare_cached(shared::FAIL_JOB)
        .and_then(|mut fail| fail.execute(params![status, run_at, error, job, attempts]))
        .map_err(|error| store_error(&error))?;
    Ok(())
}

/// Runs one buffered write; an update or delete that finds the document at another
/// version (or gone) is a `VersionConflict`.
pub(super) fn write(connection: &Connection, op: &Op, now: i64) -> StoreResult<()> {
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
pub(super) fn store_error(error: &rusqlite::Error) -> StoreError {
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
        for statement in crate::sqlite::MIGRATIONS {
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

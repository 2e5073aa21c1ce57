//! Concurrent write transactions and the job queue, through the public `Store` API: a
//! transaction that fails its version check or inserts a taken id fails alone (on
//! SQLite, where one writer runs many transactions in one group, every other member of
//! its group still commits), a transaction commits all of its writes or none, reads see
//! every commit, and jobs are claimed once, renewed, completed, retried and
//! dead-lettered under the fencing of their claim's attempt number. Runs on SQLite
//! always; with `SWITCHBOARD_TEST_DATABASE_URL` set also on PostgreSQL, in a fresh schema.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};
use switchboard_store::{now_millis, Document, Job, Promoted, Store, StoreError};

const KIND: &str = "item";

use crate::common::{open, postgres_available};

/// The backends to run on: SQLite (false) always, PostgreSQL (true) when configured.
fn backends() -> Vec<bool> {
    if postgres_available() {
        vec![false, true]
    } else {
        eprintln!("PostgreSQL not tested: set SWITCHBOARD_TEST_DATABASE_URL");
        vec![false]
    }
}

fn promoted(name: &str) -> Promoted {
    Promoted {
        name: Some(name.to_string()),
        state: Some("active".to_string()),
        ..Promoted::default()
    }
}

/// The JSON of document `id` written by `by` (who wrote it is what the tests check).
fn body(id: &str, by: &str) -> String {
    json!({"id": id, "by": by}).to_string()
}

/// The writer a document's JSON names (PostgreSQL gives JSONB back re-serialised, so
/// contents are compared parsed).
fn writer_of(document: &Document) -> String {
    let value: Value = serde_json::from_str(&document.json).unwrap();
    assert_eq!(value["id"], document.id.as_str(), "{document:?}");
    value["by"].as_str().unwrap().to_string()
}

async fn insert(store: &Store, id: &str, by: &str) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    tx.insert(KIND, id, &body(id, by), &promoted(by)).await?;
    tx.commit().await
}

async fn update(store: &Store, id: &str, version: i64, by: &str) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let next = tx
        .update(KIND, id, version, &body(id, by), &promoted(by))
        .await?;
    assert_eq!(next, version + 1);
    tx.commit().await
}

/// Reads a document that must exist: its version and who wrote it.
async fn read(store: &Store, id: &str) -> (i64, String) {
    let document = store
        .get(KIND, id)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{id} is missing"));
    assert_eq!(document.id, id);
    (document.version, writer_of(&document))
}

/// Every document of the kind as the database holds it (not through any cache): id →
/// (version, writer).
async fn stored(store: &Store) -> BTreeMap<String, (i64, String)> {
    store
        .all(KIND)
        .await
        .unwrap()
        .iter()
        .map(|document| (document.id.clone(), (document.version, writer_of(document))))
        .collect()
}

fn doc_id(index: usize) -> String {
    format!("doc-{index}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_member_fails_alone() {
    let _disk = crate::common::beside().await;
    for postgres in backends() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, "conflict.db", postgres).await;
        for index in 0..50 {
            insert(&store, &doc_id(index), "creator").await.unwrap();
        }

        // Every task is started before any is awaited: on SQLite they share groups.
        // Doc 0 has eleven writers at version 1 (its own and ten rivals); the others one.
        let mut own = Vec::new();
        for index in 0..50 {
            let store = store.clone();
            own.push(tokio::spawn(async move {
                update(&store, &doc_id(index), 1, &format!("own-{index}")).await
            }));
        }
        let mut rivals = Vec::new();
        for rival in 0..10 {
            let store = store.clone();
            let by = format!("rival-{rival}");
            rivals.push((
                by.clone(),
                tokio::spawn(async move { update(&store, &doc_id(0), 1, &by).await }),
            ));
        }

        let mut doc0_writers = vec![("own-0".to_string(), own.remove(0))];
        doc0_writers.extend(rivals);
        for (index, handle) in own.into_iter().enumerate() {
            let index = index + 1;
            let outcome = handle.await.unwrap();
            assert!(outcome.is_ok(), "doc-{index}: {outcome:?} ({postgres})");
        }
        let mut winners = Vec::new();
        let mut conflicts = 0;
        for (by, handle) in doc0_writers {
            match handle.await.unwrap() {
                Ok(()) => winners.push(by),
                Err(StoreError::VersionConflict) => conflicts += 1,
                Err(other) => panic!("{by}: unexpected {other:?} ({postgres})"),
            }
        }
        assert_eq!(winners.len(), 1, "winners {winners:?} ({postgres})");
        assert_eq!(conflicts, 10, "({postgres})");

        assert_eq!(read(&store, "doc-0").await, (2, winners[0].clone()));
        for index in 1..50 {
            assert_eq!(
                read(&store, &doc_id(index)).await,
                (2, format!("own-{index}")),
                "({postgres})"
            );
        }
        // The database agrees with what the reads by id (cached on SQLite) said.
        let rows = stored(&store).await;
        assert_eq!(rows.len(), 50);
        assert_eq!(rows["doc-0"], (2, winners[0].clone()));
        for index in 1..50 {
            assert_eq!(rows[&doc_id(index)], (2, format!("own-{index}")));
        }

        // The losers were told the truth: at the current version their write goes in.
        update(&store, "doc-0", 2, "second-round").await.unwrap();
        assert_eq!(read(&store, "doc-0").await, (3, "second-round".to_string()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_insert_fails_alone() {
    let _disk = crate::common::beside().await;
    for postgres in backends() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, "duplicate.db", postgres).await;

        let mut distinct = Vec::new();
        for index in 0..30 {
            let store = store.clone();
            distinct.push(tokio::spawn(async move {
                insert(&store, &format!("new-{index}"), &format!("new-{index}")).await
            }));
        }
        let mut dups = Vec::new();
        for attempt in 0..5 {
            let store = store.clone();
            let by = format!("dup-{attempt}");
            dups.push((
                by.clone(),
                tokio::spawn(async move { insert(&store, "dup", &by).await }),
            ));
        }
        for (index, handle) in distinct.into_iter().enumerate() {
            let outcome = handle.await.unwrap();
            assert!(outcome.is_ok(), "new-{index}: {outcome:?} ({postgres})");
        }
        let mut winners = Vec::new();
        let mut duplicates = 0;
        for (by, handle) in dups {
            match handle.await.unwrap() {
                Ok(()) => winners.push(by),
                Err(StoreError::Duplicate) => duplicates += 1,
                Err(other) => panic!("{by}: unexpected {other:?} ({postgres})"),
            }
        }
        assert_eq!(winners.len(), 1, "winners {winners:?} ({postgres})");
        assert_eq!(duplicates, 4, "({postgres})");
        assert_eq!(read(&store, "dup").await, (1, winners[0].clone()));
        for index in 0..30 {
            let id = format!("new-{index}");
            assert_eq!(read(&store, &id).await, (1, id.clone()));
        }
        assert_eq!(stored(&store).await.len(), 31);

        // A transaction that inserts a new document, then a taken id, and queues a job
        // stores nothing; a transaction committing beside it stores all of its writes.
        assert_eq!(store.pending_jobs().await.unwrap(), 0);
        let failing = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await?;
                tx.insert(KIND, "fresh", &body("fresh", "failing"), &promoted("x"))
                    .await?;
                tx.insert(KIND, "dup", &body("dup", "failing"), &promoted("x"))
                    .await?;
                tx.enqueue("work", r#"{"from":"failing"}"#, None, 0).await?;
                tx.commit().await
            })
        };
        let succeeding = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await?;
                tx.insert(KIND, "other", &body("other", "succeeding"), &promoted("y"))
                    .await?;
                tx.enqueue("work", r#"{"from":"succeeding"}"#, None, 0)
                    .await?;
                tx.commit().await
            })
        };
        let failed = failing.await.unwrap();
        assert!(
            matches!(failed, Err(StoreError::Duplicate)),
            "{failed:?} ({postgres})"
        );
        succeeding.await.unwrap().unwrap();
        assert!(store.get(KIND, "fresh").await.unwrap().is_none());
        assert_eq!(read(&store, "dup").await, (1, winners[0].clone()));
        assert_eq!(read(&store, "other").await, (1, "succeeding".to_string()));
        assert_eq!(store.pending_jobs().await.unwrap(), 1);
        let rows = stored(&store).await;
        assert_eq!(rows.len(), 32);
        assert!(!rows.contains_key("fresh"));
        let claimed = store.claim(10, 60_000).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].payload, r#"{"from":"succeeding"}"#);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multi_write_transaction_is_atomic_with_a_conflict() {
    let _disk = crate::common::beside().await;
    for postgres in backends() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, "atomic.db", postgres).await;
        insert(&store, "a", "a-created").await.unwrap();
        insert(&store, "b", "b-created").await.unwrap();
        update(&store, "b", 1, "b-updated").await.unwrap();
        for index in 0..20 {
            insert(&store, &doc_id(index), "creator").await.unwrap();
        }
        // Read first, so that a cache (SQLite) holds A when the failed write comes.
        assert_eq!(read(&store, "a").await, (1, "a-created".to_string()));

        // A at its current version, then B at a stale one; other writers commit beside it.
        let failing = {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await?;
                tx.update(KIND, "a", 1, &body("a", "a-lost"), &promoted("a"))
                    .await?;
                tx.update(KIND, "b", 1, &body("b", "b-lost"), &promoted("b"))
                    .await?;
                tx.enqueue("work", r#"{"from":"lost"}"#, None, 0).await?;
                tx.commit().await
            })
        };
        let mut others = Vec::new();
        for index in 0..20 {
            let store = store.clone();
            others.push(tokio::spawn(async move {
                update(&store, &doc_id(index), 1, "other").await
            }));
        }
        let failed = failing.await.unwrap();
        assert!(
            matches!(failed, Err(StoreError::VersionConflict)),
            "{failed:?} ({postgres})"
        );
        for handle in others {
            handle.await.unwrap().unwrap();
        }

        assert_eq!(read(&store, "a").await, (1, "a-created".to_string()));
        assert_eq!(read(&store, "b").await, (2, "b-updated".to_string()));
        assert_eq!(store.pending_jobs().await.unwrap(), 0);
        let rows = stored(&store).await;
        assert_eq!(rows["a"], (1, "a-created".to_string()));
        assert_eq!(rows["b"], (2, "b-updated".to_string()));
        for index in 0..20 {
            assert_eq!(rows[&doc_id(index)], (2, "other".to_string()));
        }

        // A delete at a stale version fails the same way, and takes the update with it.
        let mut tx = store.begin().await.unwrap();
        tx.update(KIND, "a", 1, &body("a", "a-lost-again"), &promoted("a"))
            .await
            .unwrap();
        assert!(tx.delete(KIND, "b").await.unwrap());
        update(&store, "b", 2, "b-moved").await.unwrap();
        let failed = tx.commit().await;
        assert!(
            matches!(failed, Err(StoreError::VersionConflict)),
            "{failed:?} ({postgres})"
        );
        assert_eq!(read(&store, "a").await, (1, "a-created".to_string()));
        assert_eq!(read(&store, "b").await, (3, "b-moved".to_string()));
    }
}

/// Claims every job currently due, under a long lease.
async fn claim_all(store: &Store) -> Vec<Job> {
    store.claim(100, 60_000).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_are_claimed_once_renewed_completed_and_failed_with_fencing() {
    let _disk = crate::common::beside().await;
    for postgres in backends() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, "jobs.db", postgres).await;

        let mut tx = store.begin().await.unwrap();
        for n in 0..20 {
            tx.enqueue("work", &format!(r#"{{"n":{n}}}"#), None, 0)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        assert_eq!(store.pending_jobs().await.unwrap(), 20);

        // Four claimers at once: every job is claimed, none twice.
        let claimers: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.claim(10, 60_000).await })
            })
            .collect();
        let mut claimed = Vec::new();
        for handle in claimers {
            let jobs = handle.await.unwrap().unwrap();
            assert!(jobs.len() <= 10, "{} jobs ({postgres})", jobs.len());
            claimed.extend(jobs);
        }
        let ids: BTreeSet<i64> = claimed.iter().map(|job| job.id).collect();
        assert_eq!(claimed.len(), 20, "({postgres})");
        assert_eq!(ids.len(), 20, "a job was claimed twice ({postgres})");
        let payloads: BTreeSet<String> = claimed.iter().map(|job| job.payload.clone()).collect();
        let expected: BTreeSet<String> = (0..20).map(|n| format!(r#"{{"n":{n}}}"#)).collect();
        assert_eq!(payloads, expected);
        assert!(claimed
            .iter()
            .all(|job| job.attempts == 1 && job.queue == "work"));
        // Leased jobs are not due; they are still pending.
        assert!(claim_all(&store).await.is_empty());
        assert_eq!(store.pending_jobs().await.unwrap(), 20);

        claimed.sort_by_key(|job| job.id);
        let job = |index: usize| claimed[index].clone();

        // Renewal is fenced by the claim's attempts.
        assert!(store.renew(job(0).id, 1, 60_000).await.unwrap());
        assert!(!store.renew(job(0).id, 2, 60_000).await.unwrap());
        assert!(!store.renew(job(0).id, 0, 60_000).await.unwrap());
        assert!(!store.renew(i64::MAX, 1, 60_000).await.unwrap());

        // Completion removes the job; a completion under another claim changes nothing.
        for index in 0..5 {
            store.complete(job(index).id, 1).await.unwrap();
        }
        assert_eq!(store.pending_jobs().await.unwrap(), 15);
        store.complete(job(5).id, 2).await.unwrap();
        assert_eq!(store.pending_jobs().await.unwrap(), 15);
        assert!(!store.renew(job(0).id, 1, 60_000).await.unwrap());

        // A failure with a retry time makes the job due again, claimed a second time.
        let retried = job(5);
        store
            .fail(retried.id, 1, "boom", Some(now_millis() - 1))
            .await
            .unwrap();
        assert_eq!(store.pending_jobs().await.unwrap(), 15);
        let again = claim_all(&store).await;
        assert_eq!(again.len(), 1, "{again:?} ({postgres})");
        assert_eq!(again[0].id, retried.id);
        assert_eq!(again[0].attempts, 2);
        assert_eq!(again[0].payload, retried.payload);
        assert_eq!(again[0].queue, "work");

        // The first claim is fenced off: it can neither renew, complete nor fail the job.
        assert!(!store.renew(retried.id, 1, 60_000).await.unwrap());
        store.complete(retried.id, 1).await.unwrap();
        store.fail(retried.id, 1, "stale", None).await.unwrap();
        assert_eq!(store.pending_jobs().await.unwrap(), 15);
        assert!(store.dead_jobs().await.unwrap().is_empty());
        assert!(store.renew(retried.id, 2, 60_000).await.unwrap());

        // A failure without a retry time dead-letters the job, with its error.
        store.fail(retried.id, 2, "boom", None).await.unwrap();
        assert_eq!(store.pending_jobs().await.unwrap(), 14);
        let dead = store.dead_jobs().await.unwrap();
        assert_eq!(dead.len(), 1, "{dead:?}");
        assert_eq!(dead[0].id, retried.id);
        assert_eq!(dead[0].queue, "work");
        assert_eq!(dead[0].payload, retried.payload);
        assert_eq!(dead[0].attempts, 2);
        assert_eq!(dead[0].last_error.as_deref(), Some("boom"));
        assert!(!store.renew(retried.id, 2, 60_000).await.unwrap());
        assert!(claim_all(&store).await.is_empty());

        // A lease that runs out makes the job due again; its old claim is fenced off.
        let expiring = job(6);
        store
            .fail(expiring.id, 1, "retry", Some(now_millis() - 1))
            .await
            .unwrap();
        let short = store.claim(10, 1).await.unwrap();
        assert_eq!(short.len(), 1);
        assert_eq!((short[0].id, short[0].attempts), (expiring.id, 2));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let reclaimed = claim_all(&store).await;
        assert_eq!(reclaimed.len(), 1, "{reclaimed:?}");
        assert_eq!((reclaimed[0].id, reclaimed[0].attempts), (expiring.id, 3));
        store.complete(expiring.id, 2).await.unwrap();
        assert_eq!(store.pending_jobs().await.unwrap(), 14);
        store.complete(expiring.id, 3).await.unwrap();
        assert_eq!(store.pending_jobs().await.unwrap(), 13);

        // Complete the remaining claims: the queue empties, the dead job stays.
        for index in 7..20 {
            store.complete(job(index).id, 1).await.unwrap();
        }
        assert_eq!(store.pending_jobs().await.unwrap(), 0);
        assert_eq!(store.dead_jobs().await.unwrap().len(), 1);

        // A dedup key keeps the first job queued under it: across transactions, within
        // one, and from concurrent transactions.
        for payload in ["first", "second"] {
            let mut tx = store.begin().await.unwrap();
            tx.enqueue("work", payload, Some("key-1"), 0).await.unwrap();
            tx.commit().await.unwrap();
        }
        let mut tx = store.begin().await.unwrap();
        tx.enqueue("work", "one", Some("key-2"), 0).await.unwrap();
        tx.enqueue("work", "two", Some("key-2"), 0).await.unwrap();
        tx.commit().await.unwrap();
        let enqueuers: Vec<_> = (0..5)
            .map(|index| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut tx = store.begin().await?;
                    tx.enqueue("work", &format!("racer-{index}"), Some("key-3"), 0)
                        .await?;
                    tx.commit().await
                })
            })
            .collect();
        for handle in enqueuers {
            handle.await.unwrap().unwrap();
        }
        assert_eq!(store.pending_jobs().await.unwrap(), 3);
        let deduplicated = claim_all(&store).await;
        assert_eq!(deduplicated.len(), 3, "{deduplicated:?}");
        let payloads: Vec<&str> = deduplicated
            .iter()
            .map(|job| job.payload.as_str())
            .collect();
        assert_eq!(payloads[..2], ["first", "one"]);
        assert!(payloads[2].starts_with("racer-"), "{payloads:?}");
        // Once its job is done, the key is free again.
        let first = &deduplicated[0];
        store.complete(first.id, first.attempts).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.enqueue("work", "third", Some("key-1"), 0).await.unwrap();
        tx.commit().await.unwrap();
        let next = claim_all(&store).await;
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].payload, "third");
        assert_eq!(store.pending_jobs().await.unwrap(), 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_see_each_commit() {
    let _disk = crate::common::beside().await;
    for postgres in backends() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, "reads.db", postgres).await;
        insert(&store, "hot", "commit-0").await.unwrap();
        assert_eq!(read(&store, "hot").await, (1, "commit-0".to_string()));
        for commit in 1..=100 {
            let by = format!("commit-{commit}");
            update(&store, "hot", commit, &by).await.unwrap();
            assert_eq!(read(&store, "hot").await, (commit + 1, by.clone()));
            // A stale write fails and leaves what reads see as it was.
            let stale = update(&store, "hot", commit, "stale").await;
            assert!(
                matches!(stale, Err(StoreError::VersionConflict)),
                "{stale:?} ({postgres})"
            );
            assert_eq!(read(&store, "hot").await, (commit + 1, by));
        }
        assert_eq!(stored(&store).await["hot"], (101, "commit-100".to_string()));
    }
}

/// SQLite: the WAL starts over from its beginning once the checkpoint thread has copied
/// it, so under steady writes it stays a small file. (It grew to the writer's backstop,
/// 16 000 pages, before: the writer never began a transaction with the WAL wholly
/// copied.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wal_starts_over_under_steady_writes() {
    let _disk = crate::common::alone().await;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, "wal.db", false).await;
    // Each commit rewrites a few pages (the table and its indexes): 4 000 of them
    // append some 20 000 frames, more than the backstop.
    for commit in 0..4_000 {
        insert(&store, &doc_id(commit), "steady").await.unwrap();
    }
    let wal = std::fs::metadata(dir.path().join("wal.db-wal"))
        .unwrap()
        .len();
    assert!(
        wal < 16 * 1024 * 1024,
        "the WAL grew to {wal} bytes under 4 000 small commits"
    );
}

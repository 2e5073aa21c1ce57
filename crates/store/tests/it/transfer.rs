//! Export and import at the store level: every row read from a snapshot of one database
//! and loaded into another comes out the same (ids, versions, promoted columns, job
//! states), lists and filters work on it, and a load commits all or nothing. Runs
//! SQLite → SQLite always; with `SWITCHBOARD_TEST_DATABASE_URL` set also SQLite →
//! PostgreSQL and PostgreSQL → SQLite, each PostgreSQL side in a fresh schema.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{json, Value};
use switchboard_store::{
    Column, Condition, JobStatus, ListQuery, Op, Operand, Promoted, RawDocument, RawJob, SortKey,
    Store, StoreError, Target,
};

use crate::common::{open, postgres_available};

fn promoted(name: &str, state: &str) -> Promoted {
    Promoted {
        name: Some(name.to_string()),
        state: Some(state.to_string()),
        type_name: Some("ProductOffering".to_string()),
        updated: Some("2024-05-01T10:00:00.000Z".to_string()),
        links: vec![switchboard_store::link(
            "spec",
            &format!("spec-{}", name.len() % 3),
        )],
    }
}

/// Documents of two kinds (one updated twice, one deleted), a ready job, a job waiting
/// for its retry and a dead one.
async fn populate(store: &Store) {
    let mut tx = store.begin().await.unwrap();
    for index in 0..450 {
        let doc = json!({
            "id": format!("po-{index}"),
            "name": format!("Offer {index}"),
            "lifecycleStatus": if index % 3 == 0 { "Active" } else { "In study" },
            "price": {"amount": index},
            "relatedParty": [{"id": format!("party-{}", index % 5)}],
        });
        let state = doc["lifecycleStatus"].as_str().unwrap();
        tx.insert(
            "offer",
            &format!("po-{index}"),
            &doc.to_string(),
            &promoted(&format!("Offer {index}"), state),
        )
        .await
        .unwrap();
    }
    tx.insert(
        "party",
        "p-1",
        r#"{"id":"p-1","givenName":"Ada"}"#,
        &Promoted::default(),
    )
    .await
    .unwrap();
    tx.insert("party", "p-2", r#"{"id":"p-2"}"#, &Promoted::default())
        .await
        .unwrap();
    tx.enqueue(
        "delivery",
        r#"{"callback":"http://a/","n":1}"#,
        Some("k-1"),
        0,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    for version in 1..=2 {
        let mut tx = store.begin().await.unwrap();
        let doc = json!({"id": "po-7", "name": format!("Renamed {version}"), "lifecycleStatus": "Active"});
        tx.update(
            "offer",
            "po-7",
            version,
            &doc.to_string(),
            &promoted(&format!("Renamed {version}"), "Active"),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let mut tx = store.begin().await.unwrap();
    tx.delete("party", "p-2").await.unwrap();
    tx.enqueue("delivery", r#"{"n":2}"#, None, 0).await.unwrap();
    tx.enqueue("catalog", r#"{"n":3}"#, Some("k-3"), 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let claimed = store.claim(10, 60_000).await.unwrap();
    assert_eq!(claimed.len(), 3);
    let by_payload = |n: &str| {
        claimed
            .iter()
            .find(|job| job.payload.contains(n))
            .unwrap()
            .clone()
    };
    let retried = by_payload("\"n\":2");
    store
        .fail(
            retried.id,
            retried.attempts,
            "status 500",
            Some(4_000_000_000_000),
        )
        .await
        .unwrap();
    let dead = by_payload("\"n\":3");
    store
        .fail(dead.id, dead.attempts, "gave up", None)
        .await
        .unwrap();
    // The first stays leased: a lease belongs to the source and is not carried over.
}

async fn read_all(store: &Store) -> (Vec<RawDocument>, Vec<RawJob>) {
    let mut snapshot = store.snapshot().await.unwrap();
    let mut documents = Vec::new();
    let mut after = 0;
    loop {
        // A small page, so that paging itself is exercised.
        let page = snapshot.documents(after, 64).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        documents.extend(page);
    }
    let jobs = snapshot.jobs(0, 1000).await.unwrap();
    let counts = snapshot.counts().await.unwrap();
    assert_eq!(counts.documents, documents.len() as u64);
    assert_eq!(counts.jobs, jobs.len() as u64);
    (documents, jobs)
}

async fn copy(source: &Store, target: &Store) {
    let (documents, jobs) = read_all(source).await;
    let mut loader = target.loader().await.unwrap();
    assert!(loader.target_is_empty().await.unwrap());
    loader.documents(&documents).await.unwrap();
    loader.jobs(&jobs).await.unwrap();
    loader.commit().await.unwrap();
}

fn comparable(document: &RawDocument) -> (String, String, i64, String, Value) {
    (
        document.kind.clone(),
        document.id.clone(),
        document.version,
        format!("{:?}", document.promoted),
        serde_json::from_str(&document.json).unwrap(),
    )
}

async fn check_round_trip(source_pg: bool, target_pg: bool) {
    let dir = tempfile::tempdir().unwrap();
    let source = open(&dir, "source.db", source_pg).await;
    let target = open(&dir, "target.db", target_pg).await;
    populate(&source).await;
    copy(&source, &target).await;

    let (before_docs, before_jobs) = read_all(&source).await;
    let (after_docs, after_jobs) = read_all(&target).await;
    assert_eq!(before_docs.len(), 451);
    let before: Vec<_> = before_docs.iter().map(comparable).collect();
    let after: Vec<_> = after_docs.iter().map(comparable).collect();
    assert_eq!(before, after, "documents differ after the move");
    let renamed = after_docs.iter().find(|doc| doc.id == "po-7").unwrap();
    assert_eq!(renamed.version, 3);

    let job_view = |job: &RawJob| {
        (
            job.queue.clone(),
            job.dedup_key.clone(),
            job.payload.clone(),
            job.status,
            job.attempts,
            job.run_at,
            job.last_error.clone(),
            job.created_at,
        )
    };
    assert_eq!(
        before_jobs.iter().map(job_view).collect::<Vec<_>>(),
        after_jobs.iter().map(job_view).collect::<Vec<_>>()
    );
    let statuses: Vec<JobStatus> = after_jobs.iter().map(|job| job.status).collect();
    assert_eq!(
        statuses,
        [JobStatus::Ready, JobStatus::Ready, JobStatus::Dead]
    );

    // The link index is rebuilt from the imported rows: who refers to a spec is found
    // the same before and after the move.
    for spec in ["spec-0", "spec-1", "spec-2"] {
        let key = switchboard_store::link("spec", spec);
        let kinds = ["offer".to_string(), "other".to_string()];
        let ids = |found: Vec<switchboard_store::Referrer>| {
            let mut ids: Vec<String> = found.into_iter().map(|r| r.document.id).collect();
            ids.sort();
            ids
        };
        let before = ids(source
            .referrers(std::slice::from_ref(&key), &kinds, 10_000)
            .await
            .unwrap());
        let after = ids(target
            .referrers(std::slice::from_ref(&key), &kinds, 10_000)
            .await
            .unwrap());
        assert!(!before.is_empty(), "{spec} has referrers");
        assert_eq!(before, after, "{spec}");
    }

    // Reads and lists run on the imported rows: by id, by promoted column, by JSON path.
    let read = target.get("offer", "po-7").await.unwrap().unwrap();
    assert_eq!(read.version, 3);
    let active = target
        .list(&ListQuery {
            kind: "offer".to_string(),
            conditions: vec![Condition {
                target: Target::Column(Column::State),
                op: Op::Eq,
                values: vec![operand("Active")],
            }],
            sort: vec![SortKey {
                target: Target::Column(Column::Name),
                descending: false,
            }],
            offset: 0,
            limit: 5,
        })
        .await
        .unwrap();
    assert_eq!(active.total, 151, "po-7 is Active too");
    assert_eq!(active.count, 5);
    let by_party = target
        .list(&ListQuery {
            kind: "offer".to_string(),
            conditions: vec![Condition {
                target: Target::Json(vec!["relatedParty".to_string(), "id".to_string()]),
                op: Op::Eq,
                values: vec![operand("party-3")],
            }],
            sort: Vec::new(),
            offset: 0,
            limit: 3,
        })
        .await
        .unwrap();
    assert_eq!(by_party.total, 90);
    let first: Vec<Value> = serde_json::from_str(&format!("[{}]", by_party.items)).unwrap();
    let ids: Vec<&str> = first
        .iter()
        .map(|doc| doc["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["po-3", "po-8", "po-13"], "creation order survives");

    // The queue works on the imported jobs: the source's lease is gone, the retry
    // waits for its time, the dead job stays dead.
    let claimed = target.claim(10, 60_000).await.unwrap();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    assert!(claimed[0].payload.contains("\"n\":1"));
    assert_eq!(claimed[0].attempts, 2);
    target
        .complete(claimed[0].id, claimed[0].attempts)
        .await
        .unwrap();
    assert_eq!(target.dead_jobs().await.unwrap().len(), 1);

    // New writes continue from there: versions, and ids taken.
    let mut tx = target.begin().await.unwrap();
    tx.update("offer", "po-7", 3, r#"{"id":"po-7"}"#, &Promoted::default())
        .await
        .unwrap();
    tx.insert(
        "offer",
        "po-new",
        r#"{"id":"po-new"}"#,
        &Promoted::default(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut tx = target.begin().await.unwrap();
    tx.insert("offer", "po-1", r#"{"id":"po-1"}"#, &Promoted::default())
        .await
        .unwrap();
    assert!(matches!(tx.commit().await, Err(StoreError::Duplicate)));
}

fn operand(raw: &str) -> Operand {
    Operand {
        raw: raw.to_string(),
        number: raw.parse().ok(),
        instant: None,
        boolean: None,
    }
}

#[tokio::test]
async fn sqlite_to_sqlite_keeps_every_row() {
    let _disk = crate::common::beside().await;
    check_round_trip(false, false).await;
}

#[tokio::test]
async fn sqlite_to_postgres_and_back_keep_every_row() {
    let _disk = crate::common::beside().await;
    if !postgres_available() {
        eprintln!("PostgreSQL not tested: set SWITCHBOARD_TEST_DATABASE_URL");
        return;
    }
    check_round_trip(false, true).await;
    check_round_trip(true, false).await;
    check_round_trip(true, true).await;
}

#[tokio::test]
async fn a_load_is_all_or_nothing() {
    let _disk = crate::common::beside().await;
    for postgres in [false, true] {
        if postgres && !postgres_available() {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let source = open(&dir, "source.db", false).await;
        let target = open(&dir, "target.db", postgres).await;
        populate(&source).await;
        let (documents, jobs) = read_all(&source).await;

        // Dropped before commit: nothing was written.
        let mut loader = target.loader().await.unwrap();
        loader.documents(&documents).await.unwrap();
        loader.jobs(&jobs).await.unwrap();
        drop(loader);
        assert!(target
            .loader()
            .await
            .unwrap()
            .target_is_empty()
            .await
            .unwrap());

        // A duplicate row fails the load, and nothing of it stays.
        let mut loader = target.loader().await.unwrap();
        let mut twice = documents.clone();
        twice.push(documents[0].clone());
        let failed = loader.documents(&twice).await;
        assert!(matches!(failed, Err(StoreError::Duplicate)), "{failed:?}");
        drop(loader);
        assert!(target.get("offer", "po-1").await.unwrap().is_none());

        // Once loaded, the database is no longer empty to the next loader.
        copy(&source, &target).await;
        let mut loader = target.loader().await.unwrap();
        assert!(!loader.target_is_empty().await.unwrap());
    }
}

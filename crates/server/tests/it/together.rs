//! `Engine::together`: several server-made writes of different APIs in one transaction
//! (the chain's steps end this way). Driven on the engine itself, over the same
//! database a server would use (SQLite, or PostgreSQL when the suite is pointed at it).

use serde_json::{json, Value};
use switchboard::ServeConfig;
use switchboard_engine::{Engine, ErrorKind, ResourceRef};

use crate::support::database_url;

async fn engine() -> (Engine, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServeConfig::new("127.0.0.1:0", database_url(&dir));
    config.pg_connections = 4;
    let (engine, _) = switchboard::build(&config).await.unwrap();
    (engine, dir)
}

fn resources(engine: &Engine) -> ResourceRef {
    engine.served("TMF639", "resource").unwrap()
}

fn parties(engine: &Engine) -> ResourceRef {
    engine.served("TMF632", "organization").unwrap()
}

/// Asserts the stored `name` of a document (`None`: no such document).
async fn assert_name(
    engine: &Engine,
    (api, collection, id): (&str, &str, &str),
    name: Option<&str>,
) {
    let stored = engine.document(api, collection, id).await.unwrap();
    let found = stored.map(|doc| doc["name"].as_str().unwrap_or_default().to_string());
    assert_eq!(found.as_deref(), name, "{api} {collection} {id}");
}

#[tokio::test]
async fn writes_made_together_are_stored_together_or_not_at_all() {
    let (engine, _dir) = engine().await;
    let (at, party) = (resources(&engine), parties(&engine));

    // Two APIs, a create and a change of what it created: one commit.
    let mut together = engine.together(false).await.unwrap();
    together
        .ensure(at, "r-1", json!({"name": "first"}))
        .await
        .unwrap();
    together
        .ensure(party, "o-1", json!({"name": "Acme", "tradingName": "Acme"}))
        .await
        .unwrap();
    let changed = together
        .update(at, "r-1", |doc: &mut Value| {
            doc["name"] = json!("renamed");
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(changed["name"], "renamed");
    assert_name(&engine, ("TMF639", "resource", "r-1"), None).await;
    together.commit().await.unwrap();
    assert_name(&engine, ("TMF639", "resource", "r-1"), Some("renamed")).await;
    assert_name(&engine, ("TMF632", "organization", "o-1"), Some("Acme")).await;

    // A write refused on the way: the transaction is dropped and nothing of it stays.
    let mut together = engine.together(false).await.unwrap();
    together
        .ensure(at, "r-2", json!({"name": "second"}))
        .await
        .unwrap();
    let missing = together
        .update(at, "no-such-resource", |_: &mut Value| Ok(()))
        .await
        .unwrap_err();
    assert_eq!(missing.kind, ErrorKind::NotFound);
    drop(together);
    assert_name(&engine, ("TMF639", "resource", "r-2"), None).await;

    // Without reading first, an id already taken fails the whole commit as a conflict
    // that no concurrent change explains (the chain's steps then run again reading).
    let mut together = engine.together(false).await.unwrap();
    together
        .ensure(at, "r-3", json!({"name": "third"}))
        .await
        .unwrap();
    together
        .ensure(at, "r-1", json!({"name": "again"}))
        .await
        .unwrap();
    let taken = together.commit().await.unwrap_err();
    assert_eq!(taken.kind, ErrorKind::Conflict);
    assert!(!taken.concurrent, "{taken:?}");
    assert_name(&engine, ("TMF639", "resource", "r-3"), None).await;
    assert_name(&engine, ("TMF639", "resource", "r-1"), Some("renamed")).await;

    // Reading first, the stored document is answered as it is and nothing is written.
    let mut together = engine.together(true).await.unwrap();
    let (found, created) = together
        .ensure(at, "r-1", json!({"name": "again"}))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(found["name"], "renamed");
    let (_, created) = together
        .ensure(at, "r-3", json!({"name": "third"}))
        .await
        .unwrap();
    assert!(created);
    together.commit().await.unwrap();
    assert_name(&engine, ("TMF639", "resource", "r-1"), Some("renamed")).await;
    assert_name(&engine, ("TMF639", "resource", "r-3"), Some("third")).await;
}

#[tokio::test]
async fn a_validation_failure_inside_a_together_write_is_a_400_and_stores_nothing() {
    let (engine, _dir) = engine().await;
    let at = resources(&engine);
    let mut together = engine.together(false).await.unwrap();
    together
        .ensure(at, "r-1", json!({"name": "fine"}))
        .await
        .unwrap();
    let refused = together
        .ensure(at, "r-2", json!({"name": 42}))
        .await
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::BadRequest);
    drop(together);
    assert_name(&engine, ("TMF639", "resource", "r-1"), None).await;
}

/// Reserves one unit of each pool, in the order given, in one transaction.
async fn reserve_both(engine: Engine, pools: [String; 2], ids: [&str; 2]) -> bool {
    let at = engine.served("TMF685", "reservation").unwrap();
    let mut together = engine.together(false).await.unwrap();
    for (pool, id) in pools.iter().zip(ids) {
        let body = json!({
            "relatedParty": {"id": "customer-1", "name": "ACME", "@referredType": "Organization"},
            "reservationItem": [{"quantity": 1, "resourceCapacity": {"resourcePool": {"id": pool}}}],
        });
        together.ensure(at, id, body).await.unwrap();
        // The other transaction gets to take its first pool meanwhile.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    together.commit().await.is_ok()
}

#[tokio::test]
async fn two_transactions_taking_two_pools_in_opposite_orders_never_wait_for_each_other() {
    let (engine, _dir) = engine().await;
    let pools = engine.served("TMF685", "resourcePool").unwrap();
    let mut ids = Vec::new();
    for name in ["a", "b"] {
        let body = json!({"name": name, "capacity": {"type": "count", "amount": 10}});
        let (pool, _) = engine.ensure(pools, name, body).await.unwrap();
        ids.push(pool["id"].as_str().unwrap().to_string());
    }
    let (a, b) = (ids[0].clone(), ids[1].clone());
    let both = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        tokio::join!(
            tokio::spawn(reserve_both(
                engine.clone(),
                [a.clone(), b.clone()],
                ["r-1", "r-2"]
            )),
            tokio::spawn(reserve_both(engine.clone(), [b, a], ["r-3", "r-4"])),
        )
    })
    .await
    .expect("the two transactions waited for each other");
    // Each commits, or fails on the version it read (never a unit out twice).
    let committed = [both.0.unwrap(), both.1.unwrap()];
    assert!(committed.iter().any(|done| *done), "{committed:?}");
    for pool in ["a", "b"] {
        let ledger = engine.view(pools, pool, "availability", "").await.unwrap();
        let out = committed.iter().filter(|done| **done).count() as u64;
        assert_eq!(ledger["allocatedAmount"], out, "{ledger}");
    }
}

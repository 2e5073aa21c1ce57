//! TMF685 Resource Pool Management: typed pools hand out their units in order, never
//! more than they hold (also under 64 reservations sent at once), take them back on
//! release, cancel and expiry, and lend them out and back through extract and push.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::support::*;

const POOLS: &str = "/tmf-api/resourcePoolManagement/v1";
const WITHIN: Duration = Duration::from_secs(5);
/// Expiry runs as a job due at the reservation's end; generous for a loaded CI host.
const EXPIRY_WITHIN: Duration = Duration::from_secs(20);

/// Creates a pool with this `capacity` (our extension) and returns its id.
async fn create_pool(server: &TestServer, capacity: Value) -> String {
    let pool = server
        .create(
            &format!("{POOLS}/resourcePool"),
            &json!({"name": "pool", "capacity": capacity}),
        )
        .await;
    pool["id"].as_str().unwrap().to_string()
}

fn pool_path(pool: &str) -> String {
    format!("{POOLS}/resourcePool/{pool}")
}

/// A reservation of `quantity` units of `pool` for one customer.
fn reservation(pool: &str, quantity: u64) -> Value {
    json!({
        "relatedParty": {"id": "customer-1", "name": "ACME", "@referredType": "Organization"},
        "reservationItem": [{
            "quantity": quantity,
            "resourceCapacity": {"resourcePool": {"id": pool}},
        }],
    })
}

async fn reserve(server: &TestServer, pool: &str, quantity: u64) -> Reply {
    server
        .post(
            &format!("{POOLS}/reservation"),
            &reservation(pool, quantity),
        )
        .await
}

/// Reserves, asserting 201, and returns the reservation.
async fn reserved(server: &TestServer, pool: &str, quantity: u64) -> Value {
    let reply = reserve(server, pool, quantity).await;
    assert_eq!(reply.status, 201, "reserve {quantity}: {}", reply.text);
    assert_eq!(reply.body["reservationState"], "reserved", "{}", reply.text);
    reply.body
}

/// The names of the units a reservation holds, item by item, in order.
fn units(reservation: &Value) -> Vec<String> {
    reservation["reservationItem"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|item| {
            item["appliedCapacityAmount"]["resource"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|unit| unit["name"].as_str().unwrap().to_string())
        .collect()
}

async fn availability(server: &TestServer, pool: &str) -> Value {
    let reply = server
        .get(&format!("{}/availability", pool_path(pool)))
        .await;
    assert_eq!(reply.status, 200, "availability: {}", reply.text);
    reply.body
}

/// Moves a reservation to `state` with a merge patch and returns the reply.
async fn set_state(server: &TestServer, reservation: &Value, state: &str) -> Reply {
    let path = format!(
        "{POOLS}/reservation/{}",
        reservation["id"].as_str().unwrap()
    );
    server
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"reservationState": state}),
        )
        .await
}

/// `seconds` from now as an RFC 3339 UTC instant (negative: in the past).
fn instant_in(seconds: i64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    instant(now.as_millis() as i64 + seconds * 1000)
}

/// Milliseconds since the epoch as the server writes instants: UTC, ms, `Z`.
fn instant(millis: i64) -> String {
    let (days, in_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    // The civil date of a day number (H. Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

#[test]
fn instants_are_written_in_utc_with_milliseconds() {
    assert_eq!(instant(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(instant(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(instant(1_714_557_600_123), "2024-05-01T10:00:00.123Z");
    assert_eq!(instant(-1), "1969-12-31T23:59:59.999Z");
}

#[tokio::test]
async fn a_count_pool_runs_out_with_a_tmf_conflict() {
    let server = TestServer::start().await;
    let pool = create_pool(&server, json!({"type": "count", "amount": 3})).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let reservation = reserved(&server, &pool, 1).await;
        let item = &reservation["reservationItem"][0];
        assert_eq!(item["subReservationState"], "reserved", "{reservation}");
        assert_eq!(item["appliedCapacityAmount"]["appliedDemandAmount"], "1");
        assert_eq!(
            item["appliedCapacityAmount"]["resource"][0]["@referredType"],
            "CapacityUnit"
        );
        held.extend(units(&reservation));
    }
    assert_eq!(held, ["1", "2", "3"]);

    let refused = reserve(&server, &pool, 1).await;
    refused.assert_error(409);
    // TMF685 v1's `Error` types `code` as an integer.
    assert_eq!(refused.body["code"], 409, "{}", refused.text);
    let message = refused.body["message"].as_str().unwrap();
    assert!(
        message.contains(&pool) && message.contains("0 free"),
        "{message}"
    );
    // The refused reservation was not stored.
    let listed = server.get(&format!("{POOLS}/reservation")).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 3, "{}", listed.text);

    let view = availability(&server, &pool).await;
    assert_eq!(
        view,
        json!({
            "resourcePool": {"id": pool},
            "totalAmount": 3,
            "allocatedAmount": 3,
            "extractedAmount": 0,
            "availableAmount": 0,
            "nextFree": [],
        })
    );
}

#[tokio::test]
async fn typed_pools_hand_out_the_next_free_unit_in_order() {
    let server = TestServer::start().await;

    // A /29 has six host addresses: the network and broadcast addresses stay out.
    let block = create_pool(&server, json!({"type": "ipv4", "cidr": "10.0.0.0/29"})).await;
    assert_eq!(availability(&server, &block).await["totalAmount"], 6);
    let first = reserved(&server, &block, 2).await;
    assert_eq!(units(&first), ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(
        first["reservationItem"][0]["appliedCapacityAmount"]["resource"][0]["@referredType"],
        "IPv4Address"
    );
    assert_eq!(units(&reserved(&server, &block, 1).await), ["10.0.0.3"]);
    reserve(&server, &block, 4).await.assert_error(409);
    assert_eq!(
        units(&reserved(&server, &block, 3).await),
        ["10.0.0.4", "10.0.0.5", "10.0.0.6"]
    );
    reserve(&server, &block, 1).await.assert_error(409);

    // VLAN ids, asked for by `quantity` or by `capacityDemandAmount`.
    let vlans = create_pool(&server, json!({"type": "vlan", "first": 100, "last": 149})).await;
    assert_eq!(
        units(&reserved(&server, &vlans, 3).await),
        ["100", "101", "102"]
    );
    let by_amount = server
        .create(
            &format!("{POOLS}/reservation"),
            &json!({
                "relatedParty": {"id": "customer-1"},
                "reservationItem": [{
                    "resourceCapacity": {
                        "capacityDemandAmount": "2",
                        "resourcePool": {"id": vlans},
                    },
                }],
            }),
        )
        .await;
    assert_eq!(units(&by_amount), ["103", "104"]);
    assert_eq!(
        availability(&server, &vlans).await["nextFree"],
        json!(["105"])
    );

    // A set pool hands out its collection's entries (objectId, else name) in order.
    let set = server
        .create(
            &format!("{POOLS}/resourcePool"),
            &json!({"name": "ports", "resourceCollection": [
                {"objectId": "port-a"}, {"name": "port-b"}, {"objectId": "port-c"},
            ]}),
        )
        .await;
    let set = set["id"].as_str().unwrap();
    assert_eq!(
        units(&reserved(&server, set, 2).await),
        ["port-a", "port-b"]
    );
    assert_eq!(units(&reserved(&server, set, 1).await), ["port-c"]);
    reserve(&server, set, 1).await.assert_error(409);
}

#[tokio::test]
async fn released_and_cancelled_units_return_and_the_lowest_goes_out_first() {
    let server = TestServer::start().await;
    let pool = create_pool(&server, json!({"type": "vlan", "first": 100, "last": 104})).await;
    let one = reserved(&server, &pool, 1).await;
    let two = reserved(&server, &pool, 2).await;
    let three = reserved(&server, &pool, 1).await;
    assert_eq!(units(&one), ["100"]);
    assert_eq!(units(&two), ["101", "102"]);
    assert_eq!(units(&three), ["103"]);

    let released = set_state(&server, &two, "released").await;
    assert_eq!(released.status, 200, "{}", released.text);
    assert_eq!(released.body["reservationState"], "released");
    assert_eq!(
        released.body["reservationItem"][0]["subReservationState"],
        "released"
    );
    // The record of what was held stays on the reservation.
    assert_eq!(units(&released.body), ["101", "102"]);
    let cancelled = set_state(&server, &one, "cancelled").await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["reservationState"], "cancelled");

    let view = availability(&server, &pool).await;
    assert_eq!(view["allocatedAmount"], 1, "{view}");
    assert_eq!(view["availableAmount"], 4, "{view}");
    assert_eq!(view["nextFree"], json!(["100"]), "{view}");

    // Returned units go out lowest first, before the never-used 104.
    assert_eq!(units(&reserved(&server, &pool, 2).await), ["100", "101"]);
    assert_eq!(units(&reserved(&server, &pool, 2).await), ["102", "104"]);
    reserve(&server, &pool, 1).await.assert_error(409);

    // A finished reservation stays finished, and gives nothing back twice.
    set_state(&server, &two, "reserved").await.assert_error(409);
    let again = set_state(&server, &two, "cancelled").await;
    again.assert_error(409);
    let view = availability(&server, &pool).await;
    assert_eq!(view["availableAmount"], 0, "{view}");

    // What a reservation holds cannot be rewritten.
    let path = format!("{POOLS}/reservation/{}", three["id"].as_str().unwrap());
    server
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"reservationItem": [{"quantity": 5,
                "resourceCapacity": {"resourcePool": {"id": pool}}}]}),
        )
        .await
        .assert_error(400);
    // A reservation is not deleted: it is released.
    let deleted = server.delete(&path).await;
    assert_eq!(deleted.status, 405, "{}", deleted.text);
    assert_eq!(server.get(&path).await.body["reservationState"], "reserved");
}

/// Waits until the reservation at `path` is in `state`; panics after `within`.
async fn wait_for_state(server: &TestServer, path: &str, state: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let reply = server.get(path).await;
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.text);
        if reply.body["reservationState"] == state {
            return reply.body;
        }
        assert!(
            Instant::now() < deadline,
            "reservation not '{state}' after {within:?}: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_reservation_expires_at_its_end_and_gives_its_units_back() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    let hub = server
        .post(
            &format!("{POOLS}/hub"),
            &json!({"callback": listener.url, "query": "eventType=ReservationStateChangeEvent"}),
        )
        .await;
    assert_eq!(hub.status, 201, "{}", hub.text);
    let pool = create_pool(&server, json!({"type": "count", "amount": 3})).await;

    let mut body = reservation(&pool, 2);
    body["valid_for"] = json!(instant_in(2));
    let expiring = server.create(&format!("{POOLS}/reservation"), &body).await;
    assert_eq!(expiring["reservationState"], "reserved");
    assert_eq!(units(&expiring), ["1", "2"]);
    // `validFor.endDateTime` is read as well.
    let mut body = reservation(&pool, 1);
    body["validFor"] = json!({"endDateTime": instant_in(3)});
    let period = server.create(&format!("{POOLS}/reservation"), &body).await;
    assert_eq!(units(&period), ["3"]);

    let path = format!("{POOLS}/reservation/{}", expiring["id"].as_str().unwrap());
    let expired = wait_for_state(&server, &path, "expired", EXPIRY_WITHIN).await;
    assert_eq!(
        expired["reservationItem"][0]["subReservationState"],
        "expired"
    );
    let path = format!("{POOLS}/reservation/{}", period["id"].as_str().unwrap());
    wait_for_state(&server, &path, "expired", EXPIRY_WITHIN).await;

    let view = availability(&server, &pool).await;
    assert_eq!(view["allocatedAmount"], 0, "{view}");
    assert_eq!(view["availableAmount"], 3, "{view}");
    assert_eq!(view["nextFree"], json!(["1"]), "{view}");
    assert_eq!(units(&reserved(&server, &pool, 3).await), ["1", "2", "3"]);

    // Each expiry announced its state change.
    listener.wait_for(2, WITHIN).await;
    server.queue().await.wait_idle().await;
    let events = listener.events();
    let states: HashSet<(String, String)> = events
        .iter()
        .map(|event| {
            assert_eq!(event["eventType"], "ReservationStateChangeEvent", "{event}");
            let reservation = &event["event"]["reservation"];
            (
                reservation["id"].as_str().unwrap().to_string(),
                reservation["reservationState"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    let expected: HashSet<(String, String)> = [&expiring, &period]
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), "expired".to_string()))
        .collect();
    assert_eq!(states, expected, "{events:?}");
    assert_eq!(listener.events().len(), 2);
}

#[tokio::test]
async fn a_reservation_end_must_be_a_future_date_time() {
    let server = TestServer::start().await;
    let pool = create_pool(&server, json!({"type": "count", "amount": 3})).await;
    let reservations = format!("{POOLS}/reservation");
    let mut past = reservation(&pool, 1);
    past["valid_for"] = json!(instant_in(-60));
    let refused = server.post(&reservations, &past).await;
    refused.assert_error(400);
    assert!(
        refused.body["message"].as_str().unwrap().contains("past"),
        "{}",
        refused.text
    );
    let mut past = reservation(&pool, 1);
    past["validFor"] = json!({"endDateTime": instant_in(-60)});
    server.post(&reservations, &past).await.assert_error(400);
    let mut garbled = reservation(&pool, 1);
    garbled["valid_for"] = json!("tomorrow");
    server.post(&reservations, &garbled).await.assert_error(400);
    // Nothing was taken by the refused ones.
    assert_eq!(availability(&server, &pool).await["allocatedAmount"], 0);
}

/// POSTs `body` with a plain client, as a task that does not borrow the server.
async fn post_raw(client: reqwest::Client, url: String, body: Value) -> (u16, Value) {
    let response = client.post(url).json(&body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// 64 reservations race for a pool of 50: exactly 50 win, each with its own unit. On
/// PostgreSQL a second server on the same database takes every other request, so the
/// ledger's versioned write (not only one process's lock) keeps them apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_reservations_never_overcommit_a_pool() {
    let server = TestServer::start().await;
    let on_postgres = server.config.database_url.starts_with("postgres");
    let second = if on_postgres {
        let database_url = server.config.database_url.clone();
        Some(TestServer::start_with(|config| config.database_url = database_url).await)
    } else {
        None
    };
    let pool = create_pool(&server, json!({"type": "vlan", "first": 100, "last": 149})).await;
    let racers = 64;
    // Every task is spawned and waiting before any of them sends.
    let start = Arc::new(tokio::sync::Barrier::new(racers));
    let mut tasks = tokio::task::JoinSet::new();
    for racer in 0..racers {
        let target = match &second {
            Some(second) if racer % 2 == 1 => second,
            _ => &server,
        };
        let client = target.client.clone();
        let url = target.url(&format!("{POOLS}/reservation"));
        let body = reservation(&pool, 1);
        let start = start.clone();
        tasks.spawn(async move {
            start.wait().await;
            post_raw(client, url, body).await
        });
    }
    let mut won = Vec::new();
    let mut lost = Vec::new();
    while let Some(outcome) = tasks.join_next().await {
        let (status, body) = outcome.unwrap();
        match status {
            201 => won.push(body),
            _ => lost.push((status, body)),
        }
    }
    assert_eq!(won.len(), 50, "lost: {lost:?}");
    assert_eq!(lost.len(), 14);
    for (status, body) in &lost {
        assert_eq!(*status, 409, "{body}");
        assert_eq!(body["@type"], "Error", "{body}");
        assert_eq!(body["code"], 409, "{body}");
        assert!(body["reason"].is_number() && body["message"].is_string());
    }
    let names: Vec<String> = won.iter().flat_map(units).collect();
    let distinct: HashSet<&String> = names.iter().collect();
    assert_eq!(names.len(), 50);
    assert_eq!(distinct.len(), 50, "a unit went out twice: {names:?}");
    let expected: HashSet<String> = (100..150).map(|id: u32| id.to_string()).collect();
    assert_eq!(
        distinct.into_iter().cloned().collect::<HashSet<_>>(),
        expected
    );

    let view = availability(&server, &pool).await;
    assert_eq!(view["allocatedAmount"], 50, "{view}");
    assert_eq!(view["availableAmount"], 0, "{view}");
    assert_eq!(view["nextFree"], json!([]), "{view}");
    let stored = server
        .get(&format!("{POOLS}/reservation?limit=100&fields=id"))
        .await;
    assert_eq!(stored.body.as_array().unwrap().len(), 50, "{}", stored.text);
}

#[tokio::test]
async fn extracted_units_come_back_by_push() {
    let server = TestServer::start().await;
    let pool = create_pool(&server, json!({"type": "vlan", "first": 100, "last": 104})).await;
    let held = reserved(&server, &pool, 1).await;
    assert_eq!(units(&held), ["100"]);

    let extract = server
        .create(
            &format!("{POOLS}/extract"),
            &json!({"resourcePool": {"id": pool}, "quantity": 2}),
        )
        .await;
    assert_eq!(extract["state"], "done", "{extract}");
    let taken: Vec<&str> = extract["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|unit| unit["name"].as_str().unwrap())
        .collect();
    assert_eq!(taken, ["101", "102"]);
    let view = availability(&server, &pool).await;
    assert_eq!(
        (
            &view["allocatedAmount"],
            &view["extractedAmount"],
            &view["availableAmount"]
        ),
        (&json!(3), &json!(2), &json!(2)),
        "{view}"
    );
    server
        .post(
            &format!("{POOLS}/extract"),
            &json!({"resourcePool": {"id": pool}, "quantity": 3}),
        )
        .await
        .assert_error(409);
    // A quantity that is not a whole number of units is refused, not read as one.
    for quantity in [json!("2"), json!(-2), json!(0), json!(1.5)] {
        server
            .post(
                &format!("{POOLS}/extract"),
                &json!({"resourcePool": {"id": pool}, "quantity": quantity}),
            )
            .await
            .assert_error(400);
    }
    assert_eq!(availability(&server, &pool).await["extractedAmount"], 2);

    let push = |names: Vec<&str>| {
        let body = json!({
            "resourcePool": {"id": pool},
            "resource": names.iter().map(|name| json!({"name": name})).collect::<Vec<_>>(),
        });
        let server = &server;
        async move { server.post(&format!("{POOLS}/push"), &body).await }
    };
    let pushed = push(vec!["101"]).await;
    assert_eq!(pushed.status, 201, "{}", pushed.text);
    assert_eq!(pushed.body["state"], "done");
    // Not extracted (any more, or ever: 100 is reserved), not in the pool, or nothing.
    push(vec!["101"]).await.assert_error(409);
    push(vec!["100"]).await.assert_error(409);
    push(vec!["999"]).await.assert_error(400);
    push(vec![]).await.assert_error(400);
    let view = availability(&server, &pool).await;
    assert_eq!(view["extractedAmount"], 1, "{view}");
    assert_eq!(view["allocatedAmount"], 2, "{view}");
    assert_eq!(view["nextFree"], json!(["101"]), "{view}");

    // The pushed unit is the next one out.
    assert_eq!(units(&reserved(&server, &pool, 1).await), ["101"]);

    // An availability check answers for a demand without taking anything.
    let check = server
        .create(
            &format!("{POOLS}/availabilityCheck"),
            &json!({"resourcePool": {"id": pool},
                    "resourceCapacity": {"capacityDemandAmount": "2"}}),
        )
        .await;
    assert_eq!(check["available"], true, "{check}");
    assert_eq!(check["nextFree"], json!(["103", "104"]), "{check}");
    let check = server
        .create(
            &format!("{POOLS}/availabilityCheck"),
            &json!({"resourcePool": {"id": pool},
                    "resourceCapacity": {"capacityDemandAmount": "3"}}),
        )
        .await;
    assert_eq!(check["available"], false, "{check}");
    assert_eq!(availability(&server, &pool).await["availableAmount"], 2);
    // Pools, reservations and the tasks read back valid against TMF685's definitions.
    assert!(crate::formats::assert_every_document_valid(&server).await > 3);
}

#[tokio::test]
async fn a_pool_is_deleted_only_when_nothing_is_out() {
    let server = TestServer::start().await;
    let pool = create_pool(&server, json!({"type": "count", "amount": 5})).await;
    let held = reserved(&server, &pool, 2).await;
    let refused = server.delete(&pool_path(&pool)).await;
    refused.assert_error(409);
    assert!(
        refused.body["message"].as_str().unwrap().contains("2 unit"),
        "{}",
        refused.text
    );

    let extract = server
        .create(
            &format!("{POOLS}/extract"),
            &json!({"resourcePool": {"id": pool}, "quantity": 1}),
        )
        .await;
    assert_eq!(set_state(&server, &held, "released").await.status, 200);
    // The extracted unit still holds the pool.
    server.delete(&pool_path(&pool)).await.assert_error(409);
    let pushed = server
        .post(
            &format!("{POOLS}/push"),
            &json!({"resourcePool": {"id": pool}, "resource": extract["resource"]}),
        )
        .await;
    assert_eq!(pushed.status, 201, "{}", pushed.text);

    let deleted = server.delete(&pool_path(&pool)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    server.get(&pool_path(&pool)).await.assert_error(404);
    server
        .get(&format!("{}/availability", pool_path(&pool)))
        .await
        .assert_error(404);
    // A reservation naming the deleted pool is refused.
    reserve(&server, &pool, 1).await.assert_error(400);
}

#[tokio::test]
async fn a_pool_keeps_its_capacity_and_a_set_pool_only_grows_at_the_end() {
    let server = TestServer::start().await;
    let pool = create_pool(&server, json!({"type": "vlan", "first": 100, "last": 109})).await;
    let path = pool_path(&pool);
    server
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"capacity": {"type": "vlan", "first": 100, "last": 119}}),
        )
        .await
        .assert_error(400);
    let renamed = server
        .patch(
            &path,
            "application/merge-patch+json",
            &json!({"description": "access VLANs"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(availability(&server, &pool).await["totalAmount"], 10);

    let set = server
        .create(
            &format!("{POOLS}/resourcePool"),
            &json!({"name": "ports", "resourceCollection": [{"objectId": "a"}, {"objectId": "b"}]}),
        )
        .await;
    let set_path = pool_path(set["id"].as_str().unwrap());
    assert_eq!(
        units(&reserved(&server, set["id"].as_str().unwrap(), 1).await),
        ["a"]
    );
    server
        .patch(
            &set_path,
            "application/merge-patch+json",
            &json!({"resourceCollection": [{"objectId": "b"}, {"objectId": "a"}]}),
        )
        .await
        .assert_error(400);
    let grown = server
        .patch(
            &set_path,
            "application/merge-patch+json",
            &json!({"resourceCollection": [{"objectId": "a"}, {"objectId": "b"}, {"objectId": "c"}]}),
        )
        .await;
    assert_eq!(grown.status, 200, "{}", grown.text);
    assert_eq!(
        units(&reserved(&server, set["id"].as_str().unwrap(), 2).await),
        ["b", "c"]
    );
}

#[tokio::test]
async fn a_bad_capacity_is_refused() {
    let server = TestServer::start().await;
    let pools = format!("{POOLS}/resourcePool");
    for (capacity, says) in [
        (json!({"type": "ipv4", "cidr": "10.0.0.0/33"}), "cidr"),
        (json!({"type": "ipv4", "cidr": "10.0.0.300/24"}), "cidr"),
        (json!({"type": "ipv4"}), "cidr"),
        (json!({"type": "vlan", "first": 100, "last": 5000}), "last"),
        (json!({"type": "vlan", "first": 0, "last": 10}), "first"),
        (json!({"type": "vlan", "first": 200, "last": 100}), "first"),
        (json!({"type": "count", "amount": -1}), "amount"),
        (json!({"type": "mpls", "amount": 5}), "mpls"),
        (json!({"amount": 5}), "type"),
    ] {
        let reply = server
            .post(&pools, &json!({"name": "bad", "capacity": capacity}))
            .await;
        reply.assert_error(400);
        let message = reply.body["message"].as_str().unwrap();
        assert!(message.contains(says), "{capacity}: {message}");
    }
    server
        .post(
            &pools,
            &json!({"name": "bad", "resourceCollection": [{"@referredType": "Port"}]}),
        )
        .await
        .assert_error(400);
    let listed = server.get(&pools).await;
    assert_eq!(listed.body, json!([]), "{}", listed.text);
}

#[tokio::test]
async fn a_reservation_must_name_an_existing_pool_and_a_sane_demand() {
    let server = TestServer::start().await;
    let reservations = format!("{POOLS}/reservation");
    let missing = reserve(&server, "no-such-pool", 1).await;
    missing.assert_error(400);
    assert!(
        missing.body["message"]
            .as_str()
            .unwrap()
            .contains("no-such-pool"),
        "{}",
        missing.text
    );

    let pool = create_pool(&server, json!({"type": "count", "amount": 5})).await;
    // `relatedParty` is mandatory in v1.
    let mut anonymous = reservation(&pool, 1);
    anonymous.as_object_mut().unwrap().remove("relatedParty");
    server
        .post(&reservations, &anonymous)
        .await
        .assert_error(400);
    reserve(&server, &pool, 0).await.assert_error(400);
    server
        .post(
            &reservations,
            &json!({"relatedParty": {"id": "c"}, "reservationItem": [{"quantity": 1}]}),
        )
        .await
        .assert_error(400);
    server
        .post(
            &reservations,
            &json!({"relatedParty": {"id": "c"}, "reservationItem": [{
                "resourceCapacity": {"capacityDemandAmount": "many",
                                     "resourcePool": {"id": pool}}}]}),
        )
        .await
        .assert_error(400);

    // One reservation over two pools takes from both or from neither.
    let small = create_pool(&server, json!({"type": "count", "amount": 1})).await;
    let both = |second: u64| {
        json!({"relatedParty": {"id": "c"}, "reservationItem": [
            {"quantity": 2, "resourceCapacity": {"resourcePool": {"id": pool}}},
            {"quantity": second, "resourceCapacity": {"resourcePool": {"id": small}}},
        ]})
    };
    server.post(&reservations, &both(2)).await.assert_error(409);
    assert_eq!(availability(&server, &pool).await["allocatedAmount"], 0);
    assert_eq!(availability(&server, &small).await["allocatedAmount"], 0);
    let made = server.create(&reservations, &both(1)).await;
    assert_eq!(units(&made), ["1", "2", "1"]);
    let released = set_state(&server, &made, "released").await;
    assert_eq!(released.status, 200, "{}", released.text);
    assert_eq!(availability(&server, &pool).await["allocatedAmount"], 0);
    assert_eq!(availability(&server, &small).await["allocatedAmount"], 0);
}

#[tokio::test]
async fn reservation_changes_emit_create_and_state_change_events() {
    let server = TestServer::start().await;
    let listener = Listener::start(0).await;
    let hub = server
        .post(
            &format!("{POOLS}/hub"),
            &json!({"callback": listener.url, "query": "eventType=ReservationCreateEvent,ReservationStateChangeEvent"}),
        )
        .await;
    assert_eq!(hub.status, 201, "{}", hub.text);
    let pool = create_pool(&server, json!({"type": "count", "amount": 2})).await;
    let created = reserved(&server, &pool, 1).await;
    let events = listener.wait_for(1, WITHIN).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["eventType"], "ReservationCreateEvent");
    assert_eq!(events[0]["event"]["reservation"], created);

    let released = set_state(&server, &created, "released").await;
    assert_eq!(released.status, 200, "{}", released.text);
    let events = listener.wait_for(2, WITHIN).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1]["eventType"], "ReservationStateChangeEvent");
    assert_eq!(events[1]["event"]["reservation"], released.body);
    server.queue().await.wait_idle().await;
    assert_eq!(listener.events().len(), 2);
}

/// A set pool's units are its entries: one named twice would be handed out twice.
#[tokio::test]
async fn a_set_pool_cannot_name_a_resource_twice() {
    let server = TestServer::start().await;
    let refused = server
        .post(
            &format!("{POOLS}/resourcePool"),
            &json!({"name": "ports", "resourceCollection": [
                {"objectId": "a"}, {"objectId": "a"}, {"objectId": "b"}]}),
        )
        .await;
    refused.assert_error(400);
    assert!(refused.text.contains("'a' twice"), "{}", refused.text);
}

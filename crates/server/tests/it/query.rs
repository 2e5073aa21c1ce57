//! TMF630 list queries over HTTP: every filter operator on strings, numbers and dates,
//! OR lists, paths into objects and arrays, projection, sort, paging and its headers.

use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

fn offerings() -> String {
    format!("{CATALOG}/productOffering")
}

/// The items of a successful list reply.
fn items(reply: &Reply) -> &Vec<Value> {
    assert!(reply.status.is_success(), "{}", reply.text);
    reply
        .body
        .as_array()
        .unwrap_or_else(|| panic!("not a JSON array: {}", reply.text))
}

/// The `name` of each listed item, in the order served.
fn names(reply: &Reply) -> Vec<String> {
    items(reply)
        .iter()
        .map(|item| item["name"].as_str().unwrap().to_string())
        .collect()
}

/// The names a query selects on `path`, sorted, for checks that do not depend on order.
async fn select(server: &TestServer, path: &str, query: &str) -> Vec<String> {
    let reply = server.get(&format!("{path}?{query}")).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.text);
    let mut names = names(&reply);
    names.sort();
    names
}

/// The ids of a list reply, in the order served.
fn ids(reply: &Reply) -> Vec<String> {
    items(reply)
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect()
}

fn count_headers(reply: &Reply) -> (u64, u64) {
    let total = reply.header("x-total-count").unwrap().parse().unwrap();
    let count = reply.header("x-result-count").unwrap().parse().unwrap();
    (total, count)
}

/// Waits until the server clock (UTC, millisecond precision, like `lastUpdate`) has
/// passed `stamp`, so the next write carries a strictly later date.
pub async fn wait_for_clock_past(stamp: &str) {
    let passed = eventually(Duration::from_secs(2), || async {
        switchboard_engine::now_rfc3339().as_str() > stamp
    })
    .await;
    assert!(passed, "the clock did not pass {stamp}");
}

#[tokio::test]
async fn string_operators_on_promoted_and_document_attributes() {
    let server = TestServer::start().await;
    let path = offerings();
    for (name, description) in [
        ("Alpha", "a-one"),
        ("Bravo", "b-two"),
        ("Charlie", "c-three"),
        ("Delta", "d-four"),
    ] {
        server
            .create(&path, &json!({"name": name, "description": description}))
            .await;
    }
    // `name` is read from its indexed column, `description` from the document: both
    // must mean the same.
    let cases: &[(&str, &[&str])] = &[
        ("name=Bravo", &["Bravo"]),
        ("name.eq=Bravo", &["Bravo"]),
        ("name.ne=Bravo", &["Alpha", "Charlie", "Delta"]),
        ("name.gt=Bravo", &["Charlie", "Delta"]),
        ("name.gte=Bravo", &["Bravo", "Charlie", "Delta"]),
        ("name.lt=Charlie", &["Alpha", "Bravo"]),
        ("name.lte=Charlie", &["Alpha", "Bravo", "Charlie"]),
        ("name.regex=^(A|D)", &["Alpha", "Delta"]),
        ("name.regex=ar", &["Charlie"]),
        ("name.regex=(?i)^alpha$", &["Alpha"]),
        ("name=alpha", &[]),
        ("description=b-two", &["Bravo"]),
        ("description.eq=b-two", &["Bravo"]),
        ("description.ne=b-two", &["Alpha", "Charlie", "Delta"]),
        ("description.gt=b-two", &["Charlie", "Delta"]),
        ("description.gte=b-two", &["Bravo", "Charlie", "Delta"]),
        ("description.lt=c-three", &["Alpha", "Bravo"]),
        ("description.lte=c-three", &["Alpha", "Bravo", "Charlie"]),
        ("description.regex=^c-", &["Charlie"]),
        ("description.regex=o$", &["Bravo"]),
        ("name!=Bravo", &["Alpha", "Charlie", "Delta"]),
        ("description!=b-two", &["Alpha", "Charlie", "Delta"]),
    ];
    for (query, expected) in cases {
        assert_eq!(select(&server, &path, query).await, *expected, "{query}");
    }
}

#[tokio::test]
async fn number_operators_compare_numerically() {
    let server = TestServer::start().await;
    let path = format!("{CATALOG}/productOfferingPrice");
    // Stored as a JSON real, an integer and a real.
    for (name, value, period) in [
        ("p5", json!(5.0), 1),
        ("p10", json!(10), 12),
        ("p20.5", json!(20.5), 24),
    ] {
        server
            .create(
                &path,
                &json!({"name": name, "price": {"unit": "EUR", "value": value},
                        "recurringChargePeriodLength": period}),
            )
            .await;
    }
    server.create(&path, &json!({"name": "none"})).await;
    // As text, "5" > "10" and "12" < "2": every case below tells numbers from text.
    let cases: &[(&str, &[&str])] = &[
        ("price.value=10", &["p10"]),
        ("price.value.eq=10.0", &["p10"]),
        ("price.value.eq=20.5", &["p20.5"]),
        ("price.value.ne=10", &["none", "p20.5", "p5"]),
        ("price.value.gt=9", &["p10", "p20.5"]),
        ("price.value.gte=10", &["p10", "p20.5"]),
        ("price.value.lt=10", &["p5"]),
        ("price.value.lte=10", &["p10", "p5"]),
        ("price.value.gt=20.4", &["p20.5"]),
        ("price.value.lt=5.5", &["p5"]),
        ("recurringChargePeriodLength.gt=2", &["p10", "p20.5"]),
        ("recurringChargePeriodLength.lte=12", &["p10", "p5"]),
        ("price.value>=10", &["p10", "p20.5"]),
        ("price.value>10", &["p20.5"]),
        ("price.value<10", &["p5"]),
        ("price.value<=10", &["p10", "p5"]),
        ("price.value.gt=1e1", &["p20.5"]),
        ("price.unit=EUR", &["p10", "p20.5", "p5"]),
        ("price.unit=USD", &[]),
    ];
    for (query, expected) in cases {
        assert_eq!(select(&server, &path, query).await, *expected, "{query}");
    }
}

#[tokio::test]
async fn dates_compare_as_instants_whatever_the_offset() {
    let server = TestServer::start().await;
    let path = offerings();
    // Chronologically: B (22:30Z) < C (23:00Z) < A (00:30Z) < D (00:59:00.5Z). Read as
    // text the order differs, so each case below fails if text is compared.
    for (name, start) in [
        ("A", "2024-01-01T00:30:00Z"),
        ("B", "2023-12-31T23:30:00+01:00"),
        ("C", "2024-01-01T01:00:00+02:00"),
        ("D", "2023-12-31T23:59:00.500-01:00"),
    ] {
        server
            .create(
                &path,
                &json!({"name": name, "validFor": {"startDateTime": start}}),
            )
            .await;
    }
    let cases: &[(&str, &[&str])] = &[
        (
            "validFor.startDateTime.gt=2023-12-31T22:45:00Z",
            &["A", "C", "D"],
        ),
        (
            "validFor.startDateTime.gt=2024-01-01T00:45:00+02:00",
            &["A", "C", "D"],
        ),
        (
            "validFor.startDateTime.gt=2024-01-01T00:45:00%2B02:00",
            &["A", "C", "D"],
        ),
        (
            "validFor.startDateTime.gte=2023-12-31T23:00:00Z",
            &["A", "C", "D"],
        ),
        (
            "validFor.startDateTime.lt=2024-01-01T00:00:00Z",
            &["B", "C"],
        ),
        (
            "validFor.startDateTime.lte=2024-01-01T01:00:00+02:00",
            &["B", "C"],
        ),
        ("validFor.startDateTime.eq=2023-12-31T23:00:00Z", &["C"]),
        ("validFor.startDateTime=2024-01-01T00:59:00.5Z", &["D"]),
        (
            "validFor.startDateTime.ne=2023-12-31T23:00:00Z",
            &["A", "B", "D"],
        ),
        (
            "validFor.startDateTime>2023-12-31T22:45:00Z",
            &["A", "C", "D"],
        ),
        ("validFor.startDateTime<2024-01-01T00:00:00Z", &["B", "C"]),
        ("validFor.startDateTime>=2024-01-01T00:59:00.500Z", &["D"]),
        ("validFor.startDateTime<=2023-12-31T22:30:00Z", &["B"]),
        // Text that is no date still compares as text, in a column as in the document.
        ("name.gt=2024-01-01T00:00:00Z", &["A", "B", "C", "D"]),
        ("name.lt=2024-01-01T00:00:00Z", &[]),
        ("name.gte=B&name.lt=2024-01-01T00:00:00Z", &[]),
        ("name.gte=B&name.gt=2024-01-01T00:00:00Z", &["B", "C", "D"]),
    ];
    for (query, expected) in cases {
        assert_eq!(select(&server, &path, query).await, *expected, "{query}");
    }
}

#[tokio::test]
async fn last_update_filters_compare_as_instants() {
    let server = TestServer::start().await;
    let path = offerings();
    let mut stamps: Vec<String> = Vec::new();
    for name in ["first", "second", "third"] {
        if let Some(previous) = stamps.last() {
            wait_for_clock_past(previous).await;
        }
        let created = server.create(&path, &json!({"name": name})).await;
        stamps.push(created["lastUpdate"].as_str().unwrap().to_string());
    }
    let second = &stamps[1];
    let cases: Vec<(String, &[&str])> = vec![
        (format!("lastUpdate.gte={second}"), &["second", "third"]),
        (format!("lastUpdate.gt={second}"), &["third"]),
        (format!("lastUpdate.lt={second}"), &["first"]),
        (format!("lastUpdate.lte={second}"), &["first", "second"]),
        (format!("lastUpdate.eq={second}"), &["second"]),
        (format!("lastUpdate={second}"), &["second"]),
        (
            "lastUpdate.gt=2000-01-01T00:00:00-12:00".to_string(),
            &["first", "second", "third"],
        ),
        ("lastUpdate.lt=2000-01-01T12:00:00+14:00".to_string(), &[]),
    ];
    for (query, expected) in &cases {
        assert_eq!(select(&server, &path, query).await, *expected, "{query}");
    }
}

#[tokio::test]
async fn a_comma_means_or_and_separate_filters_mean_and() {
    let server = TestServer::start().await;
    let path = offerings();
    for (name, status, category) in [
        ("studied", "In study", "c1"),
        ("launched", "Launched", "c2"),
        ("retired", "Retired", "c3"),
        ("designed", "In design", "c1"),
    ] {
        server
            .create(
                &path,
                &json!({"name": name, "lifecycleStatus": status, "category": [{"id": category}]}),
            )
            .await;
    }
    let cases: &[(&str, &[&str])] = &[
        (
            "lifecycleStatus=In study,Launched",
            &["launched", "studied"],
        ),
        ("lifecycleStatus=In%20study", &["studied"]),
        (
            "lifecycleStatus.eq=Retired,In design",
            &["designed", "retired"],
        ),
        (
            "lifecycleStatus=In study,Launched&name=launched",
            &["launched"],
        ),
        ("lifecycleStatus=In study,Launched&name=retired", &[]),
        ("category.id=c1,c3", &["designed", "retired", "studied"]),
        ("category.id=c1&lifecycleStatus=In design", &["designed"]),
        ("name=studied,retired,nobody", &["retired", "studied"]),
    ];
    for (query, expected) in cases {
        assert_eq!(select(&server, &path, query).await, *expected, "{query}");
    }
}

#[tokio::test]
async fn dotted_paths_reach_into_objects_and_arrays() {
    let server = TestServer::start().await;
    let path = offerings();
    server
        .create(
            &path,
            &json!({"name": "fiber", "productSpecification": {"id": "spec-1", "name": "Fiber spec"},
                    "category": [{"id": "cat-1"}, {"id": "cat-2", "name": "Broadband"}]}),
        )
        .await;
    server
        .create(
            &path,
            &json!({"name": "mobile", "productSpecification": {"id": "spec-2"},
                    "category": [{"id": "cat-3"}]}),
        )
        .await;
    server.create(&path, &json!({"name": "bare"})).await;
    let cases: &[(&str, &[&str])] = &[
        ("productSpecification.id=spec-1", &["fiber"]),
        ("productSpecification.id=spec-2", &["mobile"]),
        ("productSpecification.name=Fiber spec", &["fiber"]),
        ("productSpecification.id=spec-9", &[]),
        ("category.id=cat-2", &["fiber"]),
        ("category.id=cat-1", &["fiber"]),
        ("category.id=cat-3", &["mobile"]),
        ("category.name=Broadband", &["fiber"]),
        ("category.id.regex=^cat-[12]$", &["fiber"]),
        ("category.id.ne=cat-3", &["bare", "fiber"]),
        ("category.nothing=x", &[]),
        ("nothing.at.all=x", &[]),
    ];
    for (query, expected) in cases {
        assert_eq!(select(&server, &path, query).await, *expected, "{query}");
    }

    // relatedParty is an array of objects on a catalog.
    let catalogs = format!("{CATALOG}/catalog");
    server
        .create(
            &catalogs,
            &json!({"name": "Residential", "relatedParty": [
                {"id": "party-1", "role": "owner", "@referredType": "Organization"},
                {"id": "party-2", "role": "reviewer", "@referredType": "Individual"}]}),
        )
        .await;
    server
        .create(
            &catalogs,
            &json!({"name": "Business", "relatedParty": [
                {"id": "party-3", "role": "owner", "@referredType": "Organization"}]}),
        )
        .await;
    let cases: &[(&str, &[&str])] = &[
        ("relatedParty.id=party-2", &["Residential"]),
        ("relatedParty.id=party-3", &["Business"]),
        ("relatedParty.role=owner", &["Business", "Residential"]),
        ("relatedParty.@referredType=Individual", &["Residential"]),
        (
            "relatedParty.id=party-1,party-3",
            &["Business", "Residential"],
        ),
        ("relatedParty.id=party-4", &[]),
    ];
    for (query, expected) in cases {
        assert_eq!(
            select(&server, &catalogs, query).await,
            *expected,
            "{query}"
        );
    }
}

#[tokio::test]
async fn booleans_types_and_plus_signs_filter_as_encoded() {
    let server = TestServer::start().await;
    let path = offerings();
    server
        .create(&path, &json!({"name": "Fiber+1G", "isBundle": true}))
        .await;
    server
        .create(&path, &json!({"name": "Fiber 1G", "isBundle": false}))
        .await;
    server
        .create(&path, &json!({"name": "Typed", "@type": "FiberOffering"}))
        .await;
    let cases: &[(&str, &[&str])] = &[
        ("isBundle=true", &["Fiber+1G"]),
        ("isBundle=false", &["Fiber 1G"]),
        ("isBundle.ne=true", &["Fiber 1G", "Typed"]),
        ("isBundle=true,false", &["Fiber 1G", "Fiber+1G"]),
        // Form encoding: `+` is a space, `%2B` a plus sign (see `form_query.rs`).
        ("name=Fiber+1G", &["Fiber 1G"]),
        ("name=Fiber%2B1G", &["Fiber+1G"]),
        ("name=Fiber%201G", &["Fiber 1G"]),
        ("@type=FiberOffering", &["Typed"]),
        ("@type=ProductOffering", &["Fiber 1G", "Fiber+1G"]),
        ("@type.ne=ProductOffering", &["Typed"]),
    ];
    for (query, expected) in cases {
        assert_eq!(select(&server, &path, query).await, *expected, "{query}");
    }
}

#[tokio::test]
async fn not_equal_means_the_same_on_every_attribute() {
    // `name` lives in an indexed column, `tradingName` in the document only; an
    // organization without the attribute must be treated alike by both (and like
    // hub subscription queries, which count an absent attribute as "not equal").
    let server = TestServer::start().await;
    let path = format!("{PARTY}/organization");
    server
        .create(&path, &json!({"tradingName": "Acme", "name": "Acme Ltd"}))
        .await;
    server
        .create(&path, &json!({"tradingName": "Initech"}))
        .await;
    let trading_names = |reply: &Reply| {
        let mut names: Vec<String> = items(reply)
            .iter()
            .map(|item| item["tradingName"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let by_column = server.get(&format!("{path}?name.ne=Acme%20Ltd")).await;
    assert_eq!(trading_names(&by_column), ["Initech"]);
    let by_document = server.get(&format!("{path}?nameType.ne=Trading")).await;
    assert_eq!(trading_names(&by_document), ["Acme", "Initech"]);
    let unmatched = server.get(&format!("{path}?name.ne=Other")).await;
    assert_eq!(trading_names(&unmatched), ["Acme", "Initech"]);
}

#[tokio::test]
async fn fields_projects_lists_and_single_reads() {
    let server = TestServer::start().await;
    let path = offerings();
    let created = server
        .create(
            &path,
            &json!({"name": "fiber", "description": "fast", "productSpecification": {"id": "spec-1", "name": "Fiber spec"},
                    "category": [{"id": "cat-1", "name": "one"}, {"id": "cat-2", "name": "two"}]}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let href = created["href"].as_str().unwrap();

    let listed = server
        .get(&format!("{path}?fields=name,lifecycleStatus"))
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.body,
        json!([{"id": id, "href": href, "name": "fiber", "lifecycleStatus": "In study"}])
    );

    let nested = server
        .get(&format!(
            "{path}?fields=productSpecification.id,category.name"
        ))
        .await;
    assert_eq!(
        nested.body,
        json!([{"id": id, "href": href, "productSpecification": {"id": "spec-1"},
                "category": [{"name": "one"}, {"name": "two"}]}])
    );

    let nothing_else = server.get(&format!("{path}?fields=missing")).await;
    assert_eq!(nothing_else.body, json!([{"id": id, "href": href}]));

    let single = server
        .get(&format!("{path}/{id}?fields=name,description"))
        .await;
    assert_eq!(single.status, 200);
    assert_eq!(
        single.body,
        json!({"id": id, "href": href, "name": "fiber", "description": "fast"})
    );
    assert_eq!(single.header("etag"), Some("W/\"1\""));

    // Projection and filters together: the filter reads attributes not projected.
    let filtered = server
        .get(&format!("{path}?fields=name&category.id=cat-2"))
        .await;
    assert_eq!(
        filtered.body,
        json!([{"id": id, "href": href, "name": "fiber"}])
    );
}

#[tokio::test]
async fn sort_orders_by_several_keys_in_both_directions() {
    let server = TestServer::start().await;
    let path = offerings();
    let mut ids_by_label = Vec::new();
    let mut last_stamp: Option<String> = None;
    for (label, name) in [("b", "b"), ("a1", "a"), ("c", "c"), ("a2", "a")] {
        if let Some(stamp) = &last_stamp {
            wait_for_clock_past(stamp).await;
        }
        let created = server.create(&path, &json!({"name": name})).await;
        last_stamp = Some(created["lastUpdate"].as_str().unwrap().to_string());
        ids_by_label.push((label, created["id"].as_str().unwrap().to_string()));
    }
    let id = |label: &str| {
        ids_by_label
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, id)| id.clone())
            .unwrap()
    };
    let cases: &[(&str, &[&str])] = &[
        ("sort=name,-lastUpdate", &["a2", "a1", "b", "c"]),
        ("sort=name,lastUpdate", &["a1", "a2", "b", "c"]),
        ("sort=+name,+lastUpdate", &["a1", "a2", "b", "c"]),
        ("sort=-name,-lastUpdate", &["c", "b", "a2", "a1"]),
        ("sort=-lastUpdate", &["a2", "c", "a1", "b"]),
        // Ties keep creation order.
        ("sort=-name", &["c", "b", "a1", "a2"]),
        ("", &["b", "a1", "c", "a2"]),
    ];
    for (query, expected) in cases {
        let reply = server.get(&format!("{path}?{query}")).await;
        let expected: Vec<String> = expected.iter().map(|label| id(label)).collect();
        assert_eq!(ids(&reply), expected, "{query}");
    }

    // A sort key inside the document, numeric.
    let prices = format!("{CATALOG}/productOfferingPrice");
    for (name, value) in [("ten", 10), ("nine", 9), ("hundred", 100)] {
        server
            .create(&prices, &json!({"name": name, "price": {"value": value}}))
            .await;
    }
    let descending = server.get(&format!("{prices}?sort=-price.value")).await;
    assert_eq!(names(&descending), ["hundred", "ten", "nine"]);
    let ascending = server.get(&format!("{prices}?sort=price.value")).await;
    assert_eq!(names(&ascending), ["nine", "ten", "hundred"]);
}

#[tokio::test]
async fn offset_and_limit_page_with_counts_and_status() {
    let server = TestServer::start().await;
    let path = offerings();
    let mut created = Vec::new();
    for index in 0..5 {
        let body = json!({"name": format!("item-{index}"), "version": if index % 2 == 0 { "even" } else { "odd" }});
        created.push(
            server.create(&path, &body).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }

    let all = server.get(&path).await;
    assert_eq!(all.status, 200);
    assert_eq!(count_headers(&all), (5, 5));
    assert_eq!(ids(&all), created);

    let first = server.get(&format!("{path}?limit=2")).await;
    assert_eq!(first.status, 206);
    assert_eq!(count_headers(&first), (5, 2));
    assert_eq!(ids(&first), created[0..2]);

    let middle = server.get(&format!("{path}?offset=2&limit=2")).await;
    assert_eq!(middle.status, 206);
    assert_eq!(count_headers(&middle), (5, 2));
    assert_eq!(ids(&middle), created[2..4]);

    let last = server.get(&format!("{path}?offset=4&limit=2")).await;
    assert_eq!(last.status, 206);
    assert_eq!(count_headers(&last), (5, 1));
    assert_eq!(ids(&last), created[4..5]);

    let exact = server.get(&format!("{path}?limit=5")).await;
    assert_eq!(exact.status, 200);
    assert_eq!(count_headers(&exact), (5, 5));

    let larger = server.get(&format!("{path}?offset=0&limit=50")).await;
    assert_eq!(larger.status, 200);
    assert_eq!(count_headers(&larger), (5, 5));

    // The total counts the matches of the filter, not the collection.
    let odd = server.get(&format!("{path}?version=odd&limit=1")).await;
    assert_eq!(odd.status, 206);
    assert_eq!(count_headers(&odd), (2, 1));
    assert_eq!(ids(&odd), created[1..2]);
    let odd_rest = server
        .get(&format!("{path}?version=odd&offset=1&limit=1"))
        .await;
    assert_eq!(ids(&odd_rest), created[3..4]);

    // `id` is a column of its own, and takes a list like any attribute.
    let chosen = server
        .get(&format!("{path}?id={},{}", created[3], created[1]))
        .await;
    assert_eq!(ids(&chosen), [created[1].clone(), created[3].clone()]);

    let none = server.get(&format!("{path}?version=none")).await;
    assert_eq!(none.status, 200);
    assert_eq!(count_headers(&none), (0, 0));
    assert_eq!(none.body, json!([]));

    // Walking the pages with a sort visits every item once.
    let mut walked = Vec::new();
    for offset in (0..5).step_by(2) {
        let page = server
            .get(&format!("{path}?sort=-name&offset={offset}&limit=2"))
            .await;
        walked.extend(names(&page));
    }
    assert_eq!(walked, ["item-4", "item-3", "item-2", "item-1", "item-0"]);
}

#[tokio::test]
async fn default_and_maximum_page_sizes_apply() {
    let server = TestServer::start().await;
    // 1001 offerings, loaded in one transaction by a catalog import job.
    let offerings_json: Vec<Value> = (0..1001)
        .map(|index| {
            json!({"id": format!("bulk-{index:04}"), "name": format!("bulk {index:04}"),
                   "lifecycleStatus": "In study"})
        })
        .collect();
    let file = server.dir.path().join("bulk.json");
    std::fs::write(
        &file,
        serde_json::to_vec(&json!({"productOffering": offerings_json})).unwrap(),
    )
    .unwrap();
    let job = server
        .create(
            &format!("{CATALOG}/importJob"),
            &json!({"url": format!("file://{}", file.display())}),
        )
        .await;
    let job_path = format!("{CATALOG}/importJob/{}", job["id"].as_str().unwrap());
    let done = eventually(Duration::from_secs(5), || async {
        server.get(&job_path).await.body["status"] != "Not Started"
    })
    .await;
    assert!(done, "the import job did not run");
    let job = server.get(&job_path).await;
    assert_eq!(job.body["status"], "Succeeded", "{}", job.text);

    let path = offerings();
    let default = server.get(&path).await;
    assert_eq!(default.status, 206);
    assert_eq!(count_headers(&default), (1001, 100));
    assert_eq!(items(&default).len(), 100);
    assert_eq!(items(&default)[0]["id"], "bulk-0000");

    let capped = server.get(&format!("{path}?limit=5000")).await;
    assert_eq!(capped.status, 206);
    assert_eq!(count_headers(&capped), (1001, 1000));
    assert_eq!(items(&capped).len(), 1000);

    let rest = server.get(&format!("{path}?offset=1000&limit=5000")).await;
    assert_eq!(rest.status, 206);
    assert_eq!(count_headers(&rest), (1001, 1));
    assert_eq!(ids(&rest), ["bulk-1000"]);

    let filtered = server
        .get(&format!("{path}?name.regex=^bulk 099&fields=name"))
        .await;
    assert_eq!(filtered.status, 200);
    assert_eq!(count_headers(&filtered), (10, 10));
}

/// A regular expression means the same on every backend: the `regex` crate's syntax,
/// Unicode classes, flags and word boundaries (PostgreSQL gets a translation).
#[tokio::test]
async fn regular_expressions_mean_the_same_on_every_backend() {
    let server = TestServer::start().await;
    let path = format!("{CATALOG}/productOffering");
    for name in [
        "123",
        "\u{0661}\u{0662}",
        "FIBER plus",
        "fiber",
        "a\nb",
        "x{y}",
    ] {
        server.create(&path, &json!({"name": name})).await;
    }
    let names = |query: &'static str| {
        let server = &server;
        let path = path.clone();
        async move {
            let reply = server
                .get(&format!("{path}?name.regex={query}&sort=name"))
                .await;
            assert_eq!(reply.status, 200, "{query}: {}", reply.text);
            reply
                .body
                .as_array()
                .unwrap()
                .iter()
                .map(|item| item["name"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    // Unicode digits are digits.
    assert_eq!(names(r"^\d%2B$").await, vec!["123", "\u{0661}\u{0662}"]);
    // Inline flags and word boundaries.
    assert_eq!(names(r"(?i)^fiber\b").await, vec!["FIBER plus", "fiber"]);
    // `.` does not match a newline; `(?s)` makes it.
    assert!(names(r"^a.b$").await.is_empty());
    assert_eq!(names(r"(?s)^a.b$").await, vec!["a\nb"]);
    // Escaped braces are literal; named groups are plain groups.
    assert_eq!(names(r"^x\{y\}$").await, vec!["x{y}"]);
    assert_eq!(names(r"^(?P<digits>[0-9]){3}$").await, vec!["123"]);
}

//! Query strings read as `application/x-www-form-urlencoded`: what Python's `urlencode`,
//! Java's `URLEncoder`, HTML forms and curl `--data-urlencode` send finds what it names,
//! in filters, `fields`, `sort` and paging alike.

use serde_json::json;

use crate::support::*;

fn individuals() -> String {
    format!("{PARTY}/individual")
}

/// The family names a query selects, sorted (order-independent checks).
async fn family_names(server: &TestServer, query: &str) -> Vec<String> {
    let reply = server.get(&format!("{}?{query}", individuals())).await;
    assert_eq!(reply.status, 200, "{query}: {}", reply.text);
    let mut names: Vec<String> = reply
        .body
        .as_array()
        .unwrap_or_else(|| panic!("{query}: not an array: {}", reply.text))
        .iter()
        .map(|party| party["familyName"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

async fn seed(server: &TestServer) {
    for (family, given) in [
        ("Van Dyke", "Dick"),
        ("Müller", "Jürgen"),
        ("A+B", "Plus"),
        ("x=y&z", "Symbols"),
        ("VanDyke", "Joined"),
        ("Nguyễn", "Văn An"),
    ] {
        server
            .create(
                &individuals(),
                &json!({"familyName": family, "givenName": given}),
            )
            .await;
    }
}

#[tokio::test]
async fn filters_decode_as_forms_do() {
    let server = TestServer::start().await;
    seed(&server).await;
    let cases: &[(&str, &str, &[&str])] = &[
        // urllib.parse.urlencode({"familyName": "Van Dyke"}), URLEncoder, HTML forms.
        ("python/java", "familyName=Van+Dyke", &["Van Dyke"]),
        // curl --data-urlencode and hand-written escapes.
        ("curl", "familyName=Van%20Dyke", &["Van Dyke"]),
        // A plus sign is `%2B` in every encoder.
        ("python", "familyName=A%2BB", &["A+B"]),
        // A raw `+` is a space: "A B" names nobody (and not "A+B").
        ("raw", "familyName=A+B", &[]),
        // Non-ASCII text, UTF-8 percent-encoded, also with form spaces.
        ("python", "familyName=M%C3%BCller", &["Müller"]),
        ("java", "givenName=V%C4%83n+An", &["Nguyễn"]),
        ("python", "familyName=Nguy%E1%BB%85n", &["Nguyễn"]),
        // `&` and `=` escaped inside a value (urlencode escapes both).
        ("python", "familyName=x%3Dy%26z", &["x=y&z"]),
        // An unescaped `=` after the first belongs to the value.
        ("raw", "givenName=Symbols&familyName=x=y%26z", &["x=y&z"]),
        // OR lists split on the decoded commas, each alternative decoded alike.
        (
            "python",
            "familyName=Van+Dyke%2CVanDyke",
            &["Van Dyke", "VanDyke"],
        ),
        ("raw", "familyName=Van+Dyke,A%2BB", &["A+B", "Van Dyke"]),
        // Keys are form-decoded too (`%2E` is a dot, `+` a space around an operator).
        (
            "python",
            "familyName%2Eregex=%5EVan",
            &["Van Dyke", "VanDyke"],
        ),
        ("python", "familyName.regex=%5EVan+D", &["Van Dyke"]),
    ];
    for (client, query, expected) in cases {
        assert_eq!(
            family_names(&server, query).await,
            *expected,
            "{client}: {query}"
        );
    }
}

#[tokio::test]
async fn fields_sort_and_paging_decode_as_forms_do() {
    let server = TestServer::start().await;
    seed(&server).await;
    // `fields=familyName, givenName` as urlencode writes it: comma escaped, space `+`.
    let reply = server
        .get(&format!(
            "{}?familyName=Van+Dyke&fields=familyName%2C+givenName",
            individuals()
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let party = &reply.body[0];
    assert_eq!(party["givenName"], "Dick", "{}", reply.text);
    assert_eq!(party["familyName"], "Van Dyke", "{}", reply.text);
    assert!(party.get("@type").is_none(), "{}", reply.text);
    // `sort=+familyName` from a form is ` familyName`: ascending, like `%2BfamilyName`.
    for sort in ["%2BfamilyName", "+familyName", "familyName"] {
        let reply = server
            .get(&format!("{}?sort={sort}&limit=2", individuals()))
            .await;
        assert_eq!(reply.status, 206, "{sort}: {}", reply.text);
        assert_eq!(reply.body[0]["familyName"], "A+B", "{sort}");
        assert_eq!(reply.body[1]["familyName"], "Müller", "{sort}");
    }
    let reply = server
        .get(&format!(
            "{}?sort=-familyName&limit=1&offset=+0",
            individuals()
        ))
        .await;
    assert_eq!(reply.status, 206, "{}", reply.text);
    assert_eq!(reply.body[0]["familyName"], "x=y&z");
    // A non-number stays a 400 however it is encoded.
    let reply = server.get(&format!("{}?limit=1+2", individuals())).await;
    reply.assert_error(400);
}

#[tokio::test]
async fn unescaped_date_offsets_still_compare_as_instants() {
    // `2024-01-01T01:00:00+02:00` typed into a URL decodes to `… 02:00`; no RFC 3339
    // text has a space there, so it is read with its plus sign back.
    let server = TestServer::start().await;
    let path = individuals();
    for (family, birth) in [
        ("Early", "2023-12-31T22:30:00Z"),
        ("Late", "2024-01-01T00:30:00Z"),
    ] {
        server
            .create(
                &path,
                &json!({"familyName": family, "givenName": "G", "birthDate": birth}),
            )
            .await;
    }
    for query in [
        "birthDate.gt=2024-01-01T01:00:00+02:00",
        "birthDate.gt=2024-01-01T01:00:00%2B02:00",
        "birthDate.gt=2023-12-31T23:00:00Z",
    ] {
        assert_eq!(family_names(&server, query).await, ["Late"], "{query}");
    }
    assert_eq!(
        family_names(&server, "birthDate=2024-01-01T02:30:00+02:00").await,
        ["Late"]
    );
}

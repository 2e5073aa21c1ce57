//! The operator's commands, run as the real binary: `switchboard migrate`, `export` and
//! `import` (the move from SQLite to PostgreSQL, or to another SQLite file without
//! `SWITCHBOARD_TEST_DATABASE_URL`), and `serve --role`: an API node leaves jobs to a
//! worker node, a worker node serves no API, and SQLite allows neither.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchboard::Role;

use crate::support::*;

/// What a finished command printed.
struct Ran {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs the `switchboard` binary to its end (killed, and the test failed, after 60 s),
/// with `stdin` from a file if given.
async fn switchboard(args: &[&str], envs: &[(&str, &str)], stdin: Option<&Path>) -> Ran {
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    let envs: Vec<(String, String)> = envs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    let stdin = stdin.map(Path::to_path_buf);
    tokio::task::spawn_blocking(move || {
        let logs = tempfile::tempdir().unwrap();
        let (out, err) = (logs.path().join("out"), logs.path().join("err"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        command
            .args(&args)
            .env_remove("SWITCHBOARD_ROLE")
            .env_remove("SWITCHBOARD_DATABASE_URL")
            .envs(envs)
            .stdout(File::create(&out).unwrap())
            .stderr(File::create(&err).unwrap())
            .stdin(match stdin {
                Some(path) => Stdio::from(File::open(path).unwrap()),
                None => Stdio::null(),
            });
        let mut child = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "switchboard {args:?} still running after 60 s; stderr: {}",
                    std::fs::read_to_string(&err).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        };
        Ran {
            success: status.success(),
            stdout: std::fs::read_to_string(&out).unwrap(),
            stderr: std::fs::read_to_string(&err).unwrap(),
        }
    })
    .await
    .unwrap()
}

/// The base URL the imported resources are given (`import --public-url`).
const NEW_BASE: &str = "http://switchboard.example";

/// Status, ETag, total count and body of each path, the source's own base URL in
/// every `href` replaced by `NEW_BASE`.
async fn views(server: &TestServer, paths: &[String]) -> Vec<(String, u16, Value)> {
    let mut seen = Vec::new();
    for path in paths {
        let reply = server.get(path).await;
        let body = reply.text.replace(&server.base, NEW_BASE);
        seen.push((
            format!(
                "{path} etag={:?} total={:?}",
                reply.header("etag"),
                reply.header("x-total-count")
            ),
            reply.status.as_u16(),
            serde_json::from_str(&body).unwrap_or(Value::Null),
        ));
    }
    seen
}

#[tokio::test]
async fn export_and_import_move_everything_to_a_new_database() {
    // The source is always SQLite; the target is PostgreSQL when configured.
    let source_dir = tempfile::tempdir().unwrap();
    let source_url = source_dir.path().join("source.db").display().to_string();
    let hook = Hook::start(503).await;
    let mut source = TestServer::start_with(|config| {
        config.database_url = source_url.clone();
        // A failed delivery is retried only after the move.
        config.delivery_backoff_ms = 2000;
    })
    .await;
    let offerings = format!("{CATALOG}/productOffering");
    let mut ids = Vec::new();
    for name in ["Fiber 1", "Fiber 2", "Mobile 1"] {
        let created = source
            .create(
                &offerings,
                &json!({"name": name, "productSpecification": {"id": "ps-1"}}),
            )
            .await;
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    for status in ["In design", "In test"] {
        let reply = source
            .patch(
                &format!("{offerings}/{}", ids[1]),
                "application/merge-patch+json",
                &json!({"lifecycleStatus": status}),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    let individuals = format!("{PARTY}/individual");
    for (given, family) in [("Ada", "Lovelace"), ("Alan", "Turing")] {
        source
            .create(
                &individuals,
                &json!({"givenName": given, "familyName": family}),
            )
            .await;
    }
    let subscription = source
        .create(
            &format!("{PARTY}/hub"),
            &json!({"callback": hook.url("/listener"), "query": "eventType=IndividualCreateEvent"}),
        )
        .await;
    let grace = source
        .create(
            &individuals,
            &json!({"givenName": "Grace", "familyName": "Hopper"}),
        )
        .await;
    // The event was tried and refused: it is pending when the source stops.
    let tried = eventually(Duration::from_secs(10), || async {
        !hook.requests().is_empty()
    })
    .await;
    assert!(tried, "the source never tried to deliver");

    let paths = vec![
        format!("{offerings}/{}", ids[0]),
        format!("{offerings}/{}", ids[1]),
        format!("{offerings}?lifecycleStatus=In%20test"),
        format!("{offerings}?lifecycleStatus=In%20study&fields=name&sort=-name"),
        format!("{offerings}?name=Fiber%202"),
        format!("{offerings}?limit=2&offset=1"),
        format!("{offerings}?productSpecification.id=ps-1&sort=name"),
        format!("{individuals}?familyName=Hopper"),
        individuals.clone(),
        format!("{PARTY}/hub/{}", subscription["id"].as_str().unwrap()),
    ];
    let before = views(&source, &paths).await;
    assert!(
        before[1].0.contains("W/\\\"3\\\""),
        "two patches make version 3: {}",
        before[1].0
    );
    source.stop().await;

    let export = source_dir.path().join("export.jsonl");
    let exported = switchboard(
        &[
            "export",
            "--database-url",
            &source_url,
            "--output",
            export.to_str().unwrap(),
        ],
        &[],
        None,
    )
    .await;
    assert!(exported.success, "{}", exported.stderr);
    assert!(
        exported.stderr.contains("exported 7 documents and 1 jobs"),
        "{}",
        exported.stderr
    );
    let lines: Vec<Value> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines[0]["record"], "header");
    assert_eq!(lines[0]["documents"], 7);
    let job = lines.last().unwrap();
    assert_eq!(job["record"], "job", "{job}");
    assert!(job["attempts"].as_i64().unwrap() >= 1, "{job}");

    // Into a new database: created by `migrate`, filled by `import`.
    let target_dir = tempfile::tempdir().unwrap();
    let target_url = database_url(&target_dir);
    let migrated = switchboard(&["migrate", "--database-url", &target_url], &[], None).await;
    assert!(migrated.success, "{}", migrated.stderr);
    assert!(
        migrated.stdout.contains("is migrated")
            && migrated.stdout.contains("(0 documents, 0 jobs)"),
        "{}",
        migrated.stdout
    );
    let imported = switchboard(
        &[
            "import",
            "--database-url",
            &target_url,
            "--public-url",
            NEW_BASE,
        ],
        &[],
        Some(&export),
    )
    .await;
    assert!(imported.success, "{}", imported.stderr);
    assert!(
        imported.stderr.contains("imported 7 documents and 1 jobs"),
        "{}",
        imported.stderr
    );
    // Once is all: a second import is refused and changes nothing.
    let again = switchboard(
        &[
            "import",
            "--database-url",
            &target_url,
            "--input",
            export.to_str().unwrap(),
        ],
        &[],
        None,
    )
    .await;
    assert!(!again.success);
    assert!(
        again.stderr.contains("already holds data"),
        "{}",
        again.stderr
    );

    hook.answer(201);
    let target = TestServer::start_with(|config| config.database_url = target_url.clone()).await;
    let after = views(&target, &paths).await;
    for (before, after) in before.iter().zip(&after) {
        assert_eq!(before, after);
    }
    // The pending event is delivered by the new database's worker, once.
    let delivered = eventually(Duration::from_secs(15), || async {
        !hook.delivered().is_empty()
    })
    .await;
    assert!(
        delivered,
        "the pending event was not delivered after the move"
    );
    let event = &hook.delivered()[0].body;
    assert_eq!(event["eventType"], "IndividualCreateEvent");
    assert_eq!(event["event"]["individual"]["id"], grace["id"]);
    // The subscription moved too: new changes reach it; old versions go on counting.
    let linus = target
        .create(
            &individuals,
            &json!({"givenName": "Linus", "familyName": "Torvalds"}),
        )
        .await;
    assert!(linus["href"].as_str().unwrap().starts_with(&target.base));
    let reached = eventually(Duration::from_secs(10), || async {
        hook.delivered().len() == 2
    })
    .await;
    assert!(reached, "{:?}", hook.delivered());
    let patched = target
        .patch(
            &format!("{offerings}/{}", ids[1]),
            "application/merge-patch+json",
            &json!({"lifecycleStatus": "Active"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.header("etag"), Some("W/\"4\""));
    target.queue().await.wait_idle().await;
    assert_eq!(hook.delivered().len(), 2, "no duplicate delivery");
}

fn write_lines(path: &PathBuf, lines: &[Value]) {
    let text: String = lines.iter().map(|line| format!("{line}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn a_broken_export_file_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target_url = database_url(&dir);
    let file = dir.path().join("export.jsonl");
    let document = json!({
        "record": "document", "kind": "TMF632/individual", "id": "i-1", "version": 2,
        "promoted": {"type": "Individual"}, "doc": {"id": "i-1", "@type": "Individual"},
    });
    let header = |documents: u64| json!({"record": "header", "format": 1, "source": "SQLite", "documents": documents, "jobs": 0});
    let import = |input: &str| {
        let input = input.to_string();
        let target_url = target_url.clone();
        async move {
            switchboard(
                &["import", "--database-url", &target_url, "--input", &input],
                &[],
                None,
            )
            .await
        }
    };
    let path = file.to_str().unwrap();

    write_lines(&file, &[header(2), document.clone()]);
    let cut = import(path).await;
    assert!(!cut.success);
    assert!(cut.stderr.contains("cut short"), "{}", cut.stderr);

    write_lines(&file, std::slice::from_ref(&document));
    let headless = import(path).await;
    assert!(!headless.success);
    assert!(
        headless.stderr.contains("not a switchboard export"),
        "{}",
        headless.stderr
    );

    let mut newer = header(1);
    newer["format"] = json!(99);
    write_lines(&file, &[newer, document.clone()]);
    let future = import(path).await;
    assert!(!future.success);
    assert!(future.stderr.contains("format 99"), "{}", future.stderr);

    let mut broken = document.clone();
    broken["version"] = json!(0);
    write_lines(&file, &[header(1), broken]);
    let invalid = import(path).await;
    assert!(!invalid.success);
    assert!(invalid.stderr.contains("line 2"), "{}", invalid.stderr);

    let migrated = switchboard(&["migrate", "--database-url", &target_url], &[], None).await;
    assert!(
        migrated.stdout.contains("(0 documents, 0 jobs)"),
        "a refused import wrote something: {}",
        migrated.stdout
    );
    // The same database takes a sound file afterwards.
    write_lines(&file, &[header(1), document]);
    let sound = import(path).await;
    assert!(sound.success, "{}", sound.stderr);
    let server = TestServer::start_with(|config| config.database_url = target_url.clone()).await;
    let read = server.get(&format!("{PARTY}/individual/i-1")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.header("etag"), Some("W/\"2\""));
}

#[tokio::test]
async fn sqlite_refuses_the_api_and_worker_roles() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("single.db");
    let url = file.display().to_string();
    let by_flag = switchboard(
        &[
            "serve",
            "--role",
            "api",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &url,
        ],
        &[],
        None,
    )
    .await;
    let by_env = switchboard(
        &["serve", "--listen", "127.0.0.1:0", "--database-url", &url],
        &[("SWITCHBOARD_ROLE", "worker")],
        None,
    )
    .await;
    for refused in [by_flag, by_env] {
        assert!(!refused.success);
        assert!(
            refused.stderr.contains("needs PostgreSQL"),
            "{}",
            refused.stderr
        );
    }
    assert!(!file.exists(), "the refused start created the database");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set SWITCHBOARD_TEST_DATABASE_URL"]
async fn an_api_node_leaves_jobs_to_a_worker_node() {
    postgres_url();
    let hook = Hook::start(201).await;
    let api = TestServer::start_with(|config| config.role = Role::Api).await;
    let reply = api
        .post(
            &format!("{PARTY}/hub"),
            &json!({"callback": hook.url("/listener")}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let created = api
        .create(
            &format!("{PARTY}/individual"),
            &json!({"givenName": "Ada", "familyName": "Lovelace"}),
        )
        .await;
    let listed = api.get(&format!("{PARTY}/individual?givenName=Ada")).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    // Nobody delivers: the event waits in the queue.
    let queue = api.queue().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(hook.requests().is_empty(), "an API node delivered events");
    assert_eq!(queue.pending().await, 1);

    let database_url = api.config.database_url.clone();
    let worker = TestServer::start_with(|config| {
        config.role = Role::Worker;
        config.database_url = database_url;
    })
    .await;
    for path in ["/health", "/ready", "/metrics"] {
        assert_eq!(worker.get(path).await.status, 200, "{path}");
    }
    worker
        .get(&format!("{PARTY}/individual"))
        .await
        .assert_error(404);
    worker
        .post(
            &format!("{PARTY}/individual"),
            &json!({"givenName": "Alan", "familyName": "Turing"}),
        )
        .await
        .assert_error(404);
    let delivered = eventually(Duration::from_secs(10), || async {
        hook.delivered().len() == 1
    })
    .await;
    assert!(delivered, "the worker node did not deliver the event");
    assert_eq!(
        hook.delivered()[0].body["event"]["individual"]["id"],
        created["id"]
    );
    queue.wait_idle().await;
}

/// A document stored before formats were checked (here: imported as it was) is served
/// as stored, and a change to anything else is accepted; only what a write changes is
/// checked, and a bad value the write sends is still a 400.
#[tokio::test]
async fn documents_stored_before_format_checks_stay_readable_and_patchable() {
    let mut server = TestServer::start().await;
    server.stop().await;
    let id = "legacy-1";
    let doc = json!({
        "id": id, "href": "http://old.example/x", "@type": "ProductOffering", "name": "legacy",
        "lifecycleStatus": "In study", "@schemaLocation": "C]Nôm¶8",
        "validFor": {"startDateTime": "2024-01-01T12:99:00Z"},
    });
    let file = server.dir.path().join("legacy.jsonl");
    write_lines(
        &file,
        &[
            json!({"record": "header", "format": 1, "source": "SQLite", "documents": 1, "jobs": 0}),
            json!({
                "record": "document", "kind": "TMF620/productOffering", "id": id, "version": 1,
                "promoted": {"name": "legacy", "state": "In study", "type": "ProductOffering"},
                "doc": doc,
            }),
        ],
    );
    let imported = switchboard(
        &[
            "import",
            "--database-url",
            &server.config.database_url,
            "--input",
            file.to_str().unwrap(),
        ],
        &[],
        None,
    )
    .await;
    assert!(imported.success, "{}", imported.stderr);
    let server = server.restart().await;
    let path = format!("{CATALOG}/productOffering/{id}");
    let read = server.get(&path).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["validFor"], doc["validFor"], "{}", read.text);

    let merge = "application/merge-patch+json";
    let renamed = server
        .patch(&path, merge, &json!({"name": "legacy, renamed"}))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["@schemaLocation"], "C]Nôm¶8");
    assert_eq!(renamed.body["validFor"], doc["validFor"]);
    // What a write changes is checked, old values included once it touches them.
    let still_bad = json!({"validFor": {"startDateTime": "2024-01-01T12:98:00Z"}});
    server
        .patch(&path, merge, &still_bad)
        .await
        .assert_error(400);
    let mended = json!({"validFor": {"startDateTime": "2024-01-01T12:59:00Z"}});
    let reply = server.patch(&path, merge, &mended).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["validFor"], mended["validFor"]);
}

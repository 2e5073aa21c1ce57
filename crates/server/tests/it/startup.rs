//! Start and stop of the real binary (issue 16): a setting that keeps the server from
//! starting is one line on stderr naming it, exit status 2 and nothing created on disk;
//! `/ready` reads the tables; logs have a line per request (text without colour codes
//! off a terminal, or JSON), and SIGTERM lets a request in flight finish, then exits 0.

use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

/// Runs `switchboard ARGS` in `cwd` to its end (at most 30 s): its status and stderr.
fn run(cwd: &Path, args: &[&str]) -> (ExitStatus, String) {
    let err = tempfile::NamedTempFile::new().unwrap();
    let mut child = command(cwd)
        .args(args)
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    let status = wait(&mut child, Duration::from_secs(30));
    (status, std::fs::read_to_string(err.path()).unwrap())
}

/// The binary, run in `cwd` with no settings from the environment of the tests.
fn command(cwd: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    command
        .current_dir(cwd)
        .env_remove("SWITCHBOARD_DATABASE_URL")
        .env_remove("SWITCHBOARD_ROLE")
        .env_remove("SWITCHBOARD_LOG_FORMAT")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    command
}

fn wait(child: &mut Child, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("switchboard still running after {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_wrong_setting_exits_2_with_one_line_naming_it_and_creates_nothing() {
    tokio::task::spawn_blocking(|| {
        let dir = tempfile::tempdir().unwrap();
        let cwd = dir.path();
        std::fs::write(cwd.join("readonly.db"), b"").unwrap();
        let mut readonly = std::fs::metadata(cwd.join("readonly.db"))
            .unwrap()
            .permissions();
        readonly.set_readonly(true);
        std::fs::set_permissions(cwd.join("readonly.db"), readonly.clone()).unwrap();
        std::fs::create_dir(cwd.join("locked")).unwrap();
        std::fs::set_permissions(cwd.join("locked"), readonly).unwrap();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = taken.local_addr().unwrap().to_string();
        // Accepts connections (the kernel does) and never answers: the bounded wait.
        let silent_server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let silent = format!(
            "postgres://nobody@{}/none",
            silent_server.local_addr().unwrap()
        );
        let before = listing(cwd);
        let cases: &[(&str, &str, &str)] = &[
            (
                "127.0.0.1:0",
                "",
                "--database-url '': is empty; use sqlite://FILE",
            ),
            (
                "127.0.0.1:0",
                "mysql://root@db/x",
                "'mysql:' is not a database",
            ),
            ("127.0.0.1:0", "mysql:bar.db", "'mysql:' is not a database"),
            ("127.0.0.1:0", "x://y", "'x:' is not a database"),
            ("127.0.0.1:0", "sqlite::memory:", "in-memory"),
            (
                "127.0.0.1:0",
                "missing/x.db",
                "the folder missing does not exist",
            ),
            (
                "127.0.0.1:0",
                "readonly.db",
                "the file readonly.db is read-only",
            ),
            (
                "127.0.0.1:0",
                "locked/x.db",
                "the folder locked is not writable",
            ),
            (
                "127.0.0.1:0",
                "postgres://nobody:secret@127.0.0.1:1/none",
                "--database-url 'postgres://nobody:***@127.0.0.1:1/none': cannot connect",
            ),
            (
                "127.0.0.1:0",
                &silent,
                "PostgreSQL did not answer within 5 s",
            ),
            (&taken, "new.db", "--listen"),
        ];
        for (listen, url, says) in cases {
            let (status, stderr) = run(cwd, &["serve", "--listen", listen, "--database-url", url]);
            assert_eq!(status.code(), Some(2), "{url}: {stderr}");
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(lines.len(), 1, "{url}: one line, not {stderr}");
            assert!(
                lines[0].starts_with("switchboard: --") && lines[0].contains(says),
                "{url}: {stderr}"
            );
            assert!(!stderr.contains("secret"), "{stderr}");
            assert_eq!(listing(cwd), before, "{url} left a file behind");
        }
        assert_eq!(std::fs::read(cwd.join("readonly.db")).unwrap(), b"");
        assert!(listing(&cwd.join("locked")).is_empty());
        // A setting of the APIs' rules is checked before anything opens too.
        let (status, stderr) = run(
            cwd,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                "new.db",
                "--ticket-auto-close",
                "soon",
            ],
        );
        assert_eq!(status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("switchboard: --ticket-auto-close 'soon':"),
            "{stderr}"
        );
        assert_eq!(listing(cwd), before);
        // The same check guards the other commands that open the database.
        let (status, stderr) = run(cwd, &["migrate", "--database-url", "mysql:bar.db"]);
        assert_eq!(status.code(), Some(2), "{stderr}");
        assert_eq!(listing(cwd), before);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn ready_answers_503_when_the_store_cannot_read_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ready.db");
    let url = file.display().to_string();
    let server = TestServer::start_with(|config| config.database_url = url).await;
    assert_eq!(server.get("/ready").await.status, 200);
    // `SELECT 1` would still answer: the probe reads the tables.
    let outside = rusqlite::Connection::open(&file).unwrap();
    outside.execute_batch("DROP TABLE links").unwrap();
    drop(outside);
    let ready = server.get("/ready").await;
    ready.assert_error(503);
    assert_eq!(server.get("/health").await.status, 200);
}

/// A server process whose stderr goes to a file (not a terminal).
struct Logged {
    child: Child,
    base: String,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Logged {
    async fn start(format: &str) -> Logged {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stderr.log");
        let port = free_port();
        let child = command(dir.path())
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--database-url", "logged.db", "--log-format", format])
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let up = eventually(Duration::from_secs(15), || {
            let request = client.get(format!("{base}/health")).send();
            async move { request.await.is_ok() }
        })
        .await;
        let logged = Logged {
            child,
            base,
            port,
            log,
            _dir: dir,
        };
        assert!(up, "not serving: {}", logged.log_text());
        logged
    }

    fn log_text(&self) -> String {
        let bytes = std::fs::read(&self.log).unwrap();
        assert!(!bytes.contains(&0x1b), "colour codes in a log file");
        String::from_utf8(bytes).unwrap()
    }

    /// Waits (30 s at most) for the process to end on its own.
    async fn exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn sigterm_lets_a_request_in_flight_finish_then_exits_0_with_json_logs() {
    let mut server = Logged::start("json").await;
    let reply = reqwest::Client::new()
        .get(format!("{}{PARTY}/individual", server.base))
        .header("X-Request-ID", "startup-test-1")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["x-request-id"], "startup-test-1");

    // Half a body sent: the request is in flight when SIGTERM arrives.
    let port = server.port;
    let body = json!({"givenName": "Ada", "familyName": "Lovelace"}).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST {PARTY}/individual HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \
         application/json\r\nContent-Length: {}\r\nX-Request-ID: startup-test-2\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.terminate();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "stopped with a request in flight: {}",
        server.log_text()
    );
    stream.write_all(rest.as_bytes()).unwrap();
    let rest = rest.to_string();
    let answer = tokio::task::spawn_blocking(move || {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer} (sent {rest})");
    let status = server.exit().await;
    assert_eq!(status.code(), Some(0), "{}", server.log_text());

    let lines: Vec<Value> = server
        .log_text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let started = &lines[0];
    assert_eq!(started["message"], "switchboard serving", "{started}");
    assert_eq!(started["url"], server.base);
    assert_eq!(started["store"], "SQLite");
    assert_eq!(started["role"], "all");
    let answered = |id: &str| {
        lines
            .iter()
            .find(|line| line["request_id"] == id)
            .unwrap_or_else(|| panic!("no line for {id}: {lines:?}"))
            .clone()
    };
    let read = answered("startup-test-1");
    assert_eq!(read["level"], "INFO");
    assert_eq!(read["method"], "GET");
    assert_eq!(read["path"], format!("{PARTY}/individual"));
    assert_eq!(read["status"], 200);
    assert!(read["latency_ms"].as_f64().unwrap() >= 0.0, "{read}");
    let created = answered("startup-test-2");
    assert_eq!(created["method"], "POST");
    assert_eq!(created["status"], 201);
    // The slow request spanned at least the pause after the signal (the server may
    // have read its head some time after it was sent, on a busy machine: not the pause
    // before the signal).
    assert!(
        created["latency_ms"].as_f64().unwrap() >= 500.0,
        "{created}"
    );
    assert_eq!(lines.last().unwrap()["message"], "switchboard stopped");
}

#[tokio::test]
async fn text_logs_in_a_file_have_no_colour_and_a_line_per_request() {
    let mut server = Logged::start("text").await;
    let reply = reqwest::Client::new()
        .get(format!("{}/tmf-api/nowhere", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 404);
    let id = reply.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    server.terminate();
    let status = server.exit().await;
    assert_eq!(status.code(), Some(0));
    let log = server.log_text();
    let line = log
        .lines()
        .find(|line| line.contains(&format!("request_id={id}")))
        .unwrap_or_else(|| panic!("no line for the generated id {id}: {log}"));
    assert!(
        line.contains(" INFO ")
            && line.contains("method=GET path=/tmf-api/nowhere status=404 latency_ms="),
        "{line}"
    );
    assert!(log
        .lines()
        .next()
        .unwrap()
        .contains("switchboard serving url=http://127.0.0.1:"));
    assert!(log.trim_end().ends_with("switchboard stopped"), "{log}");
}

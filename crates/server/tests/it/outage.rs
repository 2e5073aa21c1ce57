//! The database goes away under load (PostgreSQL behind a local TCP proxy that the test
//! cuts for a while): requests fail fast with 503 TMF errors, never hang or answer 500,
//! and the server recovers by itself when the database is back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::*;

/// Forwards local connections to the PostgreSQL server; `cut` drops every connection
/// and refuses new ones until `restore`.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    _accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let down = Arc::new(AtomicBool::new(false));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (down, links) = (down.clone(), links.clone());
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if down.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let target = target.clone();
                    let link = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    links.lock().unwrap().push(link);
                }
            })
        };
        Proxy {
            port,
            down,
            links,
            _accept: accept,
        }
    }

    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

/// `postgres://user@host:port/db?…` with host and port replaced by the proxy's.
fn through(url: &str, port: u16) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (format!("{user}@"), host),
        None => (String::new(), authority),
    };
    let target = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    };
    (format!("{scheme}://{user}127.0.0.1:{port}/{path}"), target)
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set SWITCHBOARD_TEST_DATABASE_URL"]
async fn a_database_outage_answers_503_and_heals() {
    let url = postgres_url();
    let (_, target) = through(&url, 0);
    let proxy = Proxy::start(target).await;
    let (proxied, _) = through(&url, proxy.port);
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let separator = if proxied.contains('?') { '&' } else { '?' };
    let database_url = format!("{proxied}{separator}schema={schema}");
    let server = TestServer::start_with(|config| config.database_url = database_url).await;
    let path = format!("{CATALOG}/productOffering");
    let kept = server.create(&path, &json!({"name": "Before"})).await;

    proxy.cut();
    let outage = Instant::now();
    let mut refused = 0;
    while outage.elapsed() < Duration::from_secs(10) {
        let started = Instant::now();
        let reply = if refused % 2 == 0 {
            server.post(&path, &json!({"name": "During"})).await
        } else {
            server.get(&format!("{path}?name=Before")).await
        };
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "a request hung for {:?}",
            started.elapsed()
        );
        reply.assert_error(503);
        refused += 1;
        assert_eq!(server.get("/ready").await.status, 503);
    }
    assert!(refused >= 3, "only {refused} requests during the outage");
    assert_eq!(server.get("/health").await.status, 200);

    proxy.restore();
    let healed = eventually(Duration::from_secs(15), || async {
        server.get("/ready").await.status == 200
    })
    .await;
    assert!(healed, "/ready did not recover");
    let after = server.create(&path, &json!({"name": "After"})).await;
    let read = server
        .get(&format!("{path}/{}", kept["id"].as_str().unwrap()))
        .await;
    assert_eq!(read.status, 200);
    let listed = server.get(&format!("{path}?name=During")).await;
    assert_eq!(listed.body, json!([]), "nothing refused was stored");
    assert_eq!(
        server
            .get(&format!("{path}/{}", after["id"].as_str().unwrap()))
            .await
            .status,
        200
    );
}

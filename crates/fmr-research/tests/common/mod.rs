//! Shared by the integration tests: a configuration that points every API at
//! one local mock server, with no spacing and short timeouts, and fixtures.

#![allow(dead_code)] // each test file uses a different part

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use fmr_core::Query;
use fmr_research::{Endpoints, Mode, RateLimits, ResearchConfig, SourceId};

pub fn config(base: &str, sources: &[SourceId]) -> ResearchConfig {
    ResearchConfig {
        mode: Mode::Online,
        cache_path: None,
        sources: sources.to_vec(),
        endpoints: Endpoints::all_at(base),
        rate_limits: RateLimits::NONE,
        timeout: Duration::from_secs(5),
        max_retries: 2,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        max_retry_wait: Duration::from_secs(5),
        follow_links: 0,
        deadline: Some(Duration::from_secs(60)),
        use_env_proxy: false,
        allow_private_links: true,
        ..ResearchConfig::default()
    }
}

pub fn query(level: u8, text: &str) -> Query {
    Query {
        level,
        text: text.into(),
        rationale: String::new(),
        hits: Vec::new(),
    }
}

pub fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/responses")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What a hand-rolled server does with each connection, in order.
pub enum Reply {
    /// Read the request and never answer (holds the connection for `hold`).
    Hang(Duration),
    /// Promise a long body, send a little of it, and hang up.
    CutShort(String),
    /// A complete answer.
    Full(String),
}

/// A one-shot HTTP server on 127.0.0.1 for what mock servers cannot do
/// (stalls, connections cut mid-body); returns its base URL.
pub fn raw_server(replies: Vec<Reply>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let base = format!("http://{}", listener.local_addr().expect("local address"));
    std::thread::spawn(move || {
        for reply in replies {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            read_request_head(&mut stream);
            match reply {
                Reply::Hang(hold) => std::thread::sleep(hold),
                Reply::CutShort(body) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
                        body.len() * 10
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body.as_bytes());
                }
                Reply::Full(body) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes());
                    let _ = stream.write_all(body.as_bytes());
                }
            }
        }
    });
    base
}

fn read_request_head(stream: &mut std::net::TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => seen.push(byte[0]),
            _ => return,
        }
    }
}

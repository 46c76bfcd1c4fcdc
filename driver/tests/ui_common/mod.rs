//! Shared by the web UI tests: a tiny HTTP/1.1 client (one GET per
//! connection, `Connection: close`), contexts with the UI on a free port,
//! and a job that runs long enough to be seen running.

#![allow(dead_code)]

use ember::prelude::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// GET `path` from `addr`: (status code, body).
pub fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("the UI accepts connections");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("read timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").expect("request sent");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("response read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, body.to_string())
}

/// POST an empty form to `path` with extra `headers`: (status code, `Location`, body).
pub fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (u16, Option<String>, String) {
    let mut stream = TcpStream::connect(addr).expect("the UI accepts connections");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("read timeout");
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("response read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let location = head.lines().find_map(|l| {
        l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("location")).map(|(_, v)| v.trim().to_string())
    });
    (status, location, body.to_string())
}

/// GET `path` and parse its JSON body; panics on a status other than 200.
pub fn get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let (status, body) = get(addr, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// GET an HTML page; panics on a status other than 200.
pub fn get_page(addr: SocketAddr, path: &str) -> String {
    let (status, body) = get(addr, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// A context on `master` with the UI on any free port, plus `conf`.
pub fn ui_context(master: &str, conf: &[(&str, &str)]) -> Context {
    let mut c = Conf::new().master(master).app_name("ui-test").set("ember.ui.port", 0);
    for (k, v) in conf {
        c = c.set(*k, *v);
    }
    Context::new(c).expect("context starts")
}

/// Waits until `f` gives `Some`, or fails after `timeout` saying `what`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An RDD of `partitions` partitions whose tasks each sleep `millis` ms.
pub fn slow_rdd(ctx: &Context, partitions: usize, millis: u64) -> Rdd<u64> {
    ctx.parallelize((0..partitions as u64).collect(), partitions).map_partitions_with(
        millis,
        |&millis: &u64, _partition: usize, it: BoxIter<u64>| {
            std::thread::sleep(Duration::from_millis(millis));
            it
        },
    )
}

/// A job whose first stage is a shuffle map stage: word counts.
pub fn word_counts(ctx: &Context) -> Rdd<(String, u64)> {
    let lines = ["a b c", "b c", "c", "a a a"].iter().map(|s| s.to_string()).collect();
    ctx.parallelize(lines, 2)
        .flat_map(|l: String| l.split(' ').map(str::to_string).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
}
pub mod devtools;

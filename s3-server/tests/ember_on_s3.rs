//! Ember jobs on a real S3 server (`ember-s3-server` on 127.0.0.1, the
//! `object_store` client inside Ember, no mock), in `local-cluster[2]`:
//! executors are processes of their own that read their splits and write
//! their parts over HTTP with the settings the driver shipped them.
//!
//! - wordcount of one object read as several splits, of a prefix and of a
//!   glob, and of a `.gz` object, each equal to the count made here;
//! - a committed output: `part-NNNNN` files and `_SUCCESS`, no
//!   `_temporary`, read back whole; saving into it again is refused;
//! - a Parquet round trip (typed records written as committed part files,
//!   read back whole and with a column projection);
//! - bad input fails with an error that names the URL: a missing bucket or
//!   key, wrong credentials, a corrupt `.gz`, an endpoint where nothing
//!   listens (quickly, not after minutes of retries).

mod support;

use ember::prelude::*;
use futures::TryStreamExt;
use object_store::ObjectStore;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use support::S3TestServer;

const MASTER: &str = "local-cluster[2]";

fn context_with(server: &S3TestServer, overrides: &[(&str, &str)]) -> Context {
    let mut conf = Conf::new().master(MASTER).set("ember.ui.enabled", false);
    for (key, value) in server.ember_settings() {
        conf = conf.set(key, value);
    }
    for (key, value) in overrides {
        conf = conf.set(*key, *value);
    }
    Context::new(conf).expect("the context starts")
}

fn context(server: &S3TestServer) -> Context {
    context_with(server, &[])
}

/// `lines` lines of words from a small vocabulary, the same every run.
fn words_text(lines: usize, seed: u64) -> String {
    const WORDS: [&str; 12] =
        ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "ember", "spark", "object", "store"];
    let mut state = seed;
    let mut text = String::new();
    for line in 0..lines {
        for _ in 0..1 + line % 9 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            text.push_str(WORDS[(state >> 33) as usize % WORDS.len()]);
            text.push(' ');
        }
        text.push_str(&format!("line{}\n", line % 50));
    }
    text
}

/// The word counts of `texts`, counted here.
fn count_words<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<(String, u64)> {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for word in texts.into_iter().flat_map(str::split_whitespace) {
        *counts.entry(word.to_string()).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort();
    counts
}

/// Ember's wordcount of the lines of `rdd`.
fn wordcount(rdd: Rdd<String>) -> Vec<(String, u64)> {
    let mut counts = rdd
        .flat_map(|line: String| line.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .map(|w| (w, 1u64))
        .reduce_by_key(|a, b| a + b)
        .collect()
        .expect("the wordcount job");
    counts.sort();
    counts
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// The keys under `prefix` in `bucket`, sorted, through S3.
fn list_keys(server: &S3TestServer, bucket: &str, prefix: &str) -> Vec<String> {
    let store = server.client(bucket);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let prefix = object_store::path::Path::from(prefix);
    let mut keys: Vec<String> = runtime
        .block_on(store.list(Some(&prefix)).map_ok(|m| m.location.to_string()).try_collect())
        .expect("listing the bucket");
    keys.sort();
    keys
}

/// The error of reading `url` (at `text_file`, where the driver lists, or
/// in the job, where executors read), as text.
fn read_error(ctx: &Context, url: &str) -> String {
    match ctx.text_file(url, 2).and_then(|rdd| rdd.count()) {
        Ok(n) => panic!("{url}: read {n} lines, expected an error"),
        Err(e) => {
            eprintln!("{url}: {e}");
            e.to_string()
        }
    }
}

#[test]
fn wordcount_of_one_object_read_as_several_splits() {
    let server = S3TestServer::start(&["data"]);
    let text = words_text(40_000, 1);
    server.write_object_file("data", "words.txt", text.as_bytes());
    let ctx = context(&server);
    let lines = ctx.text_file("s3://data/words.txt", 6).expect("text_file of an object");
    assert!(lines.num_partitions() >= 6, "one object gave {} splits", lines.num_partitions());
    assert_eq!(lines.count().expect("count"), 40_000, "every line exactly once across the splits");
    assert_eq!(wordcount(lines), count_words([text.as_str()]));
}

#[test]
fn wordcount_of_a_prefix_and_of_a_glob_of_objects() {
    let server = S3TestServer::start(&["data"]);
    let (a, b, c) = (words_text(3_000, 2), words_text(2_000, 3), words_text(1_000, 4));
    server.write_object_file("data", "in/a.txt", a.as_bytes());
    server.write_object_file("data", "in/b.txt", b.as_bytes());
    server.write_object_file("data", "in/c.log", c.as_bytes());
    server.write_object_file("data", "in/_SUCCESS", b"");
    let ctx = context(&server);
    let prefix = ctx.text_file("s3://data/in", 2).expect("text_file of a prefix");
    assert_eq!(wordcount(prefix), count_words([a.as_str(), b.as_str(), c.as_str()]));
    let glob = ctx.text_file("s3://data/in/*.txt", 2).expect("text_file of a glob");
    assert_eq!(wordcount(glob), count_words([a.as_str(), b.as_str()]));
}

#[test]
fn a_gzip_object_is_read_decompressed() {
    let server = S3TestServer::start(&["data"]);
    let text = words_text(20_000, 5);
    server.write_object_file("data", "words.txt.gz", &gzip(text.as_bytes()));
    let ctx = context(&server);
    let lines = ctx.text_file("s3://data/words.txt.gz", 4).expect("text_file of a .gz object");
    assert_eq!(lines.num_partitions(), 1, "a gzip stream is one partition");
    assert_eq!(wordcount(lines), count_words([text.as_str()]));
}

#[test]
fn a_saved_output_is_committed_in_sparks_layout_and_not_overwritten() {
    let server = S3TestServer::start(&["data"]);
    let ctx = context(&server);
    let lines: Vec<String> = (0..10_000).map(|i| format!("record {i}")).collect();
    ctx.parallelize(lines.clone(), 4).save_as_text_file("s3://data/out").expect("saving to S3");

    let keys = list_keys(&server, "data", "out");
    let expected: Vec<String> =
        ["out/_SUCCESS", "out/part-00000", "out/part-00001", "out/part-00002", "out/part-00003"]
            .map(String::from)
            .to_vec();
    assert_eq!(keys, expected, "the committed output");
    assert!(!server.root().join("data/out/_temporary").exists(), "_temporary is left on disk");

    let mut read_back = ctx.text_file("s3://data/out", 2).expect("text_file of the output").collect().expect("read");
    read_back.sort();
    let mut written = lines;
    written.sort();
    assert_eq!(read_back, written);

    let again = ctx.parallelize(vec!["x".to_string()], 1).save_as_text_file("s3://data/out");
    let err = again.expect_err("saving into a non-empty output is refused").to_string();
    assert!(err.contains("s3://data/out") && err.contains("ember.output.overwrite"), "{err}");
    assert_eq!(list_keys(&server, "data", "out"), expected, "a refused save changed the output");
}

/// A record of the Parquet round trip.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Reading {
    sensor: String,
    at: i64,
    value: f64,
}

/// Only the projected columns of a `Reading`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Value {
    value: f64,
}

#[test]
fn parquet_round_trips_through_s3_with_a_projection() {
    let server = S3TestServer::start(&["data"]);
    let ctx = context(&server);
    let readings: Vec<Reading> =
        (0..5_000).map(|i| Reading { sensor: format!("s{}", i % 7), at: i, value: i as f64 * 0.5 }).collect();
    ctx.parallelize(readings.clone(), 3).save_as_parquet_file("s3://data/readings.parquet").expect("saving Parquet");
    let keys = list_keys(&server, "data", "readings.parquet");
    assert_eq!(keys.len(), 4, "three part files and _SUCCESS: {keys:?}");
    assert!(keys.iter().all(|k| k.ends_with(".parquet") || k.ends_with("_SUCCESS")), "{keys:?}");

    let back: Vec<Reading> = ctx
        .parquet_file("s3://data/readings.parquet", ParquetReadOptions::new())
        .expect("reading Parquet")
        .collect()
        .expect("collect");
    assert_eq!(back, readings);
    let values: Vec<Value> = ctx
        .parquet_file("s3://data/readings.parquet", ParquetReadOptions::new().columns(["value"]))
        .expect("a projection")
        .collect()
        .expect("collect");
    assert_eq!(values, readings.iter().map(|r| Value { value: r.value }).collect::<Vec<_>>());
    let err = ctx
        .parquet_file::<Value>("s3://data/readings.parquet", ParquetReadOptions::new().columns(["nope"]))
        .err()
        .expect("a missing column is refused")
        .to_string();
    assert!(err.contains("s3://data/readings.parquet") && err.contains("nope"), "{err}");
}

#[test]
fn a_missing_bucket_or_key_is_an_error_naming_the_url() {
    let server = S3TestServer::start(&["data"]);
    server.write_object_file("data", "words.txt", b"one\n");
    let ctx = context(&server);
    let err = read_error(&ctx, "s3://no-such-bucket/words.txt");
    assert!(err.contains("s3://no-such-bucket/words.txt") && err.contains("no such bucket"), "{err}");
    let err = read_error(&ctx, "s3://data/missing.txt");
    assert!(err.contains("s3://data/missing.txt"), "{err}");
}

#[test]
fn wrong_credentials_are_an_error_naming_the_url() {
    let server = S3TestServer::start(&["data"]);
    server.write_object_file("data", "words.txt", b"one\n");
    let ctx = context_with(&server, &[("ember.s3.secretAccessKey", "not-the-secret")]);
    let err = read_error(&ctx, "s3://data/words.txt");
    assert!(err.contains("s3://data/words.txt") && err.contains("access denied"), "{err}");
    let save = ctx.parallelize(vec!["x".to_string()], 1).save_as_text_file("s3://data/refused");
    let err = save.expect_err("a save with wrong keys fails").to_string();
    assert!(err.contains("s3://data/refused"), "{err}");
    assert!(list_keys(&server, "data", "refused").is_empty(), "a refused save wrote objects");
}

#[test]
fn a_corrupt_gzip_object_is_an_error_naming_the_url() {
    let server = S3TestServer::start(&["data"]);
    let mut corrupt = gzip(words_text(5_000, 6).as_bytes());
    let middle = corrupt.len() / 2;
    corrupt.truncate(middle);
    corrupt.extend_from_slice(b"this is no deflate stream");
    server.write_object_file("data", "broken.txt.gz", &corrupt);
    let ctx = context(&server);
    let err = read_error(&ctx, "s3://data/broken.txt.gz");
    assert!(err.contains("s3://data/broken.txt.gz") && err.contains("deflate"), "{err}");
}

#[test]
fn an_endpoint_where_nothing_listens_fails_fast_naming_the_url() {
    let server = S3TestServer::start(&["data"]);
    // A port that was just free: nothing listens there now.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("its address");
    let endpoint = format!("http://{closed}");
    let ctx = context_with(&server, &[("ember.s3.endpoint", endpoint.as_str())]);
    let start = Instant::now();
    let err = read_error(&ctx, "s3://data/words.txt");
    let took = start.elapsed();
    assert!(err.contains("s3://data/words.txt") && err.contains(&endpoint), "{err}");
    // Not a speed target: a bound that tells "gave up after its retries"
    // (ember.s3.retryTimeout, 15 s) from "hangs on the default 3-minute retry".
    assert!(took < Duration::from_secs(60), "an unreachable endpoint took {took:?} to fail");
}

#[test]
fn an_endpoint_that_accepts_but_never_answers_times_out_naming_the_url() {
    let server = S3TestServer::start(&["data"]);
    // A listener that takes connections and never says a word: a hung
    // server, or a firewall that swallows requests.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let endpoint = format!("http://{}", silent.local_addr().expect("its address"));
    let held = std::thread::spawn(move || silent.incoming().take(64).flatten().collect::<Vec<_>>());
    let settings =
        [("ember.s3.endpoint", endpoint.as_str()), ("ember.s3.requestTimeout", "1s"), ("ember.s3.retryTimeout", "3s")];
    let ctx = context_with(&server, &settings);
    let start = Instant::now();
    let err = read_error(&ctx, "s3://data/words.txt");
    let took = start.elapsed();
    assert!(err.contains("s3://data/words.txt") && err.contains(&endpoint), "{err}");
    assert!(took < Duration::from_secs(60), "a silent endpoint took {took:?} to fail");
    drop(held);
}

//! The server itself, through the `object_store` S3 client: objects go in
//! and come out whole, by byte range and in listings; multipart uploads
//! work; files put into the root by hand are objects; requests signed with
//! the wrong keys are refused; bad flags are refused with a message naming
//! them; SIGTERM stops the server cleanly.

mod support;

use futures::TryStreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use std::process::Command;
use support::S3TestServer;

fn path(key: &str) -> ObjectPath {
    ObjectPath::from(key)
}

async fn get_bytes(store: &impl ObjectStore, key: &str) -> Vec<u8> {
    store.get(&path(key)).await.expect("get").bytes().await.expect("the body").to_vec()
}

async fn list_keys(store: &impl ObjectStore, prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> =
        store.list(Some(&path(prefix))).map_ok(|meta| meta.location.to_string()).try_collect().await.expect("list");
    keys.sort();
    keys
}

#[tokio::test]
async fn objects_round_trip_whole_by_range_and_in_listings() {
    let server = S3TestServer::start(&["data"]);
    let store = server.client("data");
    store.put(&path("words.txt"), PutPayload::from_static(b"the quick brown fox\n")).await.expect("put");
    store.put(&path("dir/a.txt"), PutPayload::from_static(b"a\n")).await.expect("put");
    store.put(&path("dir/sub/b.txt"), PutPayload::from_static(b"b\n")).await.expect("put");

    assert_eq!(get_bytes(&store, "words.txt").await, b"the quick brown fox\n");
    let range = store.get_range(&path("words.txt"), 4..9).await.expect("ranged get");
    assert_eq!(&range[..], b"quick");
    let meta = store.head(&path("words.txt")).await.expect("head");
    assert_eq!(meta.size, 20);

    assert_eq!(list_keys(&store, "dir").await, ["dir/a.txt", "dir/sub/b.txt"]);
    let one_level = store.list_with_delimiter(Some(&path("dir"))).await.expect("list with delimiter");
    let objects: Vec<String> = one_level.objects.iter().map(|m| m.location.to_string()).collect();
    let prefixes: Vec<String> = one_level.common_prefixes.iter().map(ToString::to_string).collect();
    assert_eq!(objects, ["dir/a.txt"]);
    assert_eq!(prefixes, ["dir/sub"]);

    store.delete(&path("dir/a.txt")).await.expect("delete");
    assert_eq!(list_keys(&store, "dir").await, ["dir/sub/b.txt"]);
    // A prefix is no object: deleting it deletes nothing.
    store.delete(&path("dir")).await.expect("deleting a prefix succeeds, as for any missing key");
    assert_eq!(list_keys(&store, "dir").await, ["dir/sub/b.txt"]);
    // The last object of a prefix takes its directories with it, not the bucket.
    store.delete(&path("dir/sub/b.txt")).await.expect("delete");
    assert!(!server.root().join("data/dir").exists(), "empty directories were left behind");
    assert!(server.root().join("data").is_dir(), "the bucket went with its last object");
}

#[tokio::test]
async fn a_multipart_upload_is_one_object() {
    let server = S3TestServer::start(&["data"]);
    let store = server.client("data");
    // Three parts: S3 wants every part but the last to be at least 5 MiB.
    let part = 5 << 20;
    let bytes: Vec<u8> = (0..2 * part + 1234).map(|i| (i % 251) as u8).collect();
    let upload = store.put_multipart(&path("big/object.bin")).await.expect("start a multipart upload");
    let mut writer = WriteMultipart::new_with_chunk_size(upload, part);
    writer.write(&bytes);
    writer.finish().await.expect("complete the multipart upload");

    assert_eq!(store.head(&path("big/object.bin")).await.expect("head").size, bytes.len() as u64);
    assert!(get_bytes(&store, "big/object.bin").await == bytes, "the object differs from what was uploaded");
    let tail = store.get_range(&path("big/object.bin"), 2 * part as u64..bytes.len() as u64).await.expect("range");
    assert_eq!(&tail[..], &bytes[2 * part..]);
}

#[tokio::test]
async fn files_put_into_the_root_are_objects() {
    let server = S3TestServer::start(&[]);
    server.write_object_file("handmade", "in/words.txt", b"one two\nthree\n");
    let store = server.client("handmade");
    assert_eq!(get_bytes(&store, "in/words.txt").await, b"one two\nthree\n");
    assert_eq!(list_keys(&store, "in").await, ["in/words.txt"]);
}

#[tokio::test]
async fn missing_buckets_and_keys_are_not_found() {
    let server = S3TestServer::start(&["data"]);
    let missing_key = server.client("data").get(&path("nope.txt")).await;
    assert!(matches!(missing_key, Err(object_store::Error::NotFound { .. })), "{missing_key:?}");
    let missing_bucket = server.client("no-such-bucket").get(&path("words.txt")).await;
    assert!(matches!(missing_bucket, Err(object_store::Error::NotFound { .. })), "{missing_bucket:?}");
    let listing: Result<Vec<_>, _> = server.client("no-such-bucket").list(None).try_collect().await;
    let err = listing.expect_err("listing a missing bucket fails");
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
}

#[tokio::test]
async fn requests_signed_with_wrong_keys_are_refused() {
    let server = S3TestServer::start(&["data"]);
    server.write_object_file("data", "words.txt", b"secret words\n");

    let wrong_secret = server.client_with_keys("data", server.access_key(), "not-the-secret");
    let refused = wrong_secret.get(&path("words.txt")).await;
    assert!(matches!(refused, Err(object_store::Error::PermissionDenied { .. })), "{refused:?}");
    let refused = wrong_secret.put(&path("planted.txt"), PutPayload::from_static(b"x")).await;
    assert!(matches!(refused, Err(object_store::Error::PermissionDenied { .. })), "{refused:?}");
    assert!(!server.root().join("data/planted.txt").exists(), "a refused put wrote its object");

    let unknown_key = server.client_with_keys("data", "AKNOBODY", server.secret_key());
    let refused = unknown_key.get(&path("words.txt")).await;
    assert!(matches!(refused, Err(object_store::Error::PermissionDenied { .. })), "{refused:?}");

    // Unsigned: a plain HTTP GET with no Authorization header.
    support::install_crypto_provider();
    let anonymous = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(server.endpoint())
        .with_allow_http(true)
        .with_region(support::REGION)
        .with_bucket_name("data")
        .with_skip_signature(true)
        .build()
        .expect("an unsigned client");
    let refused = anonymous.get(&path("words.txt")).await;
    assert!(matches!(refused, Err(object_store::Error::PermissionDenied { .. })), "{refused:?}");
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let mut server = S3TestServer::start(&["data"]);
    let store = server.client("data");
    store.put(&path("k"), PutPayload::from_static(b"v")).await.expect("put");
    let status = server.stop();
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

fn server_refuses(args: &[&str], env: &[(&str, &str)], expected: &str) {
    let root = tempfile::tempdir().expect("a temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_ember-s3-server"))
        .arg("--root")
        .arg(root.path())
        .args(args)
        .env_remove("EMBER_S3_SECRET_KEY")
        .envs(env.iter().copied())
        .output()
        .expect("ember-s3-server runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "started with {args:?}");
    assert!(output.stdout.is_empty(), "printed an address with {args:?}");
    assert!(stderr.contains(expected), "{args:?}: expected {expected:?} in:\n{stderr}");
}

#[test]
fn bad_flags_are_refused_with_a_message_naming_them() {
    let key = [("EMBER_S3_SECRET_KEY", "s3cret")];
    server_refuses(
        &["--access-key", "AK", "--port", "0"],
        &[],
        "no secret key: pass --secret-key-file FILE or set EMBER_S3_SECRET_KEY",
    );
    server_refuses(
        &["--access-key", "AK", "--port", "0", "--bucket", "Bad_Bucket"],
        &key,
        "\"Bad_Bucket\" is not a valid S3 bucket name",
    );
    server_refuses(&["--access-key", "", "--port", "0"], &key, "the access key is empty");
    server_refuses(
        &["--access-key", "AK", "--port", "0", "--secret-key-file", "/nonexistent/secret"],
        &[],
        "--secret-key-file /nonexistent/secret",
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to hold");
    let port = taken.local_addr().expect("its address").port().to_string();
    server_refuses(&["--access-key", "AK", "--port", &port], &key, &format!("cannot listen on 127.0.0.1:{port}"));
}

#[tokio::test]
async fn a_prefix_is_not_an_object() {
    // s3s-fs keeps `dir/a.txt` as the file ROOT/data/dir/a.txt, so `dir` is a
    // directory on disk; to S3 clients it must not exist as an object.
    let server = S3TestServer::start(&["data"]);
    let store = server.client("data");
    store.put(&path("dir/a.txt"), PutPayload::from_static(b"a\n")).await.expect("put");
    let head = store.head(&path("dir")).await;
    assert!(matches!(head, Err(object_store::Error::NotFound { .. })), "{head:?}");
    let get = store.get(&path("dir")).await;
    assert!(matches!(get, Err(object_store::Error::NotFound { .. })), "{get:?}");
}

#[tokio::test]
async fn a_file_put_in_by_hand_has_the_etag_of_its_bytes_and_a_new_one_when_replaced() {
    let server = S3TestServer::start(&["data"]);
    let store = server.client("data");
    // The same bytes put through S3: the reference ETag (their MD5).
    store.put(&path("through-s3.txt"), PutPayload::from_static(b"first version\n")).await.expect("put");
    let reference = store.head(&path("through-s3.txt")).await.expect("head").e_tag;

    server.write_object_file("data", "by-hand.txt", b"first version\n");
    let first = store.head(&path("by-hand.txt")).await.expect("head").e_tag;
    assert!(first.is_some() && first == reference, "{first:?} vs {reference:?}");
    assert_eq!(get_bytes(&store, "by-hand.txt").await, b"first version\n");
    assert_eq!(store.head(&path("by-hand.txt")).await.expect("head").e_tag, first, "a read changed the ETag");

    server.write_object_file("data", "by-hand.txt", b"second version, longer\n");
    let second = store.head(&path("by-hand.txt")).await.expect("head").e_tag;
    assert_ne!(second, first, "a file replaced by hand kept its old ETag");
    assert_eq!(get_bytes(&store, "by-hand.txt").await, b"second version, longer\n");

    // An object put through S3 and then replaced by hand is hashed again too.
    server.write_object_file("data", "through-s3.txt", b"replaced by hand\n");
    let replaced = store.head(&path("through-s3.txt")).await.expect("head").e_tag;
    assert_ne!(replaced, reference, "an object replaced by hand kept the ETag of its S3 upload");
}

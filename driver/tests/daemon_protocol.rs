//! The executor daemon's protocol spoken by hand, as a misbehaving or hostile
//! client would: an upload that is not the announced binary (and a start
//! without one), tickets forged or reused, a backend attached with the wrong token or
//! another binary's hash, and a shuffle fetch without the application's
//! shuffle token. Each is refused with an error that names it, and nothing
//! is stored or left running. Neither the daemon's secret nor a wrong one
//! appears in its log.

use daemon_common::{Daemon, children, free_port};
use ember_proto::v1 as pb;
use ember_proto::v1::driver_message::Kind as DriverKind;
use ember_proto::v1::executor_backend_client::ExecutorBackendClient;
use ember_proto::v1::executor_daemon_client::ExecutorDaemonClient;
use ember_security::auth::proof;
use std::path::Path;
use tonic::transport::Channel;

mod daemon_common;

const SECRET: &str = "protocol";
const APP: &str = "app-protocol";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

async fn client(daemon: &Daemon) -> ExecutorDaemonClient<Channel> {
    ExecutorDaemonClient::connect(format!("http://127.0.0.1:{}", daemon.port)).await.unwrap()
}

/// Authenticates for a binary with SHA-256 `sha`; returns the ticket and
/// whether the daemon wants the binary.
async fn prepare(client: &mut ExecutorDaemonClient<Channel>, sha: &str) -> pb::PrepareResponse {
    prepare_hosted(client, sha, None).await.unwrap()
}

/// `prepare` for a REPL's cell object `sha` that needs the runtime `hosted`.
async fn prepare_hosted(
    client: &mut ExecutorDaemonClient<Channel>,
    sha: &str,
    hosted: Option<pb::HostedCode>,
) -> Result<pb::PrepareResponse, tonic::Status> {
    let nonce = client.challenge(pb::ChallengeRequest {}).await.unwrap().into_inner().nonce;
    let request = pb::PrepareRequest {
        proof: proof(SECRET.as_bytes(), &nonce, APP, sha),
        nonce,
        app_id: APP.into(),
        exe_sha256: sha.into(),
        hosted,
    };
    client.prepare(request).await.map(|r| r.into_inner())
}

fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(data))
}

fn chunks(ticket: &str, data: &[u8]) -> Vec<pb::UploadChunk> {
    data.chunks(1 << 20)
        .enumerate()
        .map(|(i, d)| pb::UploadChunk {
            ticket: if i == 0 { ticket.into() } else { String::new() },
            data: d.to_vec(),
            runtime: false,
        })
        .collect()
}

/// This test binary and its SHA-256: what the daemon stores and starts as a
/// backend.
fn own_binary() -> (Vec<u8>, String) {
    // This file starts no context itself; naming `Context::new` links in the
    // hook that makes this binary a backend when the daemon starts it.
    std::hint::black_box(ember::prelude::Context::new as fn(_) -> _);
    let bytes = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    (bytes, ember_executor::wire::code_sha256().unwrap())
}

#[test]
fn an_upload_that_is_not_the_announced_binary_is_refused_and_not_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = daemon_common::start_daemon(&tmp.path().join("d"), SECRET, free_port(), &[]);
    runtime().block_on(async {
        let mut client = client(&daemon).await;
        let (_, sha) = own_binary();
        let prepared = prepare(&mut client, &sha).await;
        assert!(prepared.need_binary);
        let err = client.upload(tokio_stream::iter(chunks(&prepared.ticket, b"another program"))).await.unwrap_err();
        assert!(err.message().contains(&format!("not the announced {sha}")), "{}", err.message());
        assert_eq!(entries(&daemon.work.join("binaries")), 0, "nothing stored");
        assert_eq!(entries(&daemon.work.join("uploads")), 0, "the partial upload is removed");
        // Starting on that ticket finds no binary, and starts nothing.
        let start = pb::StartRequest { ticket: prepared.ticket, cores: 1 };
        let err = client.start(start).await.unwrap_err();
        assert!(err.message().contains("the binary was not uploaded"), "{}", err.message());
        assert!(children(daemon.child.id()).is_empty());
    });
}

#[test]
fn a_cell_object_and_its_runtime_library_are_stored_by_hash_and_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = daemon_common::start_daemon(&tmp.path().join("d"), SECRET, free_port(), &[]);
    runtime().block_on(async {
        let mut client = client(&daemon).await;
        let (object, runtime) = (b"a cell's object".as_slice(), b"libstd".as_slice());
        let hosted = |name: &str| Some(pb::HostedCode { runtime_name: name.into(), runtime_sha256: sha256(runtime) });
        let err = prepare_hosted(&mut client, &sha256(object), hosted("../../bin/sh")).await.unwrap_err();
        assert!(err.message().contains("is not the file name of a shared library"), "{}", err.message());

        let prepared = prepare_hosted(&mut client, &sha256(object), hosted("libstd-test.so")).await.unwrap();
        assert!(prepared.need_binary && prepared.need_runtime);
        let runtime_chunks = |ticket: &str, data: &[u8]| {
            let mut chunks = chunks(ticket, data);
            chunks[0].runtime = true;
            chunks
        };
        let err = client.upload(tokio_stream::iter(runtime_chunks(&prepared.ticket, b"not libstd"))).await;
        let err = err.unwrap_err();
        assert!(err.message().contains("runtime library's SHA-256"), "{}", err.message());
        client.upload(tokio_stream::iter(chunks(&prepared.ticket, object))).await.unwrap();
        let start = pb::StartRequest { ticket: prepared.ticket.clone(), cores: 1 };
        let err = client.start(start).await.unwrap_err();
        assert!(err.message().contains("the runtime library was not uploaded"), "{}", err.message());

        let prepared = prepare_hosted(&mut client, &sha256(object), hosted("libstd-test.so")).await.unwrap();
        assert!(!prepared.need_binary && prepared.need_runtime, "the object is kept, the runtime is not");
        client.upload(tokio_stream::iter(runtime_chunks(&prepared.ticket, runtime))).await.unwrap();
        let kept = daemon.work.join("runtimes").join(sha256(runtime)).join("libstd-test.so");
        assert_eq!(std::fs::read(kept).unwrap(), runtime);
        let prepared = prepare_hosted(&mut client, &sha256(object), hosted("libstd-test.so")).await.unwrap();
        assert!(!prepared.need_binary && !prepared.need_runtime, "both kept for the next driver");
        // The daemon hosts the object in its own executable, which cannot
        // load these bytes: the driver is told, nothing keeps running.
        let err = client.start(pb::StartRequest { ticket: prepared.ticket, cores: 1 }).await.unwrap_err();
        assert!(err.message().contains("could not host the REPL's code object"), "{}", err.message());
        assert!(children(daemon.child.id()).is_empty());

        // An executable's ticket takes no runtime library.
        let (_, sha) = own_binary();
        let prepared = prepare(&mut client, &sha).await;
        let err = client.upload(tokio_stream::iter(runtime_chunks(&prepared.ticket, runtime))).await.unwrap_err();
        assert!(err.message().contains("a runtime library upload for an executable"), "{}", err.message());
    });
}

#[test]
fn forged_and_reused_tickets_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = daemon_common::start_daemon(&tmp.path().join("d"), SECRET, free_port(), &[]);
    runtime().block_on(async {
        let mut client = client(&daemon).await;
        let forged = "00".repeat(24);
        let err = client.upload(tokio_stream::iter(chunks(&forged, b"x"))).await.unwrap_err();
        assert!(err.message().contains("unknown or expired ticket"), "{}", err.message());
        let err = client.start(pb::StartRequest { ticket: forged, cores: 1 }).await.unwrap_err();
        assert!(err.message().contains("unknown or expired ticket"), "{}", err.message());

        let (bytes, sha) = own_binary();
        let prepared = prepare(&mut client, &sha).await;
        client.upload(tokio_stream::iter(chunks(&prepared.ticket, &bytes))).await.unwrap();
        let start = pb::StartRequest { ticket: prepared.ticket, cores: 1 };
        client.start(start.clone()).await.expect("the first start");
        let err = client.start(start).await.unwrap_err();
        assert!(err.message().contains("unknown or expired ticket"), "a ticket is used once: {}", err.message());
        assert_eq!(children(daemon.child.id()).len(), 1, "one backend, from the first start");
    });
}

#[test]
fn a_backend_refuses_a_driver_with_the_wrong_token_or_another_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let daemon = daemon_common::start_daemon(&tmp.path().join("d"), SECRET, free_port(), &[]);
    runtime().block_on(async {
        let mut client = client(&daemon).await;
        let (bytes, sha) = own_binary();
        let prepared = prepare(&mut client, &sha).await;
        client.upload(tokio_stream::iter(chunks(&prepared.ticket, &bytes))).await.unwrap();
        let started = client.start(pb::StartRequest { ticket: prepared.ticket, cores: 1 }).await.unwrap().into_inner();
        let attach = |token: &str, sha: &str| {
            let hello = pb::Hello {
                app_id: APP.into(),
                executor_id: "exec-0".into(),
                exe_sha256: sha.into(),
                memory_bytes: 0,
                token: token.into(),
                shuffle_token: String::new(),
                ..Default::default()
            };
            let address = format!("http://{}", started.backend_address);
            async move {
                let mut backend = ExecutorBackendClient::connect(address).await.unwrap();
                let first = pb::DriverMessage { kind: Some(DriverKind::Hello(hello)) };
                match backend.attach(tokio_stream::iter(vec![first])).await {
                    Ok(response) => response.into_inner().message().await.map(|_| ()),
                    Err(status) => Err(status),
                }
            }
        };
        let err = attach("not-the-token", &sha).await.unwrap_err();
        assert!(err.message().contains("wrong backend token"), "{}", err.message());
        let err = attach("", &sha).await.unwrap_err();
        assert!(err.message().contains("no backend token"), "{}", err.message());
        let err = attach(&started.backend_token, &"ab".repeat(32)).await.unwrap_err();
        assert!(err.message().contains("executable mismatch"), "{}", err.message());
        assert!(err.message().contains("executors must run the driver's own binary"), "{}", err.message());

        // Attached as its driver, with the application's shuffle token...
        let address = format!("http://{}", started.backend_address);
        let mut backend = ExecutorBackendClient::connect(address).await.unwrap();
        let hello = pb::Hello {
            app_id: APP.into(),
            executor_id: "exec-0".into(),
            exe_sha256: sha.clone(),
            memory_bytes: 0,
            token: started.backend_token.clone(),
            shuffle_token: "the-apps-shuffle-token".into(),
            ..Default::default()
        };
        let (to_backend, outbound) = tokio::sync::mpsc::unbounded_channel();
        to_backend.send(pb::DriverMessage { kind: Some(DriverKind::Hello(hello)) }).unwrap();
        let mut inbound = backend
            .attach(tokio_stream::wrappers::UnboundedReceiverStream::new(outbound))
            .await
            .expect("the driver with the right token and binary attaches")
            .into_inner();
        inbound.message().await.unwrap().expect("registered");
        // ...its shuffle blocks are refused to a fetch without that token.
        let fetch = |token: &str| pb::FetchShuffleRequest {
            shuffle_id: 0,
            reduce_index: 0,
            map_indices: vec![0],
            token: token.into(),
        };
        let err = backend.fetch_shuffle(fetch("")).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::PermissionDenied, "{}", err.message());
        assert!(err.message().contains("without this application's shuffle token"), "{}", err.message());
        let err = backend.fetch_shuffle(fetch("the-apps-shuffle-token")).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound, "past the token check, no such block: {}", err.message());
        drop(to_backend);
    });
}

#[test]
fn no_secret_appears_in_the_daemons_log() {
    use ember::prelude::*;
    let tmp = tempfile::tempdir().unwrap();
    let (right, wrong) = ("r1ght-secret-never-logged", "wr0ng-secret-never-logged");
    let log_path = tmp.path().join("daemon.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut daemon =
        daemon_common::start_daemon_logging_to(&tmp.path().join("d"), right, free_port(), &[], log.into(), "debug");
    let master = daemon_common::master(&[&daemon]);
    for (secret, works) in [(wrong, false), (right, true)] {
        let file = tmp.path().join(secret);
        std::fs::write(&file, secret).unwrap();
        let ctx = Context::new(Conf::new().master(&master).set("ember.auth.secretFile", file.display().to_string()));
        assert_eq!(ctx.is_ok(), works, "{secret}");
        if let Ok(ctx) = ctx {
            assert_eq!(
                ctx.parallelize((0..10u32).collect(), 2)
                    .map(|x| (x % 2, x))
                    .reduce_by_key(|a, b| a + b)
                    .count()
                    .unwrap(),
                2
            );
        }
    }
    daemon.child.kill().unwrap();
    daemon.child.wait().unwrap();
    let logged = std::fs::read_to_string(&log_path).unwrap();
    assert!(logged.contains("refused a driver"), "the log is the daemon's, at debug level: {logged}");
    assert!(logged.contains("started an executor backend"), "{logged}");
    for secret in [right, wrong] {
        assert!(!logged.contains(secret), "{secret} is in the daemon's log");
    }
}

#[test]
fn a_backend_no_driver_attaches_to_exits_and_is_cleaned_up() {
    let tmp = tempfile::tempdir().unwrap();
    let args: Vec<&std::ffi::OsStr> = ["--attach-timeout", "3"].iter().map(std::ffi::OsStr::new).collect();
    let daemon = daemon_common::start_daemon(&tmp.path().join("d"), SECRET, free_port(), &args);
    runtime().block_on(async {
        let mut client = client(&daemon).await;
        let (bytes, sha) = own_binary();
        let prepared = prepare(&mut client, &sha).await;
        client.upload(tokio_stream::iter(chunks(&prepared.ticket, &bytes))).await.unwrap();
        client.start(pb::StartRequest { ticket: prepared.ticket, cores: 1 }).await.unwrap();
    });
    assert_eq!(children(daemon.child.id()).len(), 1, "a backend waits for its driver");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !children(daemon.child.id()).is_empty() || entries(&daemon.work.join("apps")) > 0 {
        assert!(std::time::Instant::now() < deadline, "the unattached backend is still there after 30 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(entries(&daemon.work.join("binaries")), 1, "the binary stays for the next application");
}

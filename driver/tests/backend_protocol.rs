//! The backend's side of the protocol, driven directly: registration checks
//! the executable, and a backend exits when its driver goes away.

use ember::executors::local_cluster::spawn_backend;
use ember::executors::remote::{AttachRequest, attach};
use ember::executors::{AppIdentity, ExecutorId, ExecutorResources};
use ember::scheduler::EventSender;
use std::time::{Duration, Instant};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn request(address: &str, sha: &str, token: &str) -> AttachRequest {
    AttachRequest {
        address: address.to_string(),
        executor: ExecutorId("exec-test".into()),
        app: AppIdentity { app_id: "app-test".into(), exe_sha256: sha.to_string(), shuffle_token: String::new() },
        resources: ExecutorResources {
            memory: ember_rdd::memory::MemoryConfig::default(),
            compress_shuffle: true,
            local_dir: None,
            heartbeat_interval: Duration::from_secs(1),
        },
        connect_timeout: Duration::from_secs(5),
        register_timeout: Duration::from_secs(30),
        token: token.to_string(),
        tls: None,
        ship_code_objects: false,
    }
}

#[test]
fn a_driver_running_a_different_binary_is_refused() {
    let rt = runtime();
    rt.block_on(async {
        let backend =
            spawn_backend("app-test-refused", 0, 1, Duration::from_secs(1), Duration::from_secs(20)).await.unwrap();
        let (events, _rx) = EventSender::channel();
        let err =
            attach(request(&backend.address, "0000", &backend.token), events.clone()).await.err().expect("refused");
        let msg = err.to_string();
        assert!(msg.contains("executable mismatch") && msg.contains("0000"), "{msg}");
        // Without its token, or with another, the right binary is refused too.
        let sha = ember_executor::wire::code_sha256().unwrap();
        for (token, why) in [("", "no backend token"), ("not-its-token", "wrong backend token")] {
            let err = attach(request(&backend.address, &sha, token), events.clone()).await.err().expect("refused");
            assert!(err.to_string().contains(why), "{token:?}: {err}");
        }
        // With both, the same backend accepts its driver.
        let reg = attach(request(&backend.address, &sha, &backend.token), events).await.expect("accepted");
        assert_eq!(reg.pid, backend.pid);
    });
}

#[test]
fn an_unreachable_executor_is_a_clear_error_within_seconds() {
    let rt = runtime();
    let start = Instant::now();
    let (events, _rx) = EventSender::channel();
    // A port nobody listens on: connection refused at once.
    let err = rt.block_on(attach(request("127.0.0.1:9", "x", "t"), events)).err().expect("fails");
    assert!(err.to_string().contains("cannot reach executor at 127.0.0.1:9"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(6));
}

#[test]
fn a_backend_exits_when_its_driver_goes_away() {
    let rt = runtime();
    rt.block_on(async {
        let mut backend =
            spawn_backend("app-test-exits", 0, 1, Duration::from_secs(1), Duration::from_secs(20)).await.unwrap();
        // Closing the backend's stdin is what the driver's death does.
        drop(backend.child.stdin.take());
        let status = tokio::time::timeout(Duration::from_secs(30), backend.child.wait()).await;
        assert!(matches!(status, Ok(Ok(s)) if s.success()), "backend did not exit cleanly: {status:?}");
    });
}

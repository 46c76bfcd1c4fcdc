//! `ember://` masters over TLS, against real `ember-executor` daemons on
//! 127.0.0.1 started with certificates made here by rcgen: jobs run (the
//! driver talks TLS to daemons and backends, backends fetch shuffle blocks
//! from each other over TLS), and every mismatch is a clear error within
//! seconds.

use daemon_common::{Daemon, children, daemon_binary, free_port, master};
use ember::prelude::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa, KeyPair};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod daemon_common;

const SECRET: &str = "tls-test-secret";

/// A daemon on 127.0.0.1 with `tls_args` (e.g. `--tls-cert FILE --tls-key FILE`).
fn start_daemon(work: &Path, tls_args: &[&Path]) -> Daemon {
    let args: Vec<&OsStr> = tls_args.iter().map(|p| p.as_os_str()).collect();
    daemon_common::start_daemon(work, SECRET, free_port(), &args)
}

/// A CA named `name`, as an issuer that signs server certificates.
fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// PEM files in a temporary directory: a cluster CA, an executor
/// certificate it signed for localhost and 127.0.0.1, and a stranger CA.
struct Pki {
    dir: tempfile::TempDir,
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    other_ca: PathBuf,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let cluster_ca = ca("ember test cluster CA");
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert = params.signed_by(&key, &cluster_ca).unwrap();
    Pki {
        ca: write("ca.pem", cluster_ca.pem()),
        cert: write("executor.pem", cert.pem()),
        key: write("executor-key.pem", key.serialize_pem()),
        other_ca: write("other-ca.pem", ca("some other CA").pem()),
        dir,
    }
}

impl Pki {
    fn daemon_args(&self) -> Vec<&Path> {
        vec![Path::new("--tls-cert"), &self.cert, Path::new("--tls-key"), &self.key, Path::new("--tls-ca"), &self.ca]
    }
}

fn conf(daemons: &[&Daemon], tmp: &Path) -> Conf {
    let secret = tmp.join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    Conf::new().master(&master(daemons)).set("ember.auth.secretFile", secret.display()).set("ember.ui.enabled", false)
}

fn tls_conf(daemons: &[&Daemon], tmp: &Path, ca: &Path) -> Conf {
    conf(daemons, tmp).set("ember.tls.enabled", true).set("ember.tls.caFile", ca.display())
}

/// How long a refused connection may take to be reported.
const QUICK: Duration = Duration::from_secs(8);

#[test]
fn a_shuffle_job_runs_over_tls_on_two_daemons() {
    let pki = pki();
    let (a, b) = (
        start_daemon(&pki.dir.path().join("a"), &pki.daemon_args()),
        start_daemon(&pki.dir.path().join("b"), &pki.daemon_args()),
    );
    let ctx = Context::new(tls_conf(&[&a, &b], pki.dir.path(), &pki.ca)).expect("context over TLS");
    // Each key's sum, the processes that ran its map tasks, and the one that
    // reduced it: map outputs written by another backend were fetched from
    // it, over TLS (a plain fetch from a TLS backend fails).
    let rows: Vec<(u64, (u64, Vec<u32>), u32)> = ctx
        .parallelize((0..4000u64).collect(), 8)
        .map(|x| (x % 13, (x, vec![std::process::id()])))
        .reduce_by_key_into(
            |(s1, mut p1), (s2, p2)| {
                p1.extend(p2);
                p1.sort_unstable();
                p1.dedup();
                (s1 + s2, p1)
            },
            6,
        )
        .map(|(k, v)| (k, v, std::process::id()))
        .collect()
        .unwrap();
    let mut expected = [0u64; 13];
    (0..4000u64).for_each(|x| expected[(x % 13) as usize] += x);
    let mut sums: Vec<(u64, u64)> = rows.iter().map(|(k, (sum, _), _)| (*k, *sum)).collect();
    sums.sort_unstable();
    assert_eq!(sums, expected.iter().enumerate().map(|(k, v)| (k as u64, *v)).collect::<Vec<_>>());
    let (in_a, in_b) = (children(a.child.id()), children(b.child.id()));
    let pids: Vec<u32> =
        rows.iter().flat_map(|(_, (_, maps), reducer)| maps.iter().chain([reducer]).copied()).collect();
    assert!(pids.iter().all(|p| in_a.contains(p) || in_b.contains(p)), "tasks ran on the daemons' backends");
    assert!(
        rows.iter().any(|(_, (_, maps), reducer)| maps.iter().any(|m| m != reducer)),
        "some reduce task fetched from the other backend: {rows:?}"
    );
    // The certificate's DNS name works too, when the driver is told to check it.
    drop(ctx);
    let ctx = Context::new(tls_conf(&[&a], pki.dir.path(), &pki.ca).set("ember.tls.serverName", "localhost"))
        .expect("context checking the name localhost");
    assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).map(|x| (x % 2, x)).group_by_key().count().unwrap(), 2);
}

#[test]
fn a_driver_without_tls_is_told_the_daemon_serves_tls() {
    let pki = pki();
    let daemon = start_daemon(&pki.dir.path().join("d"), &pki.daemon_args());
    let start = Instant::now();
    let err = Context::new(conf(&[&daemon], pki.dir.path())).err().expect("refused").to_string();
    assert!(start.elapsed() < QUICK, "took {:?}", start.elapsed());
    assert!(err.contains(&format!("executor daemon at 127.0.0.1:{}", daemon.port)), "{err}");
    assert!(err.contains("set ember.tls.enabled=true"), "{err}");
    assert!(children(daemon.child.id()).is_empty(), "no backend started");
}

#[test]
fn a_driver_trusting_another_ca_or_name_is_refused_quickly() {
    let pki = pki();
    let daemon = start_daemon(&pki.dir.path().join("d"), &pki.daemon_args());
    let start = Instant::now();
    let err = Context::new(tls_conf(&[&daemon], pki.dir.path(), &pki.other_ca)).err().expect("refused").to_string();
    assert!(start.elapsed() < QUICK, "took {:?}", start.elapsed());
    assert!(err.contains(&format!("cannot reach executor daemon at 127.0.0.1:{}", daemon.port)), "{err}");
    assert!(err.contains("not trusted: ember.tls.caFile must be the CA that signed it"), "{err}");
    let start = Instant::now();
    let wrong_name = tls_conf(&[&daemon], pki.dir.path(), &pki.ca).set("ember.tls.serverName", "executor.example");
    let err = Context::new(wrong_name).err().expect("refused").to_string();
    assert!(start.elapsed() < QUICK, "took {:?}", start.elapsed());
    assert!(err.contains("set ember.tls.serverName"), "{err}");
    assert!(children(daemon.child.id()).is_empty(), "no backend started");
}

#[test]
fn a_tls_driver_against_a_plain_daemon_is_refused_quickly() {
    let pki = pki();
    let daemon = start_daemon(&pki.dir.path().join("d"), &[]);
    let start = Instant::now();
    let err = Context::new(tls_conf(&[&daemon], pki.dir.path(), &pki.ca)).err().expect("refused").to_string();
    assert!(start.elapsed() < QUICK, "took {:?}", start.elapsed());
    assert!(err.contains("TLS handshake failed: is the executor serving TLS"), "{err}");
}

#[test]
fn daemon_tls_flags_are_checked_at_start() {
    let pki = pki();
    let run = |args: &[&Path]| {
        let out = Command::new(daemon_binary())
            .args(["--host", "127.0.0.1", "--port", &free_port().to_string(), "--insecure"])
            .args(args)
            .env("EMBER_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "the daemon refused to start");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run(&[Path::new("--tls-cert"), &pki.cert]);
    assert!(err.contains("--tls-cert needs --tls-key"), "{err}");
    let err = run(&[Path::new("--tls-cert"), &pki.cert, Path::new("--tls-key"), &pki.ca]);
    assert!(err.contains("--tls-key") && err.contains("no PEM private key"), "{err}");
    // Signed by a CA, so peers cannot trust it without --tls-ca.
    let err = run(&[Path::new("--tls-cert"), &pki.cert, Path::new("--tls-key"), &pki.key]);
    assert!(err.contains("pass --tls-ca FILE"), "{err}");
    let missing = pki.dir.path().join("missing.pem");
    let err =
        run(&[Path::new("--tls-cert"), &pki.cert, Path::new("--tls-key"), &pki.key, Path::new("--tls-ca"), &missing]);
    assert!(err.contains(&format!("--tls-ca {}", missing.display())), "{err}");
}

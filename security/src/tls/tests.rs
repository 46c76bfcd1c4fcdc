//! Loading and checking TLS files, with certificates made by rcgen.

use super::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

/// A CA, as an issuer that can sign more certificates.
fn ca() -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A server certificate for `names`, signed by `issuer` (self-signed if none): (cert PEM, key PEM).
fn server(names: &[&str], issuer: Option<&CertifiedIssuer<'static, KeyPair>>) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    let cert = match issuer {
        Some(ca) => params.signed_by(&key, ca).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn files(cert: PathBuf, key: PathBuf, ca: Option<PathBuf>) -> TlsFiles {
    TlsFiles::from_options(Some(cert), Some(key), ca, &FLAG_ORIGINS).unwrap().unwrap()
}

#[test]
fn flags_come_in_pairs_and_name_what_is_missing() {
    let p = |s: &str| Some(PathBuf::from(s));
    assert_eq!(TlsFiles::from_options(None, None, None, &FLAG_ORIGINS).unwrap(), None);
    let err = |c, k, a| TlsFiles::from_options(c, k, a, &FLAG_ORIGINS).unwrap_err().to_string();
    assert!(err(p("c.pem"), None, None).starts_with("--tls-cert needs --tls-key"));
    assert!(err(None, p("k.pem"), None).starts_with("--tls-key needs --tls-cert"));
    assert!(err(None, None, p("ca.pem")).starts_with("--tls-ca needs --tls-cert and --tls-key"));
    let f = TlsFiles::from_options(p("c.pem"), p("k.pem"), None, &FLAG_ORIGINS).unwrap().unwrap();
    assert!(f.cert.is_absolute() && f.key.is_absolute(), "backends run elsewhere: {f:?}");
}

#[test]
fn a_self_signed_certificate_is_its_own_trust_root() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = server(&["localhost", "127.0.0.1"], None);
    let tls = ExecutorTls::load(
        files(write(dir.path(), "c.pem", &cert), write(dir.path(), "k.pem", &key), None),
        &FLAG_ORIGINS,
    )
    .unwrap();
    assert!(!format!("{tls:?}").contains("PRIVATE KEY"), "debug output shows no key");
}

#[test]
fn a_ca_signed_certificate_needs_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca();
    let (cert, key) = server(&["localhost"], Some(&ca));
    let (cert, key) = (write(dir.path(), "c.pem", &cert), write(dir.path(), "k.pem", &key));
    let err = ExecutorTls::load(files(cert.clone(), key.clone(), None), &FLAG_ORIGINS).unwrap_err().to_string();
    assert!(err.contains("--tls-cert") && err.contains("not trusted") && err.contains("pass --tls-ca"), "{err}");
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    ExecutorTls::load(files(cert.clone(), key.clone(), Some(ca_file)), &FLAG_ORIGINS).unwrap();
    let other = write(dir.path(), "other.pem", &self::ca().pem());
    let err = ExecutorTls::load(files(cert, key, Some(other)), &FLAG_ORIGINS).unwrap_err().to_string();
    assert!(err.contains("is not trusted by --tls-ca"), "{err}");
}

#[test]
fn a_ca_certificate_cannot_serve_and_the_error_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["executor".to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let (cert, key) = (write(dir.path(), "c.pem", &cert.pem()), write(dir.path(), "k.pem", &key.serialize_pem()));
    let err = ExecutorTls::load(files(cert, key, None), &FLAG_ORIGINS).unwrap_err().to_string();
    assert!(err.contains("marked as a CA") && err.contains("CA:FALSE"), "{err}");
}

#[test]
fn bad_files_are_named_with_their_flag() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = server(&["localhost"], None);
    let (_, other_key) = server(&["localhost"], None);
    let (cert, key) = (write(dir.path(), "c.pem", &cert), write(dir.path(), "k.pem", &key));
    let garbage = write(dir.path(), "garbage.pem", "not pem at all\n");
    let missing = dir.path().join("missing.pem");
    let load = |c: &PathBuf, k: &PathBuf| ExecutorTls::load(files(c.clone(), k.clone(), None), &FLAG_ORIGINS);
    let err = load(&missing, &key).unwrap_err().to_string();
    assert!(err.starts_with(&format!("--tls-cert {}: ", missing.display())), "{err}");
    let err = load(&garbage, &key).unwrap_err().to_string();
    assert!(err.contains("--tls-cert") && err.contains("no PEM certificate"), "{err}");
    let err = load(&cert, &garbage).unwrap_err().to_string();
    assert!(err.contains("--tls-key") && err.contains("no PEM private key"), "{err}");
    let err = load(&cert, &write(dir.path(), "k2.pem", &other_key)).unwrap_err().to_string();
    assert!(err.contains("does not belong to --tls-cert"), "{err}");
    let err = TrustRoots::load("ember.tls.caFile", &garbage).unwrap_err().to_string();
    assert!(err.starts_with("ember.tls.caFile "), "{err}");
}

#[test]
fn peers_are_checked_by_chain_not_by_name() {
    let ca = ca();
    let dir = tempfile::tempdir().unwrap();
    let roots = TrustRoots::load("ca", &write(dir.path(), "ca.pem", &ca.pem())).unwrap();
    let verifier = PeerVerifier::new(&roots).unwrap();
    let der = |pem: &str| CertificateDer::from_pem_slice(pem.as_bytes()).unwrap();
    let ip = ServerName::try_from("10.1.2.3").unwrap();
    let (signed, _) = server(&["executor"], Some(&ca));
    assert!(verifier.verify_server_cert(&der(&signed), &[], &ip, &[], UnixTime::now()).is_ok());
    let (stranger, _) = server(&["executor"], Some(&self::ca()));
    let refused = verifier.verify_server_cert(&der(&stranger), &[], &ip, &[], UnixTime::now());
    assert!(matches!(refused, Err(rustls::Error::InvalidCertificate(_))), "{refused:?}");
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Layer(&'static str, #[source] Option<Box<Layer>>);

#[test]
fn error_chains_show_every_cause_once() {
    let chain = Layer("transport error", Some(Box::new(Layer("bad cert", Some(Box::new(Layer("bad cert", None)))))));
    assert_eq!(error_chain(&chain), "transport error: bad cert");
    let rustls = std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::NoCertificatesPresented);
    let outer = TlsError::Setup("x".into());
    assert!(handshake_failure(&outer).is_none());
    assert!(matches!(handshake_failure(&rustls), Some(rustls::Error::NoCertificatesPresented)));
}

//! Optional TLS for standing clusters: rustls through tonic, with ring as
//! the crypto provider (it builds with a C compiler alone, so the static
//! `FROM scratch` image keeps building).
//!
//! `ember-executor --tls-cert FILE --tls-key FILE [--tls-ca FILE]` makes every
//! gRPC server of a cluster speak TLS: the daemon, and each backend it starts,
//! which is given the same files' *paths* in its environment (never their
//! contents, never in argv) and serves with the same identity. Two kinds of
//! client connect to them:
//!
//! - **The driver**, to daemons and to backends. It trusts `ember.tls.caFile`
//!   and checks the certificate's name: `ember.tls.serverName`, else the host
//!   of the master URL. A backend presents its daemon's certificate, so the
//!   name that fits the daemon fits its backends too.
//! - **Backends**, to other backends (shuffle fetches). They know a peer only
//!   by the IP the driver reported, so they check that the peer's certificate
//!   chains to the cluster's trust roots — `--tls-ca`, else the certificates
//!   of `--tls-cert` (right for one self-signed certificate that every
//!   executor shares) — and not its name: whoever holds a key the cluster's
//!   CA certified is a peer ([`PeerVerifier`]).
//!
//! Files are read and checked when a process starts — PEM syntax, that the
//! key belongs to the certificate, that the certificate chains to the trust
//! roots — so a wrong file is an error naming its flag, not a failed
//! handshake later. Nothing here is used while TLS is off.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_cert_signed_by_trust_anchor};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

/// How long a TLS handshake may take before a server drops the connection.
pub const SERVER_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file named by a flag, key or variable could not be read.
    #[error("{origin} {}: {error}", path.display())]
    Read { origin: &'static str, path: PathBuf, error: std::io::Error },
    /// A file was read but does not hold what it should.
    #[error("{origin} {}: {what}", path.display())]
    Invalid { origin: &'static str, path: PathBuf, what: String },
    /// Flags that only make sense together were given apart.
    #[error("{0}")]
    Flags(String),
    /// The private key is not the certificate's.
    #[error("{key_origin} {} does not belong to {cert_origin} {}: {why}", key.display(), cert.display())]
    KeyMismatch { cert_origin: &'static str, cert: PathBuf, key_origin: &'static str, key: PathBuf, why: String },
    /// The executors' own certificate does not chain to the roots their peers trust.
    #[error("{cert_origin} {} is not trusted by {roots}: {why}; {hint}", cert.display())]
    Untrusted { cert_origin: &'static str, cert: PathBuf, roots: String, why: String, hint: &'static str },
    /// rustls or tonic refused a configuration built from checked files.
    #[error("TLS setup failed: {0}")]
    Setup(String),
}

/// What names the three files in error messages: the daemon's flags or the
/// backend's environment variables.
#[derive(Clone, Copy, Debug)]
pub struct Origins {
    pub cert: &'static str,
    pub key: &'static str,
    pub ca: &'static str,
}

/// The daemon's command-line flags.
pub const FLAG_ORIGINS: Origins = Origins { cert: "--tls-cert", key: "--tls-key", ca: "--tls-ca" };

/// The PEM files of an executor's TLS identity and trust roots, as absolute
/// paths (backends run in their own directories).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CA that signed the executors' certificates; `None`: trust `cert` itself.
    pub ca: Option<PathBuf>,
}

impl TlsFiles {
    /// The files from `--tls-cert`, `--tls-key` and `--tls-ca` (or the
    /// backend's variables, per `origins`): both of the first two or neither
    /// (TLS off), and a CA only with them.
    pub fn from_options(
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
        ca: Option<PathBuf>,
        origins: &Origins,
    ) -> Result<Option<TlsFiles>, TlsError> {
        let absolute = |origin: &'static str, path: PathBuf| {
            std::path::absolute(&path).map_err(|error| TlsError::Read { origin, path, error })
        };
        match (cert, key, ca) {
            (None, None, None) => Ok(None),
            (Some(cert), Some(key), ca) => Ok(Some(TlsFiles {
                cert: absolute(origins.cert, cert)?,
                key: absolute(origins.key, key)?,
                ca: ca.map(|ca| absolute(origins.ca, ca)).transpose()?,
            })),
            (Some(_), None, _) => Err(TlsError::Flags(format!(
                "{} needs {} (the certificate's private key, PEM)",
                origins.cert, origins.key
            ))),
            (None, Some(_), _) => {
                Err(TlsError::Flags(format!("{} needs {} (the certificate, PEM)", origins.key, origins.cert)))
            }
            (None, None, Some(_)) => Err(TlsError::Flags(format!(
                "{} needs {} and {} (it is what executors trust when they serve TLS)",
                origins.ca, origins.cert, origins.key
            ))),
        }
    }
}

fn read(origin: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read { origin, path: path.to_path_buf(), error })
}

/// The certificates of a PEM file: at least one, all well formed.
pub fn read_certificates(
    origin: &'static str,
    path: &Path,
) -> Result<(Vec<u8>, Vec<CertificateDer<'static>>), TlsError> {
    let pem = read(origin, path)?;
    let invalid = |what: String| TlsError::Invalid { origin, path: path.to_path_buf(), what };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(format!("not a PEM certificate file ({e})")))?;
    if certs.is_empty() {
        return Err(invalid("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into()));
    }
    for cert in &certs {
        ParsedCertificate::try_from(cert).map_err(|e| invalid(format!("not a valid X.509 certificate: {e}")))?;
    }
    Ok((pem, certs))
}

/// Certificates to trust, from a PEM file.
#[derive(Clone)]
pub struct TrustRoots {
    pem: Vec<u8>,
    store: Arc<RootCertStore>,
    /// What the roots were read from, for messages.
    origin: String,
}

impl std::fmt::Debug for TrustRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustRoots({}, {} certificates)", self.origin, self.store.len())
    }
}

impl TrustRoots {
    /// Reads the certificates of `path` as trust anchors.
    pub fn load(origin: &'static str, path: &Path) -> Result<TrustRoots, TlsError> {
        let (pem, certs) = read_certificates(origin, path)?;
        let mut store = RootCertStore::empty();
        for cert in certs {
            store.add(cert).map_err(|e| TlsError::Invalid {
                origin,
                path: path.to_path_buf(),
                what: format!("cannot be a trust root: {e}"),
            })?;
        }
        Ok(TrustRoots { pem, store: Arc::new(store), origin: format!("{origin} {}", path.display()) })
    }

    /// The roots as a tonic certificate, for a [`ClientTlsConfig`].
    pub fn certificate(&self) -> Certificate {
        Certificate::from_pem(&self.pem)
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Checks a server certificate's chain against trust roots, not its name:
/// backends reach their peers by IP address, and every certificate the
/// cluster's CA signed belongs to the cluster.
#[derive(Debug)]
pub struct PeerVerifier {
    roots: Arc<RootCertStore>,
    /// The standard verifier, for the handshake signatures.
    signatures: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
}

impl PeerVerifier {
    fn new(roots: &TrustRoots) -> Result<PeerVerifier, TlsError> {
        let provider = provider();
        let signatures = WebPkiServerVerifier::builder_with_provider(roots.store.clone(), provider.clone())
            .build()
            .map_err(|e| TlsError::Setup(e.to_string()))?;
        Ok(PeerVerifier { roots: roots.store.clone(), signatures, provider })
    }

    /// Whether `chain` (end entity first) is signed by the trust roots.
    fn check_chain(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        let cert = ParsedCertificate::try_from(end_entity)?;
        let algorithms = self.provider.signature_verification_algorithms.all;
        verify_server_cert_signed_by_trust_anchor(&cert, &self.roots, intermediates, now, algorithms)
    }
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check_chain(end_entity, intermediates, now).map(|()| ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.signatures.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.signatures.supported_verify_schemes()
    }
}

/// How a backend connects to other backends when the cluster serves TLS.
#[derive(Clone, Debug)]
pub struct PeerTls {
    verifier: Arc<PeerVerifier>,
}

impl PeerTls {
    /// `endpoint` (an `https://` address) set up to verify a peer backend,
    /// with the handshake bounded by `timeout`.
    pub fn configure(&self, endpoint: Endpoint, timeout: Duration) -> Result<Endpoint, String> {
        endpoint
            .tls_config_with_verifier(ClientTlsConfig::new().timeout(timeout), self.verifier.clone())
            .map_err(|e| error_chain(&e))
    }
}

/// A TLS executor's identity and trust, loaded and checked.
#[derive(Clone)]
pub struct ExecutorTls {
    files: TlsFiles,
    identity: Identity,
    peer: PeerTls,
}

impl std::fmt::Debug for ExecutorTls {
    // Never the key itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutorTls").field("files", &self.files).finish_non_exhaustive()
    }
}

impl ExecutorTls {
    /// Reads and checks `files`: the certificate and key parse and belong
    /// together, and the certificate chains to the trust roots (the CA, or
    /// the certificate itself), as peers will check.
    pub fn load(files: TlsFiles, origins: &Origins) -> Result<ExecutorTls, TlsError> {
        let (cert_pem, chain) = read_certificates(origins.cert, &files.cert)?;
        let key_pem = read(origins.key, &files.key)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Invalid {
            origin: origins.key,
            path: files.key.clone(),
            what: format!("holds no PEM private key (PKCS#8, PKCS#1 or SEC1): {e}"),
        })?;
        let mismatch = |why: String| TlsError::KeyMismatch {
            cert_origin: origins.cert,
            cert: files.cert.clone(),
            key_origin: origins.key,
            key: files.key.clone(),
            why,
        };
        rustls::sign::CertifiedKey::from_der(chain.clone(), key, &provider()).map_err(|e| mismatch(e.to_string()))?;
        let roots = match &files.ca {
            Some(ca) => TrustRoots::load(origins.ca, ca)?,
            None => TrustRoots::load(origins.cert, &files.cert)?,
        };
        let verifier = PeerVerifier::new(&roots)?;
        if let Err(e) = verifier.check_chain(&chain[0], &chain[1..], UnixTime::now()) {
            let ca_as_server = matches!(&e, rustls::Error::InvalidCertificate(rustls::CertificateError::Other(o))
                if o.0.downcast_ref::<webpki::Error>() == Some(&webpki::Error::CaUsedAsEndEntity));
            let hint = match files.ca {
                _ if ca_as_server => {
                    "it is marked as a CA (basicConstraints CA:TRUE, the default of `openssl req -x509`), which \
                     cannot serve TLS; make it with -addext basicConstraints=critical,CA:FALSE"
                }
                Some(_) => "--tls-ca must be the CA that signed it (executors check each other against it)",
                None => {
                    "without --tls-ca, executors trust this certificate itself, which works when it is \
                     self-signed; else pass --tls-ca FILE, the CA that signed the executors' certificates"
                }
            };
            return Err(TlsError::Untrusted {
                cert_origin: origins.cert,
                cert: files.cert.clone(),
                roots: roots.origin.clone(),
                why: e.to_string(),
                hint,
            });
        }
        let identity = Identity::from_pem(cert_pem, key_pem);
        Ok(ExecutorTls { files, identity, peer: PeerTls { verifier: Arc::new(verifier) } })
    }

    /// The files this identity was read from (absolute paths).
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }

    /// How a server of this executor serves TLS.
    pub fn server_config(&self) -> ServerTlsConfig {
        ServerTlsConfig::new().identity(self.identity.clone()).timeout(SERVER_HANDSHAKE_TIMEOUT)
    }

    /// How this executor connects to its peers.
    pub fn peer(&self) -> &PeerTls {
        &self.peer
    }
}

/// Whether `name` can be checked against a certificate (a DNS name or an IP address).
pub fn check_server_name(name: &str) -> Result<(), String> {
    ServerName::try_from(name).map(|_| ()).map_err(|e| format!("not a DNS name or IP address ({e})"))
}

/// `http` or `https`, for an endpoint's URL.
pub fn scheme(tls: bool) -> &'static str {
    if tls { "https" } else { "http" }
}

/// An error and its sources, `a: b: c` (tonic's transport errors say only
/// "transport error" at the top), without repeating a message that a source
/// merely passes on.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = e.source();
    }
    out
}

/// What went wrong in a TLS handshake, when an error (or one of its
/// sources) says: the rustls error inside.
pub fn handshake_failure<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        let inner = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        if let Some(tls) = inner.and_then(|i| i.downcast_ref::<rustls::Error>()) {
            return Some(tls);
        }
        next = e.source();
    }
    None
}

#[cfg(test)]
mod tests;

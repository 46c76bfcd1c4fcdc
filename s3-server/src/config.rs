//! What a server is started with: where its objects live, where it listens,
//! the one pair of keys it accepts, and the buckets to create at start.
//! [`ServerConfig::validate`] rejects what s3s would only refuse later, one
//! request at a time.

use std::fmt;
use std::path::PathBuf;

/// Why a configuration cannot start a server.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the access key is empty")]
    EmptyAccessKey,
    #[error("the secret key is empty")]
    EmptySecretKey,
    #[error("the secret key is not UTF-8 text (SigV4 signs with it as text)")]
    SecretNotText,
    #[error(
        "bucket name {name:?} is not a valid S3 bucket name \
         (3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit)"
    )]
    BadBucketName { name: String },
}

/// The one access key and secret key the server accepts. `Debug` never
/// shows the secret.
#[derive(Clone)]
pub struct Credentials {
    access_key: String,
    secret_key: String,
}

impl Credentials {
    /// The keys, both non-empty.
    pub fn new(access_key: impl Into<String>, secret_key: impl Into<String>) -> Result<Self, ConfigError> {
        let (access_key, secret_key) = (access_key.into(), secret_key.into());
        if access_key.is_empty() {
            return Err(ConfigError::EmptyAccessKey);
        }
        if secret_key.is_empty() {
            return Err(ConfigError::EmptySecretKey);
        }
        Ok(Credentials { access_key, secret_key })
    }

    /// The keys, with the secret as the bytes of a secret file (see
    /// `ember_security::secret_file`), which must be text.
    pub fn with_secret_bytes(access_key: impl Into<String>, secret_key: Vec<u8>) -> Result<Self, ConfigError> {
        let secret_key = String::from_utf8(secret_key).map_err(|_| ConfigError::SecretNotText)?;
        Credentials::new(access_key, secret_key)
    }

    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    pub(crate) fn secret_key(&self) -> &str {
        &self.secret_key
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("access_key", &self.access_key).finish_non_exhaustive()
    }
}

/// Everything a server is started with.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The directory that holds the buckets (created if missing).
    pub root: PathBuf,
    /// The address to listen on.
    pub host: String,
    /// The port to listen on; 0 takes any free port (see
    /// [`S3Server::local_addr`](crate::S3Server::local_addr)).
    pub port: u16,
    /// The keys every request must be signed with.
    pub credentials: Credentials,
    /// Buckets to create at start, if they do not exist yet.
    pub buckets: Vec<String>,
}

impl ServerConfig {
    /// A server on 127.0.0.1, on any free port, with no bucket made at start.
    pub fn new(root: impl Into<PathBuf>, credentials: Credentials) -> Self {
        ServerConfig { root: root.into(), host: "127.0.0.1".into(), port: 0, credentials, buckets: Vec::new() }
    }

    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    pub fn bucket(mut self, name: impl Into<String>) -> Self {
        self.buckets.push(name.into());
        self
    }

    /// Checks the bucket names (the keys were checked when made).
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.buckets.iter().find(|name| !s3s::path::check_bucket_name(name)) {
            Some(name) => Err(ConfigError::BadBucketName { name: name.clone() }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_keys_are_refused() {
        assert!(matches!(Credentials::new("", "s"), Err(ConfigError::EmptyAccessKey)));
        assert!(matches!(Credentials::new("a", ""), Err(ConfigError::EmptySecretKey)));
        assert!(matches!(Credentials::with_secret_bytes("a", vec![0xff, 0xfe]), Err(ConfigError::SecretNotText)));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let credentials = Credentials::new("ACCESS", "very-secret").expect("valid keys");
        let shown = format!("{:?}", ServerConfig::new("/tmp", credentials));
        assert!(shown.contains("ACCESS"), "{shown}");
        assert!(!shown.contains("very-secret"), "{shown}");
    }

    #[test]
    fn bad_bucket_names_are_named() {
        let credentials = Credentials::new("a", "s").expect("valid keys");
        let config = ServerConfig::new("/tmp", credentials).bucket("data").bucket("Not_Valid");
        let err = config.validate().expect_err("an invalid name");
        assert!(err.to_string().contains("\"Not_Valid\""), "{err}");
        assert!(
            ServerConfig::new("/tmp", Credentials::new("a", "s").expect("valid")).bucket("data").validate().is_ok()
        );
    }
}

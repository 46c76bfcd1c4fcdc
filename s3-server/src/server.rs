//! The server: one TCP listener, one s3s service over an s3s-fs store, and
//! a hyper connection per client (HTTP/1.1, or HTTP/2 where the client asks
//! for it). [`S3Server::bind`] does everything that can fail at start, so a
//! caller that has a bound server knows its address is live;
//! [`S3Server::serve`] then runs until its shutdown future completes.

use crate::config::{ConfigError, ServerConfig};
use crate::store::ObjectFiles;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use s3s::auth::SimpleAuth;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s_fs::FileSystem;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::net::TcpListener;

/// How long requests in flight may run on after shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long to wait before accepting again after `accept` failed (e.g. out
/// of file descriptors), so that a persistent failure does not spin.
const ACCEPT_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Why a server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create the storage directory {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot open the storage root {path}: {message}")]
    OpenRoot { path: PathBuf, message: String },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
}

/// A bound server, ready to serve.
pub struct S3Server {
    listener: TcpListener,
    local_addr: SocketAddr,
    service: S3Service,
}

impl S3Server {
    /// Validates `config`, creates the root and the buckets it names, and
    /// binds the listener.
    pub async fn bind(config: ServerConfig) -> Result<Self, ServerError> {
        config.validate()?;
        create_dir(&config.root)?;
        for bucket in &config.buckets {
            create_dir(&config.root.join(bucket))?;
        }
        let open_failed = |message: String| ServerError::OpenRoot { path: config.root.clone(), message };
        let root = config.root.canonicalize().map_err(|e| open_failed(e.to_string()))?;
        let files = FileSystem::new(&root).map_err(|e| open_failed(format!("{e:?}")))?;
        let mut builder = S3ServiceBuilder::new(ObjectFiles::new(files, root));
        let credentials = &config.credentials;
        builder.set_auth(SimpleAuth::from_single(credentials.access_key(), credentials.secret_key()));
        let service = builder.build();

        let addr = format!("{}:{}", config.host, config.port);
        let listener = TcpListener::bind((config.host.as_str(), config.port))
            .await
            .map_err(|source| ServerError::Bind { addr: addr.clone(), source })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind { addr, source })?;
        tracing::info!(%local_addr, root = %config.root.display(), access_key = credentials.access_key(), "S3 server bound");
        Ok(S3Server { listener, local_addr, service })
    }

    /// The address the server listens on (the real port when 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then lets requests in flight
    /// finish for at most [`SHUTDOWN_GRACE`].
    pub async fn serve(self, shutdown: impl Future<Output = ()>) {
        let connections = ConnectionBuilder::new(TokioExecutor::new());
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                () = shutdown.as_mut() => break,
            };
            let (socket, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_RETRY_PAUSE).await;
                    continue;
                }
            };
            let connection = connections.serve_connection(TokioIo::new(socket), self.service.clone());
            let connection = graceful.watch(connection.into_owned());
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(%peer, error = %e, "connection ended with an error");
                }
            });
        }
        drop(self.listener);
        tracing::info!("shutting down: no new connections");
        if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "requests still in flight after the grace period were dropped");
        }
    }
}

fn create_dir(path: &Path) -> Result<(), ServerError> {
    std::fs::create_dir_all(path).map_err(|source| ServerError::CreateDir { path: path.to_path_buf(), source })
}

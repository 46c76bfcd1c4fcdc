//! The process's object-store client: one small tokio runtime that runs
//! `object_store`'s requests for blocking callers (task threads, the
//! driver's planning), and one client per bucket and options, reused.

use super::IoError;
use super::location::Location;
use super::options::{S3Options, StoreOptions};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::{BackoffConfig, ClientOptions, RetryConfig};
use std::collections::HashMap;
use std::future::Future;
use std::io::ErrorKind;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Runs `future` on the IO runtime and blocks the calling thread until it
/// ends. Safe to call from any thread: one of another tokio runtime, or
/// inside a `futures` executor (an action's `block_on`), since it waits on
/// a plain channel, not as an executor.
pub(crate) fn block_on<T: Send + 'static>(
    url: &Location,
    future: impl Future<Output = T> + Send + 'static,
) -> Result<T, IoError> {
    wait(url, spawn(url, future)?)
}

/// The outcome of a future started by [`spawn`], once it is there.
pub(crate) type Pending<T> = std::sync::mpsc::Receiver<T>;

/// Blocks until `pending` has its value.
pub(crate) fn wait<T>(url: &Location, pending: Pending<T>) -> Result<T, IoError> {
    pending.recv().map_err(|_| IoError::new(url, ErrorKind::Other, "an object store request was abandoned"))
}

fn io_runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("ember-io")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the IO runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The client for `bucket` with `options`, made on first use.
pub(crate) fn s3_store(url: &Location, bucket: &str, options: &StoreOptions) -> Result<Arc<dyn ObjectStore>, IoError> {
    static STORES: OnceLock<Mutex<HashMap<(String, S3Options), Arc<dyn ObjectStore>>>> = OnceLock::new();
    let key = (bucket.to_string(), options.s3.clone());
    let mut stores = STORES.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(store) = stores.get(&key) {
        return Ok(store.clone());
    }
    // A FROM scratch image has no system certificates, and the HTTP client
    // refuses to start without any: then Mozilla's roots are used instead.
    let built = build_s3(bucket, options, false).or_else(|e| {
        tracing::info!(error = %e, "no system certificates; using Mozilla's root certificates for S3");
        build_s3(bucket, options, true)
    });
    let store: Arc<dyn ObjectStore> = Arc::new(
        built
            .map_err(|e| IoError::new(url, ErrorKind::InvalidInput, format!("cannot configure the S3 client: {e}")))?,
    );
    stores.insert(key, store.clone());
    Ok(store)
}

fn build_s3(
    bucket: &str,
    options: &StoreOptions,
    bundled_roots: bool,
) -> Result<object_store::aws::AmazonS3, object_store::Error> {
    // reqwest's rustls has no crypto provider of its own here (ring is the
    // process's, as for gRPC's TLS); installing it twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let o = &options.s3;
    let mut client = ClientOptions::new()
        .with_allow_http(o.allow_http)
        .with_connect_timeout(options.connect_timeout())
        .with_timeout(Duration::from_millis(o.request_timeout_ms));
    if bundled_roots {
        client = client.with_no_system_certificates(true);
        for root in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            client = client.with_root_certificate(object_store::Certificate::from_der(root.as_ref())?);
        }
    }
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: o.max_retries,
        retry_timeout: Duration::from_millis(o.retry_timeout_ms),
    };
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(&o.region)
        .with_allow_http(o.allow_http)
        .with_virtual_hosted_style_request(!o.path_style)
        .with_client_options(client)
        .with_retry(retry);
    if let Some(endpoint) = &o.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let (Some(id), Some(secret)) = (&o.access_key_id, &o.secret_access_key) {
        builder = builder.with_access_key_id(id).with_secret_access_key(secret);
        if let Some(token) = &o.session_token {
            builder = builder.with_token(token);
        }
    }
    builder.build()
}

/// An `object_store` error as the user should read it: what went wrong with
/// `url` and what to check, then the client's own words.
pub(crate) fn describe(url: &Location, options: &StoreOptions, error: object_store::Error) -> IoError {
    use object_store::Error as E;
    let text = error.to_string();
    let endpoint = options.s3.endpoint.as_deref().unwrap_or("AWS S3");
    let (kind, what) = match &error {
        E::NotFound { .. } if text.contains("NoSuchBucket") => (ErrorKind::NotFound, "no such bucket".to_string()),
        E::NotFound { .. } => (ErrorKind::NotFound, "no such object".to_string()),
        E::AlreadyExists { .. } => (ErrorKind::AlreadyExists, "already exists".to_string()),
        _ if text.contains("NoSuchBucket") => (ErrorKind::NotFound, "no such bucket".to_string()),
        _ if ["403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"]
            .iter()
            .any(|s| text.contains(s)) =>
        {
            (
                ErrorKind::PermissionDenied,
                "access denied: check the credentials (ember.s3.accessKeyId / ember.s3.secretAccessKey, or \
                 AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"
                    .to_string(),
            )
        }
        _ if ["error sending request", "connect", "timed out", "timeout", "dns"].iter().any(|s| text.contains(s)) => {
            (ErrorKind::TimedOut, format!("cannot reach the S3 endpoint {endpoint} (ember.s3.endpoint)"))
        }
        _ => (ErrorKind::Other, "object store request failed".to_string()),
    };
    IoError::new(url, kind, format!("{what}: {}", shorten(&text)))
}

/// The first 400 characters of an error text on one line.
fn shorten(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(400) {
        Some((i, _)) => format!("{}...", &one_line[..i]),
        None => one_line,
    }
}

/// Starts `future` on the IO runtime without waiting for it; [`wait`] for
/// its outcome.
pub(crate) fn spawn<T: Send + 'static>(
    url: &Location,
    future: impl Future<Output = T> + Send + 'static,
) -> Result<Pending<T>, IoError> {
    let (done, pending) = std::sync::mpsc::sync_channel(1);
    io_runtime().map_err(|e| IoError::new(url, ErrorKind::Other, e))?.spawn(async move {
        // The waiter may have gone (a reader dropped mid-file): nothing to tell.
        let _ = done.send(future.await);
    });
    Ok(pending)
}

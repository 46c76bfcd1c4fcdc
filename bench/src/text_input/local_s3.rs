//! `ember-s3-server` inside the bench's process: its own thread and tokio
//! runtime, 127.0.0.1, any free port, random keys. It stops when asked and
//! its thread is joined, so the section's run ends with nothing left.

use ember::prelude::Conf;
use ember_s3_server::{Credentials, S3Server, ServerConfig};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, WriteMultipart};
use std::io::Read;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;
use tokio::sync::oneshot;

/// The region clients sign for (the server accepts any).
const REGION: &str = "us-east-1";
/// Bytes per multipart-upload part.
const UPLOAD_PART: usize = 64 << 20;

pub struct LocalS3 {
    endpoint: String,
    bucket: String,
    access_key: String,
    secret_key: String,
    shutdown: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl LocalS3 {
    /// A server keeping its objects under `root`, with `bucket` made.
    pub fn start(root: &Path, bucket: &str) -> anyhow::Result<LocalS3> {
        let access_key = format!("AK{:016x}", rand::random::<u64>());
        let secret_key = format!("{:016x}{:016x}", rand::random::<u64>(), rand::random::<u64>());
        let config = ServerConfig::new(root, Credentials::new(&access_key, &secret_key)?).bucket(bucket);
        let (bound_tx, bound_rx) = mpsc::channel();
        let (shutdown, shutdown_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("local-s3".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                Ok(runtime) => runtime,
                Err(e) => {
                    let _ = bound_tx.send(Err(anyhow::anyhow!("the S3 server's runtime: {e}")));
                    return;
                }
            };
            runtime.block_on(async move {
                match S3Server::bind(config).await {
                    Ok(server) => {
                        let _ = bound_tx.send(Ok(server.local_addr()));
                        server.serve(async move { drop(shutdown_rx.await) }).await;
                    }
                    Err(e) => drop(bound_tx.send(Err(e.into()))),
                }
            });
        })?;
        let addr = bound_rx.recv().map_err(|_| anyhow::anyhow!("the S3 server's thread ended before it bound"))??;
        Ok(LocalS3 {
            endpoint: format!("http://{addr}"),
            bucket: bucket.to_string(),
            access_key,
            secret_key,
            shutdown,
            thread,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `base` with the `ember.s3.*` keys that reach this server.
    pub fn ember_conf(&self, base: Conf) -> Conf {
        base.set("ember.s3.endpoint", &self.endpoint)
            .set("ember.s3.region", REGION)
            .set("ember.s3.accessKeyId", &self.access_key)
            .set("ember.s3.secretAccessKey", &self.secret_key)
            .set("ember.s3.pathStyleAccess", "true")
            .set("ember.s3.allowHttp", "true")
    }

    fn client(&self) -> anyhow::Result<AmazonS3> {
        // reqwest's rustls has no provider of its own here: ring, as Ember's.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Ok(AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region(REGION)
            .with_bucket_name(&self.bucket)
            .with_access_key_id(&self.access_key)
            .with_secret_access_key(&self.secret_key)
            .build()?)
    }

    /// Uploads `file` as `key` (multipart); returns the seconds it took.
    pub fn upload(&self, file: &Path, key: &str) -> anyhow::Result<f64> {
        let client = self.client()?;
        let location = ObjectPath::from(key);
        let mut input = std::fs::File::open(file)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let start = Instant::now();
        runtime.block_on(async {
            let upload = client.put_multipart(&location).await?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART);
            let mut buffer = vec![0u8; 8 << 20];
            loop {
                let n = input.read(&mut buffer)?;
                if n == 0 {
                    break;
                }
                // At most two parts in flight: the file is read as fast as they go out.
                writer.wait_for_capacity(2).await?;
                writer.write(&buffer[..n]);
            }
            writer.finish().await?;
            anyhow::Ok(())
        })?;
        Ok(start.elapsed().as_secs_f64())
    }

    /// Stops the server and waits for its thread.
    pub fn stop(self) {
        let _ = self.shutdown.send(());
        if self.thread.join().is_err() {
            eprintln!("text-input: the S3 server's thread panicked");
        }
    }
}

//! `ember-s3-server`: an S3-compatible server over HTTP whose objects are
//! files under `--root` (see the library's docs for the layout).
//!
//! `ember-s3-server --root DIR [--host 127.0.0.1] [--port 9000] --access-key KEY
//!  [--secret-key-file FILE | EMBER_S3_SECRET_KEY=...] [--bucket NAME]...`
//!
//! The first line on stdout is `listening on http://HOST:PORT` (tests and
//! scripts read it to learn a port chosen with `--port 0`); logs go to
//! stderr, at the level `EMBER_LOG` sets (default `info`). SIGTERM or
//! SIGINT stops it cleanly. The secret key is never a flag, so it never
//! shows in a process list.

use anyhow::Context as _;
use clap::Parser;
use ember_s3_server::{Credentials, S3Server, ServerConfig};
use ember_security::secret_file;
use std::io::Write as _;
use std::path::PathBuf;
use tokio::signal::unix::{SignalKind, signal};

/// The environment variable that may hold the secret key instead of a file.
const SECRET_KEY_ENV: &str = "EMBER_S3_SECRET_KEY";

#[derive(Parser)]
#[command(about = "An S3-compatible server whose objects are files under --root (buckets are its subdirectories)")]
struct Args {
    /// The directory that holds the buckets (created if missing).
    #[arg(long)]
    root: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on (0: any free port; the first stdout line tells which).
    #[arg(long, default_value_t = 9000)]
    port: u16,
    /// The access key that requests must be signed with.
    #[arg(long)]
    access_key: String,
    /// A file holding the secret key (else the EMBER_S3_SECRET_KEY environment variable).
    #[arg(long, value_name = "FILE")]
    secret_key_file: Option<PathBuf>,
    /// A bucket to create at start if missing (repeatable).
    #[arg(long = "bucket", value_name = "NAME")]
    buckets: Vec<String>,
}

fn credentials(args: &Args) -> anyhow::Result<Credentials> {
    let from_env = std::env::var(SECRET_KEY_ENV).ok();
    // SAFETY: no other thread exists yet (the runtime starts later).
    unsafe { std::env::remove_var(SECRET_KEY_ENV) };
    let secret = match (&args.secret_key_file, from_env) {
        (Some(path), _) => secret_file::read(path).with_context(|| format!("--secret-key-file {}", path.display()))?,
        (None, Some(secret)) => secret.trim().as_bytes().to_vec(),
        (None, None) => anyhow::bail!("no secret key: pass --secret-key-file FILE or set {SECRET_KEY_ENV}"),
    };
    Credentials::with_secret_bytes(args.access_key.clone(), secret).context("the server's keys")
}

async fn run(config: ServerConfig) -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    let server = S3Server::bind(config).await?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{}", server.local_addr()).context("writing to stdout")?;
    stdout.flush().context("writing to stdout")?;
    drop(stdout);
    server
        .serve(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM"),
                _ = interrupt.recv() => tracing::info!("SIGINT"),
            }
        })
        .await;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("EMBER_LOG").unwrap_or_else(|_| "info".into()))
        .try_init();
    let start = || -> anyhow::Result<()> {
        let args = Args::parse();
        let mut config = ServerConfig::new(&args.root, credentials(&args)?).host(&args.host).port(args.port);
        config.buckets = args.buckets;
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        runtime.block_on(run(config))
    };
    match start() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ember-s3-server: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

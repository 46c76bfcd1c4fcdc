//! `ember-executor`: the executor daemon of standing Ember clusters.
//!
//! `ember-executor [--host H] [--port 7077] [--cores N] [--memory 2g] [--work-dir DIR]
//!  [--auth-secret-file FILE | EMBER_AUTH_SECRET=... | --insecure]
//!  [--tls-cert FILE --tls-key FILE [--tls-ca FILE]]`

use clap::Parser;
use ember_executor::daemon::{DaemonConfig, serve};
use ember_rdd::byte_size;
use ember_security::secret_file;
use ember_security::tls::{ExecutorTls, FLAG_ORIGINS, TlsFiles};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Ember's executor daemon: starts executor backends for authenticated drivers")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// Port to listen on.
    #[arg(long, default_value_t = 7077)]
    port: u16,
    /// Most task threads per backend (default: the machine's cores).
    #[arg(long)]
    cores: Option<usize>,
    /// Most memory a backend may cache (e.g. 2g); default: what the driver asks.
    #[arg(long)]
    memory: Option<String>,
    /// Where binaries and backends' files are kept.
    #[arg(long, default_value = "/tmp/ember-executor")]
    work_dir: PathBuf,
    /// A file holding the shared secret (else EMBER_AUTH_SECRET).
    #[arg(long)]
    auth_secret_file: Option<PathBuf>,
    /// Accept any driver, with no secret (only on trusted networks).
    #[arg(long)]
    insecure: bool,
    /// Seconds a started backend waits for its driver to attach.
    #[arg(long, default_value_t = 60)]
    attach_timeout: u64,
    /// Serve TLS with this PEM certificate (chain), as do the backends started here.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// The PEM CA that signed the executors' certificates, which backends
    /// trust when they fetch from each other (default: --tls-cert itself,
    /// right for a self-signed certificate all executors share).
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
}

fn secret(args: &Args) -> anyhow::Result<Option<Vec<u8>>> {
    let from_env = std::env::var("EMBER_AUTH_SECRET").ok();
    // SAFETY: no other thread exists yet; backends must not inherit the secret.
    unsafe { std::env::remove_var("EMBER_AUTH_SECRET") };
    let secret = match (&args.auth_secret_file, from_env) {
        (Some(path), _) => {
            Some(secret_file::read(path).map_err(|e| anyhow::anyhow!("--auth-secret-file {}: {e}", path.display()))?)
        }
        (None, Some(s)) => Some(s.trim().as_bytes().to_vec()),
        (None, None) => None,
    };
    match (secret, args.insecure) {
        (Some(s), _) if s.is_empty() => anyhow::bail!("the auth secret is empty"),
        (Some(s), false) => Ok(Some(s)),
        (Some(_), true) => {
            anyhow::bail!("--insecure conflicts with a secret (EMBER_AUTH_SECRET or --auth-secret-file)")
        }
        (None, true) => Ok(None),
        (None, false) => anyhow::bail!(
            "no auth secret: set EMBER_AUTH_SECRET or --auth-secret-file FILE, or pass --insecure to accept any driver"
        ),
    }
}

fn main() -> std::process::ExitCode {
    // Started as the backend of an interactive application (a REPL's cell
    // object to host)? Then this process is that backend, not a daemon.
    ember_executor::object_host::run_if_requested();
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("EMBER_LOG").unwrap_or_else(|_| "info".into()))
        .try_init();
    let run = || -> anyhow::Result<()> {
        let args = Args::parse();
        let secret = secret(&args)?;
        let memory = match &args.memory {
            Some(m) => byte_size::parse(m).map_err(|e| anyhow::anyhow!("--memory {m}: {e}"))?,
            None => 0,
        };
        let cores = args.cores.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        anyhow::ensure!(cores > 0, "--cores must be at least 1");
        let tls = TlsFiles::from_options(args.tls_cert, args.tls_key, args.tls_ca, &FLAG_ORIGINS)?
            .map(|files| ExecutorTls::load(files, &FLAG_ORIGINS))
            .transpose()?;
        let config = DaemonConfig {
            host: args.host,
            port: args.port,
            cores,
            memory,
            work_dir: args.work_dir,
            secret,
            attach_timeout: Duration::from_secs(args.attach_timeout),
            tls,
        };
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        rt.block_on(serve(config)).map_err(|e| anyhow::anyhow!(e))
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ember-executor: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

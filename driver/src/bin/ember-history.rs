//! `ember-history --dir DIR [--port 18080] [--bind 0.0.0.0] [--rescan-seconds 10]`
//!
//! The history server: serves the web UI and its JSON API for every
//! application whose event log (`ember.eventLog.enabled=true`) is in DIR,
//! after the programs ended — or while they run, from their `.inprogress`
//! logs. DIR is scanned again every `--rescan-seconds`. The address is
//! printed on stderr; `--port 0` takes any free port.

use clap::Parser;
use ember::ui::history::HistoryIndex;
use ember::ui::server::{self, UiError};
use ember::ui::state::Retention;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Serve the Ember web UI for the event logs of finished (or running) applications")]
struct Cli {
    /// The event log directory (the programs' ember.eventLog.dir).
    #[arg(long)]
    dir: PathBuf,
    /// The port to serve on (the next free one if taken; 0 = any free port).
    #[arg(long, default_value_t = 18080)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    bind: IpAddr,
    /// Seconds between scans of DIR for new and growing logs.
    #[arg(long, default_value_t = 10)]
    rescan_seconds: u64,
}

fn main() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("EMBER_LOG").unwrap_or_else(|_| "warn".into()))
        .try_init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ember-history: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), UiError> {
    let index = Arc::new(HistoryIndex::load(&cli.dir, Retention::default())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("ember-history")
        .enable_all()
        .build()
        .map_err(|source| UiError::Io { path: "the server's runtime".into(), source })?;
    let listener = server::bind(cli.bind, cli.port)?;
    let handle = server::spawn(runtime.handle(), listener, index.clone())?;
    eprintln!(
        "ember-history: {} from {} at {}",
        ember::ui::history::applications_count(server::AppCatalog::apps(&*index).len()),
        cli.dir.display(),
        ember::ui::display_url(handle.local_addr)
    );
    let every = Duration::from_secs(cli.rescan_seconds.max(1));
    loop {
        std::thread::sleep(every);
        match index.rescan() {
            Ok(0) => {}
            Ok(n) => tracing::info!(logs = n, "loaded new or changed event logs"),
            Err(e) => tracing::warn!(error = %e, "cannot scan the event log directory"),
        }
    }
}

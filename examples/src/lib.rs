//! What every example program shares: `--master` and `--conf` flags, and
//! logging to stderr (stdout carries only the program's results).

use ember::prelude::*;

/// The flags every example takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Where to run: local, local[N], local[*], local-cluster[N]
    /// (default: $EMBER_MASTER, else local[*]).
    #[arg(long, value_name = "URL")]
    pub master: Option<String>,
    /// A configuration setting, `key=value` (repeatable), e.g. `--conf ember.executor.memory=512m`.
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    pub conf: Vec<String>,
}

impl ClusterArgs {
    /// The configuration these flags describe, for application `app`.
    pub fn to_conf(&self, app: &str) -> anyhow::Result<Conf> {
        let mut conf = Conf::new().app_name(app);
        for pair in &self.conf {
            conf = conf.set_pair(pair).map_err(|e| anyhow::anyhow!("--conf {pair}: {e}"))?;
        }
        if let Some(m) = &self.master {
            conf = conf.master(m);
        }
        Ok(conf)
    }

    /// Starts a context; errors name the flag at fault.
    pub fn context(&self, app: &str) -> anyhow::Result<Context> {
        init_logging();
        let conf = self.to_conf(app)?;
        Context::new(conf).map_err(|e| match (&e, &self.master) {
            (EmberError::Config(msg), Some(m)) if msg.contains("unknown master") => {
                anyhow::anyhow!("--master {m}: {msg}")
            }
            _ => anyhow::anyhow!(e),
        })
    }
}

/// Logs to stderr, filtered by `EMBER_LOG` (default: warnings).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("EMBER_LOG").unwrap_or_else(|_| "warn".into());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(ansi).with_env_filter(filter).try_init();
}

/// Runs an example's body: on error prints `error: ...` (with its causes) on
/// stderr and exits with status 1.
pub fn run(body: impl FnOnce() -> anyhow::Result<()>) -> std::process::ExitCode {
    match body() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

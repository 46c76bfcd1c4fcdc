//! What the example programs share: `--master` and `--conf` flags, logging
//! to stderr (stdout carries only the program's results), and for the
//! numeric ones, where their data comes from (an INPUT file, or data
//! generated from `--rows`, `--cols` and `--seed`).

use ember::prelude::*;
use ember_ml::data::Format;

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

/// The data flags of the numeric examples (kmeans, logreg, qr): an INPUT,
/// or else generated data. A program tells its default shape in its own help
/// with `#[command(mut_arg("rows", |a| a.help(...)))]`.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Rows (points) to generate, or the rows of a raw f64 INPUT.
    #[arg(long)]
    pub rows: Option<usize>,
    /// Columns (features) to generate, or the columns of a raw f64 INPUT (label included, if any).
    #[arg(long)]
    pub cols: Option<usize>,
    /// Seed of the generated data (and of the program's own random choices).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of partitions (default: the context's parallelism).
    #[arg(long)]
    pub partitions: Option<usize>,
    /// A .csv, .libsvm/.svm, .parquet (numeric columns; needs the `parquet` feature) or raw
    /// little-endian f64 (.f64/.bin/.raw, row-major, needs --rows and --cols)
    /// file, directory or glob.
    pub input: Option<String>,
}

/// Where an example's data comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource<'a> {
    /// INPUT, in the format its name tells.
    File { path: &'a str, format: Format },
    /// No INPUT: generate `rows × cols` (`--rows`, `--cols`, or the program's defaults).
    Generated { rows: usize, cols: usize },
}

/// The most values (`--rows × --cols`) a program generates: 2^40 f64 are
/// 8 TiB, beyond any cluster these examples run on. A larger product is a
/// typo, refused before any task runs (it used to overflow inside a task).
pub const MAX_GENERATED_VALUES: u128 = 1 << 40;

impl DataArgs {
    /// Checks the data flags before a context starts or a task runs:
    /// `--partitions`, `--rows` and `--cols` at least 1, and `--rows ×
    /// --cols` (the generated shape, `default_rows × default_cols` where not
    /// given) at most [`MAX_GENERATED_VALUES`] without INPUT, or within
    /// `usize` bytes for a raw INPUT. Errors name the flags at fault.
    pub fn validate(&self, default_rows: usize, default_cols: usize) -> anyhow::Result<()> {
        for (flag, value) in [("--partitions", self.partitions), ("--rows", self.rows), ("--cols", self.cols)] {
            anyhow::ensure!(value != Some(0), "{flag} must be at least 1");
        }
        let rows = self.rows.unwrap_or(default_rows) as u128;
        let cols = self.cols.unwrap_or(default_cols) as u128;
        let values = rows * cols; // two usizes: no overflow in u128
        match &self.input {
            None => anyhow::ensure!(
                values <= MAX_GENERATED_VALUES,
                "--rows {rows} × --cols {cols} = {values} values is more than this program generates \
                 (at most 2^40 = {MAX_GENERATED_VALUES} values, 8 TiB of f64); lower --rows or --cols"
            ),
            Some(path) => anyhow::ensure!(
                values * 8 <= usize::MAX as u128,
                "{path}: --rows {rows} × --cols {cols} f64 values do not fit in memory's address space"
            ),
        }
        Ok(())
    }

    /// `--partitions`, else the context's default parallelism; at least 1.
    pub fn partitions(&self, ctx: &Context) -> usize {
        self.partitions.unwrap_or(ctx.default_parallelism()).max(1)
    }

    /// INPUT and its format, or the shape of the data to generate, whose
    /// `--rows` and `--cols` default to `default_rows` and `default_cols`.
    /// Checks the flags first ([`DataArgs::validate`]).
    pub fn source(&self, default_rows: usize, default_cols: usize) -> anyhow::Result<DataSource<'_>> {
        self.validate(default_rows, default_cols)?;
        Ok(match &self.input {
            Some(path) => DataSource::File { path, format: Format::detect(path, self.rows, self.cols)? },
            None => DataSource::Generated {
                rows: self.rows.unwrap_or(default_rows),
                cols: self.cols.unwrap_or(default_cols),
            },
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

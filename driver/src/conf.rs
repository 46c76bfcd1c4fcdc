//! Configuration: Spark-style string keys (`ember.task.maxFailures`) parsed
//! into a typed, validated [`Settings`] when a context starts.
//!
//! Precedence, highest first: values set by the program, then those
//! `ember-submit` passed in `EMBER_CONF` (its flags over its properties
//! file), then `EMBER_MASTER` for the master, then defaults.

pub mod properties;

use crate::executors::ExecutorResources;
use ember_rdd::EmberError;
use ember_rdd::memory::MemoryConfig;
use ember_security::secret_file;
use ember_security::tls::{TrustRoots, check_server_name};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tonic::transport::ClientTlsConfig;

/// Where executors run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Master {
    /// In this process, with this many task threads.
    Local { threads: usize },
    /// This many executor backends as child processes on 127.0.0.1, each
    /// with `cores` task threads and, as Spark's third field, a cache of
    /// `memory_mb` MiB (`None`: `ember.executor.memory`).
    LocalCluster { executors: usize, cores: usize, memory_mb: Option<u64> },
    /// Executor daemons at these addresses.
    Cluster { addresses: Vec<String> },
}

impl Master {
    /// Parses `local`, `local[N]`, `local[*]`, `local-cluster[N]`,
    /// `local-cluster[N,cores]`, `local-cluster[N,cores,memoryMB]` and
    /// `ember://host:port[,host:port...]`.
    pub fn parse(s: &str) -> Result<Master, EmberError> {
        let bad = || {
            EmberError::Config(format!(
                "unknown master '{s}': expected local, local[N], local[*], local-cluster[N] or ember://host:port[,host:port...]"
            ))
        };
        let cpus = || std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let s = s.trim();
        if s == "local" {
            return Ok(Master::Local { threads: 1 });
        }
        if let Some(inner) = s.strip_prefix("local[").and_then(|r| r.strip_suffix(']')) {
            let threads = if inner == "*" { cpus() } else { inner.parse().map_err(|_| bad())? };
            if threads == 0 {
                return Err(EmberError::Config(format!(
                    "master {s}: N, the number of task threads, must be at least 1"
                )));
            }
            return Ok(Master::Local { threads });
        }
        if let Some(inner) = s.strip_prefix("local-cluster[").and_then(|r| r.strip_suffix(']')) {
            let mut parts = inner.split(',').map(str::trim);
            let executors: usize = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
            let cores: usize = match parts.next() {
                Some(p) => p.parse().map_err(|_| bad())?,
                None => 1,
            };
            let memory_mb: Option<u64> = parts.next().map(|p| p.parse().map_err(|_| bad())).transpose()?;
            if parts.next().is_some() {
                return Err(bad());
            }
            let zero = [("N, the number of executors", executors as u64), ("C, the cores of each", cores as u64)]
                .into_iter()
                .chain(memory_mb.map(|mb| ("MB, the memory of each", mb)))
                .find(|(_, n)| *n == 0);
            if let Some((what, _)) = zero {
                return Err(EmberError::Config(format!("master {s}: {what}, must be at least 1")));
            }
            return Ok(Master::LocalCluster { executors, cores, memory_mb });
        }
        if let Some(rest) = s.strip_prefix("ember://") {
            let addresses: Vec<String> =
                rest.split(',').map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
            if addresses.is_empty() || addresses.iter().any(|a| !a.contains(':')) {
                return Err(bad());
            }
            return Ok(Master::Cluster { addresses });
        }
        Err(bad())
    }
}

/// Parses a duration like `500ms`, `10s`, `2m`, `2min` or `1h`; a bare
/// number is milliseconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim().to_ascii_lowercase();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let ms_per_unit: u64 = match unit {
        "" | "ms" => 1,
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    Some(Duration::from_millis(num.parse::<u64>().ok()?.checked_mul(ms_per_unit)?))
}

/// Parses a size like `512m`, `2g`, `64kb` or `1048576b`; a bare number is
/// MiB (as Spark's `--executor-memory`). The rules are
/// [`ember_rdd::byte_size`]'s, shared with the executor daemon.
pub fn parse_size(s: &str) -> Option<u64> {
    ember_rdd::byte_size::parse(s).ok()
}

/// The configuration keys a program may set, as `key=value` strings.
#[derive(Clone, Debug, Default)]
pub struct Conf {
    entries: BTreeMap<String, String>,
}

/// Every key Ember reads, with its default; unknown `ember.*` keys are rejected.
pub const KNOWN_KEYS: &[(&str, &str)] = &[
    ("ember.master", "local[*] (or EMBER_MASTER)"),
    ("ember.app.name", "ember"),
    ("ember.default.parallelism", "task threads of all executors (at least 2)"),
    ("ember.executor.memory", "1g (per executor: execution and storage memory; 0 = no limit)"),
    ("ember.memory.fraction", "0.6 (of ember.executor.memory, for execution and storage together)"),
    ("ember.memory.storageFraction", "0.5 (of that, cached blocks safe from eviction by execution)"),
    ("ember.shuffle.compress", "true (lz4-compress shuffle and spill files)"),
    ("ember.local.dir", "each executor's work directory (where shuffle and spill files go)"),
    ("ember.executor.cores", "1 (local-cluster), all the daemon's cores (ember://)"),
    ("ember.task.maxFailures", "4"),
    ("ember.stage.maxConsecutiveAttempts", "4"),
    ("ember.locality.wait", "3s (500ms, 10s, 2m; bare numbers are ms)"),
    ("ember.executor.prefetchTasks", "1 (tasks queued per core beyond the running one)"),
    ("ember.seed", "0"),
    ("ember.executor.heartbeatInterval", "1s (500ms, 10s, 2m; bare numbers are ms)"),
    ("ember.network.timeout", "10s (500ms, 10s, 2m; bare numbers are ms)"),
    ("ember.executor.registrationTimeout", "30s (500ms, 10s, 2m; bare numbers are ms)"),
    ("ember.auth.secretFile", "none (else EMBER_AUTH_SECRET): the daemons' shared secret"),
    ("ember.executor.instances", "all (executors to use of an ember:// master)"),
    (
        "ember.master.rescanInterval",
        "5s (resolve an ember:// master again and add executors on daemons without one; 0: never)",
    ),
    ("ember.tls.enabled", "false (talk TLS to ember:// daemons and their backends)"),
    ("ember.tls.caFile", "none (PEM CA the driver trusts; required with ember.tls.enabled)"),
    ("ember.tls.serverName", "the host of each master address (name to verify in certificates)"),
    ("ember.localCluster.replaceLostExecutors", "false (start a new backend for each lost one)"),
    ("ember.ui.enabled", "true (serve the web UI)"),
    ("ember.ui.port", "4040 (the next free port if taken; 0 = any free port)"),
    ("ember.ui.bindAddress", "0.0.0.0 (where the web UI listens)"),
    ("ember.ui.showConsoleProgress", "true (progress bars on stderr, when it is a terminal)"),
    ("ember.ui.killEnabled", "true (active stages get a kill link in the web UI)"),
    ("ember.ui.retainedJobs", "1000 (finished jobs the UI remembers)"),
    ("ember.ui.retainedStages", "1000 (finished stage attempts the UI remembers)"),
    ("ember.ui.retainedTasks", "100000 (tasks the UI remembers per stage attempt)"),
    ("ember.eventLog.enabled", "false (write events as JSON lines, for ember-history)"),
    ("ember.eventLog.dir", "/tmp/ember-events (one file per application; a path or an s3:// URL)"),
    ("ember.output.overwrite", "false (saving into a non-empty directory replaces its content instead of failing)"),
    ("ember.s3.endpoint", "AWS_ENDPOINT_URL, else AWS (an S3-compatible server's URL: http://127.0.0.1:9000)"),
    ("ember.s3.region", "AWS_REGION / AWS_DEFAULT_REGION / ~/.aws/config, else us-east-1"),
    ("ember.s3.accessKeyId", "AWS_ACCESS_KEY_ID / ~/.aws/credentials"),
    ("ember.s3.secretAccessKey", "AWS_SECRET_ACCESS_KEY / ~/.aws/credentials (never shown by the UI)"),
    ("ember.s3.sessionToken", "AWS_SESSION_TOKEN / ~/.aws/credentials"),
    ("ember.s3.pathStyleAccess", "true (endpoint/bucket/key, as S3-compatible servers want)"),
    ("ember.s3.allowHttp", "true if ember.s3.endpoint is http://, else false"),
    ("ember.s3.connectTimeout", "5s"),
    ("ember.s3.requestTimeout", "60s (one whole request)"),
    ("ember.s3.maxRetries", "3 (per request, with backoff)"),
    ("ember.s3.retryTimeout", "15s (no retry starts later than this after the first try)"),
];

/// Whether a key's value is a secret, never shown by the UI nor written to the
/// event log: its name contains "secret", "password" or "token".
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["secret", "password", "token"].iter().any(|word| key.contains(word))
}

/// What the UI shows instead of a secret value (as Spark shows it).
pub const REDACTED: &str = "*********(redacted)";

impl Conf {
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `key` to `value`.
    pub fn set(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.entries.insert(key.into(), value.to_string());
        self
    }
    pub fn master(self, master: &str) -> Self {
        self.set("ember.master", master)
    }
    pub fn app_name(self, name: &str) -> Self {
        self.set("ember.app.name", name)
    }
    /// Sets `key=value` from a `--conf` argument.
    pub fn set_pair(self, pair: &str) -> Result<Self, EmberError> {
        let (k, v) =
            pair.split_once('=').ok_or_else(|| EmberError::Config(format!("--conf {pair}: expected key=value")))?;
        Ok(self.set(k.trim(), v.trim()))
    }
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn parsed<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, EmberError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| EmberError::Config(format!("{key}={v} is not a valid value"))),
        }
    }

    /// A duration: `250ms`, `10s`, `2m`, `1h`, or a bare number of milliseconds.
    fn millis(&self, key: &str, default: u64) -> Result<Duration, EmberError> {
        match self.get(key) {
            None => Ok(Duration::from_millis(default)),
            Some(v) => parse_duration(v).ok_or_else(|| {
                EmberError::Config(format!("{key}={v} is not a duration like 500ms, 10s or 2m (bare numbers are ms)"))
            }),
        }
    }

    /// Parses a properties text (a properties file or `EMBER_CONF`) with the
    /// rules of Java's `.properties` that such files use: `#`/`!` comments,
    /// `key=value`, `key:value` or `key value`; see [`properties`] for the
    /// rules and what is not supported. `origin` names the source in errors.
    pub fn parse_properties(text: &str, origin: &str) -> Result<Conf, EmberError> {
        Ok(properties::parse(text, origin)?.into_iter().fold(Conf::new(), |conf, (k, v)| conf.set(k, v)))
    }

    /// This configuration over `base`: keys set here win.
    pub fn over(mut self, base: &Conf) -> Conf {
        for (k, v) in base.entries() {
            self.entries.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
        self
    }

    /// The daemons' secret: the bytes of `ember.auth.secretFile` less one
    /// trailing line end (read as the daemon reads `--auth-secret-file`; an
    /// empty file is an error), else `EMBER_AUTH_SECRET` trimmed (none if empty).
    fn auth_secret(&self) -> Result<Option<Secret>, EmberError> {
        match self.get("ember.auth.secretFile") {
            Some(path) => secret_file::read(Path::new(path))
                .map(|s| Some(Secret(s)))
                .map_err(|e| EmberError::Config(format!("ember.auth.secretFile={path}: {e}"))),
            None => Ok(std::env::var("EMBER_AUTH_SECRET")
                .ok()
                .map(|s| s.trim().as_bytes().to_vec())
                .filter(|s| !s.is_empty())
                .map(Secret)),
        }
    }

    /// The settings `ember-submit` passed to this program in `EMBER_CONF`, if any.
    fn from_submit_env() -> Result<Conf, EmberError> {
        match std::env::var("EMBER_CONF") {
            Ok(text) => Conf::parse_properties(&text, "EMBER_CONF"),
            Err(_) => Ok(Conf::new()),
        }
    }

    /// Checks and types the configuration. Keys set by the program win over
    /// those `ember-submit` passed (`EMBER_CONF`), which win over defaults.
    pub fn validate(&self) -> Result<Settings, EmberError> {
        self.effective()?.validate_merged()
    }

    /// The keys in effect: the program's over those `ember-submit` passed.
    pub fn effective(&self) -> Result<Conf, EmberError> {
        Ok(self.clone().over(&Conf::from_submit_env()?))
    }

    /// Every entry, with the values of secret keys ([`is_secret_key`]) replaced.
    pub fn redacted_entries(&self) -> Vec<(String, String)> {
        self.entries()
            .map(|(k, v)| (k.to_string(), if is_secret_key(k) { REDACTED.to_string() } else { v.to_string() }))
            .collect()
    }

    fn ui_settings(&self) -> Result<UiSettings, EmberError> {
        let bind = self.get("ember.ui.bindAddress").unwrap_or("0.0.0.0");
        let bind_address = bind.parse().map_err(|_| {
            EmberError::Config(format!("ember.ui.bindAddress={bind} is not an IP address like 0.0.0.0"))
        })?;
        let event_log_dir = self
            .parsed("ember.eventLog.enabled", false)?
            .then(|| PathBuf::from(self.get("ember.eventLog.dir").unwrap_or(DEFAULT_EVENT_LOG_DIR)));
        let ui = UiSettings {
            enabled: self.parsed("ember.ui.enabled", true)?,
            port: self.parsed("ember.ui.port", 4040)?,
            bind_address,
            show_console_progress: self.parsed("ember.ui.showConsoleProgress", true)?,
            kill_enabled: self.parsed("ember.ui.killEnabled", true)?,
            retained_jobs: self.parsed("ember.ui.retainedJobs", 1000)?,
            retained_stages: self.parsed("ember.ui.retainedStages", 1000)?,
            retained_tasks: self.parsed("ember.ui.retainedTasks", 100_000)?,
            event_log_dir,
        };
        if ui.retained_jobs == 0 || ui.retained_stages == 0 {
            return Err(EmberError::Config(
                "ember.ui.retainedJobs and ember.ui.retainedStages must be at least 1".into(),
            ));
        }
        Ok(ui)
    }

    fn tls_settings(&self) -> Result<Option<TlsSettings>, EmberError> {
        let ca_file = self.get("ember.tls.caFile");
        let server_name = self.get("ember.tls.serverName");
        if !self.parsed("ember.tls.enabled", false)? {
            let set = [("ember.tls.caFile", ca_file), ("ember.tls.serverName", server_name)];
            return match set.into_iter().find(|(_, v)| v.is_some()) {
                Some((key, _)) => Err(EmberError::Config(format!(
                    "{key} is set but ember.tls.enabled is not true; set ember.tls.enabled=true to use TLS"
                ))),
                None => Ok(None),
            };
        }
        let ca_file = ca_file.ok_or_else(|| {
            EmberError::Config(
                "ember.tls.enabled=true needs ember.tls.caFile: the PEM CA that signed the executors' \
                 certificates (or their self-signed certificate)"
                    .into(),
            )
        })?;
        let roots =
            TrustRoots::load("ember.tls.caFile", Path::new(ca_file)).map_err(|e| EmberError::Config(e.to_string()))?;
        if let Some(name) = server_name {
            check_server_name(name).map_err(|e| EmberError::Config(format!("ember.tls.serverName={name}: {e}")))?;
        }
        Ok(Some(TlsSettings { roots, server_name: server_name.map(str::to_string) }))
    }

    /// The `ember.memory.*`, `ember.shuffle.compress` and `ember.local.dir` keys.
    fn executor_resources(&self, executor_memory: u64) -> Result<ExecutorResources, EmberError> {
        let fraction = |key: &str, default: f64| -> Result<f64, EmberError> {
            let v: f64 = self.parsed(key, default)?;
            if !(v > 0.0 && v <= 1.0) {
                return Err(EmberError::Config(format!("{key}={v} must be a fraction in (0, 1]")));
            }
            Ok(v)
        };
        let memory = MemoryConfig {
            executor_memory,
            fraction: fraction("ember.memory.fraction", 0.6)?,
            storage_fraction: fraction("ember.memory.storageFraction", 0.5)?,
        };
        let local_dir = self.get("ember.local.dir").map(|d| d.trim()).filter(|d| !d.is_empty()).map(PathBuf::from);
        if let Some(dir) = &local_dir
            && dir.is_relative()
        {
            return Err(EmberError::Config(format!(
                "ember.local.dir={} must be an absolute path (executors run in other directories)",
                dir.display()
            )));
        }
        let compress_shuffle = self.parsed("ember.shuffle.compress", true)?;
        let heartbeat_interval = self.millis("ember.executor.heartbeatInterval", 1000)?;
        Ok(ExecutorResources { memory, compress_shuffle, local_dir, heartbeat_interval })
    }

    fn validate_merged(&self) -> Result<Settings, EmberError> {
        for (k, _) in self.entries() {
            if k.starts_with("ember.") && !KNOWN_KEYS.iter().any(|(known, _)| *known == k) {
                let known: Vec<&str> = KNOWN_KEYS.iter().map(|(k, _)| *k).collect();
                return Err(EmberError::Config(format!("unknown key {k}; known keys: {}", known.join(", "))));
            }
        }
        let master_str = match self.get("ember.master") {
            Some(m) => m.to_string(),
            None => std::env::var("EMBER_MASTER").unwrap_or_else(|_| "local[*]".to_string()),
        };
        let mut master = Master::parse(&master_str)?;
        let executor_cores = match self.get("ember.executor.cores") {
            Some(_) => Some(self.parsed("ember.executor.cores", 1usize)?),
            None => None,
        };
        if executor_cores == Some(0) {
            return Err(EmberError::Config("ember.executor.cores must be at least 1".into()));
        }
        let mut executor_memory = match self.get("ember.executor.memory") {
            None => DEFAULT_EXECUTOR_MEMORY,
            Some(v) => parse_size(v).ok_or_else(|| {
                EmberError::Config(format!("ember.executor.memory={v} is not a size like 512m or 2g"))
            })?,
        };
        if let Master::LocalCluster { cores, memory_mb, .. } = &mut master {
            *cores = executor_cores.unwrap_or(*cores);
            if let (Some(mb), None) = (*memory_mb, self.get("ember.executor.memory")) {
                executor_memory = mb.checked_mul(1 << 20).ok_or_else(|| {
                    EmberError::Config(format!("local-cluster memory of {mb} MiB is more than a 64-bit byte count"))
                })?;
            }
        }
        let default_parallelism = match self.get("ember.default.parallelism") {
            Some(_) => Some(self.parsed("ember.default.parallelism", 2usize)?),
            None => None,
        };
        if default_parallelism == Some(0) {
            return Err(EmberError::Config("ember.default.parallelism must be at least 1".into()));
        }
        let settings = Settings {
            master,
            app_name: self.get("ember.app.name").unwrap_or("ember").to_string(),
            default_parallelism,
            executor_memory,
            executor_resources: self.executor_resources(executor_memory)?,
            max_task_failures: self.parsed("ember.task.maxFailures", 4)?,
            max_stage_attempts: self.parsed("ember.stage.maxConsecutiveAttempts", 4)?,
            locality_wait: self.millis("ember.locality.wait", 3000)?,
            prefetch_tasks: self.parsed("ember.executor.prefetchTasks", 1)?,
            seed: self.parsed("ember.seed", 0)?,
            heartbeat_interval: self.millis("ember.executor.heartbeatInterval", 1000)?,
            network_timeout: self.millis("ember.network.timeout", 10_000)?,
            registration_timeout: self.millis("ember.executor.registrationTimeout", 30_000)?,
            replace_lost_executors: self.parsed("ember.localCluster.replaceLostExecutors", false)?,
            executor_cores,
            executor_instances: match self.get("ember.executor.instances") {
                Some(_) => Some(self.parsed("ember.executor.instances", 0usize)?),
                None => None,
            },
            master_rescan_interval: self.millis("ember.master.rescanInterval", 5000)?,
            auth_secret: self.auth_secret()?,
            tls: self.tls_settings()?,
            ui: self.ui_settings()?,
            io: ember_rdd::io::IoSettings {
                store: ember_rdd::io::StoreOptions::resolve(&|key| self.get(key).map(str::to_string))?,
                overwrite_output: self.parsed("ember.output.overwrite", false)?,
            },
        };
        if settings.executor_instances == Some(0) {
            return Err(EmberError::Config("ember.executor.instances must be at least 1".into()));
        }
        if settings.max_task_failures == 0 {
            return Err(EmberError::Config("ember.task.maxFailures must be at least 1".into()));
        }
        if settings.max_stage_attempts == 0 {
            return Err(EmberError::Config("ember.stage.maxConsecutiveAttempts must be at least 1".into()));
        }
        if settings.network_timeout <= settings.heartbeat_interval {
            return Err(EmberError::Config(
                "ember.network.timeout must be longer than ember.executor.heartbeatInterval".into(),
            ));
        }
        Ok(settings)
    }
}

/// The validated configuration of a running context.
#[derive(Clone, Debug)]
pub struct Settings {
    pub master: Master,
    pub app_name: String,
    /// `ember.default.parallelism`; `None`: the task threads of all
    /// executors (at least 2), known once they have registered.
    pub default_parallelism: Option<usize>,
    /// `ember.executor.memory` in bytes (0 = unlimited).
    pub executor_memory: u64,
    /// What each executor gets: memory rules, shuffle codec, local directory.
    pub executor_resources: ExecutorResources,
    pub max_task_failures: u32,
    pub max_stage_attempts: u32,
    pub locality_wait: Duration,
    /// Tasks sent to an executor per core beyond the one it runs, so that it
    /// never idles waiting for the driver (hides the launch round trip).
    pub prefetch_tasks: usize,
    pub seed: u64,
    pub heartbeat_interval: Duration,
    pub network_timeout: Duration,
    pub registration_timeout: Duration,
    /// In `local-cluster[N]`, start a new backend for each one lost.
    pub replace_lost_executors: bool,
    /// Task threads per backend (`ember.executor.cores`); `None`: one per
    /// `local-cluster` backend, and all a daemon offers on `ember://`.
    pub executor_cores: Option<usize>,
    /// At most this many executors of an `ember://` master.
    pub executor_instances: Option<usize>,
    /// How often an `ember://` master's names are resolved again to add
    /// executors on daemons that have none (zero: never).
    pub master_rescan_interval: Duration,
    /// The shared secret of `ember://` daemons.
    pub auth_secret: Option<Secret>,
    /// TLS to `ember://` daemons and their backends (`None`: plain TCP).
    pub tls: Option<TlsSettings>,
    /// The web UI, the console progress bar and the event log.
    pub ui: UiSettings,
    /// How inputs and outputs on object stores are reached (the `ember.s3.*`
    /// keys and the AWS environment) and `ember.output.overwrite`.
    pub io: ember_rdd::io::IoSettings,
}

/// How the driver talks TLS to an `ember://` cluster: the `ember.tls.*` keys.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    /// The certificates trusted (`ember.tls.caFile`).
    pub roots: TrustRoots,
    /// The name certificates must carry (`ember.tls.serverName`); `None`:
    /// the host of each master address.
    pub server_name: Option<String>,
}

impl TlsSettings {
    /// How to connect to the daemon at master address host `host` and to the
    /// backends it starts (they present its certificate).
    pub fn client_config(&self, host: &str, handshake_timeout: Duration) -> ClientTlsConfig {
        ClientTlsConfig::new()
            .ca_certificate(self.roots.certificate())
            .domain_name(self.server_name.as_deref().unwrap_or(host))
            .timeout(handshake_timeout)
    }
}

/// `ember.executor.memory` unless set: Spark's default too.
pub const DEFAULT_EXECUTOR_MEMORY: u64 = 1 << 30;

/// Where event logs go unless `ember.eventLog.dir` says otherwise.
pub const DEFAULT_EVENT_LOG_DIR: &str = "/tmp/ember-events";

/// How an application shows what it does: the `ember.ui.*` and
/// `ember.eventLog.*` keys.
#[derive(Clone, Debug)]
pub struct UiSettings {
    /// Serve the web UI.
    pub enabled: bool,
    /// The first port to try (the next ones if taken; 0 = any free port).
    pub port: u16,
    pub bind_address: IpAddr,
    /// Draw progress bars on stderr (only when it is a terminal).
    pub show_console_progress: bool,
    /// Active stages get a "(kill)" link (Spark's `spark.ui.killEnabled`)
    /// that cancels the jobs running them; off, the link is hidden and the
    /// route refuses with 403.
    pub kill_enabled: bool,
    /// Finished jobs kept by the UI's state store.
    pub retained_jobs: usize,
    /// Finished stage attempts kept.
    pub retained_stages: usize,
    /// Tasks kept per stage attempt.
    pub retained_tasks: usize,
    /// The event log's directory, when `ember.eventLog.enabled`.
    pub event_log_dir: Option<PathBuf>,
}

/// A secret that never shows in logs or debug output.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests;

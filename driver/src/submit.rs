//! `ember-submit`: runs a driver program against a master, as spark-submit.
//!
//! Settings come from, highest precedence first: the program itself (what it
//! sets on its `Conf`), the command line (`--master`, `--conf`, ...), the
//! properties file (`--properties-file`, else `conf/ember-defaults.conf` under
//! `$EMBER_CONF_DIR` or the current directory). They reach the program in
//! `EMBER_CONF`; `EMBER_MASTER` carries the master. The program then runs in
//! this process's place (exec): the driver runs where ember-submit runs.

use crate::conf::Conf;
use ember_rdd::EmberError;
use ember_rdd::byte_size;
use std::path::{Path, PathBuf};

/// The parsed command line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SubmitArgs {
    pub master: Option<String>,
    pub name: Option<String>,
    pub executor_memory: Option<String>,
    pub executor_cores: Option<usize>,
    pub num_executors: Option<usize>,
    pub conf: Vec<String>,
    pub properties_file: Option<PathBuf>,
    pub app: PathBuf,
    pub app_args: Vec<String>,
}

impl SubmitArgs {
    /// The flags as configuration (over the properties file's).
    pub fn to_conf(&self) -> Result<Conf, EmberError> {
        let mut conf = Conf::new();
        for pair in &self.conf {
            conf = conf.set_pair(pair).map_err(|_| EmberError::Config(format!("--conf {pair}: expected key=value")))?;
        }
        if let Some(m) = &self.master {
            crate::conf::Master::parse(m).map_err(|e| match e {
                EmberError::Config(msg) => EmberError::Config(format!("--master {m}: {msg}")),
                other => other,
            })?;
            conf = conf.set("ember.master", m);
        }
        if let Some(n) = &self.name {
            conf = conf.set("ember.app.name", n);
        }
        if let Some(m) = &self.executor_memory {
            let bytes = byte_size::parse(m).map_err(|e| EmberError::Config(format!("--executor-memory {m}: {e}")))?;
            if bytes == 0 {
                return Err(EmberError::Config(format!(
                    "--executor-memory {m}: must be more than 0 (--conf ember.executor.memory=0 asks for no limit)"
                )));
            }
            conf = conf.set("ember.executor.memory", m);
        }
        for (flag, n) in [("--executor-cores", self.executor_cores), ("--num-executors", self.num_executors)] {
            if n == Some(0) {
                return Err(EmberError::Config(format!("{flag} 0: must be at least 1")));
            }
        }
        if let Some(c) = self.executor_cores {
            conf = conf.set("ember.executor.cores", c);
        }
        if let Some(n) = self.num_executors {
            conf = conf.set("ember.executor.instances", n);
        }
        Ok(conf.over(&self.properties()?))
    }

    /// The properties file's settings (none when there is no file).
    fn properties(&self) -> Result<Conf, EmberError> {
        let path = match &self.properties_file {
            Some(p) => p.clone(),
            None => {
                let dir = std::env::var("EMBER_CONF_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("conf"));
                let default = dir.join("ember-defaults.conf");
                if !default.exists() {
                    return Ok(Conf::new());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| EmberError::Config(format!("--properties-file {}: {e}", path.display())))?;
        Conf::parse_properties(&text, &path.display().to_string())
    }
}

/// `EMBER_CONF`'s text for a configuration.
pub fn to_env_text(conf: &Conf) -> String {
    conf.entries().map(|(k, v)| format!("{}={v}\n", crate::conf::properties::escape_key(k))).collect()
}

/// Checks that APP_BINARY can be run and returns the path to run it by:
/// absolute, so that a bare name (`ember-submit kmeans`) is the file `kmeans`
/// in the current directory, as spark-submit's primary resource is, and never
/// a program of that name found on `PATH`.
pub fn check_app(app: &Path) -> Result<PathBuf, EmberError> {
    use std::os::unix::fs::PermissionsExt;
    let bad = |e: &dyn std::fmt::Display| EmberError::Config(format!("APP_BINARY {}: {e}", app.display()));
    let meta = std::fs::metadata(app).map_err(|e| bad(&e))?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(EmberError::Config(format!("APP_BINARY {} is not an executable file", app.display())));
    }
    std::path::absolute(app).map_err(|e| bad(&e))
}

/// Whether an ELF executable needs a dynamic loader (so would not run in a
/// `FROM scratch` executor image).
pub fn is_dynamically_linked(app: &Path) -> bool {
    // PT_INTERP names the dynamic loader; its path appears in the file.
    std::fs::read(app).is_ok_and(|bytes| bytes.windows(b"/ld-linux".len()).take(1 << 16).any(|w| w == b"/ld-linux"))
}

/// How to build a binary that runs in the executor image.
pub const STATIC_BUILD_HINT: &str = "build it fully static: RUSTFLAGS='-C target-feature=+crt-static' cargo build \
     --release --target x86_64-unknown-linux-gnu (the binary is then in target/x86_64-unknown-linux-gnu/release/)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_properties_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ember-defaults.conf");
        std::fs::write(&file, "ember.master=local[1]\nember.task.maxFailures=9\n").unwrap();
        let args = SubmitArgs {
            master: Some("local[3]".into()),
            executor_memory: Some("1g".into()),
            conf: vec![
                "ember.seed=5".into(),
                "ember.tls.enabled=true".into(),
                "ember.tls.caFile=/ca.pem".into(),
                "app.a:b c=d e".into(),
            ],
            properties_file: Some(file),
            ..Default::default()
        };
        let conf = args.to_conf().unwrap();
        assert_eq!(conf.get("ember.master"), Some("local[3]"));
        assert_eq!(conf.get("ember.task.maxFailures"), Some("9"));
        assert_eq!(conf.get("ember.executor.memory"), Some("1g"));
        assert_eq!(conf.get("ember.seed"), Some("5"));
        let text = to_env_text(&conf);
        let passed = Conf::parse_properties(&text, "EMBER_CONF").unwrap();
        assert_eq!(passed.get("ember.seed"), Some("5"));
        assert_eq!(passed.get("ember.tls.enabled"), Some("true"));
        assert_eq!(passed.get("ember.tls.caFile"), Some("/ca.pem"));
        // A key with a separator in it reaches the program whole.
        assert_eq!(passed.get("app.a:b c"), Some("d e"));
    }

    #[test]
    fn bad_flags_name_the_flag() {
        let bad = |a: SubmitArgs| a.to_conf().unwrap_err().to_string();
        assert!(bad(SubmitArgs { master: Some("yarn".into()), ..Default::default() }).contains("--master yarn"));
        assert!(
            bad(SubmitArgs { executor_memory: Some("lots".into()), ..Default::default() })
                .contains("--executor-memory")
        );
        assert!(bad(SubmitArgs { conf: vec!["novalue".into()], ..Default::default() }).contains("--conf novalue"));
        assert!(
            bad(SubmitArgs { executor_cores: Some(0), ..Default::default() }).contains("--executor-cores 0: must be")
        );
        let zero = SubmitArgs { executor_memory: Some("0".into()), ..Default::default() };
        assert!(bad(zero).contains("--executor-memory 0: must be more than 0"));
        assert!(
            bad(SubmitArgs { num_executors: Some(0), ..Default::default() }).contains("--num-executors 0: must be")
        );
        let missing = SubmitArgs { properties_file: Some("/no/such.conf".into()), ..Default::default() };
        assert!(bad(missing).contains("--properties-file /no/such.conf"));
        assert!(check_app(Path::new("/no/such/app")).unwrap_err().to_string().contains("APP_BINARY /no/such/app"));
    }
}

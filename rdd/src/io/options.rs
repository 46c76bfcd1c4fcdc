//! [`StoreOptions`]: how to reach object stores, resolved on the driver.
//!
//! Precedence, for each setting: the `ember.s3.*` key, then the standard
//! AWS environment variable, then the AWS config files (`~/.aws/credentials`
//! and `~/.aws/config`, profile `AWS_PROFILE` or `default`). The result is
//! shipped with the RDD nodes that read or write, as Spark ships its Hadoop
//! configuration (and copies the driver's `AWS_*` variables into it), so an
//! executor needs no credentials of its own.

use crate::error::EmberError;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// How to reach object stores; see the module docs for where each value
/// comes from.
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StoreOptions {
    pub s3: S3Options,
}

/// S3 (or S3-compatible server) settings.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct S3Options {
    /// `ember.s3.endpoint` / `AWS_ENDPOINT_URL`: an S3-compatible server's
    /// URL (`http://127.0.0.1:9000`); none means AWS.
    pub endpoint: Option<String>,
    /// `ember.s3.region` / `AWS_REGION` / `AWS_DEFAULT_REGION`.
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    /// `ember.s3.pathStyleAccess` (default true): `endpoint/bucket/key`
    /// rather than `bucket.endpoint/key`, as S3-compatible servers want.
    pub path_style: bool,
    /// `ember.s3.allowHttp` (default: whether the endpoint is `http://`).
    pub allow_http: bool,
    /// `ember.s3.connectTimeout` (default 5 s).
    pub connect_timeout_ms: u64,
    /// `ember.s3.requestTimeout` (default 60 s): a whole request.
    pub request_timeout_ms: u64,
    /// `ember.s3.maxRetries` (default 3), within `ember.s3.retryTimeout`
    /// (default 15 s): a dead endpoint fails in seconds, not minutes.
    pub max_retries: usize,
    pub retry_timeout_ms: u64,
}

impl Default for S3Options {
    fn default() -> Self {
        S3Options {
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            path_style: true,
            allow_http: false,
            connect_timeout_ms: 5_000,
            request_timeout_ms: 60_000,
            max_retries: 3,
            retry_timeout_ms: 15_000,
        }
    }
}

impl fmt::Debug for S3Options {
    /// Never prints the secret or the session token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Options")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "(redacted)"))
            .field("path_style", &self.path_style)
            .field("allow_http", &self.allow_http)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for StoreOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreOptions").field("s3", &self.s3).finish()
    }
}

/// What the actions that read and write need from the application's
/// configuration (through [`JobRunner::io_settings`](crate::runner::JobRunner::io_settings)).
#[derive(Clone, Debug, Default)]
pub struct IoSettings {
    pub store: StoreOptions,
    /// `ember.output.overwrite`: saving into an existing non-empty
    /// directory replaces its content instead of failing.
    pub overwrite_output: bool,
}

impl StoreOptions {
    /// Resolves the options from `key` (the application's `ember.s3.*`
    /// settings), the process's AWS environment and the AWS config files.
    /// A malformed value is an error naming its key.
    pub fn resolve(key: &dyn Fn(&str) -> Option<String>) -> Result<StoreOptions, EmberError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
        let files = AwsConfigFiles::read(&profile);
        let pick = |ember: &str, vars: &[&str], file_key: &str| {
            key(ember).or_else(|| vars.iter().find_map(|v| env(v))).or_else(|| files.get(file_key))
        };
        let defaults = S3Options::default();
        let endpoint = pick("ember.s3.endpoint", &["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"], "endpoint_url");
        let allow_http = match key("ember.s3.allowHttp") {
            Some(v) => parse_bool("ember.s3.allowHttp", &v)?,
            None => endpoint.as_deref().is_some_and(|e| e.starts_with("http://")),
        };
        let s3 = S3Options {
            region: pick("ember.s3.region", &["AWS_REGION", "AWS_DEFAULT_REGION"], "region").unwrap_or(defaults.region),
            access_key_id: pick("ember.s3.accessKeyId", &["AWS_ACCESS_KEY_ID"], "aws_access_key_id"),
            secret_access_key: pick("ember.s3.secretAccessKey", &["AWS_SECRET_ACCESS_KEY"], "aws_secret_access_key"),
            session_token: pick("ember.s3.sessionToken", &["AWS_SESSION_TOKEN"], "aws_session_token"),
            path_style: key("ember.s3.pathStyleAccess")
                .map(|v| parse_bool("ember.s3.pathStyleAccess", &v))
                .transpose()?
                .unwrap_or(defaults.path_style),
            allow_http,
            connect_timeout_ms: millis(key, "ember.s3.connectTimeout", defaults.connect_timeout_ms)?,
            request_timeout_ms: millis(key, "ember.s3.requestTimeout", defaults.request_timeout_ms)?,
            max_retries: key("ember.s3.maxRetries")
                .map(|v| v.trim().parse().map_err(|_| bad_value("ember.s3.maxRetries", &v, "a count")))
                .transpose()?
                .unwrap_or(defaults.max_retries),
            retry_timeout_ms: millis(key, "ember.s3.retryTimeout", defaults.retry_timeout_ms)?,
            endpoint,
        };
        Ok(StoreOptions { s3 })
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.s3.connect_timeout_ms)
    }
}

fn bad_value(key: &str, value: &str, what: &str) -> EmberError {
    EmberError::Config(format!("{key}: '{value}' is not {what}"))
}

fn parse_bool(key: &str, value: &str) -> Result<bool, EmberError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(bad_value(key, value, "true or false")),
    }
}

/// A duration key: `500ms`, `5s`, `2m` or a bare number of seconds.
fn millis(key: &dyn Fn(&str) -> Option<String>, name: &str, default: u64) -> Result<u64, EmberError> {
    let Some(value) = key(name) else { return Ok(default) };
    let v = value.trim();
    let (number, unit) = match v.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => v.split_at(i),
        None => (v, "s"),
    };
    let n: u64 = number.parse().map_err(|_| bad_value(name, &value, "a duration (500ms, 5s, 2m)"))?;
    match unit {
        "ms" => Ok(n),
        "s" => Ok(n * 1000),
        "m" | "min" => Ok(n * 60_000),
        _ => Err(bad_value(name, &value, "a duration (500ms, 5s, 2m)")),
    }
}

/// The settings of one profile of `~/.aws/credentials` and `~/.aws/config`
/// (`AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE` if set); missing
/// files give none.
struct AwsConfigFiles(HashMap<String, String>);

impl AwsConfigFiles {
    fn read(profile: &str) -> AwsConfigFiles {
        let home = std::env::var("HOME").unwrap_or_default();
        let path = |var: &str, default: &str| std::env::var(var).unwrap_or_else(|_| format!("{home}/.aws/{default}"));
        let mut settings = HashMap::new();
        // The config file names profiles `[profile NAME]` (but `[default]`);
        // the credentials file `[NAME]`. Credentials win.
        let config_section = if profile == "default" { "default".to_string() } else { format!("profile {profile}") };
        for (file, section) in [
            (path("AWS_CONFIG_FILE", "config"), config_section),
            (path("AWS_SHARED_CREDENTIALS_FILE", "credentials"), profile.into()),
        ] {
            if let Ok(text) = std::fs::read_to_string(&file) {
                settings.extend(ini_section(&text, &section));
            }
        }
        AwsConfigFiles(settings)
    }

    fn get(&self, key: &str) -> Option<String> {
        self.0.get(key).cloned()
    }
}

/// The `key = value` lines of `[section]` in an INI text.
fn ini_section(text: &str, section: &str) -> HashMap<String, String> {
    let mut current = None;
    let mut out = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim().to_string());
        } else if current.as_deref() == Some(section)
            && let Some((k, v)) = line.split_once('=')
        {
            out.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ember_keys_win_and_bad_values_name_their_key() {
        let keys = |k: &str| match k {
            "ember.s3.endpoint" => Some("http://127.0.0.1:9000".to_string()),
            "ember.s3.accessKeyId" => Some("me".to_string()),
            "ember.s3.connectTimeout" => Some("250ms".to_string()),
            _ => None,
        };
        let o = StoreOptions::resolve(&keys).unwrap().s3;
        assert_eq!(o.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(o.allow_http && o.path_style);
        assert_eq!(o.access_key_id.as_deref(), Some("me"));
        assert_eq!(o.connect_timeout_ms, 250);
        let bad = |k: &str| (k == "ember.s3.pathStyleAccess").then(|| "sometimes".to_string());
        let err = StoreOptions::resolve(&bad).unwrap_err().to_string();
        assert!(err.contains("ember.s3.pathStyleAccess") && err.contains("sometimes"), "{err}");
    }

    #[test]
    fn reads_one_profile_of_an_ini_file() {
        let text = "[default]\naws_access_key_id = A\n# c\n[profile dev]\nregion = eu-west-1\n[dev]\nx=1\n";
        assert_eq!(ini_section(text, "default").get("aws_access_key_id").map(String::as_str), Some("A"));
        assert_eq!(ini_section(text, "profile dev").get("region").map(String::as_str), Some("eu-west-1"));
        assert_eq!(ini_section(text, "dev").len(), 1);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let mut o = StoreOptions::default();
        o.s3.secret_access_key = Some("hunter2".into());
        assert!(!format!("{o:?}").contains("hunter2"));
    }
}

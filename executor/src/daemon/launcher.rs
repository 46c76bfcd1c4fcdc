//! Starting executor backends from stored binaries, and cleaning up after them.
//!
//! A backend runs in its own directory `apps/<app>-<n>` with a random token
//! that only the driver which asked for it learns. The daemon keeps the
//! backend's stdin: if the daemon dies, the backend sees end of file and
//! exits. When a backend exits (its driver went away, or it was never
//! attached), its directory is removed. A daemon serving TLS gives its
//! backends the paths of its PEM files (never their contents), so they serve
//! with the same identity and trust the same roots.

use crate::backend::{
    ENV_ATTACH_TIMEOUT_MS, ENV_BACKEND, ENV_BACKEND_OBJECT, ENV_BACKEND_OBJECT_SHA256, ENV_CORES, ENV_MEMORY_CAP,
    ENV_TLS_CA, ENV_TLS_CERT, ENV_TLS_KEY, ENV_WORK_DIR, LISTENING_PREFIX,
};
use ember_security::tls::TlsFiles;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

pub struct Launcher {
    apps: PathBuf,
    bind_host: String,
    attach_timeout: Duration,
    memory_cap: u64,
    /// The daemon's TLS files, for its backends to serve with.
    tls: Option<TlsFiles>,
    next: AtomicU64,
}

/// What a backend runs.
#[derive(Clone, Debug)]
pub enum Program {
    /// An application's own (uploaded) executable, in backend mode.
    Executable(PathBuf),
    /// `host` (this daemon's executable) hosting an uploaded cell object
    /// whose runtime library is in `runtime_dir` (ADR 0009).
    Hosted { host: PathBuf, object: PathBuf, sha256: String, runtime_dir: PathBuf },
}

impl Program {
    fn command(&self) -> Command {
        match self {
            Program::Executable(binary) => Command::new(binary),
            Program::Hosted { host, object, sha256, runtime_dir } => {
                let mut command = Command::new(host);
                // The object names its runtime library by file name; the
                // loader finds it on the library path (its RUNPATH points
                // into the driver's toolchain, which this host may lack).
                command
                    .env(ENV_BACKEND_OBJECT, object)
                    .env(ENV_BACKEND_OBJECT_SHA256, sha256)
                    .env("LD_LIBRARY_PATH", runtime_dir);
                command
            }
        }
    }

    /// Why a backend of this program never listened.
    fn did_not_start(&self) -> String {
        match self {
            Program::Executable(binary) => format!(
                "{} did not start as an executor backend (is it an Ember program, built for this platform? \
                 binaries for containers must be fully static)",
                binary.display()
            ),
            Program::Hosted { host, object, .. } => format!(
                "{} could not host the REPL's code object {} (see the daemon's log; a fully static \
                 ember-executor, as in the container image, cannot load shared objects: run a daemon \
                 built by `cargo install --path executor` on a host with glibc)",
                host.display(),
                object.display()
            ),
        }
    }

    /// The program the daemon spawns.
    fn spawned(&self) -> &Path {
        match self {
            Program::Executable(binary) => binary,
            Program::Hosted { host, .. } => host,
        }
    }
}

/// A started backend.
pub struct Started {
    pub address: String,
    pub token: String,
    pub pid: u32,
}

impl Launcher {
    /// A launcher under `work_dir`; leftovers of a previous daemon are removed.
    pub fn new(
        work_dir: &Path,
        bind_host: String,
        attach_timeout: Duration,
        memory_cap: u64,
        tls: Option<TlsFiles>,
    ) -> std::io::Result<Self> {
        let apps = work_dir.join("apps");
        let _ = std::fs::remove_dir_all(&apps);
        std::fs::create_dir_all(&apps)?;
        Ok(Launcher { apps, bind_host, attach_timeout, memory_cap, tls, next: AtomicU64::new(0) })
    }

    /// Starts `program` as a backend for `app_id`; `driver_facing` is the IP
    /// at which the driver reached this daemon (the backend's address uses it).
    pub async fn start(
        &self,
        program: &Program,
        app_id: &str,
        cores: usize,
        driver_facing: IpAddr,
    ) -> Result<Started, String> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let safe_app: String =
            app_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        let dir = self.apps.join(format!("{safe_app}-{n}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let token = super::auth::random_hex(32);
        let mut cmd = program.command();
        cmd.env_remove("EMBER_AUTH_SECRET")
            .env(ENV_BACKEND, format!("{}:0", self.bind_host))
            .env(ENV_CORES, cores.to_string())
            .env(ENV_WORK_DIR, &dir)
            .env(ENV_ATTACH_TIMEOUT_MS, self.attach_timeout.as_millis().to_string())
            .env(ENV_MEMORY_CAP, self.memory_cap.to_string())
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        // Paths only, and absolute: the backend runs in its own directory.
        for name in [ENV_TLS_CERT, ENV_TLS_KEY, ENV_TLS_CA] {
            cmd.env_remove(name);
        }
        if let Some(tls) = &self.tls {
            cmd.env(ENV_TLS_CERT, &tls.cert).env(ENV_TLS_KEY, &tls.key);
            if let Some(ca) = &tls.ca {
                cmd.env(ENV_TLS_CA, ca);
            }
        }
        let mut child = cmd.spawn().map_err(|e| spawn_error(program.spawned(), &e))?;
        let pid = child.id().unwrap_or(0);
        // A program that is no backend may exit before it reads its token
        // (a broken pipe): that is the same failure as never listening.
        let handed = crate::backend::hand_over_token(&mut child, &token).await;
        let stdout = child.stdout.take().ok_or("backend has no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let bound = match handed {
            Err(e) => {
                tracing::warn!(pid, error = %e, "the backend did not take its token");
                None
            }
            Ok(()) => match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await {
                Ok(Ok(Some(line))) => line.strip_prefix(LISTENING_PREFIX).map(str::to_string),
                _ => None,
            },
        };
        let Some(bound) = bound else {
            let _ = child.kill().await;
            let _ = std::fs::remove_dir_all(&dir);
            return Err(program.did_not_start());
        };
        let port = bound.rsplit(':').next().unwrap_or("0").to_string();
        let address = match driver_facing {
            IpAddr::V4(ip) => format!("{ip}:{port}"),
            IpAddr::V6(ip) => format!("[{ip}]:{port}"),
        };
        tracing::info!(app = app_id, pid, %address, "started an executor backend");
        // Reap the backend and clean its directory when it exits; forward its
        // stdout to the daemon's log.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[backend {pid}] {line}");
            }
            let status = child.wait().await;
            tracing::info!(pid, ?status, "executor backend exited");
            let _ = std::fs::remove_dir_all(&dir);
        });
        Ok(Started { address, token, pid })
    }
}

/// Why `binary` could not be started. A stored binary the kernel reports
/// as missing lacks its dynamic loader (a dynamically linked program on a
/// FROM-scratch image): say how to build it.
fn spawn_error(binary: &Path, e: &std::io::Error) -> String {
    let hint = if e.kind() == std::io::ErrorKind::NotFound && binary.exists() {
        " (the program is dynamically linked and this host lacks its loader or libraries: build it fully \
         static, RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --target x86_64-unknown-linux-gnu)"
    } else {
        ""
    };
    format!("cannot start {}: {e}{hint}", binary.display())
}

#[cfg(test)]
mod tests {
    use super::spawn_error;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_program_whose_loader_is_missing_is_told_to_build_static() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("dynamic");
        // An ELF-less script whose interpreter does not exist fails as a
        // dynamic binary without its loader does: ENOENT for a file that exists.
        std::fs::write(&program, "#!/no/such/loader\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        // A fork by another test thread may briefly hold the file open for writing.
        let e = (0..100)
            .map(|_| std::process::Command::new(&program).spawn().unwrap_err())
            .find(|e| e.kind() != std::io::ErrorKind::ExecutableFileBusy)
            .expect("the script stays busy");
        let message = spawn_error(&program, &e);
        assert!(message.contains("build it fully static"), "{message}");
        let missing = dir.path().join("missing");
        let e = std::process::Command::new(&missing).spawn().unwrap_err();
        assert!(!spawn_error(&missing, &e).contains("static"), "a missing file is just missing");
    }
}

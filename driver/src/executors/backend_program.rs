//! Which program a `local-cluster[N]` backend runs.
//!
//! A compiled driver program starts its own executable again (ADR 0002).
//! In a REPL the driver's process is the REPL's runner and Ember's code is
//! in the shared object of the cell that created the context: backends are
//! then `ember-executor` processes hosting that object (ADR 0009,
//! `ember_executor::object_host`).

use ember_executor::backend::{ENV_BACKEND_OBJECT, ENV_BACKEND_OBJECT_SHA256};
use ember_rdd::EmberError;
use ember_rdd::code_objects::{self, CodeObject};
use std::path::PathBuf;
use tokio::process::Command;

/// Where `ember-executor` is, if not on the `PATH`.
pub const ENV_EXECUTOR_BIN: &str = "EMBER_EXECUTOR_BIN";

/// The program of a backend of this process's application.
#[derive(Clone, Debug)]
pub enum BackendProgram {
    /// This executable, in backend mode.
    ThisExecutable(PathBuf),
    /// `ember-executor` hosting the code object that holds Ember.
    Hosted { host: PathBuf, object: CodeObject },
}

impl BackendProgram {
    pub fn for_this_process() -> Result<BackendProgram, EmberError> {
        let own = code_objects::own_object()
            .map_err(|e| EmberError::Executor(format!("cannot tell where Ember's code is loaded from: {e}")))?;
        match own {
            None => std::env::current_exe()
                .map(BackendProgram::ThisExecutable)
                .map_err(|e| EmberError::Executor(format!("cannot find own executable: {e}"))),
            Some(object) => Ok(BackendProgram::Hosted { host: find_host(&object)?, object: (*object).clone() }),
        }
    }

    /// The command that starts a backend (its backend settings still to add).
    pub fn command(&self) -> Command {
        match self {
            BackendProgram::ThisExecutable(exe) => Command::new(exe),
            BackendProgram::Hosted { host, object } => {
                let mut command = Command::new(host);
                command.env(ENV_BACKEND_OBJECT, &object.path).env(ENV_BACKEND_OBJECT_SHA256, &object.sha256);
                command
            }
        }
    }

    pub fn describe(&self) -> String {
        match self {
            BackendProgram::ThisExecutable(exe) => exe.display().to_string(),
            BackendProgram::Hosted { host, object } => format!("{} hosting {}", host.display(), object.path.display()),
        }
    }
}

fn find_host(object: &CodeObject) -> Result<PathBuf, EmberError> {
    if let Some(path) = std::env::var_os(ENV_EXECUTOR_BIN) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(EmberError::Executor(format!("{ENV_EXECUTOR_BIN}={}: no such file", path.display())))
        };
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("ember-executor")).find(|c| c.is_file()))
        .unwrap_or_default();
    on_path.ok_or_else(|| {
        EmberError::Executor(format!(
            "Ember runs in a loaded object ({}, a REPL cell), whose backends run in `ember-executor`, \
             which is neither on the PATH nor named by {ENV_EXECUTOR_BIN}; install it with \
             `cargo install --locked --path executor` (deploy/install-notebook.sh does)",
            object.path.display()
        ))
    })
}

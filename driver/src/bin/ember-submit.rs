//! `ember-submit [--master URL] [--name NAME] [--executor-memory 2g] [--executor-cores N]
//! [--num-executors N] [--conf key=value]... [--properties-file FILE] APP_BINARY [-- APP_ARGS...]`
//!
//! Runs APP_BINARY (an Ember driver program) with these settings; see
//! `ember::submit` for the precedence of settings.

use clap::Parser;
use ember::submit::{STATIC_BUILD_HINT, SubmitArgs, check_app, is_dynamically_linked, to_env_text};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Run an Ember driver program against a master")]
struct Cli {
    /// local[N], local[*], local-cluster[N] or ember://host:port[,host:port...].
    #[arg(long)]
    master: Option<String>,
    /// The application's name.
    #[arg(long)]
    name: Option<String>,
    /// Cache memory per executor (e.g. 2g).
    #[arg(long)]
    executor_memory: Option<String>,
    /// Task threads per executor.
    #[arg(long)]
    executor_cores: Option<usize>,
    /// Executors to use (of an ember:// master).
    #[arg(long)]
    num_executors: Option<usize>,
    /// A setting, key=value (repeatable).
    #[arg(long = "conf", value_name = "KEY=VALUE")]
    conf: Vec<String>,
    /// Settings file (default: conf/ember-defaults.conf under $EMBER_CONF_DIR or here).
    #[arg(long)]
    properties_file: Option<PathBuf>,
    /// The driver program.
    app: PathBuf,
    /// Arguments for the driver program (after --).
    #[arg(last = true)]
    app_args: Vec<String>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let args = SubmitArgs {
        master: cli.master,
        name: cli.name,
        executor_memory: cli.executor_memory,
        executor_cores: cli.executor_cores,
        num_executors: cli.num_executors,
        conf: cli.conf,
        properties_file: cli.properties_file,
        app: cli.app,
        app_args: cli.app_args,
    };
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("ember-submit: {e}");
        std::process::ExitCode::FAILURE
    };
    let conf = match args.to_conf().and_then(|c| check_app(&args.app).map(|_| c)) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let master = conf.get("ember.master").map(str::to_string);
    if master.as_deref().is_some_and(|m| m.starts_with("ember://")) && is_dynamically_linked(&args.app) {
        eprintln!(
            "ember-submit: warning: {} is dynamically linked and will not start in a FROM-scratch executor \
             image; {STATIC_BUILD_HINT}",
            args.app.display()
        );
    }
    let mut cmd = std::process::Command::new(&args.app);
    cmd.args(&args.app_args).env("EMBER_CONF", to_env_text(&conf));
    if let Some(m) = master {
        cmd.env("EMBER_MASTER", m);
    }
    let err = cmd.exec();
    fail(&format!("cannot run {}: {err}", args.app.display()))
}

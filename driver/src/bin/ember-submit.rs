//! `ember-submit [--master URL] [--name NAME] [--executor-memory 2g] [--executor-cores N]
//! [--num-executors N] [--conf key=value]... [--properties-file FILE] APP_BINARY [APP_ARGS...]`
//!
//! Runs APP_BINARY (an Ember driver program; a path, so a bare name is a file
//! in the current directory) with these settings; see `ember::submit` for the
//! precedence of settings. As with spark-submit, everything after APP_BINARY
//! is the program's, flags included (`APP --rows 10 --master x` gives the
//! program `--rows 10 --master x`); an `--` right after APP_BINARY is dropped,
//! so `APP -- ARGS` passes ARGS as before.

use clap::Parser;
use ember::submit::{STATIC_BUILD_HINT, SubmitArgs, check_app, is_dynamically_linked, to_env_text};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    about = "Run an Ember driver program against a master",
    override_usage = "ember-submit [OPTIONS] APP_BINARY [APP_ARGS]..."
)]
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
    /// Settings file (default: $EMBER_CONF_DIR/ember-defaults.conf, else conf/ember-defaults.conf).
    #[arg(long)]
    properties_file: Option<PathBuf>,
    /// The driver program (a path: a bare name is a file here), then its arguments, flags included.
    ///
    /// Everything after APP_BINARY is the program's; an `--` right after it is dropped.
    // One positional, so that clap stops parsing flags at APP_BINARY, the first value.
    #[arg(value_name = "APP_BINARY [APP_ARGS]", required = true, trailing_var_arg = true)]
    app_and_args: Vec<String>,
}

impl Cli {
    /// APP_BINARY and the program's arguments (`APP -- ARGS` gives ARGS).
    fn app_and_args(&self) -> (PathBuf, Vec<String>) {
        let (app, args) = self.app_and_args.split_first().expect("clap requires APP_BINARY");
        let args = args.strip_prefix(&["--".to_string()]).unwrap_or(args);
        (PathBuf::from(app), args.to_vec())
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let (app, app_args) = cli.app_and_args();
    let args = SubmitArgs {
        master: cli.master,
        name: cli.name,
        executor_memory: cli.executor_memory,
        executor_cores: cli.executor_cores,
        num_executors: cli.num_executors,
        conf: cli.conf,
        properties_file: cli.properties_file,
        app,
        app_args,
    };
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("ember-submit: {e}");
        std::process::ExitCode::FAILURE
    };
    let (conf, app) = match args.to_conf().and_then(|c| Ok((c, check_app(&args.app)?))) {
        Ok(checked) => checked,
        Err(e) => return fail(&e),
    };
    let master = conf.get("ember.master").map(str::to_string);
    if master.as_deref().is_some_and(|m| m.starts_with("ember://")) && is_dynamically_linked(&app) {
        eprintln!(
            "ember-submit: warning: {} is dynamically linked and will not start in a FROM-scratch executor \
             image; {STATIC_BUILD_HINT}",
            args.app.display()
        );
    }
    let mut cmd = std::process::Command::new(&app);
    cmd.args(&args.app_args).env("EMBER_CONF", to_env_text(&conf));
    if let Some(m) = master {
        cmd.env("EMBER_MASTER", m);
    }
    let err = cmd.exec();
    fail(&format!("cannot run {}: {err}", args.app.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app_args(argv: &[&str]) -> Vec<String> {
        let cli = Cli::try_parse_from([&["ember-submit", "--master", "local"], argv].concat()).unwrap();
        assert_eq!(cli.master.as_deref(), Some("local"), "flags after APP_BINARY are the program's");
        let (app, args) = cli.app_and_args();
        assert_eq!(app, PathBuf::from("app"));
        args
    }

    #[test]
    fn everything_after_the_app_is_the_programs_with_or_without_a_double_dash() {
        assert_eq!(app_args(&["app"]), Vec::<String>::new());
        assert_eq!(app_args(&["app", "--rows", "10", "-k", "3", "in.txt"]), ["--rows", "10", "-k", "3", "in.txt"]);
        assert_eq!(
            app_args(&["app", "--master", "local[2]", "--conf", "a=b"]),
            ["--master", "local[2]", "--conf", "a=b"]
        );
        assert_eq!(app_args(&["app", "--", "--rows", "10"]), ["--rows", "10"]);
        assert_eq!(app_args(&["app", "x", "--", "y"]), ["x", "--", "y"]);
        assert_eq!(app_args(&["app", "--help"]), ["--help"]);
        assert_eq!(app_args(&["app", "--", "--"]), ["--"]);
        let e = Cli::try_parse_from(["ember-submit", "--master", "local"]).err().expect("no APP_BINARY");
        assert!(e.to_string().contains("APP_BINARY"), "{e}");
    }
}

//! reims-verify: proves a PostgreSQL schema is what it claims to be.
//!
//! Data flows one way: migrations → database → [`catalog::Schema`]; specs →
//! [`spec::SpecSet`]; `verify` and `probe` → findings → one run record → every renderer.

// Errors are rare and carry a location, a message and a hint for the user; their size on
// the cold path is not worth boxing every construction site for.
#![allow(clippy::result_large_err)]

#[macro_use]
mod console;

pub mod allocator;
pub mod anchor;
pub mod cache_dir;
pub mod catalog;
pub mod chunked;
pub mod cli;
pub mod codes;
pub mod commands;
pub mod error;
pub mod fuzz;
pub mod migrate;
pub mod parallel;
pub mod postgres;
pub mod probe;
pub mod progress;
pub mod redact;
pub mod report;
pub mod run;
pub mod snapshot;
pub mod spec;
pub mod sql;
pub mod verify;

use clap::Parser;

/// Parse the command line, run the command, print any error with its next step, and
/// return the process exit code (see [`error::ExitCode`]).
pub fn run_cli() -> i32 {
    redact::register_environment();
    for arg in std::env::args_os() {
        redact::register_secrets_in(&arg.to_string_lossy());
    }
    if let Ok(url) = std::env::var("DATABASE_URL") {
        redact::register_secrets_in(&url);
    }
    redact::install_panic_hook();
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return print_usage_error(&err),
    };
    postgres::install_signal_handlers();
    let out = commands::Output::new(cli.color, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return error::ExitCode::Database.code();
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            cli::Command::Migrate(args) => commands::run_migrate(args, out).await,
            cli::Command::Check(args) => commands::run_check(args, out).await,
            cli::Command::Spec(cmd) => commands::run_spec(cmd, out).await,
            cli::Command::Report(args) => commands::run_report(args, out).await,
            cli::Command::Pg(cmd) => commands::run_pg(cmd, out).await,
        }
    });
    drop(runtime);
    if postgres::interrupted() {
        // The signal handler is stopping the servers and will exit with 130.
        loop {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    match result {
        Ok(code) => code.code(),
        Err(err) => {
            err!("{}", redact::scrub(&describe_error(&err)));
            err.exit_code().code()
        }
    }
}

/// An error as printed: the message, the key path of a spec error, and the next step.
pub fn describe_error(err: &error::Error) -> String {
    let mut text = format!("error: {err}\n");
    if let error::Error::Spec {
        key_path: Some(path),
        ..
    } = err
    {
        text.push_str(&format!("  at key: {path}\n"));
    }
    if let Some(hint) = err.hint() {
        text.push_str(&format!("  hint: {hint}\n"));
    }
    text
}

/// Print a command-line error (or `--help` / `--version`) the way clap does, with any
/// connection string it quotes redacted, and return clap's exit code (2 for errors).
fn print_usage_error(err: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
        return err.exit_code();
    }
    let mut text = err.render().to_string();
    for arg in std::env::args_os() {
        let arg = arg.to_string_lossy().into_owned();
        let value = arg.split_once('=').map(|(_, v)| v.to_string());
        for raw in std::iter::once(arg).chain(value) {
            let safe = redact::connection_string(&raw);
            if raw != safe {
                text = text.replace(raw.as_str(), &safe);
            }
        }
    }
    err!("{}", redact::scrub(&text));
    err.exit_code()
}

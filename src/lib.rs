//! reims-verify: proves a PostgreSQL schema is what it claims to be.
//!
//! Data flows one way: migrations → database → [`catalog::Schema`]; specs →
//! [`spec::SpecSet`]; `verify` and `probe` → findings → one run record → every renderer.

// Errors are rare and carry a location, a message and a hint for the user; their size on
// the cold path is not worth boxing every construction site for.
#![allow(clippy::result_large_err)]

pub mod catalog;
pub mod cli;
pub mod commands;
pub mod error;
pub mod migrate;
pub mod postgres;
pub mod probe;
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
    let cli = cli::Cli::parse();
    postgres::install_signal_handlers();
    let out = commands::Output::new(cli.color);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
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
            eprintln!("error: {err}");
            if let error::Error::Spec {
                key_path: Some(path),
                ..
            } = &err
            {
                eprintln!("  at key: {path}");
            }
            if let Some(hint) = err.hint() {
                eprintln!("  hint: {hint}");
            }
            err.exit_code().code()
        }
    }
}

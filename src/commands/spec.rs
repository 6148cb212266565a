//! `reims-verify spec …`: the JSON Schema of the format, and offline validation.

use crate::cli::SpecCommand;
use crate::error::{ExitCode, Result};
use crate::spec::{load_dir_reporting, TableSpec};

use super::Output;

/// The JSON Schema of a spec file, as committed in `specs/schema.json`.
pub fn spec_json_schema() -> String {
    let schema = schemars::schema_for!(TableSpec);
    serde_json::to_string_pretty(&schema).expect("serialisable") + "\n"
}

/// Run a `spec` subcommand.
pub async fn run_spec(cmd: &SpecCommand, _out: Output) -> Result<ExitCode> {
    match cmd {
        SpecCommand::Schema => {
            print!("{}", spec_json_schema());
            Ok(ExitCode::Passed)
        }
        SpecCommand::Snapshot(args) => super::run_snapshot(args).await,
        SpecCommand::Validate { specs } => {
            let (set, warnings) = load_dir_reporting(specs)?;
            for w in &warnings {
                eprintln!("{}", crate::redact::scrub(&format!("warning: {w}")));
            }
            println!(
                "{} spec file(s) in {} are valid",
                set.specs.len(),
                specs.display()
            );
            Ok(ExitCode::Passed)
        }
    }
}

//! `reims-verify spec …`: the JSON Schema of the format, and offline validation.

use crate::cli::SpecCommand;
use crate::error::{ExitCode, Result};
use crate::spec::database_doc::DatabaseDocument;
use crate::spec::report_doc::ReportDocument;
use crate::spec::{load_dir_reporting, SchemaSpec, TableSpec};

use super::Output;

/// The JSON Schema of a spec file, as committed in `specs/schema.json`.
pub fn spec_json_schema() -> String {
    let schema = schemars::schema_for!(SpecFile);
    serde_json::to_string_pretty(&schema).expect("serialisable") + "\n"
}

/// One spec file for the JSON Schema: a relation spec, a schema document, the report
/// document or the database document. (Loading dispatches on the top-level keys instead;
/// this type only describes the four shapes.)
struct SpecFile;

impl schemars::JsonSchema for SpecFile {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SpecFile".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let relation = generator.subschema_for::<TableSpec>();
        let schema = generator.subschema_for::<SchemaSpec>();
        let report = generator.subschema_for::<ReportDocument>();
        let database = generator.subschema_for::<DatabaseDocument>();
        schemars::json_schema!({
            "description": "One spec file: a relation spec (top-level key `table:`), a schema document (top-level key `schema:` and no `table:`), the report document (top-level key `report:` alone) or the database document (top-level key `database:` alone).",
            "oneOf": [relation, schema, report, database]
        })
    }
}

/// Run a `spec` subcommand.
pub async fn run_spec(cmd: &SpecCommand, _out: Output) -> Result<ExitCode> {
    match cmd {
        SpecCommand::Schema => {
            out!("{}", spec_json_schema());
            Ok(ExitCode::Passed)
        }
        SpecCommand::Snapshot(args) => super::run_snapshot(args).await,
        SpecCommand::Validate { specs } => {
            let (set, warnings) = load_dir_reporting(specs)?;
            for w in &warnings {
                errln!("{}", crate::redact::scrub(&format!("warning: {w}")));
            }
            outln!(
                "{} spec file(s) in {} are valid",
                set.specs.len()
                    + set.schemas.len()
                    + usize::from(set.report.is_some())
                    + usize::from(set.database.is_some()),
                specs.display()
            );
            Ok(ExitCode::Passed)
        }
    }
}

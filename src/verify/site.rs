//! Where a finding about access control goes: the report group (a relation, or `schema
//! public`, `sequences`, `functions`), the spec file and line that state the expectation,
//! and the requirements served. Relation specs, schema documents and objects no spec
//! lists all produce findings the same way.

use super::{Finding, Status};
use crate::error::SourceLocation;
use crate::spec::Loaded;

/// Finds the line of a key path in the spec file that states an expectation.
type Locate<'a> = Box<dyn Fn(&[&str]) -> SourceLocation + 'a>;

/// The place findings about one object are filed under.
pub(crate) struct Site<'a> {
    /// The report group.
    pub table: String,
    requirements: Vec<String>,
    locate: Option<Locate<'a>>,
}

impl<'a> Site<'a> {
    /// Findings stated by a spec file.
    pub fn of<T>(loaded: &'a Loaded<T>, table: &str, requirements: &[String]) -> Self {
        Site {
            table: table.to_string(),
            requirements: requirements.to_vec(),
            locate: Some(Box::new(move |p| loaded.location(p))),
        }
    }

    /// Findings about an object no spec lists: PostgreSQL's defaults are expected.
    pub fn unlisted(table: &str) -> Self {
        Site {
            table: table.to_string(),
            requirements: vec![],
            locate: None,
        }
    }

    /// Where `path` is written, when a spec states it.
    pub fn location(&self, path: &[&str]) -> Option<SourceLocation> {
        self.locate.as_ref().map(|f| f(path))
    }

    /// A check that was not made, and why.
    pub fn skip(
        &self,
        code: &'static str,
        object: &str,
        path: &[&str],
        message: String,
    ) -> Finding {
        Finding {
            repro: None,
            code,
            table: self.table.as_str().into(),
            object: object.into(),
            status: Status::Skip,
            expected: None,
            actual: None,
            message,
            location: self.location(path),
            requirements: self.requirements.clone(),
            hint: None,
        }
    }

    /// A finding that passes when `ok`, with expected and actual either way.
    #[allow(clippy::too_many_arguments)]
    pub fn compare(
        &self,
        code: &'static str,
        object: &str,
        path: &[&str],
        expected: String,
        actual: String,
        ok: bool,
        message: String,
        hint: &str,
    ) -> Finding {
        Finding {
            repro: None,
            code,
            table: self.table.as_str().into(),
            object: object.into(),
            status: if ok { Status::Pass } else { Status::Fail },
            expected: Some(expected.into()),
            actual: Some(actual.into()),
            message,
            location: self.location(path),
            requirements: self.requirements.clone(),
            hint: (!ok).then(|| hint.to_string()),
        }
    }
}

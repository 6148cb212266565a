//! A value written in a spec's sample rows or a property's examples. Apart from the model
//! so that the model and the properties it holds, which both carry such values, do not
//! import each other.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A value in a sample row: written as YAML, sent to PostgreSQL as text and cast to the
/// column's type.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(transparent)]
pub struct SampleValue(pub serde_json::Value);

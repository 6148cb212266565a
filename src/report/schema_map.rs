//! The relations and foreign keys of the checked schema as the run record keeps them, for
//! the diagrams of `report.html`. Apart from the diagrams so that the run record, which
//! holds the map, and the diagrams, which draw it, do not import each other.

use serde::{Deserialize, Serialize};

use crate::catalog::{ConstraintKind, Schema};
use crate::spec::SpecSet;

/// The relations and foreign keys of the checked schema, as the run record keeps them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SchemaMap {
    /// Every relation, by name.
    pub relations: Vec<MapRelation>,
    /// Every foreign key between them.
    pub foreign_keys: Vec<MapForeignKey>,
}

/// One relation of the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapRelation {
    /// The name.
    pub name: String,
    /// `table`, `view`, `materialized view`, …
    pub kind: String,
    /// Number of columns.
    pub columns: usize,
    /// Primary-key columns.
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// Business requirements its spec declares.
    #[serde(default)]
    pub requirements: Vec<String>,
}

/// One foreign key of the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapForeignKey {
    /// Constraint name.
    pub name: String,
    /// Referencing relation.
    pub from: String,
    /// Referencing columns.
    pub columns: Vec<String>,
    /// Referenced relation.
    pub to: String,
    /// Referenced columns.
    pub ref_columns: Vec<String>,
}

impl SchemaMap {
    /// The map of `schema`, with the requirements the specs declare.
    pub fn of(schema: &Schema, specs: &SpecSet) -> SchemaMap {
        let mut map = SchemaMap::default();
        let spec_of = specs.relation_index();
        for (key, rel) in &schema.relations {
            map.relations.push(MapRelation {
                name: key.clone(),
                kind: match rel.kind {
                    'r' | 'p' => "table",
                    'v' => "view",
                    'm' => "materialized view",
                    'f' => "foreign table",
                    _ => "relation",
                }
                .into(),
                columns: rel.columns.len(),
                primary_key: rel
                    .constraints
                    .iter()
                    .find(|c| c.kind == ConstraintKind::PrimaryKey)
                    .map(|c| c.columns.clone())
                    .unwrap_or_default(),
                requirements: spec_of
                    .get(&(rel.schema.as_str(), rel.name.as_str()))
                    .map(|s| s.spec.requirements.clone())
                    .unwrap_or_default(),
            });
            for c in &rel.constraints {
                if c.kind != ConstraintKind::ForeignKey {
                    continue;
                }
                map.foreign_keys.push(MapForeignKey {
                    name: c.name.clone(),
                    from: key.clone(),
                    columns: c.columns.clone(),
                    to: match (&c.ref_schema, &c.ref_table) {
                        (Some(s), Some(t)) => crate::catalog::relation_key(s, t),
                        (None, Some(t)) => t.clone(),
                        _ => String::new(),
                    },
                    ref_columns: c.ref_columns.clone(),
                });
            }
        }
        map
    }
}

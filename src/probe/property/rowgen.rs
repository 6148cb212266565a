//! "A valid row of table T", built from T's spec and catalog entry:
//!
//! - columns the property sets come from its generators;
//! - sequence-fed columns get explicit negative values (no sequence moves);
//! - keys with a default (`gen_random_uuid()`) get explicit random values, so that the
//!   reproduction inserts the same keys;
//! - other unique columns get fresh values, from the column's `regex` rule when it has
//!   one (the constraint probes' generator), else `rv-` and random hex;
//! - a NOT NULL foreign key gets a parent row, built the same way and inserted first; a
//!   nullable one stays NULL;
//! - the remaining columns take the spec's first sample row, then a value the column's
//!   structured CHECK rule accepts, then a plain value of the column's type, or their
//!   default.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use proptest::test_runner::TestRunner;

use super::draw::{self, Drawn, RowDraw};
use crate::catalog::{ConstraintKind, Relation, Schema};
use crate::probe::constraints::accepted_values;
use crate::probe::rows::{sample_sql, unique_columns};
use crate::probe::sequences::SequenceFed;
use crate::spec::property::Gen;
use crate::spec::{Rule, SpecSet};
use crate::sql::quote_literal;

/// Foreign keys followed at most this deep.
const MAX_DEPTH: u32 = 4;

/// Where one column's value comes from.
#[derive(Debug)]
enum Source {
    /// A generator the property wrote.
    Set(Gen),
    /// A strategy built from the spec and catalog, with an edge value when it has one.
    Built(BoxedStrategy<Drawn>, Option<Drawn>),
    /// The same value as column `column` of parent `parent`.
    Parent { parent: usize, column: String },
}

/// How to build rows of one table.
#[derive(Debug)]
pub struct RowTemplate {
    table: String,
    columns: Vec<(String, Source)>,
    parents: Vec<RowTemplate>,
    overriding: bool,
    /// Primary-key columns given explicitly (for the reproduction's lookups).
    pub explicit_key: Vec<String>,
}

/// What row templates are built from.
pub struct RowContext<'a> {
    /// The specs (samples, CHECK rules).
    pub specs: &'a SpecSet,
    /// The database's schema (types, defaults, keys).
    pub schema: &'a Schema,
    /// Sequence-fed columns.
    pub fed: &'a SequenceFed,
}

fn is_text(ty: &str) -> bool {
    ty.starts_with("character") || ty == "text" || ty.starts_with("varchar") || ty == "citext"
}

fn is_integer(ty: &str) -> bool {
    matches!(ty, "integer" | "bigint" | "smallint")
}

/// `character varying(N)` → N.
fn max_length(ty: &str) -> Option<usize> {
    ty.strip_prefix("character varying(")
        .or_else(|| ty.strip_prefix("character("))
        .and_then(|r| r.strip_suffix(')'))
        .and_then(|n| n.parse().ok())
}

fn lit(sql: String) -> Drawn {
    Drawn::Lit {
        shown: sql.clone(),
        sql,
    }
}

/// A plain value of a type, for a NOT NULL column nothing else fills.
fn plain_value(ty: &str) -> Option<Drawn> {
    let sql = if is_text(ty) {
        "'rv'".to_string()
    } else if is_integer(ty)
        || ty.starts_with("numeric")
        || ty == "real"
        || ty.starts_with("double")
    {
        "0".to_string()
    } else if ty == "boolean" {
        "false".to_string()
    } else if ty == "date" {
        "CURRENT_DATE".to_string()
    } else if ty.starts_with("timestamp") {
        "CURRENT_TIMESTAMP".to_string()
    } else if ty == "inet" || ty == "cidr" {
        "'10.0.0.1'".to_string()
    } else if ty == "jsonb" || ty == "json" || ty.ends_with("[]") {
        "'{}'".to_string()
    } else {
        return None;
    };
    Some(lit(sql))
}

fn uuid_strategy() -> BoxedStrategy<Drawn> {
    draw::strategy(&Gen::Uuid(Default::default()))
}

/// Fresh values for a unique column.
fn unique_strategy(
    rel: &Relation,
    column: &str,
    ty: &str,
    specs: &SpecSet,
) -> Option<BoxedStrategy<Drawn>> {
    if ty == "uuid" {
        return Some(uuid_strategy());
    }
    if is_integer(ty) {
        return Some(
            (1_000_000i64..=2_000_000_000)
                .prop_map(|n| lit(n.to_string()))
                .boxed(),
        );
    }
    if is_text(ty) {
        let regex = specs.relation(&rel.schema, &rel.name).and_then(|s| {
            s.spec.checks.values().find_map(|c| match &c.rule {
                Rule::Regex(r) if r.column == column => accepted_values(&c.rule, rel),
                _ => None,
            })
        });
        if let Some((_, strategy)) = regex {
            return Some(strategy.prop_map(lit).boxed());
        }
        let hex = max_length(ty).map_or(16, |n| n.saturating_sub(3).clamp(1, 16));
        return Some(
            any::<u64>()
                .no_shrink()
                .prop_map(move |n| {
                    let h = format!("{n:016x}");
                    lit(quote_literal(&format!("rv-{}", &h[..hex])))
                })
                .boxed(),
        );
    }
    None
}

impl RowTemplate {
    /// Build the template for a row of the table whose relation key is `table` (`t`,
    /// `app.t`), with `set` columns from the property; its parents are found by the
    /// schemas their foreign keys name.
    pub fn build(
        ctx: &RowContext,
        table: &str,
        set: &IndexMap<String, Gen>,
    ) -> Result<RowTemplate, String> {
        Self::build_at(ctx, table, set, &BTreeSet::new(), 0)
    }

    fn build_at(
        ctx: &RowContext,
        table: &str,
        set: &IndexMap<String, Gen>,
        explicit: &BTreeSet<String>,
        depth: u32,
    ) -> Result<RowTemplate, String> {
        let rel = ctx
            .schema
            .relations
            .get(table)
            .filter(|r| r.kind == 'r' || r.kind == 'p')
            .ok_or_else(|| format!("no table {table} in the database"))?;
        let spec = ctx.specs.relation(&rel.schema, &rel.name);
        let sample: IndexMap<String, String> = spec
            .and_then(|s| s.spec.samples.first())
            .map(|r| r.iter().map(|(k, v)| (k.clone(), sample_sql(v))).collect())
            .unwrap_or_default();
        let unique = unique_columns(rel);
        let pk: Vec<String> = rel
            .constraints
            .iter()
            .find(|c| c.kind == ConstraintKind::PrimaryKey)
            .map(|c| c.columns.clone())
            .unwrap_or_default();
        let fed: Vec<&str> = ctx
            .fed
            .columns(table)
            .iter()
            .map(|f| f.column.as_str())
            .collect();
        let overriding = ctx
            .fed
            .columns(table)
            .iter()
            .any(|f| f.always && !set.contains_key(&f.column));
        let mut columns: Vec<(String, Source)> = Vec::new();
        let mut parents = Vec::new();
        let mut handled: BTreeSet<String> = set.keys().cloned().collect();
        for (col, gen) in set {
            columns.push((col.clone(), Source::Set(gen.clone())));
        }
        // Foreign keys.
        for fk in rel
            .constraints
            .iter()
            .filter(|c| c.kind == ConstraintKind::ForeignKey)
        {
            if fk.columns.iter().all(|c| handled.contains(c)) {
                continue;
            }
            let nullable = fk
                .columns
                .iter()
                .any(|c| rel.column(c).is_some_and(|col| col.nullable));
            let parent_table = crate::probe::rows::referenced_key(fk).unwrap_or_default();
            if nullable {
                for c in &fk.columns {
                    handled.insert(c.clone());
                }
                continue;
            }
            if depth >= MAX_DEPTH || parent_table == table {
                return Err(format!(
                    "cannot build a row of {table}: its foreign key {} needs a row of {parent_table}, \
                     {}; set {} yourself",
                    fk.name,
                    if parent_table == table {
                        "the table itself".to_string()
                    } else {
                        format!("more than {MAX_DEPTH} tables deep")
                    },
                    fk.columns.join(", ")
                ));
            }
            let explicit_ref: BTreeSet<String> = fk.ref_columns.iter().cloned().collect();
            let parent = Self::build_at(
                ctx,
                &parent_table,
                &IndexMap::new(),
                &explicit_ref,
                depth + 1,
            )?;
            let index = parents.len();
            parents.push(parent);
            for (c, r) in fk.columns.iter().zip(&fk.ref_columns) {
                if handled.insert(c.clone()) {
                    columns.push((
                        c.clone(),
                        Source::Parent {
                            parent: index,
                            column: r.clone(),
                        },
                    ));
                }
            }
        }
        let mut explicit_key = Vec::new();
        for column in &rel.columns {
            let name = &column.name;
            if handled.contains(name) {
                if set.contains_key(name) && pk.contains(name) {
                    explicit_key.push(name.clone());
                }
                continue;
            }
            let ty = column.value_type();
            let needs_value = pk.contains(name) || unique.contains(name) || explicit.contains(name);
            let source = if fed.contains(&name.as_str()) {
                let max: i64 = if ty == "smallint" {
                    30_000
                } else {
                    1_000_000_000
                };
                Some(Source::Built(
                    (1..=max).prop_map(|n| lit(format!("(-{n})"))).boxed(),
                    None,
                ))
            } else if needs_value {
                unique_strategy(rel, name, ty, ctx.specs).map(|s| Source::Built(s, None))
            } else if let Some(v) = sample.get(name) {
                Some(Source::Built(
                    Just(lit(v.clone())).boxed(),
                    Some(lit(v.clone())),
                ))
            } else if !column.nullable && column.default.is_none() {
                let by_rule = spec.and_then(|s| {
                    s.spec
                        .checks
                        .values()
                        .find_map(|c| accepted_values(&c.rule, rel).filter(|(col, _)| col == name))
                });
                match (by_rule, plain_value(ty)) {
                    (Some((_, s)), _) => Some(Source::Built(s.prop_map(lit).boxed(), None)),
                    (None, Some(v)) => Some(Source::Built(Just(v.clone()).boxed(), Some(v))),
                    (None, None) => {
                        return Err(format!(
                            "cannot build a row of {table}: no value for the NOT NULL column \
                             {name} ({ty}); set it yourself or add a sample row"
                        ))
                    }
                }
            } else {
                None
            };
            if let Some(source) = source {
                if pk.contains(name) {
                    explicit_key.push(name.clone());
                }
                columns.push((name.clone(), source));
            }
        }
        Ok(RowTemplate {
            table: table.to_string(),
            columns,
            parents,
            overriding,
            explicit_key,
        })
    }

    /// A strategy for rows (shrinkable in the property's own generators).
    pub fn strategy(&self) -> BoxedStrategy<RowDraw> {
        let parents: Vec<BoxedStrategy<RowDraw>> =
            self.parents.iter().map(|p| p.strategy()).collect();
        let own: Vec<BoxedStrategy<Drawn>> = self
            .columns
            .iter()
            .map(|(_, s)| match s {
                Source::Set(g) => draw::strategy(g),
                Source::Built(st, _) => st.clone(),
                Source::Parent { .. } => Just(lit("NULL".into())).boxed(),
            })
            .collect();
        let names: Vec<(String, Option<(usize, String)>)> = self
            .columns
            .iter()
            .map(|(n, s)| match s {
                Source::Parent { parent, column } => (n.clone(), Some((*parent, column.clone()))),
                _ => (n.clone(), None),
            })
            .collect();
        let (table, overriding) = (self.table.clone(), self.overriding);
        (parents, own)
            .prop_map(move |(parents, own)| assemble(&table, overriding, &names, parents, own))
            .boxed()
    }

    /// A row whose property-set columns take their `k`-th edge values (others drawn).
    pub fn edge(&self, k: usize, runner: &mut TestRunner) -> RowDraw {
        let parents: Vec<RowDraw> = self.parents.iter().map(|p| p.edge(k, runner)).collect();
        let own: Vec<Drawn> = self
            .columns
            .iter()
            .map(|(_, s)| match s {
                Source::Set(g) => draw::edge_or_draw(g, k, runner),
                Source::Built(_, Some(e)) => e.clone(),
                Source::Built(st, None) => st
                    .new_tree(runner)
                    .map(|t| t.current())
                    .unwrap_or_else(|_| lit("NULL".into())),
                Source::Parent { .. } => lit("NULL".into()),
            })
            .collect();
        let names: Vec<(String, Option<(usize, String)>)> = self
            .columns
            .iter()
            .map(|(n, s)| match s {
                Source::Parent { parent, column } => (n.clone(), Some((*parent, column.clone()))),
                _ => (n.clone(), None),
            })
            .collect();
        assemble(&self.table, self.overriding, &names, parents, own)
    }

    /// Every table a row of this template inserts into.
    pub fn tables(&self) -> Vec<String> {
        let mut out = vec![self.table.clone()];
        for p in &self.parents {
            out.extend(p.tables());
        }
        out
    }
}

fn assemble(
    table: &str,
    overriding: bool,
    names: &[(String, Option<(usize, String)>)],
    parents: Vec<RowDraw>,
    own: Vec<Drawn>,
) -> RowDraw {
    let columns = names
        .iter()
        .zip(own)
        .map(|((name, from), value)| {
            let value = match from {
                Some((p, col)) => parents
                    .get(*p)
                    .and_then(|r| r.columns.iter().find(|(c, _)| c == col))
                    .map(|(_, v)| v.clone())
                    .unwrap_or(value),
                None => value,
            };
            (name.clone(), value)
        })
        .collect();
    RowDraw {
        table: table.to_string(),
        columns,
        overriding,
        parents,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_types_are_read_from_the_catalog_spelling() {
        assert_eq!(max_length("character varying(20)"), Some(20));
        assert_eq!(max_length("text"), None);
        assert!(is_text("character varying(255)"));
        assert_eq!(plain_value("uuid"), None);
        assert_eq!(plain_value("integer"), Some(lit("0".into())));
    }
}

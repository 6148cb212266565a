//! Constraint probes: for every CHECK with a structured rule, values on both sides of each
//! boundary plus random ones (proptest strategies, shrunk on failure), each inserted in its
//! own subtransaction. PostgreSQL's verdict must equal the rule's: a value the rule allows
//! must be accepted, a value it forbids must be rejected by *this* constraint (SQLSTATE
//! 23514 naming it). Rejections for other reasons (another constraint, a type's range) are
//! inconclusive and counted, never guessed at.

use std::collections::BTreeSet;

use proptest::prop_oneof;
use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use sqlx::PgConnection;

use super::batch::{self, Verdict};
use super::rows::{
    fresh_keys, referenced_tables, samples_of, unique_columns, Decollider, Row, TypedColumns,
};
use super::sequences::SequenceFed;
use super::session::{blocking_state, tables_lacking};
use super::{probe_finding, rng_for, table_here, table_sql, ProbeConfig};
use crate::catalog::{relation_key, Column, Relation, Schema, TypeDef};
use crate::error::{Error, Result};

use crate::spec::{number, rule_sql, LoadedSpec, Rule, SpecSet};
use crate::sql::quote_ident;
use crate::verify::{Finding, Status};

/// One value to try: the columns it sets (SQL expressions) and how to show it.
#[derive(Debug, Clone)]
struct Case {
    overrides: Vec<(String, String)>,
    shown: String,
}

/// A random case generator with shrinking: the proptest value tree and how to turn its
/// current value into a case.
type CaseTree = Box<dyn ValueTree<Value = Case>>;

/// Probe every structured CHECK rule of the specs in `part` (indexes into `specs.specs`;
/// see [`super::ConstraintPart`]). A table the role may not insert into has its rules
/// skipped with the reason, before any case runs.
pub async fn probe_checks(
    conn: &mut PgConnection,
    specs: &SpecSet,
    part: std::ops::Range<usize>,
    schema: &Schema,
    config: &ProbeConfig,
    fed: &SequenceFed,
) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    let kept = referenced_tables(schema);
    let specs_here = specs.specs.get(part).unwrap_or_default();
    let with_checks: Vec<(&str, &str)> = specs_here
        .iter()
        .filter(|l| !l.spec.checks.is_empty())
        .map(|l| (l.spec.schema.as_str(), l.spec.table.as_str()))
        .collect();
    let lacking = tables_lacking(conn, "INSERT", &with_checks).await?;
    let together = batch::together_tables(conn, &with_checks).await?;
    for loaded in specs_here {
        if loaded.spec.checks.is_empty() {
            continue;
        }
        let rel = match table_here(schema, loaded) {
            Ok(rel) => rel,
            Err(reason) => {
                out.extend(
                    loaded
                        .spec
                        .checks
                        .keys()
                        .map(|name| check_finding(loaded, name, Status::Skip, reason.clone())),
                );
                continue;
            }
        };
        let key = relation_key(&rel.schema, &rel.name);
        if let Some(blocked) = lacking.get(&key) {
            out.extend(
                loaded
                    .spec
                    .checks
                    .keys()
                    .map(|name| check_finding(loaded, name, Status::Skip, blocked.0.clone())),
            );
            continue;
        }
        let unique = unique_columns(rel);
        // The sample rows of a table others reference are in it while its rules run.
        let fresh = if kept.contains(&key) {
            let samples = samples_of(loaded);
            fresh_keys(conn, rel, &unique, &samples, fed).await?
        } else {
            Row::new()
        };
        let typed = TypedColumns::of(rel);
        for (name, check) in &loaded.spec.checks {
            if !check.enforced {
                // Declared NOT ENFORCED: PostgreSQL refuses no row by it, so there is no
                // behaviour to probe (`check.enforcement` compares the declaration).
                out.push(check_finding(
                    loaded,
                    name,
                    Status::Skip,
                    "the spec declares the CHECK NOT ENFORCED (`enforced: false`): PostgreSQL refuses no row by it, so its rule is not probed".into(),
                ));
                continue;
            }
            let target = Target {
                loaded,
                rel,
                fed,
                fresh: &fresh,
                unique: &unique,
                typed: &typed,
                together: together.get(&key).map(Vec::as_slice),
                key: &key,
                constraint: name,
                types: &schema.types,
            };
            out.push(probe_one(conn, &target, &check.rule, config).await?);
        }
    }
    Ok(out)
}

/// What a rule is probed on: its spec, the table as introspected, the columns whose
/// values must not come from a sequence, the key values that keep a case clear of the
/// table's kept sample rows ([`fresh_keys`]), the table's unique columns
/// ([`unique_columns`], for [`Decollider`]), its columns quoted and typed, whether the
/// table may take cases together and which columns those must leave out
/// ([`batch::together_tables`]), and the name of the CHECK constraint that must enforce it.
struct Target<'a> {
    loaded: &'a LoadedSpec,
    rel: &'a Relation,
    fed: &'a SequenceFed,
    fresh: &'a Row,
    unique: &'a BTreeSet<String>,
    typed: &'a TypedColumns,
    together: Option<&'a [String]>,
    /// The table's relation key (`app.t`), which the sequence-fed columns are kept by.
    key: &'a str,
    constraint: &'a str,
    /// The enums, domains and composite types of the schemas read.
    types: &'a [TypeDef],
}

/// A `probe.check` finding for rule `name` of `loaded`.
fn check_finding(loaded: &LoadedSpec, name: &str, status: Status, message: String) -> Finding {
    // As the structural findings name it: bare in the default schema, else `schema.table`.
    let table = &relation_key(&loaded.spec.schema, &loaded.spec.table);
    let mut f = probe_finding(
        "probe.check",
        table,
        format!("{table}.{name}"),
        status,
        message,
    );
    f.location = Some(loaded.location(&["checks", name, "rule"]));
    f.requirements = loaded.spec.requirements.clone();
    f
}

async fn probe_one(
    conn: &mut PgConnection,
    target: &Target<'_>,
    rule: &Rule,
    config: &ProbeConfig,
) -> Result<Finding> {
    let (loaded, rel, name) = (target.loaded, target.rel, target.constraint);
    let table = &loaded.spec.table;
    let finding = |status: Status, message: String| check_finding(loaded, name, status, message);
    let Some(domain) = Domain::for_rule(conn, rule, rel, target.types).await? else {
        return Ok(finding(
            Status::Skip,
            "no value generator for this rule kind (implies / sql); its behaviour is covered by the function properties and the structural check".into(),
        ));
    };
    let samples = samples_of(loaded);
    if samples.is_empty() {
        return Ok(finding(
            Status::Skip,
            "the spec has no sample row to vary; add one under `samples`".into(),
        ));
    }
    let sql_rule = rule_sql(rule, &loaded.spec);
    let keep: Vec<&str> = domain.columns();

    // Boundary cases, run against every sample (below).
    let mut boundary = domain.boundary_cases();
    // The samples' own values of the varied column(s) are known-good cases too.
    for sample in &samples {
        let overrides: Vec<(String, String)> = keep
            .iter()
            .filter_map(|c| sample.get(*c).map(|e| (c.to_string(), e.clone())))
            .collect();
        if !overrides.is_empty() {
            let shown = overrides
                .iter()
                .map(|(c, e)| format!("{c} = {e}"))
                .collect::<Vec<_>>()
                .join(", ");
            boundary.push(Case { overrides, shown });
        }
    }
    // Random cases from proptest, kept as value trees so a disagreement can be shrunk.
    // They depend on the seed alone, never on what PostgreSQL said, so they are drawn
    // before any case runs.
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        rng_for(config.seed, &format!("check:{table}.{name}")),
    );
    // One strategy for all the draws: building it (a regex rule compiles its pattern)
    // draws nothing, so the cases are the same as with one per draw.
    let strategy = domain.strategy();
    let mut trees: Vec<CaseTree> = Vec::new();
    for _ in 0..config.cases {
        match strategy.new_tree(&mut runner) {
            Ok(t) => trees.push(t),
            Err(_) => break,
        }
    }
    let random: Vec<Case> = trees.iter().map(|t| t.current()).collect();

    let (sample, mut results, random_verdicts) = if let [only] = samples.as_slice() {
        // One sample: its boundary and random cases go in one batch.
        let mut groups =
            run_groups(conn, target, only, &[&boundary, &random], &sql_rule, &keep).await?;
        let random_verdicts = groups.pop().unwrap_or_default();
        (only, groups.pop().unwrap_or_default(), random_verdicts)
    } else {
        // The boundary cases against every sample; the sample that gives the most
        // conclusive verdicts is the one the random cases vary.
        let mut best: Option<(usize, Vec<(Case, Verdict)>)> = None;
        for (si, sample) in samples.iter().enumerate() {
            let verdicts = run_cases(conn, target, sample, &boundary, &sql_rule, &keep).await?;
            let decided = verdicts
                .iter()
                .filter(|(_, v)| conclusive(v, name).is_some())
                .count();
            if best.as_ref().is_none_or(|(_, b)| {
                decided
                    > b.iter()
                        .filter(|(_, v)| conclusive(v, name).is_some())
                        .count()
            }) {
                best = Some((si, verdicts));
            }
        }
        let (si, results) = best.expect("at least one sample");
        let sample = &samples[si];
        let random_verdicts = run_cases(conn, target, sample, &random, &sql_rule, &keep).await?;
        (sample, results, random_verdicts)
    };

    let mut disagreement: Option<(Case, Verdict)> =
        results.iter().find(|(_, v)| disagrees(v, name)).cloned();
    if disagreement.is_none() {
        if let Some(idx) = random_verdicts.iter().position(|(_, v)| disagrees(v, name)) {
            let found = random_verdicts[idx].clone();
            let shrunk = shrink(
                conn,
                target,
                sample,
                found,
                trees.swap_remove(idx),
                &sql_rule,
                &keep,
            )
            .await?;
            disagreement = Some(shrunk);
        }
    }
    results.extend(random_verdicts);
    let total = results.len();
    let accepted = results
        .iter()
        .filter(|(_, v)| conclusive(v, name) == Some(true))
        .count();
    let rejected = results
        .iter()
        .filter(|(_, v)| conclusive(v, name) == Some(false))
        .count();
    let inconclusive = total - accepted - rejected;

    if let Some((case, verdict)) = disagreement {
        let summary = domain.summary();
        let (actual, direction) = if verdict.accepted() {
            (
                "accepted".to_string(),
                format!("rule says {summary}, so it must be rejected"),
            )
        } else {
            (
                format!("rejected (SQLSTATE {})", verdict.state),
                format!("rule says {summary}, so it must be accepted"),
            )
        };
        let mut f = finding(
            Status::Fail,
            format!("{table}.{} {actual}; {direction}", case.shown),
        );
        f.expected = Some(if verdict.accepted() {
            "rejected".into()
        } else {
            "accepted".into()
        });
        f.actual = Some(compact_str::format_compact!("{actual} for {}", case.shown));
        f.hint = Some(format!(
            "the constraint `{name}` does not enforce the spec's rule; replay with --seed {}",
            config.seed
        ));
        return Ok(f);
    }
    if accepted == 0 || rejected == 0 {
        // Without both an accepted and a rejected value the boundary was not observed.
        let blockers: BTreeSet<String> = results
            .iter()
            .filter(|(_, v)| conclusive(v, name).is_none())
            .map(|(_, v)| blocker(v, name))
            .collect();
        let missing = if accepted == 0 {
            "accepted"
        } else {
            "rejected"
        };
        if accepted + rejected == 0
            && results
                .iter()
                .all(|(_, v)| blocking_state(&v.state).is_some())
        {
            return Ok(finding(
                Status::Skip,
                format!(
                    "not run: every one of {total} cases was refused for a reason that is not about the rule: {}",
                    blockers.into_iter().collect::<Vec<_>>().join("; ")
                ),
            ));
        }
        return Ok(finding(
            Status::Skip,
            format!(
                "no value was {missing} on this rule's account in {total} cases, so its boundary is unobserved; {inconclusive} cases were decided by something else: {}",
                blockers.into_iter().collect::<Vec<_>>().join("; ")
            ),
        ));
    }
    Ok(finding(
        Status::Pass,
        format!(
            "{total} cases agree with the rule ({accepted} accepted, {rejected} rejected by {name}, {inconclusive} inconclusive)"
        ),
    ))
}

/// Why a case was inconclusive, for skip messages.
fn blocker(v: &Verdict, name: &str) -> String {
    if let Some(why) = blocking_state(&v.state) {
        return format!("SQLSTATE {} ({why})", v.state);
    }
    if classify(v, name).is_some() {
        return "the spec's rule could not be evaluated on the case's values".into();
    }
    match (v.state.as_str(), &v.constraint) {
        (batch::OVERRIDDEN, _) => "a trigger replaced the varied value (a derived column)".into(),
        (_, Some(c)) => format!("constraint {c} (SQLSTATE {})", v.state),
        (state, None) => format!("SQLSTATE {state}"),
    }
}

/// `Some(true)` accepted, `Some(false)` rejected by this constraint, `None` inconclusive.
fn classify(v: &Verdict, name: &str) -> Option<bool> {
    if v.accepted() {
        Some(true)
    } else if v.state == "23514" && v.constraint.as_deref() == Some(name) {
        Some(false)
    } else {
        None
    }
}

/// [`classify`] of a case whose rule verdict is known. A case the database decided but
/// the spec's rule could not be evaluated on (`rule_holds` unknown: the query that asks
/// the rule failed) shows nothing about whether the two agree: it is inconclusive, and
/// never counted as agreeing.
fn conclusive(v: &Verdict, name: &str) -> Option<bool> {
    v.rule_holds.and(classify(v, name))
}

fn disagrees(v: &Verdict, name: &str) -> bool {
    match (classify(v, name), v.rule_holds) {
        (Some(actual), Some(expected)) => actual != expected,
        _ => false,
    }
}

async fn run_cases(
    conn: &mut PgConnection,
    target: &Target<'_>,
    sample: &Row,
    cases: &[Case],
    sql_rule: &str,
    keep: &[&str],
) -> Result<Vec<(Case, Verdict)>> {
    let mut groups = run_groups(conn, target, sample, &[cases], sql_rule, keep).await?;
    Ok(groups.pop().unwrap_or_default())
}

/// Several groups of cases on one sample, in one batch. Each group's cases are numbered
/// from 0, as if the group ran alone, so a case gets the same row (and verdict) either way.
async fn run_groups(
    conn: &mut PgConnection,
    target: &Target<'_>,
    sample: &Row,
    groups: &[&[Case]],
    sql_rule: &str,
    keep: &[&str],
) -> Result<Vec<Vec<(Case, Verdict)>>> {
    let rel = target.rel;
    // Explicit sequence values stay clear of the kept sample rows' values. Each case of a
    // group gets its own, and its own fresh key (one past the table's highest, plus its
    // number), so that the cases of a group may be inserted together.
    const CASE_SEQUENCE_VALUE: u32 = 1_000;
    let mut overriding = false;
    let numbered: Vec<(usize, usize, &Case)> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, cases)| cases.iter().enumerate().map(move |(i, c)| (g, i, c)))
        .collect();
    let decollider = Decollider::new(rel, target.unique, sample, keep);
    // Room for the columns a case may add: its varied ones, fresh keys, sequence values.
    let room = keep.len() + target.fresh.len() + target.fed.columns(target.key).len();
    let rows: Vec<Row> = numbered
        .iter()
        .map(|&(_, i, c)| {
            let mut row = decollider.row_with_room(i, room);
            for (col, value) in target.fresh {
                if !keep.contains(&col.as_str()) && row.contains_key(col) {
                    row.insert(col.clone(), format!("{value}::numeric + {i}"));
                }
            }
            for (col, expr) in &c.overrides {
                row.insert(col.clone(), expr.clone());
            }
            let sequence_value = CASE_SEQUENCE_VALUE.saturating_add(i as u32);
            overriding |= target.fed.fill(target.key, &mut row, sequence_value);
            row
        })
        .collect();
    let case_rows: Vec<batch::CaseRow> = numbered
        .iter()
        .zip(&rows)
        .map(|(&(group, _, c), row)| batch::CaseRow {
            values: row
                .iter()
                .map(|(col, expr)| {
                    let (quoted, ty) = target.typed.get(col);
                    (quoted, ty, expr.clone())
                })
                .collect(),
            // Every varied column is in the row: the loop above put it there.
            kept: c
                .overrides
                .iter()
                .filter_map(|(col, _)| row.get_index_of(col))
                .collect(),
            group,
        })
        .collect();
    let table = table_sql(&rel.schema, &rel.name);
    let alias = quote_ident(&rel.name);
    let together = target.together.map(|left_out| batch::Together {
        rule_columns: keep.iter().map(|c| quote_ident(c)).collect(),
        left_out: left_out.iter().map(|c| quote_ident(c)).collect(),
    });
    let insert = batch::Insert {
        table: &table,
        alias: &alias,
        overriding,
        rule: sql_rule,
        together: together.as_ref(),
    };
    let mut verdicts = batch::run(conn, &insert, &case_rows).await?;
    // The rule's verdict on each row as sent, for the cases this rule's own constraint
    // rejected: one set-based query instead of one statement per case. Any other outcome
    // is inconclusive whatever the rule says (see `classify`), so it is not asked; those
    // rows may not even be evaluable (a value out of its type's range).
    let rejected: Vec<usize> = verdicts
        .iter()
        .enumerate()
        .filter(|(_, v)| classify(v, target.constraint) == Some(false))
        .map(|(i, _)| i)
        .collect();
    if !rejected.is_empty() {
        let picked: Vec<&Row> = rejected.iter().map(|i| &rows[*i]).collect();
        let holds = rule_verdicts(conn, rel, &picked, sql_rule, keep).await?;
        for (i, h) in rejected.into_iter().zip(holds) {
            verdicts[i].rule_holds = h;
        }
    }
    let mut verdicts = verdicts.into_iter();
    Ok(groups
        .iter()
        .map(|g| {
            g.iter()
                .cloned()
                .zip(verdicts.by_ref().take(g.len()))
                .collect()
        })
        .collect())
}

/// `rule IS NOT FALSE` for each row (only the rule's columns), in order, in one query.
async fn rule_verdicts(
    conn: &mut PgConnection,
    rel: &Relation,
    rows: &[&Row],
    sql_rule: &str,
    keep: &[&str],
) -> Result<Vec<Option<bool>>> {
    let cols: Vec<&crate::catalog::Column> = rel
        .columns
        .iter()
        .filter(|c| keep.contains(&c.name.as_str()))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(1000) {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let mut v = vec![i.to_string()];
                for c in &cols {
                    match row.get(&c.name) {
                        Some(expr) => v.push(format!("({expr})::{}", c.type_sql())),
                        None => v.push(format!("NULL::{}", c.type_sql())),
                    }
                }
                format!("({})", v.join(", "))
            })
            .collect();
        let names: Vec<String> = std::iter::once("reims_verify_case".to_string())
            .chain(cols.iter().map(|c| quote_ident(&c.name)))
            .collect();
        let sql = format!(
            "SELECT array_agg(({sql_rule}) IS NOT FALSE ORDER BY reims_verify_case) \
               FROM (VALUES {}) AS {}({})",
            values.join(", "),
            quote_ident(&rel.name),
            names.join(", ")
        );
        match batch::rule_holds(conn, &sql).await? {
            Some(v) => out.extend(v.into_iter().map(Some)),
            None if chunk.len() == 1 => out.push(None),
            // Some value cannot even be evaluated (e.g. out of its type's range): ask row
            // by row, so that only that row is unknown.
            None => {
                for row in chunk {
                    let one = Box::pin(rule_verdicts(conn, rel, &[*row], sql_rule, keep)).await?;
                    out.extend(one);
                }
            }
        }
    }
    Ok(out)
}

async fn eval_one(
    conn: &mut PgConnection,
    target: &Target<'_>,
    sample: &Row,
    case: Case,
    sql_rule: &str,
    keep: &[&str],
) -> Result<(Case, Verdict)> {
    let mut r = run_cases(
        conn,
        target,
        sample,
        std::slice::from_ref(&case),
        sql_rule,
        keep,
    )
    .await?;
    Ok(r.remove(0))
}

/// Shrink a disagreeing random case, `found` as it was run from `tree`, to a minimal one
/// (one round trip per step); each simpler case replaces it only when it disagrees too.
async fn shrink(
    conn: &mut PgConnection,
    target: &Target<'_>,
    sample: &Row,
    found: (Case, Verdict),
    mut tree: CaseTree,
    sql_rule: &str,
    keep: &[&str],
) -> Result<(Case, Verdict)> {
    let name = target.constraint;
    // Start from the disagreement as it was seen, not from the case run again: where the
    // verdict depends on more than the row (a trigger that draws from a sequence, a
    // volatile function), the second run may agree with the rule, and the finding must
    // show a case that disagreed.
    let mut best = found;
    for _ in 0..200 {
        if !tree.simplify() {
            break;
        }
        let candidate = eval_one(conn, target, sample, tree.current(), sql_rule, keep).await?;
        if disagrees(&candidate.1, name) {
            best = candidate;
        } else if !tree.complicate() {
            break;
        }
    }
    Ok(best)
}

/// What values a rule's column(s) range over, and how to generate them.
enum Domain {
    /// A numeric range on one column, in units of `10^-scale`.
    Range {
        column: String,
        scale: u32,
        bounds: Vec<(i128, &'static str)>,
        lo: i128,
        hi: i128,
        summary: String,
    },
    /// A fixed list of strings. `labels` are every label of the column's type when it is
    /// an enum (else empty): only a label reaches the CHECK, since the enum's own input
    /// refuses any other text first (22P02), so the labels the list leaves out are the
    /// values the CHECK must be seen to refuse.
    OneOf {
        column: String,
        values: Vec<String>,
        labels: Vec<String>,
    },
    /// A regular expression; the sample's value is the seed of the mutations.
    Regex { column: String, pattern: String },
    /// Not in the future (date or timestamp).
    NotFuture {
        column: String,
        date: bool,
        buffer: Option<String>,
    },
    /// `left op right` between two columns.
    Compare {
        left: String,
        right: String,
        op: &'static str,
        time: bool,
        scale: u32,
    },
    /// Not blank after trimming.
    NotBlank { column: String },
}

fn scale_of(type_name: &str) -> u32 {
    let t = type_name.to_ascii_lowercase();
    if t.starts_with("numeric(") {
        t.trim_end_matches(')')
            .split(',')
            .nth(1)
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    } else if t.starts_with("numeric") || t.starts_with("real") || t.starts_with("double") {
        2
    } else {
        0
    }
}

fn units_to_sql(units: i128, scale: u32) -> String {
    if scale == 0 {
        return units.to_string();
    }
    let div = 10i128.pow(scale);
    let sign = if units < 0 { "-" } else { "" };
    let a = units.abs();
    format!(
        "{sign}{}.{:0width$}",
        a / div,
        a % div,
        width = scale as usize
    )
}

fn to_units(v: f64, scale: u32) -> i128 {
    (v * 10f64.powi(scale as i32)).round() as i128
}

impl Domain {
    async fn for_rule(
        conn: &mut PgConnection,
        rule: &Rule,
        rel: &Relation,
        types: &[TypeDef],
    ) -> Result<Option<Domain>> {
        let ty = |c: &str| {
            rel.column(c)
                .map(|c| c.value_type().to_string())
                .unwrap_or_default()
        };
        Ok(Some(match rule {
            Rule::Range(r) => {
                let scale = scale_of(&ty(&r.column));
                let mut bounds = Vec::new();
                let mut parts = Vec::new();
                if let Some(v) = r.gt {
                    bounds.push((to_units(v, scale), ">"));
                    parts.push(format!("> {}", number(v)));
                }
                if let Some(v) = r.gte {
                    bounds.push((to_units(v, scale), ">="));
                    parts.push(format!("≥ {}", number(v)));
                }
                if let Some(v) = r.lt {
                    bounds.push((to_units(v, scale), "<"));
                    parts.push(format!("< {}", number(v)));
                }
                if let Some(v) = r.lte {
                    bounds.push((to_units(v, scale), "<="));
                    parts.push(format!("≤ {}", number(v)));
                }
                if let Some(sql) = &r.lte_sql {
                    let v: Option<String> =
                        sqlx::query_scalar(&format!("SELECT ({sql})::numeric::text"))
                            .fetch_one(&mut *conn)
                            .await
                            .map_err(|e| {
                                Error::database(format!("evaluating the bound `{sql}`"), &e)
                            })?;
                    let v: f64 = v.and_then(|s| s.parse().ok()).unwrap_or(0.0);
                    bounds.push((to_units(v, scale), "<="));
                    parts.push(format!("≤ {sql} (= {})", number(v)));
                }
                let lo_b = bounds.iter().map(|b| b.0).min().unwrap_or(0);
                let hi_b = bounds.iter().map(|b| b.0).max().unwrap_or(0);
                let span = ((hi_b - lo_b).abs()).max(10i128.pow(scale) * 10);
                Domain::Range {
                    column: r.column.clone(),
                    scale,
                    bounds,
                    lo: lo_b - span,
                    hi: hi_b + span,
                    summary: format!("{} {}", r.column, parts.join(" and ")),
                }
            }
            Rule::OneOf(r) => Domain::OneOf {
                column: r.column.clone(),
                values: r.values.clone(),
                labels: rel
                    .column(&r.column)
                    .map(|c| enum_labels(c, types))
                    .unwrap_or_default(),
            },
            Rule::Regex(r) => Domain::Regex {
                column: r.column.clone(),
                pattern: r.pattern.clone(),
            },
            Rule::NotFuture(r) => Domain::NotFuture {
                column: r.column.clone(),
                date: ty(&r.column) == "date",
                buffer: r.buffer.clone(),
            },
            Rule::Compare(r) => {
                let t = ty(&r.left);
                Domain::Compare {
                    left: r.left.clone(),
                    right: r.right.clone(),
                    op: r.op.sql(),
                    time: t.contains("timestamp") || t == "date",
                    scale: scale_of(&t),
                }
            }
            Rule::NotBlank(r) => Domain::NotBlank {
                column: r.column.clone(),
            },
            Rule::Implies(_) | Rule::Sql(_) => return Ok(None),
        }))
    }

    fn columns(&self) -> Vec<&str> {
        match self {
            Domain::Range { column, .. }
            | Domain::OneOf { column, .. }
            | Domain::Regex { column, .. }
            | Domain::NotFuture { column, .. }
            | Domain::NotBlank { column } => vec![column.as_str()],
            Domain::Compare { left, right, .. } => vec![left.as_str(), right.as_str()],
        }
    }

    fn summary(&self) -> String {
        match self {
            Domain::Range { summary, .. } => summary.clone(),
            Domain::OneOf { column, values, .. } => {
                format!("{column} is one of {}", values.join(", "))
            }
            Domain::Regex {
                column, pattern, ..
            } => format!("{column} matches /{pattern}/"),
            Domain::NotFuture { column, buffer, .. } => match buffer {
                Some(b) => format!("{column} is not later than now + {b}"),
                None => format!("{column} is not in the future"),
            },
            Domain::Compare {
                left, right, op, ..
            } => format!("{left} {op} {right}"),
            Domain::NotBlank { column } => format!("{column} is not blank"),
        }
    }

    fn boundary_cases(&self) -> Vec<Case> {
        match self {
            Domain::Range {
                column,
                scale,
                bounds,
                ..
            } => {
                let mut units: Vec<i128> = Vec::new();
                for (b, _) in bounds {
                    units.extend([b - 1, *b, b + 1]);
                }
                units.sort();
                units.dedup();
                units
                    .into_iter()
                    .map(|u| {
                        one(
                            column,
                            &units_to_sql(u, *scale),
                            quote(&units_to_sql(u, *scale)),
                        )
                    })
                    .collect()
            }
            Domain::OneOf {
                column,
                values,
                labels,
            } if !labels.is_empty() => {
                // Every label, and the list's values that are none (refused by the type).
                labels
                    .iter()
                    .chain(values.iter().filter(|v| !labels.contains(v)))
                    .map(|v| text_case(column, v))
                    .collect()
            }
            Domain::OneOf { column, values, .. } => {
                let mut out = Vec::new();
                for v in values {
                    out.push(text_case(column, v));
                    out.push(text_case(column, &format!("{v}x")));
                    out.push(text_case(column, &v.to_uppercase()));
                    out.push(text_case(column, &format!(" {v}")));
                }
                out.push(text_case(column, ""));
                out
            }
            Domain::Regex { column, .. } => [
                "",
                " ",
                "a",
                "a@b",
                "a@b.c",
                "a@b.co",
                "@",
                "a@@b.com",
                "a b@c.com",
                "user@example.com",
                "USER@EXAMPLE.COM",
                "user.name+tag@sub.example.org",
                "no-at-sign.com",
                "user@localhost",
                "$2b$12$",
                "abc",
                "ab",
                "a_b-c",
                "+1 555 0100",
                "555-0100",
            ]
            .iter()
            .map(|s| text_case(column, s))
            .collect(),
            Domain::NotFuture {
                column,
                date,
                buffer,
            } => {
                let base = if *date {
                    "CURRENT_DATE"
                } else {
                    "CURRENT_TIMESTAMP"
                };
                let step = if *date { "1 day" } else { "1 second" };
                let mut exprs = vec![
                    base.to_string(),
                    format!("{base} - INTERVAL '{step}'"),
                    format!("{base} + INTERVAL '{step}'"),
                    format!("{base} + INTERVAL '1 day'"),
                    format!("{base} - INTERVAL '365 days'"),
                ];
                if let Some(b) = buffer {
                    exprs.push(format!("{base} + INTERVAL '{b}'"));
                    exprs.push(format!("{base} + INTERVAL '{b}' + INTERVAL '1 second'"));
                    exprs.push(format!("{base} + INTERVAL '{b}' - INTERVAL '1 second'"));
                }
                exprs
                    .into_iter()
                    .map(|e| Case {
                        overrides: vec![(column.clone(), e.clone())],
                        shown: format!("{column} = {e}"),
                    })
                    .collect()
            }
            Domain::Compare {
                left,
                right,
                time,
                scale,
                ..
            } => {
                let deltas: [i128; 3] = [-1, 0, 1];
                deltas
                    .iter()
                    .map(|d| compare_case(left, right, *time, *scale, *d))
                    .collect()
            }
            Domain::NotBlank { column } => ["", " ", "   ", "\t", "a", " a ", "x y"]
                .iter()
                .map(|s| text_case(column, s))
                .collect(),
        }
    }

    fn strategy(&self) -> proptest::strategy::BoxedStrategy<Case> {
        match self {
            Domain::Range {
                column,
                scale,
                lo,
                hi,
                ..
            } => {
                let (column, scale) = (column.clone(), *scale);
                (*lo..=*hi)
                    .prop_map(move |u| {
                        let v = units_to_sql(u, scale);
                        one(&column, &v, quote(&v))
                    })
                    .boxed()
            }
            Domain::OneOf { column, labels, .. } if !labels.is_empty() => {
                let column = column.clone();
                proptest::sample::select(labels.clone())
                    .prop_map(move |s| text_case(&column, &s))
                    .boxed()
            }
            Domain::OneOf { column, values, .. } => {
                let column = column.clone();
                let vals = values.clone();
                prop_oneof![
                    proptest::sample::select(vals),
                    proptest::string::string_regex("[a-zA-Z_ ]{0,12}").expect("valid regex"),
                ]
                .prop_map(move |s| text_case(&column, &s))
                .boxed()
            }
            Domain::Regex {
                column, pattern, ..
            } => {
                let column = column.clone();
                // proptest generates from the pattern's body; anchors are implied.
                let body = pattern.strip_prefix('^').unwrap_or(pattern);
                let body = body.strip_suffix('$').unwrap_or(body);
                let generated = proptest::string::string_regex(body).ok();
                let noise = proptest::string::string_regex("[a-zA-Z0-9@._%+$ -]{0,24}")
                    .expect("valid regex");
                match generated {
                    Some(g) => prop_oneof![g, noise]
                        .prop_map(move |s| text_case(&column, &s))
                        .boxed(),
                    None => noise.prop_map(move |s| text_case(&column, &s)).boxed(),
                }
            }
            Domain::NotFuture { column, date, .. } => {
                let (column, date) = (column.clone(), *date);
                (-100_000i64..=100_000)
                    .prop_map(move |n| {
                        let e = if date {
                            format!("CURRENT_DATE + {}", n / 100)
                        } else {
                            format!("CURRENT_TIMESTAMP + INTERVAL '{n} seconds'")
                        };
                        Case {
                            overrides: vec![(column.clone(), e.clone())],
                            shown: format!("{column} = {e}"),
                        }
                    })
                    .boxed()
            }
            Domain::Compare {
                left,
                right,
                time,
                scale,
                ..
            } => {
                let (l, r, t, s) = (left.clone(), right.clone(), *time, *scale);
                (-100_000i128..=100_000)
                    .prop_map(move |d| compare_case(&l, &r, t, s, d))
                    .boxed()
            }
            Domain::NotBlank { column } => {
                let column = column.clone();
                proptest::string::string_regex("[ \\ta-z]{0,6}")
                    .expect("valid regex")
                    .prop_map(move |s| text_case(&column, &s))
                    .boxed()
            }
        }
    }
}

/// Values that a structured rule accepts, as SQL literals, with the column they go in: the
/// constraint probes' generators kept on the accepted side, so that property engines can
/// build valid rows. `None` for rules without a value generator (`compare`, `implies`,
/// `sql`) or an `lte_sql` bound.
pub fn accepted_values(rule: &Rule, rel: &Relation) -> Option<(String, BoxedStrategy<String>)> {
    let ty = |c: &str| {
        rel.column(c)
            .map(|c| c.type_name.clone())
            .unwrap_or_default()
    };
    match rule {
        Rule::Range(r) => {
            if r.lte_sql.is_some() {
                return None;
            }
            let scale = scale_of(&ty(&r.column));
            let lo = r
                .gte
                .map(|v| to_units(v, scale))
                .or(r.gt.map(|v| to_units(v, scale) + 1));
            let hi = r
                .lte
                .map(|v| to_units(v, scale))
                .or(r.lt.map(|v| to_units(v, scale) - 1));
            let span = 10i128.pow(scale) * 1_000;
            let (lo, hi) = match (lo, hi) {
                (Some(l), Some(h)) => (l, h),
                (Some(l), None) => (l, l + span),
                (None, Some(h)) => (h - span, h),
                (None, None) => return None,
            };
            if lo > hi {
                return None;
            }
            Some((
                r.column.clone(),
                (lo..=hi)
                    .prop_map(move |u| quote(&units_to_sql(u, scale)))
                    .boxed(),
            ))
        }
        Rule::OneOf(r) => Some((
            r.column.clone(),
            proptest::sample::select(r.values.clone())
                .prop_map(|v| quote(&v))
                .boxed(),
        )),
        Rule::Regex(r) => {
            let body = r.pattern.strip_prefix('^').unwrap_or(&r.pattern);
            let body = body.strip_suffix('$').unwrap_or(body);
            let strategy = proptest::string::string_regex(body).ok()?;
            Some((r.column.clone(), strategy.prop_map(|s| quote(&s)).boxed()))
        }
        Rule::NotFuture(r) => {
            let date = ty(&r.column) == "date";
            Some((
                r.column.clone(),
                (0i64..=3_650)
                    .prop_map(move |days| {
                        if date {
                            format!("CURRENT_DATE - {days}")
                        } else {
                            format!("CURRENT_TIMESTAMP - INTERVAL '{days} days'")
                        }
                    })
                    .boxed(),
            ))
        }
        Rule::NotBlank(r) => Some((
            r.column.clone(),
            proptest::string::string_regex("[a-z]{1,12}")
                .expect("valid regex")
                .prop_map(|s| quote(&s))
                .boxed(),
        )),
        Rule::Compare(_) | Rule::Implies(_) | Rule::Sql(_) => None,
    }
}

fn quote(v: &str) -> String {
    crate::sql::quote_literal(v)
}

fn one(column: &str, shown_value: &str, expr: String) -> Case {
    Case {
        overrides: vec![(column.to_string(), expr)],
        shown: format!("{column} = {shown_value}"),
    }
}

/// The labels of `column`'s type when it is an enum of `types` (or a domain over one), in
/// their order; empty for any other type. The type is named as the catalog read prints it
/// (`mood` in `public`, `app.mood` elsewhere).
fn enum_labels(column: &Column, types: &[TypeDef]) -> Vec<String> {
    let (schema, name) =
        crate::catalog::parse_qualified(column.value_type(), crate::spec::model::DEFAULT_SCHEMA);
    types
        .iter()
        .find(|t| t.kind == 'e' && t.schema == schema && t.name == name)
        .map(|t| t.labels.clone())
        .unwrap_or_default()
}

fn text_case(column: &str, s: &str) -> Case {
    Case {
        overrides: vec![(column.to_string(), quote(s))],
        shown: format!("{column} = {s:?}"),
    }
}

/// `left = right + delta` (delta in seconds for times, in units of the scale otherwise),
/// with `right` fixed.
fn compare_case(left: &str, right: &str, time: bool, scale: u32, delta: i128) -> Case {
    if time {
        let base = "'2025-01-01 00:00:00+00'";
        Case {
            overrides: vec![
                (right.to_string(), base.to_string()),
                (
                    left.to_string(),
                    format!("{base}::timestamptz + INTERVAL '{delta} seconds'"),
                ),
            ],
            shown: format!(
                "{left} = {right} {} {} s",
                if delta < 0 { "-" } else { "+" },
                delta.abs()
            ),
        }
    } else {
        let base_units = 100 * 10i128.pow(scale);
        let l = units_to_sql(base_units + delta, scale);
        let r = units_to_sql(base_units, scale);
        Case {
            overrides: vec![
                (right.to_string(), quote(&r)),
                (left.to_string(), quote(&l)),
            ],
            shown: format!("{left} = {l}, {right} = {r}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_print_at_the_column_scale() {
        assert_eq!(units_to_sql(10001, 2), "100.01");
        assert_eq!(units_to_sql(-5, 2), "-0.05");
        assert_eq!(units_to_sql(42, 0), "42");
        assert_eq!(to_units(0.7, 2), 70);
    }

    #[test]
    fn scale_comes_from_the_type() {
        assert_eq!(scale_of("numeric(5,2)"), 2);
        assert_eq!(scale_of("numeric(12,4)"), 4);
        assert_eq!(scale_of("integer"), 0);
        assert_eq!(scale_of("numeric"), 2);
    }

    #[test]
    fn classification_needs_this_constraint() {
        let v = |s: &str, c: Option<&str>| Verdict {
            state: s.into(),
            constraint: c.map(Into::into),
            rule_holds: Some(true),
            together: false,
        };
        assert_eq!(classify(&v(batch::ACCEPTED, None), "c"), Some(true));
        assert_eq!(classify(&v("23514", Some("c")), "c"), Some(false));
        assert_eq!(classify(&v("23514", Some("other")), "c"), None);
        assert_eq!(classify(&v("22003", None), "c"), None);
        assert!(disagrees(&v("23514", Some("c")), "c"));
        assert!(!disagrees(&v(batch::ACCEPTED, None), "c"));
        // Rejected by the constraint, but the rule's own verdict is unknown: not a
        // rejection that agrees with the rule.
        let unknown = Verdict {
            rule_holds: None,
            ..v("23514", Some("c"))
        };
        assert_eq!(conclusive(&unknown, "c"), None);
        assert!(!disagrees(&unknown, "c"));
        assert_eq!(
            blocker(&unknown, "c"),
            "the spec's rule could not be evaluated on the case's values"
        );
        assert_eq!(conclusive(&v("23514", Some("c")), "c"), Some(false));
    }
}

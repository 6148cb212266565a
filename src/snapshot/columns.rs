//! Columns as people write them: short type names (`varchar(255)`, `timestamptz`),
//! `serial` for a column fed by its own sequence, defaults without the casts PostgreSQL
//! adds.

use super::expr::{parse, Expr};
use super::pretty::{family, is_number, one_line, pretty, Family};
use crate::catalog::{relation_key, Column, Relation, Schema, Sequence};
use crate::spec::{
    ColumnCompression, ColumnSpec, ColumnStorage, GeneratedKind, IdentityKind, ParameterValue,
    SequenceOptions,
};

/// The spec of one column. `schema` tells which sequence the column owns.
pub fn column_spec(schema: &Schema, rel: &Relation, c: &Column) -> ColumnSpec {
    let key = relation_key(&rel.schema, &rel.name);
    let owned = schema.sequences.iter().find(|s| {
        s.owner
            .as_ref()
            .is_some_and(|o| o.table == key && o.column == c.name)
    });
    // A serial column: the default serial would write, on the sequence serial creates and
    // owns (not a sequence merely named like one).
    let serial = serial_type(&rel.schema, &rel.name, c).filter(|_| {
        owned.is_some_and(|s| {
            s.name == object_name(&rel.name, &c.name, "seq")
                && s.schema == rel.schema
                && !s.owner.as_ref().is_some_and(|o| o.identity)
        })
    });
    let described = serial.is_some() || c.identity.is_some();
    let types = |n: &str| rel.column(n).map(|col| col.type_name.clone());
    ColumnSpec {
        type_: serial
            .map(str::to_string)
            .unwrap_or_else(|| short_type(&c.type_name)),
        nullable: c.nullable,
        default: match serial {
            Some(_) => None,
            None => c.default.as_deref().map(|d| short_default(d, &c.type_name)),
        },
        collation: c.collation.as_deref().map(collation_name),
        generated: c
            .generated
            .as_deref()
            .map(|g| pretty(g, &types).unwrap_or_else(|| one_line(g))),
        // STORED is what a spec means when it says nothing.
        generated_kind: match c.generated_kind {
            Some('v') if c.generated.is_some() => Some(GeneratedKind::Virtual),
            _ => None,
        },
        identity: match c.identity {
            Some('a') => Some(IdentityKind::Always),
            Some('d') => Some(IdentityKind::ByDefault),
            _ => None,
        },
        sequence: owned.filter(|_| described).and_then(non_default_options),
        // What `CREATE TABLE` gives a column of its type is what a spec means when it says
        // nothing.
        storage: (c.storage != c.type_storage)
            .then(|| ColumnStorage::from_code(c.storage))
            .flatten(),
        compression: c.compression.and_then(ColumnCompression::from_code),
        // None of its own is what a spec means when it says nothing.
        statistics: c.statistics,
        options: c
            .options
            .iter()
            .map(|o| {
                let (name, value) = o.split_once('=').unwrap_or((o, ""));
                (name.to_string(), option_value(value))
            })
            .collect(),
        comment: c.comment.clone(),
        description: None,
        sensitive: false,
    }
}

/// An attribute option's value as a spec writes it: a whole number, a number, or else the
/// text PostgreSQL kept.
fn option_value(value: &str) -> ParameterValue {
    if let Ok(i) = value.parse::<i64>() {
        ParameterValue::Integer(i)
    } else if let Ok(n) = value.parse::<f64>() {
        ParameterValue::Number(n)
    } else {
        ParameterValue::Word(value.to_string())
    }
}

/// The options of `s` that differ from what `CREATE SEQUENCE … AS type INCREMENT BY n`
/// gives; `None` when all are the defaults.
pub fn non_default_options(s: &Sequence) -> Option<SequenceOptions> {
    let (type_min, type_max) = match s.type_name.as_str() {
        "smallint" => (i16::MIN as i64, i16::MAX as i64),
        "integer" => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    };
    let (min, max) = if s.increment > 0 {
        (1, type_max)
    } else {
        (type_min, -1)
    };
    let start = if s.increment > 0 { s.min } else { s.max };
    let opts = SequenceOptions {
        increment: (s.increment != 1).then_some(s.increment),
        min: (s.min != min).then_some(s.min),
        max: (s.max != max).then_some(s.max),
        start: (s.start != start).then_some(s.start),
        cache: (s.cache != 1).then_some(s.cache),
        cycle: s.cycle,
    };
    (opts != SequenceOptions::default()).then_some(opts)
}

/// A type as `format_type` prints it, in the short spelling people write. Each short form
/// is an exact synonym, so the spec means the same type.
pub fn short_type(printed: &str) -> String {
    let t = printed.trim();
    let base = t.trim_end_matches("[]");
    let arrays = &t[base.len()..];
    let typmod = |rest: &str| -> Option<String> {
        // `(n)` directly after the name, or nothing.
        if rest.is_empty() {
            Some(String::new())
        } else if rest.starts_with('(') && rest.ends_with(')') {
            Some(rest.to_string())
        } else {
            None
        }
    };
    let short = if let Some(rest) = base.strip_prefix("character varying") {
        typmod(rest).map(|m| format!("varchar{m}"))
    } else if let Some(rest) = base.strip_prefix("character(") {
        typmod(&format!("({rest}")).map(|m| format!("char{m}"))
    } else if let Some(rest) = base.strip_prefix("bit varying") {
        typmod(rest).map(|m| format!("varbit{m}"))
    } else if let Some(head) = base.strip_suffix(" with time zone") {
        zoned(head, "tz")
    } else if let Some(head) = base.strip_suffix(" without time zone") {
        zoned(head, "")
    } else {
        None
    };
    match short {
        Some(s) => format!("{s}{arrays}"),
        None => t.to_string(),
    }
}

/// `timestamp(3)` + `tz` → `timestamptz(3)`; `time` + `` → `time`.
fn zoned(head: &str, suffix: &str) -> Option<String> {
    for name in ["timestamp", "time"] {
        if let Some(rest) = head.strip_prefix(name) {
            if rest.is_empty() || (rest.starts_with('(') && rest.ends_with(')')) {
                return Some(format!("{name}{suffix}{rest}"));
            }
        }
    }
    None
}

/// `serial`, `bigserial` or `smallserial` when the column's default is `nextval` of the
/// sequence that type would create (`<table>_<column>_seq`, as PostgreSQL names it, and
/// qualified outside `public`).
fn serial_type(schema: &str, table: &str, c: &Column) -> Option<&'static str> {
    let name = match c.type_name.as_str() {
        "integer" => "serial",
        "bigint" => "bigserial",
        "smallint" => "smallserial",
        _ => return None,
    };
    let seq = object_name(table, &c.name, "seq");
    let ident = |s: &str| {
        if is_plain_identifier(s) {
            s.to_string()
        } else {
            crate::sql::quote_ident(s)
        }
    };
    let regclass = if schema == "public" {
        ident(&seq)
    } else {
        format!("{}.{}", ident(schema), ident(&seq))
    };
    let want = format!(
        "nextval({}::regclass)",
        crate::sql::quote_literal(&regclass)
    );
    (c.default.as_deref() == Some(want.as_str())).then_some(name)
}

/// PostgreSQL's `makeObjectName`: `name1_name2_label`, the two names shortened (longest
/// first) so that the whole fits in 63 bytes.
pub(super) fn object_name(name1: &str, name2: &str, label: &str) -> String {
    const MAX: usize = 63;
    let overhead = 1 + label.len() + 1;
    let (mut n1, mut n2) = (name1.len(), name2.len());
    while n1 + n2 + overhead > MAX {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_string()
    };
    format!("{}_{}_{label}", clip(name1, n1), clip(name2, n2))
}

/// A name PostgreSQL prints without quotes (lower case, no keyword check needed for the
/// names it generates here).
fn is_plain_identifier(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A default as people write it: a string or number literal without the cast to the
/// column's own type (`'open'::character varying` → `'open'`). Anything else as printed.
pub fn short_default(printed: &str, column_type: &str) -> String {
    let Some(Expr::Cast(inner, cast)) = parse(printed) else {
        return printed.to_string();
    };
    let (cf, tf) = (family(column_type), family(&cast));
    match (*inner, cf, tf) {
        (Expr::Str(s), Family::Text, Family::Text) => crate::sql::quote_literal(&s),
        (Expr::Str(s), Family::Integer | Family::Decimal, _) if cf == tf && is_number(&s) => s,
        _ => printed.to_string(),
    }
}

/// A collation as `regcollation` prints it, unquoted when it is a single name: `"C"` → `C`.
fn collation_name(printed: &str) -> String {
    match printed.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
        Some(inner) if !inner.contains('"') => inner.to_string(),
        _ => printed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_take_their_short_spelling() {
        for (printed, short) in [
            ("character varying(255)", "varchar(255)"),
            ("character varying", "varchar"),
            ("character varying(50)[]", "varchar(50)[]"),
            ("character(3)", "char(3)"),
            ("timestamp with time zone", "timestamptz"),
            ("timestamp(3) with time zone", "timestamptz(3)"),
            ("timestamp without time zone", "timestamp"),
            ("time without time zone", "time"),
            ("time with time zone[]", "timetz[]"),
            ("numeric(12,2)", "numeric(12,2)"),
            ("double precision", "double precision"),
            ("bit varying(8)", "varbit(8)"),
        ] {
            assert_eq!(short_type(printed), short, "{printed}");
        }
    }

    #[test]
    fn serial_needs_the_sequence_serial_would_create() {
        let col = |ty: &str, default: &str| Column {
            name: "id".into(),
            type_name: ty.into(),
            nullable: false,
            default: Some(default.into()),
            ..Default::default()
        };
        let seq = "nextval('schema_migrations_id_seq'::regclass)";
        assert_eq!(
            serial_type("public", "schema_migrations", &col("integer", seq)),
            Some("serial")
        );
        assert_eq!(
            serial_type("public", "other", &col("integer", seq)),
            None,
            "a shared or renamed sequence is not serial"
        );
        let long = "a".repeat(70);
        let name = object_name(&long, "id", "seq");
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_id_seq"));
        assert_eq!(
            serial_type(
                "public",
                "Mixed",
                &col("bigint", "nextval('\"Mixed_id_seq\"'::regclass)")
            ),
            Some("bigserial")
        );
        assert_eq!(
            serial_type(
                "app",
                "notes",
                &col("integer", "nextval('app.notes_id_seq'::regclass)")
            ),
            Some("serial"),
            "outside public the sequence is named with its schema"
        );
        assert_eq!(
            serial_type(
                "app",
                "notes",
                &col("integer", "nextval('notes_id_seq'::regclass)")
            ),
            None
        );
    }

    #[test]
    fn defaults_lose_only_the_cast_to_their_own_type() {
        assert_eq!(
            short_default("'open'::character varying", "character varying(20)"),
            "'open'"
        );
        assert_eq!(short_default("'USD'::bpchar", "character(3)"), "'USD'");
        assert_eq!(short_default("'{}'::jsonb", "jsonb"), "'{}'::jsonb");
        assert_eq!(short_default("'-1'::integer", "integer"), "-1");
        assert_eq!(
            short_default("CURRENT_TIMESTAMP", "timestamp with time zone"),
            "CURRENT_TIMESTAMP"
        );
        assert_eq!(
            short_default("gen_random_uuid()", "uuid"),
            "gen_random_uuid()"
        );
    }
}

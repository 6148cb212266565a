//! `SET` options as the server reads them. PostgreSQL stores a function's `proconfig` as
//! written, so `work_mem=64MB` and `work_mem=65536kB` are different texts for one value,
//! and so are `enable_seqscan=false` and `enable_seqscan=off`. The catalog read therefore
//! also prints each option whose setting has a unit (`pg_settings.unit`) in that unit,
//! converted and, for an integer setting, rounded to a whole unit half to even as the
//! server rounds it (`2.5ms` is `2ms`, `3.5ms` is `4ms`), and each boolean option as `on`
//! or `off`, with every spelling the server accepts; on the server that is read: both sides
//! of a comparison go through the same SQL, on the same major.

/// The common table expression [`config_values`] reads: the settings that have a unit or
/// are boolean, read once per query rather than once per option.
pub(super) const SETTING_UNITS: &str = "setting_units AS MATERIALIZED (
    SELECT s.name::text AS name, s.vartype::text AS vartype,
           coalesce(substring(s.unit FROM '^[0-9]+')::numeric, 1) AS prefix,
           substring(s.unit FROM '[A-Za-z]+$') AS unit
      FROM pg_settings s
     WHERE s.unit IS NOT NULL OR s.vartype = 'bool')";

/// A unit's size in its kind's smallest unit (bytes, microseconds), and its kind, as SQL
/// over the text expression `u`; NULL for a unit the server does not know.
fn unit_size(u: &str) -> String {
    format!(
        "CASE {u} WHEN 'B' THEN 1::numeric WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 \
         WHEN 'GB' THEN 1073741824 WHEN 'TB' THEN 1099511627776 \
         WHEN 'us' THEN 1 WHEN 'ms' THEN 1000 WHEN 's' THEN 1000000 WHEN 'min' THEN 60000000 \
         WHEN 'h' THEN 3600000000 WHEN 'd' THEN 86400000000 END"
    )
}

fn unit_kind(u: &str) -> String {
    format!("CASE WHEN {u} IN ('B', 'kB', 'MB', 'GB', 'TB') THEN 'memory' WHEN {u} IN ('us', 'ms', 's', 'min', 'h', 'd') THEN 'time' END")
}

/// An array expression over the `text[]` expression `config` (`proconfig`): each option
/// `name=value`, its value, when the setting has a unit and the value is a number with or
/// without a unit of the same kind, written as a number of the setting's unit (`64MB` and
/// `65536kB` are both `work_mem=65536kB`, `1min`, `60s` and `60000` all
/// `statement_timeout=60000ms`), an integer setting's value rounded to a whole number of
/// its unit, half to even; a boolean setting's value as `on` or `off` when it is one the
/// server accepts (`true`, `yes`, `on`, `1` and their unique prefixes, in any case; `of`
/// and `off`). Any other option is kept as written.
pub(super) fn config_values(config: &str) -> String {
    let given = "nullif(v.m[2], '')";
    let value = "lower(trim(substr(c.entry, strpos(c.entry, '=') + 1)))";
    format!(
        "ARRAY(SELECT coalesce(
                 CASE WHEN n.x IS NOT NULL
                      THEN u.name || '=' || trim_scale(
                           CASE WHEN u.vartype <> 'integer' THEN n.x
                                WHEN abs(n.x - trunc(n.x)) = 0.5 THEN 2 * round(n.x / 2)
                                ELSE round(n.x)
                           END * u.prefix)::text || u.unit
                 END,
                 CASE WHEN u.vartype = 'bool' THEN u.name || '=' ||
                      CASE WHEN b.v IN ('on', '1') OR (b.v <> '' AND (starts_with('true', b.v) OR starts_with('yes', b.v)))
                           THEN 'on'
                           WHEN b.v IN ('of', 'off', '0') OR (b.v <> '' AND (starts_with('false', b.v) OR starts_with('no', b.v)))
                           THEN 'off'
                      END
                 END,
                 c.entry)
          FROM unnest(coalesce({config}, '{{}}'::text[])) WITH ORDINALITY c(entry, i)
          LEFT JOIN setting_units u ON u.name = lower(split_part(c.entry, '=', 1))
          LEFT JOIN LATERAL (SELECT regexp_match(substr(c.entry, strpos(c.entry, '=') + 1),
                   '^\\s*([-+]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\\s*([A-Za-z]*)\\s*$') AS m
                 WHERE u.unit IS NOT NULL) v ON true
          LEFT JOIN LATERAL (SELECT v.m[1]::numeric * coalesce({given_size}, u.prefix * {base_size})
                                    / (u.prefix * {base_size}) AS x
                 WHERE v.m IS NOT NULL AND ({given} IS NULL OR {given_kind} = {base_kind})) n ON true
          LEFT JOIN LATERAL (SELECT {value} AS v WHERE u.vartype = 'bool') b ON true
         ORDER BY c.i)",
        given_kind = unit_kind(given),
        base_kind = unit_kind("u.unit"),
        given_size = unit_size(given),
        base_size = unit_size("u.unit"),
    )
}

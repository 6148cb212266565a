//! Trigger properties: random inserts and updates, compared row by row with what the seed
//! says the triggers derive.
//!
//! - `performance_logs.calculate_performance_metrics`: `duration_ms` is `end_time -
//!   start_time` in milliseconds, `is_slow` is `duration_ms > 1000`, `is_error` is
//!   `status_code >= 400`, on INSERT and UPDATE, whatever values the caller supplied.
//!   Durations are whole milliseconds (the seed does not say how fractions round), with
//!   the boundaries 1000/1001 ms and statuses 399/400 always played.
//! - `property_financial_summary.set_summary_month`: `summary_month` is
//!   `to_char(summary_date, 'YYYY-MM')` on INSERT and UPDATE, whatever value was supplied;
//!   the dates include month, year and ISO-week-year boundaries.
//! - every `updated_at` trigger (the tables of [`STAMPED`]): an UPDATE sets `updated_at` to
//!   `CURRENT_TIMESTAMP` (fixed within the transaction), from a past value and even when
//!   the UPDATE itself sets a past value.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use proptest::prelude::*;
use sqlx::PgConnection;
use uuid::Uuid;

use super::harness::{self, rel, rel_opt, Machine, Mismatch, Played, Step, Target};
use crate::error::{Error, Result};
use crate::probe::session::Needs;
use crate::probe::{probe_finding, ProbeConfig};
use crate::verify::{Finding, Status};

/// Prove every trigger property.
pub async fn check(conn: &mut PgConnection, config: &ProbeConfig) -> Result<Vec<Finding>> {
    let mut out = harness::prove(conn, config, &Metrics::new(), metrics_sequences()).await?;
    out.extend(harness::prove(conn, config, &Month::new(), month_sequences()).await?);
    for table in &STAMPED {
        let machine = Stamp::new(table);
        out.extend(harness::prove(conn, config, &machine, stamp_sequences()).await?);
    }
    out.extend(uncovered_updated_at(conn).await?);
    Ok(out)
}

/// A single-target property's target.
fn trigger_target(
    table: &'static str,
    trigger: &str,
    claim: &'static str,
    hint: &'static str,
) -> Target {
    Target {
        code: "trigger.property",
        table,
        object: format!("{table}.{trigger}"),
        claim,
        hint,
    }
}

// ---------------------------------------------------------------------------------------
// performance_logs.calculate_performance_metrics
// ---------------------------------------------------------------------------------------

/// 2025-01-01T00:00:00Z in microseconds since the epoch: the earliest start time played.
const METRICS_BASE_MICROS: i64 = 1_735_689_600_000_000;
/// Start times spread over a year after the base.
const YEAR_MICROS: i64 = 365 * 86_400 * 1_000_000;

/// One operation on `performance_logs`.
#[derive(Debug, Clone)]
enum MetricsOp {
    /// Log a request; `forged` also supplies wrong `duration_ms`, `is_slow`, `is_error`.
    Insert {
        start_us: i64,
        duration_ms: i64,
        status: i32,
        forged: bool,
    },
    /// Change a logged request's end time (new duration) and/or status.
    Update {
        row: usize,
        duration_ms: Option<i64>,
        status: Option<i32>,
    },
}

fn duration_ms() -> impl Strategy<Value = i64, Tree: Send> + Send + Sync {
    prop_oneof![
        2 => prop::sample::select(vec![0i64, 1, 499, 500, 501, 999, 1000, 1001, 1002]),
        2 => 0i64..=5_000,
        1 => 0i64..=100_000_000,
    ]
}

fn status() -> impl Strategy<Value = i32, Tree: Send> + Send + Sync {
    prop_oneof![
        2 => prop::sample::select(vec![100, 200, 301, 399, 400, 404, 499, 500, 599]),
        1 => 100i32..=599,
    ]
}

fn metrics_insert() -> impl Strategy<Value = MetricsOp, Tree: Send> + Send + Sync {
    (
        0..YEAR_MICROS,
        duration_ms(),
        status(),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(start_us, duration_ms, status, forged)| MetricsOp::Insert {
                start_us,
                duration_ms,
                status,
                forged,
            },
        )
}

fn metrics_op() -> impl Strategy<Value = MetricsOp, Tree: Send> + Send + Sync {
    prop_oneof![
        1 => metrics_insert(),
        1 => (0usize..8, prop::option::of(duration_ms()), prop::option::of(status())).prop_map(
            |(row, duration_ms, status)| MetricsOp::Update { row, duration_ms, status }
        ),
    ]
}

/// An insert, then 0 to 11 inserts or updates.
fn metrics_sequences() -> impl Strategy<Value = Vec<MetricsOp>, Tree: Send> + Send + Sync {
    (
        metrics_insert(),
        prop::collection::vec(metrics_op(), 0..=11),
    )
        .prop_map(|(first, rest)| {
            let mut ops = vec![first];
            ops.extend(rest);
            ops
        })
}

/// The model's view of a logged request.
#[derive(Debug, Clone)]
struct Request {
    start_us: i64,
    duration_ms: i64,
    status: i32,
}

impl Request {
    /// What the trigger must derive: `duration_ms`, `is_slow`, `is_error`.
    fn derived(&self) -> (Option<i32>, bool, bool) {
        (
            i32::try_from(self.duration_ms).ok(),
            self.duration_ms > 1000,
            self.status >= 400,
        )
    }

    fn end(&self) -> Option<DateTime<Utc>> {
        timestamp(self.start_us + self.duration_ms * 1_000)
    }
}

fn timestamp(offset_us: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_micros(METRICS_BASE_MICROS + offset_us)
}

fn render_metrics(d: &(Option<i32>, bool, bool)) -> String {
    format!(
        "duration_ms={} is_slow={} is_error={}",
        d.0.map_or_else(|| "NULL".to_string(), |v| v.to_string()),
        d.1,
        d.2
    )
}

/// The `performance_logs` machine.
struct Metrics {
    targets: Vec<Target>,
}

impl Metrics {
    fn new() -> Self {
        Metrics {
            targets: vec![trigger_target(
                "performance_logs",
                "calculate_performance_metrics",
                "duration_ms = end_time - start_time in ms, is_slow = duration_ms > 1000, \
                 is_error = status_code >= 400, on every INSERT and UPDATE",
                "Compare calculate_performance_metrics() in \
                 migrations/012_create_performance_logs.sql with the seed: is_slow (> 1000ms), \
                 is_error (>= 400).",
            )],
        }
    }
}

impl Machine for Metrics {
    type Op = MetricsOp;

    fn name(&self) -> &str {
        "performance_logs.calculate_performance_metrics"
    }

    fn targets(&self) -> &[Target] {
        &self.targets
    }

    fn needs(&self) -> Needs {
        let mut needs = Needs::default();
        needs.table("INSERT", "performance_logs");
        needs.table("UPDATE", "performance_logs");
        needs
    }

    fn fixed(&self) -> Vec<Vec<MetricsOp>> {
        let insert = |duration_ms, status, forged| MetricsOp::Insert {
            start_us: 123_456,
            duration_ms,
            status,
            forged,
        };
        let update = |duration_ms, status| MetricsOp::Update {
            row: 0,
            duration_ms,
            status,
        };
        vec![
            vec![
                insert(1000, 399, false),
                insert(1001, 400, false),
                insert(999, 599, true),
            ],
            vec![
                insert(1000, 399, true),
                update(Some(1001), None),
                update(None, Some(400)),
            ],
            vec![
                insert(1001, 400, false),
                update(Some(1000), Some(399)),
                update(None, None),
            ],
        ]
    }

    async fn play(&self, conn: &mut PgConnection, ops: &[MetricsOp]) -> Played {
        let mut played = Played::new(1);
        let mut rows: Vec<Request> = Vec::new();
        for op in ops {
            played.step(metrics_label(op, &rows));
            played.call(0);
            if let Err(m) = metrics_step(conn, &mut rows, op).await {
                played.record(m);
                break;
            }
        }
        played
    }
}

fn metrics_label(op: &MetricsOp, rows: &[Request]) -> String {
    match op {
        MetricsOp::Insert {
            duration_ms,
            status,
            forged,
            ..
        } => {
            let forged = if *forged { ", forged flags" } else { "" };
            format!(
                "INSERT r{}: {duration_ms} ms, status {status}{forged}",
                rows.len()
            )
        }
        MetricsOp::Update {
            row,
            duration_ms,
            status,
        } => {
            let target =
                pick_row(*row, rows.len()).map_or("none yet".to_string(), |r| format!("r{r}"));
            let duration = duration_ms.map_or("same end_time".to_string(), |d| format!("{d} ms"));
            let status = status.map_or("same status".to_string(), |s| format!("status {s}"));
            format!("UPDATE {target}: {duration}, {status}")
        }
    }
}

fn pick_row(row: usize, len: usize) -> Option<usize> {
    (len > 0).then(|| row % len)
}

fn request_id(n: usize) -> String {
    format!("rv-probe-request-{n}")
}

async fn metrics_step(conn: &mut PgConnection, rows: &mut Vec<Request>, op: &MetricsOp) -> Step {
    let what = "duration_ms, is_slow and is_error as stored";
    let (n, actual) = match op {
        MetricsOp::Insert {
            start_us,
            duration_ms,
            status,
            forged,
        } => {
            let request = Request {
                start_us: *start_us,
                duration_ms: *duration_ms,
                status: *status,
            };
            let actual = insert_request(conn, rows.len(), &request, *forged).await;
            rows.push(request);
            (rows.len() - 1, actual)
        }
        MetricsOp::Update {
            row,
            duration_ms,
            status,
        } => {
            let Some(n) = pick_row(*row, rows.len()) else {
                return Ok(());
            };
            let request = &mut rows[n];
            request.duration_ms = duration_ms.unwrap_or(request.duration_ms);
            request.status = status.unwrap_or(request.status);
            let end = duration_ms.and_then(|_| request.end());
            (n, update_request(conn, n, end, *status).await)
        }
    };
    let expected = rows[n].derived();
    let actual = actual.map_err(|e| Mismatch::db(0, what, &render_metrics(&expected), &e))?;
    if actual == expected {
        Ok(())
    } else {
        Err(Mismatch::new(
            0,
            &format!("{what} for r{n}"),
            render_metrics(&expected),
            render_metrics(&actual),
        ))
    }
}

async fn insert_request(
    conn: &mut PgConnection,
    n: usize,
    request: &Request,
    forged: bool,
) -> std::result::Result<(Option<i32>, bool, bool), sqlx::Error> {
    let (duration, slow, error) = request.derived();
    // Forged values are the opposite of what the trigger must derive.
    let forged_values = forged.then(|| (duration.map(|d| d + 777), !slow, !error));
    sqlx::query_as(
        "INSERT INTO performance_logs \
             (request_id, endpoint, method, start_time, end_time, status_code, \
              duration_ms, is_slow, is_error) \
         VALUES ($1, '/rv-probe', 'GET', $2, $3, $4, $5, \
                 coalesce($6, false), coalesce($7, false)) \
         RETURNING duration_ms, is_slow, is_error",
    )
    .bind(request_id(n))
    .bind(timestamp(request.start_us))
    .bind(request.end())
    .bind(request.status)
    .bind(forged_values.and_then(|f| f.0))
    .bind(forged_values.map(|f| f.1))
    .bind(forged_values.map(|f| f.2))
    .fetch_one(&mut *conn)
    .await
}

async fn update_request(
    conn: &mut PgConnection,
    n: usize,
    end: Option<DateTime<Utc>>,
    status: Option<i32>,
) -> std::result::Result<(Option<i32>, bool, bool), sqlx::Error> {
    sqlx::query_as(
        "UPDATE performance_logs \
            SET end_time = coalesce($2, end_time), status_code = coalesce($3, status_code) \
          WHERE request_id = $1 \
         RETURNING duration_ms, is_slow, is_error",
    )
    .bind(request_id(n))
    .bind(end)
    .bind(status)
    .fetch_one(&mut *conn)
    .await
}

// ---------------------------------------------------------------------------------------
// property_financial_summary.set_summary_month
// ---------------------------------------------------------------------------------------

/// Dates are days after 1900-01-01, up to 2024-12-31 (never in the future, which the
/// table's CHECK forbids).
const LAST_DAY: u64 = 45_655;
/// Dates where a wrong format shows: month and year ends, leap days, and days whose ISO
/// week-numbering year differs from the calendar year.
const BOUNDARY_DATES: [(i32, u32, u32); 10] = [
    (2021, 1, 1),
    (2021, 1, 3),
    (2020, 12, 31),
    (2024, 2, 29),
    (2019, 12, 30),
    (2000, 1, 1),
    (1999, 12, 31),
    (2016, 1, 1),
    (2023, 9, 30),
    (2024, 12, 31),
];

fn day_of(offset: u64) -> NaiveDate {
    let epoch = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
    epoch.checked_add_days(Days::new(offset)).unwrap_or(epoch)
}

fn date() -> impl Strategy<Value = NaiveDate, Tree: Send> + Send + Sync {
    let boundaries: Vec<NaiveDate> = BOUNDARY_DATES
        .iter()
        .filter_map(|&(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
        .collect();
    prop_oneof![
        1 => prop::sample::select(boundaries),
        2 => (0..=LAST_DAY).prop_map(day_of),
    ]
}

/// One operation on `property_financial_summary`.
#[derive(Debug, Clone)]
enum MonthOp {
    /// Insert a summary (for a new property); `forged` also supplies a wrong month.
    Insert { date: NaiveDate, forged: bool },
    /// Move a summary to another date.
    SetDate { row: usize, date: NaiveDate },
    /// Update another column; `forged` also sets a wrong month.
    Touch { row: usize, forged: bool },
}

fn month_insert() -> impl Strategy<Value = MonthOp, Tree: Send> + Send + Sync {
    (date(), prop::bool::weighted(0.3)).prop_map(|(date, forged)| MonthOp::Insert { date, forged })
}

fn month_op() -> impl Strategy<Value = MonthOp, Tree: Send> + Send + Sync {
    prop_oneof![
        2 => month_insert(),
        2 => (0usize..8, date()).prop_map(|(row, date)| MonthOp::SetDate { row, date }),
        1 => (0usize..8, prop::bool::weighted(0.5))
            .prop_map(|(row, forged)| MonthOp::Touch { row, forged }),
    ]
}

/// An insert, then 0 to 11 more operations.
fn month_sequences() -> impl Strategy<Value = Vec<MonthOp>, Tree: Send> + Send + Sync {
    (month_insert(), prop::collection::vec(month_op(), 0..=11)).prop_map(|(first, rest)| {
        let mut ops = vec![first];
        ops.extend(rest);
        ops
    })
}

/// The month the seed says is derived: `to_char(summary_date, 'YYYY-MM')`.
fn month_of(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

/// A month that no boundary date has, to forge with.
const FORGED_MONTH: &str = "1901-07";

/// The `property_financial_summary` machine.
struct Month {
    targets: Vec<Target>,
}

impl Month {
    fn new() -> Self {
        Month {
            targets: vec![trigger_target(
                "property_financial_summary",
                "set_summary_month",
                "summary_month = to_char(summary_date, 'YYYY-MM') after every INSERT and UPDATE",
                "Compare set_summary_month() in migrations/010_create_financial_summary.sql \
                 with the seed: summary_month auto-generated from summary_date (YYYY-MM).",
            )],
        }
    }
}

impl Machine for Month {
    type Op = MonthOp;

    fn name(&self) -> &str {
        "property_financial_summary.set_summary_month"
    }

    fn targets(&self) -> &[Target] {
        &self.targets
    }

    fn needs(&self) -> Needs {
        let mut needs = Needs::default();
        needs.table("INSERT", "properties");
        needs.table("INSERT", "property_financial_summary");
        needs.table("UPDATE", "property_financial_summary");
        needs
    }

    fn fixed(&self) -> Vec<Vec<MonthOp>> {
        let dates: Vec<NaiveDate> = BOUNDARY_DATES
            .iter()
            .filter_map(|&(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
            .collect();
        let inserts = dates
            .iter()
            .enumerate()
            .map(|(i, &date)| MonthOp::Insert {
                date,
                forged: i % 2 == 1,
            })
            .collect();
        let updates = std::iter::once(MonthOp::Insert {
            date: day_of(0),
            forged: false,
        })
        .chain(dates.iter().map(|&date| MonthOp::SetDate { row: 0, date }))
        .chain(std::iter::once(MonthOp::Touch {
            row: 0,
            forged: true,
        }))
        .collect();
        vec![inserts, updates]
    }

    async fn play(&self, conn: &mut PgConnection, ops: &[MonthOp]) -> Played {
        let mut played = Played::new(1);
        let mut rows: Vec<(Uuid, NaiveDate)> = Vec::new();
        for op in ops {
            played.step(month_label(op, rows.len()));
            played.call(0);
            if let Err(m) = month_step(conn, &mut rows, op).await {
                played.record(m);
                break;
            }
        }
        played
    }
}

fn month_label(op: &MonthOp, len: usize) -> String {
    let forged = |f: bool| {
        if f {
            format!(", summary_month = '{FORGED_MONTH}'")
        } else {
            String::new()
        }
    };
    let row = |r: usize| pick_row(r, len).map_or("none yet".to_string(), |r| format!("m{r}"));
    match op {
        MonthOp::Insert { date, forged: f } => {
            format!("INSERT m{len}: summary_date {date}{}", forged(*f))
        }
        MonthOp::SetDate { row: r, date } => format!("UPDATE {}: summary_date = {date}", row(*r)),
        MonthOp::Touch { row: r, forged: f } => {
            format!("UPDATE {}: noi = 1{}", row(*r), forged(*f))
        }
    }
}

async fn month_step(
    conn: &mut PgConnection,
    rows: &mut Vec<(Uuid, NaiveDate)>,
    op: &MonthOp,
) -> Step {
    let what = "summary_month as stored";
    let forged_month = |f: bool| f.then_some(FORGED_MONTH);
    let (date, result) = match op {
        MonthOp::Insert { date, forged } => {
            let result = insert_summary(conn, *date, forged_month(*forged)).await;
            if let Ok((id, _)) = &result {
                rows.push((*id, *date));
            }
            (*date, result.map(|(_, month)| month))
        }
        MonthOp::SetDate { row, date } => {
            let Some(n) = pick_row(*row, rows.len()) else {
                return Ok(());
            };
            rows[n].1 = *date;
            let sql = "UPDATE property_financial_summary SET summary_date = $2 WHERE id = $1 \
                       RETURNING summary_month";
            (*date, update_summary(conn, sql, rows[n].0, *date).await)
        }
        MonthOp::Touch { row, forged } => {
            let Some(n) = pick_row(*row, rows.len()) else {
                return Ok(());
            };
            let sql = "UPDATE property_financial_summary \
                          SET noi = 1, summary_month = coalesce($2, summary_month) \
                        WHERE id = $1 RETURNING summary_month";
            let forged = forged_month(*forged).map(str::to_string);
            (
                rows[n].1,
                update_summary_opt(conn, sql, rows[n].0, forged).await,
            )
        }
    };
    let expected = month_of(date);
    let actual = result.map_err(|e| Mismatch::db(0, what, &expected, &e))?;
    if actual.as_deref() == Some(expected.as_str()) {
        Ok(())
    } else {
        Err(Mismatch::new(
            0,
            &format!("{what} for summary_date {date}"),
            expected,
            actual.unwrap_or_else(|| "NULL".to_string()),
        ))
    }
}

async fn insert_summary(
    conn: &mut PgConnection,
    date: NaiveDate,
    forged: Option<&str>,
) -> std::result::Result<(Uuid, Option<String>), sqlx::Error> {
    sqlx::query_as(
        "WITH p AS (INSERT INTO properties (name, address, city, state, property_type) \
                    VALUES ('rv-probe property', '1 Probe Street', 'Probeville', 'TX', 'office') \
                    RETURNING id) \
         INSERT INTO property_financial_summary (property_id, summary_date, summary_month) \
         SELECT p.id, $1, $2 FROM p \
         RETURNING id, summary_month",
    )
    .bind(date)
    .bind(forged)
    .fetch_one(&mut *conn)
    .await
}

async fn update_summary(
    conn: &mut PgConnection,
    sql: &str,
    id: Uuid,
    date: NaiveDate,
) -> std::result::Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(sql)
        .bind(id)
        .bind(date)
        .fetch_one(&mut *conn)
        .await
}

async fn update_summary_opt(
    conn: &mut PgConnection,
    sql: &str,
    id: Uuid,
    forged: Option<String>,
) -> std::result::Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(sql)
        .bind(id)
        .bind(forged)
        .fetch_one(&mut *conn)
        .await
}

// ---------------------------------------------------------------------------------------
// updated_at triggers
// ---------------------------------------------------------------------------------------

/// A table whose BEFORE UPDATE trigger keeps `updated_at` current (from the migrations).
#[derive(Debug, Clone, Copy)]
pub struct Stamped {
    /// The table.
    pub table: &'static str,
    /// Its updated_at trigger.
    pub trigger: &'static str,
    /// An INSERT of one valid row with `updated_at = CURRENT_TIMESTAMP - $1 minutes`,
    /// returning its id.
    pub insert: &'static str,
    /// A column an unrelated UPDATE sets to itself.
    pub touch: &'static str,
}

/// Every table with an `updated_at` trigger, as the migrations create them.
pub const STAMPED: [Stamped; 8] = [
    Stamped {
        table: "properties",
        trigger: "update_properties_updated_at",
        insert: "INSERT INTO properties (name, address, city, state, property_type, updated_at) \
                 VALUES ('rv-probe property', '1 Probe Street', 'Probeville', 'TX', 'office', \
                 CURRENT_TIMESTAMP - make_interval(mins => $1)) RETURNING id",
        touch: "name",
    },
    Stamped {
        table: "tenants",
        trigger: "update_tenants_updated_at",
        insert: "INSERT INTO tenants (name, updated_at) \
                 VALUES ('rv-probe tenant', CURRENT_TIMESTAMP - make_interval(mins => $1)) \
                 RETURNING id",
        touch: "name",
    },
    Stamped {
        table: "leases",
        trigger: "update_leases_updated_at",
        insert: "WITH p AS (INSERT INTO properties (name, address, city, state, property_type) \
                            VALUES ('rv-probe property', '1 Probe Street', 'Probeville', 'TX', \
                            'office') RETURNING id), \
                      t AS (INSERT INTO tenants (name) VALUES ('rv-probe tenant') RETURNING id) \
                 INSERT INTO leases (property_id, tenant_id, start_date, end_date, monthly_rent, \
                                     updated_at) \
                 SELECT p.id, t.id, DATE '2024-01-01', DATE '2025-01-01', 1000, \
                        CURRENT_TIMESTAMP - make_interval(mins => $1) FROM p, t RETURNING id",
        touch: "monthly_rent",
    },
    Stamped {
        table: "documents",
        trigger: "update_documents_updated_at",
        insert: "WITH p AS (INSERT INTO properties (name, address, city, state, property_type) \
                            VALUES ('rv-probe property', '1 Probe Street', 'Probeville', 'TX', \
                            'office') RETURNING id) \
                 INSERT INTO documents (property_id, filename, storage_path, updated_at) \
                 SELECT p.id, 'rv-probe.pdf', 'rv-probe/' || p.id, \
                        CURRENT_TIMESTAMP - make_interval(mins => $1) FROM p RETURNING id",
        touch: "filename",
    },
    Stamped {
        table: "alerts",
        trigger: "update_alerts_updated_at",
        insert: "WITH p AS (INSERT INTO properties (name, address, city, state, property_type) \
                            VALUES ('rv-probe property', '1 Probe Street', 'Probeville', 'TX', \
                            'office') RETURNING id) \
                 INSERT INTO alerts (property_id, alert_type, title, updated_at) \
                 SELECT p.id, 'other', 'rv-probe alert', \
                        CURRENT_TIMESTAMP - make_interval(mins => $1) FROM p RETURNING id",
        touch: "title",
    },
    Stamped {
        table: "transactions",
        trigger: "update_transactions_updated_at",
        insert: "WITH p AS (INSERT INTO properties (name, address, city, state, property_type) \
                            VALUES ('rv-probe property', '1 Probe Street', 'Probeville', 'TX', \
                            'office') RETURNING id) \
                 INSERT INTO transactions (property_id, transaction_date, transaction_type, \
                                           amount, updated_at) \
                 SELECT p.id, DATE '2024-01-01', 'other_income', 1, \
                        CURRENT_TIMESTAMP - make_interval(mins => $1) FROM p RETURNING id",
        touch: "amount",
    },
    Stamped {
        table: "exit_strategy_analysis",
        trigger: "update_exit_strategy_analysis_updated_at",
        insert: "WITH p AS (INSERT INTO properties (name, address, city, state, property_type) \
                            VALUES ('rv-probe property', '1 Probe Street', 'Probeville', 'TX', \
                            'office') RETURNING id) \
                 INSERT INTO exit_strategy_analysis (property_id, updated_at) \
                 SELECT p.id, CURRENT_TIMESTAMP - make_interval(mins => $1) FROM p RETURNING id",
        touch: "analysis_complete",
    },
    Stamped {
        table: "users",
        trigger: "update_user_timestamp",
        insert: "INSERT INTO users (email, username, password_hash, updated_at) \
                 VALUES ('rv-probe-stamp-' || md5(random()::text) || '@reims-verify.invalid', \
                         'rv_probe_stamp_' || md5(random()::text), \
                         '$2b$12$' || repeat('.', 53), \
                         CURRENT_TIMESTAMP - make_interval(mins => $1)) RETURNING id",
        touch: "first_name",
    },
];

/// One operation: insert a row stamped `age` minutes ago, then update it.
#[derive(Debug, Clone)]
enum StampOp {
    /// Update an unrelated column.
    Touch { age: i32 },
    /// Update `updated_at` itself to `to` minutes ago.
    Backdate { age: i32, to: i32 },
}

fn age() -> impl Strategy<Value = i32, Tree: Send> + Send + Sync {
    prop_oneof![1 => prop::sample::select(vec![1, 60, 1_440]), 2 => 1i32..=5_000_000]
}

fn stamp_sequences() -> impl Strategy<Value = Vec<StampOp>, Tree: Send> + Send + Sync {
    let op = prop_oneof![
        age().prop_map(|age| StampOp::Touch { age }),
        (age(), age()).prop_map(|(age, to)| StampOp::Backdate { age, to }),
    ];
    prop::collection::vec(op, 1..=3)
}

/// The machine for one table's updated_at trigger.
struct Stamp {
    table: Stamped,
    targets: Vec<Target>,
    name: String,
}

impl Stamp {
    fn new(table: &Stamped) -> Self {
        let target = trigger_target(
            table.table,
            table.trigger,
            "every UPDATE sets updated_at to CURRENT_TIMESTAMP, from a past value and even \
             when the UPDATE sets a past value itself",
            "Check the table's BEFORE UPDATE trigger and update_updated_at_column() \
             (update_user_timestamp() for users) in the migrations: the seed says updated_at \
             is auto-updated.",
        );
        Stamp {
            table: *table,
            name: target.object.clone(),
            targets: vec![target],
        }
    }
}

impl Machine for Stamp {
    type Op = StampOp;

    fn name(&self) -> &str {
        &self.name
    }

    fn targets(&self) -> &[Target] {
        &self.targets
    }

    fn needs(&self) -> Needs {
        let mut needs = Needs::default();
        needs.table("INSERT", self.table.table);
        needs.table("UPDATE", self.table.table);
        for parent in ["properties", "tenants"] {
            if self
                .table
                .insert
                .contains(&format!("INSERT INTO {parent} "))
            {
                needs.table("INSERT", parent);
            }
        }
        needs
    }

    fn fixed(&self) -> Vec<Vec<StampOp>> {
        vec![vec![
            StampOp::Touch { age: 60 },
            StampOp::Backdate { age: 1, to: 1_440 },
        ]]
    }

    async fn play(&self, conn: &mut PgConnection, ops: &[StampOp]) -> Played {
        let mut played = Played::new(1);
        for (n, op) in ops.iter().enumerate() {
            played.step(stamp_label(op, self.table.table, n));
            played.call(0);
            if let Err(m) = stamp_step(conn, &self.table, op).await {
                played.record(m);
                break;
            }
        }
        played
    }
}

fn stamp_label(op: &StampOp, table: &str, n: usize) -> String {
    match op {
        StampOp::Touch { age } => format!(
            "INSERT {table} row {n} with updated_at = {}, UPDATE another column",
            rel(-i64::from(*age) * 60)
        ),
        StampOp::Backdate { age, to } => format!(
            "INSERT {table} row {n} with updated_at = {}, UPDATE SET updated_at = {}",
            rel(-i64::from(*age) * 60),
            rel(-i64::from(*to) * 60)
        ),
    }
}

async fn stamp_step(conn: &mut PgConnection, table: &Stamped, op: &StampOp) -> Step {
    let what = format!("{}.updated_at after the UPDATE", table.table);
    let expected = "updated_at=now (CURRENT_TIMESTAMP)";
    let age = match op {
        StampOp::Touch { age } | StampOp::Backdate { age, .. } => *age,
    };
    let id: Uuid = sqlx::query_scalar(table.insert)
        .bind(age)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| {
            Mismatch::db(
                0,
                &format!("inserting a {} row", table.table),
                "a new row",
                &e,
            )
        })?;
    let set = match op {
        StampOp::Touch { .. } => format!("{0} = {0}", table.touch),
        StampOp::Backdate { .. } => {
            "updated_at = CURRENT_TIMESTAMP - make_interval(mins => $2)".to_string()
        }
    };
    let sql = format!(
        "UPDATE {} SET {set} WHERE id = $1 \
         RETURNING round(extract(epoch FROM updated_at - CURRENT_TIMESTAMP))::bigint",
        table.table
    );
    let mut query = sqlx::query_scalar(&sql).bind(id);
    if let StampOp::Backdate { to, .. } = op {
        query = query.bind(*to);
    }
    let actual: Option<i64> = query
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Mismatch::db(0, &what, expected, &e))?;
    if actual == Some(0) {
        Ok(())
    } else {
        Err(Mismatch::new(
            0,
            &what,
            expected.to_string(),
            format!("updated_at={}", rel_opt(actual)),
        ))
    }
}

/// Tables with an `updated_at` column that no property covers: skipped, so that a new
/// table does not silently go unproven.
async fn uncovered_updated_at(conn: &mut PgConnection) -> Result<Vec<Finding>> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text \
           FROM pg_attribute a \
           JOIN pg_class c ON c.oid = a.attrelid \
           JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
            AND a.attname = 'updated_at' AND NOT a.attisdropped \
          ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| Error::database("listing tables with an updated_at column", &e))?;
    Ok(tables
        .into_iter()
        .filter(|t| !STAMPED.iter().any(|s| s.table == t))
        .map(|t| {
            let message = format!(
                "{t} has an updated_at column but no updated_at property covers it; add it to \
                 STAMPED in src/probe/functions/triggers.rs."
            );
            probe_finding(
                "trigger.property",
                &t,
                format!("{t}.updated_at"),
                Status::Skip,
                message,
            )
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundaries_are_derived_as_the_seed_says() {
        let r = |duration_ms, status| {
            Request {
                start_us: 0,
                duration_ms,
                status,
            }
            .derived()
        };
        assert_eq!(r(1000, 399), (Some(1000), false, false));
        assert_eq!(r(1001, 400), (Some(1001), true, true));
    }

    #[test]
    fn months_are_year_dash_month() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(month_of(d(2021, 1, 1)), "2021-01");
        assert_eq!(month_of(d(1999, 12, 31)), "1999-12");
        assert_eq!(day_of(LAST_DAY), d(2024, 12, 31));
    }
}

//! Medians with their spread: every figure the benchmark prints is one of these.

/// A sample summarised: median, minimum, maximum and how many runs.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl Stats {
    /// Summarise a sample (at least one value).
    pub fn of(values: &[f64]) -> Stats {
        let mut v = values.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Stats {
            median,
            min: v[0],
            max: v[n - 1],
            runs: n,
        }
    }

    /// `1234 ms (1200–1300, n=5)`.
    pub fn ms(&self) -> String {
        format!(
            "{} ms ({}–{}, n={})",
            num(self.median),
            num(self.min),
            num(self.max),
            self.runs
        )
    }

    /// `0.62× (0.55–0.70, n=5)`.
    pub fn ratio(&self) -> String {
        format!(
            "{:.2}× ({:.2}–{:.2}, n={})",
            self.median, self.min, self.max, self.runs
        )
    }

    /// `12,345 (12,000–13,000, n=5)` with a unit.
    pub fn count(&self, unit: &str) -> String {
        format!(
            "{} {unit} ({}–{}, n={})",
            num(self.median),
            num(self.min),
            num(self.max),
            self.runs
        )
    }
}

/// A number with thousands separators, rounded to an integer (one decimal under 10).
pub fn num(x: f64) -> String {
    if x.abs() < 10.0 && x.fract() != 0.0 {
        return format!("{x:.1}");
    }
    let s = format!("{:.0}", x.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if x < 0.0 {
        format!("-{out}")
    } else {
        out
    }
}

/// Per-round ratios `a[i] / b[i]`, summarised.
pub fn ratios(a: &[f64], b: &[f64]) -> Stats {
    let r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    Stats::of(&r)
}

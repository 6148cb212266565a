//! `report.html`: the compliance report as one self-contained page (inline CSS; no
//! scripts, fonts, images or links outside the page) that prints well, from the template
//! `templates/report.html.jinja`. Everything is HTML-escaped, and the page is also
//! well-formed XML, so any XML parser can read it.

use minijinja::value::{Serde, Value};
use minijinja::AutoEscape;

use super::view;

const TEMPLATE: &str = include_str!("templates/report.html.jinja");

/// Render `report.html` from a report view built once for both compliance reports.
pub fn render_view(view: &view::ReportView) -> String {
    let mut env = super::template_env();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_template("report.html", TEMPLATE)
        .expect("the HTML template parses");
    env.get_template("report.html")
        .and_then(|t| t.render(Value::from(Serde(view))))
        .expect("the HTML template renders")
}

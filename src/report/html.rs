//! `report.html`: the compliance report as one self-contained page (inline CSS; no
//! scripts, fonts, images or links outside the page) that prints well, from the template
//! `templates/report.html.jinja`. Everything is HTML-escaped, and the page is also
//! well-formed XML, so any XML parser can read it.

use minijinja::value::Value;
use minijinja::AutoEscape;

const TEMPLATE: &str = include_str!("templates/report.html.jinja");

/// Write `report.html`, from a report view built once for both compliance reports, to
/// `out` as it renders.
pub fn write_view(view: &Value, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut env = super::template_env();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.add_filter("check_spans", |v: Value| super::view::check_spans(&v));
    env.add_template("report.html", TEMPLATE)
        .expect("the HTML template parses");
    let template = env
        .get_template("report.html")
        .expect("the HTML template was added");
    super::render_template_to(&template, view.clone(), out)
}

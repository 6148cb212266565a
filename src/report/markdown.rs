//! `report.md`: the compliance report as Markdown (GitHub-flavoured), from the template
//! `templates/report.md.jinja`. Its first line carries the digest for `report verify`.

use minijinja::value::Value;

use super::digest::markdown_marker;

const TEMPLATE: &str = include_str!("templates/report.md.jinja");

/// Text in a table cell or a paragraph: pipes and line breaks neutralised, and `<` or `&`
/// escaped where Markdown could read them as the start of HTML or an entity (`a < b` stays
/// readable as it is).
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        let next = chars.peek().copied();
        match c {
            '<' if next.is_some_and(|n| n.is_ascii_alphabetic() || "/!?".contains(n)) => {
                out.push_str("&lt;")
            }
            '&' if next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '#') => {
                out.push_str("&amp;")
            }
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// A code span that survives any content: a fence longer than any backtick run inside,
/// pipes escaped (GitHub tables split on them even in code), line breaks flattened.
fn code(value: &str) -> String {
    let flat = value.replace(['\r', '\n'], " ").replace('|', "\\|");
    let longest = flat.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest > 0 || flat.starts_with(' ') || flat.ends_with(' ') {
        format!("{fence} {flat} {fence}")
    } else {
        format!("{fence}{flat}{fence}")
    }
}

/// Write `report.md`, from a report view built once for both compliance reports, to `out`
/// as it renders, ending with a line break.
pub fn write_view(
    view: &Value,
    digest: &str,
    run_file: &str,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let mut env = super::template_env();
    env.add_filter("text", |v: String| text(&v));
    env.add_filter("code", |v: String| code(&v));
    env.add_filter("check_words", |v: Value| super::view::check_words(&v));
    env.add_template("report.md", TEMPLATE)
        .expect("the Markdown template parses");
    let ctx = minijinja::context! {
        marker => markdown_marker(digest, run_file),
        ..view.clone()
    };
    let template = env
        .get_template("report.md")
        .expect("the Markdown template was added");
    let mut out = super::LastByte::new(out);
    super::render_template_to(&template, ctx, &mut out)?;
    if out.last() != Some(b'\n') {
        std::io::Write::write_all(&mut out, b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_a_table_or_inject_html() {
        assert_eq!(text("a | b\n<script>"), "a \\| b &lt;script>");
        assert_eq!(text("x < 5 & y"), "x < 5 & y");
        assert_eq!(text("&amp;"), "&amp;amp;");
        assert_eq!(code("x > 0"), "`x > 0`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("a|b"), "`a\\|b`");
    }
}

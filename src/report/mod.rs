//! Renderers: the run record → terminal, JSON, JUnit, Markdown, HTML.

pub mod terminal;

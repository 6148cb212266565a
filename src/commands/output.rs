//! Terminal conventions shared by every command: colour only for a terminal without
//! NO_COLOR, tables via comfy-table.

use std::io::IsTerminal;

use comfy_table::{presets, Cell, Color, ContentArrangement, Table};

use crate::cli::ColorChoice;

/// How this run writes to the terminal.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Whether to emit colour.
    pub color: bool,
    /// Progress on long phases (stderr, terminals only, not with `--quiet`).
    pub progress: crate::progress::Progress,
}

impl Output {
    /// Decide from the flags, NO_COLOR and whether stdout (colour) and stderr (progress)
    /// are terminals.
    pub fn new(choice: ColorChoice, quiet: bool) -> Self {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        Output {
            color,
            progress: crate::progress::Progress::new(quiet),
        }
    }

    /// A new table in the house style.
    pub fn table(&self, header: &[&str]) -> Table {
        let mut t = Table::new();
        t.load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header.iter().map(|h| Cell::new(*h)));
        if !self.color {
            t.force_no_tty();
        } else {
            t.enforce_styling();
        }
        t
    }

    /// A cell coloured for its meaning when colour is on.
    pub fn status_cell(&self, text: &str, good: bool) -> Cell {
        let cell = Cell::new(text);
        if self.color {
            cell.fg(if good { Color::Green } else { Color::Red })
        } else {
            cell
        }
    }
}

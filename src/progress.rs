//! Progress on long phases (cluster start, migrations, spec compilation, probes): a spinner
//! with the phase and its elapsed time on stderr, only when stderr is a terminal and
//! `--quiet` was not given. Nothing at all is written otherwise, so logs and pipes stay
//! clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether this run shows progress.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    enabled: bool,
}

impl Progress {
    /// Progress on stderr when it is a terminal, unless `quiet`.
    pub fn new(quiet: bool) -> Self {
        Progress {
            enabled: !quiet && std::io::stderr().is_terminal(),
        }
    }

    /// No progress at all.
    pub fn hidden() -> Self {
        Progress { enabled: false }
    }

    /// Start a phase; the spinner disappears when the returned guard is dropped.
    pub fn phase(&self, message: &str) -> PhaseSpinner {
        if !self.enabled {
            return PhaseSpinner { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.tick();
        PhaseSpinner { bar: Some(bar) }
    }
}

/// A running phase's spinner; cleared from the terminal on drop.
pub struct PhaseSpinner {
    bar: Option<ProgressBar>,
}

impl Drop for PhaseSpinner {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

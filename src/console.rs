//! Printing that cannot panic. `println!` and `eprintln!` panic when the stream is gone: a
//! `check | head` closes stdout after a line, and a CI runner can close stderr. A lost line
//! must not turn a verdict into a crash (exit 101) or stop the reports being written, so
//! everything the tool prints goes through these macros, which drop what cannot be written.

/// `print!` to stdout, ignoring a stream that cannot be written.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `println!` to stdout, ignoring a stream that cannot be written.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprint!` to stderr, ignoring a stream that cannot be written.
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr().lock(), $($arg)*);
    }};
}

/// `eprintln!` to stderr, ignoring a stream that cannot be written.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

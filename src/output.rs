//! How kfpx talks to people: logging setup, error lines, colour rules, tables, spinners.
//! Data goes to stdout; logs, warnings and progress go to stderr.

use crate::cli::GlobalArgs;

/// Set up logging and colour from the global options (once, at start).
pub fn init(_global: &GlobalArgs) {}

/// Print a warning line on stderr (unless --quiet).
pub fn warn(msg: &str) {
    eprintln!("warning: {msg}");
}

/// Print the final error line on stderr.
pub fn error(err: &crate::Error) {
    eprintln!("error: {err}");
}

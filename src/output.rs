//! How kfpx talks to people: logging setup, error lines, colour rules, tables, spinners.
//!
//! Data goes to stdout; logs, warnings and progress go to stderr. [`init`] runs once in
//! `main_entry` from the global options; everything else here can be called from any command.
//!
//! # Logging (stderr)
//! * [`init`] installs a `tracing` subscriber writing `warning: …` / `info: …` / `debug: …`
//!   lines to stderr. Level: `-q` errors only, default warnings, `-v` info (steps, HTTP
//!   requests), `-vv` debug, `-vvv` trace. `KFPX_LOG` (an `EnvFilter` directive such as
//!   `kfpx=debug,reqwest=debug`) overrides the level.
//! * Use `tracing::{info, debug}!` for steps and HTTP lines (`-v`), [`warn`] for warnings,
//!   [`status`] for the few progress lines a user should see by default (e.g. "Pipeline
//!   created"; hidden by `-q`). Never log secrets.
//! * [`error`] prints the final error (always, even with `-q`): `error: <what, where>` and, for
//!   lines of the message starting with `cause:` / `help:`, indented lines below it (build such
//!   messages with [`with_help`]; other line breaks are joined into the first line). Ctrl-C
//!   (`Error::Interrupted`) is printed calmly, without `error:`, on a cleared line.
//!
//! # Colour
//! [`color_stderr`] / [`color_stdout`]: `--color always` → yes; `--color never` → no; `auto` →
//! no when `NO_COLOR` is set (non-empty), when `CI` is set, or when the stream is not a
//! terminal; else yes.
//!
//! # Data on stdout
//! * [`print_stdout`]`(text)`: writes text (adds a final newline if missing); a closed pipe
//!   (`kfpx … | head`) is not an error.
//! * [`print_json`]`(&value)` (pretty, with a final newline) and [`print_yaml`]`(&value)` for
//!   `--output json|yaml`. Use `BTreeMap`s or structs so that output is deterministic.
//! * [`FitTable`]`::new(&["Name", "Latest version", "Created"]).shrink(&[0, 1])`: a table in
//!   kedro-kubeflow's look fitted to [`table_width`] (`$COLUMNS`, else the terminal; none when
//!   piped), the shrinkable columns cut with `…`; `-o wide` prints it unfitted. Use [`age_of`]
//!   for timestamps people read ("2h ago").
//! * [`table`]`(&["Name", "ID"])` returns a plain `comfy_table::Table` in the same look (not
//!   fitted); add rows with `add_row(vec![..])`, then [`print_table`]`(&t)`.
//!
//! # Progress (stderr)
//! [`Progress::start`]`("Waiting for run …")` shows a spinner with the elapsed time when
//! stderr is a terminal, `CI` is unset and `-q` is not given; otherwise it falls back to plain
//! lines: [`Progress::set_message`] prints a line only when the message changes. Finish with
//! [`Progress::finish`]`(Some("Run succeeded"))` (the final line stays) or `finish(None)`.
//! While a spinner runs, log lines are printed above it, not through it.

use std::io::{IsTerminal, Write};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use owo_colors::OwoColorize;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::cli::{ColorChoice, GlobalArgs};
use crate::error::{Error, Result};

/// Output settings decided once at start-up from the global options and the environment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    pub color_stderr: bool,
    pub color_stdout: bool,
    pub quiet: bool,
    pub verbose: u8,
    /// Animated spinners allowed (stderr is a terminal, not CI, not quiet).
    pub spinner: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();
/// The spinner currently drawn on stderr, so log lines can be printed above it.
static ACTIVE_BAR: Mutex<Option<indicatif::ProgressBar>> = Mutex::new(None);

/// The environment facts colour and spinner decisions depend on (injectable for tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct Env {
    pub no_color: bool,
    pub ci: bool,
    pub stderr_tty: bool,
    pub stdout_tty: bool,
}

impl Env {
    pub fn from_process() -> Env {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        Env {
            no_color: set("NO_COLOR"),
            ci: set("CI"),
            stderr_tty: std::io::stderr().is_terminal(),
            stdout_tty: std::io::stdout().is_terminal(),
        }
    }
}

/// Decide the output settings (pure; [`init`] feeds it the real environment).
pub fn decide(choice: ColorChoice, quiet: bool, verbose: u8, env: Env) -> Settings {
    let auto = |tty: bool| tty && !env.no_color && !env.ci;
    let (color_stderr, color_stdout) = match choice {
        ColorChoice::Always => (true, true),
        ColorChoice::Never => (false, false),
        ColorChoice::Auto => (auto(env.stderr_tty), auto(env.stdout_tty)),
    };
    Settings {
        color_stderr,
        color_stdout,
        quiet,
        verbose,
        spinner: env.stderr_tty && !env.ci && !quiet,
    }
}

/// The settings in force (defaults, i.e. no colour and no spinner, before [`init`]).
pub fn settings() -> Settings {
    SETTINGS.get().copied().unwrap_or_default()
}

/// Colour allowed on stderr (logs, warnings, the error line).
pub fn color_stderr() -> bool {
    settings().color_stderr
}

/// Colour allowed on stdout (tables).
pub fn color_stdout() -> bool {
    settings().color_stdout
}

/// Set up logging and colour from the global options (once, at start).
pub fn init(global: &GlobalArgs) {
    let s = decide(
        global.color,
        global.quiet,
        global.verbose,
        Env::from_process(),
    );
    let _ = SETTINGS.set(s);
    let level = if s.quiet {
        "error"
    } else {
        match s.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    // Dependencies stay at warn below -vvv so that -v shows kfpx's own steps only.
    let default = if s.verbose >= 3 {
        level.to_string()
    } else {
        format!("{},kfpx={level}", if s.quiet { "error" } else { "warn" })
    };
    let filter = std::env::var("KFPX_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| StderrWriter)
        .event_format(LineFormat {
            ansi: s.color_stderr,
        })
        .try_init();
}

/// `<level>: <message> key=value…`, one line per event, no timestamps.
struct LineFormat {
    ansi: bool,
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = *event.metadata().level();
        let label = match level {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            tracing::Level::INFO => "info",
            tracing::Level::DEBUG => "debug",
            tracing::Level::TRACE => "trace",
        };
        if self.ansi {
            let styled = match level {
                tracing::Level::ERROR => label.red().bold().to_string(),
                tracing::Level::WARN => label.yellow().bold().to_string(),
                tracing::Level::INFO => label.green().to_string(),
                _ => label.dimmed().to_string(),
            };
            write!(writer, "{styled}: ")?;
        } else {
            write!(writer, "{label}: ")?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Writes to stderr, above the active spinner if there is one.
struct StderrWriter;

impl Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        with_stderr(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Run `f` (which writes to stderr) with the spinner, if any, hidden meanwhile.
fn with_stderr<R>(f: impl FnOnce() -> R) -> R {
    let bar = ACTIVE_BAR.lock().ok().and_then(|g| g.clone());
    match bar {
        Some(bar) => bar.suspend(f),
        None => f(),
    }
}

/// Print a warning line on stderr (unless --quiet).
pub fn warn(msg: impl AsRef<str>) {
    let msg = msg.as_ref();
    tracing::warn!(target: "kfpx", "{msg}");
}

/// Print a progress line a user should see by default on stderr (hidden by --quiet).
pub fn status(msg: impl AsRef<str>) {
    let msg = msg.as_ref();
    if settings().quiet {
        return;
    }
    with_stderr(|| eprintln!("{msg}"));
}

/// Print the final error on stderr: `error: <what is wrong, where>`, then at most a few
/// indented `cause:` / `help:` lines (as rustc and cargo do). See [`render_error`].
///
/// Ctrl-C while waiting is the user's own choice, not an error: the line is cleared (the
/// spinner's last frame and the terminal's `^C`) and the message printed without `error:`.
pub fn error(err: &Error) {
    if let Error::Interrupted(msg) = err {
        let clear = if std::io::stderr().is_terminal() {
            "\r\x1b[2K"
        } else {
            ""
        };
        let msg = crate::text::one_line(msg, usize::MAX);
        with_stderr(|| eprintln!("{clear}{msg}"));
        return;
    }
    // An error holding several problems (a config with many mistakes) prints one `error:` line
    // per problem.
    let color = color_stderr();
    for problem in err.problems() {
        let text = render_error(&problem, color);
        with_stderr(|| eprint!("{text}"));
    }
}

/// The text of an error as printed: the first line after `error: `; lines of the message that
/// start with `cause:` or `help:` become indented lines below it; any other extra lines are
/// joined onto the first line with "; " (so no message spreads over lines by accident).
///
/// Commands build such messages with [`with_help`].
pub fn render_error(msg: &str, color: bool) -> String {
    let mut first: Vec<&str> = Vec::new();
    let mut notes: Vec<(&str, &str)> = Vec::new();
    for line in msg.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("cause:") {
            notes.push(("cause", rest.trim()));
        } else if let Some(rest) = line.strip_prefix("help:") {
            notes.push(("help", rest.trim()));
        } else if notes.is_empty() {
            first.push(line);
        } else {
            // A continuation of the previous note (e.g. a traceback tail), indented below it.
            notes.push(("", line));
        }
    }
    let paint = |label: &str| -> String {
        match (color, label) {
            (false, _) => label.to_string(),
            (true, "error") => label.red().bold().to_string(),
            (true, "help") => label.cyan().bold().to_string(),
            (true, _) => label.bold().to_string(),
        }
    };
    let mut out = format!("{}: {}\n", paint("error"), first.join("; "));
    for (label, text) in notes {
        if label.is_empty() {
            out.push_str(&format!("  {text}\n"));
        } else {
            out.push_str(&format!("  {}: {text}\n", paint(label)));
        }
    }
    out
}

/// `msg` with indented `cause:` and `help:` lines for [`error`] (either may be empty).
pub fn with_help(msg: impl std::fmt::Display, cause: &str, help: &str) -> String {
    let mut out = msg.to_string();
    if !cause.is_empty() {
        out.push_str(&format!("\ncause: {cause}"));
    }
    if !help.is_empty() {
        out.push_str(&format!("\nhelp: {help}"));
    }
    out
}

/// Write data to stdout, with a final newline. A closed pipe ends output quietly.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let res = out
        .write_all(text.as_bytes())
        .and_then(|()| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .and_then(|()| out.flush());
    match res {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("write to", "stdout", e))
        }
        _ => Ok(()),
    }
}

/// Print a value as pretty JSON on stdout (`--output json`).
pub fn print_json<T: serde::Serialize + ?Sized>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Message(format!("cannot format the output as JSON: {e}")))?;
    print_stdout(&text)
}

/// Print a value as YAML on stdout (`--output yaml`).
pub fn print_yaml<T: serde::Serialize + ?Sized>(value: &T) -> Result<()> {
    let text = serde_yaml::to_string(value)
        .map_err(|e| Error::Message(format!("cannot format the output as YAML: {e}")))?;
    print_stdout(&text)
}

/// kedro-kubeflow's listing look: header, a line of dashes, columns separated by two spaces.
const PLAIN_STYLE: comfy_table::TableStyle = comfy_table::TableStyle::new()
    .header_lines(comfy_table::ContentLineStyle::none().junction(' '))
    .header_separator(comfy_table::LineStyle::none().fill('-').junction(' '))
    .content_lines(comfy_table::ContentLineStyle::none().junction(' '));

/// A table for stdout with the given column headers; add rows, then [`print_table`].
pub fn table(headers: &[&str]) -> comfy_table::Table {
    table_with(headers, color_stdout())
}

fn table_with(headers: &[&str], color: bool) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_style(PLAIN_STYLE)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .force_no_tty();
    if color {
        t.enforce_styling();
    }
    t.set_header(headers.iter().map(|h| {
        let cell = comfy_table::Cell::new(h);
        if color {
            cell.add_attribute(comfy_table::Attribute::Bold)
        } else {
            cell
        }
    }));
    t
}

/// Render a table as text: no padding before the first column, none after the last.
pub fn render_table(t: &comfy_table::Table) -> String {
    let mut out = String::new();
    for line in t.lines() {
        let line = line.strip_prefix(' ').unwrap_or(&line).trim_end();
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Print a table on stdout.
pub fn print_table(t: &comfy_table::Table) -> Result<()> {
    print_stdout(&render_table(t))
}

/// The width tables are fitted to: `$COLUMNS` when it is a number (as shells and `COLUMNS=100
/// kfpx …` set it), else the terminal's width when stdout is a terminal, else none (a pipe or
/// file gets whole rows).
pub fn table_width() -> Option<usize> {
    if let Some(cols) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        return Some(cols);
    }
    if std::io::stdout().is_terminal() {
        terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| w.0 as usize)
    } else {
        None
    }
}

/// A plain table fitted to a width: kedro-kubeflow's look (header, dashes, columns two spaces
/// apart), with the columns marked shrinkable cut with `…` until the rows fit. Commands build
/// one with [`FitTable::new`], add rows, and print it with [`FitTable::print`].
#[derive(Debug, Clone)]
pub struct FitTable {
    headers: Vec<String>,
    /// Columns that may be cut to fit (e.g. names), in the order they give up width.
    shrinkable: Vec<usize>,
    rows: Vec<Vec<String>>,
}

/// A shrinkable column keeps at least this many characters (or its header's width).
const MIN_COLUMN: usize = 12;

impl FitTable {
    pub fn new(headers: &[&str]) -> FitTable {
        FitTable {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            shrinkable: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Columns (by index) that may be cut with `…` to fit.
    pub fn shrink(mut self, columns: &[usize]) -> FitTable {
        self.shrinkable = columns.to_vec();
        self
    }

    pub fn add_row(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as text, fitted to `width` when given (a row may still exceed it when the
    /// columns that cannot shrink alone are wider).
    pub fn render(&self, width: Option<usize>, color: bool) -> String {
        use unicode_width::UnicodeWidthStr;
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.width()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(n) {
                widths[i] = widths[i].max(cell.width());
            }
        }
        if let Some(limit) = width {
            let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * n.saturating_sub(1);
            // Take one character at a time from the widest shrinkable column above its floor.
            while total(&widths) > limit {
                let candidate = self
                    .shrinkable
                    .iter()
                    .copied()
                    .filter(|&i| i < n && widths[i] > MIN_COLUMN.max(self.headers[i].width()))
                    .max_by_key(|&i| widths[i]);
                match candidate {
                    Some(i) => widths[i] -= 1,
                    None => break,
                }
            }
        }
        let mut out = String::new();
        let line = |cells: &[String], out: &mut String, bold: bool| {
            let mut text = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let cut = truncate(cell, *w);
                let pad = w.saturating_sub(cut.width());
                if i > 0 {
                    text.push_str("  ");
                }
                if bold {
                    text.push_str(&cut.bold().to_string());
                } else {
                    text.push_str(&cut);
                }
                if i + 1 < widths.len() {
                    text.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&self.headers, &mut out, color);
        let dashes: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        line(&dashes, &mut out, false);
        for row in &self.rows {
            line(row, &mut out, false);
        }
        out
    }

    /// Print on stdout, fitted to [`table_width`].
    pub fn print(&self) -> Result<()> {
        print_stdout(&self.render(table_width(), color_stdout()))
    }
}

/// `text` cut to `width` display columns, ending in `…` when cut.
pub fn truncate(text: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if text.width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// How long ago `then` was, for people: `just now`, `42s ago`, `5m ago`, `2h ago`, `3d ago`,
/// then the date (`2026-05-01`). A time in the future (clock skew) reads `just now`.
pub fn age(then: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let secs = (now - then).num_seconds();
    match secs {
        s if s < 5 => "just now".to_string(),
        s if s < 60 => format!("{s}s ago"),
        s if s < 3600 => format!("{}m ago", s / 60),
        s if s < 86_400 => format!("{}h ago", s / 3600),
        s if s < 30 * 86_400 => format!("{}d ago", s / 86_400),
        _ => then.format("%Y-%m-%d").to_string(),
    }
}

/// [`age`] of an RFC 3339 timestamp as KFP sends it; the text itself when it does not parse.
pub fn age_of(timestamp: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    match chrono::DateTime::parse_from_rfc3339(timestamp) {
        Ok(t) => age(t.with_timezone(&chrono::Utc), now),
        Err(_) => timestamp.to_string(),
    }
}

/// A spinner on a terminal, plain lines elsewhere. See the module docs.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last: Mutex<String>,
    quiet: bool,
}

impl Progress {
    /// Start showing `msg` (as a spinner, or as a first plain line).
    pub fn start(msg: impl Into<String>) -> Progress {
        let s = settings();
        Progress::start_with(msg.into(), s.spinner, s.quiet)
    }

    fn start_with(msg: String, spinner: bool, quiet: bool) -> Progress {
        let bar = if spinner {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            {
                bar.set_style(style);
            }
            bar.set_message(msg.clone());
            bar.enable_steady_tick(Duration::from_millis(100));
            if let Ok(mut active) = ACTIVE_BAR.lock() {
                *active = Some(bar.clone());
            }
            Some(bar)
        } else {
            if !quiet {
                eprintln!("{msg}");
            }
            None
        };
        Progress {
            bar,
            last: Mutex::new(msg),
            quiet,
        }
    }

    /// Whether this shows an animated spinner (else plain lines).
    pub fn is_spinner(&self) -> bool {
        self.bar.is_some()
    }

    /// Update the message; in plain mode a line is printed only when it changed.
    pub fn set_message(&self, msg: impl Into<String>) {
        let msg = msg.into();
        match &self.bar {
            Some(bar) => bar.set_message(msg),
            None => {
                let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
                if *last != msg {
                    if !self.quiet {
                        eprintln!("{msg}");
                    }
                    *last = msg;
                }
            }
        }
    }

    /// Stop; print `msg` as the final line (unless --quiet).
    pub fn finish(self, msg: Option<&str>) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            if let Ok(mut active) = ACTIVE_BAR.lock() {
                *active = None;
            }
        }
        if let (Some(msg), false) = (msg, self.quiet) {
            eprintln!("{msg}");
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            if !bar.is_finished() {
                bar.finish_and_clear();
            }
            if let Ok(mut active) = ACTIVE_BAR.lock() {
                *active = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(stderr_tty: bool, stdout_tty: bool) -> Env {
        Env {
            no_color: false,
            ci: false,
            stderr_tty,
            stdout_tty,
        }
    }

    #[test]
    fn auto_colour_follows_each_stream_being_a_terminal() {
        let s = decide(ColorChoice::Auto, false, 0, env(true, false));
        assert!(s.color_stderr);
        assert!(!s.color_stdout);
        assert!(s.spinner);
        let s = decide(ColorChoice::Auto, false, 0, env(false, true));
        assert!(!s.color_stderr);
        assert!(s.color_stdout);
        assert!(!s.spinner);
    }

    #[test]
    fn no_color_and_ci_turn_auto_colour_off() {
        let s = decide(
            ColorChoice::Auto,
            false,
            0,
            Env {
                no_color: true,
                ..env(true, true)
            },
        );
        assert!(!s.color_stderr && !s.color_stdout);
        assert!(s.spinner, "NO_COLOR alone does not forbid a spinner");
        let s = decide(
            ColorChoice::Auto,
            false,
            0,
            Env {
                ci: true,
                ..env(true, true)
            },
        );
        assert!(!s.color_stderr && !s.color_stdout);
        assert!(!s.spinner, "no spinner in CI");
    }

    #[test]
    fn explicit_colour_choice_beats_the_environment() {
        let hostile = Env {
            no_color: true,
            ci: true,
            stderr_tty: false,
            stdout_tty: false,
        };
        let s = decide(ColorChoice::Always, false, 0, hostile);
        assert!(s.color_stderr && s.color_stdout);
        let s = decide(ColorChoice::Never, false, 0, env(true, true));
        assert!(!s.color_stderr && !s.color_stdout);
    }

    #[test]
    fn quiet_disables_the_spinner() {
        let s = decide(ColorChoice::Auto, true, 0, env(true, true));
        assert!(!s.spinner);
        assert!(s.quiet);
    }

    #[test]
    fn errors_print_cause_and_help_lines_indented() {
        let msg = with_help(
            "cannot reach KFP at http://127.0.0.1:9/",
            "connection refused",
            "the host came from conf/base/kubeflow.yaml:3",
        );
        assert_eq!(
            render_error(&msg, false),
            "error: cannot reach KFP at http://127.0.0.1:9/\n  cause: connection refused\n  \
             help: the host came from conf/base/kubeflow.yaml:3\n"
        );
        // Other extra lines stay on the first line.
        assert_eq!(render_error("a\n  b\n", false), "error: a; b\n");
    }

    #[test]
    fn tables_fit_the_width_by_cutting_the_shrinkable_columns() {
        let mut t = FitTable::new(&["Name", "Latest version", "Created"]).shrink(&[0, 1]);
        t.add_row(vec![
            "[spaceflights] data_science (env: production)".into(),
            "spaceflights-0123456-abcdef0123456789".into(),
            "2h ago".into(),
        ]);
        let wide = t.render(None, false);
        assert!(wide.lines().all(|l| !l.contains('…')), "{wide}");
        let fitted = t.render(Some(60), false);
        for l in fitted.lines() {
            assert!(unicode_width::UnicodeWidthStr::width(l) <= 60, "{fitted}");
        }
        assert!(
            fitted.contains('…') && fitted.contains("2h ago"),
            "{fitted}"
        );
        // Columns stay aligned.
        let lines: Vec<&str> = fitted.lines().collect();
        let col = |line: &str, needle: &str| {
            unicode_width::UnicodeWidthStr::width(&line[..line.find(needle).unwrap()])
        };
        assert_eq!(
            col(lines[0], "Created"),
            col(lines[2], "2h ago"),
            "{fitted}"
        );
    }

    #[test]
    fn ages_read_like_people_say_them() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(age_of("2026-05-01T10:00:00Z", now), "2h ago");
        assert_eq!(age_of("2026-05-01T11:59:30Z", now), "30s ago");
        assert_eq!(age_of("2026-05-01T11:55:00Z", now), "5m ago");
        assert_eq!(age_of("2026-04-28T12:00:00Z", now), "3d ago");
        assert_eq!(age_of("2025-01-02T12:00:00Z", now), "2025-01-02");
        assert_eq!(age_of("2026-05-01T13:00:00Z", now), "just now");
        assert_eq!(age_of("garbage", now), "garbage");
        assert_eq!(truncate("abcdef", 4), "abc…");
    }

    #[test]
    fn table_is_aligned_plain_text_without_colour() {
        let mut t = table_with(&["Name", "ID"], false);
        t.add_row(vec!["[demo] __default__ (env: local)", "7ec4"]);
        t.add_row(vec!["short", "abcdef-123"]);
        let text = render_table(&t);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("Name"), "{text}");
        assert!(lines[1].chars().all(|c| c == '-' || c == ' '), "{text}");
        // The second column starts at the same offset on every line.
        let col = lines[2].find("7ec4").unwrap();
        assert_eq!(lines[0].find("ID"), Some(col), "{text}");
        assert_eq!(lines[3].find("abcdef-123"), Some(col), "{text}");
        assert!(!text.contains('\u{1b}'), "no escape codes without colour");
    }

    #[test]
    fn table_header_is_bold_only_with_colour() {
        let mut t = table_with(&["Name"], true);
        t.add_row(vec!["x"]);
        assert!(render_table(&t).contains('\u{1b}'));
    }

    #[test]
    fn plain_progress_tracks_message_changes() {
        let p = Progress::start_with("Waiting".into(), false, true);
        assert!(!p.is_spinner());
        p.set_message("RUNNING");
        assert_eq!(*p.last.lock().unwrap(), "RUNNING");
        p.finish(None);
    }
}

//! kfpx: take Kedro projects to Kubeflow Pipelines. Behaviour: README.md; where things go and
//! the conventions: CONTRIBUTING.md.
//!
//! Data moves one way: config + graph → task graph → compiled document → file or KFP API.
//! The middle (config model, graph, grouping, compilers) is pure; I/O lives at the edges.

pub mod cli;
pub mod commands;
pub mod compile;
pub mod config;
pub mod error;
pub mod files;
pub mod graph;
pub mod kfp;
pub mod local;
pub mod output;
pub mod project;
pub mod redact;
pub mod signals;
pub mod text;

use std::process::ExitCode;

use clap::FromArgMatches;

pub use error::Error;

/// The binary's whole life: parse, run, turn the outcome into an exit code.
pub fn main_entry() -> ExitCode {
    // A bug must still end in one readable line, never a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown cause");
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "error: kfpx hit an internal error ({}{place}); please report it with the command \
             you ran",
            text::one_line(msg, usize::MAX)
        );
    }));
    let args = cli::normalize_args(std::env::args_os().collect());
    let matches = match cli::command()
        .color(clap_color(&args))
        .try_get_matches_from(&args)
    {
        Ok(m) => m,
        Err(e) => return clap_exit(e),
    };
    let mut cli = cli::Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // An empty KEDRO_ENV means "not set", as in Kedro: fall back to the default env.
    if cli.global.env.is_empty()
        && matches.value_source("env") == Some(clap::parser::ValueSource::EnvVariable)
    {
        cli.global.env = "local".into();
    }
    output::init(&cli.global);
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            output::error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

/// Print clap's help, version or usage error; help that cannot be written (a full disk, a
/// closed stdout) is an error, not a silent success. A closed pipe (`kfpx --help | head`) is
/// not.
fn clap_exit(e: clap::Error) -> ExitCode {
    use std::io::Write;
    let printed = e.print().and_then(|()| {
        if e.use_stderr() {
            std::io::stderr().flush()
        } else {
            std::io::stdout().flush()
        }
    });
    match printed {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("error: cannot write to stdout: {err}");
            ExitCode::from(error::exit::ERROR)
        }
        _ => ExitCode::from(e.exit_code() as u8),
    }
}

/// Colour of clap's own help and usage errors, which are printed before `--color` is parsed:
/// the last `--color` among the arguments, else clap's auto mode (terminal, NO_COLOR).
fn clap_color(args: &[std::ffi::OsString]) -> clap::ColorChoice {
    let mut choice = clap::ColorChoice::Auto;
    let mut iter = args.iter().skip(1).filter_map(|a| a.to_str());
    while let Some(arg) = iter.next() {
        let value = match arg {
            "--" => break,
            "--color" => iter.next(),
            _ => arg.strip_prefix("--color="),
        };
        choice = match value {
            Some("always") => clap::ColorChoice::Always,
            Some("never") => clap::ColorChoice::Never,
            Some(_) => clap::ColorChoice::Auto,
            None => choice,
        };
    }
    if choice == clap::ColorChoice::Auto && std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        choice = clap::ColorChoice::Never;
    }
    choice
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(args: &[&str]) -> clap::ColorChoice {
        let args: Vec<std::ffi::OsString> = args.iter().map(Into::into).collect();
        clap_color(&args)
    }

    #[test]
    fn clap_colour_follows_the_last_color_option() {
        assert_eq!(
            choice(&["kfpx", "--color", "never", "x"]),
            clap::ColorChoice::Never
        );
        assert_eq!(
            choice(&["kfpx", "ui", "--color=always"]),
            clap::ColorChoice::Always
        );
        assert_eq!(
            choice(&["kfpx", "--color=never", "--color", "always"]),
            clap::ColorChoice::Always
        );
        assert_eq!(
            choice(&["kfpx", "--", "--color", "never"]),
            choice(&["kfpx"]),
            "after -- it is an operand"
        );
    }
}

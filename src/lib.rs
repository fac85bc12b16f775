//! kfpx: take Kedro projects to Kubeflow Pipelines. See DESIGN in README.md.
//!
//! Data moves one way: config + graph → task graph → compiled document → file or KFP API.
//! The middle (config model, graph, grouping, compilers) is pure; I/O lives at the edges.

pub mod cli;
pub mod commands;
pub mod compile;
pub mod config;
pub mod error;
pub mod graph;
pub mod kfp;
pub mod output;
pub mod project;
pub mod redact;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

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
            output::one_line(msg)
        );
    }));
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let matches = cli::Cli::command()
        .color(clap_color(&args))
        .get_matches_from(&args);
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

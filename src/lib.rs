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
    let matches = cli::Cli::command().get_matches();
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

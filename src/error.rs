//! The top-level error: every module's typed error, plus outcomes that map to special exit
//! codes. `Display` is the one-line message the user reads.

use std::path::PathBuf;

/// Exit codes (documented in the README).
pub mod exit {
    pub const ERROR: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const RUN_FAILED: u8 = 3;
    pub const TIMEOUT: u8 = 4;
    /// Stopped by Ctrl-C (128 + SIGINT), as shells report it.
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Graph(#[from] crate::graph::GraphError),
    #[error(transparent)]
    Compile(#[from] crate::compile::CompileError),
    #[error(transparent)]
    Kfp(#[from] crate::kfp::KfpError),
    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Bad command-line input that clap could not catch (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Any other one-line failure, already phrased for the user.
    #[error("{0}")]
    Message(String),
    /// The run finished but did not succeed (exit 3).
    #[error("{0}")]
    RunFailed(String),
    /// Waiting for a run timed out (exit 4).
    #[error("{0}")]
    Timeout(String),
    /// The server speaks the other KFP API version (`speaks`); the message says what to set.
    #[error("{message}")]
    WrongApi {
        speaks: crate::config::KfpVersion,
        message: String,
    },
    /// The user pressed Ctrl-C while kfpx was waiting (exit 130).
    #[error("{0}")]
    Interrupted(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::RunFailed(_) => exit::RUN_FAILED,
            Error::Timeout(_) => exit::TIMEOUT,
            Error::Interrupted(_) => exit::INTERRUPTED,
            _ => exit::ERROR,
        }
    }

    /// The problems to print, one `error:` line each: several for a config with several
    /// mistakes, else the one message.
    pub fn problems(&self) -> Vec<String> {
        match self {
            Error::Config(many @ crate::config::ConfigError::Many { problems }) => {
                let mut out: Vec<String> = problems
                    .iter()
                    .take(crate::config::MAX_SHOWN)
                    .map(|p| p.to_string())
                    .collect();
                // the count line
                out.extend(many.to_string().lines().last().map(str::to_string));
                out
            }
            other => vec![other.to_string()],
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

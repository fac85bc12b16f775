//! `kfpx completions <shell>`: print a completion script for bash, zsh, fish, elvish or
//! PowerShell on stdout.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::commands::Ctx;
use crate::error::{Error, Result};
use crate::output;

pub fn run(_ctx: &Ctx, args: CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "kfpx", &mut buf);
    let text = String::from_utf8(buf)
        .map_err(|e| Error::Message(format!("completion script is not UTF-8: {e}")))?;
    output::print_stdout(&text)
}

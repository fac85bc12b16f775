//! `kfpx completions`.

use crate::cli::CompletionsArgs;
use crate::commands::Ctx;
use crate::error::Result;

pub fn run(_ctx: &Ctx, _args: CompletionsArgs) -> Result<()> {
    Err(super::not_available("completions"))
}

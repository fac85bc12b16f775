//! `kfpx compile`.

use crate::cli::CompileArgs;
use crate::commands::Ctx;
use crate::error::Result;

pub fn run(_ctx: &Ctx, _args: CompileArgs) -> Result<()> {
    Err(super::not_available("compile"))
}

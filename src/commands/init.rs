//! `kfpx init`.

use crate::cli::InitArgs;
use crate::commands::Ctx;
use crate::error::Result;

pub fn run(_ctx: &Ctx, _args: InitArgs) -> Result<()> {
    Err(super::not_available("init"))
}

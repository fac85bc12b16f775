//! `kfpx ui`.

use crate::cli::UiArgs;
use crate::commands::Ctx;
use crate::error::Result;

pub fn run(_ctx: &Ctx, _args: UiArgs) -> Result<()> {
    Err(super::not_available("ui"))
}

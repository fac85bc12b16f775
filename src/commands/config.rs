//! `kfpx config`.

use crate::cli::ConfigArgs;
use crate::commands::Ctx;
use crate::error::Result;

pub fn run(_ctx: &Ctx, _args: ConfigArgs) -> Result<()> {
    Err(super::not_available("config"))
}

//! `kfpx graph`.

use crate::cli::GraphArgs;
use crate::commands::Ctx;
use crate::error::Result;

pub fn run(_ctx: &Ctx, _args: GraphArgs) -> Result<()> {
    Err(super::not_available("graph"))
}

//! `kfpx list-pipelines`.

use crate::cli::ListPipelinesArgs;
use crate::commands::Ctx;
use crate::error::Result;

pub fn run(_ctx: &Ctx, _args: ListPipelinesArgs) -> Result<()> {
    Err(super::not_available("list-pipelines"))
}

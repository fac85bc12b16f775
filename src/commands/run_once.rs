//! `kfpx run-once`.

use crate::cli::RunOnceArgs;
use crate::commands::Ctx;
use crate::error::Result;

pub fn run(_ctx: &Ctx, _args: RunOnceArgs) -> Result<()> {
    Err(super::not_available("run-once"))
}

//! `kfpx schedule`.

use crate::cli::ScheduleArgs;
use crate::commands::Ctx;
use crate::error::Result;

pub fn run(_ctx: &Ctx, _args: ScheduleArgs) -> Result<()> {
    Err(super::not_available("schedule"))
}

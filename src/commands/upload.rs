//! `kfpx upload-pipeline`.

use crate::cli::UploadArgs;
use crate::commands::Ctx;
use crate::error::Result;

pub fn run(_ctx: &Ctx, _args: UploadArgs) -> Result<()> {
    Err(super::not_available("upload-pipeline"))
}

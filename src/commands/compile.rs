//! `kfpx compile`: build the pipeline document and write it to a file (atomically) or stdout.

use std::path::{Path, PathBuf};

use crate::cli::CompileArgs;
use crate::commands::build;
use crate::commands::Ctx;
use crate::config::KfpVersion;
use crate::error::{Error, Result};
use crate::output;

pub fn run(ctx: &Ctx, args: CompileArgs) -> Result<()> {
    let to_stdout = args.file.as_os_str() == "-";
    // Check the destination before doing any work.
    let dir = if to_stdout {
        None
    } else {
        Some(check_output(&args.file)?)
    };
    let prepared =
        build::prepare_showing(ctx, &args.build, &args.params.items(), build::Show::Always)?;
    let c = &prepared.compiled;
    if dir.is_none() {
        // A closed pipe (`kfpx compile -o - | head`) is a quiet success, as in ripgrep.
        output::print_stdout(&c.yaml)?;
        std::mem::forget(prepared);
        return Ok(());
    }
    crate::files::write_atomic(&args.file, c.yaml.as_bytes())?;
    let (pipeline, tasks) = (prepared.pipeline.clone(), prepared.tasks);
    let format = match c.kfp_version {
        KfpVersion::V2 => "KFP v2 IR",
        KfpVersion::V1 => "Argo Workflow for KFP v1",
    };
    // The process ends right after: skip freeing a document of up to tens of megabytes.
    std::mem::forget(prepared);
    output::status(format!(
        "Compiled {} ({} task{}, {format}) to {}",
        pipeline,
        tasks,
        if tasks == 1 { "" } else { "s" },
        args.file.display()
    ));
    Ok(())
}

/// The directory the output goes to, after checking the extension and that the directory exists.
fn check_output(path: &Path) -> Result<PathBuf> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("yaml" | "yml") => {}
        Some(other) => {
            return Err(Error::Usage(format!(
                "cannot write {}: unsupported extension .{other}; kfpx writes YAML, name the file *.yaml or *.yml (or use -f - for stdout)",
                path.display()
            )))
        }
        None => {
            return Err(Error::Usage(format!(
                "cannot write {}: the output file needs a .yaml or .yml extension (or use -f - for stdout)",
                path.display()
            )))
        }
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::Message(format!(
            "cannot write {}: directory {} does not exist; create it first or choose another -f",
            path.display(),
            dir.display()
        )));
    }
    Ok(dir)
}

//! A pod's file system, as far as a Kedro task sees it: the project as the image holds it (its
//! code and `conf/`), with the pod's mounts on top. Built per task attempt from real directories,
//! copies of small files and links to the rest (data, virtualenvs, large files); files a command
//! writes into the project root itself (such as the `config.yaml` kfpx's parameter steps write) stay in that
//! task's own directory, as they stay in their own pod.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Entries of the project root a pod does not see: kfpx's own state (which holds the runs).
const HIDDEN: [&str; 1] = [".kfpx"];
/// Top-level directories linked as a whole rather than rebuilt: the data (shared, as pods
/// share remote storage when there is no volume), virtualenvs and other tool state.
const LINKED_WHOLE: [&str; 5] = ["data", "venv", "node_modules", "__pycache__", "logs"];
/// Most directories rebuilt in one view (a project tree larger than this is linked whole
/// below that point).
const MAX_DIRS: usize = 2000;

/// Build `view` as the project `root` with `mounts` (relative path in the project → local
/// directory) in place. Directories are real (code such as Kedro's `bootstrap_project` resolves
/// `src/` and checks it lies inside the working directory), small files in them copies, files
/// of the root and large files links to the project's; `data/`, hidden entries (`.venv`, `.git`) and tool directories are linked whole;
/// mounts replace what the project has at their path.
pub fn build(root: &Path, view: &Path, mounts: &BTreeMap<PathBuf, PathBuf>) -> std::io::Result<()> {
    std::fs::create_dir_all(view)?;
    let mut budget = MAX_DIRS;
    link_children(root, view, Path::new(""), mounts, &mut budget)
}

fn link_children(
    src: &Path,
    dst: &Path,
    rel: &Path,
    mounts: &BTreeMap<PathBuf, PathBuf>,
    budget: &mut usize,
) -> std::io::Result<()> {
    let mut names: Vec<std::ffi::OsString> = match std::fs::read_dir(src) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    // Mount points that do not exist in the project still appear.
    for m in mounts.keys() {
        if let Ok(rest) = m.strip_prefix(rel) {
            if let Some(Component::Normal(first)) = rest.components().next() {
                if !names.iter().any(|n| n == first) {
                    names.push(first.to_os_string());
                }
            }
        }
    }
    for name in names {
        if rel.as_os_str().is_empty() && HIDDEN.iter().any(|h| name == *h) {
            continue;
        }
        let child_rel = rel.join(&name);
        let target = dst.join(&name);
        if let Some(local) = mounts.get(&child_rel) {
            std::os::unix::fs::symlink(local, &target)?;
        } else if mounts.keys().any(|m| m.starts_with(&child_rel)) {
            std::fs::create_dir_all(&target)?;
            link_children(&src.join(&name), &target, &child_rel, mounts, budget)?;
        } else if *budget > 0 && rebuild(&src.join(&name), &name, rel) {
            *budget -= 1;
            std::fs::create_dir(&target)?;
            link_children(&src.join(&name), &target, &child_rel, mounts, budget)?;
        } else {
            place_file(&src.join(&name), &target, rel.as_os_str().is_empty())?;
        }
    }
    Ok(())
}

/// Files inside rebuilt directories are copied when small (Kedro's config loader globs with
/// fsspec, which skips symbolic links, and a pod owns its copy of the image's files); large
/// files and entries of the project root are linked.
const COPY_MAX: u64 = 1 << 20;

fn place_file(src: &Path, dst: &Path, top: bool) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(src)?;
    if !top && meta.is_file() && meta.len() <= COPY_MAX {
        std::fs::copy(src, dst)?;
        Ok(())
    } else {
        std::os::unix::fs::symlink(src, dst)
    }
}

/// Copy a directory tree (files and links; `dst` must not exist).
pub fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    let rd = match std::fs::read_dir(src) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in rd {
        let e = e?;
        let ty = e.file_type()?;
        let to = dst.join(e.file_name());
        if ty.is_dir() {
            copy_tree(&e.path(), &to)?;
        } else if ty.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path())?, &to)?;
        } else {
            std::fs::copy(e.path(), &to)?;
        }
    }
    Ok(())
}

/// Whether a project directory is rebuilt in the view (else linked whole).
fn rebuild(path: &Path, name: &std::ffi::OsStr, rel: &Path) -> bool {
    let n = name.to_string_lossy();
    let top = rel.as_os_str().is_empty();
    let linked =
        n.starts_with('.') || n == "__pycache__" || (top && LINKED_WHOLE.contains(&n.as_ref()));
    !linked && std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// Replace the image's project root in `s` by `local` where it starts a path (`/home/kedro`,
/// `/home/kedro/…`, not `/home/kedrox`).
pub fn map_root(s: &str, image_root: &str, local: &str) -> String {
    if !s.contains(image_root) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 64);
    let mut rest = s;
    while let Some(pos) = rest.find(image_root) {
        let after = &rest[pos + image_root.len()..];
        let boundary_after = after
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'));
        let boundary_before = rest[..pos]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.' || c == '/'));
        out.push_str(&rest[..pos]);
        if boundary_after && boundary_before {
            out.push_str(local);
        } else {
            out.push_str(image_root);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_mapped_only_where_a_path_starts() {
        let m = |s| map_root(s, "/home/kedro", "/tmp/v");
        assert_eq!(
            m("cp -r /home/kedro/data/* /home/kedro/datavolume"),
            "cp -r /tmp/v/data/* /tmp/v/datavolume"
        );
        assert_eq!(m("/home/kedro"), "/tmp/v");
        assert_eq!(m("/home/kedrox/a"), "/home/kedrox/a");
        assert_eq!(m("/x/home/kedro/a"), "/x/home/kedro/a");
        assert_eq!(m("path=/home/kedro/a"), "path=/tmp/v/a");
    }

    #[test]
    fn view_links_the_project_and_puts_mounts_on_top() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("p");
        std::fs::create_dir_all(root.join("conf/base")).unwrap();
        std::fs::create_dir_all(root.join("data/01_raw")).unwrap();
        std::fs::create_dir_all(root.join(".kfpx/runs")).unwrap();
        std::fs::write(root.join("pyproject.toml"), "x").unwrap();
        let vol = tmp.path().join("vol");
        std::fs::create_dir_all(&vol).unwrap();
        let extra = tmp.path().join("extra");
        std::fs::create_dir_all(&extra).unwrap();
        let mounts = BTreeMap::from([
            (PathBuf::from("data"), vol.clone()),
            (PathBuf::from("conf/extra"), extra.clone()),
        ]);
        let view = tmp.path().join("view");
        build(&root, &view, &mounts).unwrap();
        assert_eq!(std::fs::read_link(view.join("data")).unwrap(), vol);
        assert_eq!(
            std::fs::read_link(view.join("pyproject.toml")).unwrap(),
            root.join("pyproject.toml")
        );
        assert!(!view.join("conf").is_symlink());
        assert!(!view.join("conf/base").is_symlink());
        std::fs::create_dir_all(root.join("src/pkg")).unwrap();
        std::fs::write(root.join("src/pkg/a.py"), "").unwrap();
        std::fs::remove_dir_all(&view).unwrap();
        build(&root, &view, &mounts).unwrap();
        assert!(view.join("src/pkg").is_dir() && !view.join("src/pkg").is_symlink());
        // Small files are the pod's own copies (fsspec's glob skips links).
        assert!(view.join("src/pkg/a.py").is_file() && !view.join("src/pkg/a.py").is_symlink());
        assert_eq!(std::fs::read_link(view.join("conf/extra")).unwrap(), extra);
        assert!(!view.join(".kfpx").exists());
    }
}

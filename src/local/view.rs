//! A pod's file system, as far as a Kedro task sees it: the project as the image holds it (its
//! code and `conf/`), with the pod's mounts on top.
//!
//! The project is walked once per run into an [`Image`]: its real directories, its small files
//! (copied once into the run's `image/` directory: the image's content as the run starts) and
//! links to the rest (hard links to the root's own files and large files, which stay shared
//! with the project as before; symbolic links to data, virtualenvs and hidden entries). Each
//! task attempt then gets its own view: real directories, hard links to the image's copies (no
//! new file per task: creating inodes was most of run-local's own cost), the same links, the
//! mounts. Files a command writes into the
//! view (such as the `config.yaml` kfpx's parameter steps write in the root) stay in that task's
//! own directories, as they stay in their own pod; a file of the image rewritten in place (the
//! one thing a hard link shares) is caught after the task by [`Image::changed`].

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

/// Entries of the project root a pod does not see: kfpx's own state (which holds the runs).
const HIDDEN: [&str; 1] = [".kfpx"];
/// Top-level directories linked as a whole rather than rebuilt: the data (shared, as pods
/// share remote storage when there is no volume), virtualenvs and other tool state.
const LINKED_WHOLE: [&str; 5] = ["data", "venv", "node_modules", "__pycache__", "logs"];
/// Most directories rebuilt in one view (a project tree larger than this is linked whole
/// below that point).
const MAX_DIRS: usize = 2000;

/// The project as the image holds it, walked once per run.
#[derive(Debug)]
pub struct Image {
    project_root: PathBuf,
    /// Where the run's copies of the small files are.
    dir: PathBuf,
    /// Parents before children.
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    rel: PathBuf,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Dir,
    /// A symbolic link to this path of the project (a directory, a link, a special file).
    Link(PathBuf),
    /// A file of the project a view shares with it (the root's own files, large files), as a
    /// hard link: a regular file to the task, as in the image, and no new inode; a symbolic
    /// link where the file system refuses.
    Shared(PathBuf),
    /// A small file copied into the image directory; a view hard-links it.
    File(FileStamp),
}

/// What identifies the content of an image file: rewriting it in place changes the size or
/// the modification time (`ctime` is no use: every hard link changes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    ino: u64,
    len: u64,
    mtime: Option<SystemTime>,
}

impl FileStamp {
    fn of(path: &Path) -> std::io::Result<FileStamp> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::symlink_metadata(path)?;
        Ok(FileStamp {
            ino: m.ino(),
            len: m.len(),
            mtime: m.modified().ok(),
        })
    }
}

impl Image {
    /// Walk the project `root` and copy its small files into `dir` (which must not exist).
    pub fn snapshot(root: &Path, dir: &Path) -> std::io::Result<Image> {
        std::fs::create_dir_all(dir)?;
        let mut image = Image {
            project_root: root.to_path_buf(),
            dir: dir.to_path_buf(),
            entries: Vec::new(),
        };
        let mut budget = MAX_DIRS;
        image.walk(Path::new(""), &mut budget)?;
        Ok(image)
    }

    fn walk(&mut self, rel: &Path, budget: &mut usize) -> std::io::Result<()> {
        let src = self.project_root.join(rel);
        let mut names: Vec<std::ffi::OsString> = match std::fs::read_dir(&src) {
            Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        names.sort();
        let top = rel.as_os_str().is_empty();
        for name in names {
            if top && HIDDEN.iter().any(|h| name == *h) {
                continue;
            }
            let child_rel = rel.join(&name);
            let path = src.join(&name);
            if *budget > 0 && rebuild(&path, &name, rel) {
                *budget -= 1;
                std::fs::create_dir(self.dir.join(&child_rel))?;
                self.entries.push(Entry {
                    rel: child_rel.clone(),
                    kind: Kind::Dir,
                });
                self.walk(&child_rel, budget)?;
                continue;
            }
            let meta = std::fs::symlink_metadata(&path)?;
            let kind = if !top && meta.is_file() && meta.len() <= COPY_MAX {
                let copy = self.dir.join(&child_rel);
                std::fs::copy(&path, &copy)?;
                Kind::File(FileStamp::of(&copy)?)
            } else if meta.is_file() {
                Kind::Shared(path)
            } else {
                Kind::Link(path)
            };
            self.entries.push(Entry {
                rel: child_rel,
                kind,
            });
        }
        Ok(())
    }

    /// Build `view` (which must not exist) as the image with `mounts` (relative path in the
    /// project → local directory) in place: a mount replaces what the image has at its path,
    /// and the directories above a mount point the project lacks are created.
    pub fn view(&self, view: &Path, mounts: &BTreeMap<PathBuf, PathBuf>) -> std::io::Result<()> {
        // A mount inside something the image links whole (`data/x` when `data/` is a link)
        // needs that directory rebuilt around it: the walker of the project does that.
        let below_link = mounts.keys().any(|m| {
            self.entries
                .iter()
                .any(|e| !matches!(e.kind, Kind::Dir) && m.starts_with(&e.rel) && *m != e.rel)
        });
        if below_link {
            return build(&self.project_root, view, mounts);
        }
        std::fs::create_dir_all(view)?;
        for e in &self.entries {
            if mounts.keys().any(|m| e.rel.starts_with(m)) {
                continue;
            }
            let target = view.join(&e.rel);
            match &e.kind {
                Kind::Dir => std::fs::create_dir(&target)?,
                Kind::Link(to) => std::os::unix::fs::symlink(to, &target)?,
                Kind::Shared(file) => {
                    if std::fs::hard_link(file, &target).is_err() {
                        std::os::unix::fs::symlink(file, &target)?;
                    }
                }
                Kind::File(_) => {
                    let copy = self.dir.join(&e.rel);
                    // A hard link: no new file. Should the file system refuse (too many
                    // links), the view gets its own copy.
                    if std::fs::hard_link(&copy, &target).is_err() {
                        std::fs::copy(&copy, &target)?;
                    }
                }
            }
        }
        for (m, local) in mounts {
            if let Some(parent) = m.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(view.join(parent))?;
            }
            std::os::unix::fs::symlink(local, view.join(m))?;
        }
        Ok(())
    }

    /// The image's files as they are now (path relative to the project, stamp), to compare
    /// with [`Image::changed`] later.
    pub fn stamps(&self) -> Vec<(PathBuf, FileStamp)> {
        self.entries
            .iter()
            .filter_map(|e| match e.kind {
                Kind::File(s) => Some((e.rel.clone(), s)),
                _ => None,
            })
            .collect()
    }

    /// The first file of `stamps` whose copy in the image no longer matches its stamp (a task
    /// rewrote it in place through its hard link); its stamp is updated, so each change is
    /// reported once.
    pub fn changed(&self, stamps: &mut [(PathBuf, FileStamp)]) -> Option<PathBuf> {
        for (rel, stamp) in stamps.iter_mut() {
            let now = FileStamp::of(&self.dir.join(&*rel)).ok();
            if now != Some(*stamp) {
                if let Some(n) = now {
                    *stamp = n;
                }
                return Some(rel.clone());
            }
        }
        None
    }
}

/// Build `view` as the project `root` with `mounts` (relative path in the project → local
/// directory) in place, walking the project (what [`Image::view`] does from its walk, used
/// when a mount lies inside a directory the image links whole). Directories are real (code
/// such as Kedro's `bootstrap_project` resolves `src/` and checks it lies inside the working
/// directory), small files in them copies, files of the root and large files links to the
/// project's; `data/`, hidden entries (`.venv`, `.git`) and tool directories are linked whole;
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

    fn ino(p: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(p).unwrap().ino()
    }

    /// A project with conf/, src/ and data/, its image and two task views of it.
    fn two_views() -> (tempfile::TempDir, PathBuf, Image, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("p");
        std::fs::create_dir_all(root.join("conf/base")).unwrap();
        std::fs::create_dir_all(root.join("src/pkg")).unwrap();
        std::fs::create_dir_all(root.join("data/01_raw")).unwrap();
        std::fs::create_dir_all(root.join(".kfpx/runs")).unwrap();
        std::fs::write(root.join("conf/base/catalog.yml"), "a: 1\n").unwrap();
        std::fs::write(root.join("src/pkg/a.py"), "x = 1\n").unwrap();
        std::fs::write(root.join("pyproject.toml"), "x").unwrap();
        let image = Image::snapshot(&root, &tmp.path().join("image")).unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        image.view(&a, &BTreeMap::new()).unwrap();
        image.view(&b, &BTreeMap::new()).unwrap();
        (tmp, root, image, a, b)
    }

    #[test]
    fn views_of_one_image_share_no_file_a_task_can_write() {
        let (tmp, root, image, a, b) = two_views();
        // The image's small files: hard links to the run's one copy, not the project's file.
        let copy = tmp.path().join("image/conf/base/catalog.yml");
        assert_eq!(ino(&a.join("conf/base/catalog.yml")), ino(&copy));
        assert_ne!(ino(&copy), ino(&root.join("conf/base/catalog.yml")));
        assert!(a.join("conf/base").is_dir() && !a.join("conf/base").is_symlink());
        assert!(a.join("src/pkg").is_dir() && !a.join("src/pkg").is_symlink());
        assert_eq!(
            std::fs::read_link(a.join("data")).unwrap(),
            root.join("data")
        );
        assert!(!a.join(".kfpx").exists());
        // The root's own files: the project's, as regular files (fsspec's glob skips links).
        assert!(!a.join("pyproject.toml").is_symlink());
        assert_eq!(
            ino(&a.join("pyproject.toml")),
            ino(&root.join("pyproject.toml"))
        );
        // New files, replaced files and removed files stay in the view that made them.
        std::fs::write(a.join("config.yaml"), "run: {}").unwrap();
        std::fs::write(a.join("conf/base/new.yml"), "n: 1").unwrap();
        std::fs::write(a.join("src/pkg/tmp.py"), "").unwrap();
        std::fs::write(a.join("src/pkg/a.py.new"), "x = 2\n").unwrap();
        std::fs::rename(a.join("src/pkg/a.py.new"), a.join("src/pkg/a.py")).unwrap();
        std::fs::remove_file(a.join("conf/base/catalog.yml")).unwrap();
        assert!(!b.join("config.yaml").exists());
        assert!(!b.join("conf/base/new.yml").exists());
        assert!(!b.join("src/pkg/tmp.py").exists());
        assert_eq!(
            std::fs::read_to_string(b.join("src/pkg/a.py")).unwrap(),
            "x = 1\n"
        );
        assert_eq!(
            std::fs::read_to_string(b.join("conf/base/catalog.yml")).unwrap(),
            "a: 1\n"
        );
        // None of that is a change of the image.
        let mut stamps = image.stamps();
        assert_eq!(stamps.len(), 2);
        assert_eq!(image.changed(&mut stamps), None);
        // The project is untouched, and a view built later is the image of the run's start.
        assert_eq!(
            std::fs::read_to_string(root.join("src/pkg/a.py")).unwrap(),
            "x = 1\n"
        );
        std::fs::write(root.join("conf/base/catalog.yml"), "a: 2\n").unwrap();
        let c = tmp.path().join("c");
        image.view(&c, &BTreeMap::new()).unwrap();
        assert_eq!(
            std::fs::read_to_string(c.join("conf/base/catalog.yml")).unwrap(),
            "a: 1\n"
        );
    }

    #[test]
    fn a_file_of_the_image_rewritten_in_place_is_reported_once() {
        let (_tmp, _root, image, a, b) = two_views();
        let mut stamps = image.stamps();
        // What the hard link shares: a rewrite in place (here a longer content).
        std::fs::write(a.join("conf/base/catalog.yml"), "a: 100\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(b.join("conf/base/catalog.yml")).unwrap(),
            "a: 100\n"
        );
        assert_eq!(
            image.changed(&mut stamps),
            Some(PathBuf::from("conf/base/catalog.yml"))
        );
        assert_eq!(image.changed(&mut stamps), None);
    }

    #[test]
    fn mounts_replace_the_image_and_a_mount_inside_a_linked_directory_rebuilds_it() {
        let (tmp, root, image, _a, _b) = two_views();
        let vol = tmp.path().join("vol");
        std::fs::create_dir_all(&vol).unwrap();
        let m = |k: &str| BTreeMap::from([(PathBuf::from(k), vol.clone())]);
        let v = tmp.path().join("v1");
        image.view(&v, &m("data")).unwrap();
        assert_eq!(std::fs::read_link(v.join("data")).unwrap(), vol);
        let v = tmp.path().join("v2");
        image.view(&v, &m("conf/base")).unwrap();
        assert_eq!(std::fs::read_link(v.join("conf/base")).unwrap(), vol);
        assert!(v.join("src/pkg/a.py").is_file());
        let v = tmp.path().join("v3");
        image.view(&v, &m("extra/deep")).unwrap();
        assert_eq!(std::fs::read_link(v.join("extra/deep")).unwrap(), vol);
        // data/ is linked whole in the image; a mount inside it needs a real data/ around it.
        let v = tmp.path().join("v4");
        image.view(&v, &m("data/02_intermediate")).unwrap();
        assert!(v.join("data").is_dir() && !v.join("data").is_symlink());
        assert_eq!(
            std::fs::read_link(v.join("data/02_intermediate")).unwrap(),
            vol
        );
        assert!(v.join("data/01_raw").exists());
        assert_eq!(
            std::fs::read_link(v.join("pyproject.toml")).unwrap(),
            root.join("pyproject.toml")
        );
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

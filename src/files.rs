//! The one way kfpx writes a file (compile output, `init`, the graph cache): atomically, so a
//! reader or a crash never sees a partial file.
//!
//! * The bytes go to `.kfpx-<pid>-<random>.tmp` in the target's directory, which is then
//!   renamed over the target.
//! * `-o link.yaml` where `link.yaml` is a symlink writes the link's target (followed to the
//!   end) and keeps the link, as `>` in a shell does.
//! * A replaced file keeps its permissions (a 0600 file stays 0600); a new file gets 0644.
//!   [`write_private`] (credentials) always leaves 0600, and its temporary file is 0600 from
//!   the start.
//! * While the temporary file exists, SIGINT/SIGTERM/SIGHUP remove it ([`crate::signals`]);
//!   a writer killed with -9 leaves it, so each write first removes `.kfpx-<pid>-*.tmp` files
//!   in that directory whose process no longer exists and that have not changed for
//!   [`STALE_AFTER`] (a writer in another PID namespace, e.g. a container sharing the
//!   directory, looks dead from here but keeps its file fresh while writing).
//! * No fsync: the rename makes the write atomic for other processes (as cargo does for its
//!   outputs); durability across a power cut is not worth ~100 ms on a busy disk.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A failed write: what was being done, to which path.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
pub struct WriteError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl From<WriteError> for crate::Error {
    fn from(e: WriteError) -> Self {
        crate::Error::io(e.action, e.path, e.source)
    }
}

const TMP_PREFIX: &str = ".kfpx-";
const TMP_SUFFIX: &str = ".tmp";
/// A dead writer's temporary file is removed once it is this old.
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(60);
/// Most symlinks followed (as Linux's ELOOP limit).
const MAX_LINKS: usize = 40;

/// The file a write to `path` should replace: `path`, or the end of its symlink chain.
pub fn resolve_target(path: &Path) -> std::io::Result<PathBuf> {
    let mut cur = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&cur) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&cur)?;
                cur = match cur.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(cur),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// Write `contents` to `path` atomically (see the module doc). Creates missing parent
/// directories.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    write(path, contents, false)
}

/// [`write_atomic`] for a file only its owner may read (stored credentials): 0600 whatever the
/// file had before.
pub fn write_private(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    write(path, contents, true)
}

fn write(path: &Path, contents: &[u8], private: bool) -> Result<(), WriteError> {
    let err = |action, path: &Path| {
        let path = path.to_path_buf();
        move |source| WriteError {
            action,
            path,
            source,
        }
    };
    let target = resolve_target(path).map_err(err("write", path))?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(err("create directory", &dir))?;
    remove_stale_temp_files(&dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!("{TMP_PREFIX}{}-", std::process::id()))
        .suffix(TMP_SUFFIX)
        .tempfile_in(&dir)
        .map_err(err("create a temporary file in", &dir))?;
    let _guard = crate::signals::TempFileGuard::new(tmp.path());
    tmp.write_all(contents)
        .and_then(|()| tmp.flush())
        .map_err(err("write", tmp.path()))?;
    // (tempfile creates the temporary file 0600 on Unix: private contents are never readable
    // by others, not even before this)
    let perms = match std::fs::metadata(&target) {
        _ if private => private_permissions(),
        Ok(meta) => Some(meta.permissions()),
        Err(_) => default_permissions(),
    };
    if let Some(perms) = perms {
        let _ = tmp.as_file().set_permissions(perms);
    }
    tmp.persist(&target)
        .map_err(|e| err("write", &target)(e.error))?;
    Ok(())
}

/// Remove `.kfpx-<pid>-*.tmp` files in `dir` left by a kfpx process that no longer runs.
fn remove_stale_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(pid) = stale_owner(name) else {
            continue;
        };
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= STALE_AFTER);
        if old && pid != std::process::id() && !crate::signals::process_alive(pid) {
            tracing::debug!("removing {name}, left by kfpx process {pid}");
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The process id in a temporary file name `.kfpx-<pid>-<random>.tmp`.
fn stale_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TMP_PREFIX)?.strip_suffix(TMP_SUFFIX)?;
    let (pid, random) = rest.split_once('-')?;
    if random.is_empty() {
        return None;
    }
    pid.parse().ok()
}

#[cfg(unix)]
fn default_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<std::fs::Permissions> {
    None
}

#[cfg(unix)]
fn private_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn private_permissions() -> Option<std::fs::Permissions> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn creates_parents_replaces_and_leaves_no_temp_files() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("a/b/file.yaml");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(names(path.parent().unwrap()), vec!["file.yaml"]);
    }

    #[cfg(unix)]
    #[test]
    fn new_files_are_0644_and_replaced_files_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        write_atomic(&path, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o644);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&path, b"y").unwrap();
        assert_eq!(mode(&path), 0o600, "a private file must stay private");
    }

    #[cfg(unix)]
    #[cfg(unix)]
    #[test]
    fn private_files_are_0600_even_when_they_were_not() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials.json");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        write_private(&path, b"{}").unwrap();
        assert_eq!(mode(&path), 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"{\"a\": 1}").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\": 1}");
        assert_eq!(names(dir.path()), ["credentials.json"]);
    }

    #[test]
    fn a_symlink_is_followed_and_kept() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("real")).unwrap();
        let target = tmp.path().join("real/out.yaml");
        std::fs::write(&target, "old").unwrap();
        let link = tmp.path().join("link.yaml");
        std::os::unix::fs::symlink("real/out.yaml", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(names(&tmp.path().join("real")), vec!["out.yaml"]);
        // a dangling link: the file it names is created
        let dangling = tmp.path().join("d.yaml");
        std::os::unix::fs::symlink("real/new.yaml", &dangling).unwrap();
        write_atomic(&dangling, b"n").unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("real/new.yaml")).unwrap(),
            "n"
        );
    }

    #[test]
    fn temp_files_of_dead_writers_are_removed_others_kept() {
        let tmp = tempfile::tempdir().unwrap();
        // pid 0x7ffffff0 does not exist; our own pid does
        let dead = format!(".kfpx-{}-abc.tmp", 0x7fff_fff0u32);
        let live = format!(".kfpx-{}-abc.tmp", std::process::id());
        // a dead writer's file that is still fresh: maybe another PID namespace's, kept
        let fresh_dead = format!(".kfpx-{}-new.tmp", 0x7fff_fff1u32);
        let long_ago = std::time::SystemTime::now() - STALE_AFTER * 2;
        for n in [&dead, &live, ".kfpx-x.tmp", "keep.yaml"] {
            let f = std::fs::File::create(tmp.path().join(n)).unwrap();
            f.set_modified(long_ago).unwrap();
        }
        std::fs::write(tmp.path().join(&fresh_dead), "being written").unwrap();
        write_atomic(&tmp.path().join("out.yaml"), b"o").unwrap();
        let mut want = vec![
            fresh_dead,
            live,
            ".kfpx-x.tmp".to_string(),
            "keep.yaml".into(),
            "out.yaml".into(),
        ];
        want.sort();
        assert_eq!(names(tmp.path()), want);
    }

    #[test]
    fn stale_owner_reads_only_our_names() {
        assert_eq!(stale_owner(".kfpx-123-AbC.tmp"), Some(123));
        assert_eq!(stale_owner(".kfpx-AbC.tmp"), None);
        assert_eq!(stale_owner(".kfpx-123-.tmp"), None);
        assert_eq!(stale_owner("kfpx-123-a.tmp"), None);
    }
}

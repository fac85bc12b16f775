//! Where the snapshot comes from: `--snapshot FILE`, a committed `kfpx-snapshot.json` in a
//! project with no Python sources (no `*.py` under `[tool.kedro] source_dir`, default `src`),
//! the cache under `<project>/.kfpx/`, or the probe.
//!
//! The cache holds one file per env, `.kfpx/snapshot-<env>.json`, with the key it was made
//! for: a SHA-256 of `pyproject.toml`, `src/**/*.py`, `conf/base/**`, `conf/<env>/**` (paths
//! and contents), the interpreter path, the env, the requested probe mode and the kfpx
//! version. Same key: no Python is started. A cache file that cannot be read or parsed is
//! ignored and rewritten. The file also records the mode that produced the snapshot (`lite`,
//! or `full` when asked for or after a lite fallback).
//!
//! `.kfpx/python` remembers the interpreter of the last successful probe, so that a command
//! without `--python` after one with it uses the same interpreter (see
//! [`crate::graph::probe::resolve_python`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::graph::probe::{ProbeMode, Probed};
use crate::graph::snapshot::{Snapshot, SNAPSHOT_VERSION};
use crate::graph::{GraphError, SnapshotOptions};
use crate::project::Project;

/// Directory of kfpx's per-project state, under the project root.
pub const CACHE_DIR: &str = ".kfpx";
/// A snapshot committed at the project root, used when there is no Python project to probe.
pub const PROJECT_SNAPSHOT: &str = "kfpx-snapshot.json";
/// File under [`CACHE_DIR`] naming the interpreter of the last successful probe.
pub const REMEMBERED_PYTHON: &str = "python";
/// Longest remembered interpreter path read back (a larger file is not ours).
const REMEMBERED_MAX: u64 = 4096;

#[derive(Serialize, Deserialize)]
struct CacheFile {
    key: String,
    /// The probe mode that produced the snapshot (`lite` or `full`); absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    probe_mode: Option<String>,
    snapshot: Snapshot,
}

/// The interpreter remembered in `<root>/.kfpx/python`, if the file holds an absolute path.
pub fn remembered_python(root: &Path) -> Option<PathBuf> {
    let path = root.join(CACHE_DIR).join(REMEMBERED_PYTHON);
    if std::fs::metadata(&path).ok()?.len() > REMEMBERED_MAX {
        return None;
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let line = text.lines().next()?.trim_end();
    let python = PathBuf::from(line);
    python.is_absolute().then_some(python)
}

/// Remember `python` for the project (best effort: a failure only costs the next command the
/// default interpreter choice). Bare names (`python3`, looked up on PATH) are not remembered.
fn remember_python(root: &Path, python: &Path) {
    if !python.is_absolute() || remembered_python(root).as_deref() == Some(python) {
        return;
    }
    let Some(text) = python.to_str() else { return };
    if text.contains('\n') {
        return;
    }
    let dir = root.join(CACHE_DIR);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        crate::files::write_atomic(&dir.join(REMEMBERED_PYTHON), format!("{text}\n").as_bytes())
            .map_err(|e| e.source)
    };
    if let Err(e) = write() {
        tracing::debug!("cannot remember the interpreter in {}: {e}", dir.display());
    }
}

/// `obtain_snapshot` with the probe passed in (tests count its calls).
pub fn obtain(
    project: &Project,
    opts: &SnapshotOptions,
    resolve_python: impl Fn(&Project, Option<&Path>) -> PathBuf,
    probe: impl Fn(&Project, &Path, ProbeMode) -> Result<Probed, GraphError>,
) -> Result<Snapshot, GraphError> {
    if let Some(file) = &opts.snapshot {
        tracing::debug!("reading the snapshot {}", file.display());
        return Snapshot::load(file);
    }
    let committed = project.root.join(PROJECT_SNAPSHOT);
    if !has_python_sources(&project.root) && committed.is_file() {
        tracing::debug!(
            "no Python sources to probe: using the committed {}",
            committed.display()
        );
        return Snapshot::load(&committed);
    }

    let mode = crate::graph::probe::resolve_mode(opts.probe_mode, opts.config_probe_mode)?;
    tracing::debug!("probe mode {}", mode.as_str());
    let python = resolve_python(project, opts.python.as_deref());
    let key = cache_key(project, &python, mode);
    let path = cache_path(project);
    if !opts.refresh {
        match read_cache(&path, &key) {
            Ok(Some((snapshot, made_by))) => {
                tracing::debug!(
                    "graph snapshot from the cache {} (made by a {} probe)",
                    path.display(),
                    made_by.as_deref().unwrap_or("kfpx")
                );
                return Ok(snapshot);
            }
            Ok(None) => tracing::debug!("no cached snapshot for this project state"),
            Err(why) => tracing::debug!("ignoring the cache {}: {why}", path.display()),
        }
    }

    let probed = probe(project, &python, mode)?;
    if let Err(e) = write_cache(&path, &key, &probed) {
        tracing::warn!(
            target: "kfpx",
            "cannot write the graph cache {}: {e}; the next command will probe the project again",
            path.display()
        );
    } else {
        remember_python(&project.root, &python);
    }
    Ok(probed.snapshot)
}

/// A project kfpx could probe: it has Python files in its source directory.
fn has_python_sources(root: &Path) -> bool {
    let mut files = BTreeSet::new();
    collect(&source_dir(root), Some("py"), 0, &mut files);
    !files.is_empty()
}

/// The project's Python source directory: `[tool.kedro] source_dir` of pyproject.toml, else
/// `src`.
fn source_dir(root: &Path) -> PathBuf {
    let configured = std::fs::read_to_string(root.join("pyproject.toml"))
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|t| {
            t.get("tool")?
                .get("kedro")?
                .get("source_dir")?
                .as_str()
                .map(str::to_string)
        });
    root.join(configured.as_deref().unwrap_or("src"))
}

/// `.kfpx/snapshot-<env>.json` (the env reduced to file-name characters).
pub fn cache_path(project: &Project) -> PathBuf {
    let env: String = project
        .env
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    project
        .root
        .join(CACHE_DIR)
        .join(format!("snapshot-{env}.json"))
}

/// The hex SHA-256 of everything the snapshot depends on.
pub fn cache_key(project: &Project, python: &Path, mode: ProbeMode) -> String {
    let mut h = Sha256::new();
    for part in [
        "kfpx-snapshot-cache",
        env!("CARGO_PKG_VERSION"),
        &SNAPSHOT_VERSION.to_string(),
        &project.env,
        &python.to_string_lossy(),
        mode.as_str(),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let root = &project.root;
    let mut files = BTreeSet::new();
    let pyproject = root.join("pyproject.toml");
    if pyproject.is_file() {
        files.insert(pyproject);
    }
    collect(&source_dir(root), Some("py"), 0, &mut files);
    collect(&root.join("conf").join("base"), None, 0, &mut files);
    collect(&root.join("conf").join(&project.env), None, 0, &mut files);
    for file in files {
        let rel = file.strip_prefix(root).unwrap_or(&file);
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        match std::fs::read(&file) {
            Ok(bytes) => {
                h.update((bytes.len() as u64).to_le_bytes());
                h.update(&bytes);
            }
            Err(_) => h.update(b"<unreadable>"),
        }
    }
    hex::encode(h.finalize())
}

/// Files under `dir` (recursively, `__pycache__` skipped), with extension `ext` if given.
fn collect(dir: &Path, ext: Option<&str>, depth: usize, out: &mut BTreeSet<PathBuf>) {
    if depth > 32 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if entry.file_name() != "__pycache__" {
                collect(&path, ext, depth + 1, out);
            }
        } else if ext.is_none_or(|e| path.extension().is_some_and(|x| x == e)) {
            out.insert(path);
        }
    }
}

/// The cached snapshot (and the probe mode that made it) if the cache file is for `key`; `Err`
/// says why a file is unusable.
fn read_cache(path: &Path, key: &str) -> Result<Option<(Snapshot, Option<String>)>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let file: CacheFile = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if file.snapshot.version != SNAPSHOT_VERSION {
        return Err(format!("snapshot version {}", file.snapshot.version));
    }
    Ok((file.key == key).then_some((file.snapshot, file.probe_mode)))
}

/// Write the cache atomically (temporary file in `.kfpx/`, then rename).
fn write_cache(path: &Path, key: &str, probed: &Probed) -> std::io::Result<()> {
    let dir = path.parent().expect("the cache path has a directory");
    std::fs::create_dir_all(dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.exists() {
        // Best effort: keep the cache out of version control.
        let _ = std::fs::write(&ignore, "# kfpx cache, safe to delete\n*\n");
    }
    let file = CacheFile {
        key: key.to_string(),
        probe_mode: Some(probed.mode.as_str().to_string()),
        snapshot: probed.snapshot.clone(),
    };
    let mut bytes = serde_json::to_vec(&file)?;
    bytes.push(b'\n');
    crate::files::write_atomic(path, &bytes).map_err(|e| e.source)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::snapshot::{PipelineDef, ProjectInfo, SNAPSHOT_FORMAT};
    use std::cell::Cell;

    fn snapshot(name: &str) -> Snapshot {
        Snapshot {
            format: SNAPSHOT_FORMAT.into(),
            version: SNAPSHOT_VERSION,
            project: ProjectInfo {
                name: name.into(),
                package: None,
                kedro_version: "1.0.0".into(),
            },
            env: Some("local".into()),
            pipelines: [("__default__".to_string(), PipelineDef { nodes: vec![] })].into(),
            datasets: Default::default(),
            parameters: serde_json::json!({}),
        }
    }

    fn project(dir: &Path) -> Project {
        std::fs::create_dir_all(dir.join("src/pkg")).unwrap();
        std::fs::create_dir_all(dir.join("conf/base")).unwrap();
        std::fs::create_dir_all(dir.join("conf/local")).unwrap();
        std::fs::write(dir.join("pyproject.toml"), "[tool.kedro]\n").unwrap();
        std::fs::write(dir.join("src/pkg/a.py"), "x = 1\n").unwrap();
        std::fs::write(dir.join("conf/base/catalog.yml"), "{}\n").unwrap();
        Project {
            root: dir.to_path_buf(),
            name: "p".into(),
            package: None,
            env: "local".into(),
        }
    }

    /// Runs `obtain` with a probe that counts its calls and returns a snapshot named `name`.
    fn run(p: &Project, opts: &SnapshotOptions, calls: &Cell<u32>, name: &str) -> Snapshot {
        obtain(
            p,
            opts,
            |_, explicit| explicit.map(Path::to_path_buf).unwrap_or("python3".into()),
            |_, _, mode| {
                calls.set(calls.get() + 1);
                Ok(Probed {
                    snapshot: snapshot(name),
                    mode,
                })
            },
        )
        .unwrap()
    }

    #[test]
    fn second_call_hits_the_cache_and_changes_miss_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        let calls = Cell::new(0);
        let opts = SnapshotOptions::default();
        assert_eq!(run(&p, &opts, &calls, "one").project.name, "one");
        assert_eq!(run(&p, &opts, &calls, "two").project.name, "one", "cached");
        assert_eq!(calls.get(), 1);
        assert!(dir.path().join(".kfpx/.gitignore").is_file());
        // The cache file says which probe mode made the snapshot.
        let file: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(cache_path(&p)).unwrap()).unwrap();
        assert_eq!(file["probe_mode"], "lite");

        // A source change, a conf change, another env file, another interpreter: probe again.
        std::fs::write(dir.path().join("src/pkg/a.py"), "x = 2\n").unwrap();
        assert_eq!(run(&p, &opts, &calls, "three").project.name, "three");
        std::fs::write(dir.path().join("conf/local/parameters.yml"), "a: 1\n").unwrap();
        run(&p, &opts, &calls, "four");
        let other_python = SnapshotOptions {
            python: Some("/opt/py/bin/python".into()),
            ..Default::default()
        };
        run(&p, &other_python, &calls, "five");
        assert_eq!(calls.get(), 4);
        // Files outside the key (data, notebooks, non-Python files in src) do not matter.
        std::fs::write(dir.path().join("src/pkg/README.md"), "hi\n").unwrap();
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/x.csv"), "a\n").unwrap();
        assert_eq!(run(&p, &other_python, &calls, "six").project.name, "five");
        assert_eq!(calls.get(), 4);
    }

    /// `run_config.probe_mode: full` makes the probe import everything (a project's opt-out of
    /// lite mode); `--probe-mode` wins over it; the cache records the mode and keys on it.
    #[test]
    fn the_config_and_the_flag_choose_the_probe_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        let calls = Cell::new(0);
        let recorded = || {
            let file: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(cache_path(&p)).unwrap()).unwrap();
            file["probe_mode"].as_str().unwrap().to_string()
        };
        let config_full = SnapshotOptions {
            config_probe_mode: Some(ProbeMode::Full),
            ..Default::default()
        };
        run(&p, &config_full, &calls, "full");
        assert_eq!(recorded(), "full");
        let flag_lite = SnapshotOptions {
            probe_mode: Some(ProbeMode::Lite),
            config_probe_mode: Some(ProbeMode::Full),
            ..Default::default()
        };
        assert_eq!(run(&p, &flag_lite, &calls, "lite").project.name, "lite");
        assert_eq!(recorded(), "lite");
        assert_eq!(calls.get(), 2, "another mode is another cache key");
    }

    #[test]
    fn refresh_probes_again() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        let calls = Cell::new(0);
        run(&p, &SnapshotOptions::default(), &calls, "one");
        let refresh = SnapshotOptions {
            refresh: true,
            ..Default::default()
        };
        assert_eq!(run(&p, &refresh, &calls, "two").project.name, "two");
        assert_eq!(
            run(&p, &SnapshotOptions::default(), &calls, "x")
                .project
                .name,
            "two"
        );
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn corrupt_cache_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let p = project(dir.path());
        let calls = Cell::new(0);
        let opts = SnapshotOptions::default();
        run(&p, &opts, &calls, "one");
        let path = cache_path(&p);
        for junk in ["{\"key\": \"trunc", "", "[1, 2]", "\u{0}\u{1}"] {
            std::fs::write(&path, junk).unwrap();
            assert_eq!(run(&p, &opts, &calls, "fresh").project.name, "fresh");
            // ... and the rebuilt cache is good again.
            assert_eq!(run(&p, &opts, &calls, "unused").project.name, "fresh");
        }
        assert_eq!(calls.get(), 5);
    }

    #[test]
    fn snapshot_option_and_committed_snapshot_skip_python() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(PROJECT_SNAPSHOT);
        std::fs::write(&file, snapshot("committed").to_json_pretty()).unwrap();
        let p = Project {
            root: dir.path().to_path_buf(),
            name: "p".into(),
            package: None,
            env: "local".into(),
        };
        let calls = Cell::new(0);
        let got = run(&p, &SnapshotOptions::default(), &calls, "probed");
        assert_eq!(got.project.name, "committed");
        let explicit = SnapshotOptions {
            snapshot: Some(file.clone()),
            ..Default::default()
        };
        assert_eq!(
            run(&p, &explicit, &calls, "probed").project.name,
            "committed"
        );
        assert_eq!(calls.get(), 0);

        // A pyproject.toml alone changes nothing; once the project has Python sources, the
        // committed file no longer stands in for them.
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.kedro]\nsource_dir = \"lib\"\n",
        )
        .unwrap();
        assert_eq!(
            run(&p, &SnapshotOptions::default(), &calls, "probed")
                .project
                .name,
            "committed"
        );
        std::fs::create_dir_all(dir.path().join("src/pkg")).unwrap();
        std::fs::write(dir.path().join("src/pkg/a.py"), "").unwrap();
        assert_eq!(
            run(&p, &SnapshotOptions::default(), &calls, "probed")
                .project
                .name,
            "committed",
            "src/ is not the source_dir"
        );
        std::fs::create_dir_all(dir.path().join("lib/pkg")).unwrap();
        std::fs::write(dir.path().join("lib/pkg/a.py"), "").unwrap();
        assert_eq!(
            run(&p, &SnapshotOptions::default(), &calls, "probed")
                .project
                .name,
            "probed"
        );
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn env_names_make_safe_file_names() {
        let p = Project {
            root: "/x".into(),
            name: "p".into(),
            package: None,
            env: "../prod".into(),
        };
        assert_eq!(cache_path(&p), Path::new("/x/.kfpx/snapshot-___prod.json"));
    }
}

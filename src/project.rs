//! Finding the Kedro project: its root, name, package and the chosen env.
//!
//! With `-C DIR` the directory is used as given (it must exist and be a Kedro project: a
//! `pyproject.toml` holding `[tool.kedro]`, or a `conf/` directory). Without it, kfpx looks
//! upwards from the current directory for the nearest `pyproject.toml` holding `[tool.kedro]`,
//! else for the nearest directory with `conf/`.

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Project {
    /// Absolute project root (holds pyproject.toml and/or conf/).
    pub root: PathBuf,
    /// `[tool.kedro] project_name`, else the directory name.
    pub name: String,
    /// `[tool.kedro] package_name`, when known.
    pub package: Option<String>,
    /// The Kedro env (`-e`, `KEDRO_ENV`, else `local`).
    pub env: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(
        "no Kedro project found in {} or its parents: run kfpx inside a project or pass -C DIR",
        .0.display()
    )]
    NotFound(PathBuf),
    #[error("project directory {} does not exist: check the path given to -C", .0.display())]
    DirMissing(PathBuf),
    #[error(
        "{} is not a Kedro project (no pyproject.toml with [tool.kedro] and no conf/ directory): \
         pass the project's root to -C",
        .0.display()
    )]
    NotAProject(PathBuf),
    #[error(
        "invalid environment name {0:?} (from -e/--env or KEDRO_ENV): it must be the name of a \
         directory under conf/, without path separators, e.g. `local` or `production`"
    )]
    BadEnv(String),
    #[error("{}:{line}:{column}: invalid TOML: {message}", path.display())]
    Pyproject {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What `[tool.kedro]` of a pyproject.toml says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct KedroMeta {
    project_name: Option<String>,
    package_name: Option<String>,
}

/// How strictly a directory must look like a Kedro project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every command but `init`: `[tool.kedro]` or `conf/`.
    Existing,
    /// `kfpx init`: like `Existing`, but any directory with a `pyproject.toml` also qualifies
    /// (the explicit `-C` one, or the cwd when nothing else is found), since init creates conf/.
    Init,
}

impl Project {
    /// `dir` is `-C`; without it, search upwards from the current directory.
    pub fn discover(dir: Option<&Path>, env: &str) -> Result<Project, ProjectError> {
        Project::discover_in(dir, env, &current_dir()?, Mode::Existing)
    }

    /// Like [`Project::discover`], with `init`'s looser rules (see [`Mode::Init`]).
    pub fn discover_for_init(dir: Option<&Path>, env: &str) -> Result<Project, ProjectError> {
        Project::discover_in(dir, env, &current_dir()?, Mode::Init)
    }

    /// Discovery from an explicit working directory (pure apart from reading files).
    pub fn discover_in(
        dir: Option<&Path>,
        env: &str,
        cwd: &Path,
        mode: Mode,
    ) -> Result<Project, ProjectError> {
        validate_env(env)?;
        let (root, meta) = match dir {
            Some(d) => {
                let root = cwd.join(d);
                if !root.is_dir() {
                    return Err(ProjectError::DirMissing(root));
                }
                let meta = read_kedro_meta(&root)?;
                let accepted = meta.is_some()
                    || root.join("conf").is_dir()
                    || (mode == Mode::Init && root.join("pyproject.toml").is_file());
                if !accepted {
                    return Err(ProjectError::NotAProject(root));
                }
                (root, meta)
            }
            None => search_upwards(cwd, mode)?,
        };
        let root = normalize(&root);
        let meta = meta.unwrap_or_default();
        let name = meta
            .project_name
            .filter(|n| !n.trim().is_empty())
            .or_else(|| root.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "kedro-project".into());
        Ok(Project {
            root,
            name,
            package: meta.package_name.filter(|p| !p.trim().is_empty()),
            env: env.to_string(),
        })
    }

    pub fn conf_dir(&self) -> PathBuf {
        self.root.join("conf")
    }
}

fn current_dir() -> Result<PathBuf, ProjectError> {
    std::env::current_dir().map_err(|source| ProjectError::Io {
        action: "read the current directory",
        path: PathBuf::from("."),
        source,
    })
}

/// Nearest ancestor with `[tool.kedro]`, else nearest with `conf/`, else (init only) the cwd
/// if it has a pyproject.toml.
fn search_upwards(cwd: &Path, mode: Mode) -> Result<(PathBuf, Option<KedroMeta>), ProjectError> {
    for dir in cwd.ancestors() {
        if let Some(meta) = read_kedro_meta(dir)? {
            return Ok((dir.to_path_buf(), Some(meta)));
        }
    }
    if let Some(dir) = cwd.ancestors().find(|d| d.join("conf").is_dir()) {
        return Ok((dir.to_path_buf(), None));
    }
    if mode == Mode::Init && cwd.join("pyproject.toml").is_file() {
        return Ok((cwd.to_path_buf(), None));
    }
    Err(ProjectError::NotFound(cwd.to_path_buf()))
}

/// `Some` when `dir/pyproject.toml` exists and has a `[tool.kedro]` table.
fn read_kedro_meta(dir: &Path) -> Result<Option<KedroMeta>, ProjectError> {
    let path = dir.join("pyproject.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        // A directory named pyproject.toml, unreadable file…: not ours to judge unless Kedro's.
        Err(_) if !path.is_file() => return Ok(None),
        Err(source) => {
            return Err(ProjectError::Io {
                action: "read",
                path,
                source,
            })
        }
    };
    parse_kedro_meta(&text).map_err(|(span, message)| {
        let (line, column) = line_col(&text, span);
        ProjectError::Pyproject {
            path,
            line,
            column,
            message,
        }
    })
}

/// Parse `[tool.kedro]`. A file that is not valid TOML is an error only when it looks like a
/// Kedro pyproject (mentions `tool.kedro`); otherwise it is simply not a Kedro project.
fn parse_kedro_meta(text: &str) -> Result<Option<KedroMeta>, (usize, String)> {
    let doc: toml::Table = match toml::from_str(text) {
        Ok(doc) => doc,
        Err(e) if text.contains("tool.kedro") => {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            return Err((offset, e.message().trim().to_string()));
        }
        Err(_) => return Ok(None),
    };
    let Some(kedro) = doc
        .get("tool")
        .and_then(|t| t.get("kedro"))
        .and_then(|k| k.as_table())
    else {
        return Ok(None);
    };
    let text_of = |key: &str| kedro.get(key).and_then(|v| v.as_str()).map(str::to_string);
    Ok(Some(KedroMeta {
        project_name: text_of("project_name"),
        package_name: text_of("package_name"),
    }))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

/// The env names a directory under conf/: no separators, not `.`/`..`, not empty.
pub fn validate_env(env: &str) -> Result<(), ProjectError> {
    let bad = env.trim().is_empty()
        || env == "."
        || env == ".."
        || env.contains(['/', '\\', '\0'])
        || env.chars().any(char::is_control);
    if bad {
        Err(ProjectError::BadEnv(env.to_string()))
    } else {
        Ok(())
    }
}

/// Absolute and without `.`/`..` components, without touching symlinks.
fn normalize(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for comp in abs.components() {
        match comp {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn kedro_pyproject(dir: &Path, name: &str) {
        fs::write(
            dir.join("pyproject.toml"),
            format!(
                "[build-system]\nrequires = [\"setuptools\"]\n\n[tool.kedro]\n\
                 package_name = \"{}\"\nproject_name = \"{name}\"\nkedro_init_version = \"0.19.9\"\n",
                name.replace(' ', "_").to_lowercase()
            ),
        )
        .unwrap();
    }

    fn discover(dir: Option<&Path>, cwd: &Path, mode: Mode) -> Result<Project, ProjectError> {
        Project::discover_in(dir, "local", cwd, mode)
    }

    #[test]
    fn finds_the_nearest_kedro_pyproject_above_the_cwd_and_reads_its_names() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("proj");
        let deep = root.join("src/pkg/nodes");
        fs::create_dir_all(&deep).unwrap();
        kedro_pyproject(&root, "Space Flights");
        let p = discover(None, &deep, Mode::Existing).unwrap();
        assert_eq!(p.root, root);
        assert_eq!(p.name, "Space Flights");
        assert_eq!(p.package.as_deref(), Some("space_flights"));
        assert_eq!(p.env, "local");
        assert_eq!(p.conf_dir(), root.join("conf"));
    }

    #[test]
    fn a_kedro_pyproject_further_up_wins_over_a_nearer_conf_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        kedro_pyproject(root, "outer");
        let inner = root.join("notebooks");
        fs::create_dir_all(inner.join("conf")).unwrap();
        let p = discover(None, &inner, Mode::Existing).unwrap();
        assert_eq!(p.root, root);
    }

    #[test]
    fn a_conf_dir_is_the_fallback_and_the_directory_names_the_project() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("my-proj");
        fs::create_dir_all(root.join("conf/base")).unwrap();
        // A pyproject without [tool.kedro] does not count, but does not hurt either.
        fs::write(root.join("pyproject.toml"), "[project]\nname = \"x\"\n").unwrap();
        let p = discover(None, &root.join("conf/base"), Mode::Existing).unwrap();
        assert_eq!(p.root, root);
        assert_eq!(p.name, "my-proj");
        assert_eq!(p.package, None);
    }

    #[test]
    fn outside_any_project_the_error_names_the_cwd_and_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let err = discover(None, tmp.path(), Mode::Existing).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("no Kedro project found in "), "{msg}");
        assert!(msg.contains(&tmp.path().display().to_string()), "{msg}");
        assert!(msg.contains("-C DIR"), "{msg}");
    }

    #[test]
    fn init_accepts_a_plain_pyproject_in_the_cwd_only() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(
            tmp.path().join("pyproject.toml"),
            "[project]\nname = \"x\"\n",
        )
        .unwrap();
        assert!(matches!(
            discover(None, tmp.path(), Mode::Existing),
            Err(ProjectError::NotFound(_))
        ));
        let p = discover(None, tmp.path(), Mode::Init).unwrap();
        assert_eq!(p.root, tmp.path());
        let sub = tmp.path().join("sub");
        fs::create_dir(&sub).unwrap();
        assert!(discover(None, &sub, Mode::Init).is_err());
    }

    #[test]
    fn dash_c_must_exist_and_be_a_kedro_project() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = discover(Some(Path::new("nope")), tmp.path(), Mode::Existing).unwrap_err();
        assert!(matches!(missing, ProjectError::DirMissing(_)));
        assert!(missing.to_string().contains("nope"));

        let plain = tmp.path().join("plain");
        fs::create_dir(&plain).unwrap();
        let err = discover(Some(&plain), tmp.path(), Mode::Existing).unwrap_err();
        assert!(matches!(err, ProjectError::NotAProject(_)), "{err}");

        // A relative -C resolves against the cwd.
        fs::create_dir(plain.join("conf")).unwrap();
        let p = discover(Some(Path::new("./plain")), tmp.path(), Mode::Existing).unwrap();
        assert_eq!(p.root, plain);
        assert_eq!(p.name, "plain");
    }

    #[test]
    fn dash_c_does_not_search_upwards() {
        let tmp = tempfile::tempdir().unwrap();
        kedro_pyproject(tmp.path(), "outer");
        let sub = tmp.path().join("sub");
        fs::create_dir(&sub).unwrap();
        assert!(discover(Some(&sub), tmp.path(), Mode::Existing).is_err());
    }

    #[test]
    fn a_broken_kedro_pyproject_is_reported_with_its_location() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(
            tmp.path().join("pyproject.toml"),
            "[tool.kedro]\nproject_name = \"x\"\npackage_name = \n",
        )
        .unwrap();
        let err = discover(None, tmp.path(), Mode::Existing).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("pyproject.toml:3:"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
    }

    #[test]
    fn a_broken_unrelated_pyproject_is_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("pyproject.toml"), "this is = = not toml").unwrap();
        fs::create_dir(tmp.path().join("conf")).unwrap();
        let p = discover(None, tmp.path(), Mode::Existing).unwrap();
        assert_eq!(p.root, tmp.path());
    }

    #[test]
    fn env_names_must_be_plain_directory_names() {
        for ok in ["local", "production", "base", "dev-eu_1"] {
            assert!(validate_env(ok).is_ok(), "{ok}");
        }
        for bad in ["", " ", ".", "..", "../etc", "a/b", "a\\b"] {
            let err = validate_env(bad).unwrap_err().to_string();
            assert!(err.contains("path separators"), "{bad}: {err}");
        }
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("conf")).unwrap();
        assert!(Project::discover_in(None, "../x", tmp.path(), Mode::Existing).is_err());
    }

    #[test]
    fn line_col_counts_from_one() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}

//! Configuration: `conf/base/kubeflow.{yaml,yml}` with `conf/<env>/kubeflow.{yaml,yml}` deep-merged
//! on top, placeholders substituted (`template`), then typed (`schema`) and validated
//! (`validate`). Every error names file:line:column and the key path.
//!
//! The middle is pure: [`load_sources`] takes the files' text and a [`Lookup`] for env vars and
//! git. Only [`load`] touches the file system, the process environment and the repository.

pub mod affinity;
pub mod collect;
pub mod de;
pub mod git;
pub mod schema;
pub mod template;
pub mod tree;
pub mod units;
pub mod validate;

use std::cell::OnceCell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use schema::*;
pub use template::Lookup;
pub use tree::{KeyPath, Loc, Node, Source};

use crate::project::Project;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Any other one-line problem.
    #[error("{0}")]
    Invalid(String),
    /// Neither conf/base/kubeflow.yaml nor .yml exists.
    #[error("no kfpx configuration: {} does not exist; run `kfpx init <host>` to write one (or pass -C <project dir>)", display_path(expected))]
    MissingBase { expected: PathBuf },
    /// `-e <env>` names a directory that does not exist.
    #[error("conf/{env} does not exist (available envs: {}); pick one with -e or create the directory", if available.is_empty() { "none".to_string() } else { available.join(", ") })]
    MissingEnv { env: String, available: Vec<String> },
    #[error(
        "both {} and {} exist; keep one of them",
        display_path(yaml),
        display_path(yml)
    )]
    BothExtensions { yaml: PathBuf, yml: PathBuf },
    #[error("cannot read {}: {source}", display_path(path))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A problem at a place in a file.
    #[error("{}", located(loc, path.as_ref(), msg))]
    At {
        loc: Loc,
        /// The key path, when the problem is about a key.
        path: Option<KeyPath>,
        msg: String,
    },
    /// Several problems, in file order: one line each (the first [`MAX_SHOWN`]), then a
    /// line with the count.
    #[error("{}", many_lines(problems))]
    Many { problems: Vec<ConfigError> },
}

/// How many problems of one config are shown; the rest are counted.
pub const MAX_SHOWN: usize = 10;

fn many_lines(problems: &[ConfigError]) -> String {
    let mut lines: Vec<String> = problems
        .iter()
        .take(MAX_SHOWN)
        .map(|p| p.to_string())
        .collect();
    let n = problems.len();
    let more = if n > MAX_SHOWN {
        format!(" ({} not shown)", n - MAX_SHOWN)
    } else {
        String::new()
    };
    let plus = if n >= collect::MAX_ROUNDS { "+" } else { "" };
    lines.push(format!(
        "{n}{plus} problems in the kfpx configuration{more}; fix them and run again"
    ));
    lines.join("\n")
}

impl ConfigError {
    /// One error for `problems` (at least one): itself when alone, else [`ConfigError::Many`]
    /// in file order (`files` ranks the file names, base first).
    fn from_problems(mut problems: Vec<ConfigError>, files: &[SourceText]) -> ConfigError {
        let rank = |e: &ConfigError| match e.location() {
            Some(loc) => (
                files
                    .iter()
                    .position(|f| *f.name == *loc.file)
                    .unwrap_or(usize::MAX),
                loc.line,
                loc.col,
            ),
            None => (usize::MAX, 0, 0),
        };
        problems.sort_by_key(rank);
        match problems.len() {
            0 => ConfigError::Invalid("the kfpx configuration cannot be typed".into()),
            1 => problems.remove(0),
            _ => ConfigError::Many { problems },
        }
    }
}

/// `file:line:col: key.path: what`, on one line (newlines in the message, which may quote a
/// value, are escaped), then the message's `help:` line, if any, on its own line.
fn located(loc: &Loc, path: Option<&KeyPath>, msg: &str) -> String {
    let (what, help) = match msg.split_once("\nhelp: ") {
        Some((what, help)) => (what, Some(help)),
        None => (msg, None),
    };
    let what = what.replace('\n', "\\n");
    let line = match path {
        Some(p) if !p.is_root() => format!("{loc}: {p}: {what}"),
        _ => format!("{loc}: {what}"),
    };
    match help {
        Some(help) => format!("{line}\nhelp: {}", help.replace('\n', "\\n")),
        None => line,
    }
}

impl ConfigError {
    /// Where the problem is, when it is at a place in a file.
    pub fn location(&self) -> Option<&Loc> {
        match self {
            ConfigError::At { loc, .. } => Some(loc),
            _ => None,
        }
    }
}

/// The effective configuration and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    /// The files read, base first.
    pub files: Vec<PathBuf>,
    /// The merged, substituted YAML tree, with the position of every value.
    pub tree: Node,
}

/// Where one value of the effective config came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Written in a file (position), possibly with placeholders filled from these sources.
    File { loc: Loc, sources: Vec<Source> },
    /// Not in any file: kfpx's default.
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File { loc, sources } => {
                write!(f, "{}:{}", loc.file, loc.line)?;
                if !sources.is_empty() {
                    let s: Vec<String> = sources.iter().map(|s| s.to_string()).collect();
                    write!(f, " ({})", s.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

impl LoadedConfig {
    /// Where the value at `path` came from.
    pub fn origin(&self, path: &KeyPath) -> Origin {
        match self.tree.find(path) {
            Some(n) => match &n.kind {
                tree::Kind::Scalar(s) => Origin::File {
                    loc: n.loc.clone(),
                    sources: s.sources.clone(),
                },
                // a mapping or list: the key that names it
                _ => Origin::File {
                    loc: self.tree.locate(path),
                    sources: Vec::new(),
                },
            },
            None => Origin::Default,
        }
    }

    /// A located error about a key of the effective config (for other modules' checks, e.g.
    /// per-node keys that match no node).
    pub fn error_at(&self, path: &KeyPath, msg: impl Into<String>) -> ConfigError {
        ConfigError::At {
            loc: self.tree.locate(path),
            path: Some(path.clone()),
            msg: msg.into(),
        }
    }
}

/// One config file's text and the name shown in messages.
#[derive(Debug, Clone)]
pub struct SourceText {
    pub name: String,
    pub text: String,
}

/// Parse, merge (base first), substitute, type and validate. Pure.
pub fn load_sources(files: &[SourceText], lookup: &Lookup) -> Result<(Config, Node), ConfigError> {
    let mut merged: Option<Node> = None;
    let mut problems: Vec<ConfigError> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let name: Arc<str> = Arc::from(f.name.as_str());
        // Editors on Windows may start a UTF-8 file with a byte order mark; YAML allows it.
        let text = f.text.strip_prefix('\u{feff}').unwrap_or(&f.text);
        let node = match tree::parse(&name, text) {
            Ok(node) => node,
            // Each file's syntax error is reported; the other files are still read.
            Err(e) => {
                problems.push(ConfigError::At {
                    loc: e.loc,
                    path: None,
                    msg: e.msg,
                });
                continue;
            }
        };
        let root_msg = "the file must be a mapping with `host` and `run_config` at the top";
        let node = match node {
            None if i == 0 => {
                return Err(ConfigError::At {
                    loc: Loc::file_start(&name),
                    path: None,
                    msg: format!(
                        "the file is empty; {root_msg} (`kfpx init <host>` writes a working one)"
                    ),
                })
            }
            // An empty overlay changes nothing.
            None => continue,
            Some(n) => n,
        };
        match &node.kind {
            tree::Kind::Map(_) => {}
            tree::Kind::Scalar(s) if s.is_null() && i > 0 => continue,
            tree::Kind::Scalar(s) if s.is_null() => {
                return Err(ConfigError::At {
                    loc: node.loc.clone(),
                    path: None,
                    msg: format!("the file is empty; {root_msg}"),
                })
            }
            tree::Kind::Seq(_) => {
                return Err(ConfigError::At {
                    loc: node.loc.clone(),
                    path: None,
                    msg: format!("the top level is a list; {root_msg}"),
                })
            }
            tree::Kind::Scalar(s) => {
                return Err(ConfigError::At {
                    loc: node.loc.clone(),
                    path: None,
                    msg: format!("the top level is the value `{}`; {root_msg}", s.text),
                })
            }
        }
        match &mut merged {
            None => merged = Some(node),
            Some(m) => m.merge(node),
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError::from_problems(problems, files));
    }
    let Some(mut tree) = merged else {
        return Err(ConfigError::Invalid("no configuration files given".into()));
    };
    // Placeholders that cannot be filled are problems of their own; typing goes on without
    // those keys.
    let mut unfilled: Vec<KeyPath> = Vec::new();
    tree.try_for_each_scalar_mut(&KeyPath::root(), &mut |path, loc, s| {
        if !s.text.contains(['$', '\\']) {
            return Ok::<(), ConfigError>(());
        }
        match template::substitute(&s.text, lookup) {
            Ok((text, sources)) => {
                s.text = text;
                s.sources = sources;
            }
            Err(e) => {
                problems.push(ConfigError::At {
                    loc: loc.clone(),
                    path: Some(path.clone()),
                    msg: e.0,
                });
                unfilled.push(path.clone());
            }
        }
        Ok(())
    })?;
    match collect::type_and_validate(&tree, problems, &unfilled) {
        Ok(config) => Ok((config, tree)),
        Err(problems) => Err(ConfigError::from_problems(problems, files)),
    }
}

/// For an unknown key that is a known key of another section (a wrong indentation, usually):
/// where it belongs.
pub(crate) fn misplaced_key_hint(path: &KeyPath) -> Option<String> {
    let tree::Seg::Key(key) = path.0.last()? else {
        return None;
    };
    let parent = KeyPath(path.0[..path.0.len() - 1].to_vec());
    let sections: [(&str, &[&str]); 5] = [
        ("(top level)", de::struct_fields::<Config>()),
        ("run_config", de::struct_fields::<RunConfig>()),
        ("run_config.volume", de::struct_fields::<VolumeConfig>()),
        ("run_config.schedule", de::struct_fields::<ScheduleConfig>()),
        ("run_config.mlflow", de::struct_fields::<MlflowConfig>()),
    ];
    let here = parent.to_string();
    sections
        .iter()
        .find(|(section, fields)| *section != here && fields.contains(&key.as_str()))
        .map(|(section, _)| {
            if *section == "(top level)" {
                format!("`{key}` belongs at the top level (check the indentation)")
            } else {
                format!("`{key}` belongs under `{section}` (check the indentation)")
            }
        })
}

/// Type and validate one YAML text, without env vars or git (placeholders need defaults).
/// For tests and tools.
pub fn load_from_str(yaml: &str) -> Result<Config, ConfigError> {
    let none = |_: &str| None;
    let lookup = Lookup {
        env: &none,
        git: &none,
    };
    load_sources(
        &[SourceText {
            name: "kubeflow.yaml".into(),
            text: yaml.to_string(),
        }],
        &lookup,
    )
    .map(|(c, _)| c)
}

/// The config file in `dir` (`kubeflow.yaml` or `kubeflow.yml`), if any.
fn find_file(dir: &Path) -> Result<Option<PathBuf>, ConfigError> {
    let yaml = dir.join("kubeflow.yaml");
    let yml = dir.join("kubeflow.yml");
    match (yaml.is_file(), yml.is_file()) {
        (true, true) => Err(ConfigError::BothExtensions { yaml, yml }),
        (true, false) => Ok(Some(yaml)),
        (false, true) => Ok(Some(yml)),
        (false, false) => Ok(None),
    }
}

/// The config files for `env` under `conf_dir`, base first. `local`, Kedro's implicit default
/// env, may be missing (it is usually git-ignored); any other env must exist.
pub fn config_files(conf_dir: &Path, env: &str) -> Result<Vec<PathBuf>, ConfigError> {
    if env.contains(['/', '\\']) || env == "." || env == ".." {
        return Err(ConfigError::Invalid(format!(
            "`{env}` is not an env name: give the name of a directory under conf/ (e.g. -e production)"
        )));
    }
    let base_env = env == "base" || env.is_empty();
    let env_dir = conf_dir.join(env);
    // A missing env is reported first: `-e typo` should not read as "no config".
    if !base_env && env != "local" && !env_dir.is_dir() {
        let mut available: Vec<String> = std::fs::read_dir(conf_dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        available.sort();
        return Err(ConfigError::MissingEnv {
            env: env.to_string(),
            available,
        });
    }
    let base_dir = conf_dir.join("base");
    let Some(base) = find_file(&base_dir)? else {
        return Err(ConfigError::MissingBase {
            expected: base_dir.join("kubeflow.yaml"),
        });
    };
    let mut files = vec![base];
    if !base_env && env_dir.is_dir() {
        if let Some(f) = find_file(&env_dir)? {
            files.push(f);
        }
    }
    Ok(files)
}

/// A path as the user should see it: relative to the current directory when below it.
pub fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(rel) = path.strip_prefix(&cwd) {
            return rel.display().to_string();
        }
    }
    path.display().to_string()
}

/// The largest config file kfpx reads (a real one is a few kilobytes; this bounds time and
/// memory on a wrong or hostile file).
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Read one config file: at most [`MAX_CONFIG_BYTES`], UTF-8 (a bad byte is located).
pub fn read_config_file(path: &Path) -> Result<SourceText, ConfigError> {
    use std::io::Read;
    let name = display_path(path);
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::Invalid(format!(
            "{name} is larger than {} MiB, the most kfpx reads from a config file; is it the \
             right file?",
            MAX_CONFIG_BYTES / (1024 * 1024)
        )));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // valid_up_to is a char boundary, so the prefix is valid UTF-8
        let prefix = std::str::from_utf8(good).unwrap_or_default();
        let line = prefix.matches('\n').count() + 1;
        let col = prefix.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        ConfigError::At {
            loc: Loc {
                file: Arc::from(name.as_str()),
                line,
                col,
            },
            path: None,
            msg: format!(
                "byte 0x{:02x} is not UTF-8; save the file as UTF-8",
                e.as_bytes()[good.len()]
            ),
        }
    })?;
    Ok(SourceText { name, text })
}

/// Load, merge, substitute and validate the project's kubeflow config for its env.
pub fn load(project: &Project) -> Result<LoadedConfig, ConfigError> {
    let files = config_files(&project.conf_dir(), &project.env)?;
    let mut sources = Vec::with_capacity(files.len());
    for f in &files {
        sources.push(read_config_file(f)?);
    }
    let env = |name: &str| std::env::var(name).ok();
    let git_info = OnceCell::new();
    let git = |what: &str| {
        git_info
            .get_or_init(|| git::head_info(&project.root))
            .get(what)
    };
    let lookup = Lookup {
        env: &env,
        git: &git,
    };
    let (config, tree) = load_sources(&sources, &lookup)?;
    Ok(LoadedConfig {
        config,
        files,
        tree,
    })
}

#[cfg(test)]
mod tests;

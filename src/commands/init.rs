//! `kfpx init <host> [--with-github-actions] [--force]`: write a commented, working
//! `conf/base/kubeflow.yaml` for the project and, on request, two GitHub Actions workflows.
//!
//! Nothing is written unless everything can be: the host is validated and every target is
//! checked for an existing file first; each file is written atomically.

use std::path::{Path, PathBuf};

use minijinja::{context, AutoEscape, Environment, UndefinedBehavior};

use crate::cli::InitArgs;
use crate::commands::{write_atomic, Ctx};
use crate::error::{Error, Result};
use crate::output;
use crate::project::Project;

const CONFIG_TEMPLATE: &str = include_str!("../../templates/kubeflow.yaml.j2");
const ON_PUSH_TEMPLATE: &str = include_str!("../../templates/github/kfpx-on-push.yml.j2");
const ON_MERGE_TEMPLATE: &str = include_str!("../../templates/github/kfpx-on-merge.yml.j2");

/// kfpx's Python distribution on PyPI (the `kfpx` binary plus the Kedro plugin; see
/// pyproject.toml). The generated workflows `pip install` it at this binary's version.
pub const PYPI_PACKAGE: &str = "kedro-kfpx";

/// Placeholder for the commit in the image and run name of the GitHub Actions setup.
const COMMIT_PLACEHOLDER: &str = "${oc.env:KEDRO_CONFIG_COMMIT_ID, unknown-commit}";

/// One file `init` writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Path relative to the project root.
    pub rel_path: PathBuf,
    pub contents: String,
}

pub fn run(ctx: &Ctx, args: InitArgs) -> Result<()> {
    let host = validate_host(&args.host)?;
    let project = ctx.project_for_init()?;
    let branch = if args.with_github_actions {
        default_branch(&project.root)
    } else {
        String::new()
    };
    let files = render_all(&project, &host, args.with_github_actions, &branch)?;

    if !args.force {
        if let Some(existing) = files
            .iter()
            .map(|f| project.root.join(&f.rel_path))
            .find(|p| p.exists())
        {
            return Err(Error::Message(format!(
                "{} already exists: pass --force to overwrite it (nothing was written)",
                existing.display()
            )));
        }
    }

    for file in &files {
        let path = project.root.join(&file.rel_path);
        let replaced = path.exists();
        write_atomic(&path, file.contents.as_bytes())?;
        let note = if replaced {
            " (replaced the existing file)"
        } else {
            ""
        };
        output::print_stdout(&format!("Wrote {}{note}", path.display()))?;
    }
    if args.with_github_actions {
        output::print_stdout(&format!(
            "Next: commit a Dockerfile that installs the project at the repository root (e.g. \
             from `kedro docker init`), and add the repository secrets KF_PIPELINES_TOKEN (or \
             DEX_USERNAME and DEX_PASSWORD) and, if the KFP URL differs from {host}, \
             KF_PIPELINES_ENDPOINT. Pushes to branches other than `{branch}` run the pipeline \
             once; pushes to `{branch}` upload and schedule it."
        ))?;
    }
    Ok(())
}

/// The host must be an absolute http(s) URL with a host name. Returns it without trailing `/`.
pub fn validate_host(raw: &str) -> Result<String> {
    let trimmed = raw.trim().trim_end_matches('/');
    let example = "e.g. `kfpx init https://kubeflow.example.com/pipeline`";
    if !trimmed.contains("://") {
        return Err(Error::Message(format!(
            "invalid host {raw:?}: the URL needs a scheme (http:// or https://), {example}"
        )));
    }
    let url = url::Url::parse(trimmed)
        .map_err(|e| Error::Message(format!("invalid host {raw:?}: {e}; {example}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Message(format!(
            "invalid host {raw:?}: the scheme must be http or https, not {}; {example}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::Message(format!(
            "invalid host {raw:?}: the URL has no host name; {example}"
        )));
    }
    Ok(trimmed.to_string())
}

/// The files to write, with their contents (pure).
pub fn render_all(
    project: &Project,
    host: &str,
    with_github_actions: bool,
    default_branch: &str,
) -> Result<Vec<Rendered>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_keep_trailing_newline(true);
    env.add_filter("yaml", yaml_string);

    let name = &project.name;
    let image_name = image_name(name);
    let literal = escape_placeholders(name);
    let (image, run_name) = if with_github_actions {
        (
            format!("${{oc.env:KEDRO_CONFIG_IMAGE_REPOSITORY, {image_name}}}:{COMMIT_PLACEHOLDER}"),
            format!("{}:{COMMIT_PLACEHOLDER}", escape_braces(&literal)),
        )
    } else {
        (image_name.clone(), escape_braces(&literal))
    };
    let ctx = context! {
        host => host,
        project_name => name,
        image => image,
        experiment_name => literal,
        run_name => run_name,
        scheduled_run_name => escape_braces(&literal),
        github_actions => with_github_actions,
        kfpx_version => env!("CARGO_PKG_VERSION"),
        pypi_package => PYPI_PACKAGE,
        default_branch => default_branch,
        requirements => requirements_file(&project.root),
    };

    let mut templates = vec![("kubeflow.yaml.j2", CONFIG_TEMPLATE, config_path(project))];
    if with_github_actions {
        let workflows = PathBuf::from(".github").join("workflows");
        templates.push((
            "kfpx-on-push.yml.j2",
            ON_PUSH_TEMPLATE,
            workflows.join("kfpx-on-push.yml"),
        ));
        templates.push((
            "kfpx-on-merge.yml.j2",
            ON_MERGE_TEMPLATE,
            workflows.join("kfpx-on-merge.yml"),
        ));
    }
    templates
        .into_iter()
        .map(|(tname, source, rel_path)| {
            let contents = env
                .render_str(source, &ctx)
                .map_err(|e| Error::Message(format!("internal template {tname} failed: {e}")))?;
            Ok(Rendered { rel_path, contents })
        })
        .collect()
}

/// `conf/base/kubeflow.yaml`, or the existing `conf/base/kubeflow.yml` (so that --force never
/// leaves both, which the loader would refuse).
fn config_path(project: &Project) -> PathBuf {
    let base = PathBuf::from("conf").join("base");
    let yml = base.join("kubeflow.yml");
    if project.root.join(&yml).exists() && !project.root.join(base.join("kubeflow.yaml")).exists() {
        yml
    } else {
        base.join("kubeflow.yaml")
    }
}

/// The project's pip requirements, relative to its root: `requirements.txt` (Kedro 0.19+),
/// else `src/requirements.txt` (older starters) when only that exists.
fn requirements_file(root: &Path) -> &'static str {
    if !root.join("requirements.txt").is_file() && root.join("src/requirements.txt").is_file() {
        "src/requirements.txt"
    } else {
        "requirements.txt"
    }
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn yaml_string(value: String) -> String {
    serde_json::to_string(&value).unwrap_or_else(|_| format!("{value:?}"))
}

/// A Docker repository name from the project name: lower case, `[a-z0-9._-]`, no leading or
/// trailing separators.
pub fn image_name(project_name: &str) -> String {
    let mut out = String::new();
    for c in project_name.trim().chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            c
        } else {
            '-'
        };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let out = out.trim_matches(|c| matches!(c, '.' | '_' | '-'));
    if out.is_empty() {
        "kedro-project".into()
    } else {
        out.to_string()
    }
}

/// `$` starts a placeholder in config values: keep a literal one literal.
fn escape_placeholders(s: &str) -> String {
    s.replace('$', "$$")
}

/// `run_name` is a `str.format` template: keep literal braces literal.
fn escape_braces(s: &str) -> String {
    s.replace('{', "{{").replace('}', "}}")
}

/// The repository's default branch as far as the local clone knows: origin's HEAD, else
/// `master` when only that exists, else `main`.
pub fn default_branch(root: &Path) -> String {
    let Ok(repo) = git2::Repository::discover(root) else {
        return "main".into();
    };
    if let Ok(head) = repo.find_reference("refs/remotes/origin/HEAD") {
        if let Some(target) = head.symbolic_target().ok().flatten() {
            if let Some(branch) = target.strip_prefix("refs/remotes/origin/") {
                return branch.to_string();
            }
        }
    }
    let has = |b: &str| repo.find_branch(b, git2::BranchType::Local).is_ok();
    if has("master") && !has("main") {
        return "master".into();
    }
    if !has("main") && !has("master") {
        // A fresh repository: the branch HEAD points at, if it is unborn or the only one.
        if let Ok(head) = repo.find_reference("HEAD") {
            if let Some(b) = head
                .symbolic_target()
                .ok()
                .flatten()
                .and_then(|t| t.strip_prefix("refs/heads/"))
            {
                return b.to_string();
            }
        }
    }
    "main".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str) -> Project {
        Project {
            root: PathBuf::from("/nonexistent/proj"),
            name: name.into(),
            package: None,
            env: "local".into(),
        }
    }

    fn yaml(text: &str) -> serde_yaml::Value {
        serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn hosts_need_an_http_scheme_and_a_host_name() {
        assert_eq!(
            validate_host("https://kf.example.com/pipeline/").unwrap(),
            "https://kf.example.com/pipeline"
        );
        assert_eq!(
            validate_host("http://localhost:9000").unwrap(),
            "http://localhost:9000"
        );
        for bad in [
            "kf.example.com",
            "localhost:9000",
            "ftp://kf.example.com",
            "https://",
        ] {
            let err = validate_host(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid host"), "{bad}: {err}");
            assert!(err.contains("kfpx init https://"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_config_has_the_host_the_project_and_kedro_kubeflow_defaults() {
        let files = render_all(
            &project("Space Flights"),
            "https://kf.example.com",
            false,
            "",
        )
        .unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].rel_path, Path::new("conf/base/kubeflow.yaml"));
        let v = yaml(&files[0].contents);
        assert_eq!(v["host"], "https://kf.example.com");
        let rc = &v["run_config"];
        assert_eq!(rc["image"], "space-flights");
        assert_eq!(rc["experiment_name"], "Space Flights");
        assert_eq!(rc["run_name"], "Space Flights");
        assert_eq!(rc["scheduled_run_name"], "Space Flights");
        assert_eq!(rc["image_pull_policy"], "IfNotPresent");
        assert_eq!(rc["wait_for_completion"], false);
        assert_eq!(rc["ttl"], 604800);
        assert_eq!(rc["volume"]["size"], "1Gi");
        assert_eq!(rc["resources"]["__default__"]["cpu"], "500m");
        assert_eq!(rc["retry_policy"]["__default__"]["num_retries"], 4);
        // Only __default__ entries are active: no placeholder node names.
        let keys: Vec<_> = rc["resources"].as_mapping().unwrap().keys().collect();
        assert_eq!(keys, vec!["__default__"]);
        assert!(rc.get("tolerations").is_none());
    }

    #[test]
    fn every_active_key_has_a_comment_above_it() {
        let files = render_all(&project("demo"), "https://kf.example.com", true, "main").unwrap();
        let lines: Vec<&str> = files[0].contents.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            let is_key = !t.starts_with('#') && !t.is_empty() && t.contains(':');
            let opens_map = t.ends_with(':');
            let under_default =
                t.starts_with("__default__") || t.starts_with("cpu:") || t.starts_with("memory:");
            if is_key && !opens_map && !under_default && i > 0 {
                assert!(
                    lines[i - 1].trim_start().starts_with('#'),
                    "no comment above line {}: {line}",
                    i + 1
                );
            }
        }
    }

    #[test]
    fn github_mode_templates_the_image_and_run_name_with_the_commit() {
        let files = render_all(&project("demo"), "https://kf.example.com", true, "trunk").unwrap();
        let v = yaml(&files[0].contents);
        assert_eq!(
            v["run_config"]["image"],
            "${oc.env:KEDRO_CONFIG_IMAGE_REPOSITORY, demo}:${oc.env:KEDRO_CONFIG_COMMIT_ID, unknown-commit}"
        );
        assert_eq!(
            v["run_config"]["run_name"],
            "demo:${oc.env:KEDRO_CONFIG_COMMIT_ID, unknown-commit}"
        );
        // The recurring run keeps one name across commits, so rescheduling replaces it.
        assert_eq!(v["run_config"]["scheduled_run_name"], "demo");
        let names: Vec<_> = files.iter().map(|f| f.rel_path.clone()).collect();
        assert_eq!(
            names,
            vec![
                PathBuf::from("conf/base/kubeflow.yaml"),
                PathBuf::from(".github/workflows/kfpx-on-push.yml"),
                PathBuf::from(".github/workflows/kfpx-on-merge.yml"),
            ]
        );
    }

    /// The actions the generated workflows use, in step order, at their current major versions
    /// (each action's own repository, newest release tag and README, checked 2026-12:
    /// actions/checkout v7, docker/login-action v4, docker/setup-buildx-action v4,
    /// docker/build-push-action v7, actions/setup-python v7). A downgrade fails here; an
    /// upgrade is a reviewed change of this list.
    const CURRENT_ACTIONS: [&str; 5] = [
        "actions/checkout@v7",
        "docker/login-action@v4",
        "docker/setup-buildx-action@v4",
        "docker/build-push-action@v7",
        "actions/setup-python@v7",
    ];

    #[test]
    fn the_pypi_package_is_the_one_pyproject_builds() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pyproject.toml");
        let pyproject: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
        assert_eq!(pyproject["project"]["name"].as_str(), Some(PYPI_PACKAGE));
        // The wheel's version is the crate's (maturin reads Cargo.toml), so the pin in the
        // workflows is the version of the binary that wrote them.
        let dynamic = pyproject["project"]["dynamic"].as_array().unwrap();
        assert!(dynamic.iter().any(|v| v.as_str() == Some("version")));
        assert!(pyproject["project"].get("version").is_none());
        assert_eq!(
            pyproject["tool"]["maturin"]["bindings"].as_str(),
            Some("bin")
        );
    }

    #[test]
    fn workflows_trigger_on_the_right_branches_and_keep_github_expressions() {
        let files = render_all(&project("demo"), "https://kf.example.com", true, "trunk").unwrap();
        let push = yaml(&files[1].contents);
        let merge = yaml(&files[2].contents);
        assert_eq!(push["on"]["push"]["branches-ignore"][0], "trunk");
        assert_eq!(merge["on"]["push"]["branches"][0], "trunk");
        for (wf, text) in [(&push, &files[1].contents), (&merge, &files[2].contents)] {
            assert_eq!(wf["permissions"]["packages"], "write");
            assert!(wf["concurrency"]["group"].is_string());
            let steps = wf["jobs"].as_mapping().unwrap().values().next().unwrap()["steps"]
                .as_sequence()
                .unwrap()
                .clone();
            let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
            assert_eq!(uses, CURRENT_ACTIONS, "{text}");
            let build = steps
                .iter()
                .find(|s| s["uses"] == "docker/build-push-action@v7")
                .unwrap();
            assert!(build["with"]["tags"]
                .as_str()
                .unwrap()
                .contains("${{ env.IMAGE_REPOSITORY }}:${{ github.sha }}"));
            let last = steps.last().unwrap();
            assert_eq!(last["env"]["KEDRO_CONFIG_COMMIT_ID"], "${{ github.sha }}");
            assert_eq!(
                last["env"]["KF_PIPELINES_TOKEN"],
                "${{ secrets.KF_PIPELINES_TOKEN }}"
            );
            // kfpx reads the graph through Kedro: the project and kfpx's wheel are installed
            // with pip in one step, after Python is set up; no Rust toolchain anywhere.
            let install = steps
                .iter()
                .find(|s| s["name"] == "Install the Kedro project and kfpx")
                .unwrap();
            assert_eq!(
                install["run"].as_str().unwrap(),
                format!(
                    "pip install -r requirements.txt \"kedro-kfpx=={}\"",
                    env!("CARGO_PKG_VERSION")
                )
            );
            let position = |name: &str| steps.iter().position(|s| s["name"] == name).unwrap();
            assert!(position("Set up Python") < position("Install the Kedro project and kfpx"));
            assert!(position("Install the Kedro project and kfpx") < steps.len() - 1);
            let python = &steps[position("Set up Python")]["with"];
            assert_eq!(python["cache"], "pip");
            assert_eq!(python["cache-dependency-path"], "requirements.txt");
            for rust in ["cargo", "rustup", "rust-toolchain", ".cargo"] {
                assert!(!text.contains(rust), "{rust} in {text}");
            }
            assert!(!text.contains("{%") && !text.contains("{#"), "{text}");
        }
        let run = |wf: &serde_yaml::Value| {
            wf["jobs"].as_mapping().unwrap().values().next().unwrap()["steps"]
                .as_sequence()
                .unwrap()
                .last()
                .unwrap()["run"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert!(run(&push).contains("kfpx run-once --wait-for-completion"));
        assert!(run(&merge).contains("kfpx upload-pipeline"));
        assert!(run(&merge).contains("kfpx schedule -c '0 0 4 * * *'"));
    }

    #[test]
    fn odd_project_names_stay_literal_and_valid() {
        let files = render_all(&project("My \"$Proj{x}\""), "http://h", false, "").unwrap();
        let v = yaml(&files[0].contents);
        assert_eq!(v["run_config"]["experiment_name"], "My \"$$Proj{x}\"");
        assert_eq!(v["run_config"]["run_name"], "My \"$$Proj{{x}}\"");
        assert_eq!(v["run_config"]["image"], "my-proj-x");
    }

    /// The config with every commented-out example (`# key: …` and deeper `#   …` lines)
    /// switched on; prose comments stay.
    fn uncomment_examples(text: &str) -> String {
        text.lines()
            .map(|line| {
                let indent = line.len() - line.trim_start().len();
                let Some(rest) = line.trim_start().strip_prefix("# ") else {
                    return line.to_string();
                };
                let key_len = rest
                    .find(|c: char| !(c.is_ascii_lowercase() || c == '_' || c == '.'))
                    .unwrap_or(0);
                let is_example = rest.starts_with("  ")
                    || rest.starts_with("- ")
                    || (key_len > 0 && rest[key_len..].starts_with(':'));
                if is_example && indent > 0 {
                    format!("{}{rest}", " ".repeat(indent))
                } else {
                    line.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn commented_examples_are_valid_yaml_with_every_kfpx_key() {
        let files = render_all(&project("demo"), "https://kf.example.com", false, "").unwrap();
        let full = uncomment_examples(&files[0].contents);
        let v = yaml(&full);
        let rc = &v["run_config"];
        for key in [
            "description",
            "on_exit_pipeline",
            "max_cache_staleness",
            "store_kedro_outputs_as_kfp_artifacts",
            "node_merge_strategy",
            "tolerations",
            "affinity",
            "extra_volumes",
            "kfp_version",
            "namespace",
            "probe_mode",
            "env",
            "secrets",
            "node_selector",
            "service_account",
            "image_pull_secrets",
            "labels",
            "annotations",
            "group_tag_prefix",
            "schedule",
            "mlflow",
        ] {
            assert!(rc.get(key).is_some(), "example for {key} missing:\n{full}");
        }
        assert_eq!(
            rc["extra_volumes"]["data_science.train_model_node"][0]["volume"]["name"],
            "shared-memory"
        );
        assert_eq!(rc["resources"]["data_science.train_model_node"]["cpu"], 8);
    }

    /// Write `contents` as conf/base/kubeflow.yaml of a fresh project and load it.
    fn load_with_kfpx(contents: &str) -> Result<crate::config::LoadedConfig, String> {
        let tmp = tempfile::tempdir().unwrap();
        let conf = tmp.path().join("conf/base");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(conf.join("kubeflow.yaml"), contents).unwrap();
        let p = Project {
            root: tmp.path().to_path_buf(),
            ..project("demo")
        };
        crate::config::load(&p).map_err(|e| e.to_string())
    }

    #[test]
    fn rendered_configs_load_with_kfpxs_own_loader() {
        for github in [false, true] {
            let files = render_all(
                &project("Demo {x}"),
                "https://kf.example.com",
                github,
                "main",
            )
            .unwrap();
            let loaded = load_with_kfpx(&files[0].contents)
                .unwrap_or_else(|e| panic!("github={github}: {e}\n{}", files[0].contents));
            assert_eq!(loaded.config.host, "https://kf.example.com");
            assert_eq!(loaded.config.run_config.experiment_name, "Demo {x}");
            assert_eq!(loaded.config.run_config.scheduled_run_name(), "Demo {{x}}");
            let full = uncomment_examples(&files[0].contents);
            load_with_kfpx(&full).unwrap_or_else(|e| panic!("examples switched on: {e}\n{full}"));
        }
    }

    #[test]
    fn image_names_are_docker_safe() {
        assert_eq!(image_name("spaceflights"), "spaceflights");
        assert_eq!(image_name("Space Flights 2"), "space-flights-2");
        assert_eq!(image_name("--"), "kedro-project");
        assert_eq!(image_name("a__b.c"), "a__b.c");
    }

    #[test]
    fn old_style_projects_install_src_requirements() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(requirements_file(tmp.path()), "requirements.txt");
        std::fs::create_dir(tmp.path().join("src")).unwrap();
        std::fs::write(tmp.path().join("src/requirements.txt"), "kedro\n").unwrap();
        assert_eq!(requirements_file(tmp.path()), "src/requirements.txt");
        std::fs::write(tmp.path().join("requirements.txt"), "kedro\n").unwrap();
        assert_eq!(requirements_file(tmp.path()), "requirements.txt");
    }

    #[test]
    fn default_branch_falls_back_to_main_outside_git() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(default_branch(tmp.path()), "main");
    }
}

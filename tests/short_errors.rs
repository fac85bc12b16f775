//! Issue 12 item 5: an error's first line stays short (at most ~200 characters) whatever the
//! project's size, so it is read, not skimmed; the detail goes to indented `help:` lines, `-v`
//! or `kfpx graph`. Common first-run mistakes, through the binary, each in a project whose
//! directory is the current one (paths are shown relative, as a user sees them).

use std::path::{Path, PathBuf};

#[path = "support/cmd.rs"]
mod cmd;

/// The longest a line of an error may be.
const MAX: usize = 200;

fn conf_example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("conf-example")
}

const MINIMAL: &str = "host: https://kfp.example.com/pipeline\nrun_config:\n  image: reg/spaceflights:1\n  experiment_name: spaceflights\n  run_name: spaceflights run\n";

/// A project with `kubeflow_yaml` (None: no config at all) and a snapshot whose pipeline
/// `__default__` has `n` nodes in a chain passing implicit MemoryDatasets with long names,
/// plus 40 other pipelines.
fn project(kubeflow_yaml: Option<&str>, n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        conf_example().join("pyproject.toml"),
        dir.path().join("pyproject.toml"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("conf/base")).unwrap();
    if let Some(text) = kubeflow_yaml {
        std::fs::write(dir.path().join("conf/base/kubeflow.yaml"), text).unwrap();
    }
    let mut snap: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(conf_example().join("kfpx-snapshot.json")).unwrap(),
    )
    .unwrap();
    let ds = |i: usize| format!("a_rather_long_namespace.intermediate_feature_table_number_{i}");
    let nodes: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "name": format!("a_rather_long_namespace.step_{i}"),
                "inputs": if i == 0 { vec![] } else { vec![ds(i - 1)] },
                "outputs": [ds(i)],
                "tags": [],
                "namespace": "a_rather_long_namespace",
            })
        })
        .collect();
    snap["pipelines"]["__default__"]["nodes"] = serde_json::json!(nodes);
    for i in 0..40 {
        snap["pipelines"][format!("another_registered_pipeline_{i:02}")] =
            snap["pipelines"]["data_science"].clone();
    }
    std::fs::write(
        dir.path().join("snapshot.json"),
        serde_json::to_string(&snap).unwrap(),
    )
    .unwrap();
    dir
}

/// Run kfpx in `dir`; it must fail with exit 1, a first line `error: …`, and every line of
/// stderr at most [`MAX`] characters. Returns stderr.
fn short_failure(dir: &Path, args: &[&str]) -> String {
    let out = cmd::kfpx()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(["--snapshot", "snapshot.json"])
        .args(args)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.starts_with("warning: "))
        .collect();
    assert!(lines[0].starts_with("error: "), "{args:?}: {err}");
    for line in &lines {
        assert!(
            line.chars().count() <= MAX,
            "{args:?}: a line of {} characters:\n{line}",
            line.chars().count()
        );
    }
    err
}

#[test]
fn first_run_mistakes_give_short_error_lines() {
    // MemoryDatasets crossing pods in a long pipeline, with `none`.
    let dir = project(Some(&format!("{MINIMAL}  node_merge_strategy: none\n")), 60);
    let err = short_failure(dir.path(), &["compile"]);
    assert!(
        err.starts_with("error: 59 MemoryDatasets cross pods"),
        "{err}"
    );
    assert!(
        err.lines().next().unwrap().ends_with(" and 58 more"),
        "{err}"
    );
    // Allowed, the same problem is a one-line warning, as short.
    let out = cmd::kfpx()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["--snapshot", "snapshot.json", "compile", "-o", "-"])
        .arg("--allow-memory-datasets")
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    let warning = err
        .lines()
        .find(|l| l.contains("MemoryDatasets cross pods"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(warning.chars().count() <= MAX, "{warning}");
    assert!(
        warning.ends_with("; they are lost between pods"),
        "{warning}"
    );

    // An unknown pipeline in a project with 41 of them.
    let dir = project(Some(MINIMAL), 3);
    let err = short_failure(dir.path(), &["compile", "-p", "nosuch"]);
    assert!(err.contains(" more; pass one with `-p`"), "{err}");
    short_failure(dir.path(), &["graph", "-p", "nosuch", "--format", "json"]);

    // An unknown key with no close match, in run_config (some forty keys).
    let dir = project(Some(&format!("{MINIMAL}  zzzz_qqqq: 1\n")), 3);
    let err = short_failure(dir.path(), &["compile"]);
    assert!(err.contains("run_config.zzzz_qqqq: unknown key;"), "{err}");

    // A placeholder with no value, as in kedro-kubeflow's --with-github-actions sample.
    let dir = project(
        Some(&MINIMAL.replace(
            "reg/spaceflights:1",
            "gcr.io/${oc.env:KEDRO_CONFIG_GOOGLE_PROJECT_ID}/spaceflights:${oc.env:KEDRO_CONFIG_COMMIT_ID, unknown-commit}",
        )),
        3,
    );
    let err = short_failure(dir.path(), &["compile"]);
    assert!(err.contains("KEDRO_CONFIG_GOOGLE_PROJECT_ID"), "{err}");

    // No config; an env that does not exist.
    let dir = project(None, 3);
    short_failure(dir.path(), &["compile"]);
    let dir = project(Some(MINIMAL), 3);
    short_failure(dir.path(), &["-e", "nosuchenv", "compile"]);

    // Twenty typos: ten lines shown, then a count, all short.
    let mut yaml = MINIMAL.to_string();
    for i in 0..20 {
        yaml.push_str(&format!(
            "  an_unknown_key_with_a_long_name_number_{i:02}: 1\n"
        ));
    }
    let dir = project(Some(&yaml), 3);
    let err = short_failure(dir.path(), &["compile"]);
    assert_eq!(err.lines().count(), 11, "{err}");
}

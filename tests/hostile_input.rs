//! Hostile input and faults on the input side (issue 11), as a user meets them through the
//! binary: bounded YAML, odd but valid files, refused values with their place, files written
//! whole (or not at all) with their permissions, closed and full streams.

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

use support::fake_kfp::FakeKfp;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn snapshot() -> PathBuf {
    repo().join("conf-example/kfpx-snapshot.json")
}

const MINIMAL: &str = "host: https://kfp.example.com/pipeline\nrun_config:\n  image: reg/spaceflights:1\n  experiment_name: spaceflights\n  run_name: spaceflights run\n  node_merge_strategy: memory\n";

/// A throwaway project: conf-example's pyproject and a base kubeflow.yaml of these bytes.
fn project_with(kubeflow_yaml: impl AsRef<[u8]>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("conf-example/pyproject.toml"),
        dir.path().join("pyproject.toml"),
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("conf/base")).unwrap();
    std::fs::write(dir.path().join("conf/base/kubeflow.yaml"), kubeflow_yaml).unwrap();
    dir
}

/// kfpx in `project` (as the current directory) with a clean environment.
fn kfpx(project: &Path) -> Command {
    let mut cmd = support::cmd::kfpx();
    cmd.current_dir(project).env("NO_COLOR", "1");
    cmd
}

/// `compile` from conf-example's snapshot.
fn compile(project: &Path, out: &str) -> Command {
    let mut cmd = kfpx(project);
    cmd.arg("--snapshot")
        .arg(snapshot())
        .args(["compile", "-o", out]);
    cmd
}

/// Exit `code`, nothing on stdout, exactly one stderr line, which is `want`.
fn fails_with_line(cmd: &mut Command, code: i32, want: &str) {
    let out = cmd.assert().code(code).stdout("").get_output().clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err, format!("{want}\n"));
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn billion_laughs_fails_fast_with_a_located_error() {
    // 10 levels of 10 aliases: 10^10 values if expanded.
    let mut yaml = String::from("host: https://kfp.example.com/pipeline\nx0: &x0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*x{}", i - 1); 10].join(",");
        yaml.push_str(&format!("x{i}: &x{i} [{refs}]\n"));
    }
    assert!(yaml.len() < 600, "{}", yaml.len());
    let p = project_with(&yaml);
    fails_with_line(
        kfpx(p.path()).args(["config", "--check"]),
        1,
        "error: conf/base/kubeflow.yaml:6:38: YAML aliases expand to more than 100000 values \
         (nested aliases multiply); write the values out or use fewer aliases",
    );
}

#[test]
fn an_oversized_config_is_refused_before_parsing() {
    let mut yaml = MINIMAL.to_string();
    while yaml.len() <= 4 * 1024 * 1024 {
        yaml.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let p = project_with(&yaml);
    fails_with_line(
        kfpx(p.path()).args(["config", "--check"]),
        1,
        "error: conf/base/kubeflow.yaml is larger than 4 MiB, the most kfpx reads from a config \
         file; is it the right file?",
    );
}

#[test]
fn a_utf8_byte_order_mark_is_accepted() {
    let p = project_with(format!("\u{feff}{MINIMAL}"));
    kfpx(p.path())
        .args(["config", "--check"])
        .assert()
        .success()
        .stderr("");
}

#[test]
fn non_utf8_bytes_are_located() {
    let mut bytes = MINIMAL.as_bytes().to_vec();
    // inside `reg/spaceflights:1` on line 3
    let at = MINIMAL.find("spaceflights:1").unwrap();
    bytes[at] = 0xff;
    let p = project_with(bytes);
    fails_with_line(
        kfpx(p.path()).args(["config", "--check"]),
        1,
        "error: conf/base/kubeflow.yaml:3:14: byte 0xff is not UTF-8; save the file as UTF-8",
    );
}

#[test]
fn nested_oc_env_defaults_resolve_as_omegaconf_does() {
    let yaml = MINIMAL.replace(
        "reg/spaceflights:1",
        "\"img:${oc.env:KEDRO_CONFIG_A,${oc.env:KEDRO_CONFIG_B,x}}\"",
    );
    let p = project_with(&yaml);
    let image = |env: &[(&str, &str)]| {
        let mut cmd = compile(p.path(), "-");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.assert().success().get_output().stdout.clone();
        let text = String::from_utf8(out).unwrap();
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("image:"))
            .unwrap()
            .trim()
            .to_string();
        line
    };
    assert_eq!(image(&[]), "image: img:x");
    assert_eq!(image(&[("KEDRO_CONFIG_B", "bb")]), "image: img:bb");
    assert_eq!(
        image(&[("KEDRO_CONFIG_A", "aa"), ("KEDRO_CONFIG_B", "bb")]),
        "image: img:aa"
    );
    // a nested placeholder elsewhere is refused with its place, never half-substituted
    let yaml = MINIMAL.replace("reg/spaceflights:1", "\"img:${tag|${other|x}}\"");
    let p = project_with(&yaml);
    fails_with_line(
        kfpx(p.path()).args(["config", "--check"]),
        1,
        "error: conf/base/kubeflow.yaml:3:10: run_config.image: `${tag|${other|x}}` holds a \
         nested placeholder; kfpx (like OmegaConf) allows one only in the default of \
         ${oc.env:NAME,default}",
    );
}

#[test]
fn an_unknown_volume_class_is_refused_with_a_suggestion() {
    let yaml = format!(
        "{MINIMAL}  extra_volumes:\n    __default__:\n      - mount_path: /dev/shm\n        volume:\n          name: shm\n          empty_dir: {{cls: V1EmptyDirVolumeSource, params: {{medium: Memory}}}}\n      - mount_path: /cfg\n        volume:\n          name: cfg\n          config_map:\n            cls: V1ConfigMapVolumeSource\n            params:\n              name: app\n              items: [{{cls: V1KeyToPat, params: {{key: a, path: b}}}}]\n"
    );
    let p = project_with(&yaml);
    fails_with_line(
        kfpx(p.path()).args(["config", "--check"]),
        1,
        "error: conf/base/kubeflow.yaml:20:29: run_config.extra_volumes.__default__[1].volume.config_map.params.items[0].cls: \
         unknown class `V1KeyToPat`; did you mean `V1KeyToPath`?",
    );
    let yaml = yaml
        .replace("V1KeyToPat,", "V1KeyToPath,")
        .replace("cls: V1ConfigMapVolumeSource", "cls: V1SecretVolumeSource");
    let p = project_with(&yaml);
    fails_with_line(
        kfpx(p.path()).args(["config", "--check"]),
        1,
        "error: conf/base/kubeflow.yaml:17:18: run_config.extra_volumes.__default__[1].volume.config_map.cls: \
         class `V1SecretVolumeSource` does not build this volume source; use `V1ConfigMapVolumeSource`",
    );
}

#[test]
fn a_newline_in_the_image_is_refused() {
    let yaml = MINIMAL.replace("reg/spaceflights:1", "\"reg/spaceflights:1\\nextra\"");
    let p = project_with(&yaml);
    fails_with_line(
        kfpx(p.path()).args(["config", "--check"]),
        1,
        "error: conf/base/kubeflow.yaml:3:10: run_config.image: the image `reg/spaceflights:1\\nextra` \
         holds '\\n', which no image reference can contain",
    );
}

#[test]
fn a_newline_in_the_image_option_is_a_usage_error() {
    let p = project_with(MINIMAL);
    let out = compile(p.path(), "-")
        .args(["-i", "reg/app:1\nx"])
        .assert()
        .code(2)
        .stdout("")
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with(
            "error: invalid value 'reg/app:1\nx' for '--image <IMAGE>': the image \
             `reg/app:1\\nx` holds '\\n', which no image reference can contain"
        ),
        "{err}"
    );
}

#[test]
fn a_cron_that_never_fires_is_refused_before_any_request() {
    let server = FakeKfp::start();
    let p = project_with(MINIMAL);
    let out = kfpx(p.path())
        .args(["--snapshot"])
        .arg(snapshot())
        .args(["schedule", "--host", &server.url(), "-c", "0 0 2 31 2 *"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        err,
        "error: invalid --cron-expression: \"0 0 2 31 2 *\" never fires: no month it names has \
         that day of the month; KFP would keep the schedule without ever starting a run\n"
    );
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    let out = kfpx(p.path())
        .args(["--snapshot"])
        .arg(snapshot())
        .args(["schedule", "--host", &server.url(), "-c", "60 0 0 * * *"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("the second field: 60 is out of range, use 0-59"),
        "{err}"
    );
    assert!(server.requests().is_empty());
}

#[test]
fn a_huge_probe_timeout_is_an_error_not_a_panic() {
    let p = project_with(MINIMAL);
    fails_with_line(
        kfpx(p.path())
            .env("KFPX_PROBE_TIMEOUT", "1e20")
            .args(["compile", "-o", "-"]),
        1,
        "error: KFPX_PROBE_TIMEOUT must be a number of seconds above 0 and at most 86400 (a day), got \"1e20\"",
    );
}

#[cfg(unix)]
#[test]
fn output_through_a_symlink_writes_the_target_and_keeps_the_link() {
    let p = project_with(MINIMAL);
    std::fs::create_dir(p.path().join("real")).unwrap();
    std::fs::write(p.path().join("real/pipeline.yaml"), "old").unwrap();
    std::os::unix::fs::symlink("real/pipeline.yaml", p.path().join("out.yaml")).unwrap();
    compile(p.path(), "out.yaml").assert().success();
    let link = p.path().join("out.yaml");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let text = std::fs::read_to_string(p.path().join("real/pipeline.yaml")).unwrap();
    assert!(text.starts_with("# PIPELINE DEFINITION"), "{text}");
    assert_eq!(names(&p.path().join("real")), vec!["pipeline.yaml"]);
}

#[cfg(unix)]
#[test]
fn a_private_output_file_stays_private() {
    use std::os::unix::fs::PermissionsExt;
    let p = project_with(MINIMAL);
    let out = p.path().join("out.yaml");
    std::fs::write(&out, "old").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).unwrap();
    compile(p.path(), "out.yaml").assert().success();
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn temp_files_of_a_killed_compile_are_removed_by_the_next() {
    let p = project_with(MINIMAL);
    // what `kill -9` during a write leaves: pid 2^31-16 does not exist
    let stale = format!(".kfpx-{}-Ab12Cd.tmp", 0x7fff_fff0u32);
    let f = std::fs::File::create(p.path().join(&stale)).unwrap();
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
        .unwrap();
    compile(p.path(), "out.yaml").assert().success();
    assert!(!p.path().join(&stale).exists());
    assert!(p.path().join("out.yaml").exists());
}

#[cfg(target_os = "linux")]
#[test]
fn full_disk_and_closed_pipes() {
    let p = project_with(MINIMAL);
    // help and output to a full device: an error, not a silent success
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let run = |args: &[&str]| {
        support::cmd::kfpx_std()
            .current_dir(p.path())
            .env("NO_COLOR", "1")
            .args(args)
            .stdout(full())
            .output()
            .unwrap()
    };
    let snap = snapshot().display().to_string();
    for args in [
        vec!["--help"],
        vec!["--snapshot", snap.as_str(), "compile", "-o", "-"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "error: cannot write to stdout: No space left on device (os error 28)\n",
            "{args:?}"
        );
    }
    // a reader that closes the pipe at once (`| head -c0`): a quiet success
    let mut child = support::cmd::kfpx_std()
        .current_dir(p.path())
        .env("NO_COLOR", "1")
        .arg("--snapshot")
        .arg(snapshot())
        .args(["compile", "-o", "-"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn errors_found_while_compiling_point_at_the_config_key() {
    let check = |extra: &str, args: &[&str], want: &str| {
        let p = project_with(format!("{MINIMAL}{extra}"));
        let mut cmd = kfpx(p.path());
        cmd.arg("--snapshot").arg(snapshot()).args(args);
        fails_with_line(&mut cmd, 1, want);
    };
    check(
        "  on_exit_pipeline: nope\n",
        &["compile", "-o", "-"],
        "error: conf/base/kubeflow.yaml:7:21: run_config.on_exit_pipeline: the project has no \
         pipeline \"nope\"; its pipelines are: __default__, data_processing, data_science, reporting",
    );
    check(
        "  resources:\n    typo_node: {cpu: 1}\n",
        &["compile", "--strict", "-o", "-"],
        "error: conf/base/kubeflow.yaml:8:5: run_config.resources.typo_node: matches no node or tag \
         of the project; keys are Kedro node names, tags or __default__ (an error because of --strict)",
    );
    check(
        "  extra_volumes:\n    __default__:\n      - mount_path: /x\n        volume: {name: hp, host_path: {path: /tmp}}\n",
        &["compile", "-o", "-"],
        "error: conf/base/kubeflow.yaml:10:28: extra volume \"hp\" of task \
         data-processing-preprocess-companies-node: a hostPath volume cannot be expressed in KFP \
         v2 IR (empty_dir, config_map, secret and persistent_volume_claim can); use --kfp-version 1",
    );
    let p = project_with(
        MINIMAL.replace("memory", "full")
            + "  node_selector:\n    data_science.split_data_node: {pool: a}\n    data_science.train_model_node: {pool: b}\n",
    );
    let mut cmd = kfpx(p.path());
    cmd.arg("--snapshot")
        .arg(snapshot())
        .args(["compile", "-o", "-"]);
    fails_with_line(
        &mut cmd,
        1,
        "error: conf/base/kubeflow.yaml:7:3: run_config.node_selector: nodes \
         \"data_science.split_data_node\" and \"data_science.train_model_node\" share task \
         \"default\" but need pool=a and pool=b; give them the same label or put them in \
         different tasks",
    );
}

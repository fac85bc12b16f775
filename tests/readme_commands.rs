//! Issue 12: everything the README shows works. Every `kfpx …` (and `cargo run -- …`) command
//! line in README.md's code blocks is found here, and every one that needs no KFP server is
//! run by `sh`, as a reader would paste it, and must exit 0. A command line is only left out by
//! one of the rules in [`not_run`] (a server command, a usage synopsis, zsh syntax), so a new
//! README command is run without anyone adding it here.
//!
//! Each runs in a fresh sandbox: a copy of conf-example as the current project (so `kfpx
//! compile` works as in a user's project, with the graph from `KFPX_SNAPSHOT`), with another
//! copy at `./conf-example` (for `-C conf-example`), a private HOME, and `less` as `cat`.

#[path = "support/cmd.rs"]
mod cmd;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The command lines of README.md's code blocks, as written (`$ ` prompts removed).
fn readme_commands() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if !in_block {
            continue;
        }
        let l = line.trim();
        let l = l.strip_prefix("$ ").unwrap_or(l);
        let first = l.split_whitespace().next().unwrap_or("");
        let env_then_kfpx = first.contains('=')
            && first.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && l.split_whitespace().nth(1) == Some("kfpx");
        if first == "kfpx" || l.starts_with("cargo run -- ") || env_then_kfpx {
            out.push(l.to_string());
        }
    }
    out
}

/// Why a README command line is not run, or None to run it.
fn not_run(line: &str) -> Option<&'static str> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let sub = words
        .iter()
        .skip(1)
        .scan(false, |skip_value, w| {
            // the first word that is neither a global option nor its value
            let take = !*skip_value && !w.starts_with('-');
            *skip_value = !*skip_value
                && matches!(
                    *w,
                    "-C" | "-e" | "--env" | "--snapshot" | "--python" | "--host"
                );
            Some((take, *w))
        })
        .find(|(take, _)| *take)
        .map(|(_, w)| w)
        .unwrap_or("");
    if line.contains(" [-") || line.contains(" -c CRON") {
        return Some("a usage synopsis, not a command");
    }
    if line.contains("${fpath") {
        return Some("zsh syntax");
    }
    match sub {
        "upload-pipeline" | "run-once" | "schedule" | "list-pipelines" | "runs" | "schedules" => {
            Some("needs a KFP server (tests/kfp_commands.rs and tests/runs.rs run these against the fake one)")
        }
        "ui" if !line.contains("--print") => Some("opens a browser"),
        "run-local" => Some(
            "runs Kedro in every task: needs Python and Kedro (.ci/stage-runlocal.sh runs it on the \
             real test project)",
        ),
        "login" | "logout" => Some("talks to Google's sign-in"),
        _ => None,
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A fresh sandbox for one command line: (its directory, HOME, the PATH to use).
fn sandbox(line: &str) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    copy_dir(&root().join("conf-example"), &project);
    copy_dir(&root().join("conf-example"), &project.join("conf-example"));
    if line.contains(" init ") {
        // `init` is shown on a project that has no kubeflow.yaml yet.
        std::fs::remove_file(project.join("conf/base/kubeflow.yaml")).unwrap();
    }
    let home = dir.path().join("home");
    // Redirections into ~/some/dir/file: the reader has those directories.
    for target in line.split("> ").skip(1) {
        if let Some(rel) = target
            .split_whitespace()
            .next()
            .and_then(|t| t.strip_prefix("~/"))
        {
            if let Some(parent) = Path::new(rel).parent() {
                std::fs::create_dir_all(home.join(parent)).unwrap();
            }
        }
    }
    std::fs::create_dir_all(&home).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let kfpx = assert_cmd::cargo::cargo_bin("kfpx");
    std::os::unix::fs::symlink(&kfpx, bin.join("kfpx")).unwrap();
    let less = bin.join("less");
    std::fs::write(&less, "#!/bin/sh\nexec cat \"$@\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&less, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (dir, home, path)
}

/// README lines known to fail today, each with the reason and who fixes it. They are run and
/// reported, but do not fail the test. Remove an entry once its fix is merged (the test then
/// prints `KNOWN BROKEN BUT WORKS` for it).
const KNOWN_BROKEN: &[(&str, &str)] = &[];

#[test]
fn every_readme_command_that_needs_no_server_works() {
    let commands = readme_commands();
    assert!(commands.len() > 30, "found only {commands:?}");
    let mut ran = 0;
    let mut failures = Vec::new();
    for line in &commands {
        if let Some(why) = not_run(line) {
            eprintln!("not run ({why}): {line}");
            continue;
        }
        let (dir, home, path) = sandbox(line);
        let script = line.replacen("cargo run -- ", "kfpx ", 1);
        let mut cmd = std::process::Command::new("sh");
        cmd::clean(&mut cmd);
        cmd.arg("-c")
            .arg(&script)
            .current_dir(dir.path().join("project"))
            .env("HOME", &home)
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .env(
                "KFPX_SNAPSHOT",
                dir.path().join("project/kfpx-snapshot.json"),
            );
        let out = cmd.output().unwrap();
        ran += 1;
        if let Some((_, why)) = KNOWN_BROKEN
            .iter()
            .find(|(start, _)| line.starts_with(start))
        {
            if out.status.success() {
                eprintln!("KNOWN BROKEN BUT WORKS (remove it from KNOWN_BROKEN): {line}");
            } else {
                eprintln!("KNOWN BROKEN ({why}): {line}");
            }
            continue;
        }
        if !out.status.success() {
            failures.push(format!(
                "{line}\n  exit {:?}\n  {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
                    .trim()
                    .replace('\n', "\n  ")
            ));
        }
    }
    eprintln!("ran {ran} of {} README command lines", commands.len());
    assert!(
        failures.is_empty(),
        "README commands that fail:\n{}",
        failures.join("\n")
    );
    assert!(ran >= 25, "only {ran} ran");
}

#[test]
fn the_rules_leave_out_only_what_they_say() {
    assert_eq!(not_run("kfpx -e production ui --print"), None);
    assert!(not_run("kfpx ui").is_some());
    assert!(not_run("kfpx --host https://kubeflow.example.com/pipeline run-once").is_some());
    assert!(not_run("kfpx -e production compile --kfp-version 1 -o argo.yaml").is_none());
    assert!(not_run("kfpx graph [-p PIPELINE] [--merge-strategy STRATEGY]").is_some());
    assert!(not_run("kfpx -C conf-example graph").is_none());
}

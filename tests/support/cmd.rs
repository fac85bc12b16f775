//! The one way tests start kfpx: [`kfpx`], with none of the variables kfpx reads taken from
//! the outer environment (a developer's `KF_PIPELINES_ENDPOINT`, token or `KEDRO_ENV` must not
//! change a test), and HOME in an empty test folder (no real credentials or gcloud config).
//! Tests set what they exercise on top. Files without the fake servers include this file alone
//! (`#[path = "support/cmd.rs"] mod cmd;`) rather than all of `support`.
#![allow(dead_code)]

/// Every environment variable kfpx reads, besides [`kfpx::kfp::auth::VARS`] (the credentials)
/// and the `KEDRO_CONFIG_` prefix ([`PREFIXES`]). `everything_kfpx_reads_is_cleared` in
/// tests/cli.rs fails when src/ reads a variable missing here.
pub const VARS: &[&str] = &[
    // src/cli.rs (clap `env =`)
    "KEDRO_ENV",
    "KFPX_SNAPSHOT",
    "KFPX_OAUTH_CLIENT_SECRET",
    "KF_PIPELINES_CA_BUNDLE",
    // src/kfp/session.rs
    "KF_PIPELINES_ENDPOINT",
    "KF_PIPELINES_UI_ENDPOINT",
    "KF_PIPELINES_NAMESPACE",
    // src/output.rs, src/lib.rs
    "KFPX_LOG",
    "NO_COLOR",
    "CI",
    "COLUMNS",
    // src/graph/probe.rs
    "KFPX_PYTHON",
    "VIRTUAL_ENV",
    "KFPX_PROBE_MODE",
    "KFPX_PROBE_TIMEOUT",
    // src/commands/ui.rs (whether a browser can open)
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "BROWSER",
    // src/kfp/auth (where the home folder is)
    "USERPROFILE",
    "APPDATA",
];

/// Variable name prefixes kfpx reads (src/commands/build.rs `capture_env`, config `${oc.env:…}`).
pub const PREFIXES: &[&str] = &["KEDRO_CONFIG_"];

/// The HOME every test gets unless it sets its own: an empty folder, never the user's.
pub fn test_home() -> std::path::PathBuf {
    std::env::temp_dir().join("kfpx-test-home")
}

/// Take every variable kfpx reads out of `cmd`'s environment and point HOME at [`test_home`].
pub fn clean(cmd: &mut std::process::Command) {
    for var in VARS.iter().chain(kfpx::kfp::auth::VARS) {
        cmd.env_remove(var);
    }
    for (k, _) in std::env::vars_os() {
        if PREFIXES
            .iter()
            .any(|p| k.to_str().is_some_and(|k| k.starts_with(p)))
        {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", test_home());
}

/// The kfpx binary as a std command with a clean environment (for spawning and streaming).
pub fn kfpx_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("kfpx"));
    clean(&mut cmd);
    cmd
}

/// The kfpx binary with a clean environment.
pub fn kfpx() -> assert_cmd::Command {
    assert_cmd::Command::from_std(kfpx_std())
}

/// A loopback port nothing listens on, for "connection refused": 1 (tcpmux) is privileged, so no
/// test's fake server can take it, unlike a port freed by dropping a listener.
pub const REFUSED_PORT: u16 = 1;

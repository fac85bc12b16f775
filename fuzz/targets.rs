//! The fuzz targets for the parsers of outside input on the input side: kubeflow.yaml with
//! placeholders (base + overlay), the snapshot JSON, the probe's output, `--param` values,
//! cron expressions. Each takes raw bytes; an `Err` is a fine answer, a panic or a slow one
//! is not (see `harness.rs`). Shared by `examples/fuzz.rs` and `tests/fuzz_regressions.rs`.

use super::harness::Target;

fn text(input: &[u8]) -> String {
    String::from_utf8_lossy(input).into_owned()
}

/// Split at the first `\x00`: (first, rest).
fn split(input: &[u8]) -> (&[u8], Option<&[u8]>) {
    match input.iter().position(|b| *b == 0) {
        Some(i) => (&input[..i], Some(&input[i + 1..])),
        None => (input, None),
    }
}

fn config(input: &[u8]) -> Result<(), String> {
    use kfpx::config::{load_sources, Lookup, SourceText};
    let (base, overlay) = split(input);
    let mut files = vec![SourceText {
        name: "conf/base/kubeflow.yaml".into(),
        text: text(base),
    }];
    if let Some(o) = overlay {
        files.push(SourceText {
            name: "conf/prod/kubeflow.yaml".into(),
            text: text(o),
        });
    }
    let env = |k: &str| match k {
        "KEDRO_CONFIG_COMMIT_ID" => Some("abc1234".to_string()),
        "KEDRO_CONFIG_NESTED" => Some("${oc.env:X}".to_string()),
        "HOME" => Some("/home/u".to_string()),
        _ => None,
    };
    let git = |k: &str| (k == "branch_name").then(|| "main".to_string());
    load_sources(
        &files,
        &Lookup {
            env: &env,
            git: &git,
        },
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

fn snapshot(input: &[u8]) -> Result<(), String> {
    kfpx::graph::Snapshot::from_json(&text(input), "kfpx-snapshot.json")
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(unix)]
fn probe_output(input: &[u8]) -> Result<(), String> {
    // first byte: exit code; then stdout \x00 stderr
    let (code, rest) = input.split_first().unwrap_or((&0, &[]));
    let (stdout, stderr) = split(rest);
    let project = kfpx::project::Project {
        root: std::path::PathBuf::from("/nonexistent/proj"),
        name: "p".into(),
        package: None,
        env: "local".into(),
    };
    kfpx::graph::probe::interpret_raw(
        &project,
        std::path::Path::new("/usr/bin/python3"),
        *code % 8,
        stdout.to_vec(),
        &text(stderr.unwrap_or_default()),
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

#[cfg(not(unix))]
fn probe_output(_: &[u8]) -> Result<(), String> {
    Ok(())
}

fn params(input: &[u8]) -> Result<(), String> {
    use kfpx::commands::params::resolve;
    use kfpx::compile::params::coerce_override;
    let raw: Vec<String> = text(input).split('\n').map(str::to_string).collect();
    let known: Vec<String> = ["a", "b", "s", "l", "m", "x.y"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let given = serde_json::json!({"a": 1, "b": 0.5, "s": "text", "l": [1, 2],
                                   "m": {"k": {"j": "v"}}, "x.y": true});
    let parsed =
        resolve(&raw, given.as_object().expect("a map"), &known).map_err(|e| e.to_string())?;
    let defaults = [
        serde_json::json!(1),
        serde_json::json!(0.5),
        serde_json::json!("text"),
        serde_json::json!([1, 2]),
        serde_json::json!({"k": "v"}),
        serde_json::json!(true),
    ];
    for (name, value) in parsed {
        for d in &defaults {
            let _ = coerce_override(&name, d, value.clone());
        }
    }
    Ok(())
}

fn cron(input: &[u8]) -> Result<(), String> {
    use kfpx::kfp::cronexpr::CronExpr;
    let c = CronExpr::parse(&text(input))?;
    let after = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let _ = c.next_times(after, None, 5);
    Ok(())
}

fn lines(s: &str) -> Vec<Vec<u8>> {
    s.lines().map(|l| l.as_bytes().to_vec()).collect()
}

pub fn all() -> Vec<Target> {
    let base = include_bytes!("../conf-example/conf/base/kubeflow.yaml").to_vec();
    let prod = include_bytes!("../conf-example/conf/production/kubeflow.yaml");
    let mut with_overlay = base.clone();
    with_overlay.push(0);
    with_overlay.extend_from_slice(prod);
    let mut config_seeds = vec![
        base,
        with_overlay,
        include_bytes!("../tests/fixtures/compile/kedro_project.kubeflow.yaml").to_vec(),
    ];
    config_seeds.extend(lines(
        "a: &a [x, y]\nb: [*a, *a]\n\nhost: ${oc.env:A,${oc.env:B,x}}\nx: {<<: [{a: 1}], b: 2}",
    ));
    let snapshot_seeds = vec![
        include_bytes!("../conf-example/kfpx-snapshot.json").to_vec(),
        include_bytes!("../tests/fixtures/compile/kedro_project.snapshot.json").to_vec(),
    ];
    let mut probe_seeds = vec![];
    for s in &snapshot_seeds {
        let mut v = vec![0u8];
        v.extend_from_slice(s);
        probe_seeds.push(v);
    }
    for (code, err) in [
        (
            3u8,
            "Traceback\nkfpx-probe-error: project-import: RuntimeError: boom (at p.py:3)\n",
        ),
        (4, "kfpx-probe-error: config: bad env\n"),
        (1, "SyntaxError: invalid syntax\n  print 'x'\n"),
        (
            2,
            "kfpx-probe-error: kedro-missing: ModuleNotFoundError: No module named 'kedro'\n",
        ),
        (5, "kfpx-probe-error: old-python: Python 3.6\n"),
        (
            6,
            "kfpx-probe-error: not-a-project: no pyproject\n s3://u:p@h/x",
        ),
    ] {
        let mut v = vec![code];
        v.push(0);
        v.extend_from_slice(err.as_bytes());
        probe_seeds.push(v);
    }
    vec![
        Target {
            name: "config",
            seeds: config_seeds,
            dictionary: vec![
                b"${oc.env:", b"${", b"$<", b"|", b"}", b"&a ", b"*a", b"<<: ", b"- ", b": ",
                b"\n  ", b"{", b"[", b"run_config:\n", b"resources:", b"cls: ", b"params:",
                b"extra_volumes:", b"__default__:", b"---\n", b"!!str ", b"'", b"\"",
            ],
            run: config,
        },
        Target {
            name: "snapshot",
            seeds: snapshot_seeds,
            dictionary: vec![
                b"{", b"}", b"[", b"]", b"\"", b",", b":", b"null", b"1e999", b"-0", b"\"nodes\"",
                b"\"inputs\"", b"\"outputs\"", b"\"pipelines\"", b"\"datasets\"", b"\"version\": 1",
                b"\\u0000", b"\\ud800",
            ],
            run: snapshot,
        },
        Target {
            name: "probe",
            seeds: probe_seeds,
            dictionary: vec![
                b"kfpx-probe-error: ", b"\n", b"://", b"@", b":", b"{", b"}", b"\"format\"",
                b"kfpx-snapshot",
            ],
            run: probe_output,
        },
        Target {
            name: "params",
            seeds: lines("a=1\nb:2\ns=hello\nl=[1, 2]\nm={k: v}\nx.y=true\na=1e400\ns="),
            dictionary: vec![b"=", b":", b"\n", b"[", b"]", b"{", b"}", b"null", b"~", b"0x10", b"1e309"],
            run: params,
        },
        Target {
            name: "cron",
            seeds: lines(
                "0 0 4 * * *\n0 30 9 * * 1-5\n@every 1h30m\n@daily\n0 0 2 31 2 *\n*/5 0-59/10 * ? JAN-DEC SUN,SAT\n0 0 0 29 2 1",
            ),
            dictionary: vec![b"*", b"?", b"/", b"-", b",", b" ", b"@every ", b"h", b"m", b"s", b"ms", b"MON", b"JAN", b"99999999999"],
            run: cron,
        },
    ]
}

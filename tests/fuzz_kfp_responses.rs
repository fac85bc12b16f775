//! A fuzz target for KFP API response parsing that runs on stable Rust (cargo-fuzz needs a
//! nightly toolchain): a seeded structure-aware mutator over real answer shapes, feeding every
//! parser of server text in kfpx — `decode_answer` (any body → the object every answer is),
//! `error_message` (error bodies), `parse_retry_after`, `Page::read` (list pages), the v2 and v1
//! model parsers (with the Argo manifest inside v1 runs), and the redaction of URLs and sent
//! credentials (which must never let the secret through).
//!
//! * `cargo test` runs it for 1 s (`KFPX_FUZZ_SECS` changes that; CI's stage-fuzz runs 60 s);
//!   `KFPX_FUZZ_SEED` replays one seed (printed at the start).
//! * Any panic, or an input taking over 1 s, fails the run and writes the input to
//!   `.ci/work/fuzz-crashers/`; copy it into `tests/fuzz/kfp-responses/` so it is replayed on
//!   every run from then on (the regression corpus, also the seeds of the mutator). Mutants
//!   over 256 KiB are skipped (see [`MAX_INPUT_BYTES`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use kfpx::kfp::client::{decode_answer, error_message, parse_retry_after};
use kfpx::kfp::{v1, v2};
use kfpx::redact::RedactedUrl;

/// The slowest any single input may be.
const MAX_PER_INPUT: Duration = Duration::from_secs(1);

/// Mutants larger than this are skipped: the mutator copies subtrees into themselves, so a few
/// rounds reach tens of MiB, where a linear parse in a debug build alone passes
/// [`MAX_PER_INPUT`] on a loaded machine. What grows faster than the input shows at this size
/// already; the time of linear work on large answers is for the benchmarks (and answers are
/// capped at `MAX_RESPONSE_BYTES`).
const MAX_INPUT_BYTES: usize = 256 * 1024;

/// Keys KFP answers use: mutations rename keys to these and insert them.
const KEYS: &[&str] = &[
    "pipeline_id",
    "pipeline_version_id",
    "experiment_id",
    "run_id",
    "recurring_run_id",
    "id",
    "name",
    "display_name",
    "state",
    "status",
    "error",
    "message",
    "details",
    "code",
    "error_message",
    "error_details",
    "next_page_token",
    "total_size",
    "pipelines",
    "pipeline_versions",
    "versions",
    "experiments",
    "runs",
    "jobs",
    "recurringRuns",
    "recurring_runs",
    "run",
    "pipeline_runtime",
    "workflow_manifest",
    "run_details",
    "task_details",
    "default_version",
    "resource_references",
    "key",
    "type",
    "namespace",
    "created_at",
    "description",
    "nodes",
    "phase",
    "displayName",
];

fn seeds() -> Vec<String> {
    let manifest = json!({"status": {"nodes": {
        "wf-1": {"type": "Pod", "phase": "Failed", "displayName": "train"},
        "wf-2": {"type": "Pod", "phase": "Succeeded", "displayName": "prep"},
        "wf": {"type": "DAG", "phase": "Failed", "displayName": "wf"}}}})
    .to_string();
    let mut out: Vec<String> = [
        json!({"pipelines": [{"pipeline_id": "p1", "display_name": "[demo] x (env: local)",
            "name": "x", "created_at": "2026-01-01T00:00:00Z", "namespace": ""}],
            "total_size": 1, "next_page_token": "tok"}),
        json!({"pipeline_versions": [{"pipeline_id": "p1", "pipeline_version_id": "v1",
            "display_name": "demo-0123456-abcdef", "name": "demo-0123456-abcdef"}]}),
        json!({"experiments": [{"experiment_id": "e1", "display_name": "Default",
            "namespace": "team"}], "next_page_token": ""}),
        json!({"run_id": "r1", "display_name": "run", "state": "FAILED",
            "error": {"code": 2, "message": "boom"},
            "run_details": {"task_details": [
                {"display_name": "root", "state": "FAILED"},
                {"display_name": "train", "state": "FAILED"},
                {"display_name": "x-driver", "state": "FAILED"}]}}),
        json!({"recurringRuns": [{"recurring_run_id": "rr1", "display_name": "nightly"}]}),
        json!({"run": {"id": "r1", "name": "run", "status": "Failed", "error": "oops",
            "resource_references": [{"key": {"type": "EXPERIMENT", "id": "e1"}}]},
            "pipeline_runtime": {"workflow_manifest": manifest}}),
        json!({"pipelines": [{"id": "p1", "name": "x",
            "default_version": {"id": "v1", "name": "x",
                "resource_references": [{"key": {"type": "NAMESPACE", "id": "team"}}]}}]}),
        json!({"jobs": [{"id": "j1", "name": "nightly", "created_at": "2026-01-01T00:00:00Z"}]}),
        json!({"code": 7, "message": "Failed to authorize: PermissionDenied",
            "details": [{"@type": "type.googleapis.com/google.rpc.Status", "code": 7,
                "message": "PermissionDenied"}]}),
        json!({"error_message": "Failed to upload", "error_details": "trace"}),
        json!({"error": "bad thing", "code": 3}),
        json!({"tag_name": "2.5.0", "multi_user": true}),
    ]
    .iter()
    .map(Value::to_string)
    .collect();
    out.extend(
        [
            "[1,2,3]",
            "",
            "  ",
            "null",
            "\"ok\"",
            "<!DOCTYPE html><html><body>Login</body></html>",
            "404 page not found\n",
            "{",
            "5",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "120",
        ]
        .map(String::from),
    );
    out.extend(corpus().into_iter().map(|(_, text)| text));
    out
}

/// The regression corpus: every file in tests/fuzz/kfp-responses/.
fn corpus() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/kfp-responses");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            Some((p, String::from_utf8_lossy(&bytes).into_owned()))
        })
        .collect()
}

fn random_scalar(rng: &mut StdRng) -> Value {
    match rng.random_range(0..14) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(-1),
        3 => json!(u64::MAX),
        4 => json!(1e308),
        5 => json!(""),
        6 => json!("x".repeat(rng.random_range(1..20_000))),
        7 => json!("ж\u{0}\n\t\"'\\ \u{202e}🦀"),
        8 => json!([]),
        9 => json!({}),
        10 => json!(KEYS[rng.random_range(0..KEYS.len())]),
        11 => {
            // Deep nesting (kfpx must not recurse without bound).
            let mut v = json!(1);
            for _ in 0..rng.random_range(1..400) {
                v = json!([v]);
            }
            v
        }
        12 => json!(
            [
                "SUCCEEDED",
                "FAILED",
                "RUNNING",
                "Pod",
                "Failed",
                "NAMESPACE"
            ][rng.random_range(0..6)]
        ),
        _ => json!(rng.random::<i64>()),
    }
}

/// A random node of `v` (depth-first walk with random stops).
fn pick<'a>(v: &'a mut Value, rng: &mut StdRng) -> &'a mut Value {
    let descend = rng.random_range(0..4) != 0;
    let len = match &*v {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        _ => 0,
    };
    if !descend || len == 0 {
        return v;
    }
    let i = rng.random_range(0..len);
    match v {
        Value::Array(a) => pick(&mut a[i], rng),
        Value::Object(o) => {
            let (_, child) = o.iter_mut().nth(i).expect("index in range");
            pick(child, rng)
        }
        _ => unreachable!("only containers have children"),
    }
}

fn mutate_value(v: &mut Value, rng: &mut StdRng) {
    let donor = v.clone();
    let node = pick(v, rng);
    match rng.random_range(0..6) {
        0 | 1 => *node = random_scalar(rng),
        2 => {
            if let Value::Object(o) = node {
                o.insert(
                    KEYS[rng.random_range(0..KEYS.len())].to_string(),
                    random_scalar(rng),
                );
            } else {
                *node = random_scalar(rng);
            }
        }
        3 => {
            // Rename a key.
            if let Value::Object(o) = node {
                if let Some(k) = o.keys().next().cloned() {
                    let val = o.remove(&k).unwrap_or(Value::Null);
                    o.insert(KEYS[rng.random_range(0..KEYS.len())].to_string(), val);
                }
            }
        }
        4 => *node = donor,
        _ => {
            if let Value::Array(a) = node {
                let n = a.len();
                if n > 0 {
                    let x = a[rng.random_range(0..n)].clone();
                    for _ in 0..rng.random_range(1..50) {
                        a.push(x.clone());
                    }
                }
            } else if let Value::String(s) = node {
                // Strings hold JSON too (the v1 Argo manifest).
                *s = mutate_text(s, rng);
            }
        }
    }
}

fn mutate_text(text: &str, rng: &mut StdRng) -> String {
    let mut b = text.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..8) {
        let n = b.len();
        match rng.random_range(0..5) {
            0 if n > 0 => {
                let i = rng.random_range(0..n);
                b[i] = rng.random();
            }
            1 => {
                let i = rng.random_range(0..=n);
                let ins: &[u8] = [
                    &b"{"[..],
                    b"}",
                    b"[",
                    b"]",
                    b"\"",
                    b",",
                    b":",
                    b"\\u0000",
                    b"\xff",
                ][rng.random_range(0..9)];
                b.splice(i..i, ins.iter().copied());
            }
            2 if n > 0 => {
                let i = rng.random_range(0..n);
                let j = rng.random_range(i..=n);
                b.drain(i..j);
            }
            3 if n > 0 => {
                b.truncate(rng.random_range(0..n));
            }
            _ => {
                let i = rng.random_range(0..=n);
                let copy: Vec<u8> = b[..i].to_vec();
                b.extend(copy);
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// Every parser of server text, on one input; the redaction properties on the way.
fn exercise(text: &str, rng_bits: u64) {
    let _ = error_message(text);
    let _ = parse_retry_after(text);
    let decoded = decode_answer(text);
    let value = match decoded {
        Ok(v) => v,
        Err(_) => match serde_json::from_str::<Value>(text) {
            Ok(v) => v,
            Err(_) => return,
        },
    };
    parse_value(&value);

    // Redaction: a marked password embedded in the text as user info is never shown.
    let secret = format!("Zq{rng_bits:x}Pw");
    let url = format!("https://user:{secret}@{}", text.replace('@', ""));
    let shown = RedactedUrl::new(&url);
    assert!(
        !format!("{shown}{shown:?}").contains(&secret),
        "RedactedUrl let the password through: {shown}"
    );
}

fn parse_value(value: &Value) {
    use kfpx::kfp::wire::{read, Listed, Page};
    fn page<T: Listed>(value: &Value) -> Vec<T> {
        Page::<T>::read(value.clone())
            .map(|p| p.items.into_iter().take(50).collect())
            .unwrap_or_default()
    }
    for p in page::<v2::WirePipeline>(value) {
        let _ = v2::pipeline(p);
    }
    for v in page::<v2::WireVersion>(value) {
        let _ = v2::version(v);
    }
    for e in page::<v2::WireExperiment>(value) {
        let _ = v2::experiment(e);
    }
    for r in page::<v2::WireRun>(value) {
        let _ = v2::run(r);
    }
    for r in page::<v2::WireRecurringRun>(value) {
        let _ = v2::recurring_run(r);
    }
    for p in page::<v1::WirePipeline>(value) {
        let _ = v1::pipeline(p);
    }
    for v in page::<v1::WireVersion>(value) {
        let _ = v1::version(v);
    }
    for e in page::<v1::WireExperiment>(value) {
        let _ = v1::experiment(e);
    }
    for r in page::<v1::WireRun>(value) {
        let _ = v1::run(r);
    }
    for j in page::<v1::WireJob>(value) {
        let _ = v1::job(j);
    }
    let _ = v2::pipeline(read(value.clone()));
    let _ = v2::version(read(value.clone()));
    let _ = v2::experiment(read(value.clone()));
    let _ = v2::run(read(value.clone()));
    let _ = v2::recurring_run(read(value.clone()));
    let _ = v1::pipeline(read(value.clone()));
    let _ = v1::version(read(value.clone()));
    let _ = v1::experiment(read(value.clone()));
    let _ = v1::run(read(value.clone()));
    let _ = v1::job(read(value.clone()));
    let _: kfpx::kfp::wire::Healthz = read(value.clone());
}

/// Run `text` through every target; `Err` with why when it panicked or took too long.
fn check(text: &str, bits: u64) -> Result<(), String> {
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| exercise(text, bits)));
    let took = started.elapsed();
    match outcome {
        Err(p) => Err(format!(
            "panicked: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
        Ok(()) if took > MAX_PER_INPUT => Err(format!("took {took:?}")),
        Ok(()) => Ok(()),
    }
}

fn keep_crasher(text: &str, why: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/work/fuzz-crashers");
    let _ = std::fs::create_dir_all(&dir);
    let name = format!(
        "crash-{:016x}.json",
        text.bytes()
            .fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64)
                .wrapping_mul(0x100000001b3))
    );
    let path = dir.join(name);
    let _ = std::fs::write(&path, text);
    eprintln!("fuzz: {why}; input kept in {}", path.display());
    path
}

#[test]
fn the_regression_corpus_still_parses() {
    for (path, text) in corpus() {
        if let Err(why) = check(&text, 7) {
            panic!("{}: {why}", path.display());
        }
    }
}

#[test]
fn kfp_response_parsing_survives_mutated_answers() {
    let secs: u64 = std::env::var("KFPX_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let seed: u64 = std::env::var("KFPX_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("fuzz: seed {seed} for {secs} s (KFPX_FUZZ_SEED={seed} replays it)");
    let mut rng = StdRng::seed_from_u64(seed);
    let seeds = seeds();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut runs = 0u64;
    let mut skipped = 0u64;
    let mut failures = Vec::new();
    while Instant::now() < deadline {
        let base = &seeds[rng.random_range(0..seeds.len())];
        let text = match (serde_json::from_str::<Value>(base), rng.random_range(0..3)) {
            (Ok(mut v), 0 | 1) => {
                for _ in 0..rng.random_range(1..6) {
                    mutate_value(&mut v, &mut rng);
                }
                let text = v.to_string();
                if text.len() > MAX_INPUT_BYTES {
                    skipped += 1;
                    continue;
                }
                // Deep values do not serialise back into parsable text: feed them directly too.
                let started = Instant::now();
                let direct = catch_unwind(AssertUnwindSafe(|| parse_value(&v)));
                if direct.is_err() || started.elapsed() > MAX_PER_INPUT {
                    failures.push(keep_crasher(&text, "a mutated value failed"));
                }
                text
            }
            _ => mutate_text(base, &mut rng),
        };
        if text.len() > MAX_INPUT_BYTES {
            skipped += 1;
            continue;
        }
        if let Err(why) = check(&text, rng.random()) {
            failures.push(keep_crasher(&text, &why));
        }
        runs += 1;
    }
    eprintln!(
        "fuzz: {runs} inputs, {} failures ({skipped} mutants over {} KiB skipped)",
        failures.len(),
        MAX_INPUT_BYTES / 1024
    );
    assert!(runs > 0);
    assert!(
        failures.is_empty(),
        "inputs that crashed or hung: {failures:?} (seed {seed})"
    );
}

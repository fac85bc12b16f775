//! Replays every input in fuzz/regressions/<target>/ (inputs the fuzzer once found failing,
//! see examples/fuzz.rs) and every target's seeds: none may panic or take over a second.

#[path = "../fuzz/harness.rs"]
#[allow(dead_code)]
mod harness;
#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::PathBuf;

#[test]
fn found_inputs_and_seeds_neither_panic_nor_hang() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut replayed = 0;
    for t in targets::all() {
        let mut inputs: Vec<(String, Vec<u8>)> = t
            .seeds
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("seed {i}"), s.clone()))
            .collect();
        if let Ok(entries) = std::fs::read_dir(dir.join(t.name)) {
            for e in entries.flatten() {
                inputs.push((
                    e.path().display().to_string(),
                    std::fs::read(e.path()).unwrap(),
                ));
            }
        }
        for (name, input) in inputs {
            if let Err(why) = harness::run_one(&t, &input) {
                panic!("fuzz target {}: {name}: {why}", t.name);
            }
            replayed += 1;
        }
    }
    assert!(replayed > 10, "{replayed}");
}

#[test]
fn the_harness_reports_panics_and_slow_inputs() {
    fn panics(_: &[u8]) -> Result<(), String> {
        panic!("boom")
    }
    fn slow(_: &[u8]) -> Result<(), String> {
        std::thread::sleep(harness::SLOW + std::time::Duration::from_millis(50));
        Ok(())
    }
    let t = |run| harness::Target {
        name: "t",
        seeds: vec![],
        dictionary: vec![],
        run,
    };
    let e = harness::run_one(&t(panics), b"x").unwrap_err();
    assert_eq!(e, "panicked: boom");
    let e = harness::run_one(&t(slow), b"x").unwrap_err();
    assert!(e.starts_with("took 1.0"), "{e}");
}

#[test]
fn the_mutator_is_deterministic() {
    let mut a = harness::Rng::new(7);
    let mut b = harness::Rng::new(7);
    let (mut x, mut y) = (b"0 0 4 * * *".to_vec(), b"0 0 4 * * *".to_vec());
    for _ in 0..100 {
        harness::mutate(&mut a, &mut x, &[b"@every"], &[]);
        harness::mutate(&mut b, &mut y, &[b"@every"], &[]);
    }
    assert_eq!(x, y);
}

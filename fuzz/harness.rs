//! A small mutation fuzzer that runs on the stable toolchain (cargo-fuzz needs nightly).
//!
//! A [`Target`] is a name, seed inputs and a function that takes bytes and must return (any
//! `Err` is fine; a panic, or taking longer than [`SLOW`], is a failure). [`fuzz`] mutates the
//! seeds and the inputs that reached a new (output kind, length bucket) for a bounded time,
//! with a deterministic random generator (seeded), and saves every failing input to
//! `<out>/<target>-<hash>`; those go to `fuzz/regressions/<target>/`, which
//! `tests/fuzz_regressions.rs` replays on every `cargo test`.
//!
//! Generic on purpose: a target is any `fn(&[u8]) -> Result<(), String>`, so other parsers
//! (KFP API responses, …) add a target in their own file without touching this one.
//!
//! A stack overflow or an endless loop cannot be caught in-process: the input being run is
//! written to `<out>/<target>-current` first, and a watchdog thread aborts the process when
//! one input runs for [`HANG`], so the stage fails and the file names the input.

use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An input slower than this is a failure ("no input over 1 s").
pub const SLOW: Duration = Duration::from_secs(1);
/// An input running this long is taken as a hang: the process aborts.
pub const HANG: Duration = Duration::from_secs(20);
/// Largest input the mutator makes.
pub const MAX_LEN: usize = 64 * 1024;

pub struct Target {
    pub name: &'static str,
    pub seeds: Vec<Vec<u8>>,
    /// Words spliced into inputs (keywords of the format).
    pub dictionary: Vec<&'static [u8]>,
    pub run: fn(&[u8]) -> Result<(), String>,
}

/// What one fuzzing session found.
#[derive(Debug, Default)]
pub struct Report {
    pub execs: u64,
    pub corpus: usize,
    pub failures: Vec<String>,
    pub slowest: Duration,
}

/// xorshift64*: deterministic and dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: [&[u8]; 16] = [
    b"\x00",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\n",
    b"\r\n",
    b"\t",
    b"\"",
    b"'",
    b"\\",
    b"${",
    b"}",
    b"-1",
    b"1e309",
    b"18446744073709551616",
    b"9223372036854775807",
    b"\xe2\x80\xae",
];

/// One random change of `input`.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>, dict: &[&[u8]], corpus: &[Vec<u8>]) {
    let pos = |rng: &mut Rng, v: &Vec<u8>| rng.below(v.len() + 1);
    match rng.below(9) {
        0 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] ^= 1 << rng.below(8);
        }
        1 if !input.is_empty() => {
            let i = rng.below(input.len());
            input[i] = rng.next() as u8;
        }
        2 if !input.is_empty() => {
            let i = rng.below(input.len());
            let n = 1 + rng.below((input.len() - i).min(16));
            input.drain(i..i + n);
        }
        3 => {
            let w = INTERESTING[rng.below(INTERESTING.len())];
            let i = pos(rng, input);
            input.splice(i..i, w.iter().copied());
        }
        4 | 5 if !dict.is_empty() => {
            let w = dict[rng.below(dict.len())];
            let i = pos(rng, input);
            input.splice(i..i, w.iter().copied());
        }
        6 if !input.is_empty() => {
            // repeat a chunk (nesting, long lists)
            let i = rng.below(input.len());
            let n = 1 + rng.below((input.len() - i).min(64));
            let chunk: Vec<u8> = input[i..i + n].to_vec();
            let times = 1 + rng.below(8);
            for _ in 0..times {
                input.splice(i..i, chunk.iter().copied());
            }
        }
        7 if !corpus.is_empty() => {
            // splice with another input
            let other = &corpus[rng.below(corpus.len())];
            if !other.is_empty() {
                let a = rng.below(other.len());
                let b = a + rng.below(other.len() - a);
                let i = pos(rng, input);
                input.splice(i..i, other[a..b].iter().copied());
            }
        }
        _ if !input.is_empty() => {
            let i = rng.below(input.len());
            let n = rng.below(input.len() - i);
            input.truncate(i + n);
        }
        _ => input.push(rng.next() as u8),
    }
    input.truncate(MAX_LEN);
}

/// Run `target` once on `input`: `Err` with a description when it panics or is slow.
pub fn run_one(target: &Target, input: &[u8]) -> Result<(Duration, bool), String> {
    let started = Instant::now();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    let took = started.elapsed();
    match outcome {
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Err(format!("panicked: {msg}"))
        }
        Ok(_) if took > SLOW => Err(format!("took {:.2}s", took.as_secs_f64())),
        Ok(r) => Ok((took, r.is_ok())),
    }
}

fn hash(bytes: &[u8]) -> u64 {
    // FNV-1a
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Fuzz `target` for `budget`, saving failures under `out`.
pub fn fuzz(target: &Target, budget: Duration, seed: u64, out: &Path) -> Report {
    std::fs::create_dir_all(out).expect("create the fuzz output directory");
    let current_path = out.join(format!("{}-current", target.name));
    let mut current = std::fs::File::create(&current_path).expect("create the current-input file");
    // watchdog: a hang aborts with the input's file named
    let started_at = Arc::new(AtomicU64::new(0));
    let epoch = Instant::now();
    {
        let started_at = Arc::clone(&started_at);
        let path = current_path.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(500));
            let s = started_at.load(Ordering::Relaxed);
            if s > 0 && epoch.elapsed().as_millis() as u64 - s > HANG.as_millis() as u64 {
                eprintln!("fuzz: an input hangs; it is in {}", path.display());
                std::process::abort();
            }
        });
    }
    // quiet panics: they are reported as failures
    std::panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng::new(seed);
    let mut report = Report::default();
    let mut corpus: Vec<Vec<u8>> = target.seeds.clone();
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let mut seen = std::collections::HashSet::new();
    let deadline = Instant::now() + budget;
    let mut i = 0usize;
    while Instant::now() < deadline {
        let mut input = if i < corpus.len() && report.execs < target.seeds.len() as u64 {
            corpus[i].clone()
        } else {
            let mut v = corpus[rng.below(corpus.len())].clone();
            for _ in 0..1 + rng.below(4) {
                mutate(&mut rng, &mut v, &target.dictionary, &corpus);
            }
            v
        };
        i += 1;
        input.truncate(MAX_LEN);
        let _ = current.set_len(0);
        let _ = std::io::Seek::rewind(&mut current);
        let _ = current.write_all(&input);
        started_at.store(epoch.elapsed().as_millis().max(1) as u64, Ordering::Relaxed);
        let result = run_one(target, &input);
        started_at.store(0, Ordering::Relaxed);
        report.execs += 1;
        match result {
            Ok((took, ok)) => {
                report.slowest = report.slowest.max(took);
                // crude feedback: keep inputs with a new (outcome, length bucket)
                let key = (
                    ok,
                    (usize::BITS - input.len().leading_zeros()),
                    took.as_micros() / 500,
                );
                if seen.insert(key) && corpus.len() < 4096 {
                    corpus.push(input);
                }
            }
            Err(why) => {
                let file = out.join(format!("{}-{:016x}", target.name, hash(&input)));
                let _ = std::fs::write(&file, &input);
                report
                    .failures
                    .push(format!("{why} (input saved to {})", file.display()));
                if report.failures.len() >= 10 {
                    break;
                }
            }
        }
    }
    let _ = std::fs::remove_file(&current_path);
    let _ = std::panic::take_hook();
    report.corpus = corpus.len();
    report
}

//! Waiting for a run: poll with backoff (1 s growing to 10 s), report each state seen to the
//! caller (the command shows it: a spinner on a terminal, one line per state change
//! otherwise), stop at a final state, the timeout or Ctrl-C (which leaves the run running). A transient error while polling (unreachable, slow,
//! 429/5xx, each already retried by the client) does not end the wait: polling goes on, with
//! the same backoff, until the timeout.

use std::time::Duration;

use crate::kfp::api::Kfp;
use crate::kfp::models::{Run, RunState};
use crate::kfp::KfpError;

const FIRST_POLL: Duration = Duration::from_secs(1);
const MAX_POLL: Duration = Duration::from_secs(10);
/// The longest `--timeout` for waiting (30 days).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);

/// How waiting ended.
#[derive(Debug)]
pub enum WaitEnd {
    /// The run reached a final state.
    Finished(Box<Run>),
    /// `timeout` passed; the last state seen.
    TimedOut(RunState),
    /// Ctrl-C; the last state seen.
    Interrupted(RunState),
}

/// What waiting saw at a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitProgress {
    /// The run's state.
    State(RunState),
    /// The server did not answer (one line of why); the last state seen.
    Unanswered(RunState, String),
}

/// `1h02m03s`, `4m05s`, `12s`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, sec) => format!("{h}h{m:02}m{sec:02}s"),
    }
}

fn next_interval(current: Duration) -> Duration {
    (current.mul_f64(1.5)).min(MAX_POLL)
}

/// Poll run `run_id` until it ends, `timeout` passes or Ctrl-C, telling `on_poll` what each
/// poll saw.
pub async fn wait_for_run(
    kfp: &Kfp,
    run_id: &str,
    timeout: Duration,
    on_poll: &mut dyn FnMut(WaitProgress),
) -> Result<WaitEnd, KfpError> {
    let now = tokio::time::Instant::now();
    let deadline = now
        .checked_add(timeout.min(MAX_TIMEOUT))
        .unwrap_or(now + MAX_TIMEOUT);
    let mut interval = FIRST_POLL;
    let mut last = RunState::Pending;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);

    let end = loop {
        let polled = tokio::select! {
            r = kfp.get_run(run_id) => r,
            _ = tokio::time::sleep_until(deadline) => break WaitEnd::TimedOut(last),
            _ = &mut ctrl_c => break WaitEnd::Interrupted(last),
        };
        match polled {
            Ok(run) => {
                last = run.state;
                on_poll(WaitProgress::State(run.state));
                if run.state.is_final() {
                    break WaitEnd::Finished(Box::new(run));
                }
            }
            Err(e) if e.is_transient() => {
                tracing::info!("reading run {run_id} failed ({e}); still waiting");
                on_poll(WaitProgress::Unanswered(
                    last,
                    crate::kfp::client::one_line(&e.to_string(), 80),
                ));
            }
            Err(e) => return Err(e),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = tokio::time::sleep_until(deadline) => break WaitEnd::TimedOut(last),
            _ = &mut ctrl_c => break WaitEnd::Interrupted(last),
        }
        interval = next_interval(interval);
    };
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_backs_off_to_ten_seconds() {
        let mut i = FIRST_POLL;
        let mut seen = vec![i];
        for _ in 0..10 {
            i = next_interval(i);
            seen.push(i);
        }
        assert_eq!(seen[1], Duration::from_millis(1500));
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*seen.last().unwrap(), MAX_POLL);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_secs(12)), "12s");
        assert_eq!(human_duration(Duration::from_secs(245)), "4m05s");
        assert_eq!(human_duration(Duration::from_secs(3723)), "1h02m03s");
    }
}

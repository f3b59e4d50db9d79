//! What the log says while a rebuild runs: one line per running rebuild at the
//! configured interval, with its phase, how far along it is, and when it waits, for
//! whom. The lines of every test of this binary go to one buffer, as JSON; each test
//! reads the lines of its own database. Its own test binary: the buffer is the
//! process's global tracing subscriber, which would take every other test's log too.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::steps::{batch, rebuilt};
use common::{create_slow_tables, Fixture};
use serde_json::{json, Value};

#[derive(Clone)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The log of this test binary, from the first call on.
fn log() -> &'static Buffer {
    static LOG: OnceLock<Buffer> = OnceLock::new();
    LOG.get_or_init(|| {
        let buffer = Buffer(Arc::new(Mutex::new(Vec::new())));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .json()
            .with_env_filter("index_pilot=info")
            .with_writer(move || writer.clone())
            .init();
        buffer
    })
}

/// The progress lines about `database` logged after `from` bytes of the log.
fn progress_lines(database: &str, from: usize) -> Vec<Value> {
    let bytes = log().0.lock().expect("log buffer")[from..].to_vec();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .map(|line| line["fields"].clone())
        .filter(|fields| {
            fields["message"] == "rebuild in progress" && fields["database"] == database
        })
        .collect()
}

fn log_len() -> usize {
    log().0.lock().expect("log buffer").len()
}

/// A young snapshot makes the rebuild wait at its end: the lines say so, name the
/// phase, the kind of wait and the session's pid, and no query text.
#[tokio::test]
async fn a_waiting_rebuild_names_whom_it_waits_for() {
    let from = log_len();
    let mut fx = Fixture::new("progress_wait").await;
    fx.app.config.progress_interval = Duration::from_millis(200);
    fx.create_table("a", 100_000).await;
    fx.set(&[], "index_size_threshold", "1MB").await;
    fx.set(&[], "max_rebuild_wait", "3s").await;
    let (holder, holder_pid) = fx.session("dashboard").await;
    batch(
        &holder,
        "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 'secret-token-4711';",
    )
    .await;

    let report = fx.invoke_main(json!({"mode": "run"})).await;
    assert_eq!(report.failed.len(), 1, "{report:?}");
    // Cancelled once it had waited longer than max_rebuild_wait.
    assert!(report.failed[0].blocked_ms >= 3_000, "{report:?}");
    batch(&holder, "COMMIT;").await;

    let lines = progress_lines(&fx.target_db, from);
    let waiting: Vec<&Value> = lines
        .iter()
        .filter(|line| line["phase"] == "waiting for old snapshots")
        .collect();
    assert!(waiting.len() >= 3, "{lines:#?}");
    for line in &waiting {
        assert_eq!(line["target"], "main");
        assert_eq!(line["index"], "public.a_id");
        assert_eq!(line["waiting"], true);
        assert_eq!(line["wait_kind"], "old snapshots (virtual transactions)");
        assert_eq!(line["blocking_pids"], holder_pid.to_string(), "{line}");
        assert!(
            line["lockers"].as_str().is_some_and(|l| l.ends_with("/1")),
            "{line}"
        );
        assert!(line["pid"]
            .as_i64()
            .is_some_and(|pid| pid != i64::from(holder_pid)));
        assert!(line["elapsed_s"].is_u64(), "{line}");
    }
    let text = format!("{lines:?}");
    assert!(!text.contains("secret-token"), "{text}");
}

/// A rebuild that does not wait logs where it is, with percent done where its phase
/// counts; one left running past its invocation is followed, and logged, by the next.
#[tokio::test]
async fn running_rebuilds_log_phase_and_percent_done_ours_and_adopted() {
    let from = log_len();
    let mut fx = Fixture::new("progress_plain").await;
    fx.app.config.progress_interval = Duration::from_millis(200);
    create_slow_tables(&fx, 1, Duration::from_secs(6)).await;
    fx.set(&[], "index_size_threshold", "16kB").await;
    fx.set(&[], "minimum_reliable_index_size", "16kB").await;

    // The watch looks once a second: a line per look before the time is up.
    let first = fx
        .invoke_within(json!({"mode": "run"}), Duration::from_secs(2))
        .await;
    let started = &first.targets[0].in_progress;
    assert_eq!(started.len(), 1, "{first:?}");
    let ours = progress_lines(&fx.target_db, from);
    // progress_interval asks for a line every 200ms: the looks come once a second.
    assert!(!ours.is_empty() && ours.len() <= 2, "{ours:#?}");
    for line in &ours {
        assert_eq!(line["index"], "public.lazy_0_k");
        assert_eq!(line["pid"], started[0].pid);
        assert_eq!(line["waiting"], false, "{line}");
        assert!(line.get("blocking_pids").is_none(), "{line}");
    }
    assert!(
        ours.iter().any(|line| line["phase"]
            .as_str()
            .is_some_and(|p| p.starts_with("building index"))
            && line["percent_done"].is_f64()),
        "{ours:#?}"
    );

    let from = log_len();
    let next_hop = fx.app.reinvoker.next_event().expect("a next hop");
    let second = fx.invoke_within(next_hop, Duration::from_secs(8)).await;
    let followed = &second.targets[0];
    assert!(
        rebuilt(followed) == ["public.lazy_0_k"] || followed.in_progress.len() == 1,
        "{second:?}"
    );
    let adopted = progress_lines(&fx.target_db, from);
    assert!(!adopted.is_empty(), "no line while the next hop waited");
    for line in &adopted {
        assert_eq!(line["pid"], started[0].pid);
        assert!(line["elapsed_s"].as_u64().is_some_and(|s| s >= 1), "{line}");
    }
}

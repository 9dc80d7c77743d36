//! What a chatty child costs is bounded whatever the size of the values. In a file of its own,
//! since it reads the peak memory of the whole test process.

mod common;

use common::{App, CANARY, sync, visible};
use stagecraft_core::SyncOptions;

/// The peak resident memory of this process, in bytes (Linux).
fn peak_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    kib * 1024
}

#[test]
fn sixteen_chatty_calls_with_one_mib_values_keep_little_of_what_they_say() {
    let value = format!("{CANARY}{}", "v".repeat(1 << 20));
    let env: String = (0..16).map(|i| format!("K{i}={value}\n")).collect();
    let app = App::new(&env);
    // Each call writes 16 MiB of `noise <value>` lines, then fails.
    app.control(r#"{"flood_stderr": 16777216}"#);
    let started = std::time::Instant::now();
    let result = sync(SyncOptions::new(app.config("concurrency: 16\ntimeout: 60")));
    let took = started.elapsed();
    assert!(!visible(&result).contains(CANARY));
    let message = result.unwrap_err().to_string();
    assert!(
        message.starts_with("16 of 16 keys failed:\n  K0: flooded ["),
        "{message}"
    );
    let peak = peak_memory();
    // The source holds 16 MiB of values, read and parsed; what the calls say adds 24 KiB each
    // (it added 32 times the longest value each, 1.1 GB here).
    assert!(peak < 200 << 20, "peak memory {} MiB", peak >> 20);
    eprintln!(
        "16 calls, 256 MiB of stderr: {took:?}, peak memory {} MiB",
        peak >> 20
    );
}

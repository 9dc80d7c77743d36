//! 100 keys pushed into a fake `encore` that takes 50 ms a call: the provider (one call per key
//! with all types joined, 4 at a time by default) against the hand-run shell loop it replaces
//! (one call per key and type, one after the other: 300 calls), in the same run.
//! Run with `cargo bench -p stagecraft-encore-tests`.

use stagecraft_core::{ProviderConfig, SecretsProvider, SyncOptions};
use stagecraft_providers::encore::Encore;
use std::fs;
use std::path::Path;
use std::process::Command;

const KEYS: usize = 100;
const DELAY_MS: u64 = 50;

fn main() {
    divan::main();
}

/// An app directory with the env file and a fake CLI slowed to `DELAY_MS` a call.
fn app() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("encore.app"), "{}\n").unwrap();
    fs::write(
        dir.path().join("fake-encore.json"),
        format!("{{\"delay_ms\": {DELAY_MS}}}"),
    )
    .unwrap();
    let env: String = (0..KEYS)
        .map(|i| format!("SECRET_{i:03}=value-{i}-{}\n", "x".repeat(32)))
        .collect();
    fs::write(dir.path().join(".env.local"), env).unwrap();
    dir
}

fn provider(b: divan::Bencher<'_, '_>, concurrency: usize) {
    let dir = app();
    let config = ProviderConfig::from_yaml(format!(
        "source_file: {}\napp_dir: {}\nbinary: {}\nconcurrency: {concurrency}\n",
        dir.path().join(".env.local").display(),
        dir.path().display(),
        env!("CARGO_BIN_EXE_encore"),
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    b.bench_local(|| {
        let report = runtime
            .block_on(Encore.sync(SyncOptions::new(config.clone())))
            .unwrap();
        assert_eq!(report.len(), KEYS);
    });
}

/// The provider with its default concurrency, 4.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn provider_default(b: divan::Bencher<'_, '_>) {
    provider(b, 4);
}

/// The provider with `concurrency: 8`.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn provider_concurrency_8(b: divan::Bencher<'_, '_>) {
    provider(b, 8);
}

/// `for key; for type in dev preview local; printf value | encore secret set --type $type key`.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn shell_loop_per_type(b: divan::Bencher<'_, '_>) {
    let dir = app();
    let script = shell_loop(dir.path());
    b.bench_local(|| {
        let status = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    });
}

fn shell_loop(app: &Path) -> String {
    let env = fs::read_to_string(app.join(".env.local")).unwrap();
    let encore = env!("CARGO_BIN_EXE_encore");
    let mut script = String::from("set -e\n");
    for line in env.lines() {
        let (key, value) = line.split_once('=').unwrap();
        for kind in ["dev", "preview", "local"] {
            script.push_str(&format!(
                "printf '%s' '{value}' | '{encore}' secret set --type {kind} {key} >/dev/null\n"
            ));
        }
    }
    script
}

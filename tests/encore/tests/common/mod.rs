//! An Encore app in a temporary directory, driven through the fake `encore` CLI.
#![allow(dead_code, unreachable_pub)]

use serde_json::Value;
use stagecraft_core::{ProviderConfig, SecretsProvider, SyncError, SyncOptions, SyncReport};
use stagecraft_providers::encore::Encore;
use std::fs;
use std::path::{Path, PathBuf};

/// A value that must never show up anywhere but in the fake's stdin records.
pub const CANARY: &str = "CANARY-7f3a9c-s3cr3t";

/// The fake `encore` executable.
pub fn fake() -> &'static str {
    env!("CARGO_BIN_EXE_encore")
}

pub struct App {
    pub dir: tempfile::TempDir,
}

impl App {
    /// An app directory with `encore.app` and the env file `.env.local` holding `env`.
    pub fn new(env: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("encore.app"), "{\"id\": \"\"}\n").unwrap();
        fs::write(dir.path().join(".env.local"), env).unwrap();
        App { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Tells the fake how to behave (see `src/bin/encore.rs`).
    pub fn control(&self, json: &str) {
        fs::write(self.path().join("fake-encore.json"), json).unwrap();
    }

    /// The provider's config section: this app, the fake, and `extra` YAML lines.
    pub fn config(&self, extra: &str) -> ProviderConfig {
        ProviderConfig::from_yaml(format!(
            "source_file: {}\napp_dir: {}\nbinary: {}\n{extra}",
            self.path().join(".env.local").display(),
            self.path().display(),
            fake(),
        ))
    }

    /// Every `secret set` call the fake recorded, in no particular order.
    pub fn calls(&self) -> Vec<Value> {
        let Ok(entries) = fs::read_dir(self.path().join("fake-encore/calls")) else {
            return Vec::new();
        };
        entries
            .map(|e| e.unwrap().path())
            // The fake writes `.PID.json.tmp`, then renames it.
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .map(|path| serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap())
            .collect()
    }

    /// The call that set `key`.
    pub fn call_for(&self, key: &str) -> Value {
        self.calls()
            .into_iter()
            .find(|c| c["argv"].as_array().unwrap().last().unwrap() == key)
            .unwrap_or_else(|| panic!("no call for {key}"))
    }

    /// The groups the fake stores for `key`.
    pub fn groups(&self, key: &str) -> Value {
        let path = self.path().join(format!("fake-encore/secrets/{key}.json"));
        fs::read_to_string(path).map_or(Value::Null, |t| serde_json::from_str(&t).unwrap())
    }

    pub fn overrides(&self) -> PathBuf {
        self.path().join(".secrets.local.cue")
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn sync(opts: SyncOptions) -> Result<SyncReport, SyncError> {
    runtime().block_on(Encore.sync(opts))
}

/// Whether process `pid` still runs (a zombie waiting to be reaped does not).
pub fn is_running(pid: u64) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with(['Z', 'X'])
        }
    }
}

/// Waits (bounded) until `done` holds; fails the test if it never does.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("gave up waiting: {what}");
}

/// The report's keys and actions, as strings.
pub fn actions(report: &SyncReport) -> Vec<(String, String)> {
    report
        .actions()
        .map(|(k, a)| (k.to_owned(), a.to_string()))
        .collect()
}

/// Everything a user could see of a result: the report's and error's Display and Debug.
pub fn visible(result: &Result<SyncReport, SyncError>) -> String {
    match result {
        Ok(report) => format!("{report:?}"),
        Err(error) => {
            let mut seen = format!("{error}\n{error:?}");
            let mut cause = std::error::Error::source(error);
            while let Some(e) = cause {
                seen.push_str(&format!("\n{e}"));
                cause = e.source();
            }
            seen
        }
    }
}

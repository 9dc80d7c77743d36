//! The whole `stagecraft secrets sync` command (process start, config, read, write, fsync) on a
//! generated 100,000-key, ~10 MB env file into a new target, against `cp` plus fsync of the copy,
//! in the same run. Run with `cargo bench -p stagecraft`.

use divan::Bencher;
use std::fs::{self, File};
use std::path::PathBuf;
use std::process::Command;
use std::sync::LazyLock;

#[path = "../../providers/benches/fixture/mod.rs"]
mod fixture;

struct Files {
    _dir: tempfile::TempDir,
    source: PathBuf,
    target: PathBuf,
}

static FILES: LazyLock<Files> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("big.env");
    fs::write(&source, fixture::generate()).unwrap();
    let target = dir.path().join("out.env");
    Files {
        source,
        target,
        _dir: dir,
    }
});

#[divan::bench(sample_count = 20)]
fn stagecraft_secrets_sync(b: Bencher) {
    let f = &*FILES;
    b.with_inputs(|| {
        let _ = fs::remove_file(&f.target);
    })
    .bench_values(|()| {
        let status = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
            .args(["secrets", "sync", "--provider", "envfile", "--from"])
            .arg(&f.source)
            .arg("--to")
            .arg(&f.target)
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    });
}

#[divan::bench(sample_count = 20)]
fn cp_and_fsync(b: Bencher) {
    let f = &*FILES;
    b.with_inputs(|| {
        let _ = fs::remove_file(&f.target);
    })
    .bench_values(|()| {
        assert!(
            Command::new("cp")
                .arg(&f.source)
                .arg(&f.target)
                .status()
                .unwrap()
                .success()
        );
        File::open(&f.target).unwrap().sync_all().unwrap();
    });
}

fn main() {
    eprintln!(
        "generated file: {} bytes, {} keys",
        fs::metadata(&FILES.source).unwrap().len(),
        fixture::KEYS
    );
    divan::main();
}

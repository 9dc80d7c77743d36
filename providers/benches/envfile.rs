//! The envfile provider on a generated 100,000-key, ~10 MB file: reading it against the
//! `dotenvy` crate, and syncing it into a new target against `cp` plus fsync, in the same run.
//! Run with `cargo bench -p stagecraft-providers`; divan's `AllocProfiler` reports the heap.

use divan::{AllocProfiler, Bencher, black_box};
use stagecraft_providers::envfile;
use std::fs::{self, File};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

mod fixture;

use fixture::{KEYS, generate};

struct Fixture {
    _dir: tempfile::TempDir,
    source: PathBuf,
    target: PathBuf,
    text: String,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    let text = generate();
    let source = dir.path().join("big.env");
    fs::write(&source, &text).unwrap();
    let target = dir.path().join("out.env");
    Fixture {
        source,
        target,
        text,
        _dir: dir,
    }
});

fn remove(path: &Path) {
    let _ = fs::remove_file(path);
}

#[divan::bench_group(sample_count = 20)]
mod read {
    use super::*;

    #[divan::bench]
    fn stagecraft(b: Bencher) {
        let text = &FIXTURE.text;
        b.counter(divan::counter::BytesCount::new(text.len()))
            .bench(|| envfile::read_str(black_box(text)).unwrap().len());
    }

    #[divan::bench]
    fn dotenvy(b: Bencher) {
        let text = &FIXTURE.text;
        b.counter(divan::counter::BytesCount::new(text.len()))
            .bench(|| {
                dotenvy::from_read_iter(Cursor::new(black_box(text.as_bytes())))
                    .collect::<Result<Vec<(String, String)>, _>>()
                    .unwrap()
                    .len()
            });
    }
}

#[divan::bench_group(sample_count = 20)]
mod sync_to_new_file {
    use super::*;

    #[divan::bench]
    fn stagecraft(b: Bencher) {
        let f = &*FIXTURE;
        b.with_inputs(|| remove(&f.target)).bench_values(|()| {
            envfile::sync_files(&f.source, &f.target, &[], false, false)
                .unwrap()
                .len()
        });
    }

    #[divan::bench]
    fn cp_and_fsync(b: Bencher) {
        let f = &*FIXTURE;
        b.with_inputs(|| remove(&f.target)).bench_values(|()| {
            fs::copy(&f.source, &f.target).unwrap();
            File::open(&f.target).unwrap().sync_all().unwrap();
        });
    }
}

fn main() {
    eprintln!("generated file: {} bytes, {KEYS} keys", FIXTURE.text.len());
    divan::main();
}

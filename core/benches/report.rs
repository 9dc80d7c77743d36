//! A `SyncReport` of 100,000 keys (the names of the env-file benchmark fixture), built and read,
//! against the `Vec<(String, Action)>` it replaces: one `String` a key. Run with
//! `cargo bench -p stagecraft-core --bench report`; the allocation columns come from divan's
//! `AllocProfiler`.

use divan::{AllocProfiler, Bencher, black_box};
use stagecraft_core::{Action, SyncReport};
use std::sync::LazyLock;

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

const KEYS: usize = 100_000;

/// The fixture's key names (`cli/benches/growth/gen.py`), each with an action.
static KEYS_AND_ACTIONS: LazyLock<Vec<(String, Action)>> = LazyLock::new(|| {
    (0..KEYS)
        .map(|i| match i % 5 {
            0 => (format!("SERVICE_{i}_TOKEN"), Action::Added),
            1 => (format!("DATABASE_URL_{i}"), Action::Unchanged),
            2 => (format!("PASSWORD_{i}"), Action::Changed),
            3 => (format!("CERT_{i}"), Action::Unchanged),
            _ => (format!("FLAG_{i}"), Action::Removed),
        })
        .collect()
});

fn report() -> SyncReport {
    let keys = &*KEYS_AND_ACTIONS;
    let mut report = SyncReport::new("source", "target");
    report.reserve(keys.len(), keys.iter().map(|(key, _)| key.len()).sum());
    for (key, action) in keys {
        report.push(key, *action);
    }
    report
}

fn baseline() -> Vec<(String, Action)> {
    let keys = &*KEYS_AND_ACTIONS;
    let mut changes = Vec::with_capacity(keys.len());
    for (key, action) in keys {
        changes.push((key.as_str().to_owned(), *action));
    }
    changes
}

/// Building the report from borrowed names and dropping it, as a sync does.
mod build {
    use super::*;

    #[divan::bench]
    fn sync_report() -> usize {
        black_box(report()).len()
    }

    #[divan::bench]
    fn vec_of_strings() -> usize {
        black_box(baseline()).len()
    }
}

/// What reading a key costs: its bytes summed, as the CLI's table reads each to check it for
/// characters to escape.
fn read(key: &str, action: Action) -> usize {
    key.bytes().map(usize::from).sum::<usize>() + action as usize
}

/// Reading every key and action once.
mod iterate {
    use super::*;

    #[divan::bench]
    fn sync_report(b: Bencher) {
        let report = report();
        b.bench(|| {
            black_box(&report)
                .actions()
                .map(|(key, action)| read(key, action))
                .sum::<usize>()
        });
    }

    #[divan::bench]
    fn vec_of_strings(b: Bencher) {
        let changes = baseline();
        b.bench(|| {
            black_box(&changes)
                .iter()
                .map(|(key, action)| read(key, *action))
                .sum::<usize>()
        });
    }
}

/// Going over every key and action without reading the keys: what the layout itself costs.
mod iterate_lengths {
    use super::*;

    #[divan::bench]
    fn sync_report(b: Bencher) {
        let report = report();
        b.bench(|| {
            black_box(&report)
                .actions()
                .map(|(key, action)| key.len() + action as usize)
                .sum::<usize>()
        });
    }

    #[divan::bench]
    fn vec_of_strings(b: Bencher) {
        let changes = baseline();
        b.bench(|| {
            black_box(&changes)
                .iter()
                .map(|(key, action)| key.len() + *action as usize)
                .sum::<usize>()
        });
    }
}

/// The CLI's summary line: every action's count, in one pass against one pass per action.
mod count_all_actions {
    use super::*;

    const ACTIONS: [Action; 7] = [
        Action::Added,
        Action::Changed,
        Action::Unchanged,
        Action::Removed,
        Action::Skipped,
        Action::Set,
        Action::Failed,
    ];

    #[divan::bench]
    fn counts(b: Bencher) {
        let report = report();
        b.bench(|| {
            let counts = black_box(&report).counts();
            ACTIONS.map(|action| counts.get(action))
        });
    }

    #[divan::bench]
    fn count_per_action(b: Bencher) {
        let report = report();
        b.bench(|| ACTIONS.map(|action| black_box(&report).count(action)));
    }
}

fn main() {
    // Made before the first sample, so that no sample counts its allocations.
    LazyLock::force(&KEYS_AND_ACTIONS);
    divan::main();
}

//! `--keys` in the encore and vault providers (`keys::select`): 100,000 keys asked for of a
//! 100,000-entry source, and, as the baseline, the scan per key it replaced at 5,000 keys (at
//! 100,000 that one takes minutes). Run with `cargo bench -p stagecraft-providers --bench keys`.

use divan::{Bencher, black_box};
use stagecraft_providers::keys::{Order, select};

fn main() {
    divan::main();
}

/// A source of `n` entries, and its keys asked for in reverse.
fn source(n: usize) -> (Vec<(String, String)>, Vec<String>) {
    let key = |i: usize| format!("SERVICE_CREDENTIALS_{i:06}");
    let entries = (0..n).map(|i| (key(i), format!("value-{i}"))).collect();
    (entries, (0..n).rev().map(key).collect())
}

fn bench(b: Bencher, n: usize, select: fn(Entries, &[String]) -> Result<Entries, Vec<String>>) {
    let (entries, keys) = source(n);
    b.with_inputs(|| entries.clone())
        .bench_values(|entries| select(entries, black_box(&keys)).unwrap());
}

/// encore: the order asked.
#[divan::bench(args = [5_000, 100_000], sample_count = 20)]
fn encore(b: Bencher, n: usize) {
    bench(b, n, |entries, keys| select(entries, keys, Order::Asked));
}

#[divan::bench(args = [5_000], sample_count = 10)]
fn encore_before(b: Bencher, n: usize) {
    bench(b, n, old_encore);
}

/// vault: the source's order.
#[divan::bench(args = [5_000, 100_000], sample_count = 20)]
fn vault(b: Bencher, n: usize) {
    bench(b, n, |entries, keys| select(entries, keys, Order::Source));
}

#[divan::bench(args = [5_000], sample_count = 10)]
fn vault_before(b: Bencher, n: usize) {
    bench(b, n, old_vault);
}

type Entries = Vec<(String, String)>;

/// encore's `select` before: a scan of the entries per key asked, twice (the order asked).
fn old_encore(entries: Entries, keys: &[String]) -> Result<Entries, Vec<String>> {
    let missing: Vec<String> = keys
        .iter()
        .filter(|k| !entries.iter().any(|(key, _)| key == *k))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let mut unique: Vec<&String> = Vec::new();
    for k in keys {
        if !unique.contains(&k) {
            unique.push(k);
        }
    }
    let mut entries: Vec<Option<(String, String)>> = entries.into_iter().map(Some).collect();
    Ok(unique
        .into_iter()
        .filter_map(|k| {
            entries
                .iter_mut()
                .find(|e| e.as_ref().is_some_and(|(key, _)| key == k))
                .and_then(Option::take)
        })
        .collect())
}

/// vault's `select` before: a scan of the entries per key asked, then of the keys per entry
/// (the source's order).
fn old_vault(source: Entries, keys: &[String]) -> Result<Entries, Vec<String>> {
    let missing: Vec<String> = keys
        .iter()
        .filter(|k| !source.iter().any(|(key, _)| key == *k))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    Ok(source
        .into_iter()
        .filter(|(key, _)| keys.contains(key))
        .collect())
}

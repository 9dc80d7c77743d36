//! A conformance suite that every provider's tests run (the idea of teller's `ProviderTest`):
//! the behaviour users rely on, whatever the provider syncs between.
//!
//! A provider's test supplies a [`Fixture`] that can seed a source with secrets and read the
//! target back, and calls [`check`]:
//!
//! ```ignore
//! #[tokio::test]
//! async fn conformance() {
//!     stagecraft_core::conformance::check(&EnvFile, &mut EnvFileFixture::new()).await;
//! }
//! ```
//!
//! Each check panics with a message naming what the provider got wrong (never a value: the
//! secrets are canaries, and the suite also checks that no error, report or `Debug` output
//! holds them).

use crate::{Action, DynSecretsProvider, SyncOptions, SyncReport};
use std::collections::BTreeMap;

/// Gives the suite a source and a target for the provider under test.
pub trait Fixture {
    /// Replaces the source's secrets with `secrets` and returns options that sync it into the
    /// target. The target keeps what earlier syncs wrote.
    fn seed(&mut self, secrets: &[(&str, &str)]) -> SyncOptions;

    /// The secrets the target holds now (empty when it does not exist).
    fn read_target(&mut self) -> BTreeMap<String, String>;

    /// Like [`seed`](Fixture::seed), with keys that the source names without a value (in an
    /// env file, `KEY` without `=`) after the secrets. `None`, the default, when the provider's
    /// sources cannot say that: the suite then skips the valueless-key checks.
    fn seed_with_valueless(
        &mut self,
        secrets: &[(&str, &str)],
        valueless: &[&str],
    ) -> Option<SyncOptions> {
        let _ = (secrets, valueless);
        None
    }
}

const CANARY: &str = "conformance-canary-7d3f";

fn actions(report: &SyncReport) -> Vec<(&str, Action)> {
    report.actions().collect()
}

fn assert_no_canary(what: &str, text: &str) {
    assert!(
        !text.contains(CANARY),
        "{what} shows a secret value: {text}"
    );
}

/// Runs the suite against `provider`.
///
/// # Panics
/// On the first behaviour that differs from the contract, with a message that says which.
pub async fn check(provider: &dyn DynSecretsProvider, fixture: &mut dyn Fixture) {
    let id = provider.id();
    assert!(
        !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-')),
        "provider ID {id:?} breaks the ID rules"
    );
    assert!(
        !provider.description().is_empty(),
        "provider {id} has no description"
    );

    let first = format!("{CANARY}-first value with spaces, $dollars and 'quotes'");
    let second = format!("{CANARY}-second");
    let changed = format!("{CANARY}-changed\nacross lines");
    let all = [("ALPHA", first.as_str()), ("BETA", second.as_str())];
    let expected = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };

    // Everything is synced into an empty target, and reported as added.
    let report = provider
        .sync(fixture.seed(&all))
        .await
        .expect("first sync succeeds");
    assert_eq!(
        actions(&report),
        [("ALPHA", Action::Added), ("BETA", Action::Added)],
        "first sync report"
    );
    assert!(
        report.written,
        "first sync reports that it wrote the target"
    );
    assert_eq!(
        fixture.read_target(),
        expected(&all),
        "target after the first sync"
    );
    assert_no_canary("the report's Debug output", &format!("{report:?}"));

    // Syncing again changes nothing.
    let report = provider
        .sync(fixture.seed(&all))
        .await
        .expect("second sync succeeds");
    assert!(
        report.count(Action::Unchanged) == report.len(),
        "second sync: {:?}",
        actions(&report)
    );
    assert!(
        !report.written,
        "a sync that changes nothing does not write"
    );

    // A dry run reports the change and writes nothing.
    let updated = [("ALPHA", changed.as_str()), ("BETA", second.as_str())];
    let report = provider
        .sync(fixture.seed(&updated).dry_run(true))
        .await
        .expect("dry run succeeds");
    assert_eq!(
        actions(&report),
        [("ALPHA", Action::Changed), ("BETA", Action::Unchanged)],
        "dry run report"
    );
    assert!(!report.written, "a dry run does not write");
    assert_eq!(
        fixture.read_target(),
        expected(&all),
        "target after a dry run"
    );

    // Selected keys only.
    let report = provider
        .sync(fixture.seed(&updated).keys(["ALPHA"]))
        .await
        .expect("keyed sync succeeds");
    assert_eq!(
        actions(&report),
        [("ALPHA", Action::Changed)],
        "keyed sync report"
    );
    assert_eq!(
        fixture.read_target(),
        expected(&updated),
        "target after a keyed sync"
    );

    // A selected key the source lacks fails, names the key, writes nothing and leaks nothing.
    let error = provider
        .sync(fixture.seed(&all).keys(["ALPHA", "MISSING_KEY"]))
        .await
        .expect_err("a missing key fails");
    assert!(
        error.to_string().contains("MISSING_KEY"),
        "the error names the missing key: {error}"
    );
    assert_no_canary("the error", &format!("{error} {error:?}"));
    assert_eq!(
        fixture.read_target(),
        expected(&updated),
        "target after a failed sync"
    );

    // Prune removes what the source lacks, and only when asked.
    let only_beta = [("BETA", second.as_str())];
    let report = provider
        .sync(fixture.seed(&only_beta).prune(true))
        .await
        .expect("pruning sync succeeds");
    assert_eq!(
        actions(&report),
        [("BETA", Action::Unchanged), ("ALPHA", Action::Removed)],
        "pruning sync report"
    );
    assert_eq!(
        fixture.read_target(),
        expected(&only_beta),
        "target after pruning"
    );

    // A key the source names without a value is not synced: the target keeps its value, even
    // with `--prune` (the line may be a secret pasted on a line of its own), and asking for it
    // with `--keys` fails as for a missing key.
    let third = format!("{CANARY}-third");
    let with_gamma = [("BETA", second.as_str()), ("GAMMA", third.as_str())];
    let Some(opts) = fixture.seed_with_valueless(&with_gamma, &[]) else {
        return;
    };
    provider
        .sync(opts)
        .await
        .expect("sync before the valueless key succeeds");
    let opts = fixture
        .seed_with_valueless(&only_beta, &["GAMMA"])
        .expect("the fixture seeds valueless keys");
    let report = provider
        .sync(opts.prune(true))
        .await
        .expect("a sync with a valueless key succeeds");
    assert_eq!(
        actions(&report),
        [("BETA", Action::Unchanged)],
        "a valueless key is neither synced nor removed"
    );
    assert_eq!(
        fixture.read_target(),
        expected(&with_gamma),
        "the target keeps the value of a key the source leaves valueless"
    );
    let opts = fixture
        .seed_with_valueless(&only_beta, &["GAMMA"])
        .expect("the fixture seeds valueless keys");
    let error = provider
        .sync(opts.keys(["GAMMA"]))
        .await
        .expect_err("asking for a valueless key fails");
    assert!(
        error.to_string().contains("GAMMA"),
        "the error names the valueless key: {error}"
    );
    assert_no_canary("the error", &format!("{error} {error:?}"));
    assert_eq!(
        fixture.read_target(),
        expected(&with_gamma),
        "target after asking for a valueless key"
    );
}

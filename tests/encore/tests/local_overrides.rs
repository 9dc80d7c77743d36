//! `--to local-overrides`: `.secrets.local.cue` written without the `encore` CLI.

mod common;

use common::{App, CANARY, actions, sync, visible};
use proptest::prelude::*;
use stagecraft_core::{Action, ProviderConfig, SyncError, SyncOptions};
use stagecraft_providers::encore::read_cue;
use stagecraft_providers::envfile;
use std::fs;
use std::os::unix::fs::PermissionsExt;

/// The config of `app` with a binary that does not exist: local overrides never need it.
fn offline(app: &App) -> ProviderConfig {
    ProviderConfig::from_yaml(format!(
        "source_file: {}\napp_dir: {}\nbinary: /nonexistent/encore\n",
        app.path().join(".env.local").display(),
        app.path().display(),
    ))
}

fn to_overrides(app: &App) -> SyncOptions {
    SyncOptions::new(offline(app)).target("local-overrides")
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, a)| ((*k).to_owned(), (*a).to_owned()))
        .collect()
}

#[test]
fn a_new_file_is_private_and_reads_back() {
    let app = App::new(&format!(
        "API_KEY={CANARY}\nMULTI=\"a\\nb\"\nQUOTES='say \"hi\" \\(x)'\n_under=1\n"
    ));
    let result = sync(to_overrides(&app));
    assert!(!visible(&result).contains(CANARY));
    let report = result.unwrap();
    assert!(report.written);
    assert_eq!(
        fs::read_to_string(app.overrides()).unwrap(),
        format!(
            "API_KEY: \"{CANARY}\"\nMULTI: \"a\\nb\"\nQUOTES: \"say \\\"hi\\\" \\\\(x)\"\n\"_under\": \"1\"\n"
        )
    );
    let mode = fs::metadata(app.overrides()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = fs::read_to_string(app.overrides()).unwrap();
    assert_eq!(
        read_cue(&app.overrides(), &text).unwrap(),
        envfile::read_str(&fs::read_to_string(app.path().join(".env.local")).unwrap()).unwrap()
    );
    assert!(app.calls().is_empty(), "the encore CLI was not run");
}

#[test]
fn merges_in_place_keeping_comments_order_and_other_keys() {
    let app = App::new("B=new\nD=4\nA=1\n");
    fs::write(
        app.overrides(),
        "// local secrets\nA: \"1\" // same\n\nB: \"old\", // changed\nOTHER: \"kept\"",
    )
    .unwrap();
    fs::set_permissions(app.overrides(), fs::Permissions::from_mode(0o640)).unwrap();
    let report = sync(to_overrides(&app)).unwrap();
    assert_eq!(
        actions(&report),
        pairs(&[("B", "changed"), ("D", "added"), ("A", "unchanged")])
    );
    assert_eq!(
        fs::read_to_string(app.overrides()).unwrap(),
        "// local secrets\nA: \"1\" // same\n\nB: \"new\", // changed\nOTHER: \"kept\"\nD: \"4\"\n"
    );
    let mode = fs::metadata(app.overrides()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "an existing file keeps its mode");
}

#[test]
fn added_lines_keep_the_files_line_ending() {
    let app = App::new("A=1\nB=2\n");
    fs::write(app.overrides(), "// crlf\r\nA: \"0\"").unwrap();
    sync(to_overrides(&app)).unwrap();
    assert_eq!(
        fs::read_to_string(app.overrides()).unwrap(),
        "// crlf\r\nA: \"1\"\r\nB: \"2\"\r\n"
    );
}

#[test]
fn a_second_sync_changes_nothing() {
    let app = App::new("A=1\nB=\"x\\ty\"\n");
    sync(to_overrides(&app)).unwrap();
    let first = fs::read(app.overrides()).unwrap();
    let report = sync(to_overrides(&app)).unwrap();
    assert!(!report.written);
    assert_eq!(
        actions(&report),
        pairs(&[("A", "unchanged"), ("B", "unchanged")])
    );
    assert_eq!(fs::read(app.overrides()).unwrap(), first);
}

#[test]
fn prune_keys_and_dry_run_work_as_in_envfile() {
    let app = App::new("A=1\nB=2\n");
    fs::write(app.overrides(), "STALE: \"x\"\nA: \"0\"\n").unwrap();
    let report = sync(to_overrides(&app).keys(["B"]).dry_run(true).prune(true)).unwrap();
    assert_eq!(
        actions(&report),
        pairs(&[("B", "added"), ("STALE", "removed")])
    );
    assert_eq!(
        fs::read_to_string(app.overrides()).unwrap(),
        "STALE: \"x\"\nA: \"0\"\n",
        "a dry run writes nothing"
    );
    sync(to_overrides(&app).keys(["B"]).prune(true)).unwrap();
    assert_eq!(
        fs::read_to_string(app.overrides()).unwrap(),
        "A: \"0\"\nB: \"2\"\n",
        "--keys limits what is set, --prune removes what the source lacks"
    );
}

#[test]
fn a_file_outside_the_subset_is_an_error_and_is_left_alone() {
    let app = App::new(&format!("A={CANARY}\n"));
    let original = format!("A: \"1\"\nB: 2 // {CANARY}\n");
    fs::write(app.overrides(), &original).unwrap();
    let result = sync(to_overrides(&app));
    assert!(!visible(&result).contains(CANARY));
    let error = result.unwrap_err();
    assert!(matches!(error, SyncError::Input(_)));
    assert_eq!(
        error.to_string(),
        format!(
            "{}:2:4: expected a single-line string in double quotes (other CUE values are not supported)",
            app.overrides().display()
        )
    );
    assert_eq!(fs::read_to_string(app.overrides()).unwrap(), original);
}

#[test]
fn a_value_with_a_trailing_line_break_is_fine_locally() {
    let app = App::new("A=\"ends\\n\"\n");
    sync(to_overrides(&app)).unwrap();
    let text = fs::read_to_string(app.overrides()).unwrap();
    assert_eq!(
        read_cue(&app.overrides(), &text).unwrap(),
        pairs(&[("A", "ends\n")])
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every key and value the env file reader can produce is written to the CUE file and
    /// read back the same.
    #[test]
    fn every_env_file_value_round_trips(
        entries in proptest::collection::vec(
            ("[A-Za-z_][A-Za-z0-9_]{0,12}", any::<String>()),
            1..8,
        )
    ) {
        let Ok(env) = envfile::write_string(entries.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        else {
            // A value with no env file form cannot come out of the reader either.
            return Ok(());
        };
        let app = App::new(&env);
        sync(to_overrides(&app)).unwrap();
        let expected = envfile::read_str(&env).unwrap();
        let text = fs::read_to_string(app.overrides()).unwrap();
        prop_assert_eq!(read_cue(&app.overrides(), &text).unwrap(), expected);
    }
}

/// The shared conformance suite, with `.secrets.local.cue` as the target.
struct OverridesFixture {
    app: App,
}

impl stagecraft_core::conformance::Fixture for OverridesFixture {
    fn seed(&mut self, secrets: &[(&str, &str)]) -> SyncOptions {
        let text = envfile::write_string(secrets.iter().copied()).unwrap();
        fs::write(self.app.path().join(".env.local"), text).unwrap();
        to_overrides(&self.app)
    }

    fn read_target(&mut self) -> std::collections::BTreeMap<String, String> {
        let text = fs::read_to_string(self.app.overrides()).unwrap_or_default();
        read_cue(&self.app.overrides(), &text)
            .unwrap()
            .into_iter()
            .collect()
    }
}

#[test]
fn conformance() {
    let mut fixture = OverridesFixture { app: App::new("") };
    let provider: &dyn stagecraft_core::DynSecretsProvider = &stagecraft_providers::encore::Encore;
    common::runtime().block_on(stagecraft_core::conformance::check(provider, &mut fixture));
}

#[test]
fn concurrent_syncs_into_one_file_lose_no_key() {
    let app = App::new("");
    let config = |side: &str| {
        let source = app.path().join(format!("{side}.env"));
        let keys: String = (0..20).map(|i| format!("{side}_{i}=v{i}\n")).collect();
        fs::write(&source, keys).unwrap();
        ProviderConfig::from_yaml(format!(
            "source_file: {}\napp_dir: {}\nbinary: /nonexistent/encore\n",
            source.display(),
            app.path().display(),
        ))
    };
    let sides = [("LEFT", config("LEFT")), ("RIGHT", config("RIGHT"))];
    std::thread::scope(|scope| {
        for (side, config) in &sides {
            scope.spawn(move || {
                for key in 0..20 {
                    let opts = SyncOptions::new(config.clone())
                        .target("local-overrides")
                        .keys([format!("{side}_{key}")]);
                    sync(opts).unwrap();
                }
            });
        }
    });
    let text = fs::read_to_string(app.overrides()).unwrap();
    let read = read_cue(&app.overrides(), &text).unwrap();
    assert_eq!(read.len(), 40, "every key of both syncs is in the file");
}

#[test]
fn keys_missing_from_the_source_are_named_in_the_order_asked_and_nothing_is_written() {
    let app = App::new(&format!("A={CANARY}\nB=2\n"));
    let result = sync(to_overrides(&app).keys(["B", "NOPE", "A", "NOPE", "ZED"]));
    assert!(!visible(&result).contains(CANARY));
    let error = result.unwrap_err();
    assert!(matches!(error, SyncError::Input(_)), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "{} does not define NOPE, NOPE, ZED",
            app.path().join(".env.local").display()
        )
    );
    assert!(!app.overrides().exists(), "nothing was written");
}

#[test]
fn keys_are_set_in_the_order_asked_and_a_key_asked_twice_once() {
    let app = App::new("A=1\nB=2\nC=3\n");
    let report = sync(to_overrides(&app).keys(["C", "A", "C"])).unwrap();
    assert_eq!(actions(&report), pairs(&[("C", "added"), ("A", "added")]));
    assert_eq!(
        fs::read_to_string(app.overrides()).unwrap(),
        "C: \"3\"\nA: \"1\"\n"
    );
}

/// 50,000 keys asked for (in reverse) into a file of 50,000 other fields, pruned, then again
/// with everything up to date: each step is linear. The scans per key that this replaced
/// (`--keys`, the merge, `--prune`) took minutes here.
#[test]
fn fifty_thousand_keys_asked_for_merged_and_pruned() {
    const N: usize = 50_000;
    // Long keys with a common prefix: what makes each comparison of a scan cost.
    let key =
        |side: &str, i: usize| format!("SERVICE_ACCOUNT_CREDENTIALS_OF_THE_CLUSTER_{side}_{i:06}");
    let env: String = (0..N)
        .map(|i| format!("{}=value-{i}\n", key("NEW", i)))
        .collect();
    let app = App::new(&env);
    let stale: String = (0..N)
        .map(|i| format!("{}: \"old\"\n", key("OLD", i)))
        .collect();
    fs::write(app.overrides(), stale).unwrap();
    let asked: Vec<String> = (0..N).rev().map(|i| key("NEW", i)).collect();

    let report = sync(to_overrides(&app).keys(asked.clone()).prune(true)).unwrap();
    let actions = actions(&report);
    assert_eq!(actions.len(), 2 * N);
    let (set, removed) = actions.split_at(N);
    assert!(
        set.iter()
            .zip(&asked)
            .all(|((k, a), asked)| k == asked && a == "added")
    );
    assert!(
        removed
            .iter()
            .enumerate()
            .all(|(i, (k, a))| *k == key("OLD", i) && a == "removed")
    );
    let text = fs::read_to_string(app.overrides()).unwrap();
    let fields = read_cue(&app.overrides(), &text).unwrap();
    let expected: Vec<(String, String)> = (0..N)
        .rev()
        .map(|i| (key("NEW", i), format!("value-{i}")))
        .collect();
    assert!(
        fields == expected,
        "the file holds the keys asked for, in that order"
    );

    let again = sync(to_overrides(&app).keys(asked).prune(true)).unwrap();
    assert_eq!(again.count(Action::Unchanged), N);
    assert!(!again.written);
}

#[test]
fn the_file_goes_next_to_encore_app_where_encore_reads_it() {
    let app = App::new(&format!("A={CANARY}\n"));
    let sub = app.path().join("backend/svc");
    fs::create_dir_all(&sub).unwrap();
    let config = ProviderConfig::from_yaml(format!(
        "source_file: {}\napp_dir: {}\nbinary: /nonexistent/encore\n",
        app.path().join(".env.local").display(),
        sub.display(),
    ));
    let result = sync(SyncOptions::new(config).target("local-overrides"));
    assert!(!visible(&result).contains(CANARY));
    let report = result.unwrap();
    let root = fs::canonicalize(app.path()).unwrap();
    assert_eq!(
        report.target,
        root.join(".secrets.local.cue").display().to_string()
    );
    assert_eq!(
        report.notes,
        [format!(
            ".secrets.local.cue is in {}, next to encore.app, where Encore reads it (app_dir is {})",
            root.display(),
            sub.display()
        )]
    );
    assert_eq!(
        fs::read_to_string(app.overrides()).unwrap(),
        format!("A: \"{CANARY}\"\n")
    );
    assert!(!sub.join(".secrets.local.cue").exists());
}

#[test]
fn without_encore_app_above_nothing_is_written() {
    let app = App::new("A=1\n");
    let elsewhere = tempfile::tempdir().unwrap();
    let config = ProviderConfig::from_yaml(format!(
        "source_file: {}\napp_dir: {}\nbinary: /nonexistent/encore\n",
        app.path().join(".env.local").display(),
        elsewhere.path().display(),
    ));
    let error = sync(SyncOptions::new(config).target("local-overrides")).unwrap_err();
    assert!(matches!(error, SyncError::Input(_)), "{error}");
    assert!(
        error.to_string().starts_with("no encore.app in "),
        "{error}"
    );
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn keys_encore_cannot_hold_are_refused_and_nothing_is_written() {
    // Not identifiers, or not ASCII: CUE would rename `Å` (NFD) to its NFC form, and Encore
    // secret names are ASCII identifiers.
    for key in ["with-dash", "A\u{30a}", "\u{c5}PI_KEY", "dot.ted"] {
        let app = App::new(&format!("OK={CANARY}\n{key}=1\n"));
        let result = sync(to_overrides(&app));
        assert!(!visible(&result).contains(CANARY));
        let error = result.unwrap_err();
        assert!(matches!(error, SyncError::Input(_)), "{key}: {error}");
        assert!(
            error
                .to_string()
                .contains("is not a valid Encore secret name"),
            "{key}: {error}"
        );
        assert!(!app.overrides().exists(), "{key}: nothing was written");
    }
}

#[test]
fn a_byte_order_mark_then_a_comment_or_blank_line_is_merged() {
    for start in [
        "\u{feff}// local\n",
        "\u{feff}\n",
        "\u{feff}package secrets\n",
    ] {
        let app = App::new("A=1\nB=2\n");
        fs::write(app.overrides(), format!("{start}A: \"0\"\n")).unwrap();
        sync(to_overrides(&app)).unwrap();
        assert_eq!(
            fs::read_to_string(app.overrides()).unwrap(),
            format!("{start}A: \"1\"\nB: \"2\"\n")
        );
    }
}

#[test]
fn a_field_before_the_package_clause_or_two_clauses_are_refused() {
    for (text, line, reason) in [
        (
            "X: \"1\"\npackage secrets\n",
            2,
            "the package clause must come before any field",
        ),
        (
            "package a\npackage b\nX: \"1\"\n",
            2,
            "a second package clause",
        ),
    ] {
        let app = App::new("A=1\n");
        fs::write(app.overrides(), text).unwrap();
        let error = sync(to_overrides(&app)).unwrap_err();
        assert!(matches!(error, SyncError::Input(_)), "{error}");
        assert_eq!(
            error.to_string(),
            format!("{}:{line}:1: {reason}", app.overrides().display())
        );
        assert_eq!(fs::read_to_string(app.overrides()).unwrap(), text);
    }
}

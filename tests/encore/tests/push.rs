//! `encore secret set` through the fake CLI, as real child processes.

mod common;

use common::{App, CANARY, actions, fake, is_running, runtime, sync, visible, wait_until};
use serde_json::json;
use stagecraft_core::{SecretsProvider, SyncError, SyncOptions};
use stagecraft_providers::encore::Encore;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, a)| ((*k).to_owned(), (*a).to_owned()))
        .collect()
}

#[test]
fn one_call_per_key_with_all_types_and_the_value_on_stdin_only() {
    let app = App::new(&format!(
        "DATABASE_URL=postgres://db\nAPI_KEY={CANARY}\nQUOTED=\"two\\nlines\"\n"
    ));
    let report = sync(SyncOptions::new(app.config(""))).unwrap();
    assert_eq!(
        actions(&report),
        pairs(&[
            ("DATABASE_URL", "set"),
            ("API_KEY", "set"),
            ("QUOTED", "set")
        ])
    );
    assert!(report.written);
    let calls = app.calls();
    assert_eq!(calls.len(), 3, "exactly one call per key");
    let call = app.call_for("API_KEY");
    assert_eq!(
        call["argv"],
        json!([
            fake(),
            "secret",
            "set",
            "--type",
            "dev,preview,local",
            "API_KEY"
        ])
    );
    assert_eq!(call["stdin"], CANARY);
    assert_eq!(
        std::fs::canonicalize(call["cwd"].as_str().unwrap()).unwrap(),
        std::fs::canonicalize(app.path()).unwrap()
    );
    assert_eq!(app.call_for("QUOTED")["stdin"], "two\nlines");
    for call in &calls {
        let env = call["env"].to_string();
        let argv = call["argv"].to_string();
        assert!(!env.contains(CANARY) && !argv.contains(CANARY));
    }
    // One group holding all three types, as `encore secret list` shows.
    assert_eq!(
        app.groups("API_KEY"),
        json!([{"types": ["development", "preview", "local"], "value": CANARY}])
    );
    assert!(!visible(&Ok(report)).contains(CANARY));
}

#[test]
fn the_target_picks_types_or_named_environments() {
    let app = App::new("A=1\n");
    sync(SyncOptions::new(app.config("")).target("prod, pr,production")).unwrap();
    assert_eq!(
        app.call_for("A")["argv"],
        json!([fake(), "secret", "set", "--type", "prod,preview", "A"])
    );
    let app = App::new("A=1\n");
    sync(SyncOptions::new(app.config("")).target("env:staging,env:qa")).unwrap();
    assert_eq!(
        app.call_for("A")["argv"],
        json!([fake(), "secret", "set", "--env", "staging,qa", "A"])
    );
    let app = App::new("A=1\n");
    sync(SyncOptions::new(app.config("envs: [qa]"))).unwrap();
    assert_eq!(
        app.call_for("A")["argv"],
        json!([fake(), "secret", "set", "--env", "qa", "A"])
    );
    for bad in ["dev,env:qa", "staging", "dev,,local", "env:-x", ""] {
        let error = sync(SyncOptions::new(app.config("")).target(bad)).unwrap_err();
        assert!(matches!(error, SyncError::Input(_)), "{bad}: {error}");
    }
}

#[test]
fn setting_again_replaces_the_group_which_one_call_per_type_would_not() {
    let app = App::new("A=first\n");
    sync(SyncOptions::new(app.config(""))).unwrap();
    std::fs::write(app.path().join(".env.local"), "A=second\n").unwrap();
    sync(SyncOptions::new(app.config(""))).unwrap();
    assert_eq!(
        app.groups("A"),
        json!([{"types": ["development", "preview", "local"], "value": "second"}])
    );
    // What the old per-type loop does: Encore refuses a selection that cuts across a group.
    let error = sync(SyncOptions::new(app.config("")).target("dev")).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("A: the environment selection conflicts with other secret values"),
        "{error}"
    );
}

#[test]
fn no_more_calls_run_at_once_than_the_concurrency() {
    let env: String = (0..9).map(|i| format!("K{i}=v{i}\n")).collect();
    let app = App::new(&env);
    app.control(r#"{"delay_ms": 150}"#);
    let report = sync(SyncOptions::new(app.config("concurrency: 3"))).unwrap();
    assert_eq!(report.count(stagecraft_core::Action::Set), 9);
    let peak = app
        .calls()
        .iter()
        .map(|c| c["running"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!(peak <= 3, "{peak} calls ran at once");
    assert!(peak >= 2, "the calls ran one at a time");
}

#[test]
fn bad_values_and_keys_stop_the_sync_before_any_call() {
    for (env, key, why) in [
        (
            "OK=1\nTRAILING=\"value\\n\"\n".to_owned(),
            "TRAILING",
            "ends with a line break",
        ),
        (
            "OK=1\nCR=\"value\\r\"\n".to_owned(),
            "CR",
            "ends with a line break",
        ),
        (format!("OK=1\nNUL=a\0{CANARY}\n"), "NUL", "NUL"),
        (
            "OK=1\nmy-key=1\n".to_owned(),
            "my-key",
            "not a valid Encore secret name",
        ),
    ] {
        let app = App::new(&env);
        let result = sync(SyncOptions::new(app.config("")));
        let error = result.as_ref().unwrap_err();
        assert!(matches!(error, SyncError::Input(_)), "{error}");
        let message = error.to_string();
        assert!(message.contains(key) && message.contains(why), "{message}");
        assert!(message.contains(".env.local"), "{message}");
        assert!(!visible(&result).contains(CANARY));
        assert!(app.calls().is_empty(), "no key was set");
    }
}

#[test]
fn missing_keys_are_an_input_error() {
    let app = App::new("A=1\n");
    let error = sync(SyncOptions::new(app.config("")).keys(["A", "NOPE"])).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{} does not define NOPE",
            app.path().join(".env.local").display()
        )
    );
    assert!(app.calls().is_empty());
}

#[test]
fn only_the_keys_asked_for_are_set() {
    let app = App::new("A=1\nB=2\nC=3\n");
    let report = sync(SyncOptions::new(app.config("")).keys(["C", "A", "C"])).unwrap();
    assert_eq!(actions(&report), pairs(&[("C", "set"), ("A", "set")]));
    assert_eq!(app.calls().len(), 2);
}

#[test]
fn a_partial_failure_reports_every_key_and_cleans_what_encore_said() {
    let app = App::new(&format!("A=1\nB={CANARY}\nC=3\nD=4\n"));
    // The fake echoes the value it read, and a long tail, into its error.
    let long = "x".repeat(2000);
    app.control(&format!(
        r#"{{"fail": {{"B": "rejected {{value}} {long}", "D": "quota exceeded; A's value is {CANARY}"}}}}"#
    ));
    let result = sync(SyncOptions::new(app.config("concurrency: 2")));
    assert!(!visible(&result).contains(CANARY));
    let Err(SyncError::Partial { report, error }) = result else {
        panic!("expected a partial failure");
    };
    assert_eq!(
        actions(&report),
        pairs(&[("A", "set"), ("B", "failed"), ("C", "set"), ("D", "failed")])
    );
    let message = error.to_string();
    assert!(
        message.starts_with("2 of 4 keys failed:\n  B: rejected [redacted] xxx"),
        "{message}"
    );
    assert!(
        message.contains("\n  D: quota exceeded; A's value is [redacted]"),
        "{message}"
    );
    assert!(
        message.len() < 800,
        "stderr is cut short: {} bytes",
        message.len()
    );
    assert!(!message.contains(CANARY));
}

#[test]
fn not_logged_in_is_one_error_found_on_the_first_failure() {
    let env: String = (0..20).map(|i| format!("K{i}=v{i}\n")).collect();
    let app = App::new(&env);
    app.control(r#"{"logged_in": false}"#);
    let error = sync(SyncOptions::new(app.config("concurrency: 2"))).unwrap_err();
    assert!(matches!(error, SyncError::External(_)));
    assert_eq!(
        error.to_string(),
        "the Encore CLI is not logged in: run `encore auth login`, then sync again"
    );
    assert!(
        app.calls().len() <= 2,
        "{} calls started",
        app.calls().len()
    );
}

#[test]
fn an_unlinked_app_is_one_error_found_on_the_first_failure() {
    let env: String = (0..20).map(|i| format!("K{i}=v{i}\n")).collect();
    let app = App::new(&env);
    app.control(r#"{"linked": false}"#);
    let error = sync(SyncOptions::new(app.config("concurrency: 1"))).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("is not linked with the Encore Platform: run `encore app link`"),
        "{error}"
    );
    assert_eq!(app.calls().len(), 1);
}

#[test]
fn a_missing_binary_or_app_is_one_clear_error() {
    let app = App::new("A=1\nB=2\n");
    let missing = app.path().join("no-such-encore");
    let config = stagecraft_core::ProviderConfig::from_yaml(format!(
        "source_file: {}\napp_dir: {}\nbinary: {}\n",
        app.path().join(".env.local").display(),
        app.path().display(),
        missing.display()
    ));
    let error = sync(SyncOptions::new(config)).unwrap_err();
    assert!(matches!(error, SyncError::External(_)));
    assert_eq!(
        error.to_string(),
        format!(
            "cannot run the Encore CLI `{}`: not found; install it (see Encore's docs) or set `binary` in stagecraft.yml",
            missing.display()
        )
    );

    let elsewhere = tempfile::tempdir().unwrap();
    let config = stagecraft_core::ProviderConfig::from_yaml(format!(
        "source_file: {}\napp_dir: {}\nbinary: {}\n",
        app.path().join(".env.local").display(),
        elsewhere.path().display(),
        fake()
    ));
    let error = sync(SyncOptions::new(config)).unwrap_err();
    assert!(matches!(error, SyncError::Input(_)));
    assert!(
        error.to_string().starts_with("no encore.app in "),
        "{error}"
    );
    assert!(app.calls().is_empty());
}

#[test]
fn a_call_that_hangs_is_stopped_at_the_timeout_and_the_others_still_run() {
    let app = App::new("A=1\nHANG=2\nC=3\n");
    app.control(r#"{"hang": ["HANG"]}"#);
    let result = sync(SyncOptions::new(app.config("timeout: 500ms")));
    let Err(SyncError::Partial { report, error }) = result else {
        panic!("expected a partial failure");
    };
    assert_eq!(
        actions(&report),
        pairs(&[("A", "set"), ("HANG", "failed"), ("C", "set")])
    );
    assert_eq!(
        error.to_string(),
        "1 of 3 keys failed:\n  HANG: no answer within 0.5 s; the call was stopped"
    );
    let pid = app.call_for("HANG")["pid"].as_u64().unwrap();
    assert!(!is_running(pid), "the hung call was killed and reaped");
}

#[test]
fn dropping_the_sync_kills_every_child() {
    let env: String = (0..6).map(|i| format!("K{i}=v{i}\n")).collect();
    let app = App::new(&env);
    app.control(r#"{"hang": ["K0", "K1", "K2", "K3", "K4", "K5"]}"#);
    let runtime = runtime();
    let config = app.config("concurrency: 3");
    runtime.block_on(async {
        let sync = Encore.sync(SyncOptions::new(config));
        // Poll the sync until its three calls have started, then drop it.
        let started = async {
            while app.calls().len() < 3 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        };
        tokio::select! {
            _ = sync => panic!("the sync finished although every call hangs"),
            () = started => {}
        }
    });
    let pids: Vec<u64> = app
        .calls()
        .iter()
        .map(|c| c["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 3);
    wait_until("every child has ended", || {
        !pids.iter().any(|&p| is_running(p))
    });
    drop(runtime);
    assert_eq!(app.calls().len(), 3, "no call started after the drop");
}

#[test]
fn a_dry_run_sets_nothing_and_tells_new_keys_from_existing_ones() {
    let app = App::new(&format!("OLD={CANARY}\nNEW=2\n"));
    sync(SyncOptions::new(app.config("")).keys(["OLD"])).unwrap();
    let before = app.calls().len();
    let report = sync(SyncOptions::new(app.config("")).dry_run(true)).unwrap();
    assert_eq!(actions(&report), pairs(&[("OLD", "set"), ("NEW", "added")]));
    assert!(!report.written);
    assert_eq!(app.calls().len(), before, "a dry run sets nothing");
    assert_eq!(
        report.notes,
        [
            "Encore does not show secret values, so a key that exists is set again whether or not its value differs"
        ]
    );
    // A key set only for production does not exist for the default types.
    let report = sync(
        SyncOptions::new(app.config(""))
            .target("prod")
            .dry_run(true),
    )
    .unwrap();
    assert_eq!(
        actions(&report),
        pairs(&[("OLD", "added"), ("NEW", "added")])
    );

    app.control(r#"{"logged_in": false}"#);
    let report = sync(SyncOptions::new(app.config("")).dry_run(true)).unwrap();
    assert_eq!(actions(&report), pairs(&[("OLD", "set"), ("NEW", "set")]));
    assert!(
        report.notes[0].contains("`encore secret list` failed"),
        "{:?}",
        report.notes
    );
    assert!(
        report.notes[0].contains("encore auth login"),
        "{:?}",
        report.notes
    );
    assert!(!visible(&Ok(report)).contains(CANARY));
}

#[test]
fn prune_is_refused_for_encore_itself() {
    let app = App::new("A=1\n");
    let error = sync(SyncOptions::new(app.config("")).prune(true)).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("--prune works only with --to local-overrides")
    );
    assert!(app.calls().is_empty());
}

#[test]
fn the_config_is_typed_and_checked() {
    let app = App::new("A=1\n");
    for (extra, message) in [
        ("concurency: 2", "unknown field `concurency`"),
        ("concurrency: 0", "invalid value"),
        ("timeout: -1", "expected a positive number of seconds"),
        ("timeout: 0s", "expected a positive number of seconds"),
        (
            "timeout: soon",
            "invalid value: text, expected a positive number of seconds",
        ),
        ("types: [dev, staging]", "unknown variant"),
        (
            "types: [dev]\nenvs: [qa]",
            "set `types` or `envs`, not both",
        ),
        ("envs: []", "expected at least one environment name"),
    ] {
        let config = app.config(extra);
        let error = Encore.check_config(&config).unwrap_err();
        assert!(error.to_string().contains(message), "{extra}: {error}");
        let error = sync(SyncOptions::new(config)).unwrap_err();
        assert!(matches!(error, SyncError::Config(_)), "{extra}: {error}");
    }
    Encore
        .check_config(&app.config("types: [development, pr, local]\nconcurrency: 8\ntimeout: 2.5"))
        .unwrap();
    for timeout in ["30", "500ms", "30s", "2m", "0.5"] {
        Encore
            .check_config(&app.config(&format!("timeout: {timeout}")))
            .unwrap();
    }
}

#[test]
fn a_large_value_reaches_stdin_whole() {
    let value = format!("{CANARY}{}", "v".repeat(1 << 20));
    let app = App::new(&format!("BIG={value}\n"));
    sync(SyncOptions::new(app.config(""))).unwrap();
    assert_eq!(app.call_for("BIG")["stdin"], value.as_str());
}

#[test]
fn a_flood_on_stderr_neither_blocks_the_call_nor_leaks_the_value() {
    let app = App::new(&format!("A={CANARY}\n"));
    app.control(r#"{"flood_stderr": 5000000}"#);
    let result = sync(SyncOptions::new(app.config("timeout: 20")));
    assert!(!visible(&result).contains(CANARY));
    let error = result.unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("1 of 1 keys failed:\n  A: noise [redacted] noise [redacted]"),
        "{error}"
    );
    assert!(error.to_string().len() < 400);
}

#[test]
fn a_key_that_looks_like_a_flag_is_refused() {
    let app = App::new("OK=1\n--env=qa\n-x=1\n");
    let error = sync(SyncOptions::new(app.config(""))).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the key \"--env\" is not a valid Encore secret name"),
        "{error}"
    );
    assert!(app.calls().is_empty());
}

#[test]
fn a_missing_source_or_app_dir_is_an_input_error() {
    let app = App::new("A=1\n");
    std::fs::remove_file(app.path().join(".env.local")).unwrap();
    let error = sync(SyncOptions::new(app.config(""))).unwrap_err();
    assert!(matches!(error, SyncError::Input(_)));
    assert!(
        error.to_string().ends_with(".env.local does not exist"),
        "{error}"
    );
    let app = App::new("A=1\n");
    let gone = app.path().join("gone");
    let config = stagecraft_core::ProviderConfig::from_yaml(format!(
        "source_file: {}\napp_dir: {}\nbinary: {}\n",
        app.path().join(".env.local").display(),
        gone.display(),
        fake()
    ));
    let error = sync(SyncOptions::new(config)).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("app directory {} does not exist", gone.display())
    );
}

#[test]
fn a_value_cut_by_the_capture_limit_after_blank_stderr_is_not_shown() {
    // What is kept of stderr ends inside the value; the blanks before it collapse to nothing,
    // so the start of the value would come first in the message.
    let app = App::new(&format!("A={CANARY}\n"));
    let limit = 4096 + (300 / 10 + 2) * CANARY.len();
    let blanks = " ".repeat(limit - "error: ".len() - 10);
    app.control(&format!(r#"{{"fail": {{"A": "{blanks}{{value}}"}}}}"#));
    let result = sync(SyncOptions::new(app.config("")));
    let message = result.unwrap_err().to_string();
    assert!(!message.contains(&CANARY[..10]), "{message}");
    assert_eq!(
        message,
        "1 of 1 keys failed:\n  A: encore exit status: 1 and said nothing"
    );
}

/// An `encore` behind a wrapper script that does not `exec` it (as some version managers'
/// shims do): the wrapper's child must be stopped too.
fn wrapped(app: &App) -> String {
    let wrapper = app.path().join("encore-wrapper");
    std::fs::write(&wrapper, format!("#!/bin/sh\n'{}' \"$@\"\n", fake())).unwrap();
    let mut permissions = std::fs::metadata(&wrapper).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&wrapper, permissions).unwrap();
    format!(
        "source_file: {}\napp_dir: {}\nbinary: {}\n",
        app.path().join(".env.local").display(),
        app.path().display(),
        wrapper.display()
    )
}

#[test]
fn what_the_encore_executable_started_is_stopped_too() {
    let app = App::new("A=1\nHANG=2\n");
    app.control(r#"{"hang": ["HANG"]}"#);
    let config = format!("{}timeout: 500ms\n", wrapped(&app));
    let result = sync(SyncOptions::new(
        stagecraft_core::ProviderConfig::from_yaml(config.clone()),
    ));
    assert!(matches!(result, Err(SyncError::Partial { .. })));
    let pid = app.call_for("HANG")["pid"].as_u64().unwrap();
    wait_until("the timed-out call's process is gone", || !is_running(pid));

    // Dropping the sync stops the processes behind the wrapper as well.
    let _ = std::fs::remove_dir_all(app.path().join("fake-encore"));
    app.control(r#"{"hang": ["A", "HANG"]}"#);
    let config = stagecraft_core::ProviderConfig::from_yaml(wrapped(&app));
    runtime().block_on(async {
        let sync = Encore.sync(SyncOptions::new(config));
        let started = async {
            while app.calls().len() < 2 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        };
        tokio::select! {
            _ = sync => panic!("the sync finished although every call hangs"),
            () = started => {}
        }
    });
    for call in app.calls() {
        let pid = call["pid"].as_u64().unwrap();
        wait_until("the dropped call's process is gone", || !is_running(pid));
    }
}

#[test]
fn a_call_that_exits_without_reading_the_whole_value_fails_and_says_so() {
    let value = format!("{CANARY}{}", "v".repeat(1 << 20));
    let app = App::new(&format!("BIG={value}\n"));
    // Exits at once with success, stdin unread: more than a pipe holds cannot have been sent.
    let quitter = app.path().join("quitter");
    std::fs::write(&quitter, "#!/bin/sh\nexec 0<&-\nexit 0\n").unwrap();
    let mut permissions = std::fs::metadata(&quitter).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&quitter, permissions).unwrap();
    let config = stagecraft_core::ProviderConfig::from_yaml(format!(
        "source_file: {}\napp_dir: {}\nbinary: {}\n",
        app.path().join(".env.local").display(),
        app.path().display(),
        quitter.display()
    ));
    let result = sync(SyncOptions::new(config));
    assert!(!visible(&result).contains(CANARY));
    assert_eq!(
        result.unwrap_err().to_string(),
        "1 of 1 keys failed:\n  BIG: encore exited (exit status: 0) before reading the whole value"
    );
}

#[test]
fn the_app_is_found_above_where_app_dir_really_is_as_encore_finds_it() {
    // app_dir is a link to a directory of the app: encore walks up from the real directory
    // (its working directory), not from the link's.
    let app = App::new("A=1\n");
    std::fs::create_dir(app.path().join("backend")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let link = elsewhere.path().join("backend");
    std::os::unix::fs::symlink(app.path().join("backend"), &link).unwrap();
    let config = stagecraft_core::ProviderConfig::from_yaml(format!(
        "source_file: {}\napp_dir: {}\nbinary: {}\n",
        app.path().join(".env.local").display(),
        link.display(),
        fake()
    ));
    let report = sync(SyncOptions::new(config)).unwrap();
    assert_eq!(actions(&report), pairs(&[("A", "set")]));
}

#[test]
fn a_value_that_reads_like_a_login_error_is_not_taken_for_one() {
    let app = App::new("A=1\nB=not logged in\n");
    app.control(r#"{"fail": {"B": "rejected {value}"}}"#);
    let error = sync(SyncOptions::new(app.config("concurrency: 1"))).unwrap_err();
    assert_eq!(
        error.to_string(),
        "1 of 2 keys failed:\n  B: rejected [redacted]"
    );
}

/// A dry run of 50,000 keys asked for against a list of 25,000 existing secrets tells new keys
/// from existing ones with a lookup per key (a scan of the list per key was quadratic).
#[test]
fn a_dry_run_of_fifty_thousand_keys_against_a_long_list() {
    const N: usize = 50_000;
    let key = |i: usize| format!("SERVICE_ACCOUNT_CREDENTIALS_OF_THE_CLUSTER_{i:06}");
    let env: String = (0..N).map(|i| format!("{}=value-{i}\n", key(i))).collect();
    let app = App::new(&env);
    // The fake's store: every even key has a value for the default types.
    let secrets = app.path().join("fake-encore/secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    let group = json!([{"types": ["development", "preview", "local"], "value": "old"}]).to_string();
    for i in (0..N).step_by(2) {
        std::fs::write(secrets.join(format!("{}.json", key(i))), &group).unwrap();
    }
    let asked: Vec<String> = (0..N).rev().map(key).collect();
    let report = sync(
        SyncOptions::new(app.config(""))
            .keys(asked.clone())
            .dry_run(true),
    )
    .unwrap();
    let expected: Vec<(String, String)> = (0..N)
        .rev()
        .map(|i| (key(i), if i % 2 == 0 { "set" } else { "added" }.to_owned()))
        .collect();
    assert!(
        actions(&report) == expected,
        "in the order asked, existing keys `set`"
    );
    assert!(app.calls().is_empty(), "a dry run sets nothing");
}

#[test]
fn a_type_or_environment_named_twice_is_passed_once() {
    let app = App::new("A=1\n");
    sync(SyncOptions::new(app.config("")).target("dev,preview,development,pr")).unwrap();
    assert_eq!(
        app.call_for("A")["argv"],
        json!([fake(), "secret", "set", "--type", "dev,preview", "A"])
    );
    let app = App::new("A=1\n");
    sync(SyncOptions::new(app.config("")).target("env:qa,env:staging,env:qa")).unwrap();
    assert_eq!(
        app.call_for("A")["argv"],
        json!([fake(), "secret", "set", "--env", "qa,staging", "A"])
    );
}

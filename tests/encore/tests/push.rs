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
fn a_partial_failure_reports_every_key_and_withholds_what_echoes_a_value() {
    let app = App::new(&format!("A=1\nB={CANARY}\nC=3\nD=4\n"));
    // The fake echoes the value it read, and a long tail, into its error.
    let long = "x".repeat(2000);
    app.control(&format!(
        r#"{{"fail": {{"B": "rejected {{value}} {long}", "D": "quota exceeded\nA's value is {CANARY}\n{long}"}}}}"#
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
        message.starts_with(
            "2 of 4 keys failed:\n  B: encore exit status: 1; [1 line of stderr withheld: it may hold a value]\n  D: quota exceeded xxx"
        ),
        "{message}"
    );
    assert!(
        message.ends_with("x… [1 line of stderr withheld: it may hold a value]"),
        "{message}"
    );
    assert!(
        message.len() < 800,
        "stderr is cut short: {} bytes",
        message.len()
    );
}

/// Values a CLI could echo in another form than they were given.
const HOSTILE: [&str; 7] = [
    "tab\tCanarySecret",
    "bell\u{7}CanaryBell",
    "p\u{e4}ssw\u{f6}rd\u{2713}CanaryUnicode",
    "  SpacedCanary  ",
    "it's a \"quoted\" \\ Canary <&> \u{1F389}",
    "-----BEGIN CANARY KEY-----\nMIIEcanaryline\nsecondcanary\n}\n-----END CANARY KEY-----",
    // Each line too short to search for inside words.
    "ab1\ncd2\nef3",
];

#[test]
fn a_value_echoed_in_any_form_is_withheld_whole_line_and_counted() {
    let forms = [
        "raw",
        "trimmed",
        "go",
        "go_ascii",
        "json",
        "json_ascii",
        "shell",
        "bash",
        "lines",
    ];
    let mut env = String::new();
    let mut echo = Vec::new();
    let mut keys = Vec::new();
    for (v, value) in HOSTILE.iter().enumerate() {
        for form in forms {
            let key = format!("K{v}_{form}");
            env.push_str(&envfile_line(&key, value));
            echo.push(format!("\"{key}\": \"{form}\""));
            keys.push((key, *value));
        }
    }
    let app = App::new(&env);
    app.control(&format!(r#"{{"echo": {{{}}}}}"#, echo.join(", ")));
    let result = sync(SyncOptions::new(app.config("concurrency: 8")));
    let seen = visible(&result);
    for (key, value) in &keys {
        for piece in value.split(['\n', '\t', '\u{7}', ' ', '\'', '"']) {
            if piece.len() >= 6 {
                assert!(!seen.contains(piece), "{key}: {piece:?} shown in:\n{seen}");
            }
        }
    }
    assert!(
        !seen.contains("Canary") && !seen.contains("canary"),
        "{seen}"
    );
    let message = result.unwrap_err().to_string();
    assert!(
        message.starts_with(&format!("{} of {} keys failed:", keys.len(), keys.len())),
        "{message}"
    );
    for (key, _) in &keys {
        assert!(
            message.contains(&format!("\n  {key}: ")) && message.contains("withheld"),
            "{key}: {message}"
        );
    }
    // What holds no value is still shown.
    assert!(
        message
            .contains("K6_lines: invalid value: [3 lines of stderr withheld: it may hold a value]"),
        "{message}"
    );
    // `}` alone, a line of the value without a letter or digit, is not searched for.
    assert!(
        message.contains(
            "K5_lines: invalid value: | } [4 lines of stderr withheld: it may hold a value]"
        ),
        "{message}"
    );
}

/// `KEY="value"` with the value escaped as the env file reader reads it back.
fn envfile_line(key: &str, value: &str) -> String {
    stagecraft_providers::envfile::write_string([(key, value)]).unwrap()
}

#[test]
fn a_short_value_neither_hides_a_fatal_error_nor_gets_through() {
    let env: String = (0..9).map(|i| format!("K{i}=v{i}\n")).collect();
    let app = App::new(&format!("USE_CACHE=n\n{env}"));
    app.control(r#"{"logged_in": false}"#);
    let error = sync(SyncOptions::new(app.config("concurrency: 1"))).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the Encore CLI is not logged in: run `encore auth login`, then sync again"
    );
    assert_eq!(app.calls().len(), 1, "the first failure stopped the sync");

    // A short value is looked for as a word of its own: `n` in `USE_CACHE is n`, not in `not`.
    let app = App::new("USE_CACHE=n\nB=rejected-value\n");
    app.control(r#"{"fail": {"B": "quota exceeded, not retried\nUSE_CACHE is n"}}"#);
    let error = sync(SyncOptions::new(app.config(""))).unwrap_err();
    assert_eq!(
        error.to_string(),
        "1 of 2 keys failed:\n  B: quota exceeded, not retried [1 line of stderr withheld: it may hold a value]"
    );
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
        pairs(&[("A", "set"), ("HANG", "unknown"), ("C", "set")])
    );
    assert_eq!(
        error.to_string(),
        "1 of 3 keys may or may not be set:\n  HANG: no answer within 0.5 s; the call was stopped, so whether it set the key is unknown"
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
            "existing for development, local, preview: OLD",
            "Encore does not show secret values, so a key that exists is set again whether or not its value differs"
        ]
    );
    // A key set only for production does not exist for prod-less types, and says where it is.
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
    assert_eq!(
        report.notes[0],
        "existing for development, local, preview: OLD"
    );
    assert!(!visible(&Ok(report)).contains(CANARY));
}

#[test]
fn a_dry_run_that_cannot_list_the_secrets_fails() {
    let app = App::new(&format!("A={CANARY}\n"));
    app.control(r#"{"logged_in": false}"#);
    let result = sync(SyncOptions::new(app.config("")).dry_run(true));
    assert!(!visible(&result).contains(CANARY));
    let error = result.unwrap_err();
    assert!(matches!(error, SyncError::External(_)), "{error}");
    assert!(error.to_string().contains("encore auth login"), "{error}");

    let config = stagecraft_core::ProviderConfig::from_yaml(format!(
        "source_file: {}\napp_dir: {}\nbinary: /nonexistent/encore\n",
        app.path().join(".env.local").display(),
        app.path().display(),
    ));
    let error = sync(SyncOptions::new(config).dry_run(true)).unwrap_err();
    assert!(matches!(error, SyncError::External(_)), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("cannot run the Encore CLI `/nonexistent/encore`: not found"),
        "{error}"
    );
}

#[test]
fn a_dry_run_reports_a_key_that_would_cut_across_a_group_before_any_call() {
    let app = App::new("SPLIT=1\nWHOLE=2\nQA=3\n");
    sync(SyncOptions::new(app.config("")).keys(["WHOLE"])).unwrap();
    sync(
        SyncOptions::new(app.config(""))
            .keys(["SPLIT"])
            .target("dev"),
    )
    .unwrap();
    sync(
        SyncOptions::new(app.config(""))
            .keys(["QA"])
            .target("env:qa"),
    )
    .unwrap();
    let before = app.calls().len();
    let Err(SyncError::Partial { report, error }) =
        sync(SyncOptions::new(app.config("")).dry_run(true))
    else {
        panic!("expected the conflict to be reported");
    };
    assert_eq!(app.calls().len(), before, "a dry run sets nothing");
    assert_eq!(
        actions(&report),
        pairs(&[("SPLIT", "failed"), ("WHOLE", "set"), ("QA", "added")])
    );
    assert_eq!(
        error.to_string(),
        "1 of 3 keys would conflict:\n  SPLIT: it has values for development but not for all of dev,preview,local: Encore refuses a selection that cuts across a group of environments"
    );
    assert_eq!(
        report.notes[..3],
        [
            "existing for development: SPLIT",
            "existing for development, local, preview: WHOLE",
            "existing for env:qa: QA",
        ]
    );
    // What the push would then do: Encore refuses it.
    let error = sync(SyncOptions::new(app.config("")).keys(["SPLIT"])).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("conflicts with other secret values"),
        "{error}"
    );
    // For named environments, the Specific Envs column says where a key is.
    let report = sync(
        SyncOptions::new(app.config(""))
            .target("env:qa")
            .dry_run(true),
    )
    .unwrap();
    assert_eq!(
        actions(&report),
        pairs(&[("SPLIT", "added"), ("WHOLE", "added"), ("QA", "set")])
    );
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
    // Every noise line holds the value; the last line, what the call said last, does not.
    let message = error.to_string();
    assert!(
        message.starts_with("1 of 1 keys failed:\n  A: flooded [")
            && message.ends_with(" lines of stderr withheld: it may hold a value]"),
        "{message}"
    );
}

#[test]
fn a_call_that_stores_then_hangs_is_reported_unknown_not_failed() {
    let app = App::new(&format!("A=1\nB={CANARY}\n"));
    app.control(r#"{"hang_after_store": ["B"]}"#);
    let result = sync(SyncOptions::new(app.config("timeout: 500ms")));
    assert!(!visible(&result).contains(CANARY));
    let Err(SyncError::Partial { report, error }) = result else {
        panic!("expected a partial result");
    };
    assert_eq!(actions(&report), pairs(&[("A", "set"), ("B", "unknown")]));
    assert!(report.written);
    assert!(
        error
            .to_string()
            .starts_with("1 of 2 keys may or may not be set:\n  B: no answer"),
        "{error}"
    );
    // It was stored: `unknown` is the truth, `failed` or `not set` would not be.
    assert_eq!(app.groups("B")[0]["value"], CANARY);
    // Only unknown keys: nothing is claimed written.
    let app = App::new("B=2\n");
    app.control(r#"{"hang_after_store": ["B"]}"#);
    let Err(SyncError::Partial { report, .. }) =
        sync(SyncOptions::new(app.config("timeout: 300ms")))
    else {
        panic!("expected a partial result");
    };
    assert!(!report.written);
    assert_eq!(actions(&report), pairs(&[("B", "unknown")]));
}

#[test]
fn the_exit_status_is_the_answer_when_a_process_left_behind_holds_stderr() {
    let app = App::new("A=1\nB=2\n");
    app.control(r#"{"hold_stderr": ["A", "B"]}"#);
    let started = std::time::Instant::now();
    let report = sync(SyncOptions::new(app.config("timeout: 10"))).unwrap();
    let took = started.elapsed();
    for key in ["A", "B"] {
        let held = app.path().join(format!("fake-encore/held/{key}"));
        let pid: i32 = std::fs::read_to_string(held).unwrap().parse().unwrap();
        assert!(
            is_running(pid as u64),
            "the process holding stderr still runs"
        );
        std::process::Command::new("kill")
            .arg(pid.to_string())
            .status()
            .unwrap();
    }
    assert_eq!(actions(&report), pairs(&[("A", "set"), ("B", "set")]));
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
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
fn a_value_cut_by_what_is_kept_of_stderr_is_not_shown() {
    // What is kept of stderr (its first 8 KiB) ends inside the value, after blanks.
    let app = App::new(&format!("A={CANARY}\n"));
    let blanks = " ".repeat((8 << 10) - "error: ".len() - 10);
    let tail = "y".repeat(20 << 10);
    app.control(&format!(
        r#"{{"fail": {{"A": "{blanks}{{value}}{tail}"}}}}"#
    ));
    let result = sync(SyncOptions::new(app.config("")));
    let message = result.unwrap_err().to_string();
    assert!(!message.contains(&CANARY[..6]), "{message}");
    assert_eq!(
        message,
        "1 of 1 keys failed:\n  A: encore exit status: 1; [2 lines of stderr withheld: it may hold a value]"
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
        "1 of 1 keys failed:\n  BIG: encore exited (exit status: 0) before reading the whole value: what it stored, if anything, is not the value"
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
        "1 of 2 keys failed:\n  B: encore exit status: 1; [1 line of stderr withheld: it may hold a value]"
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

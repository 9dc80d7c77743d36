//! `stagecraft secrets sync --provider encore`, the real binary against the fake CLI.

mod common;

use common::{App, CANARY, fake};
use std::process::Output;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The `stagecraft` binary, built by cargo for this test: another package's binary gets no
/// `CARGO_BIN_EXE_…` here.
fn stagecraft() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let output = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "stagecraft",
                "--bin",
                "stagecraft",
                "--message-format=json",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["target"]["name"] == "stagecraft")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo names the stagecraft executable")
    })
}

/// A project whose stagecraft.yml sits next to encore.app and configures the fake CLI.
fn project(env: &str) -> App {
    let app = App::new(env);
    std::fs::write(
        app.path().join("stagecraft.yml"),
        format!(
            "secrets:\n  provider: encore\n  providers:\n    encore:\n      source_file: .env.local\n      binary: {}\n      concurrency: 2\n",
            fake()
        ),
    )
    .unwrap();
    app
}

fn run(app: &App, args: &[&str]) -> (Output, String, String) {
    let output = Command::new(stagecraft())
        .args(args)
        .current_dir(app.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert!(
        !stdout.contains(CANARY) && !stderr.contains(CANARY),
        "a value was printed:\n{stdout}\n{stderr}"
    );
    (output, stdout, stderr)
}

#[test]
fn the_provider_list_names_encore() {
    let app = App::new("");
    let (output, stdout, _) = run(&app, &["secrets", "providers"]);
    assert!(output.status.success());
    assert!(
        stdout.lines().any(|l| l.starts_with("encore ")
            && l.ends_with(
                "Pushes env file keys into Encore's secret manager, or its local overrides file. (a source: --from encore:…)"
            )),
        "{stdout}"
    );
}

#[test]
fn a_partial_failure_prints_the_report_then_the_error_and_exits_2() {
    let app = project(&format!("A=1\nB={CANARY}\nC=3\n"));
    app.control(r#"{"fail": {"B": "rejected {value}"}}"#);
    let (output, stdout, stderr) = run(&app, &["secrets", "sync"]);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stdout,
        "Sync (encore): .env.local -> Encore secrets for dev,preview,local\n  + A  set\n  ! B  failed\n  + C  set\n0 added, 0 changed, 0 unchanged, 0 removed, 2 set, 1 failed; wrote Encore secrets for dev,preview,local.\n"
    );
    assert_eq!(
        stderr,
        "error: 1 of 3 keys failed:\n  B: encore exit status: 1; [1 line of stderr withheld: it may hold a value]\n"
    );
    assert!(
        !stderr.contains('\r'),
        "no progress line when stderr is not a terminal"
    );
}

#[test]
fn not_logged_in_exits_2_with_what_to_do() {
    let app = project("A=1\n");
    app.control(r#"{"logged_in": false}"#);
    let (output, stdout, stderr) = run(&app, &["secrets", "sync", "--json"]);
    assert_eq!(output.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    assert_eq!(doc["error"]["kind"], "external");
    assert_eq!(doc["error"]["exit_code"], 2);
    assert_eq!(
        stderr,
        "error: the Encore CLI is not logged in: run `encore auth login`, then sync again\n"
    );
}

#[test]
fn a_dry_run_says_what_encore_cannot_show() {
    let app = project("A=1\n");
    let (output, stdout, _) = run(&app, &["secrets", "sync", "--dry-run"]);
    assert!(output.status.success());
    assert!(stdout.contains("  + A  added\n"), "{stdout}");
    assert!(
        stdout.contains("note: Encore does not show secret values"),
        "{stdout}"
    );
    assert!(app.calls().is_empty());
}

#[test]
fn local_overrides_need_no_login() {
    let app = project(&format!("A={CANARY}\n"));
    app.control(r#"{"logged_in": false}"#);
    let (output, stdout, stderr) = run(&app, &["secrets", "sync", "--to", "local-overrides"]);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("  + A  added\n"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(app.overrides()).unwrap(),
        format!("A: \"{CANARY}\"\n")
    );
}

#[test]
fn config_validate_locates_a_bad_setting() {
    let app = project("A=1\n");
    let config = app.path().join("stagecraft.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("concurrency: 2", "concurrency: 0")).unwrap();
    let (output, _, stderr) = run(&app, &["config", "validate"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr.starts_with(
            "error: stagecraft.yml:7:20: secrets.providers.encore.concurrency: invalid value"
        ),
        "{stderr}"
    );
}

/// Runs `stagecraft` on a pseudo-terminal (util-linux `script`), returning what it showed.
fn on_terminal(app: &App, args: &str) -> String {
    let output = Command::new("script")
        .args(["--quiet", "--return", "--command"])
        .arg(format!("{} {args}", stagecraft().display()))
        .arg("/dev/null")
        .current_dir(app.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("util-linux `script` runs");
    let shown = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(!shown.contains(CANARY));
    shown
}

#[test]
fn a_terminal_shows_progress_unless_json_is_asked_for() {
    let app = project(&format!("A={CANARY}\nB=2\nC=3\n"));
    let shown = on_terminal(&app, "secrets sync");
    assert!(shown.contains("encore: 0/3 keys"), "{shown:?}");
    assert!(shown.contains("encore: 3/3 keys"), "{shown:?}");
    let shown = on_terminal(&app, "secrets sync --json");
    assert!(
        !shown.contains("keys\r") && !shown.contains("encore: "),
        "{shown:?}"
    );
    assert!(shown.contains("\"set\": 3"), "{shown:?}");
}

#[test]
fn a_sync_where_every_key_failed_does_not_say_up_to_date() {
    let app = project(&format!("A=1\nB={CANARY}\n"));
    app.control(r#"{"fail": {"A": "no", "B": "rejected {value}"}}"#);
    let (output, stdout, stderr) = run(&app, &["secrets", "sync"]);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stdout.ends_with(
            "0 added, 0 changed, 0 unchanged, 0 removed, 2 failed; nothing was written to Encore secrets for dev,preview,local.\n"
        ),
        "{stdout}"
    );
}

/// Whether process `pid` has installed handlers for SIGHUP, SIGINT and SIGTERM.
fn catches_signals(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let caught = status
        .lines()
        .find_map(|line| line.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .unwrap_or(0);
    let wanted = 1 | (1 << 1) | (1 << 14);
    caught & wanted == wanted
}

/// A signal while calls hang: the real binary stops them, prints what was set, exits 130.
fn interrupt_push(app: &App, args: &[&str], signal: &str, started: usize) -> Output {
    let _ = std::fs::remove_dir_all(app.path().join("fake-encore"));
    let child = Command::new(stagecraft())
        .args(args)
        .current_dir(app.path())
        .env("RUST_LOG", "trace")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    common::wait_until("the calls have started", || {
        catches_signals(child.id()) && app.calls().len() >= started
    });
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let output = child.wait_with_output().unwrap();
    for call in app.calls() {
        let pid = call["pid"].as_u64().unwrap();
        assert!(
            !common::is_running(pid),
            "{signal}: call {pid} left running"
        );
    }
    let shown = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!shown.contains(CANARY), "{signal}: {shown}");
    output
}

#[test]
fn a_signal_during_a_push_stops_the_calls_and_reports_what_was_set() {
    let app = project(&format!("A=1\nB={CANARY}\nC=3\nD=4\n"));
    app.control(r#"{"hang": ["B", "C"]}"#);
    for signal in ["INT", "TERM", "HUP"] {
        let output = interrupt_push(&app, &["secrets", "sync"], signal, 3);
        assert_eq!(output.status.code(), Some(130), "{signal}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(
            stdout,
            "Sync (encore): .env.local -> Encore secrets for dev,preview,local\n  + A  set\n  ? B  unknown\n  ? C  unknown\n    D  skipped\nnote: interrupted: keys marked skipped were not started; keys marked unknown were being set when the sync stopped, and may be set\n0 added, 0 changed, 0 unchanged, 0 removed, 1 skipped, 1 set, 2 unknown; wrote Encore secrets for dev,preview,local.\n",
            "{signal}"
        );
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.ends_with(
                "error: interrupted; the sync under way was stopped: its report says which keys were done\n"
            ),
            "{signal}: {stderr}"
        );
        assert_eq!(app.calls().len(), 3, "{signal}: D was never started");
    }
    // Before any key is set, and with --json: one document, nothing claimed up to date.
    app.control(r#"{"hang": ["A", "B", "C", "D"]}"#);
    let output = interrupt_push(&app, &["secrets", "sync", "--json"], "TERM", 2);
    assert_eq!(output.status.code(), Some(130));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(doc["written"], false);
    assert_eq!(doc["summary"]["skipped"], 2);
    assert_eq!(doc["summary"]["unknown"], 2);
    let output = interrupt_push(&app, &["secrets", "sync"], "INT", 2);
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.ends_with(
            "2 skipped, 2 unknown; whether anything was written to Encore secrets for dev,preview,local is unknown.\n"
        ),
        "{stdout}"
    );
}

#[test]
fn a_partial_failure_with_a_full_stdout_still_names_the_failed_keys() {
    let app = project(&format!("A=1\nB={CANARY}\n"));
    app.control(r#"{"fail": {"B": "rejected {value}"}}"#);
    let output = Command::new(stagecraft())
        .args(["secrets", "sync"])
        .current_dir(app.path())
        .stdout(std::fs::File::create("/dev/full").unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "error: cannot write to stdout: No space left on device (os error 28)\nerror: 1 of 2 keys failed:\n  B: encore exit status: 1; [1 line of stderr withheld: it may hold a value]\n"
    );
}

#[test]
fn a_relative_binary_is_found_from_stagecraft_yml_whatever_the_app_dir() {
    // stagecraft.yml at the root, the Encore app in backend/, the CLI in tools/.
    let app = App::new(&format!("A={CANARY}\n"));
    let root = app.path();
    std::fs::create_dir_all(root.join("backend")).unwrap();
    std::fs::rename(root.join("encore.app"), root.join("backend/encore.app")).unwrap();
    std::fs::create_dir_all(root.join("tools")).unwrap();
    let wrapper = root.join("tools/encore");
    std::fs::write(&wrapper, format!("#!/bin/sh\nexec '{}' \"$@\"\n", fake())).unwrap();
    let mut permissions = std::fs::metadata(&wrapper).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&wrapper, permissions).unwrap();
    std::fs::write(
        root.join("stagecraft.yml"),
        "secrets:\n  provider: encore\n  providers:\n    encore:\n      source_file: .env.local\n      app_dir: backend\n      binary: tools/encore\n",
    )
    .unwrap();
    let (output, stdout, stderr) = run(&app, &["secrets", "sync"]);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("  + A  set\n"), "{stdout}");
}

#[test]
fn a_dry_run_without_the_cli_fails_and_check_does_not_say_out_of_sync() {
    let app = project("A=1\n");
    let config = app.path().join("stagecraft.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace(fake(), "/nonexistent")).unwrap();
    for args in [
        &["secrets", "sync", "--dry-run"][..],
        &["secrets", "sync", "--check"][..],
    ] {
        let (output, _, stderr) = run(&app, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: cannot run the Encore CLI `/nonexistent`: not found"),
            "{stderr}"
        );
    }
}

#[test]
fn a_low_limit_of_open_files_lowers_the_concurrency_and_says_so() {
    let env: String = (0..200).map(|i| format!("K{i}=value-{i}\n")).collect();
    let app = project(&env);
    let config = app.path().join("stagecraft.yml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("concurrency: 2", "concurrency: 100")).unwrap();
    app.control(r#"{"delay_ms": 100}"#);
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 128 && exec '{}' secrets sync",
            stagecraft().display()
        ))
        .current_dir(app.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("200 set; wrote"), "{stdout}");
    let note = stdout
        .lines()
        .find(|l| l.starts_with("note: "))
        .unwrap_or_else(|| panic!("no note: {stdout}"));
    assert!(
        note.ends_with(" calls ran at once, not 100: the limit of open files (`ulimit -n`) is 128"),
        "{note}"
    );
    let peak = app
        .calls()
        .iter()
        .map(|c| c["running"].as_u64().unwrap())
        .max()
        .unwrap();
    assert!((2..100).contains(&peak), "{peak} calls ran at once");
}

#[test]
fn a_limit_of_open_files_too_low_for_one_call_is_named_as_the_cause() {
    let app = project("A=1\nB=2\n");
    let mut named = Vec::new();
    // Near the smallest limit the CLI starts with; what runs out first varies a little with
    // the descriptors the process starts with.
    for limit in 10..=17 {
        let output = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -n {limit} && exec '{}' secrets sync",
                stagecraft().display()
            ))
            .current_dir(app.path())
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(!stderr.contains("install it"), "{limit}: {stderr}");
        if stderr.contains("too many open files (the limit of open files, `ulimit -n`, is") {
            assert_eq!(output.status.code(), Some(2), "{limit}: {stderr}");
            named.push(limit);
        }
    }
    assert!(!named.is_empty(), "no limit made the spawn fail");
}

#[test]
fn an_echoed_value_reaches_neither_stdout_stderr_nor_the_log_in_any_form() {
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
    let value = format!("  it's \\ \"{CANARY}\"\t\u{7}ä✓\nsecond {CANARY} line ");
    let env: String = forms
        .iter()
        .map(|form| {
            stagecraft_providers::envfile::write_string([(
                format!("K_{form}").as_str(),
                value.as_str(),
            )])
            .unwrap()
        })
        .collect();
    let app = project(&env);
    let echo: Vec<String> = forms
        .iter()
        .map(|f| format!("\"K_{f}\": \"{f}\""))
        .collect();
    app.control(&format!(r#"{{"echo": {{{}}}}}"#, echo.join(", ")));
    for json in [false, true] {
        let mut args = vec!["secrets", "sync"];
        if json {
            args.push("--json");
        }
        let output = Command::new(stagecraft())
            .args(&args)
            .current_dir(app.path())
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        let shown = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!shown.contains(&CANARY[..12]), "{shown}");
        assert!(shown.contains("K_go: "), "{shown}");
    }
}

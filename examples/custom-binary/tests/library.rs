//! The `stagecraft` library in a program of its own: over this crate's registry, run more than
//! once in a process, with the process-wide defaults on and off.

use std::process::{Command, ExitCode};

stagecraft_core::secrets_registry!(static REGISTRY = [
    stagecraft_providers::SECRETS_PROVIDERS,
    acme_secrets::SECRETS_PROVIDERS,
    SECRETS_PROVIDERS,
]);

const CANARY: &str = "canary-panic-9a8b7c";

/// Panics as a bug would, slicing a value where the standard library quotes it in the message.
#[stagecraft_core::secrets_provider("panics")]
#[derive(Debug)]
pub struct Panics;

impl stagecraft_core::SecretsProvider for Panics {
    async fn sync(
        &self,
        _: stagecraft_core::SyncOptions,
    ) -> Result<stagecraft_core::SyncReport, stagecraft_core::SyncError> {
        let value = format!("{CANARY}é");
        let cut = value.len() - 1;
        Ok(stagecraft_core::SyncReport::new(&value[..cut], ""))
    }
}

stagecraft_core::provider_table!(Panics);

/// What a child run of this test binary does (see [`child`]).
const CHILD: &str = "ACME_LIBRARY_TEST_CHILD";

/// Runs the test `child` of this binary in a process of its own, doing `what`.
fn run_child(what: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env(CHILD, what)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// Does nothing in a normal test run; in a child, what [`CHILD`] says.
#[test]
fn child() {
    let Ok(what) = std::env::var(CHILD) else {
        return;
    };
    let app = stagecraft::App::new(&REGISTRY);
    match what.as_str() {
        "twice" => {
            for _ in 0..2 {
                assert_eq!(
                    app.run_from(["acme-secrets", "secrets", "providers"]),
                    ExitCode::SUCCESS
                );
            }
        }
        "signal-after-run" | "signal-after-run-without-handler" => {
            let app = app.signals(what == "signal-after-run");
            assert_eq!(
                app.run_from(["acme-secrets", "secrets", "providers"]),
                ExitCode::SUCCESS
            );
            let pid = std::process::id().to_string();
            Command::new("kill").args(["-TERM", &pid]).status().unwrap();
            std::thread::sleep(std::time::Duration::from_secs(10));
            panic!("still running after SIGTERM");
        }
        "readme" => {
            // README.md's block, compiled and run here.
            let code = stagecraft::App::new(&REGISTRY)
                .signals(false)
                .panic_hook(false)
                .logging(false)
                .run_from(["acme-secrets", "secrets", "providers", "--json"]);
            assert_eq!(code, ExitCode::SUCCESS);
        }
        "panic" | "panic-with-the-callers-hook" => {
            if what == "panic-with-the-callers-hook" {
                std::panic::set_hook(Box::new(|_| eprintln!("the caller's hook")));
            }
            let app = app.panic_hook(what == "panic");
            let sync = ["acme-secrets", "secrets", "sync", "--provider", "panics"];
            let code = app.run_from(
                sync.into_iter()
                    .chain(["--from", "a", "--to", "b", "--json"]),
            );
            assert_eq!(code, ExitCode::from(3));
        }
        _ => panic!("unknown child {what}"),
    }
}

#[test]
fn a_process_can_run_the_command_twice_and_each_run_prints_its_output() {
    let out = run_child("twice");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.matches("secret-dir  Writes each secret").count(),
        2,
        "{stdout}"
    );
}

#[cfg(unix)]
#[test]
fn the_signal_handler_is_the_callers_choice() {
    use std::os::unix::process::ExitStatusExt;
    let handled = run_child("signal-after-run");
    assert_eq!(handled.status.code(), Some(130));
    let stderr = String::from_utf8(handled.stderr).unwrap();
    assert!(stderr.contains("error: interrupted\n"), "{stderr}");

    let unhandled = run_child("signal-after-run-without-handler");
    assert_eq!(unhandled.status.signal(), Some(15), "{unhandled:?}");
}

#[test]
fn a_panic_returns_3_and_the_default_hook_withholds_the_value() {
    let out = run_child("panic");
    assert!(
        out.status.success(),
        "the child's run did not return 3: {out:?}"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stderr.contains("stagecraft panicked at examples/custom-binary/tests/library.rs:"),
        "{stderr}"
    );
    assert!(stderr.contains("is not a char boundary"), "{stderr}");
    assert!(stderr.contains("(text withheld)"), "{stderr}");
    assert!(
        stderr.contains("error: internal error (a bug in stagecraft)"),
        "{stderr}"
    );
    assert!(
        stdout.contains(r#""kind": "internal""#) || stdout.contains(r#""kind":"internal""#),
        "{stdout}"
    );
    assert!(
        !stderr.contains(CANARY) && !stdout.contains(CANARY),
        "{stderr}{stdout}"
    );

    let out = run_child("panic-with-the-callers-hook");
    assert!(
        out.status.success(),
        "the child's run did not return 3: {out:?}"
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("the caller's hook\n"), "{stderr}");
    assert!(!stderr.contains("stagecraft panicked"), "{stderr}");
}

#[test]
fn the_panic_hook_and_log_subscriber_are_the_callers_choice() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static CALLER_HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);
    std::panic::set_hook(Box::new(|_| {
        CALLER_HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
    }));
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.json");
    let schema_arg = schema.to_str().unwrap();
    let args = ["acme-secrets", "config", "schema", "--output", schema_arg];

    let code = stagecraft::App::new(&REGISTRY)
        .signals(false)
        .panic_hook(false)
        .logging(false)
        .run_from(args);
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(
        std::fs::read_to_string(&schema)
            .unwrap()
            .contains("\"secret-dir\"")
    );
    assert!(
        !tracing::dispatcher::has_been_set(),
        "logging(false) set a subscriber"
    );

    // The defaults set the subscriber, and put the caller's panic hook back after the run.
    let code = stagecraft::App::new(&REGISTRY)
        .signals(false)
        .run_from(args);
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(tracing::dispatcher::has_been_set());
    let _ = std::panic::catch_unwind(|| panic!("after the run"));
    assert_eq!(CALLER_HOOK_CALLS.load(Ordering::SeqCst), 1);
}

#[test]
fn the_readme_shows_the_options() {
    let out = run_child("readme");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(r#""id": "secret-dir""#), "{stdout}");
}

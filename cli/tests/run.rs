//! `stagecraft secrets run -- COMMAND`, end to end: the real binary replaces itself with a real
//! child (`sh`), from an env file and from a real OpenBao server (`support/bao.rs`). The child
//! checks its own environment; stagecraft's own output never holds a value (canaries).

#![cfg(unix)]

mod support;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::bao::{DevServer, ROOT_TOKEN};

const CANARY: &str = "canary-run-4e9b1d77c2";

/// A folder with `.env` holding `env`, where stagecraft runs.
fn project(env: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(".env"), env).unwrap();
    dir
}

fn stagecraft(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stagecraft"));
    command
        .arg("-vvv")
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("VAULT_ADDR")
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    command
}

/// Runs `stagecraft -vvv ARGS` and checks that no canary reached its stdout or stderr (the child
/// of these tests prints none either).
fn run(dir: &Path, args: &[&str]) -> Output {
    let output = stagecraft(dir, args).output().unwrap();
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains(CANARY), "a value was printed:\n{text}");
    }
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The files under `dir`, to show that a run wrote nothing.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_child_gets_the_keys_and_nothing_is_written() {
    let dir = project(&format!(
        "A={CANARY}\nexport B='{CANARY} $HOME ${{A}}'\nC=\"{CANARY}\\nline\"\nBARE\n"
    ));
    let before = listing(dir.path());
    let check = format!(
        r#"[ "$A" = "{CANARY}" ] && [ "$B" = '{CANARY} $HOME ${{A}}' ] && [ "$C" = "{CANARY}
line" ] && [ -z "${{BARE+set}}" ] && [ "$KEEP" = outer ]"#
    );
    let output = stagecraft(
        dir.path(),
        &["secrets", "run", "--from", ".env", "--", "sh", "-c"],
    )
    .arg(&check)
    .env("KEEP", "outer")
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
    assert!(!stderr(&output).contains(CANARY), "{}", stderr(&output));
    // The valueless key is named with its line, never its text.
    assert!(stderr(&output).contains("line=4"), "{}", stderr(&output));
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn exit_codes_are_the_childs() {
    let dir = project(&format!("A={CANARY}\n"));
    for (script, code) in [("exit 0", 0), ("exit 7", 7), ("exit 255", 255)] {
        let output = run(
            dir.path(),
            &["secrets", "run", "--from", ".env", "--", "sh", "-c", script],
        );
        assert_eq!(
            output.status.code(),
            Some(code),
            "{script}: {}",
            stderr(&output)
        );
    }
    // Killed by a signal: stagecraft's process is the child's, so it is killed by it too (a
    // shell reports 128 + 9).
    let output = run(
        dir.path(),
        &[
            "secrets",
            "run",
            "--from",
            ".env",
            "--",
            "sh",
            "-c",
            "kill -KILL $$",
        ],
    );
    assert_eq!(output.status.signal(), Some(9), "{output:?}");
    let output = run(
        dir.path(),
        &[
            "secrets",
            "run",
            "--from",
            ".env",
            "--",
            "sh",
            "-c",
            "kill -KILL $$; exit 3",
        ],
    );
    assert_eq!(output.status.code(), None);
}

#[test]
fn a_missing_command_is_127_and_one_that_cannot_run_126() {
    let dir = project(&format!("A={CANARY}\n"));
    let output = run(
        dir.path(),
        &[
            "secrets",
            "run",
            "--from",
            ".env",
            "--",
            "no-such-command-xyz",
            "arg",
        ],
    );
    assert_eq!(output.status.code(), Some(127));
    assert_eq!(
        stderr(&output).lines().last().unwrap(),
        "error: no-such-command-xyz: command not found"
    );
    fs::write(dir.path().join("script.sh"), "#!/bin/sh\nexit 0\n").unwrap();
    let output = run(
        dir.path(),
        &["secrets", "run", "--from", ".env", "--", "./script.sh"],
    );
    assert_eq!(output.status.code(), Some(126));
    assert!(
        stderr(&output).contains("error: ./script.sh: cannot execute: Permission denied"),
        "{}",
        stderr(&output)
    );
    fs::create_dir(dir.path().join("folder")).unwrap();
    let output = run(
        dir.path(),
        &["secrets", "run", "--from", ".env", "--", "./folder"],
    );
    assert_eq!(output.status.code(), Some(126), "{}", stderr(&output));
    fs::set_permissions(
        dir.path().join("script.sh"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let output = run(
        dir.path(),
        &["secrets", "run", "--from", ".env", "--", "./script.sh"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn sigterm_to_stagecraft_reaches_the_child_which_is_the_same_process() {
    let dir = project(&format!("A={CANARY}\n"));
    let mut child = stagecraft(
        dir.path(),
        &[
            "secrets",
            "run",
            "--from",
            ".env",
            "--",
            "sh",
            "-c",
            "trap 'exit 42' TERM; echo $$; while :; do sleep 0.05; done",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // The shell's own PID is stagecraft's: there is no parent in between to forward signals.
    assert_eq!(line.trim(), child.id().to_string());
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the child did not end on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(42));
}

#[test]
fn a_closed_pipe_ends_the_child_as_it_would_end_it_started_directly() {
    // Rust ignores SIGPIPE in its own process; the child gets the default back, so `yes` ends
    // when its reader goes away (instead of failing on each write).
    let dir = project(&format!("A={CANARY}\n"));
    let mut child = stagecraft(
        dir.path(),
        &["secrets", "run", "--from", ".env", "--", "yes"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    out.read_line(&mut line).unwrap();
    drop(out);
    assert_eq!(child.wait().unwrap().signal(), Some(13));
}

#[test]
fn the_environment_wins_unless_override_and_dollar_is_literal_unless_expand() {
    let dir = project(&format!("A={CANARY}\nURL=db://${{A}}/${{NAME:-app}}\n"));
    let output = |flags: &[&str], script: &str| {
        let mut args = vec!["secrets", "run", "--from", ".env"];
        args.extend(flags);
        args.extend(["--", "sh", "-c", script]);
        stagecraft(dir.path(), &args)
            .env("A", "outer")
            .output()
            .unwrap()
    };
    let cases: [(&[&str], &str); 4] = [
        (
            &[],
            r#"[ "$A" = outer ] && [ "$URL" = 'db://${A}/${NAME:-app}' ]"#,
        ),
        (
            &["--override"],
            &format!(r#"[ "$A" = {CANARY} ] && [ "$URL" = 'db://${{A}}/${{NAME:-app}}' ]"#),
        ),
        (
            &["--expand"],
            r#"[ "$A" = outer ] && [ "$URL" = db://outer/app ]"#,
        ),
        (
            &["--expand", "--override"],
            &format!(r#"[ "$A" = {CANARY} ] && [ "$URL" = db://{CANARY}/app ]"#),
        ),
    ];
    for (flags, script) in cases {
        let out = output(flags, script);
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {}", stderr(&out));
    }
}

#[test]
fn five_thousand_keys() {
    let env: String = (0..5_000)
        .map(|i| format!("KEY_{i:04}={CANARY}-{}\n", "v".repeat(100)))
        .collect();
    let dir = project(&env);
    let output = run(
        dir.path(),
        &[
            "secrets",
            "run",
            "--from",
            ".env",
            "--",
            "sh",
            "-c",
            r#"env | grep -c '^KEY_'; [ "$KEY_4999" = "$KEY_0000" ]"#,
        ],
    );
    // The child's own output: the count, not a value.
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "5000\n",
        "{}",
        stderr(&output)
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn keys_and_unreadable_sources_fail_before_the_command_runs() {
    let dir = project(&format!("A={CANARY}\nB=2\n"));
    let marker = dir.path().join("ran");
    let touch = format!("touch {}", marker.display());
    for (args, code, message) in [
        (
            vec!["--from", ".env", "--keys", "B,MISSING"],
            1,
            "error: .env does not define MISSING",
        ),
        (
            vec!["--from", "nope.env"],
            1,
            "error: nope.env does not exist",
        ),
        (
            vec!["--from", "encore:secrets"],
            1,
            "encore:secrets cannot be read",
        ),
        (vec![], 1, "error: no stagecraft.yml in"),
        (vec!["--from", ""], 1, "error: --from is empty"),
    ] {
        let mut full = vec!["secrets", "run"];
        full.extend(args.iter().copied());
        full.extend(["--", "sh", "-c", &touch]);
        let output = run(dir.path(), &full);
        assert_eq!(
            output.status.code(),
            Some(code),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!marker.exists(), "{args:?} ran the command");
    }
    // A FIFO is refused, not waited on (a writer could hand it anything, or nothing).
    let fifo = dir.path().join("fifo.env");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let output = run(
        dir.path(),
        &[
            "secrets", "run", "--from", "fifo.env", "--", "sh", "-c", &touch,
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(!marker.exists());
    // --keys picks keys; the others are not set.
    let output = run(
        dir.path(),
        &[
            "secrets",
            "run",
            "--from",
            ".env",
            "--keys",
            "B",
            "--",
            "sh",
            "-c",
            r#"[ -z "${A+set}" ] && [ "$B" = 2 ]"#,
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

/// A project for the vault provider against `server`, its environment `staging` holding `fields`.
fn vault_project(server: &DevServer, fields: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("stagecraft.yml"),
        format!(
            "secrets:\n  provider: vault\n  providers:\n    vault:\n      address: {}\n      path: myapp\n      timeout: 5s\n      source: vault:staging\n",
            server.address
        ),
    )
    .unwrap();
    let mut args = vec!["kv", "put", "-mount=secret", "myapp/staging"];
    args.extend(fields);
    server.cli(&args);
    dir
}

#[test]
fn from_a_real_openbao_server() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let a = format!("A={CANARY}");
    let dir = vault_project(&server, &[&a, "B=two words"]);
    let check = format!(r#"[ "$A" = {CANARY} ] && [ "$B" = 'two words' ] && exit 7"#);
    for from in [&["--from", "vault:staging"][..], &[]] {
        let mut args = vec!["secrets", "run"];
        args.extend(from);
        args.extend(["--", "sh", "-c", &check]);
        let output = stagecraft(dir.path(), &args)
            .env("VAULT_TOKEN", ROOT_TOKEN)
            .output()
            .unwrap();
        assert!(!stderr(&output).contains(CANARY));
        assert_eq!(
            output.status.code(),
            Some(7),
            "{from:?}: {}",
            stderr(&output)
        );
    }
    // The child holds no descriptor of stagecraft's (the connection to the server, the
    // signal pipe): its open files are those of the same command started directly.
    let fds = "ls /proc/$$/fd";
    let direct = Command::new("sh")
        .args(["-c", fds])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let output = stagecraft(dir.path(), &["secrets", "run", "--", "sh", "-c", fds])
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .output()
        .unwrap();
    assert_eq!(text(&output.stdout), text(&direct.stdout));
    // An environment that does not exist, or a bad token: the source's error and exit code,
    // and the command never runs.
    let output = stagecraft(
        dir.path(),
        &["secrets", "run", "--from", "vault:prod", "--", "true"],
    )
    .env("VAULT_TOKEN", ROOT_TOKEN)
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("vault:prod does not exist"),
        "{}",
        stderr(&output)
    );
    let output = stagecraft(dir.path(), &["secrets", "run", "--", "true"])
        .env("VAULT_TOKEN", "not-the-token")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn names_and_values_an_environment_cannot_hold_are_refused_by_key() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let dir = vault_project(&server, &["OK=1"]);
    let marker = dir.path().join("ran");
    let touch = format!("touch {}", marker.display());
    // `bao kv put` splits at the first `=`; JSON takes any field name and value.
    for (json, message) in [
        (
            format!(r#"{{"OK": "1", "A=B": "{CANARY}"}}"#),
            r#"vault:bad: the key "A=B" cannot be an environment variable's name (it holds `=`)"#,
        ),
        (
            format!(r#"{{"TOKEN": "{CANARY}\u0000x"}}"#),
            "vault:bad: the value of TOKEN holds a NUL character",
        ),
    ] {
        let file = dir.path().join("bad.json");
        fs::write(&file, json).unwrap();
        server.cli(&[
            "kv",
            "put",
            "-mount=secret",
            "myapp/bad",
            &format!("@{}", file.display()),
        ]);
        let output = stagecraft(
            dir.path(),
            &[
                "secrets",
                "run",
                "--from",
                "vault:bad",
                "--",
                "sh",
                "-c",
                &touch,
            ],
        )
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .output()
        .unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(stderr(&output).contains(message), "{}", stderr(&output));
        assert!(!stderr(&output).contains(CANARY));
        assert!(!marker.exists());
    }
}

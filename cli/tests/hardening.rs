//! The `stagecraft` binary against a hostile user: values in broken configs, escape sequences in
//! keys, a full or closed stdout, signals while a sync is stuck, `--json` on every failure and
//! `--check` for CI. Every command runs twice, plainly (whose output is asserted) and at `-vvv`
//! with `RUST_LOG=trace`; both runs are checked for the canary on stdout and stderr.

use std::fs;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const CANARY: &str = "canary-9f86d081884c7d65";
const CONFIG: &str = "secrets:\n  provider: envfile\n  providers:\n    envfile:\n      source_file: .env.local\n      target_file: .env.staging\n";
const FULL: &str = "error: cannot write to stdout: No space left on device (os error 28)\n";

struct Project(tempfile::TempDir);

impl Project {
    /// A config and a source whose values are the canary.
    fn new() -> Self {
        let project = Project(tempfile::tempdir().unwrap());
        project.write("stagecraft.yml", CONFIG);
        project.write(".env.local", format!("A={CANARY}\nB='{CANARY}'\n"));
        project
    }

    fn write(&self, name: &str, text: impl AsRef<[u8]>) {
        fs::write(self.0.path().join(name), text).unwrap();
    }

    fn read(&self, name: &str) -> Option<String> {
        fs::read_to_string(self.0.path().join(name)).ok()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stagecraft"));
        command
            .args(args)
            .current_dir(self.0.path())
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        command
    }

    /// Runs `args` plainly and at `-vvv`, with stdout as `stdout` makes it; returns the plain run.
    fn run_to(&self, args: &[&str], stdout: impl Fn() -> Stdio) -> Run {
        let plain = Run(self.command(args).stdout(stdout()).output().unwrap());
        let verbose = Run(self
            .command(&[&["-vvv"], args].concat())
            .env("RUST_LOG", "trace")
            .stdout(stdout())
            .output()
            .unwrap());
        for run in [&plain, &verbose] {
            run.has_no_canary();
        }
        assert_eq!(plain.code(), verbose.code(), "{}", verbose.stderr());
        plain
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_to(args, Stdio::piped)
    }
}

struct Run(Output);

impl Run {
    fn code(&self) -> i32 {
        self.0
            .status
            .code()
            .expect("exited, not killed by a signal")
    }

    fn stdout(&self) -> String {
        String::from_utf8(self.0.stdout.clone()).unwrap()
    }

    fn stderr(&self) -> String {
        String::from_utf8(self.0.stderr.clone()).unwrap()
    }

    #[track_caller]
    fn has_no_canary(&self) {
        for (name, text) in [("stdout", self.stdout()), ("stderr", self.stderr())] {
            assert!(!text.contains(CANARY), "{name} leaked a value: {text}");
        }
    }

    #[track_caller]
    fn fails(&self, code: i32, stderr: &str) {
        assert_eq!(
            (self.code(), self.stderr().as_str()),
            (code, stderr),
            "stdout: {}",
            self.stdout()
        );
    }

    /// stdout is exactly one JSON document.
    #[track_caller]
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout())
            .unwrap_or_else(|e| panic!("not one JSON document ({e}): {}", self.stdout()))
    }
}

/// `config validate` and `secrets sync` with this config fail with exactly `message`, which never
/// quotes the canary, and `--json` puts it in an error document.
#[track_caller]
fn config_fails(yaml: impl AsRef<[u8]>, message: &str) {
    let project = Project::new();
    project.write("stagecraft.yml", yaml);
    project
        .run(&["config", "validate"])
        .fails(1, &format!("error: {message}\n"));
    let run = project.run(&["secrets", "sync", "--json"]);
    run.fails(1, &format!("error: {message}\n"));
    assert_eq!(
        run.json(),
        serde_json::json!({"error": {"kind": "config", "message": message, "causes": [], "exit_code": 1}})
    );
    assert_eq!(project.read(".env.staging"), None);
}

#[test]
fn tagged_values_are_never_quoted_in_any_section() {
    for (tag, expected) in [
        ("!!float", "a float"),
        ("!!int", "an integer"),
        ("!!bool", "a boolean"),
        ("!!null", "null"),
    ] {
        config_fails(
            format!("project:\n  api_token: {tag} {CANARY}\n{CONFIG}"),
            &format!(
                "stagecraft.yml:2:14: project.api_token: invalid value: string, expected {expected}"
            ),
        );
        config_fails(
            CONFIG.replace(
                "target_file: .env.staging",
                &format!("token: {tag} \"{CANARY}\""),
            ),
            &format!(
                "stagecraft.yml:6:14: secrets.providers.envfile.token: invalid value: string, expected {expected}"
            ),
        );
    }
    // A value dressed as the end of serde's message.
    config_fails(
        format!("x:\n  - !!int \"{CANARY}, expected y at line 1 column 1\"\n{CONFIG}"),
        "stagecraft.yml:2:5: x[0]: invalid value: string, expected an integer",
    );
}

#[test]
fn values_of_the_wrong_type_are_described_not_quoted() {
    config_fails(
        CONFIG.replace(".env.local", &format!("{{{CANARY}: 1}}")),
        "stagecraft.yml:5:20: secrets.providers.envfile.source_file: invalid type: map, expected a path",
    );
    config_fails(
        CONFIG.replace("provider: envfile", &format!("provider: [{CANARY}]")),
        "stagecraft.yml:2:13: secrets.provider: expected a provider ID such as `envfile`",
    );
}

#[test]
fn duplicate_keys_are_reported_at_the_duplicate() {
    config_fails(
        format!("{CONFIG}      source_file: {CANARY}\n"),
        "stagecraft.yml:7:7: secrets.providers.envfile.source_file: duplicate key `source_file`",
    );
    config_fails(
        format!("secrets: {{}}\nproject: {CANARY}\nsecrets: {{}}\n"),
        "stagecraft.yml:3:1: secrets: duplicate key `secrets`",
    );
}

#[test]
fn config_encodings_other_than_utf8_get_a_position() {
    let utf16: Vec<u8> = "\u{feff}secrets: {}\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    config_fails(
        &utf16,
        "stagecraft.yml:1:1: the file is UTF-16; save it as UTF-8",
    );
    config_fails(
        &utf16[2..],
        "stagecraft.yml:1:2: NUL character: is the file UTF-16? save it as UTF-8",
    );
    let mut latin1 = format!("{CONFIG}project:\n  name: caf").into_bytes();
    latin1.extend(b"\xe9 ");
    latin1.extend(CANARY.as_bytes());
    config_fails(
        &latin1,
        "stagecraft.yml:8:12: invalid UTF-8; save the file as UTF-8",
    );
}

#[test]
fn oversized_deep_and_exploding_configs_are_refused() {
    config_fails(
        format!("{CONFIG}padding: '{}'\n", "x".repeat(1 << 20)),
        "config file stagecraft.yml is larger than 1 MiB; refusing to parse it",
    );
    // 200 KB of nested flow maps took serde_yaml about 20 s.
    config_fails(
        format!("{CONFIG}x: {}\n", "{a: ".repeat(50_000)),
        "stagecraft.yml:7:516: collections nested deeper than 128 levels",
    );
    let mut laughs = format!("{CONFIG}a: &a [\"{CANARY}\", \"{CANARY}\", \"{CANARY}\"]\n");
    for (from, to) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let refs = vec![format!("*{from}"); 9].join(", ");
        laughs.push_str(&format!("{to}: &{to} [{refs}]\n"));
    }
    config_fails(
        &laughs,
        "stagecraft.yml:7:35: e[2][3][3][4][1]: more values once aliases are expanded than the file's size allows (an alias bomb?)",
    );
}

#[test]
fn control_characters_in_keys_are_escaped_and_columns_capped() {
    let project = Project::new();
    let long = "L".repeat(100_000);
    project.write(
        ".env.local",
        format!("K\x1b[2JX={CANARY}\n'Q\x1b]0;pwned\x07\u{202e}'={CANARY}\n{long}=1\nS=2\n"),
    );
    let run = project.run(&["secrets", "sync", "--dry-run"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let pad = |key: &str| " ".repeat(40 - key.chars().count());
    let stdout = run.stdout();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[1],
        format!("  + K\\u{{1b}}[2JX{}  added", pad("K\\u{1b}[2JX"))
    );
    assert_eq!(
        lines[2],
        format!(
            "  + Q\\u{{1b}}]0;pwned\\u{{7}}\\u{{202e}}{}  added",
            pad("Q\\u{1b}]0;pwned\\u{7}\\u{202e}")
        )
    );
    assert_eq!(lines[3], format!("  + {long}  added"));
    assert_eq!(lines[4], format!("  + S{}  added", pad("S")));
    assert!(!stdout.contains('\x1b') && !stdout.contains('\x07'));
}

#[test]
fn a_full_stdout_exits_2_with_one_line() {
    let project = Project::new();
    let full = || Stdio::from(fs::File::create("/dev/full").unwrap());
    for args in [
        &["secrets", "providers"][..],
        &["secrets", "providers", "--json"],
        &["config", "validate"],
        &["secrets", "sync", "--dry-run"],
        &["secrets", "sync", "--json"],
        &["--help"],
    ] {
        project.run_to(args, full).fails(2, FULL);
    }
    // The sync itself was done before its report could not be printed.
    assert!(project.read(".env.staging").unwrap().contains(CANARY));
    // A command that failed otherwise keeps its own exit code and says why too.
    project.write(".env.local", "NEW=1\n");
    project.run_to(&["secrets", "sync", "--check"], full).fails(
        4,
        &format!(
            "{FULL}error: .env.staging is not in sync with .env.local: 1 of 1 keys would change\n"
        ),
    );
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let project = Project::new();
    let closed = || {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        Stdio::from(writer)
    };
    for args in [
        &["secrets", "providers"][..],
        &["secrets", "providers", "--json"],
        &["config", "validate"],
        &["secrets", "sync", "--json"],
    ] {
        project.run_to(args, closed).fails(0, "");
    }
    // The exit code still says what happened.
    project.write(".env.local", "NEW=1\n");
    let run = project.run_to(&["secrets", "sync", "--check"], closed);
    assert_eq!(run.code(), 4, "{}", run.stderr());
}

#[test]
fn json_failures_are_one_document_with_the_same_exit_code() {
    let project = Project::new();
    let cases: [(&[&str], i32, &str, &str); 5] = [
        (
            &["secrets", "sync", "--json", "--keys", "NOPE"],
            1,
            "input",
            ".env.local does not define NOPE",
        ),
        (
            &["secrets", "sync", "--json", "--to", ""],
            1,
            "input",
            "--to is empty",
        ),
        (
            &["secrets", "sync", "--json", "--bogus"],
            1,
            "usage",
            "unexpected argument '--bogus' found",
        ),
        (
            &["--config", "nope.yml", "secrets", "sync", "--json"],
            1,
            "config",
            "config file nope.yml not found",
        ),
        (
            &["secrets", "providers", "--json", "--bogus"],
            1,
            "usage",
            "unexpected argument '--bogus' found",
        ),
    ];
    for (args, code, kind, message) in cases {
        let run = project.run(args);
        assert_eq!(run.code(), code, "{args:?}: {}", run.stderr());
        assert_eq!(
            run.json(),
            serde_json::json!({"error": {"kind": kind, "message": message, "causes": [], "exit_code": code}}),
            "{args:?}"
        );
        let without: Vec<&str> = args.iter().copied().filter(|a| *a != "--json").collect();
        let plain = project.run(&without);
        assert_eq!(
            (plain.code(), plain.stdout()),
            (code, String::new()),
            "{without:?}"
        );
    }
    let run = project.run(&[
        "secrets",
        "sync",
        "--json",
        "--to",
        "/sys/kernel/stagecraft.env",
    ]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let doc = run.json();
    assert_eq!(doc["error"]["kind"], "external");
    assert_eq!(doc["error"]["exit_code"], 2);
    assert_eq!(
        doc["error"]["message"],
        "cannot write /sys/kernel/stagecraft.env"
    );
    assert_eq!(doc["error"]["causes"].as_array().unwrap().len(), 1);
}

#[test]
fn check_exits_4_when_the_target_is_out_of_sync() {
    let project = Project::new();
    let run = project.run(&["secrets", "sync", "--check"]);
    run.fails(
        4,
        "error: .env.staging is not in sync with .env.local: 2 of 2 keys would change\n",
    );
    assert_eq!(
        run.stdout(),
        "Plan (envfile): .env.local -> .env.staging\n  + A  added\n  + B  added\n2 added, 0 changed, 0 unchanged, 0 removed; dry run: nothing was written.\n"
    );
    assert_eq!(project.read(".env.staging"), None, "--check writes nothing");

    let run = project.run(&["secrets", "sync", "--check", "--json"]);
    assert_eq!(run.code(), 4);
    let plan = run.json();
    assert_eq!(
        (&plan["dry_run"], &plan["summary"]["added"]),
        (&true.into(), &2.into())
    );

    assert_eq!(project.run(&["secrets", "sync"]).code(), 0);
    let run = project.run(&["secrets", "sync", "--check", "--json"]);
    assert_eq!((run.code(), run.stderr()), (0, String::new()));
    assert_eq!(run.json()["summary"]["unchanged"], 2);

    // A key only the target has is drift only when pruning.
    project.write(
        ".env.staging",
        format!("A={CANARY}\nB='{CANARY}'\nSTALE=1\n"),
    );
    assert_eq!(project.run(&["secrets", "sync", "--check"]).code(), 0);
    project
        .run(&["secrets", "sync", "--check", "--prune"])
        .fails(
            4,
            "error: .env.staging is not in sync with .env.local: 1 of 3 keys would change\n",
        );
}

#[test]
fn missing_and_empty_flags_are_named() {
    let project = Project::new();
    fs::remove_file(project.0.path().join("stagecraft.yml")).unwrap();
    project.run(&["secrets", "sync", "--from", ".env.local"]).fails(
        1,
        "error: missing --provider and --to: without a config file (no stagecraft.yml here or in a parent directory), --provider, --from and --to are all needed\n",
    );
    project
        .run(&["secrets", "sync", "--provider", "envfile", "--from", ".env.local"])
        .fails(
            1,
            "error: missing --to: without a config file (no stagecraft.yml here or in a parent directory), --provider, --from and --to are all needed\n",
        );
    for flag in ["--to", "--from", "--provider"] {
        Project::new()
            .run(&["secrets", "sync", flag, ""])
            .fails(1, &format!("error: {flag} is empty\n"));
    }
}

/// Whether `pid` has installed handlers for SIGHUP, SIGINT and SIGTERM (Linux's `SigCgt`).
fn catches_signals(pid: u32) -> bool {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let caught = status
        .lines()
        .find_map(|line| line.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .unwrap_or(0);
    // Bit N-1 stands for signal N: SIGHUP 1, SIGINT 2, SIGTERM 15.
    let wanted = 1 | (1 << 1) | (1 << 14);
    caught & wanted == wanted
}

/// Waits for `child` to exit, failing the test after a generous bound.
fn exit_of(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the signal did not end the process");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// Sends `signal` to a command that blocks for ever opening a FIFO nobody writes.
fn interrupt_stuck(project: &Project, args: &[&str], signal: &str) -> Run {
    let mut child = project
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !catches_signals(child.id()) {
        assert!(
            Instant::now() < deadline,
            "the signal handlers were never installed"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "exited before the signal"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    Run(exit_of(child))
}

/// A sync stuck reading its config from a FIFO nobody writes stops at once on each signal. (A
/// FIFO as the env file source is refused before it is opened, so the config is the FIFO here.)
#[test]
fn a_stuck_sync_stops_at_once_on_a_signal() {
    let project = Project::new();
    let fifo = project.0.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let sync = ["--config", "fifo", "secrets", "sync"];
    for signal in ["INT", "TERM", "HUP"] {
        interrupt_stuck(&project, &sync, signal).fails(130, "error: interrupted\n");
        let run = interrupt_stuck(&project, &[&sync[..], &["--json"]].concat(), signal);
        run.fails(130, "error: interrupted\n");
        assert_eq!(
            run.json(),
            serde_json::json!({"error": {"kind": "interrupted", "message": "interrupted", "causes": [], "exit_code": 130}})
        );
    }
    assert_eq!(project.read(".env.staging"), None);
}

/// A line whose value is only `=` signs (`c2VjcmV0…==`: a secret pasted with its base64 padding
/// reads as a key with the value `=`) is never printed, from the source or the target: not in
/// the plan, with `--json`, or as removed by `--prune`; it is not synced and `--prune` leaves it.
#[test]
fn a_pasted_secret_ending_in_padding_is_never_printed() {
    let project = Project::new();
    project.write(".env.local", format!("A=1\n{CANARY}==\n"));
    project.write(
        ".env.staging",
        format!("{CANARY}x==\nOLD=1\n{CANARY}y===\n"),
    );
    for args in [
        &["secrets", "sync", "--prune", "--dry-run"][..],
        &["secrets", "sync", "--prune", "--dry-run", "--json"],
        &["secrets", "sync", "--prune", "--json"],
    ] {
        let run = project.run(args);
        assert_eq!(run.code(), 0, "{}", run.stderr());
    }
    // Restore the target the previous run pruned and wrote; the plain plan too.
    project.write(
        ".env.staging",
        format!("{CANARY}x==\nOLD=1\n{CANARY}y===\n"),
    );
    let run = project.run(&["secrets", "sync", "--prune"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.stdout().contains("OLD"), "{}", run.stdout());
    assert_eq!(
        project.read(".env.staging").unwrap(),
        format!("{CANARY}x==\n{CANARY}y===\nA=1\n"),
        "the pasted line stays, the pasted source line is not synced"
    );
    assert_eq!(
        project
            .run(&["secrets", "sync", "--prune", "--check"])
            .code(),
        0
    );
}

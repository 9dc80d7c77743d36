//! The `stagecraft` binary against the file system: the exit-code rule (a path the user named
//! that does not exist is 1; any other file-system error is 2), files created whatever the
//! umask, temporary copies of the secrets after a kill, and skipped lines that are never echoed.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const CANARY: &str = "canary-0d1c7e55a9b3";

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        let dir = Dir(tempfile::tempdir().unwrap());
        dir.write("src.env", &format!("API_KEY={CANARY}\n"));
        dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, text).unwrap();
        path
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(self.0.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// `stagecraft secrets sync --provider envfile --from FROM --to TO`, at `-vvv`, in this
    /// directory.
    fn sync(&self, from: &str, to: &str) -> Output {
        self.command(from, to).output().unwrap()
    }

    fn command(&self, from: &str, to: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stagecraft"));
        command
            .args(["-vvv", "secrets", "sync", "--provider", "envfile"])
            .args(["--from", from, "--to", to])
            .current_dir(self.0.path())
            .env("RUST_LOG", "trace")
            .env("NO_COLOR", "1");
        command
    }
}

/// Checks the exit code and the error line, and that no value reached the output.
#[track_caller]
fn fails(output: &Output, code: i32, error: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    assert!(
        stderr.lines().any(|line| line == format!("error: {error}")),
        "expected `error: {error}` in {stderr}"
    );
    assert!(!stderr.contains(CANARY), "{stderr}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(CANARY));
}

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[test]
fn a_path_that_does_not_exist_is_1() {
    let dir = Dir::new();
    fails(
        &dir.sync("missing.env", "t.env"),
        1,
        "missing.env does not exist",
    );
    fails(
        &dir.sync("src.env", "no/such/dir/t.env"),
        1,
        "cannot create no/such/dir/t.env: directory no/such/dir does not exist",
    );
    std::os::unix::fs::symlink("gone.env", dir.path("link.env")).unwrap();
    fails(
        &dir.sync("src.env", "link.env"),
        1,
        "link.env is a symbolic link to gone.env, which does not exist",
    );
    fails(
        &dir.sync("link.env", "t.env"),
        1,
        "link.env is a symbolic link to gone.env, which does not exist",
    );
    assert_eq!(dir.names(), ["link.env", "src.env"], "nothing was created");
}

#[test]
fn any_other_file_system_error_is_2() {
    let dir = Dir::new();
    // A loop of symbolic links (ELOOP).
    std::os::unix::fs::symlink("loop.env", dir.path("loop.env")).unwrap();
    fails(&dir.sync("loop.env", "t.env"), 2, "cannot read loop.env");
    fails(&dir.sync("src.env", "loop.env"), 2, "cannot write loop.env");
    // A FIFO, as source (which would wait for a writer forever) and as target.
    assert!(
        Command::new("mkfifo")
            .arg(dir.path("fifo"))
            .status()
            .unwrap()
            .success()
    );
    fails(
        &dir.sync("fifo", "t.env"),
        2,
        "fifo is a FIFO, not a regular file",
    );
    fails(
        &dir.sync("src.env", "fifo"),
        2,
        "fifo is a FIFO, not a regular file",
    );
    // A device: /dev/zero as a source would never end; /dev/null as a target (as root) would be
    // replaced by a file holding the secrets.
    fails(
        &dir.sync("/dev/zero", "t.env"),
        2,
        "/dev/zero is a character device, not a regular file",
    );
    fails(
        &dir.sync("src.env", "/dev/null"),
        2,
        "/dev/null is a character device, not a regular file",
    );
    assert!(!fs::metadata("/dev/null").unwrap().is_file());
    // A directory.
    fs::create_dir(dir.path("a-dir")).unwrap();
    fails(
        &dir.sync("a-dir", "t.env"),
        2,
        "a-dir is a directory, not a file",
    );
    assert_eq!(
        dir.names(),
        ["a-dir", "fifo", "loop.env", "src.env"],
        "nothing was created"
    );
}

#[test]
fn permission_denied_is_2() {
    let dir = Dir::new();
    fs::set_permissions(dir.0.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let secret = dir.write("secret.env", "A=1\n");
    fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
    let locked = dir.path("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
    let run = |from: &str, to: &str| {
        let mut command = dir.command(from, to);
        if is_root() {
            // Root reads anything: run as nobody to meet EACCES.
            use std::os::unix::process::CommandExt;
            command.uid(65534).gid(65534);
        } else {
            fs::set_permissions(&secret, fs::Permissions::from_mode(0o000)).unwrap();
        }
        command.output().unwrap()
    };
    fails(
        &run("secret.env", "locked/t.env"),
        2,
        "cannot read secret.env",
    );
    fails(
        &run("src.env", "locked/t.env"),
        2,
        "cannot write locked/t.env",
    );
    assert_eq!(fs::read_dir(&locked).unwrap().count(), 0);
}

#[test]
fn a_new_target_is_0600_whatever_the_umask() {
    let dir = Dir::new();
    for (umask, name) in [("277", "a.env"), ("000", "b.env"), ("077", "c.env")] {
        let status = Command::new("sh")
            .args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\"")])
            .arg(env!("CARGO_BIN_EXE_stagecraft"))
            .args([
                "secrets",
                "sync",
                "--provider",
                "envfile",
                "--from",
                "src.env",
            ])
            .args(["--to", name])
            .current_dir(dir.0.path())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let mode = fs::metadata(dir.path(name)).unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o600, "umask {umask}");
    }
    // The next sync accepts what the first one created.
    dir.write("src.env", "API_KEY=other\n");
    assert!(dir.sync("src.env", "a.env").status.success());
}

#[test]
fn skipped_lines_are_named_by_file_and_line_only() {
    let dir = Dir::new();
    dir.write("src.env", &format!("A=1\n{CANARY}\nB=2\nB\n"));
    let output = dir.sync("src.env", "t.env");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains(CANARY), "{stderr}");
    assert!(stderr.contains("line=2"), "{stderr}");
    assert!(stderr.contains("line=4"), "{stderr}");
    assert_eq!(fs::read_to_string(dir.path("t.env")).unwrap(), "A=1\n");
    // A file that is not an env file at all: its text is never shown.
    let hostname = Path::new("/etc/hostname");
    if let Ok(text) = fs::read_to_string(hostname)
        && let Some(word) = text.split_whitespace().find(|w| w.len() > 3)
    {
        let output = dir.sync("/etc/hostname", "h.env");
        assert!(!String::from_utf8_lossy(&output.stderr).contains(word));
        assert!(!String::from_utf8_lossy(&output.stdout).contains(word));
    }
}

/// SIGKILL cannot be held: a sync killed while its temporary file exists leaves it behind, but
/// only ever readable by its owner alone, and the next sync of that target removes it.
#[test]
fn a_killed_sync_leaves_only_private_temporary_files_and_the_next_sync_removes_them() {
    let dir = Dir::new();
    let mut source = String::new();
    for i in 0..100_000 {
        source.push_str(&format!("KEY_{i}='{CANARY} {i} padding padding padding'\n"));
    }
    dir.write("big.env", &source);
    let mut left = 0;
    for _ in 0..10 {
        dir.write("t.env", "OLD=1\n");
        fs::set_permissions(dir.path("t.env"), fs::Permissions::from_mode(0o644)).unwrap();
        let mut child = dir
            .command("big.env", "t.env")
            .env_remove("RUST_LOG")
            .arg("--json")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill it as soon as its temporary file appears.
        let temporary = || dir.names().into_iter().find(|n| n.ends_with(".tmp"));
        while temporary().is_none() && child.try_wait().unwrap().is_none() {}
        child.kill().unwrap();
        child.wait().unwrap();
        if let Some(name) = temporary() {
            left += 1;
            let mode = fs::metadata(dir.path(&name)).unwrap().mode() & 0o777;
            assert_eq!(mode, 0o600, "{name} is readable by others");
        }
    }
    assert!(
        left > 0,
        "some kill landed while the temporary file existed"
    );
    dir.write("small.env", "OLD=2\n");
    assert!(dir.sync("small.env", "t.env").status.success());
    assert_eq!(
        dir.names(),
        ["big.env", "small.env", "src.env", "t.env"],
        "the next sync removed the temporary files that killed syncs left"
    );
}

/// Two syncs into one target at once: the second waits for the first (the target's directory is
/// locked), so neither loses the other's keys, and no lock file is left.
#[test]
fn concurrent_syncs_into_one_target_keep_both_sides_keys() {
    let dir = Dir::new();
    let (mut left, mut right) = (String::new(), String::new());
    for i in 0..3_000 {
        left.push_str(&format!("LEFT_{i}={CANARY}\n"));
        right.push_str(&format!("RIGHT_{i}={CANARY}\n"));
    }
    dir.write("left.env", &left);
    dir.write("right.env", &right);
    for round in 0..10 {
        dir.write("t.env", "");
        let children = ["left.env", "right.env"].map(|from| {
            dir.command(from, "t.env")
                .env_remove("RUST_LOG")
                .arg("--json")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        });
        for mut child in children {
            assert!(child.wait().unwrap().success(), "round {round}");
        }
        let lines = fs::read_to_string(dir.path("t.env"))
            .unwrap()
            .lines()
            .count();
        assert_eq!(lines, 6_000, "round {round}: a sync lost the other's keys");
    }
    assert_eq!(dir.names(), ["left.env", "right.env", "src.env", "t.env"]);
}

/// Waits for `child`, failing the test after a generous bound instead of hanging.
fn exit_of(mut child: std::process::Child) -> Output {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the sync is still running");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

/// The source is read and parsed while the target is locked and read, but the source's errors
/// (missing, a bad line, a key it lacks) still come first: at once while another sync holds
/// the target's lock, and before the errors of a target that cannot be written. Nothing is
/// written.
#[test]
fn source_errors_come_first_and_at_once_while_the_target_is_locked() {
    let dir = Dir::new();
    dir.write("bad.env", &format!("OK=1\nA=\"{CANARY}\n"));
    dir.write("t.env", "OLD=1\n");
    assert!(
        Command::new("mkfifo")
            .arg(dir.path("fifo.env"))
            .status()
            .unwrap()
            .success()
    );
    let errors = [
        ("missing.env", None, "missing.env does not exist"),
        ("bad.env", None, "bad.env:2: unterminated double quote"),
        ("src.env", Some("NOPE"), "src.env does not define NOPE"),
    ];
    // What another sync writing into the directory holds.
    let lock = fs::File::open(dir.0.path()).unwrap();
    lock.lock().unwrap();
    for (from, keys, error) in errors {
        let mut command = dir.command(from, "t.env");
        if let Some(keys) = keys {
            command.args(["--keys", keys]);
        }
        let child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        fails(&exit_of(child), 1, error);
    }
    lock.unlock().unwrap();
    for (from, keys, error) in errors {
        let mut command = dir.command(from, "fifo.env");
        if let Some(keys) = keys {
            command.args(["--keys", keys]);
        }
        fails(&command.output().unwrap(), 1, error);
    }
    assert_eq!(fs::read_to_string(dir.path("t.env")).unwrap(), "OLD=1\n");
    assert_eq!(dir.names(), ["bad.env", "fifo.env", "src.env", "t.env"]);
}

/// A write that fails in the middle of a large target (a full disk; here the file-size limit,
/// with SIGXFSZ ignored, stands in for one, as no small file system can be mounted in tests)
/// exits 2 naming the target, and leaves the target as it was and no temporary file, wherever
/// it fails: in the first chunk, or while later chunks are checked and flushed behind.
#[test]
fn a_write_that_fails_midway_leaves_the_target_and_no_temporary_file() {
    let dir = Dir::new();
    let mut source = String::new();
    for i in 0..150_000 {
        source.push_str(&format!("KEY_{i}='{CANARY} {i}'\n"));
    }
    dir.write("big.env", &source);
    dir.write("t.env", "OLD=1\n");
    // `ulimit -f` counts blocks of 512 or 1024 bytes, depending on the shell: each limit
    // falls short of the new target's ~7 MB either way.
    for blocks in ["64", "2048", "6000"] {
        let sync = dir.command("big.env", "t.env");
        let output = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ulimit -f {blocks} && trap '' XFSZ && exec \"$0\" \"$@\""
            ))
            .arg(sync.get_program())
            .args(sync.get_args())
            .current_dir(dir.0.path())
            .envs(
                sync.get_envs()
                    .filter_map(|(name, value)| Some((name, value?))),
            )
            .output()
            .unwrap();
        fails(&output, 2, "cannot write t.env");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("File too large"),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(fs::read_to_string(dir.path("t.env")).unwrap(), "OLD=1\n");
        assert_eq!(
            dir.names(),
            ["big.env", "src.env", "t.env"],
            "limit {blocks}"
        );
    }
}

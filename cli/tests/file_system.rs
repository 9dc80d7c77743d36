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
        "cannot replace locked/t.env: its directory locked is not writable, and a sync puts a new file in the target's place; make the directory writable for this user",
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

/// Whether process `pid` has a file open that has no name yet in `dir` (`O_TMPFILE`): the new
/// target being written.
fn writes_unnamed_file(pid: u32, dir: &Path) -> bool {
    let prefix = format!("{}/#", dir.canonicalize().unwrap().display());
    fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
        fds.flatten().any(|fd| {
            fs::read_link(fd.path()).is_ok_and(|to| to.to_string_lossy().starts_with(&prefix))
        })
    })
}

/// SIGKILL cannot be held, but the new file has no name while it is written: a sync killed in
/// the middle leaves the old target and nothing else, and the next sync has nothing to clean.
#[test]
fn a_killed_sync_leaves_no_file_behind() {
    let dir = Dir::new();
    let mut source = String::new();
    for i in 0..100_000 {
        source.push_str(&format!("KEY_{i}='{CANARY} {i} padding padding padding'\n"));
    }
    dir.write("big.env", &source);
    let mut landed = 0;
    for _ in 0..10 {
        dir.write("t.env", "OLD=1\n");
        let mut child = dir
            .command("big.env", "t.env")
            .env_remove("RUST_LOG")
            .arg("--json")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill it as soon as it writes the new file.
        while !writes_unnamed_file(child.id(), dir.0.path()) && child.try_wait().unwrap().is_none()
        {
        }
        child.kill().unwrap();
        if !child.wait().unwrap().success() {
            landed += 1;
            assert_eq!(fs::read_to_string(dir.path("t.env")).unwrap(), "OLD=1\n");
        }
        assert_eq!(dir.names(), ["big.env", "src.env", "t.env"]);
    }
    assert!(
        landed > 0,
        "some kill landed while the new file was written"
    );
}

/// A sync removes nothing it did not make, whatever the name: files named like temporary
/// files, of this user or another, stay, whether the sync writes or not.
#[test]
fn a_sync_removes_no_file_of_the_user() {
    let dir = Dir::new();
    dir.write("s.env", "A=1\n");
    dir.write("secrets", "A=1\n");
    let kept = [
        ".secrets.backup.tmp",
        ".secrets.x7Gq2a.tmp",
        ".secrets.stagecraft-0123456789abcdef.tmp",
    ];
    for name in kept {
        dir.write(name, "keep\n");
    }
    if is_root() {
        std::os::unix::fs::chown(dir.path(kept[1]), Some(65534), Some(65534)).unwrap();
    }
    let output = dir.sync("s.env", "secrets");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    dir.write("s.env", "A=2\n");
    let output = dir.sync("s.env", "secrets");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(fs::read_to_string(dir.path("secrets")).unwrap(), "A=2\n");
    for name in kept {
        assert_eq!(
            fs::read_to_string(dir.path(name)).unwrap(),
            "keep\n",
            "{name}"
        );
    }
    assert_eq!(dir.names().len(), 6);
}

/// Two syncs into one target at once: the second waits for the first (the target is locked), so
/// neither loses the other's keys, and no lock file is left.
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
    // What another sync of the target holds: it waits for a sync stopped with the lock.
    let holder = stopped_sync_holding(&dir, "t.env");
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
    assert_eq!(fs::read_to_string(dir.path("t.env")).unwrap(), "OLD=1\n");
    resume(holder);
    dir.write("t.env", "OLD=1\n");
    for (from, keys, error) in errors {
        let mut command = dir.command(from, "fifo.env");
        if let Some(keys) = keys {
            command.args(["--keys", keys]);
        }
        fails(&command.output().unwrap(), 1, error);
    }
    assert_eq!(fs::read_to_string(dir.path("t.env")).unwrap(), "OLD=1\n");
    assert_eq!(
        dir.names(),
        ["bad.env", "fifo.env", "holder.env", "src.env", "t.env"]
    );
}

/// A write that fails in the middle of a large target (a full disk; here the file-size limit
/// stands in for one, as no small file system can be mounted in tests)
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
    // falls short of the new target's ~7 MB either way. SIGXFSZ, which would end the process
    // without a word, is ignored by the sync itself.
    for (blocks, trap) in [
        ("64", ""),
        ("2048", ""),
        ("6000", ""),
        ("2048", "trap '' XFSZ && "),
    ] {
        let sync = dir.command("big.env", "t.env");
        let output = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -f {blocks} && {trap}exec \"$0\" \"$@\""))
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

/// Whether process `pid` holds a write lock on a file it has open.
fn holds_write_lock(pid: u32) -> bool {
    fs::read_dir(format!("/proc/{pid}/fdinfo")).is_ok_and(|fds| {
        fds.flatten().any(|fd| {
            fs::read_to_string(fd.path()).is_ok_and(|info| {
                info.lines()
                    .any(|l| l.starts_with("lock:") && l.contains(" WRITE "))
            })
        })
    })
}

fn signal(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// A stopped sync, killed if the test fails before it lets it go on.
struct Stopped(Option<std::process::Child>);

impl Stopped {
    fn id(&self) -> u32 {
        self.0.as_ref().unwrap().id()
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A sync of a large source into `target` in `dir`, stopped (SIGSTOP, as a shell's Ctrl-Z
/// would) while it holds the target's lock.
fn stopped_sync_holding(dir: &Dir, target: &str) -> Stopped {
    let mut source = String::new();
    for i in 0..100_000 {
        source.push_str(&format!("HELD_{i}='{CANARY} {i} padding padding'\n"));
    }
    dir.write("holder.env", &source);
    let mut child = dir
        .command("holder.env", target)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !holds_write_lock(child.id()) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sync ended before it was stopped"
        );
    }
    signal(child.id(), "-STOP");
    Stopped(Some(child))
}

/// Lets a stopped sync go on, and checks that it then completes.
fn resume(mut stopped: Stopped) {
    let child = stopped.0.take().unwrap();
    signal(child.id(), "-CONT");
    let output = exit_of(child);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A sync that finds its target locked by another sync (here one stopped by SIGSTOP) says so on
/// stderr within a second, naming the holder's process, and gives up after `lock_timeout` with
/// exit 2. A sync into another file of the same directory does not wait at all.
#[test]
fn a_locked_target_is_waited_for_with_a_message_and_a_bound() {
    let dir = Dir::new();
    dir.write("t.env", "OLD=1\n");
    dir.write(
        "stagecraft.yml",
        "secrets:\n  provider: envfile\n  providers:\n    envfile:\n      lock_timeout: 3s\n",
    );
    let holder = stopped_sync_holding(&dir, "t.env");
    let started = std::time::Instant::now();
    let other = dir
        .command("src.env", "other.env")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        other.status.success(),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "another file waited"
    );

    let mut waiting = dir
        .command("src.env", "t.env")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let mut stderr = std::io::BufReader::new(waiting.stderr.take().unwrap());
    // The first line that is not a log of `-vvv`.
    let mut first = String::new();
    while first.is_empty()
        || first.contains(" INFO ")
        || first.contains(" DEBUG ")
        || first.contains(" TRACE ")
    {
        first.clear();
        assert_ne!(
            std::io::BufRead::read_line(&mut stderr, &mut first).unwrap(),
            0
        );
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "told after {:?}",
        started.elapsed()
    );
    let pid = holder.id();
    assert!(
        first.contains(&format!("waiting for another sync of t.env to finish; process {pid} holds its lock; giving up after 3s")),
        "{first}"
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    let status = waiting.wait().unwrap();
    let waited = started.elapsed();
    assert_eq!(status.code(), Some(2), "{first}{rest}");
    assert!(
        waited >= std::time::Duration::from_secs(3) && waited < std::time::Duration::from_secs(10),
        "{waited:?}"
    );
    assert!(
        rest.lines().any(|line| line == format!("error: gave up after 3s waiting for the lock on t.env, held by process {pid}: another sync of it is still running or is stopped; let it finish (or end it), or raise `lock_timeout`")),
        "{rest}"
    );
    assert!(!rest.contains(CANARY) && !first.contains(CANARY));
    // Ctrl-C, SIGTERM or SIGHUP while waiting end the sync at once (exit 130), leaving nothing.
    let mut waiting = dir
        .command("src.env", "t.env")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(waiting.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("waiting for another sync") {
        line.clear();
        assert_ne!(
            std::io::BufRead::read_line(&mut stderr, &mut line).unwrap(),
            0
        );
    }
    let stopped_at = std::time::Instant::now();
    signal(waiting.id(), "-TERM");
    assert_eq!(waiting.wait().unwrap().code(), Some(130));
    assert!(stopped_at.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(fs::read_to_string(dir.path("t.env")).unwrap(), "OLD=1\n");
    resume(holder);
    assert_eq!(
        fs::read_to_string(dir.path("t.env"))
            .unwrap()
            .lines()
            .count(),
        100_001
    );
    assert_eq!(
        dir.names(),
        [
            "holder.env",
            "other.env",
            "src.env",
            "stagecraft.yml",
            "t.env"
        ]
    );
}

fn as_nobody(command: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt;
    command.uid(65534).gid(65534)
}

/// Locks that another user can take do not block a sync: `flock` on the directory or on the
/// target (which syncs do not use), and a read lock on the target, which anyone who can read it
/// can take (syncs take write locks, which need the file open for writing). As root, with the
/// user nobody; otherwise skipped, saying so.
#[test]
fn another_users_locks_do_not_block_a_sync() {
    if !is_root() {
        eprintln!(
            "SKIPPED another_users_locks_do_not_block_a_sync: needs root to act as a second user"
        );
        return;
    }
    let dir = Dir::new();
    fs::set_permissions(dir.0.path(), fs::Permissions::from_mode(0o755)).unwrap();
    dir.write("t.env", "OLD=1\n");
    fs::set_permissions(dir.path("t.env"), fs::Permissions::from_mode(0o644)).unwrap();
    let t_env = dir.path("t.env");
    let mut holders = vec![
        as_nobody(
            Command::new("flock")
                .arg(dir.0.path())
                .args(["sleep", "60"]),
        )
        .spawn()
        .unwrap(),
        as_nobody(
            Command::new("flock")
                .arg("-s")
                .arg(&t_env)
                .args(["sleep", "60"]),
        )
        .spawn()
        .unwrap(),
    ];
    let read_lock = "import fcntl, sys, time\nf = open(sys.argv[1])\nfcntl.lockf(f, fcntl.LOCK_SH)\nprint('locked', flush=True)\ntime.sleep(60)\n";
    // The system's python, which the user nobody can run (a version manager's may live in
    // root's home).
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("python3");
    match as_nobody(Command::new(python).args(["-c", read_lock]).arg(&t_env))
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(mut python) => {
            let mut line = String::new();
            std::io::BufRead::read_line(
                &mut std::io::BufReader::new(python.stdout.take().unwrap()),
                &mut line,
            )
            .unwrap();
            assert_eq!(line, "locked\n");
            holders.push(python);
        }
        Err(_) => eprintln!(
            "SKIPPED the read lock of another user: no python3 it can run (the providers' unit tests take one)"
        ),
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    let output = dir.sync("src.env", "t.env");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("waiting for another sync"));
    assert_eq!(
        fs::read_to_string(&t_env).unwrap(),
        format!("OLD=1\nAPI_KEY={CANARY}\n")
    );
    for mut holder in holders {
        holder.kill().unwrap();
        holder.wait().unwrap();
    }
}

/// The kernel's `protected_symlinks` rule, applied whether or not the kernel has it on: in a
/// sticky world-writable directory, a symbolic link that belongs to another user (neither the
/// one who syncs nor the directory's owner) is not followed, as target or source, by a sync or a
/// dry run. Another user plants it; root syncs. Skipped, saying so, when not root.
#[test]
fn a_symlink_planted_in_a_shared_sticky_directory_is_not_followed() {
    if !is_root() {
        eprintln!(
            "SKIPPED a_symlink_planted_in_a_shared_sticky_directory_is_not_followed: needs root to act as a second user"
        );
        return;
    }
    let dir = Dir::new();
    let victim = dir.write("victim", "root:x:0:0:root:/root:/bin/bash\n");
    let shared = dir.path("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(dir.0.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let planted = as_nobody(
        Command::new("ln")
            .arg("-s")
            .arg(&victim)
            .arg(shared.join("t.env")),
    )
    .status()
    .unwrap();
    assert!(planted.success());
    assert_eq!(
        fs::symlink_metadata(shared.join("t.env")).unwrap().uid(),
        65534
    );
    let refused = |path: &str| {
        format!(
            "{path} leads through the symbolic link {}, which belongs to another user (uid 65534) in a shared sticky directory; refusing to follow it: remove the link, or name the file itself",
            dir.path(path).display()
        )
    };
    fails(
        &dir.sync("src.env", "shared/t.env"),
        2,
        &refused("shared/t.env"),
    );
    fails(
        &dir.command("src.env", "shared/t.env")
            .arg("--dry-run")
            .output()
            .unwrap(),
        2,
        &refused("shared/t.env"),
    );
    fails(
        &dir.sync("shared/t.env", "out.env"),
        2,
        &refused("shared/t.env"),
    );
    assert_eq!(
        fs::read_to_string(&victim).unwrap(),
        "root:x:0:0:root:/root:/bin/bash\n"
    );
    // A link of the user who syncs, or of the directory's owner, is followed.
    fs::remove_file(shared.join("t.env")).unwrap();
    let target = dir.write("real.env", "");
    std::os::unix::fs::symlink(&target, shared.join("t.env")).unwrap();
    let output = dir.sync("src.env", "shared/t.env");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        format!("API_KEY={CANARY}\n")
    );
}

/// Permission problems say what is wrong and what to change, and a dry run or `--check` that
/// would write reports the same problem instead of success. Run as the user nobody (as root);
/// otherwise skipped, saying so.
#[test]
fn permission_problems_say_what_to_change() {
    if !is_root() {
        eprintln!(
            "SKIPPED permission_problems_say_what_to_change: needs root to act as a second user"
        );
        return;
    }
    let dir = Dir::new();
    fs::set_permissions(dir.0.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(dir.path("src.env"), fs::Permissions::from_mode(0o644)).unwrap();
    let make = |name: &str, mode: u32| {
        let sub = dir.path(name);
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join("t.env"), "OLD=1\n").unwrap();
        fs::set_permissions(sub.join("t.env"), fs::Permissions::from_mode(0o666)).unwrap();
        if name != "theirs" {
            std::os::unix::fs::chown(sub.join("t.env"), Some(65534), Some(65534)).unwrap();
        }
        fs::set_permissions(&sub, fs::Permissions::from_mode(mode)).unwrap();
    };
    make("unreadable", 0o333);
    make("read-only", 0o555);
    make("theirs", 0o777);
    let cases = [
        (
            "unreadable/t.env",
            "cannot open unreadable, the directory of unreadable/t.env: a sync opens it to create the new file and flush it to disk; give this user read and search permission on it",
        ),
        (
            "read-only/t.env",
            "cannot replace read-only/t.env: its directory read-only is not writable, and a sync puts a new file in the target's place; make the directory writable for this user",
        ),
        (
            "theirs/t.env",
            "cannot keep the owner and group of theirs/t.env (uid 0, gid 0): a sync replaces the file, and only root, or its owner when a member of its group, can give the new file both; run the sync as that user or as root, or change the file's owner to this user",
        ),
    ];
    for (target, error) in cases {
        for flags in [&[][..], &["--dry-run"], &["--check"]] {
            let output = as_nobody(dir.command("src.env", target).args(flags))
                .output()
                .unwrap();
            fails(&output, 2, error);
        }
    }
    // A target in sync needs no write, whatever its directory.
    fs::write(dir.path("src.env"), "OLD=1\n").unwrap();
    for (target, _) in cases {
        for flags in [&[][..], &["--dry-run"], &["--check"]] {
            let output = as_nobody(dir.command("src.env", target).args(flags))
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{target} {flags:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    for name in ["read-only", "theirs"] {
        assert_eq!(
            fs::read_to_string(dir.path(name).join("t.env")).unwrap(),
            "OLD=1\n"
        );
        assert_eq!(fs::read_dir(dir.path(name)).unwrap().count(), 1, "{name}");
    }
}

/// A read-only target already in sync needs no write: the sync, `--dry-run` and `--check` exit 0.
#[test]
fn a_read_only_target_in_sync_is_up_to_date() {
    let dir = Dir::new();
    dir.write("t.env", &format!("API_KEY={CANARY}\n"));
    fs::set_permissions(dir.path("t.env"), fs::Permissions::from_mode(0o444)).unwrap();
    for flags in [&[][..], &["--dry-run"], &["--check"]] {
        let output = dir
            .command("src.env", "t.env")
            .args(flags)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{flags:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    dir.write("src.env", "API_KEY=new\n");
    fails(
        &dir.command("src.env", "t.env")
            .arg("--check")
            .output()
            .unwrap(),
        2,
        "t.env is read-only; make it writable to let the sync replace it",
    );
}

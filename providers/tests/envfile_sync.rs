//! The envfile provider on real files: merging into a target, the atomic replace, the report,
//! and every failure leaving the target as it was, with errors that name the file, the line and
//! the key but never a value.

use stagecraft_core::{
    Action, ProviderConfig, SecretsProvider, SyncError, SyncOptions, SyncReport,
};
use stagecraft_providers::envfile::EnvFile;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const CANARY: &str = "canary-9f8e7d6c";

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().unwrap())
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.path().join(name);
        fs::write(&path, text).unwrap();
        path
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<_> = fs::read_dir(self.0.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

fn run(opts: SyncOptions) -> Result<SyncReport, SyncError> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(EnvFile.sync(opts))
}

fn sync(source: &Path, target: &Path) -> SyncOptions {
    SyncOptions::default()
        .source(source.to_str().unwrap())
        .target(target.to_str().unwrap())
}

fn actions(report: &SyncReport) -> Vec<(&str, Action)> {
    report.actions().collect()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn creates_a_new_private_target_with_every_key() {
    let dir = Dir::new();
    let source = dir.file(
        ".env.local",
        "A=1\nexport B='two words'\n# note\nC=\"x\\ny\"\n",
    );
    let target = dir.path(".env.staging");
    let report = run(sync(&source, &target)).unwrap();
    assert_eq!(
        actions(&report),
        [
            ("A", Action::Added),
            ("B", Action::Added),
            ("C", Action::Added)
        ]
    );
    assert!(report.written);
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        "A=1\nB='two words'\nC=\"x\\ny\"\n"
    );
    assert_eq!(mode(&target), 0o600);
    assert_eq!(
        dir.names(),
        [".env.local", ".env.staging"],
        "no temporary or backup file is left behind"
    );
}

#[test]
fn updates_in_place_and_keeps_everything_else() {
    let dir = Dir::new();
    let source = dir.file("src.env", "DB=new-db\nAPI_KEY=same\nADDED=1\n");
    let original = "# staging settings\r\nexport DB=old-db # rotated monthly\r\n\r\nOTHER=kept\r\nAPI_KEY=same\r\nLAST='x'";
    let target = dir.file("dst.env", original);
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    let report = run(sync(&source, &target)).unwrap();
    assert_eq!(
        actions(&report),
        [
            ("DB", Action::Changed),
            ("API_KEY", Action::Unchanged),
            ("ADDED", Action::Added)
        ]
    );
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        "# staging settings\r\nexport DB=new-db # rotated monthly\r\n\r\nOTHER=kept\r\nAPI_KEY=same\r\nLAST='x'\r\nADDED=1\r\n"
    );
    assert_eq!(mode(&target), 0o640, "an existing target keeps its mode");
}

#[test]
fn a_changed_duplicate_key_is_rewritten_where_it_last_appears() {
    let dir = Dir::new();
    let source = dir.file("src.env", "A=3\n");
    let target = dir.file("dst.env", "A=1\nB=x\nA=2\n");
    run(sync(&source, &target)).unwrap();
    assert_eq!(fs::read_to_string(&target).unwrap(), "A=1\nB=x\nA=3\n");
}

#[test]
fn a_bare_value_before_a_comment_gets_a_space() {
    let dir = Dir::new();
    let source = dir.file("src.env", "A=plain\n");
    let target = dir.file("dst.env", "A=\"old\"#note\n");
    run(sync(&source, &target)).unwrap();
    assert_eq!(fs::read_to_string(&target).unwrap(), "A=plain #note\n");
}

#[test]
fn prune_removes_keys_the_source_lacks_and_only_then() {
    let dir = Dir::new();
    let source = dir.file("src.env", "KEEP=1\n");
    let target = dir.file("dst.env", "STALE=1\nKEEP=1\n# comment\nSTALE=2\n");
    let report = run(sync(&source, &target)).unwrap();
    assert_eq!(actions(&report), [("KEEP", Action::Unchanged)]);
    assert!(!report.written);
    let report = run(sync(&source, &target).prune(true)).unwrap();
    assert_eq!(
        actions(&report),
        [("KEEP", Action::Unchanged), ("STALE", Action::Removed)]
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "KEEP=1\n# comment\n");
}

#[test]
fn keys_select_and_missing_keys_are_listed() {
    let dir = Dir::new();
    let source = dir.file("src.env", "A=1\nB=2\nC=3\n");
    let target = dir.path("dst.env");
    let report = run(sync(&source, &target).keys(["C", "A"])).unwrap();
    assert_eq!(
        actions(&report),
        [("C", Action::Added), ("A", Action::Added)]
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "C=3\nA=1\n");

    let error = run(sync(&source, &target).keys(["A", "NOPE", "ALSO_NOPE"])).unwrap_err();
    assert!(matches!(error, SyncError::Input(_)));
    assert_eq!(
        error.to_string(),
        format!("{} does not define NOPE, ALSO_NOPE", source.display())
    );
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        "C=3\nA=1\n",
        "nothing is written"
    );
}

#[test]
fn a_second_sync_changes_nothing() {
    let dir = Dir::new();
    let source = dir.file("src.env", "A=1\nB='$x'\n");
    let target = dir.path("dst.env");
    assert!(run(sync(&source, &target)).unwrap().written);
    let inode = fs::metadata(&target).unwrap().ino();
    let report = run(sync(&source, &target)).unwrap();
    assert!(!report.written);
    assert!(!report.has_changes());
    assert_eq!(
        fs::metadata(&target).unwrap().ino(),
        inode,
        "the target is not replaced"
    );
}

#[test]
fn dry_run_reports_the_same_and_writes_nothing() {
    let dir = Dir::new();
    let source = dir.file("src.env", "A=2\nB=1\n");
    let target = dir.file("dst.env", "A=1\nC=1\n");
    let dry = run(sync(&source, &target).dry_run(true).prune(true)).unwrap();
    assert!(!dry.written);
    assert_eq!(fs::read_to_string(&target).unwrap(), "A=1\nC=1\n");
    let real = run(sync(&source, &target).prune(true)).unwrap();
    assert_eq!(actions(&dry), actions(&real));
    assert!(real.written);
}

#[test]
fn config_paths_are_relative_to_stagecraft_yml_and_options_override_them() {
    let dir = Dir::new();
    dir.file(".env.local", "A=1\n");
    let yaml = "secrets:\n  provider: envfile\n  providers:\n    envfile:\n      source_file: .env.local\n      target_file: .env.out\n";
    let config_path = dir.file("stagecraft.yml", yaml);
    let config = ProviderConfig::from_document(
        &config_path,
        yaml.into(),
        &["secrets", "providers", "envfile"],
    );
    run(SyncOptions::new(config.clone())).unwrap();
    assert_eq!(fs::read_to_string(dir.path(".env.out")).unwrap(), "A=1\n");

    let other = dir.path("other.env");
    run(SyncOptions::new(config).target(other.to_str().unwrap())).unwrap();
    assert_eq!(fs::read_to_string(&other).unwrap(), "A=1\n");
}

#[test]
fn config_errors_name_the_setting() {
    let config = ProviderConfig::from_document(
        Path::new("stagecraft.yml"),
        "secrets:\n  providers:\n    envfile:\n      source_fle: x\n".into(),
        &["secrets", "providers", "envfile"],
    );
    let error = run(SyncOptions::new(config)).unwrap_err();
    assert!(matches!(error, SyncError::Config(_)));
    assert!(error.to_string().starts_with(
            "stagecraft.yml:4:7: secrets.providers.envfile.source_fle: unknown field `source_fle`, expected one of `source_file`, `target_file`, `lock_timeout`"
        ), "{error}");

    let empty = ProviderConfig::from_document(
        Path::new("stagecraft.yml"),
        "secrets:\n  providers:\n    envfile: {}\n".into(),
        &["secrets", "providers", "envfile"],
    );
    let error = run(SyncOptions::new(empty)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "no source file: set `secrets.providers.envfile.source_file` in stagecraft.yml or pass --from"
    );
}

/// Runs a sync that must fail, and checks the message, that the target is untouched and that
/// the canary value appears nowhere in the error or its causes.
fn fails(opts: SyncOptions, target: &Path) -> String {
    let before = fs::read(target).ok();
    let error = run(opts).unwrap_err();
    let mut text = format!("{error} {error:?}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    assert!(!text.contains(CANARY), "a secret leaked: {text}");
    assert_eq!(fs::read(target).ok(), before, "the target was changed");
    error.to_string()
}

#[test]
fn a_broken_source_line_names_file_and_line_only() {
    let dir = Dir::new();
    let source = dir.file("src.env", &format!("A={CANARY}\nB=\"{CANARY}\nC=1\n"));
    let target = dir.file("dst.env", "A=old\n");
    let message = fails(sync(&source, &target), &target);
    assert_eq!(
        message,
        format!("{}:2: unterminated double quote", source.display())
    );
    let source = dir.file("src2.env", &format!("A='{CANARY}' {CANARY}\n"));
    assert_eq!(
        fails(sync(&source, &target), &target),
        format!(
            "{}:1: unexpected text after the closing quote",
            source.display()
        )
    );
}

#[test]
fn a_broken_target_is_not_overwritten() {
    let dir = Dir::new();
    let source = dir.file("src.env", "A=1\n");
    let target = dir.file("dst.env", &format!("X='{CANARY}\n"));
    assert_eq!(
        fails(sync(&source, &target), &target),
        format!("{}:1: unterminated single quote", target.display())
    );
}

#[test]
fn file_system_failures() {
    let dir = Dir::new();
    let source = dir.file("src.env", &format!("A={CANARY}\n"));
    let target = dir.file("dst.env", "A=old\n");

    let missing = dir.path("missing.env");
    assert_eq!(
        fails(sync(&missing, &target), &target),
        format!("{} does not exist", missing.display())
    );

    let unreadable = dir.path("a-directory");
    fs::create_dir(&unreadable).unwrap();
    assert_eq!(
        fails(sync(&unreadable, &target), &target),
        format!("{} is a directory, not a file", unreadable.display())
    );
    assert_eq!(
        fails(sync(&source, &unreadable), &target),
        format!("{} is a directory, not a file", unreadable.display())
    );

    let no_dir = dir.path("no/such/dir/.env");
    let message = fails(sync(&source, &no_dir), &target);
    assert!(
        message.contains("directory") && message.contains("does not exist"),
        "{message}"
    );

    fs::set_permissions(&target, fs::Permissions::from_mode(0o444)).unwrap();
    let message = fails(sync(&source, &target), &target);
    assert_eq!(
        message,
        format!(
            "{} is read-only; make it writable to let the sync replace it",
            target.display()
        )
    );

    let latin1 = dir.path("latin1.env");
    fs::write(&latin1, b"A=1\nB=caf\xe9\n").unwrap();
    assert_eq!(
        fails(sync(&latin1, &dir.path("new.env")), &dir.path("new.env")),
        format!("{}:2: not valid UTF-8", latin1.display())
    );
}

#[test]
fn a_100_mb_file_syncs() {
    let dir = Dir::new();
    let value = "x".repeat(1000);
    let mut text = String::with_capacity(101 * 1024 * 1024);
    let mut n = 0;
    while text.len() < 100 * 1024 * 1024 {
        text.push_str(&format!("KEY_{n}={value}\n"));
        n += 1;
    }
    let source = dir.file("big.env", &text);
    let target = dir.path("big.out.env");
    let report = run(sync(&source, &target)).unwrap();
    assert_eq!(report.count(Action::Added), n);
    assert_eq!(fs::read(&target).unwrap().len(), text.len());
    assert!(!run(sync(&source, &target)).unwrap().written);
}

/// The envfile provider on real files in a temporary directory.
struct EnvFileFixture {
    dir: Dir,
}

impl stagecraft_core::conformance::Fixture for EnvFileFixture {
    fn seed(&mut self, secrets: &[(&str, &str)]) -> SyncOptions {
        let text = stagecraft_providers::envfile::write_string(secrets.iter().copied()).unwrap();
        let source = self.dir.file("source.env", &text);
        sync(&source, &self.dir.path("target.env"))
    }

    fn seed_with_valueless(
        &mut self,
        secrets: &[(&str, &str)],
        valueless: &[&str],
    ) -> Option<SyncOptions> {
        let mut text =
            stagecraft_providers::envfile::write_string(secrets.iter().copied()).unwrap();
        for key in valueless {
            text.push_str(key);
            text.push('\n');
        }
        let source = self.dir.file("source.env", &text);
        Some(sync(&source, &self.dir.path("target.env")))
    }

    fn read_target(&mut self) -> std::collections::BTreeMap<String, String> {
        let text = fs::read_to_string(self.dir.path("target.env")).unwrap_or_default();
        stagecraft_providers::envfile::read_str(&text)
            .unwrap()
            .into_iter()
            .collect()
    }
}

#[test]
fn conformance() {
    let mut fixture = EnvFileFixture { dir: Dir::new() };
    let provider: &dyn stagecraft_core::DynSecretsProvider = &EnvFile;
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(stagecraft_core::conformance::check(provider, &mut fixture));
}

/// Runs a sync that must succeed, returning the target's text.
fn synced(source: &str, target: &str) -> String {
    let dir = Dir::new();
    let source = dir.file("src.env", source);
    let target = dir.file("dst.env", target);
    run(sync(&source, &target)).unwrap();
    fs::read_to_string(&target).unwrap()
}

#[test]
fn clearing_a_value_keeps_the_comment_a_comment() {
    for (before, after) in [
        (
            "API_KEY=old  # rotate monthly\n",
            "API_KEY=''  # rotate monthly\n",
        ),
        ("API_KEY=\"old\" # note\n", "API_KEY='' # note\n"),
        ("API_KEY=\"old\"#note\n", "API_KEY=''#note\n"),
        ("API_KEY=old\n", "API_KEY=\n"),
    ] {
        let dir = Dir::new();
        let source = dir.file("src.env", "API_KEY=\n");
        let target = dir.file("dst.env", before);
        run(sync(&source, &target)).unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), after);
        let again = run(sync(&source, &target)).unwrap();
        assert!(
            !again.written,
            "a second run changes nothing after {before:?}"
        );
    }
}

#[test]
fn a_value_written_after_spaces_and_a_hash_stays_a_value() {
    // `KEY= # note` is an empty value; a bare `#x` written there would be a comment.
    assert_eq!(synced("A=#x\n", "A= # note\n"), "A= '#x' # note\n");
    assert_eq!(synced("A=new\n", "A= # note\n"), "A= new # note\n");
    assert_eq!(synced("A=#x\n", ""), "A='#x'\n");
}

#[test]
fn backslashes_before_closing_quotes_read_and_write() {
    // Appending after a value that ends in an escaped backslash keeps both readable.
    assert_eq!(
        synced("API_KEY='x y'\n", "LOG_DIR='C:\\\\logs\\\\'\n"),
        "LOG_DIR='C:\\\\logs\\\\'\nAPI_KEY='x y'\n"
    );
    // A generated file of 100,000 such values syncs, and reads back the same.
    let mut text = String::new();
    for i in 0..100_000 {
        text.push_str(&format!("KEY_{i}=\"C:\\\\dir\\\\{i}\\\\\"\n"));
    }
    let dir = Dir::new();
    let source = dir.file("big.env", &text);
    let target = dir.path("out.env");
    let report = run(sync(&source, &target)).unwrap();
    assert_eq!(report.count(Action::Added), 100_000);
    let read =
        stagecraft_providers::envfile::read_str(&fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(read[7], ("KEY_7".to_owned(), "C:\\dir\\7\\".to_owned()));
}

#[test]
fn valueless_keys_are_not_synced_and_get_a_value_where_they_stand() {
    // In the source, a bare key after `KEY=value` makes the key valueless: not synced.
    let dir = Dir::new();
    let source = dir.file("src.env", "A=1\nA\nB=2\n");
    let target = dir.file("dst.env", "A=old\n");
    let report = run(sync(&source, &target).prune(true)).unwrap();
    assert_eq!(actions(&report), [("B", Action::Added)]);
    assert_eq!(fs::read_to_string(&target).unwrap(), "A=old\nB=2\n");
    let error = run(sync(&source, &target).keys(["A"])).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{} does not define A", source.display())
    );
    // In the target, a valueless key is given its value in place.
    assert_eq!(
        synced("A=1\n", "A=0\nexport A # none\n"),
        "A=0\nexport A=1 # none\n"
    );
    assert_eq!(synced("A=\n", "A#c\n"), "A=''#c\n");
}

#[test]
fn a_copied_multi_line_value_takes_the_targets_line_ending() {
    assert_eq!(synced("K=\"a\r\nb\"\r\n", "X=1\n"), "X=1\nK=\"a\nb\"\n");
    assert_eq!(synced("K='a\nb'\n", "X=1\r\n"), "X=1\r\nK='a\r\nb'\r\n");
    assert_eq!(synced("K='a\rb'\r", "K=1\r\n"), "K='a\r\nb'\r\n");
}

#[test]
fn a_cr_only_file_reports_the_line_of_a_bad_byte() {
    let dir = Dir::new();
    let latin1 = dir.path("latin1.env");
    fs::write(&latin1, b"A=1\rB=2\rC=caf\xe9\r").unwrap();
    let target = dir.path("new.env");
    assert_eq!(
        fails(sync(&latin1, &target), &target),
        format!("{}:3: not valid UTF-8", latin1.display())
    );
}

#[test]
fn two_syncs_into_one_target_keep_both_sides_keys() {
    let dir = Dir::new();
    let mut left = String::new();
    let mut right = String::new();
    for i in 0..2_000 {
        left.push_str(&format!("LEFT_{i}=l{i}\n"));
        right.push_str(&format!("RIGHT_{i}=r{i}\n"));
    }
    let left = dir.file("left.env", &left);
    let right = dir.file("right.env", &right);
    let target = dir.path("shared.env");
    for round in 0..20 {
        fs::write(&target, "").unwrap();
        let threads = [left.clone(), right.clone()].map(|source| {
            let target = target.clone();
            std::thread::spawn(move || run(sync(&source, &target)).map(|r| r.written))
        });
        for thread in threads {
            assert!(thread.join().unwrap().unwrap());
        }
        let keys = stagecraft_providers::envfile::read_str(&fs::read_to_string(&target).unwrap())
            .unwrap()
            .len();
        assert_eq!(keys, 4_000, "round {round}: a sync lost the other's keys");
    }
    assert_eq!(
        dir.names(),
        ["left.env", "right.env", "shared.env"],
        "no lock or temporary file is left"
    );
}

fn is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

#[test]
fn special_files_are_refused_before_they_are_read() {
    let dir = Dir::new();
    let source = dir.file("src.env", &format!("A={CANARY}\n"));
    let fifo = dir.path("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let socket = dir.path("socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let mut special = vec![(fifo, "a FIFO"), (socket, "a socket")];
    if is_root() {
        // A copy of /dev/null's device: as root a sync must not replace the real one.
        let null = dir.path("null");
        assert!(
            Command::new("mknod")
                .arg(&null)
                .args(["c", "1", "3"])
                .status()
                .unwrap()
                .success()
        );
        fs::set_permissions(&null, fs::Permissions::from_mode(0o666)).unwrap();
        special.push((null, "a character device"));
    }
    let plain = dir.file("plain.env", "A=1\n");
    for (path, kind) in &special {
        let expected = format!("{} is {kind}, not a regular file", path.display());
        // As a target: refused, left as it was.
        let error = run(sync(&source, path)).unwrap_err();
        assert!(matches!(error, SyncError::External(_)), "{error:?}");
        assert_eq!(error.to_string(), expected);
        assert_eq!(
            error.to_string(),
            run(sync(&source, path).dry_run(true))
                .unwrap_err()
                .to_string()
        );
        // As a source: refused without waiting for a writer or reading forever.
        let error = run(sync(path, &plain)).unwrap_err();
        assert!(matches!(error, SyncError::External(_)), "{error:?}");
        assert_eq!(error.to_string(), expected);
        let kind_now = fs::symlink_metadata(path).unwrap().file_type();
        assert!(
            !kind_now.is_file(),
            "{} was replaced by a file",
            path.display()
        );
    }
    let error = run(sync(Path::new("/dev/zero"), &plain)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "/dev/zero is a character device, not a regular file"
    );
    assert_eq!(fs::read_to_string(&plain).unwrap(), "A=1\n");
}

#[test]
fn the_owner_group_and_mode_are_kept() {
    if !is_root() {
        eprintln!("skipping: changing a file's owner needs root");
        return;
    }
    let dir = Dir::new();
    let source = dir.file("src.env", "A=new\n");
    let target = dir.file("app.env", "A=old\n");
    std::os::unix::fs::chown(&target, Some(65534), Some(65534)).unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
    assert!(run(sync(&source, &target)).unwrap().written);
    let meta = fs::metadata(&target).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid()),
        (65534, 65534),
        "nobody:nogroup kept"
    );
    assert_eq!(mode(&target), 0o640);
    assert_eq!(fs::read_to_string(&target).unwrap(), "A=new\n");
}

/// A sync removes only what it made: files named like the temporary files of earlier versions,
/// whoever owns them, stay, whether the sync writes or not.
#[test]
fn files_a_sync_did_not_make_are_never_removed() {
    let dir = Dir::new();
    let source = dir.file("src.env", "A=1\n");
    let target = dir.file("dst.env", "A=1\n");
    let others = [
        ".dst.env.backup.tmp",
        ".dst.env.x7Gq2a.tmp",
        ".dst.env.AAAAAA.tmp",
        ".dst.env.stagecraft-0123456789abcdef.tmp",
    ];
    for name in others {
        dir.file(name, &format!("A={CANARY}\n"));
    }
    run(sync(&source, &target).dry_run(true)).unwrap();
    assert!(!run(sync(&source, &target)).unwrap().written);
    dir.file("src.env", "A=2\nB=3\n");
    assert!(run(sync(&source, &target)).unwrap().written);
    let mut expected = vec!["dst.env", "src.env"];
    expected.extend(others);
    expected.sort();
    assert_eq!(dir.names(), expected);
    for name in others {
        assert_eq!(
            fs::read_to_string(dir.path(name)).unwrap(),
            format!("A={CANARY}\n")
        );
    }
}

#[test]
fn a_target_name_of_255_bytes_is_written() {
    let dir = Dir::new();
    let source = dir.file("src.env", "A=1\n");
    let name = format!("{}.env", "t".repeat(251));
    let target = dir.path(&name);
    assert!(run(sync(&source, &target)).unwrap().written);
    fs::write(&target, "A=0\n").unwrap();
    assert!(run(sync(&source, &target)).unwrap().written);
    assert_eq!(fs::read_to_string(&target).unwrap(), "A=1\n");
    assert_eq!(dir.names(), ["src.env".to_owned(), name]);
}

#[test]
fn a_hard_linked_target_is_replaced_not_written_through() {
    let dir = Dir::new();
    let source = dir.file("src.env", "A=new\n");
    let target = dir.file("dst.env", "A=old\n");
    let other = dir.path("other-name.env");
    fs::hard_link(&target, &other).unwrap();
    run(sync(&source, &target)).unwrap();
    assert_eq!(fs::read_to_string(&target).unwrap(), "A=new\n");
    assert_eq!(fs::read_to_string(&other).unwrap(), "A=old\n");
}

#[test]
fn a_dangling_symlink_target_is_refused() {
    let dir = Dir::new();
    let source = dir.file("src.env", "A=1\n");
    let link = dir.path("link.env");
    std::os::unix::fs::symlink("nowhere/target.env", &link).unwrap();
    let error = run(sync(&source, &link)).unwrap_err();
    assert!(matches!(error, SyncError::Input(_)));
    assert_eq!(
        error.to_string(),
        format!(
            "{} is a symbolic link to nowhere/target.env, which does not exist",
            link.display()
        )
    );
}

#[test]
fn equal_values_written_differently_are_unchanged_and_different_ones_are_not() {
    let dir = Dir::new();
    // The same values in other forms: unchanged, and nothing is written.
    let source = dir.file("src.env", "A=\"x\"\nB='it\\'s'\nC=\"l1\\nl2\"\n");
    let original = "A=x\nB=\"it's\"\nC=\"l1\nl2\"\n";
    let target = dir.file("dst.env", original);
    let report = run(sync(&source, &target)).unwrap();
    assert_eq!(
        actions(&report),
        [
            ("A", Action::Unchanged),
            ("B", Action::Unchanged),
            ("C", Action::Unchanged)
        ]
    );
    assert!(!report.written);
    assert_eq!(fs::read_to_string(&target).unwrap(), original);
    // Written alike but read differently: `\n` is two characters in single quotes.
    let source = dir.file("src.env", "A='l1\\nl2'\n");
    let target = dir.file("dst.env", "A=\"l1\\nl2\"\n");
    let report = run(sync(&source, &target)).unwrap();
    assert_eq!(actions(&report), [("A", Action::Changed)]);
    assert_eq!(fs::read_to_string(&target).unwrap(), "A='l1\\nl2'\n");
}

#[test]
fn prune_leaves_a_line_that_never_has_a_value_and_never_prints_it() {
    // A secret pasted on a line of its own reads as a valueless key: `--prune` must not print
    // it in the report as a removed key; the line is left where it is.
    let dir = Dir::new();
    let source = dir.file("src.env", "A=1\n");
    let target = dir.file("dst.env", &format!("A=0\n{CANARY}\nB=2\nB\n"));
    let report = run(sync(&source, &target).prune(true)).unwrap();
    assert_eq!(
        actions(&report),
        [("A", Action::Changed), ("B", Action::Removed)]
    );
    assert!(!format!("{report:?}").contains(CANARY));
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        format!("A=1\n{CANARY}\n")
    );
}

/// `c2VjcmV0CANARY==` on a line of its own reads as a key with the value `=`: a secret pasted
/// with its base64 padding far more often than a key. It is not synced, `--prune` leaves it, and
/// no report names it; a key the source gives a real value is synced over it.
#[test]
fn a_value_of_only_equals_signs_is_a_pasted_secret_never_a_key() {
    let pasted = "c2VjcmV0CANARY7731";
    let dir = Dir::new();
    let source = dir.file("src.env", &format!("A=1\n{pasted}==\nB=x\n{pasted}2===\n"));
    let target = dir.file("dst.env", &format!("{pasted}3==\nB==\nC=1\n"));
    for dry_run in [true, false] {
        let report = run(sync(&source, &target).prune(true).dry_run(dry_run)).unwrap();
        assert_eq!(
            actions(&report),
            [
                ("A", Action::Added),
                ("B", Action::Changed),
                ("C", Action::Removed)
            ]
        );
        assert!(!format!("{report:?}").contains("CANARY"), "{report:?}");
    }
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        format!("{pasted}3==\nB=x\nA=1\n")
    );
    // A quoted `=` is a value someone meant.
    assert_eq!(synced("A=\"=\"\n", ""), "A=\"=\"\n");
}

/// Appended keys take the line ending of the target's statements, not a line break inside a
/// quoted value that comes first.
#[test]
fn appended_keys_take_the_line_ending_of_statements() {
    assert_eq!(
        synced("N=1\n", "A=\"x\ry\"\nB=1\n"),
        "A=\"x\ry\"\nB=1\nN=1\n"
    );
    assert_eq!(synced("N=1\n", "A='x\ny'\r\n"), "A='x\ny'\r\nN=1\r\n");
    assert_eq!(synced("N=1\n", "# a\rA=\"x\ny\""), "# a\rA=\"x\ny\"\rN=1\r");
    assert_eq!(synced("N=1\n", "A=\"x\r\ny\""), "A=\"x\r\ny\"\nN=1\n");
}

/// A read-only target needs no write when it is in sync: a sync, a dry run and `--check`
/// succeed. When it is not in sync, a dry run reports what the sync would meet.
#[test]
fn a_read_only_target_in_sync_is_up_to_date() {
    let dir = Dir::new();
    let source = dir.file("src.env", "A=1\n");
    let target = dir.file("dst.env", "A=1\n");
    fs::set_permissions(&target, fs::Permissions::from_mode(0o444)).unwrap();
    for dry_run in [false, true] {
        let report = run(sync(&source, &target).dry_run(dry_run)).unwrap();
        assert_eq!(actions(&report), [("A", Action::Unchanged)]);
        assert!(!report.written);
    }
    dir.file("src.env", "A=2\n");
    let read_only = format!(
        "{} is read-only; make it writable to let the sync replace it",
        target.display()
    );
    assert_eq!(
        fails(sync(&source, &target).dry_run(true), &target),
        read_only
    );
    assert_eq!(fails(sync(&source, &target), &target), read_only);
}

/// A target of many statements of every kind, in `line_ending`: the new text is written and
/// checked in chunks of 128 KiB, which this spreads over dozens.
fn many_statements(
    statements: std::ops::Range<usize>,
    line_ending: &str,
    salt: impl Fn(usize) -> &'static str,
) -> String {
    let mut text = String::new();
    for i in statements {
        let salt = salt(i);
        let line = match i % 9 {
            0 => format!("K{i}=plain-{salt}-{i}"),
            1 => format!("export K{i}='single # {salt} {i}' # comment"),
            2 => format!("K{i}=\"multi{line_ending}line \\\"{salt}\\\" {i}\""),
            3 => format!("# a comment about K{i}"),
            4 => format!("K{}=again-{salt}-{i}", i - 4),
            5 => format!("K{i}"),
            6 => String::new(),
            7 => format!("K{i}=url?{salt}=1 # note"),
            _ => format!("'K{i}'= spaced-{salt}-{i}  "),
        };
        text.push_str(&line);
        text.push_str(line_ending);
    }
    text
}

#[test]
fn a_large_target_is_written_and_checked_in_chunks() {
    use stagecraft_providers::envfile::read_str;
    use std::collections::BTreeMap;
    for line_ending in ["\n", "\r\n"] {
        for prune in [false, true] {
            let dir = Dir::new();
            // The target holds statements 0..12,000 (~500 kB); the source those from 4,000 to
            // 16,000, a third of them with other values.
            let old = many_statements(0..12_000, line_ending, |_| "old");
            let new = many_statements(4_000..16_000, "\n", |i| match i % 3 {
                0 => "new",
                _ => "old",
            });
            let target = dir.file("target.env", &old);
            let source = dir.file("source.env", &new);
            let report = run(sync(&source, &target).prune(prune)).unwrap();
            assert!(report.written);

            let map = |text: &str| -> BTreeMap<String, String> {
                read_str(text).unwrap().into_iter().collect()
            };
            let (before, given) = (map(&old), map(&new));
            let mut expected = before.clone();
            if prune {
                // Keys the source does not mention go (the source's valueless keys are
                // valueless in the target too, so not among them).
                expected.retain(|k, _| given.contains_key(k));
            }
            expected.extend(given.clone());
            let written = fs::read_to_string(&target).unwrap();
            assert_eq!(map(&written), expected, "prune {prune}, {line_ending:?}");
            // What the sync did not change is kept byte for byte: every comment, every
            // valueless key, the line ending of the target.
            let comments = |text: &str| text.lines().filter(|l| l.starts_with('#')).count();
            let kept = if prune { 8_000 / 9 } else { 12_000 / 9 };
            assert!(comments(&written) >= kept, "{}", comments(&written));
            assert_eq!(written.matches("\r\n").count() > 0, line_ending == "\r\n");
            assert_eq!(
                report.count(Action::Unchanged) + report.count(Action::Changed),
                report
                    .actions()
                    .filter(|(k, a)| before.contains_key(*k) && *a != Action::Removed)
                    .count()
            );
            // A second run finds it up to date.
            assert!(!run(sync(&source, &target).prune(prune)).unwrap().written);
        }
    }
}

/// The size of the chunks the new text of a target is written and checked in (`CHUNK` in
/// `envfile/mod.rs`).
const CHUNK: usize = 128 * 1024;

/// Sync cases whose every statement is moved across a chunk boundary, byte by byte around each
/// line break: (source, target, prune, keys).
const ACROSS_A_BOUNDARY: &[(&str, &str, bool, &[&str])] = &[
    // Values changed, kept, added; a multi-line value; comments, blank lines, a valueless key
    // given its value where it stands, `KEY= # c`, `KEY=#x`, a duplicate key whose last
    // statement changes, `export`, spaces around `=`; the source in another order.
    (
        "E=new\nC=\"m1\nm2 new\"\nA=1\nD=dee\nB='b' \nF=#f\nNEW=\"n1\nn2\"\nG=g\n",
        "A=1\n# comment = 'x'\n\nB=old # note\nC=\"m1\nm2\"\nD\nexport E = old\nF= # c\n  G=one\nG=two\n",
        false,
        &[],
    ),
    // The same in CRLF, a source in LF: the target's line ending is kept.
    (
        "E=new\nC=\"m1\nm2 new\"\nA=1\nD=dee\nNEW='n1\nn2'\n",
        "A=1\r\n# comment\r\n\r\nB=old # note\r\nC=\"m1\r\nm2\"\r\nD\r\nexport E=old\r\n",
        false,
        &[],
    ),
    // CR only, and a lone CR in an LF file.
    ("A=2\nB=\"x\ny\"\n", "A=1\r# c\rB=0\r\rC=3\r", false, &[]),
    ("A=2\nN=1\n", "A=1\n# c\rB=0\n\rC=3\r", false, &[]),
    // No final newline: the appended key starts a line of its own.
    ("A=2\nN=new\n", "A=1\nB=2\n# last", false, &[]),
    ("A=2\nN=new\n", "B=2\nA=1", false, &[]),
    // Prune: statements removed at the start, in a row, at the end, with a multi-line value;
    // a key that is never given a value stays.
    (
        "K=1\nL=2\n",
        "P1=x\nK=0\nP2=\"a\nb\"\nP3=y # c\n# kept\nNEVER\nL=2\nP1=again\nP4=z",
        true,
        &[],
    ),
    ("K=1\n", "P1=x\r\nP2='a\r\nb'\r\nK=0\r\nP3=y\r\n", true, &[]),
    // Keys asked for twice, in another order; a key of the target that the source leaves
    // valueless is neither synced nor pruned.
    (
        "A=1\nB=2\nC=3\nV\n",
        "C=0\nV=kept\nB=0\nA=0\nX=x\n",
        true,
        &["C", "A", "C"],
    ),
    // A key that starts with a BOM in the middle of a file, and quoted keys.
    (
        "X=1\n\u{feff}K=new\n'Q K'=q\n",
        "X=1\n\u{feff}K=old\n'Q K'=old\n",
        false,
        &[],
    ),
];

/// Syncs `source` into `target` in a scratch directory; returns the new text of the target.
fn synced_text(source: &str, target: &str, prune: bool, keys: &[&str]) -> String {
    let dir = Dir::new();
    let source = dir.file("src.env", source);
    let target_path = dir.file("dst.env", target);
    let report = run(sync(&source, &target_path)
        .prune(prune)
        .keys(keys.iter().copied()))
    .unwrap_or_else(|e| panic!("{e}"));
    let written = fs::read_to_string(&target_path).unwrap();
    assert_eq!(report.written, written != target);
    assert!(dir.names().len() == 2, "no temporary file is left");
    written
}

/// Comment lines of `len` bytes in all (at least 64), in `line_ending`.
fn comments(len: usize, line_ending: &str) -> String {
    let line = |width: usize| "#".repeat(width - line_ending.len()) + line_ending;
    line(64 + len % 64) + &line(64).repeat(len / 64 - 1)
}

/// Comments put before a target are kept as they are, and change nothing else: a target
/// written in one chunk and the same target after comments that put a chunk boundary anywhere
/// in it are written the same.
#[test]
fn every_statement_is_written_the_same_across_a_chunk_boundary() {
    use stagecraft_providers::envfile::read_str;
    for &(source, target, prune, keys) in ACROSS_A_BOUNDARY {
        let alone = synced_text(source, target, prune, keys);
        let line_ending = match target.find(['\r', '\n']).map(|at| &target[at..]) {
            Some(rest) if rest.starts_with("\r\n") => "\r\n",
            Some(rest) if rest.starts_with('\r') => "\r",
            _ => "\n",
        };
        // Each place where a line ends in the target or in what it becomes, give or take a byte.
        let mut places: Vec<usize> = target
            .match_indices(['\r', '\n'])
            .chain(alone.match_indices(['\r', '\n']))
            .flat_map(|(at, _)| [at, at + 1, at + 2])
            .chain([0, 1, alone.len() + 1])
            .collect();
        places.sort();
        places.dedup();
        for place in places {
            let padding = comments(CHUNK - place, line_ending);
            let written = synced_text(source, &(padding.clone() + target), prune, keys);
            assert!(
                written == padding.clone() + &alone,
                "{target:?} with the boundary at {place}: {:?} instead of {alone:?}",
                &written[padding.len().min(written.len())..]
            );
        }
        // And the one-chunk result reads as the model says.
        let read = |text: &str| -> std::collections::BTreeMap<String, String> {
            read_str(text).unwrap().into_iter().collect()
        };
        let given = read(source);
        let mut expected = read(target);
        if prune {
            // The source mentions its valued keys and, in these cases, its lines without `=`.
            let mentioned: Vec<&str> = stagecraft_providers::envfile::valued_keys(source)
                .unwrap()
                .into_iter()
                .chain(source.lines().filter(|l| !l.contains('=')))
                .collect();
            expected.retain(|k, _| mentioned.contains(&k.as_str()));
        }
        for (key, value) in given {
            if keys.is_empty() || keys.contains(&key.as_str()) {
                expected.insert(key, value);
            }
        }
        assert_eq!(read(&alone), expected, "{source:?} into {target:?}");
    }
}

/// A statement larger than a chunk, a key whose statements are chunks apart, and a pruned
/// statement larger than a chunk.
#[test]
fn statements_larger_than_a_chunk_and_duplicates_chunks_apart() {
    let big = |c: &str| c.repeat(CHUNK + 100);
    let padding = comments(2 * CHUNK, "\n");
    let target = format!(
        "D=first\nBIG=\"{}\n\"\n{padding}D=last # note\nGONE='{}'\nE=1",
        big("x"),
        big("g")
    );
    let source = format!("BIG='{}'\nD=new\nE=1\nN=n\n", big("y"));
    assert_eq!(
        synced_text(&source, &target, false, &[]),
        format!(
            "D=first\nBIG='{}'\n{padding}D=new # note\nGONE='{}'\nE=1\nN=n\n",
            big("y"),
            big("g")
        )
    );
    assert_eq!(
        synced_text(&source, &target, true, &[]),
        format!(
            "D=first\nBIG='{}'\n{padding}D=new # note\nE=1\nN=n\n",
            big("y")
        )
    );
}

/// A BOM that starts a large target stays, and is skipped only there: the first chunk starts
/// the file, the others do not.
#[test]
fn a_bom_at_the_start_of_a_large_target_stays() {
    let padding = comments(2 * CHUNK, "\n");
    let target = format!("\u{feff}P=1\nA=1\n{padding}\u{feff}K=1\nB=2\n");
    let source = "A=2\nB=3\n\u{feff}K=1\nC=4\n";
    assert_eq!(
        synced_text(source, &target, false, &[]),
        format!("\u{feff}P=1\nA=2\n{padding}\u{feff}K=1\nB=3\nC=4\n")
    );
    assert_eq!(
        synced_text(source, &target, true, &[]),
        format!("\u{feff}A=2\n{padding}\u{feff}K=1\nB=3\nC=4\n")
    );
}

/// `--prune` removing everything before a key that starts with a BOM: a blank line keeps the
/// BOM from starting the file, where a reader would skip it.
#[test]
fn a_bom_key_left_first_by_prune_keeps_its_bom() {
    let dir = Dir::new();
    let source = dir.file("source.env", "X=0\n\u{feff}K=2\n");
    let target = dir.file("target.env", "A=1\n\u{feff}K=1\n");
    let report = run(sync(&source, &target).prune(true)).unwrap();
    assert!(report.written);
    let written = fs::read_to_string(&target).unwrap();
    assert_eq!(written, "\n\u{feff}K=2\nX=0\n");
    assert_eq!(
        stagecraft_providers::envfile::read_str(&written).unwrap(),
        [("\u{feff}K".into(), "2".into()), ("X".into(), "0".into())]
    );
}

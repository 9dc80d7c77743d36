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
            "stagecraft.yml:4:7: secrets.providers.envfile.source_fle: unknown field `source_fle`, expected `source_file` or `target_file`"
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

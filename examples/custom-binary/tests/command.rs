//! The `acme-secrets` binary, run as a user runs it: the whole `stagecraft` command over a
//! registry with the `secret-dir` provider added to the shipped ones.

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};

const CANARY: &str = "canary-acme-0f1e2d3c";

const CONFIG: &str = "secrets:\n  provider: secret-dir\n  providers:\n    secret-dir:\n      source_file: .env.local\n      target_dir: secrets\n";

/// A project directory with `stagecraft.yml`, `.env.local` and an empty `secrets/`.
struct Project {
    dir: tempfile::TempDir,
}

/// What a run printed, and its exit code.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Project {
    fn new() -> Self {
        let project = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        project.write("stagecraft.yml", CONFIG);
        let source = format!("DATABASE_URL=postgres://{CANARY}@db/app\nAPI_KEY='{CANARY}-k$y'\n");
        project.write(".env.local", &source);
        fs::create_dir(project.path("secrets")).unwrap();
        project
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.path(name), text).unwrap();
    }

    /// The files in `secrets/` and what they hold.
    fn secrets(&self) -> Vec<(String, String)> {
        let mut files: Vec<_> = fs::read_dir(self.path("secrets"))
            .unwrap()
            .map(|file| {
                let file = file.unwrap();
                let text = fs::read_to_string(file.path()).unwrap();
                (file.file_name().into_string().unwrap(), text)
            })
            .collect();
        files.sort();
        files
    }

    fn run(&self, args: &[&str]) -> Run {
        let Output {
            status,
            stdout,
            stderr,
        } = Command::new(env!("CARGO_BIN_EXE_acme-secrets"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let run = Run {
            code: status.code().unwrap(),
            stdout: String::from_utf8(stdout).unwrap(),
            stderr: String::from_utf8(stderr).unwrap(),
        };
        assert!(
            !run.stdout.contains(CANARY) && !run.stderr.contains(CANARY),
            "a value was printed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        run
    }
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not one JSON document ({e}): {text}"))
}

#[test]
fn providers_lists_secret_dir_beside_the_shipped_ones() {
    let run = Project::new().run(&["secrets", "providers", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ids: Vec<_> = json(&run.stdout)
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["encore", "envfile", "secret-dir", "vault"]);

    let run = Project::new().run(&["secrets", "providers"]);
    assert!(
        run.stdout.contains(
            "secret-dir  Writes each secret of an env file to a file of its own in a directory."
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn sync_with_the_config_writes_a_file_a_key_and_then_changes_nothing() {
    let project = Project::new();
    let run = project.run(&["secrets", "sync"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "Sync (secret-dir): .env.local -> secrets\n  \
         + DATABASE_URL  added\n  \
         + API_KEY       added\n\
         2 added, 0 changed, 0 unchanged, 0 removed; wrote secrets.\n"
    );
    assert_eq!(
        project.secrets(),
        [
            ("API_KEY".to_owned(), format!("{CANARY}-k$y")),
            (
                "DATABASE_URL".to_owned(),
                format!("postgres://{CANARY}@db/app")
            ),
        ]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(project.path("secrets/API_KEY"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "a new secret file is private");
    }

    let again = project.run(&["secrets", "sync", "--check"]);
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert!(
        again.stdout.contains("0 added, 0 changed, 2 unchanged"),
        "{}",
        again.stdout
    );
}

#[test]
fn sync_with_flags_only_needs_no_config() {
    let project = Project::new();
    fs::remove_file(project.path("stagecraft.yml")).unwrap();
    let run = project.run(&[
        "secrets",
        "sync",
        "--provider",
        "secret-dir",
        "--from",
        ".env.local",
        "--to",
        "secrets",
        "--keys",
        "API_KEY",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json(&run.stdout);
    assert_eq!(report["provider"], "secret-dir");
    assert_eq!(
        report["changes"],
        json(r#"[{"key": "API_KEY", "action": "added"}]"#)
    );
    assert_eq!(project.secrets().len(), 1);
}

#[test]
fn check_finds_drift_and_prune_removes_what_the_source_lacks() {
    let project = Project::new();
    assert_eq!(project.run(&["secrets", "sync"]).code, 0);
    project.write("secrets/OLD_KEY", "old");
    project.write("secrets/.hidden", "kept");
    project.write("secrets/API_KEY", "edited by hand");

    let check = project.run(&["secrets", "sync", "--check", "--prune"]);
    assert_eq!(check.code, 4, "{}", check.stderr);
    assert!(
        check
            .stderr
            .contains("secrets is not in sync with .env.local: 2 of 3 keys would change"),
        "{}",
        check.stderr
    );

    let run = project.run(&["secrets", "sync", "--prune"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("  ~ API_KEY       changed\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("  - OLD_KEY       removed\n"),
        "{}",
        run.stdout
    );
    let names: Vec<_> = project
        .secrets()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, [".hidden", "API_KEY", "DATABASE_URL"]);
}

#[test]
fn a_missing_key_or_a_key_that_is_no_file_name_fails_and_writes_nothing() {
    let project = Project::new();
    let run = project.run(&["secrets", "sync", "--keys", "API_KEY,MISSING_KEY", "--json"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: .env.local does not define MISSING_KEY\n"
    );
    assert_eq!(json(&run.stdout)["error"]["kind"], "input");

    project.write(
        ".env.local",
        &format!("API_KEY={CANARY}\n../escape={CANARY}\n"),
    );
    let run = project.run(&["secrets", "sync"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: the key \"../escape\" cannot be a file name\n"
    );
    assert!(project.secrets().is_empty());
    assert!(!project.path("escape").exists());
}

#[test]
fn a_broken_source_line_or_a_missing_directory_is_named_without_its_text() {
    let project = Project::new();
    project.write(".env.local", &format!("API_KEY=1\nTOKEN=\"{CANARY}\n"));
    let run = project.run(&["secrets", "sync"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: .env.local:2: unterminated double quote\n"
    );
    assert!(project.secrets().is_empty());

    project.write(".env.local", "API_KEY=1\n");
    fs::remove_dir(project.path("secrets")).unwrap();
    let run = project.run(&["secrets", "sync"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "error: cannot create secrets/API_KEY: directory secrets does not exist\n"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_where_a_secret_goes_is_refused_without_waiting() {
    let project = Project::new();
    let fifo = project.path("secrets/API_KEY");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let run = project.run(&["secrets", "sync"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("is a FIFO, not a regular file"),
        "{}",
        run.stderr
    );
}

#[test]
fn config_validate_checks_the_section_and_the_id_against_this_registry() {
    let project = Project::new();
    let run = project.run(&["config", "validate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "stagecraft.yml is valid: secrets provider secret-dir\n"
    );

    project.write(
        "stagecraft.yml",
        &CONFIG.replace("target_dir", "target_dri"),
    );
    let run = project.run(&["config", "validate"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "stagecraft.yml:6:7: secrets.providers.secret-dir.target_dri: unknown field `target_dri`, expected `source_file` or `target_dir`"
        ),
        "{}",
        run.stderr
    );

    project.write(
        "stagecraft.yml",
        &CONFIG.replace("provider: secret-dir", "provider: secret-dr"),
    );
    let run = project.run(&["config", "validate"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(
            "unknown secrets provider \"secret-dr\"; did you mean \"secret-dir\"? (registered: encore, envfile, secret-dir, vault)"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn config_schema_describes_the_secret_dir_settings() {
    let project = Project::new();
    let run = project.run(&["config", "schema"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let schema = json(&run.stdout);
    let text = schema.to_string();
    for expected in [
        "\"secret-dir\"",
        "The directory that gets a file a key, relative to stagecraft.yml. `--to` overrides it.",
        "\"vault\"",
    ] {
        assert!(
            text.contains(expected),
            "the schema lacks {expected}: {text}"
        );
    }
}

#[test]
fn help_and_exit_codes_are_the_stagecraft_commands() {
    let project = Project::new();
    let run = project.run(&["secrets", "sync", "--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("--prune"), "{}", run.stdout);
    let run = project.run(&["secrets", "sink", "--json"]);
    assert_eq!(run.code, 1);
    assert_eq!(json(&run.stdout)["error"]["kind"], "usage");
}

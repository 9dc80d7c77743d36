//! End-to-end tests of the `stagecraft` binary: real processes, real files in a temporary
//! directory, exit codes and the exact messages users see.
//!
//! These live in the CLI crate rather than `stagecraft-tests` because cargo only hands the path
//! of a binary (`CARGO_BIN_EXE_stagecraft`) to the tests of its own package.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CANARY: &str = "canary-5eb63bbbe01eeed0";

struct Project {
    dir: tempfile::TempDir,
}

const CONFIG: &str = "secrets:\n  provider: envfile\n  providers:\n    envfile:\n      source_file: .env.local\n      target_file: .env.staging\n";

impl Project {
    fn new() -> Self {
        let project = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        project.write("stagecraft.yml", CONFIG);
        project.write(
            ".env.local",
            "DATABASE_URL=postgres://u:p@db/app\nAPI_KEY='k$y'\n",
        );
        project
    }

    fn empty() -> Self {
        Project {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, text).unwrap();
        path
    }

    fn read(&self, name: &str) -> Option<String> {
        fs::read_to_string(self.dir.path().join(name)).ok()
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[])
    }

    fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_in(self.path(), args, env)
    }

    fn run_in(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stagecraft"));
        command
            .args(args)
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .env_remove("STAGECRAFT_CONFIG")
            .env("NO_COLOR", "1");
        for (key, value) in env {
            command.env(key, value);
        }
        Run(command.output().unwrap())
    }
}

struct Run(Output);

impl Run {
    fn code(&self) -> i32 {
        self.0.status.code().unwrap()
    }

    fn stdout(&self) -> String {
        String::from_utf8(self.0.stdout.clone()).unwrap()
    }

    fn stderr(&self) -> String {
        String::from_utf8(self.0.stderr.clone()).unwrap()
    }

    #[track_caller]
    fn fails_with(&self, code: i32, stderr: &str) {
        assert_eq!(
            self.code(),
            code,
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.stderr()
        );
        assert_eq!(self.stderr(), stderr);
        assert_eq!(self.stdout(), "");
    }
}

#[test]
fn happy_path_prints_a_table_and_writes_the_target() {
    let project = Project::new();
    let run = project.run(&["secrets", "sync"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        run.stdout(),
        "Sync (envfile): .env.local -> .env.staging\n  + DATABASE_URL  added\n  + API_KEY       added\n2 added, 0 changed, 0 unchanged, 0 removed; wrote .env.staging.\n"
    );
    assert_eq!(
        project.read(".env.staging").unwrap(),
        "DATABASE_URL=postgres://u:p@db/app\nAPI_KEY='k$y'\n"
    );

    let again = project.run(&["secrets", "sync"]);
    assert_eq!(again.code(), 0);
    assert!(
        again
            .stdout()
            .ends_with("0 added, 0 changed, 2 unchanged, 0 removed; .env.staging is up to date.\n"),
        "{}",
        again.stdout()
    );
}

/// Keys are padded by the characters they show, not their bytes; an unchanged key's row has no
/// sign. Byte for byte, as before the report kept its keys in one string.
#[test]
fn table_pads_non_ascii_keys_by_their_characters() {
    let project = Project::new();
    project.write(".env.local", "ÉTÉ=1\nA=2\nBÄR_2=3\n");
    project.write(".env.staging", "A=2\n");
    let run = project.run(&["secrets", "sync"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        run.stdout(),
        "Sync (envfile): .env.local -> .env.staging\n  + ÉTÉ    added\n    A      unchanged\n  + BÄR_2  added\n2 added, 0 changed, 1 unchanged, 0 removed; wrote .env.staging.\n"
    );
}

/// On a terminal each row takes its action's colour (green added, yellow changed, dim
/// unchanged, red removed), and the colour ends before the line does.
#[cfg(unix)]
#[test]
fn table_on_a_terminal_is_coloured() {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    use std::io::Read;

    let project = Project::new();
    project.write(".env.local", "ADDED=1\nCHANGED=2\nSAME=3\n");
    project.write(".env.staging", "CHANGED=old\nSAME=3\nSTALE=4\n");
    let terminal = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&terminal).unwrap();
    unlockpt(&terminal).unwrap();
    let name = ptsname(&terminal, Vec::new()).unwrap();
    let stdout = fs::OpenOptions::new()
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .args(["secrets", "sync", "--prune", "--dry-run"])
        .current_dir(project.path())
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdout(stdout)
        .status()
        .unwrap();
    assert!(status.success());
    // The table is far smaller than the terminal's buffer: all of it is there to read, then
    // the read fails (EIO) as no process holds the terminal any more.
    let mut shown = Vec::new();
    let _ = fs::File::from(terminal).read_to_end(&mut shown);
    assert_eq!(
        String::from_utf8(shown).unwrap(),
        "Plan (envfile): .env.local -> .env.staging\r\n\
         \x1b[32m  + ADDED    added\x1b[0m\r\n\
         \x1b[33m  ~ CHANGED  changed\x1b[0m\r\n\
         \x1b[2m    SAME     unchanged\x1b[0m\r\n\
         \x1b[31m  - STALE    removed\x1b[0m\r\n\
         1 added, 1 changed, 1 unchanged, 1 removed; dry run: nothing was written.\r\n"
    );
}

#[test]
fn dry_run_writes_nothing() {
    let project = Project::new();
    project.write(".env.staging", "API_KEY=old\nSTALE=1\n");
    let run = project.run(&["secrets", "sync", "--dry-run", "--prune"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        run.stdout(),
        "Plan (envfile): .env.local -> .env.staging\n  + DATABASE_URL  added\n  ~ API_KEY       changed\n  - STALE         removed\n1 added, 1 changed, 0 unchanged, 1 removed; dry run: nothing was written.\n"
    );
    assert_eq!(
        project.read(".env.staging").unwrap(),
        "API_KEY=old\nSTALE=1\n"
    );
}

#[test]
fn keys_selects_and_a_missing_key_fails() {
    let project = Project::new();
    let run = project.run(&["secrets", "sync", "--keys", "API_KEY"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(project.read(".env.staging").unwrap(), "API_KEY='k$y'\n");

    project
        .run(&["secrets", "sync", "--keys", "API_KEY,NOPE"])
        .fails_with(1, "error: .env.local does not define NOPE\n");
    project
        .run(&["secrets", "sync", "--keys", "API_KEY,,B"])
        .fails_with(1, "error: --keys has an empty key name\n");
}

#[test]
fn prune_removes_stale_keys() {
    let project = Project::new();
    project.write(".env.staging", "# keep me\nSTALE=1\nAPI_KEY='k$y'\n");
    let run = project.run(&["secrets", "sync", "--prune"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        project.read(".env.staging").unwrap(),
        "# keep me\nAPI_KEY='k$y'\nDATABASE_URL=postgres://u:p@db/app\n"
    );
}

#[test]
fn json_output_is_one_document() {
    let project = Project::new();
    let run = project.run(&["secrets", "sync", "--json"]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({
            "provider": "envfile",
            "dry_run": false,
            "source": ".env.local",
            "target": ".env.staging",
            "written": true,
            "changes": [
                {"key": "DATABASE_URL", "action": "added"},
                {"key": "API_KEY", "action": "added"},
            ],
            "summary": {"added": 2, "changed": 0, "unchanged": 0, "removed": 0, "skipped": 0},
        })
    );
}

#[test]
fn flags_replace_the_config_file() {
    let project = Project::empty();
    project.write("a.env", "A=1\n");
    let run = project.run(&[
        "secrets",
        "sync",
        "--provider",
        "envfile",
        "--from",
        "a.env",
        "--to",
        "b.env",
    ]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(project.read("b.env").unwrap(), "A=1\n");
}

#[test]
fn config_not_found() {
    let project = Project::empty();
    // The search goes up to the root: the temporary directory's parents must not have one.
    let dir = project.path().canonicalize().unwrap();
    if dir.ancestors().any(|d| d.join("stagecraft.yml").exists()) {
        return eprintln!(
            "skipped: a parent of {} has a stagecraft.yml",
            dir.display()
        );
    }
    project.run(&["secrets", "sync"]).fails_with(
        1,
        &format!(
            "error: no stagecraft.yml in {} or any parent directory; create one, or name it with --config or STAGECRAFT_CONFIG\n",
            dir.display()
        ),
    );
    project
        .run_with_env(&["secrets", "sync"], &[("STAGECRAFT_CONFIG", "ci.yml")])
        .fails_with(1, "error: config file ci.yml not found\n");
    project
        .run(&[
            "--config",
            "deploy/stagecraft.yml",
            "secrets",
            "sync",
            "--provider",
            "envfile",
            "--from",
            "a",
            "--to",
            "b",
        ])
        .fails_with(1, "error: config file deploy/stagecraft.yml not found\n");
}

#[test]
fn the_config_is_found_in_a_parent_and_its_paths_stay_relative_to_it() {
    let project = Project::new();
    let deep = project.path().join("services/api");
    fs::create_dir_all(&deep).unwrap();
    // A source file of the same name where the command runs is not the one synced.
    fs::write(deep.join(".env.local"), "WRONG=1\n").unwrap();
    let run = project.run_in(&deep, &["secrets", "sync"], &[]);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        run.stdout()
            .starts_with("Sync (envfile): ../../.env.local -> ../../.env.staging\n"),
        "{}",
        run.stdout()
    );
    assert_eq!(
        project.read(".env.staging").unwrap(),
        "DATABASE_URL=postgres://u:p@db/app\nAPI_KEY='k$y'\n"
    );
    assert!(!deep.join(".env.staging").exists());
    let validate = project.run_in(&deep, &["config", "validate"], &[]);
    assert_eq!(validate.code(), 0, "{}", validate.stderr());
    assert_eq!(
        validate.stdout(),
        "../../stagecraft.yml is valid: secrets provider envfile\n"
    );

    // A nearer stagecraft.yml wins over one further up; errors name it as found.
    fs::write(
        deep.join("stagecraft.yml"),
        "secrets:\n  provider: envfle\n",
    )
    .unwrap();
    let nearer = project.run_in(&deep, &["config", "validate"], &[]);
    assert_eq!(nearer.code(), 1);
    assert!(
        nearer
            .stderr()
            .starts_with("error: stagecraft.yml:2:13: secrets.provider: unknown secrets provider"),
        "{}",
        nearer.stderr()
    );
}

/// Anything named stagecraft.yml stops the search, so that a broken one is reported rather than
/// one further up used in its place.
#[test]
fn a_broken_stagecraft_yml_stops_the_search() {
    let project = Project::new();
    let middle = project.path().join("services");
    let deep = middle.join("api");
    fs::create_dir_all(deep.join("stagecraft.yml")).unwrap();
    project
        .run_in(&deep, &["config", "validate"], &[])
        .fails_with(
            1,
            "error: cannot read config file stagecraft.yml: Is a directory (os error 21)\n",
        );
    fs::remove_dir(deep.join("stagecraft.yml")).unwrap();
    std::os::unix::fs::symlink("nowhere.yml", middle.join("stagecraft.yml")).unwrap();
    project
        .run_in(&deep, &["config", "validate"], &[])
        .fails_with(1, "error: config file ../stagecraft.yml not found\n");
}

#[test]
fn stagecraft_config_names_the_file_and_config_wins_over_it() {
    let project = Project::new();
    fs::create_dir(project.path().join("deploy")).unwrap();
    project.write(
        "deploy/other.yml",
        "secrets:\n  provider: envfile\n  providers:\n    envfile:\n      source_file: ../.env.local\n      target_file: other.env\n",
    );
    let env = [("STAGECRAFT_CONFIG", "deploy/other.yml")];
    let run = project.run_with_env(&["secrets", "sync"], &env);
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(project.read("deploy/other.env").is_some());
    assert!(project.read(".env.staging").is_none());

    let flag = project.run_with_env(&["--config", "stagecraft.yml", "secrets", "sync"], &env);
    assert_eq!(flag.code(), 0, "{}", flag.stderr());
    assert!(project.read(".env.staging").is_some());

    // Set but empty is not set.
    let empty = project.run_with_env(&["config", "validate"], &[("STAGECRAFT_CONFIG", "")]);
    assert_eq!(
        empty.stdout(),
        "stagecraft.yml is valid: secrets provider envfile\n"
    );
}

/// `secrets sync` with this config fails with exit code 1 and exactly this message.
#[track_caller]
fn config_fails(yaml: &str, stderr: &str) {
    let project = Project::new();
    project.write("stagecraft.yml", yaml);
    project.run(&["secrets", "sync"]).fails_with(1, stderr);
}

#[test]
fn malformed_yaml_names_line_and_column() {
    config_fails(
        "secrets:\n  provider: envfile\n  providers: [\n",
        "error: stagecraft.yml:4:1: secrets.providers: did not find expected node content\n",
    );
}

#[test]
fn missing_provider() {
    config_fails(
        "secrets:\n  providers:\n    envfile: {}\n",
        "error: stagecraft.yml:2:3: secrets: missing `provider`; set it to one of: encore, envfile, vault\n",
    );
}

#[test]
fn unknown_provider_suggests_the_nearest() {
    config_fails(
        &CONFIG.replace("provider: envfile", "provider: envfle"),
        "error: stagecraft.yml:2:13: secrets.provider: unknown secrets provider \"envfle\"; did you mean \"envfile\"? (registered: encore, envfile, vault)\n",
    );
    Project::new()
        .run(&["secrets", "sync", "--provider", "aws"])
        .fails_with(
            1,
            "error: unknown secrets provider \"aws\" (registered: encore, envfile, vault)\n",
        );
}

#[test]
fn providers_must_be_a_map() {
    config_fails(
        "secrets:\n  provider: envfile\n  providers: envfile\n",
        "error: stagecraft.yml:3:14: secrets.providers: expected a map of provider sections\n",
    );
}

#[test]
fn the_provider_needs_a_section() {
    config_fails(
        "secrets:\n  provider: envfile\n  providers: {}\n",
        "error: stagecraft.yml:3:14: secrets.providers: missing section for provider `envfile`\n",
    );
}

#[test]
fn provider_section_errors_name_the_yaml_path() {
    config_fails(
        &CONFIG.replace("source_file: .env.local", "source_file: [a, b]"),
        "error: stagecraft.yml:5:20: secrets.providers.envfile.source_file: invalid type: list, expected a path\n",
    );
    config_fails(
        &CONFIG.replace("source_file:", "sourcefile:"),
        "error: stagecraft.yml:5:7: secrets.providers.envfile.sourcefile: unknown field `sourcefile`, expected one of `source_file`, `target_file`, `lock_timeout`\n",
    );
}

#[test]
fn other_sections_are_left_alone() {
    let project = Project::new();
    project.write("stagecraft.yml", &format!("project:\n  name: demo\nbackend:\n  provider: encore\nenvironments:\n  staging: {{}}\n{CONFIG}"));
    assert_eq!(project.run(&["secrets", "sync"]).code(), 0);
}

#[test]
fn config_validate_reports_every_problem() {
    let project = Project::new();
    project.write("stagecraft.yml", "secrets:\n  provider: envfle\n  extra: 1\n  providers:\n    envfile:\n      target: x\n    aws: {}\n");
    project.run(&["config", "validate"]).fails_with(
        1,
        "error: stagecraft.yml:3:10: secrets.extra: unknown key `extra`; expected `provider` or `providers`\n\
         error: stagecraft.yml:2:13: secrets.provider: unknown secrets provider \"envfle\"; did you mean \"envfile\"? (registered: encore, envfile, vault)\n\
         error: stagecraft.yml:6:7: secrets.providers.envfile.target: unknown field `target`, expected one of `source_file`, `target_file`, `lock_timeout`\n\
         error: stagecraft.yml:7:10: secrets.providers.aws: unknown secrets provider \"aws\" (registered: encore, envfile, vault)\n",
    );
    project.write("stagecraft.yml", CONFIG);
    let run = project.run(&["config", "validate"]);
    assert_eq!(
        (run.code(), run.stdout()),
        (
            0,
            "stagecraft.yml is valid: secrets provider envfile\n".to_owned()
        )
    );
}

#[test]
fn a_missing_source_file() {
    let project = Project::new();
    fs::remove_file(project.path().join(".env.local")).unwrap();
    project
        .run(&["secrets", "sync"])
        .fails_with(1, "error: .env.local does not exist\n");
    assert_eq!(project.read(".env.staging"), None);
}

#[test]
fn an_external_failure_exits_2() {
    let project = Project::new();
    let run = project.run(&["secrets", "sync", "--to", "/sys/kernel/stagecraft.env"]);
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr()
            .starts_with("error: cannot write /sys/kernel/stagecraft.env\n  caused by: "),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_bad_flag_exits_1_and_help_exits_0() {
    let project = Project::new();
    let run = project.run(&["secrets", "sync", "--bogus"]);
    assert_eq!(run.code(), 1);
    assert!(
        run.stderr().contains("unexpected argument '--bogus'"),
        "{}",
        run.stderr()
    );
    for command in [
        &["--help"][..],
        &["secrets", "sync", "--help"],
        &["secrets", "providers", "--help"],
        &["config", "validate", "--help"],
    ] {
        let run = project.run(command);
        assert_eq!(run.code(), 0);
        assert!(
            run.stdout().contains("Examples:"),
            "{command:?}: {}",
            run.stdout()
        );
    }
}

#[test]
fn providers_are_listed_in_order() {
    let project = Project::empty();
    let run = project.run(&["secrets", "providers"]);
    assert_eq!(run.code(), 0);
    assert_eq!(
        run.stdout(),
        "encore   Pushes env file keys into Encore's secret manager, or its local overrides file. (a source: --from encore:…)\n\
         envfile  Syncs keys from one env file (`.env.local`) to another (`.env.staging`). (a source: --from envfile:…)\n\
         vault    Syncs env files with HashiCorp Vault or OpenBao (KV v2), one secret per environment. (a source: --from vault:…)\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&project.run(&["secrets", "providers", "--json"]).stdout()).unwrap();
    assert_eq!(
        json,
        serde_json::json!([
            {"id": "encore", "description": "Pushes env file keys into Encore's secret manager, or its local overrides file.", "source": true},
            {"id": "envfile", "description": "Syncs keys from one env file (`.env.local`) to another (`.env.staging`).", "source": true},
            {"id": "vault", "description": "Syncs env files with HashiCorp Vault or OpenBao (KV v2), one secret per environment.", "source": true}
        ])
    );
}

/// Every secret holds the canary; no path, normal or failing, may print it, at any log level.
#[test]
fn secret_values_never_reach_the_output() {
    let project = Project::new();
    let secrets = format!(
        "A={CANARY}\nexport B='{CANARY} $'\nC=\"{CANARY}\\n\"\nD={CANARY} # comment\nBARE_KEY\n"
    );
    project.write(".env.local", &secrets);
    project.write(".env.staging", &format!("A=old-{CANARY}\nSTALE={CANARY}\n"));
    let verbose = [("RUST_LOG", "trace")];
    let mut runs = vec![
        project.run_with_env(
            &["-vvv", "secrets", "sync", "--dry-run", "--prune"],
            &verbose,
        ),
        project.run_with_env(&["-vvv", "secrets", "sync", "--json", "--prune"], &verbose),
        project.run_with_env(
            &["-vvv", "secrets", "sync", "--keys", "A,MISSING"],
            &verbose,
        ),
        project.run_with_env(&["-vvv", "config", "validate"], &verbose),
    ];
    // Broken inputs: an unterminated quote and a quoted value followed by text.
    project.write("broken1.env", &format!("A=\"{CANARY}\nB=1\n"));
    project.write("broken2.env", &format!("A='{CANARY}' {CANARY}\n"));
    project.write("broken3.env", &format!("{CANARY} {CANARY}\n"));
    for broken in ["broken1.env", "broken2.env", "broken3.env"] {
        runs.push(project.run_with_env(&["-vvv", "secrets", "sync", "--from", broken], &verbose));
        runs.push(project.run_with_env(&["-vvv", "secrets", "sync", "--to", broken], &verbose));
    }
    // A config whose provider section holds a secret in the wrong place.
    project.write("bad.yml", &format!("secrets:\n  provider: envfile\n  providers:\n    envfile:\n      source_file: [\"{CANARY}\"]\n      token: {CANARY}\n"));
    runs.push(project.run_with_env(
        &["-vvv", "--config", "bad.yml", "config", "validate"],
        &verbose,
    ));
    runs.push(project.run_with_env(
        &["-vvv", "--config", "bad.yml", "secrets", "sync"],
        &verbose,
    ));
    project.write("bad2.yml", &format!("secrets:\n  provider: envfile\n  providers:\n    envfile:\n      source_file: {{\"{CANARY}\": 1}}\n"));
    runs.push(project.run_with_env(
        &["-vvv", "--config", "bad2.yml", "secrets", "sync"],
        &verbose,
    ));

    assert!(runs.iter().any(|r| r.code() == 0), "the normal path ran");
    assert!(
        runs.iter().filter(|r| r.code() == 1).count() >= 8,
        "the error paths ran"
    );
    assert!(
        runs.iter()
            .any(|r| r.stderr().contains("DEBUG") && r.stderr().contains("WARN")),
        "logs were on"
    );
    for run in &runs {
        assert!(
            !run.stdout().contains(CANARY),
            "stdout leaked a secret: {}",
            run.stdout()
        );
        assert!(
            !run.stderr().contains(CANARY),
            "stderr leaked a secret: {}",
            run.stderr()
        );
    }
    assert!(
        project.read(".env.staging").unwrap().contains(CANARY),
        "the secrets were synced"
    );
}

const OLD_TARGET: &str = "OLD=1\n";
const BIG_SYNC: [&str; 8] = [
    "secrets",
    "sync",
    "--provider",
    "envfile",
    "--from",
    "big.env",
    "--to",
    "target.env",
];

/// A project whose sync of a large source into `target.env` takes long enough to be interrupted.
struct BigSync {
    project: Project,
    /// How long one whole sync took.
    full: std::time::Duration,
    /// What the target holds after a whole sync.
    new: String,
}

impl BigSync {
    fn new() -> Self {
        let project = Project::empty();
        let mut source = String::new();
        for i in 0..60_000 {
            source.push_str(&format!(
                "KEY_{i}='value {i} with some padding to make the file large'\n"
            ));
        }
        project.write("big.env", &source);
        project.write("target.env", OLD_TARGET);
        let started = std::time::Instant::now();
        assert_eq!(project.run(&BIG_SYNC).code(), 0);
        let full = started.elapsed();
        let new = project.read("target.env").unwrap();
        BigSync { project, full, new }
    }

    /// Puts the old target back and starts a sync, its stderr piped.
    fn spawn(&self) -> std::process::Child {
        self.project.write("target.env", OLD_TARGET);
        Command::new(env!("CARGO_BIN_EXE_stagecraft"))
            .args(BIG_SYNC)
            .current_dir(self.project.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The target, after asserting that it is whole: the old one or the new one.
    #[track_caller]
    fn whole_target(&self, after: &str) -> String {
        let target = self.project.read("target.env").unwrap();
        assert!(
            target == OLD_TARGET || target == self.new,
            "{after} left a partial target: {} bytes",
            target.len()
        );
        target
    }
}

/// SIGKILL at any moment of a sync leaves the target whole: the old file or the new one.
#[test]
fn a_killed_sync_leaves_the_old_or_the_new_target() {
    let big = BigSync::new();
    let (mut saw_old, mut saw_new) = (false, false);
    for attempt in 0..20u32 {
        // Kill times spread from the start to three times as long as a whole sync took.
        let delay = big.full * attempt * 3 / 19;
        let mut child = big.spawn();
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        let target = big.whole_target(&format!("a kill after {delay:?}"));
        saw_old |= target == OLD_TARGET;
        saw_new |= target == big.new;
    }
    assert!(
        saw_old && saw_new,
        "the kills landed both before and after the replace"
    );
}

/// Ctrl-C at any moment of a sync leaves no temporary copy of the secrets and a whole target:
/// before the temporary file exists the process stops at once (the old target); while it exists
/// the sync is completed first (the new target), and says so.
#[test]
fn an_interrupted_sync_leaves_no_temporary_file() {
    let big = BigSync::new();
    let (mut completed, mut stopped) = (0, 0);
    for attempt in 0..12u32 {
        let delay = big.full * attempt / 8;
        let child = big.spawn();
        std::thread::sleep(delay);
        let sent = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let target = big.whole_target(&format!("an interrupt after {delay:?}"));
        let stray: Vec<_> = fs::read_dir(big.project.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".tmp"))
            .collect();
        assert!(stray.is_empty(), "temporary files left behind: {stray:?}");
        if !sent.success() || output.status.code() != Some(130) {
            continue;
        }
        match String::from_utf8_lossy(&output.stderr).as_ref() {
            "error: interrupted; the sync under way was completed first\n" => {
                assert_eq!(target, big.new, "an interrupted write is completed");
                completed += 1;
            }
            "error: interrupted\n" => stopped += 1,
            other => panic!("unexpected message: {other}"),
        }
    }
    assert!(completed + stopped > 0, "some signal landed during a sync");
}

//! Sources read by one provider and synced by another (`--from <provider>:<location>`), through
//! the real binary: the Encore app's local overrides into an env file, a real OpenBao server's
//! environment into an env file and into the local overrides. Values never reach the output.

mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use support::bao::{DevServer, ROOT_TOKEN};

const CANARY: &str = "canary-source-81c0f5e2";

fn stagecraft(dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .arg("-vvv")
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("VAULT_ADDR")
        .env("HOME", dir)
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains(CANARY), "a value was printed:\n{text}");
    }
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn encore_local_overrides_into_an_env_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    // The overrides are read where Encore reads them: next to `encore.app`.
    fs::write(path.join("encore.app"), "{\"id\": \"\"}\n").unwrap();
    fs::write(
        path.join(".secrets.local.cue"),
        format!("// local\nApiKey: \"{CANARY}\"\nDB_URL: \"postgres://x\"\nApiKey: \"{CANARY}\"\n"),
    )
    .unwrap();
    fs::write(path.join(".env"), "# kept\nDB_URL=old\n").unwrap();
    let sync = [
        "secrets",
        "sync",
        "--provider",
        "envfile",
        "--from",
        "encore:local-overrides",
        "--to",
        ".env",
    ];
    let output = stagecraft(path, &[&sync[..], &["--json"]].concat());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["source"], "encore:local-overrides");
    assert_eq!(
        report["changes"],
        serde_json::json!([
            {"key": "ApiKey", "action": "added"},
            {"key": "DB_URL", "action": "changed"}
        ])
    );
    assert_eq!(
        fs::read_to_string(path.join(".env")).unwrap(),
        format!("# kept\nDB_URL=postgres://x\nApiKey={CANARY}\n")
    );
    // The same rules as any source: a key it lacks is exit 1, naming the source.
    let output = stagecraft(path, &[&sync[..], &["--keys", "NOPE"]].concat());
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("encore:local-overrides does not define NOPE"),
        "{}",
        text(&output.stderr)
    );
    // No overrides file: an error, never an empty source (which `--prune` would apply).
    fs::remove_file(path.join(".secrets.local.cue")).unwrap();
    let output = stagecraft(path, &[&sync[..], &["--prune"]].concat());
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains(".secrets.local.cue does not exist"),
        "{}",
        text(&output.stderr)
    );
    assert!(
        fs::read_to_string(path.join(".env"))
            .unwrap()
            .contains("ApiKey")
    );
    // No Encore app: there are no overrides Encore would read, so none are read.
    fs::remove_file(path.join("encore.app")).unwrap();
    let output = stagecraft(path, &sync);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("no encore.app in"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn a_vault_environment_into_an_env_file_and_the_encore_local_overrides() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    fs::write(path.join("encore.app"), "{\"id\": \"\"}\n").unwrap();
    fs::write(
        path.join("stagecraft.yml"),
        format!(
            "secrets:\n  provider: encore\n  providers:\n    vault:\n      address: {}\n      path: myapp\n      timeout: 5s\n    encore:\n      source_file: .env.local\n",
            server.address
        ),
    )
    .unwrap();
    server.cli(&[
        "kv",
        "put",
        "-mount=secret",
        "myapp/staging",
        &format!("API_KEY={CANARY}"),
        "MODE=a b",
    ]);

    // vault → encore (local overrides): the configured provider takes the vault source.
    let output = stagecraft(
        path,
        &[
            "secrets",
            "sync",
            "--from",
            "vault:staging",
            "--to",
            "local-overrides",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("vault:staging"),
        "{}",
        text(&output.stdout)
    );
    let cue = fs::read_to_string(path.join(".secrets.local.cue")).unwrap();
    assert!(cue.contains(&format!("API_KEY: \"{CANARY}\"")), "{cue}");
    assert!(cue.contains("MODE: \"a b\""), "{cue}");

    // vault → env file with the envfile provider; the vault section is read for the source.
    let output = stagecraft(
        path,
        &[
            "secrets",
            "sync",
            "--provider",
            "envfile",
            "--from",
            "vault:staging",
            "--to",
            ".env.out",
            "--keys",
            "API_KEY",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(
        fs::read_to_string(path.join(".env.out")).unwrap(),
        format!("API_KEY={CANARY}\n")
    );

    // A source that does not exist fails the sync (exit 1) with nothing written.
    let output = stagecraft(
        path,
        &[
            "secrets",
            "sync",
            "--from",
            "vault:prod",
            "--to",
            "local-overrides",
            "--prune",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("vault:prod does not exist"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(
        fs::read_to_string(path.join(".secrets.local.cue")).unwrap(),
        cue
    );
}

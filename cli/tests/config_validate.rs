//! `stagecraft config validate` as a user reads it: every mistake of every section at once, in
//! file order and in the user's words (no Rust type names, no value quoted), and what can be
//! checked on this machine without a remote (files, directories, `encore.app`, variables).

use std::path::Path;
use std::process::Command;

/// A value that must never be shown.
const CANARY: &str = "canary-7f3a9c01";

/// Runs `stagecraft config validate` in `dir` with `env` set (and VAULT_* unset): the exit
/// code, stdout and stderr.
fn validate(dir: &Path, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stagecraft"));
    command
        .args(["config", "validate"])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("STAGECRAFT_CONFIG")
        .env("NO_COLOR", "1")
        .env("HOME", dir);
    for var in [
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "VAULT_CACERT",
        "VAULT_NAMESPACE",
    ] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    let out = command.output().unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (
        out.status.code().unwrap(),
        text(out.stdout),
        text(out.stderr),
    )
}

/// A project directory holding `stagecraft.yml` with `config`.
fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stagecraft.yml"), config).unwrap();
    dir
}

#[test]
fn every_mistake_of_every_section_is_reported_in_file_order() {
    let dir = project(&format!(
        "secrets:
  provider: vault
  providers:
    vault:
      address: {CANARY}
      bogus: 1
      mount: ../x
      token_file: 123
    encore:
      concurrency: 0
      source_file: 7
"
    ));
    let (code, stdout, stderr) = validate(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "error: stagecraft.yml:5:16: secrets.providers.vault.address: the address is not an http:// or https:// URL
error: stagecraft.yml:6:7: secrets.providers.vault.bogus: unknown field `bogus`, expected one of `address`, `mount`, `path`, `token_env`, `token_file`, `role_id`, `secret_id_env`, `approle_mount`, `namespace`, `ca_file`, `timeout`, `source`, `target`
error: stagecraft.yml:7:14: secrets.providers.vault.mount: expected names of letters, digits, `.`, `_` and `-` separated by `/`
error: stagecraft.yml:8:19: secrets.providers.vault.token_file: invalid type: integer, expected a path
error: stagecraft.yml:10:20: secrets.providers.encore.concurrency: invalid value: integer, expected a whole number from 1 to 18446744073709551615
error: stagecraft.yml:11:20: secrets.providers.encore.source_file: invalid type: integer, expected a path
"
    );
    assert!(!stderr.contains(CANARY));
}

#[test]
fn an_address_in_a_list_is_named_by_its_place_not_its_value() {
    let dir = project(&format!(
        "secrets:\n  provider: vault\n  providers:\n    vault:\n      address: [http://a:8200, {CANARY}]\n"
    ));
    let (code, _, stderr) = validate(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "error: stagecraft.yml:5:16: secrets.providers.vault.address: address 2 of 2 is not an http:// or https:// URL\n"
    );
}

#[test]
fn every_provider_reads_a_duration_the_same_way() {
    for timeout in ["45", "2.5", "500ms", "12s", "2m", "\"30\""] {
        let dir = project(&format!(
            "secrets:\n  provider: envfile\n  providers:\n    envfile: {{}}\n    encore:\n      timeout: {timeout}\n    vault:\n      address: http://127.0.0.1:8200\n      timeout: {timeout}\n"
        ));
        std::fs::write(dir.path().join("encore.app"), "{}").unwrap();
        let (code, stdout, stderr) = validate(dir.path(), &[("VAULT_TOKEN", "t")]);
        assert_eq!(code, 0, "timeout: {timeout}\n{stderr}");
        assert_eq!(
            stdout,
            "stagecraft.yml is valid: secrets provider envfile\n"
        );
    }
    for timeout in ["0", "1m 30s", "2h", "soon", "-1"] {
        let dir = project(&format!(
            "secrets:\n  provider: envfile\n  providers:\n    envfile: {{}}\n    encore:\n      timeout: {timeout}\n    vault:\n      timeout: {timeout}\n"
        ));
        let (code, _, stderr) = validate(dir.path(), &[]);
        assert_eq!(code, 1, "timeout: {timeout}");
        // The same rule, so the same words for both.
        let words: Vec<&str> = stderr
            .lines()
            .map(|line| line.split_once(".timeout: ").unwrap().1)
            .collect();
        assert_eq!(words.len(), 2, "{stderr}");
        assert_eq!(words[0], words[1], "{stderr}");
        assert!(
            words[0].ends_with(
                "expected a positive number of seconds, or a duration such as 500ms, 30s or 2m"
            ),
            "{stderr}"
        );
    }
}

#[test]
fn missing_files_directories_and_encore_app_are_found_without_a_sync() {
    let dir = project(
        "secrets:
  provider: envfile
  providers:
    envfile:
      source_file: .env.local
      target_file: deploy/.env.staging
    encore:
      source_file: .env.local
      app_dir: backend
",
    );
    let (code, stdout, stderr) = validate(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "warning: stagecraft.yml:5:20: secrets.providers.envfile.source_file: the file does not exist here: `stagecraft secrets sync` will fail unless --from names another
warning: stagecraft.yml:8:20: secrets.providers.encore.source_file: the file does not exist here: `stagecraft secrets sync` will fail unless --from names another
error: stagecraft.yml:6:20: secrets.providers.envfile.target_file: the directory of the file does not exist: create it, or correct the path
error: stagecraft.yml:9:16: secrets.providers.encore.app_dir: the directory does not exist
"
    );

    std::fs::create_dir(dir.path().join("deploy")).unwrap();
    std::fs::create_dir(dir.path().join("backend")).unwrap();
    std::fs::write(dir.path().join(".env.local"), "A=1\n").unwrap();
    let (code, _, stderr) = validate(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "error: stagecraft.yml:9:16: secrets.providers.encore.app_dir: no encore.app in this directory or any directory above it\n"
    );

    // encore.app above app_dir counts, as the encore CLI looks for it.
    std::fs::write(dir.path().join("encore.app"), "{}").unwrap();
    let (code, stdout, stderr) = validate(dir.path(), &[]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(
        stdout,
        "stagecraft.yml is valid: secrets provider envfile\n"
    );
}

#[test]
fn a_token_or_address_missing_on_this_machine_is_a_warning() {
    let dir = project(
        "secrets:\n  provider: vault\n  providers:\n    vault:\n      token_env: DEPLOY_TOKEN\n",
    );
    let (code, stdout, stderr) = validate(dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(stdout, "stagecraft.yml is valid: secrets provider vault\n");
    assert_eq!(
        stderr,
        "warning: stagecraft.yml:5:18: secrets.providers.vault.token_env: the variable it names is not set here
warning: stagecraft.yml:4:5: secrets.providers.vault: no `address`, and VAULT_ADDR is not set here
"
    );
    let (_, _, stderr) = validate(
        dir.path(),
        &[("DEPLOY_TOKEN", CANARY), ("VAULT_ADDR", "http://x:1")],
    );
    assert_eq!(stderr, "");

    // No token setting: VAULT_TOKEN, then ~/.vault-token.
    let dir = project(
        "secrets:\n  provider: vault\n  providers:\n    vault:\n      address: http://x:1\n",
    );
    let (_, _, stderr) = validate(dir.path(), &[]);
    assert_eq!(
        stderr,
        "warning: stagecraft.yml:4:5: secrets.providers.vault: no token here: VAULT_TOKEN is not set and there is no ~/.vault-token (`bao login` writes it)\n"
    );
    std::fs::write(dir.path().join(".vault-token"), CANARY).unwrap();
    let (_, _, stderr) = validate(dir.path(), &[]);
    assert_eq!(stderr, "");
}

#[test]
fn config_help_describes_both_subcommands() {
    let out = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .args(["config", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.starts_with(
            "Check stagecraft.yml (validate) and print its JSON Schema for editors (schema)\n"
        ),
        "{help}"
    );
    assert!(help.contains("  validate  "), "{help}");
    assert!(help.contains("  schema    "), "{help}");
}

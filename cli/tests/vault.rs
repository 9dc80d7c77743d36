//! The `vault` provider against real OpenBao servers that the tests start themselves (see
//! `support/bao.rs`): the `stagecraft` binary with its exit codes and messages, the secrets as
//! `bao kv get` reads them back, and a canary value that must never be printed.

mod support;

use serde_json::{Map, Value};
use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::bao::{self, DevServer, ROOT_TOKEN};
use support::proxy::{OnWrite, Proxy};

const CANARY: &str = "canary-vault-9d1f3c52aa07";

/// What a sealed server answers.
const SEALED: &str = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 30\r\nConnection: close\r\n\r\n{\"errors\":[\"Vault is sealed\"]}";

/// A project folder with a `stagecraft.yml` for the vault provider.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    /// A project whose config points at `addresses` with `extra` YAML lines for the section.
    fn new(addresses: &[&str], extra: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let timeout = if extra.contains("timeout:") {
            ""
        } else {
            "      timeout: 15s\n"
        };
        let list: String = addresses
            .iter()
            .map(|a| format!("\n        - {a}"))
            .collect();
        fs::write(
            dir.path().join("stagecraft.yml"),
            format!(
                "secrets:\n  provider: vault\n  providers:\n    vault:\n      address:{list}\n      path: myapp\n{timeout}{extra}"
            ),
        )
        .unwrap();
        Project { dir }
    }

    fn write(&self, name: &str, text: &str) {
        fs::write(self.dir.path().join(name), text).unwrap();
    }

    fn read(&self, name: &str) -> String {
        fs::read_to_string(self.dir.path().join(name)).unwrap()
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `stagecraft` with `args` at -vvv, with the root token unless `env` sets another.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_stagecraft"));
        command
            .arg("-vvv")
            .args(args)
            .current_dir(self.path())
            .env_remove("RUST_LOG")
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_NAMESPACE")
            .env_remove("VAULT_CACERT")
            // No ~/.vault-token but the test's own.
            .env("HOME", self.path())
            .env("VAULT_TOKEN", ROOT_TOKEN)
            .env("NO_COLOR", "1");
        for (key, value) in env {
            command.env(key, value);
        }
        let run = Run(command.output().unwrap());
        run.assert_no_secret();
        run
    }

    fn sync(&self, args: &[&str]) -> Run {
        let mut all = vec!["secrets", "sync"];
        all.extend_from_slice(args);
        self.run(&all, &[])
    }
}

struct Run(Output);

impl Run {
    fn code(&self) -> i32 {
        self.0.status.code().unwrap()
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    /// stderr without the -vvv log lines.
    fn error(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr)
            .lines()
            .filter(|l| l.starts_with("error") || l.starts_with("  caused by"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn assert_no_secret(&self) {
        for (name, stream) in [("stdout", &self.0.stdout), ("stderr", &self.0.stderr)] {
            let text = String::from_utf8_lossy(stream);
            assert!(
                !text.contains(CANARY),
                "the canary value is in {name}:\n{text}"
            );
            assert!(
                !text.contains(ROOT_TOKEN),
                "the token is in {name}:\n{text}"
            );
        }
    }

    #[track_caller]
    fn succeeds(&self) -> &Self {
        assert_eq!(
            self.code(),
            0,
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.error()
        );
        self
    }

    #[track_caller]
    fn fails(&self, code: i32, message: &[&str]) {
        assert_eq!(
            self.code(),
            code,
            "stdout: {}\nstderr: {}",
            self.stdout(),
            self.error()
        );
        for part in message {
            assert!(
                self.error().contains(part),
                "{part:?} is not in: {}",
                self.error()
            );
        }
    }

    #[track_caller]
    fn says(&self, line: &str) -> &Self {
        assert!(
            self.stdout().contains(line),
            "{line:?} is not in:\n{}",
            self.stdout()
        );
        self
    }
}

/// The version and fields of `secret/myapp/<environment>`, read with `bao`.
fn kv(server: &DevServer, environment: &str) -> Option<(u64, Map<String, Value>)> {
    let out = bao::bao_cli(
        &server.bao,
        &server.address,
        &[
            "kv",
            "get",
            "-format=json",
            "-mount=secret",
            &format!("myapp/{environment}"),
        ],
    );
    if !out.status.success() {
        return None;
    }
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let version = doc["data"]["metadata"]["version"].as_u64().unwrap();
    let Value::Object(fields) = doc["data"]["data"].clone() else {
        panic!("no data")
    };
    Some((version, fields))
}

fn fields(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect()
}

#[test]
fn push_pull_copy_and_prune_on_a_dev_server() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let project = Project::new(&[&server.address], "");
    project.write(
        ".env.local",
        &format!("DATABASE_URL=postgres://db/app\nAPI_KEY={CANARY}\nMULTI=\"a\nb\"\n"),
    );

    // Push: one version holding every key.
    project
        .sync(&["--from", ".env.local", "--to", "vault:staging"])
        .succeeds()
        .says("3 added, 0 changed, 0 unchanged, 0 removed");
    let expected = fields(&[
        ("DATABASE_URL", "postgres://db/app"),
        ("API_KEY", CANARY),
        ("MULTI", "a\nb"),
    ]);
    assert_eq!(kv(&server, "staging"), Some((1, expected.clone())));

    // Idempotence: nothing changed, no new version.
    project
        .sync(&["--from", ".env.local", "--to", "vault:staging"])
        .succeeds()
        .says("0 added, 0 changed, 3 unchanged, 0 removed");
    assert_eq!(kv(&server, "staging").unwrap().0, 1);

    // A dry run reads and reports, and writes nothing.
    project.write(
        ".env.local",
        "DATABASE_URL=postgres://db/app2\nMULTI=\"a\nb\"\n",
    );
    project
        .sync(&[
            "--from",
            ".env.local",
            "--to",
            "vault:staging",
            "--dry-run",
            "--prune",
        ])
        .succeeds()
        .says("0 added, 1 changed, 1 unchanged, 1 removed");
    assert_eq!(kv(&server, "staging"), Some((1, expected)));

    // --keys pushes only the keys named.
    project
        .sync(&[
            "--from",
            ".env.local",
            "--to",
            "vault:staging",
            "--keys",
            "DATABASE_URL",
        ])
        .succeeds()
        .says("0 added, 1 changed, 0 unchanged, 0 removed");
    let (version, after) = kv(&server, "staging").unwrap();
    assert_eq!(version, 2);
    assert_eq!(after["API_KEY"], CANARY, "a key not named is kept");

    // --prune removes the fields the source lacks.
    project
        .sync(&["--from", ".env.local", "--to", "vault:staging", "--prune"])
        .succeeds()
        .says("0 added, 0 changed, 2 unchanged, 1 removed");
    assert_eq!(
        kv(&server, "staging"),
        Some((
            3,
            fields(&[("DATABASE_URL", "postgres://db/app2"), ("MULTI", "a\nb")])
        ))
    );

    // Copy one environment to another.
    project
        .sync(&["--from", "vault:staging", "--to", "vault:prod"])
        .succeeds()
        .says("2 added");
    assert_eq!(
        kv(&server, "prod").unwrap().1,
        kv(&server, "staging").unwrap().1
    );

    // Pull into an existing env file: merged with the envfile rules, comments kept.
    server.cli(&[
        "kv",
        "patch",
        "-mount=secret",
        "myapp/staging",
        &format!("TOKEN={CANARY}"),
        "not-an-env-name=x",
        "a.b=y",
    ]);
    project.write(
        ".env.staging",
        "# staging\nDATABASE_URL=old\nLOCAL_ONLY=1\n",
    );
    let pulled = project.sync(&["--from", "vault:staging", "--to", ".env.staging"]);
    pulled.succeeds().says("2 skipped");
    assert!(
        pulled.stdout().contains("not-an-env-name"),
        "{}",
        pulled.stdout()
    );
    assert!(pulled.stdout().contains("a.b"), "{}", pulled.stdout());
    assert_eq!(
        project.read(".env.staging"),
        format!(
            "# staging\nDATABASE_URL=postgres://db/app2\nLOCAL_ONLY=1\nMULTI=\"a\\nb\"\nTOKEN={CANARY}\n"
        )
    );
    let again = project.sync(&["--from", "vault:staging", "--to", ".env.staging"]);
    again.succeeds().says("0 added, 0 changed, 3 unchanged");

    // Asking for a field that cannot be an env name is an error, not a silent drop.
    project
        .sync(&[
            "--from",
            "vault:staging",
            "--to",
            ".env.staging",
            "--keys",
            "a.b",
        ])
        .fails(1, &["a.b cannot be written to an env file"]);
    project
        .sync(&[
            "--from",
            "vault:staging",
            "--to",
            ".env.staging",
            "--keys",
            "NOPE",
        ])
        .fails(1, &["vault:staging does not define NOPE"]);

    // Pull of an environment that does not exist: an error, as a missing env file is.
    project
        .sync(&[
            "--from",
            "vault:nowhere",
            "--to",
            ".env.nowhere",
            "--dry-run",
        ])
        .fails(1, &["vault:nowhere does not exist"]);
}

#[test]
fn approle_logs_in_with_the_secret_id_from_the_environment() {
    let Some(server) = DevServer::start() else {
        return;
    };
    server.cli(&["auth", "enable", "approle"]);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.hcl");
    fs::write(
        &policy,
        "path \"secret/data/myapp/*\" { capabilities = [\"create\", \"read\", \"update\"] }\n",
    )
    .unwrap();
    server.cli(&["policy", "write", "app", policy.to_str().unwrap()]);
    server.cli(&["write", "auth/approle/role/app", "token_policies=app"]);
    let role_id = server.cli(&["read", "-field=role_id", "auth/approle/role/app/role-id"]);
    let secret_id = server.cli(&[
        "write",
        "-f",
        "-field=secret_id",
        "auth/approle/role/app/secret-id",
    ]);
    let project = Project::new(
        &[&server.address],
        &format!(
            "      role_id: {}\n      secret_id_env: APP_SECRET_ID\n",
            role_id.trim()
        ),
    );
    project.write(".env.local", &format!("API_KEY={CANARY}\n"));
    let args = [
        "secrets",
        "sync",
        "--from",
        ".env.local",
        "--to",
        "vault:staging",
    ];
    project
        .run(
            &args,
            &[("APP_SECRET_ID", secret_id.trim()), ("VAULT_TOKEN", "")],
        )
        .succeeds();
    assert_eq!(
        kv(&server, "staging").unwrap().1,
        fields(&[("API_KEY", CANARY)])
    );
    project
        .run(&args, &[("APP_SECRET_ID", "wrong"), ("VAULT_TOKEN", "")])
        .fails(2, &[&server.address]);
    project
        .run(&args, &[])
        .fails(1, &["environment variable APP_SECRET_ID is not set"]);
}

#[test]
fn a_concurrent_writer_fails_the_sync_with_nothing_written() {
    let Some(server) = DevServer::start() else {
        return;
    };
    server.cli(&["kv", "put", "-mount=secret", "myapp/staging", "A=1"]);
    let (bao_bin, address) = (server.bao.clone(), server.address.clone());
    let proxy = Proxy::start(
        &server.address,
        OnWrite::RunFirst(Box::new(move || {
            bao::bao_ok(
                &bao_bin,
                &address,
                &["kv", "put", "-mount=secret", "myapp/staging", "A=theirs"],
            );
        })),
    );
    let project = Project::new(&[&proxy.address], "");
    project.write(".env.local", &format!("A=ours\nB={CANARY}\n"));
    project
        .sync(&["--from", ".env.local", "--to", "vault:staging"])
        .fails(
            2,
            &[
                "changed since planned",
                "version 1 when read, now 2",
                "nothing was written",
            ],
        );
    assert!(proxy.triggered.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(
        kv(&server, "staging"),
        Some((2, fields(&[("A", "theirs")])))
    );

    // Run again, it plans on the new version and succeeds.
    project
        .sync(&["--from", ".env.local", "--to", "vault:staging"])
        .succeeds();
    assert_eq!(
        kv(&server, "staging"),
        Some((3, fields(&[("A", "ours"), ("B", CANARY)])))
    );
}

#[test]
fn a_write_whose_answer_is_lost_is_confirmed_by_reading_again() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let proxy = Proxy::start(&server.address, OnWrite::LoseAnswer);
    let project = Project::new(&[&proxy.address], "");
    project.write(".env.local", &format!("A=1\nB={CANARY}\n"));
    project
        .sync(&["--from", ".env.local", "--to", "vault:staging"])
        .succeeds()
        .says("2 added");
    assert!(proxy.triggered.load(std::sync::atomic::Ordering::SeqCst));
    // Written once: the retry saw its own version and did not write again.
    assert_eq!(
        kv(&server, "staging"),
        Some((1, fields(&[("A", "1"), ("B", CANARY)])))
    );
}

#[test]
fn wrong_token_and_denying_policy_report_permission_denied() {
    let Some(server) = DevServer::start() else {
        return;
    };
    server.cli(&["kv", "put", "-mount=secret", "myapp/staging", "A=1"]);
    let denied = server.token_with_policy(
        "deny-myapp",
        "path \"secret/data/myapp/*\" { capabilities = [\"deny\"] }\npath \"secret/data/other/*\" { capabilities = [\"read\"] }\n",
    );
    let project = Project::new(&[&server.address], "");
    project.write(".env.local", &format!("A={CANARY}\n"));
    let args = [
        "secrets",
        "sync",
        "--from",
        ".env.local",
        "--to",
        "vault:staging",
    ];
    for token in ["not-a-token", denied.as_str()] {
        project.run(&args, &[("VAULT_TOKEN", token)]).fails(
            2,
            &[
                &format!("vault at {}: permission denied to read", server.address),
                "secret/data/myapp/staging",
                "expired, revoked or read-only",
                "`bao token lookup`",
            ],
        );
    }
    let pull = [
        "secrets",
        "sync",
        "--from",
        "vault:staging",
        "--to",
        ".env.x",
    ];
    project
        .run(&pull, &[("VAULT_TOKEN", denied.as_str())])
        .fails(2, &["permission denied"]);
    assert!(!project.path().join(".env.x").exists());
    assert_eq!(kv(&server, "staging"), Some((1, fields(&[("A", "1")]))));
}

#[test]
fn down_sealed_and_silent_servers_are_named_with_the_reason() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let down = format!("http://127.0.0.1:{}", bao::free_port());
    // Accepts connections (the kernel does) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = format!("http://{}", silent.local_addr().unwrap());

    // Failover: the first address is down, the second serves.
    let project = Project::new(&[&down, &server.address], "");
    project.write(".env.local", &format!("A={CANARY}\n"));
    let push = ["--from", ".env.local", "--to", "vault:staging"];
    project.sync(&push).succeeds();
    assert_eq!(kv(&server, "staging").unwrap().0, 1);

    let only_down = Project::new(&[&down], "");
    only_down.write(".env.local", "A=1\n");
    only_down
        .sync(&push)
        .fails(2, &[&format!("{down}: connection refused")]);

    let only_silent = Project::new(&[&silent], "      timeout: 1s\n");
    only_silent.write(".env.local", "A=1\n");
    only_silent
        .sync(&push)
        .fails(2, &[&format!("{silent}: timed out")]);

    server.seal();
    project.write(".env.local", "A=2\n");
    project.sync(&push).fails(
        2,
        &[
            &format!("{down}: connection refused"),
            &format!("{}: server is sealed", server.address),
        ],
    );
}

#[test]
fn bad_config_and_a_missing_token_exit_1() {
    let project = Project::new(&["http://127.0.0.1:1"], "");
    project.write(".env.local", "A=1\n");
    let push = [
        "secrets",
        "sync",
        "--from",
        ".env.local",
        "--to",
        "vault:staging",
    ];
    project
        .run(&push, &[("VAULT_TOKEN", "")])
        .fails(1, &["environment variable VAULT_TOKEN is not set"]);
    project
        .run(
            &["secrets", "sync", "--from", ".env.local", "--to", ".env.b"],
            &[],
        )
        .fails(1, &["neither .env.local nor .env.b is a vault environment"]);
    project
        .run(
            &[
                "secrets",
                "sync",
                "--from",
                ".env.local",
                "--to",
                "vault:a/b",
            ],
            &[],
        )
        .fails(1, &["\"vault:a/b\" is not a vault environment"]);
    project
        .run(
            &[
                "secrets",
                "sync",
                "--from",
                ".env.missing",
                "--to",
                "vault:a",
            ],
            &[],
        )
        .fails(1, &[".env.missing does not exist"]);

    for (extra, message) in [
        ("      token: abc\n", "unknown field `token`"),
        ("      timeout: soon\n", "secrets.providers.vault.timeout"),
        ("      role_id: r\n", "AppRole needs `secret_id_env`"),
        (
            "      role_id: r\n      secret_id_env: S\n      token_env: T\n",
            "either a token (`token_env`, `token_file`) or AppRole",
        ),
    ] {
        let bad = Project::new(&["http://127.0.0.1:1"], extra);
        bad.run(&["config", "validate"], &[]).fails(1, &[message]);
    }
    let bad = Project::new(&["ftp://x"], "");
    bad.run(&["config", "validate"], &[])
        .fails(1, &["is not an http:// or https:// URL"]);
    let providers = project.run(&["secrets", "providers"], &[]);
    providers.succeeds().says("vault");
}

/// Review: `--keys A --prune` removes only what the source lacks, as envfile does, never the
/// fields the source defines but `--keys` left out.
#[test]
fn prune_with_keys_keeps_the_fields_the_source_defines() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let project = Project::new(&[&server.address], "");
    project.write(".env.local", &format!("A=1\nB={CANARY}\nC=3\n"));
    project
        .sync(&["--from", ".env.local", "--to", "vault:staging"])
        .succeeds();
    server.cli(&["kv", "patch", "-mount=secret", "myapp/staging", "STALE=x"]);
    project.write(".env.local", &format!("A=2\nB={CANARY}\nC=3\n"));
    project
        .sync(&[
            "--from",
            ".env.local",
            "--to",
            "vault:staging",
            "--keys",
            "A",
            "--prune",
        ])
        .succeeds()
        .says("0 added, 1 changed, 0 unchanged, 1 removed");
    let expected = fields(&[("A", "2"), ("B", CANARY), ("C", "3")]);
    assert_eq!(kv(&server, "staging"), Some((3, expected)));
}

/// Review: a source environment that does not exist (a typo) is an error, like a missing
/// source file, rather than an empty source that `--prune` would wipe the target with.
#[test]
fn a_source_environment_that_does_not_exist_is_an_error() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let project = Project::new(&[&server.address], "");
    project.write(".env.local", &format!("A=1\nB={CANARY}\n"));
    project
        .sync(&["--from", ".env.local", "--to", "vault:prod"])
        .succeeds();
    project
        .sync(&["--from", "vault:stagign", "--to", "vault:prod", "--prune"])
        .fails(1, &["vault:stagign does not exist"]);
    assert_eq!(kv(&server, "prod").unwrap().1.len(), 2);
    project
        .sync(&["--from", "vault:stagign", "--to", ".env.local", "--prune"])
        .fails(1, &["vault:stagign does not exist"]);
    assert_eq!(project.read(".env.local"), format!("A=1\nB={CANARY}\n"));
}

/// Review: a token or namespace that cannot be an HTTP header (a token pasted with its
/// newline) is an input error naming the variable or setting, not a panic in the client.
#[test]
fn a_token_or_namespace_with_a_control_character_exits_1() {
    let project = Project::new(&["http://127.0.0.1:1"], "");
    project.write(".env.local", "A=1\n");
    let push = [
        "secrets",
        "sync",
        "--from",
        ".env.local",
        "--to",
        "vault:staging",
    ];
    for token in [
        "stagecraft-test-root\n",
        "stagecraft-test-root\r",
        "tok\u{e9}n",
    ] {
        project.run(&push, &[("VAULT_TOKEN", token)]).fails(
            1,
            &[
                "environment variable VAULT_TOKEN",
                "cannot be a vault token",
            ],
        );
    }
    let bad = Project::new(&["http://127.0.0.1:1"], "      namespace: \"team\\n\"\n");
    bad.write(".env.local", "A=1\n");
    bad.run(&["config", "validate"], &[])
        .fails(1, &["secrets.providers.vault.namespace"]);
    bad.run(&push, &[])
        .fails(1, &["secrets.providers.vault.namespace"]);
}

/// Review: a user name or password in an address is refused without being shown, from the
/// config and from VAULT_ADDR, since every error names the address.
#[test]
fn an_address_with_a_password_is_refused_without_showing_it() {
    let bad = Project::new(&["http://admin:pw-9d1f3c52@127.0.0.1:1"], "");
    bad.write(".env.local", "A=1\n");
    let run = bad.run(&["config", "validate"], &[]);
    run.fails(1, &["must not hold a user name or password"]);
    assert!(
        !format!("{:?}", run.0).contains("pw-9d1f3c52"),
        "{:?}",
        run.0
    );

    let project = Project::new(&[], "");
    fs::write(
        project.path().join("stagecraft.yml"),
        "secrets:\n  provider: vault\n  providers:\n    vault:\n      path: myapp\n",
    )
    .unwrap();
    project.write(".env.local", "A=1\n");
    let push = [
        "secrets",
        "sync",
        "--from",
        ".env.local",
        "--to",
        "vault:staging",
    ];
    let run = project.run(
        &push,
        &[("VAULT_ADDR", "http://admin:pw-9d1f3c52@127.0.0.1:1")],
    );
    run.fails(
        1,
        &["VAULT_ADDR: the address must not hold a user name or password"],
    );
    assert!(
        !format!("{:?}", run.0).contains("pw-9d1f3c52"),
        "{:?}",
        run.0
    );
}

/// Review: a field that is pulled as skipped (a number, say) is in the source, so `--prune`
/// keeps its key in the env file rather than reporting it both skipped and removed.
#[test]
fn prune_keeps_the_keys_of_skipped_fields_when_pulling() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let project = Project::new(&[&server.address], "");
    project.write(
        "fields.json",
        &format!("{{\"PORT\": 5432, \"TOKEN\": \"{CANARY}\"}}"),
    );
    let file = project.path().join("fields.json");
    server.cli(&[
        "kv",
        "put",
        "-mount=secret",
        "myapp/staging",
        &format!("@{}", file.display()),
    ]);
    project.write(".env.staging", "PORT=5432\nGONE=1\n");
    project
        .sync(&["--from", "vault:staging", "--to", ".env.staging", "--prune"])
        .succeeds()
        .says("1 added, 0 changed, 0 unchanged, 1 removed, 1 skipped");
    assert_eq!(
        project.read(".env.staging"),
        format!("PORT=5432\nTOKEN={CANARY}\n")
    );
}

/// Review: a server whose certificate no trusted CA signed is reported as a TLS failure that
/// points at `ca_file`, not as "cannot connect" with the cause only in log lines; `ca_file`
/// makes it work; a CA file without a certificate is an error rather than an empty bundle.
#[test]
fn an_untrusted_certificate_is_named_and_ca_file_trusts_it() {
    let Some((server, ca)) = DevServer::start_tls() else {
        return;
    };
    // A refusal that asking again cannot change fails at once, not at the end of `timeout`.
    let project = Project::new(&[&server.address], "      timeout: 30s\n");
    project.write(".env.local", &format!("A={CANARY}\n"));
    let push = [
        "secrets",
        "sync",
        "--from",
        ".env.local",
        "--to",
        "vault:staging",
    ];
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_stagecraft"));
    let untrusted = Run(command
        .args(push)
        .current_dir(project.path())
        .env_remove("RUST_LOG")
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .output()
        .unwrap());
    untrusted.assert_no_secret();
    untrusted.fails(2, &["TLS failed: invalid peer certificate", "`ca_file`"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let stderr = String::from_utf8_lossy(&untrusted.0.stderr).into_owned();
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line, no log noise: {stderr}"
    );

    let trusted = Project::new(
        &[&server.address],
        &format!("      ca_file: {}\n", ca.display()),
    );
    trusted.write(".env.local", &format!("A={CANARY}\n"));
    trusted.run(&push, &[]).succeeds().says("1 added");

    // VAULT_CACERT stands in for `ca_file`.
    project
        .run(&push, &[("VAULT_CACERT", ca.to_str().unwrap())])
        .succeeds()
        .says("1 unchanged");

    // http:// to the TLS port, and https:// to a port without TLS, fail at once saying which.
    let plain = DevServer::start().unwrap();
    let tls_port = server.address.rsplit(':').next().unwrap();
    let plain_port = plain.address.rsplit(':').next().unwrap();
    for (address, message) in [
        (
            format!("http://127.0.0.1:{tls_port}"),
            "write the address with https://",
        ),
        (
            format!("https://127.0.0.1:{plain_port}"),
            "the server does not speak TLS there",
        ),
    ] {
        let wrong = Project::new(&[&address], "      timeout: 30s\n");
        wrong.write(".env.local", &format!("A={CANARY}\n"));
        let started = Instant::now();
        wrong
            .run(&push, &[("VAULT_CACERT", ca.to_str().unwrap())])
            .fails(2, &[&format!("vault at {address}: "), message]);
        assert!(started.elapsed() < Duration::from_secs(5), "{address}");
    }

    // A certificate for other names (127.0.0.1, localhost) than the address's (127.0.0.2).
    let gate = bao::Gate::listen("127.0.0.2:0", tls_port.parse().unwrap());
    let address = format!("https://127.0.0.2:{}", gate.port);
    let other_name = Project::new(&[&address], "      timeout: 30s\n");
    other_name.write(".env.local", &format!("A={CANARY}\n"));
    let started = Instant::now();
    other_name
        .run(&push, &[("VAULT_CACERT", ca.to_str().unwrap())])
        .fails(
            2,
            &[
                "TLS failed: invalid peer certificate: certificate not valid for name",
                "needs the address to use a name it holds",
            ],
        );
    assert!(started.elapsed() < Duration::from_secs(5));

    let not_pem = Project::new(&[&server.address], "      ca_file: .env.local\n");
    not_pem.write(".env.local", &format!("A={CANARY}\n"));
    not_pem
        .run(&push, &[])
        .fails(1, &["cannot read CA certificates from"]);
}

/// Review: an environment whose latest version was deleted (`bao kv delete`) takes a push at
/// the next version, and is a missing source when pulled; Vault answers its read with a 404
/// that holds metadata instead of errors.
#[test]
fn an_environment_whose_latest_version_was_deleted() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let project = Project::new(&[&server.address], "");
    server.cli(&["kv", "put", "-mount=secret", "myapp/staging", "OLD=1"]);
    server.cli(&["kv", "delete", "-mount=secret", "myapp/staging"]);
    project.write(".env.local", &format!("A={CANARY}\n"));
    project
        .sync(&["--from", "vault:staging", "--to", ".env.pulled"])
        .fails(1, &["vault:staging does not exist"]);
    project
        .sync(&["--from", ".env.local", "--to", "vault:staging"])
        .succeeds()
        .says("1 added");
    assert_eq!(kv(&server, "staging"), Some((2, fields(&[("A", CANARY)]))));
}

/// Review: a token that may write the data but not read the metadata, on a secret whose latest
/// version was deleted, writes the next version: the version comes from the 404 that the read
/// of the deleted version answers (it once came from the metadata only, and the write then
/// failed with a check-and-set mismatch).
#[test]
fn a_token_without_metadata_access_writes_over_a_deleted_version() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let token = server.token_with_policy(
        "data-only",
        "path \"secret/data/myapp/*\" { capabilities = [\"create\", \"read\", \"update\"] }\n",
    );
    let project = Project::new(&[&server.address], "      timeout: 60s\n");
    server.cli(&["kv", "put", "-mount=secret", "myapp/staging", "OLD=1"]);
    server.cli(&["kv", "delete", "-mount=secret", "myapp/staging"]);
    project.write(".env.local", &format!("A={CANARY}\n"));
    let push = [
        "secrets",
        "sync",
        "--from",
        ".env.local",
        "--to",
        "vault:staging",
    ];
    let run = project.run(&push, &[("VAULT_TOKEN", &token)]);
    run.succeeds().says("1 added");
    assert_eq!(kv(&server, "staging"), Some((2, fields(&[("A", CANARY)]))));
}

/// Review: Ctrl-C while the write is being retried (here: a proxy answers every write "sealed",
/// which is retried until `timeout`) stops at the next retry once nothing was written: exit
/// 130, the keys reported skipped.
#[test]
fn an_interrupt_stops_the_write_retries_when_nothing_was_written() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let proxy = Proxy::start(&server.address, OnWrite::Answer(SEALED));
    let project = Project::new(&[&proxy.address], "      timeout: 60s\n");
    let keys: String = (0..600).map(|i| format!("K{i}={CANARY}\n")).collect();
    project.write(".env.local", &keys);
    let log = fs::File::create(project.path().join("stderr.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .args([
            "-vv",
            "secrets",
            "sync",
            "--from",
            ".env.local",
            "--to",
            "vault:staging",
        ])
        .current_dir(project.path())
        .env_remove("RUST_LOG")
        .env_remove("VAULT_ADDR")
        .env("VAULT_TOKEN", ROOT_TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(log)
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !project.read("stderr.log").contains("vault write failed") {
        assert!(
            started.elapsed().as_secs() < 30,
            "{}",
            project.read("stderr.log")
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "{}",
            project.read("stderr.log")
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-s", "INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    while child.try_wait().unwrap().is_none() {
        // Well within the 60 s that the retries would otherwise take.
        assert!(
            started.elapsed().as_secs() < 40,
            "Ctrl-C did not stop the retries"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut output = child.wait_with_output().unwrap();
    output.stderr = fs::read(project.path().join("stderr.log")).unwrap();
    let run = Run(output);
    run.assert_no_secret();
    run.fails(130, &["interrupted; the sync under way was stopped"]);
    run.says("600 skipped");
    assert_eq!(kv(&server, "staging"), None);
}

/// Review: a `mount` that is a KV version 1 engine: the sync fails at once saying so, before
/// anything is written (a KV v1 mount took the write as a secret at `<mount>/data/<path>`).
#[test]
fn a_kv_version_1_mount_is_reported_at_once() {
    let Some(server) = DevServer::start() else {
        return;
    };
    server.cli(&["secrets", "enable", "-path=kv1", "-version=1", "kv"]);
    let project = Project::new(&[&server.address], "      mount: kv1\n      timeout: 60s\n");
    project.write(".env.local", &format!("A={CANARY}\n"));
    let started = Instant::now();
    let push = project.sync(&["--from", ".env.local", "--to", "vault:staging"]);
    push.fails(
        2,
        &[
            "the mount kv1 is a KV version 1 secrets engine",
            "enable-versioning",
        ],
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let stored = bao::bao_cli(
        &server.bao,
        &server.address,
        &["read", "kv1/data/myapp/staging"],
    );
    assert!(
        !stored.status.success(),
        "nothing was stored in the KV v1 mount"
    );
    project
        .sync(&["--from", "vault:staging", "--to", ".env.pulled"])
        .fails(2, &["the mount kv1 is a KV version 1 secrets engine"]);
    server.cli(&["secrets", "enable", "-path=db", "database"]);
    let not_kv = Project::new(&[&server.address], "      mount: db\n");
    not_kv.write(".env.local", "A=1\n");
    not_kv
        .sync(&["--from", ".env.local", "--to", "vault:staging"])
        .fails(2, &["the mount db is a \"database\" secrets engine"]);
}

/// The keys of a `--json` report, in its order.
fn reported_keys(run: &Run) -> Vec<String> {
    let doc: Value = serde_json::from_str(&run.stdout()).unwrap();
    doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap().to_owned())
        .collect()
}

/// `--keys` keeps the source's order, sets a key asked twice once, and names every key the
/// source lacks, in the order asked, writing nothing.
#[test]
fn keys_keep_the_source_order_and_missing_keys_are_named() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let project = Project::new(&[&server.address], "");
    project.write(".env.local", &format!("A=1\nB={CANARY}\nC=3\n"));
    let to_staging = ["--from", ".env.local", "--to", "vault:staging"];
    project
        .sync(&[&to_staging[..], &["--keys", "C,NOPE,A,NOPE,ZED"]].concat())
        .fails(1, &[".env.local does not define NOPE, NOPE, ZED"]);
    assert_eq!(kv(&server, "staging"), None, "nothing was written");

    let run = project.sync(&[&to_staging[..], &["--keys", "C,A,C", "--json"]].concat());
    run.succeeds();
    assert_eq!(reported_keys(&run), ["A", "C"]);
    assert_eq!(
        kv(&server, "staging"),
        Some((1, fields(&[("A", "1"), ("C", "3")])))
    );
}

/// 100,000 keys asked for (in reverse, in chunks: one argument holds at most 128 KiB) of a
/// 100,000-key source, pushed over 100,000 fields that `--prune` removes, then pulled back with
/// the same `--keys`: each step is linear. The scans per key that this replaced took minutes.
#[test]
fn a_hundred_thousand_keys_pushed_pruned_and_pulled() {
    let Some(server) = DevServer::start() else {
        return;
    };
    const N: usize = 100_000;
    let key = |i: usize| format!("K{i:06}");
    let project = Project::new(&[&server.address], "      timeout: 60s\n");
    let stale: String = (0..N).map(|i| format!("OLD{i:06}=x\n")).collect();
    project.write(".env.old", &stale);
    project
        .sync(&["--from", ".env.old", "--to", "vault:staging"])
        .succeeds();
    let env: String = (0..N).map(|i| format!("{}=value-{i}\n", key(i))).collect();
    project.write(".env.local", &env);
    let asked: Vec<String> = (0..N).rev().map(key).collect();
    let mut args: Vec<String> = ["--from", ".env.local", "--to", "vault:staging", "--prune"]
        .map(String::from)
        .to_vec();
    for chunk in asked.chunks(10_000) {
        args.extend(["--keys".to_owned(), chunk.join(",")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let run = project.sync(&[&args[..], &["--json"]].concat());
    run.succeeds();
    let reported = reported_keys(&run);
    let stale_keys = (0..N).map(|i| format!("OLD{i:06}"));
    assert!(
        reported
            .iter()
            .cloned()
            .eq((0..N).map(key).chain(stale_keys)),
        "the keys pushed in the source's order, then those removed"
    );
    let (version, stored) = kv(&server, "staging").unwrap();
    assert_eq!(version, 2);
    assert_eq!(stored.len(), N);
    assert_eq!(stored[&key(N - 1)], format!("value-{}", N - 1));

    let mut pull = args.clone();
    pull[1..4].copy_from_slice(&["vault:staging", "--to", ".env.pulled"]);
    project.sync(&pull).succeeds().says(&format!("{N} added"));
    let pulled = project.read(".env.pulled");
    assert_eq!(pulled.lines().count(), N);
    assert!(pulled.contains(&format!("{}=value-0\n", key(0))));
}

/// The answer to a write is lost and the server then hangs, so the read that would tell what
/// happened fails too: the error says the write may have been applied and which version to
/// check (the server did store it), within the time given.
#[test]
fn a_lost_answer_and_a_failed_read_back_say_the_write_may_have_been_applied() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let proxy = Proxy::start(&server.address, OnWrite::LoseAnswerThenHang);
    let project = Project::new(&[&proxy.address], "      timeout: 2s\n");
    let keys: String = (0..5000).map(|i| format!("K{i}={CANARY}-{i}\n")).collect();
    project.write(".env.local", &keys);
    let started = Instant::now();
    let run = project.sync(&["--from", ".env.local", "--to", "vault:staging"]);
    let took = started.elapsed();
    run.fails(
        2,
        &[
            "the write to secret/data/myapp/staging may have been applied",
            "check whether version 1 holds this sync's keys",
        ],
    );
    assert!(
        !run.error().contains("nothing was written"),
        "{}",
        run.error()
    );
    assert!(took < Duration::from_millis(3500), "took {took:?}");
    let (version, stored) = kv(&server, "staging").unwrap();
    assert_eq!(
        (version, stored.len()),
        (1, 5000),
        "the server stored the write"
    );
}

/// The answer to a write is lost, and another writer changes the secret before it is read
/// again: version 2 is this sync's own write, so the sync succeeded (with a warning), rather
/// than "changed since planned (version 1 when read, now 3); nothing was written".
#[test]
fn a_lost_answer_then_another_write_is_recognised_as_this_syncs_write() {
    let Some(server) = DevServer::start() else {
        return;
    };
    server.cli(&["kv", "put", "-mount=secret", "myapp/staging", "A=1"]);
    let (bao_bin, address) = (server.bao.clone(), server.address.clone());
    let proxy = Proxy::start(
        &server.address,
        OnWrite::LoseAnswerThen(Box::new(move || {
            bao::bao_ok(
                &bao_bin,
                &address,
                &["kv", "patch", "-mount=secret", "myapp/staging", "B=theirs"],
            );
        })),
    );
    let project = Project::new(&[&proxy.address], "");
    project.write(".env.local", &format!("A=ours\nC={CANARY}\n"));
    let run = project.sync(&["--from", ".env.local", "--to", "vault:staging"]);
    run.succeeds().says("1 added, 1 changed");
    assert!(proxy.triggered.load(std::sync::atomic::Ordering::SeqCst));
    let stderr = String::from_utf8_lossy(&run.0.stderr).into_owned();
    assert!(
        stderr.contains("this sync's write was applied as version 2")
            && stderr.contains("now version 3"),
        "{stderr}"
    );
    assert_eq!(
        kv(&server, "staging"),
        Some((3, fields(&[("A", "ours"), ("B", "theirs"), ("C", CANARY)])))
    );
}

/// `timeout` bounds the whole sync: hung servers (they take the connection and never answer)
/// each cost a share of it, not all of it, and a good server after a hung one is reached in time.
#[test]
fn timeout_bounds_the_whole_operation() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let hung: Vec<std::net::TcpListener> = (0..4)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    let hung: Vec<String> = hung
        .iter()
        .map(|l| format!("http://{}", l.local_addr().unwrap()))
        .collect();
    let push = ["--from", ".env.local", "--to", "vault:staging"];

    let all_hung = Project::new(
        &hung.iter().map(String::as_str).collect::<Vec<_>>(),
        "      timeout: 2s\n",
    );
    all_hung.write(".env.local", &format!("A={CANARY}\n"));
    let started = Instant::now();
    let run = all_hung.sync(&push);
    let took = started.elapsed();
    run.fails(
        2,
        &["no vault server served the request within `timeout` (2s)"],
    );
    for address in &hung {
        assert!(run.error().contains(&format!("{address}: timed out")));
    }
    assert!(
        took < Duration::from_millis(3500),
        "four hung servers took {took:?}"
    );

    let one_hung = Project::new(&[&hung[0]], "      timeout: 2s\n");
    one_hung.write(".env.local", "A=1\n");
    let started = Instant::now();
    one_hung.sync(&push).fails(2, &["timed out"]);
    assert!(started.elapsed() < Duration::from_millis(3500));

    let hung_then_good = Project::new(&[&hung[0], &server.address], "      timeout: 4s\n");
    hung_then_good.write(".env.local", &format!("A={CANARY}\n"));
    let started = Instant::now();
    hung_then_good.sync(&push).succeeds().says("1 added");
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(3500),
        "[hung, good] took {took:?}"
    );
}

/// A push of more keys than the listener takes in one request fails at once, saying how many
/// keys were sent and which limit to raise, instead of being sent again for the whole timeout.
#[test]
fn too_many_keys_for_the_listener_fail_at_once_with_the_count_and_the_limit() {
    let Some(server) = DevServer::start() else {
        return;
    };
    // The dev listener has OpenBao's default limit.
    let project = Project::new(&[&server.dev_address], "      timeout: 30s\n");
    let keys: String = (0..600).map(|i| format!("K{i}={CANARY}\n")).collect();
    project.write(".env.local", &keys);
    let started = Instant::now();
    project
        .sync(&["--from", ".env.local", "--to", "vault:staging"])
        .fails(
            2,
            &[
                &format!(
                    "vault at {} refused the write of 600 keys",
                    server.dev_address
                ),
                "max_request_json_strings",
                "about 490 keys",
            ],
        );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(kv(&server, "staging"), None);
}

/// A key without `=` in the source has no value: it is not pushed, and `--prune` keeps the
/// value the target has for it, with a warning naming the line, as the envfile provider does.
#[test]
fn a_valueless_key_keeps_the_targets_value_and_is_warned_about() {
    let Some(server) = DevServer::start() else {
        return;
    };
    server.cli(&[
        "kv",
        "put",
        "-mount=secret",
        "myapp/staging",
        "A=1",
        &format!("PASTED={CANARY}"),
        "STALE=x",
    ]);
    let project = Project::new(&[&server.address], "");
    project.write(".env.local", "A=2\nPASTED\n");
    let run = project.sync(&["--from", ".env.local", "--to", "vault:staging", "--prune"]);
    run.succeeds()
        .says("0 added, 1 changed, 0 unchanged, 1 removed");
    assert!(!run.stdout().contains("PASTED"), "{}", run.stdout());
    let stderr = String::from_utf8_lossy(&run.0.stderr).into_owned();
    assert!(
        stderr.contains("a key without `=` has no value; not synced") && stderr.contains("line=2"),
        "{stderr}"
    );
    assert_eq!(
        kv(&server, "staging"),
        Some((2, fields(&[("A", "2"), ("PASTED", CANARY)])))
    );
    project
        .sync(&[
            "--from",
            ".env.local",
            "--to",
            "vault:staging",
            "--keys",
            "PASTED",
        ])
        .fails(1, &[".env.local does not define PASTED"]);
}

/// The token comes from `token_env`, `token_file`, `$VAULT_TOKEN`, then `~/.vault-token` (where
/// `bao login` leaves it); the namespace from `$VAULT_NAMESPACE` when the config has none.
#[test]
fn tokens_and_namespaces_from_where_the_vault_cli_keeps_them() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let project = Project::new(&[&server.address], "");
    project.write(".env.local", &format!("A={CANARY}\n"));
    let push = [
        "secrets",
        "sync",
        "--from",
        ".env.local",
        "--to",
        "vault:staging",
    ];
    // No variable: the file a `bao login` leaves in the home directory.
    project.run(&push, &[("VAULT_TOKEN", "")]).fails(
        1,
        &["no vault token", "VAULT_TOKEN is not set", "~/.vault-token"],
    );
    project.write(".vault-token", &format!("{ROOT_TOKEN}\n"));
    project
        .run(&push, &[("VAULT_TOKEN", "")])
        .succeeds()
        .says("1 added");
    // VAULT_TOKEN comes before ~/.vault-token.
    project
        .run(&push, &[("VAULT_TOKEN", "not-a-token")])
        .fails(2, &["permission denied"]);

    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    fs::write(&token_file, format!("{ROOT_TOKEN}\r\n")).unwrap();
    let from_file = Project::new(
        &[&server.address],
        &format!("      token_file: {}\n", token_file.display()),
    );
    from_file.write(".env.local", &format!("A={CANARY}\n"));
    from_file
        .run(&push, &[("VAULT_TOKEN", "not-a-token")])
        .succeeds()
        .says("1 unchanged");
    fs::write(&token_file, format!("{ROOT_TOKEN}\nsecond line\n")).unwrap();
    from_file
        .run(&push, &[])
        .fails(1, &["holds a character that cannot be in a vault token"]);
    // A FIFO is refused rather than read (which would wait for a writer forever); a missing
    // file is the user's to fix.
    fs::remove_file(&token_file).unwrap();
    from_file
        .run(&push, &[])
        .fails(1, &["cannot read the vault token", "does not exist"]);
    assert!(
        Command::new("mkfifo")
            .arg(&token_file)
            .status()
            .unwrap()
            .success()
    );
    from_file
        .run(&push, &[])
        .fails(2, &["cannot read the vault token", "not a regular file"]);

    // A namespace from VAULT_NAMESPACE.
    server.cli(&["namespace", "create", "team-a"]);
    bao::bao_ok(
        &server.bao,
        &server.address,
        &["secrets", "enable", "-ns=team-a", "-path=secret", "kv-v2"],
    );
    project
        .run(&push, &[("VAULT_NAMESPACE", "team-a")])
        .succeeds()
        .says("1 added");
    let stored = bao::bao_ok(
        &server.bao,
        &server.address,
        &[
            "kv",
            "get",
            "-ns=team-a",
            "-mount=secret",
            "-field=A",
            "myapp/staging",
        ],
    );
    assert_eq!(stored.trim(), CANARY);
}

/// The vault provider, in process, in the conformance suite every provider runs: an env file
/// pushed to a real dev server (the token from `token_file`, since a test cannot set its own
/// environment), read back with `bao kv get`.
struct VaultFixture {
    server: DevServer,
    dir: tempfile::TempDir,
}

impl VaultFixture {
    fn options(&self, text: &str) -> stagecraft_core::SyncOptions {
        let source = self.dir.path().join("source.env");
        fs::write(&source, text).unwrap();
        let token = self.dir.path().join("token");
        fs::write(&token, ROOT_TOKEN).unwrap();
        let config = stagecraft_core::ProviderConfig::from_yaml(format!(
            "address: {}\npath: myapp\ntoken_file: {}\n",
            self.server.address,
            token.display()
        ));
        stagecraft_core::SyncOptions::new(config)
            .source(source.to_str().unwrap())
            .target("vault:conformance")
    }
}

impl stagecraft_core::conformance::Fixture for VaultFixture {
    fn seed(&mut self, secrets: &[(&str, &str)]) -> stagecraft_core::SyncOptions {
        self.seed_with_valueless(secrets, &[]).unwrap()
    }

    fn seed_with_valueless(
        &mut self,
        secrets: &[(&str, &str)],
        valueless: &[&str],
    ) -> Option<stagecraft_core::SyncOptions> {
        let mut text =
            stagecraft_providers::envfile::write_string(secrets.iter().copied()).unwrap();
        for key in valueless {
            text.push_str(key);
            text.push('\n');
        }
        Some(self.options(&text))
    }

    fn read_target(&mut self) -> std::collections::BTreeMap<String, String> {
        kv(&self.server, "conformance")
            .map(|(_, fields)| {
                fields
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().unwrap().to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[test]
fn conformance() {
    let Some(server) = DevServer::start() else {
        return;
    };
    let mut fixture = VaultFixture {
        server,
        dir: tempfile::tempdir().unwrap(),
    };
    let provider: &dyn stagecraft_core::DynSecretsProvider = &stagecraft_providers::vault::Vault;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(stagecraft_core::conformance::check(provider, &mut fixture));
}

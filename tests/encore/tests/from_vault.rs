//! vault → encore: a real OpenBao server's environment pushed into Encore's secret manager
//! (the fake `encore` CLI) by the `stagecraft` command run as a library, `--from vault:staging`
//! read by the vault provider with its own section of stagecraft.yml.

#[path = "../../../cli/tests/support/bao.rs"]
mod bao;
mod common;

use bao::{DevServer, ROOT_TOKEN};
use common::{App, CANARY, fake};
use std::fs;
use std::process::ExitCode;

stagecraft_core::secrets_registry!(static REGISTRY = [stagecraft_providers::SECRETS_PROVIDERS]);

fn stagecraft(args: &[&str]) -> ExitCode {
    let args = ["stagecraft"].iter().chain(args);
    stagecraft::App::new(&REGISTRY)
        .signals(false)
        .logging(false)
        .run_from(args)
}

#[test]
fn a_vault_environment_is_pushed_into_encore() {
    let Some(server) = DevServer::start() else {
        return;
    };
    server.cli(&[
        "kv",
        "put",
        "-mount=secret",
        "myapp/staging",
        &format!("API_KEY={CANARY}"),
        "QUOTED=two\nlines",
    ]);
    let app = App::new("UNUSED=1\n");
    let token = app.path().join("token");
    fs::write(&token, ROOT_TOKEN).unwrap();
    let config = app.path().join("stagecraft.yml");
    fs::write(
        &config,
        format!(
            "secrets:\n  provider: encore\n  providers:\n    vault:\n      address: {}\n      path: myapp\n      token_file: token\n      timeout: 5s\n    encore:\n      source_file: .env.local\n      binary: {}\n",
            server.address,
            fake()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let sync = [
        "--config",
        config,
        "secrets",
        "sync",
        "--from",
        "vault:staging",
    ];
    let code = stagecraft(&[&sync[..], &["--to", "dev"]].concat());
    assert_eq!(code, ExitCode::SUCCESS);
    let call = app.call_for("API_KEY");
    assert_eq!(call["stdin"], CANARY);
    assert_eq!(
        call["argv"],
        serde_json::json!([fake(), "secret", "set", "--type", "dev", "API_KEY"])
    );
    // A value over lines goes to stdin as it is; a key the source lacks is exit 1, and the
    // configured env file is not what was pushed.
    assert_eq!(app.call_for("QUOTED")["stdin"], "two\nlines");
    let code = stagecraft(&[&sync[..], &["--to", "dev", "--keys", "MISSING"]].concat());
    assert_eq!(code, ExitCode::from(1));
    assert!(!app.calls().iter().any(|c| c.to_string().contains("UNUSED")));
}

//! `stagecraft config schema` and the warnings of `stagecraft config validate`, on the real
//! binary. The printed schema is pinned by `examples/quickstart/stagecraft.schema.json`, which the
//! quickstart config names in its `yaml-language-server` header: a change to any provider's
//! settings shows up there in review.

use std::path::Path;
use std::process::{Command, Output};

const SNAPSHOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/quickstart/stagecraft.schema.json"
);

fn stagecraft(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stagecraft"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn the_printed_schema_is_the_committed_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let out = stagecraft(dir.path(), &["config", "schema"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let snapshot = std::fs::read_to_string(SNAPSHOT).unwrap();
    assert!(
        text(&out.stdout) == snapshot,
        "the schema changed; review it and update the snapshot with\n  \
         cargo run -p stagecraft -- config schema --output examples/quickstart/stagecraft.schema.json\n\
         printed:\n{}",
        text(&out.stdout)
    );
}

#[test]
fn output_writes_the_same_schema_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = stagecraft(
        dir.path(),
        &["config", "schema", "--output", "stagecraft.schema.json"],
    );
    assert_eq!(
        (out.status.code(), text(&out.stdout), text(&out.stderr)),
        (Some(0), String::new(), String::new())
    );
    let written = std::fs::read_to_string(dir.path().join("stagecraft.schema.json")).unwrap();
    assert_eq!(written, std::fs::read_to_string(SNAPSHOT).unwrap());
}

#[test]
fn output_into_a_missing_directory_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = stagecraft(
        dir.path(),
        &["config", "schema", "--output", "no/such.json"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: cannot write no/such.json: "),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn the_quickstart_config_names_the_schema_and_validates() {
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/quickstart");
    let config = std::fs::read_to_string(quickstart.join("stagecraft.yml")).unwrap();
    assert!(
        config.starts_with("# yaml-language-server: $schema=./stagecraft.schema.json\n"),
        "{config}"
    );
    let out = stagecraft(&quickstart, &["config", "validate"]);
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (Some(0), String::new())
    );
}

#[test]
fn validate_warns_about_files_left_to_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stagecraft.yml"),
        "secrets:\n  provider: envfile\n  providers:\n    envfile:\n",
    )
    .unwrap();
    let out = stagecraft(dir.path(), &["config", "validate"]);
    assert_eq!(
        (out.status.code(), text(&out.stdout), text(&out.stderr)),
        (
            Some(0),
            "stagecraft.yml is valid: secrets provider envfile\n".to_owned(),
            "warning: stagecraft.yml:4:5: secrets.providers.envfile: no `source_file`: `stagecraft secrets sync` will need --from\n\
             warning: stagecraft.yml:4:5: secrets.providers.envfile: no `target_file`: `stagecraft secrets sync` will need --to\n"
                .to_owned()
        )
    );
    // What the warning foretells: without the flags, the sync stops before touching anything.
    let out = stagecraft(dir.path(), &["secrets", "sync"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: no source file: set `secrets.providers.envfile.source_file` in stagecraft.yml or pass --from\n"
    );
    // With one file set, only the other is warned about.
    std::fs::write(
        dir.path().join("stagecraft.yml"),
        "secrets:\n  provider: envfile\n  providers:\n    envfile:\n      target_file: .env.staging\n",
    )
    .unwrap();
    let out = stagecraft(dir.path(), &["config", "validate"]);
    assert_eq!(
        text(&out.stderr),
        "warning: stagecraft.yml:4:5: secrets.providers.envfile: no `source_file`: `stagecraft secrets sync` will need --from\n"
    );
}

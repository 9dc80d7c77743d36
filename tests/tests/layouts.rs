//! Crate layouts outside this workspace, built with cargo as a user builds them
//! (`tests/layouts/*`, each a workspace of its own): every provider crate linked into a binary is
//! in its registry, at any depth and in any version, or the build or the registry's first use
//! says which is not; and the ordinary layouts build.
//!
//! Their packages have names of their own (cargo tells two path packages of one name and version
//! apart by their path in the workspace, which is the same in two layouts), as they share one
//! target directory (`target/layouts`), so the crates they have in common are
//! built once, and this workspace's lockfile; the builds run one at a time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

static ONE_BUILD_AT_A_TIME: Mutex<()> = Mutex::new(());

fn layout(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("layouts")
        .join(name)
}

/// `cargo ARGS` in the layout's workspace, offline (its dependencies are this workspace's).
fn cargo(name: &str, args: &[&str]) -> Output {
    let _guard = ONE_BUILD_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    cargo_while_locked(name, args)
}

/// `cargo ARGS` in the layout's workspace, for a caller that holds `ONE_BUILD_AT_A_TIME`.
fn cargo_while_locked(name: &str, args: &[&str]) -> Output {
    // The workspace's lockfile, so that the layout uses the versions this workspace has
    // downloaded (cargo drops what the layout does not use).
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::copy(
        workspace.join("Cargo.lock"),
        layout(name).join("Cargo.lock"),
    )
    .expect("the lockfile is copied");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("layouts");
    Command::new(env!("CARGO"))
        .args(args)
        .arg("--offline")
        .current_dir(layout(name))
        .env("CARGO_TARGET_DIR", target)
        .env("RUST_BACKTRACE", "0")
        .env_remove("RUSTC_WRAPPER")
        .output()
        .expect("cargo runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `cargo run ARGS` and returns stdout's lines, failing with stderr when cargo fails.
fn run_lines(name: &str, args: &[&str]) -> Vec<String> {
    let out = cargo(name, &[&["run", "-q"], args].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).lines().map(str::to_owned).collect()
}

/// Runs `cargo ARGS`, which must fail, and returns stderr.
fn failure(name: &str, args: &[&str]) -> String {
    let out = cargo(name, args);
    assert!(!out.status.success(), "cargo {args:?} succeeded in {name}");
    text(&out.stderr)
}

#[test]
fn crates_reached_through_others_are_in_the_registry_once() {
    // app → prov-mid → prov-deep, app → prov-deep (a diamond), app → prov-a.
    assert_eq!(
        run_lines("transitive", &["-p", "app"]),
        ["alpha", "deep", "mid"]
    );
}

#[test]
fn a_duplicate_id_in_a_crate_reached_through_another_is_a_compile_error_naming_both() {
    let stderr = failure(
        "transitive",
        &["build", "-q", "-p", "app", "--features", "clash"],
    );
    assert!(
        stderr.contains("duplicate secrets provider id \"alpha\": `prov_a::Alpha` (prov-a 0.1.0, prov-a/src/lib.rs:4) and `prov_deep::DeepAlpha` (prov-deep 0.1.0, prov-deep/src/lib.rs:17)"),
        "{stderr}"
    );
}

#[test]
fn a_provider_the_tables_do_not_reach_makes_the_registry_panic_at_first_use() {
    // glue uses prov-hidden but generates no table, so nothing carries prov-hidden's.
    let out = cargo(
        "transitive",
        &["run", "-q", "-p", "app", "--features", "hidden"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{stderr}");
    assert!(
        stderr.contains("app::REGISTRY::ids: a secrets provider is compiled into this program but missing from the registry: `prov_hidden::Hidden` with id \"hidden\" (prov-hidden 0.1.0, prov-hidden/src/lib.rs:4)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("must call `stagecraft_codegen::generate()` from build.rs"),
        "{stderr}"
    );
    assert!(text(&out.stdout).is_empty());
}

#[test]
fn two_versions_of_one_provider_crate_are_both_in_the_registry() {
    assert_eq!(
        run_lines("two-versions", &["-p", "versions-app"]),
        ["v-one", "v-two"]
    );
    let stderr = failure(
        "two-versions",
        &["build", "-q", "-p", "versions-app", "--features", "clash"],
    );
    assert!(
        stderr.contains("duplicate secrets provider id \"v-two\": `prov_v::Clash` (prov-v 0.1.0, prov-v-1/src/lib.rs:17) and `prov_v::Two` (prov-v 0.2.0, prov-v-2/src/lib.rs:4)"),
        "{stderr}"
    );
}

const SHAPES: [&str; 5] = [
    "acme-deep",
    "acme-nested",
    "acme-prelude",
    "alpha",
    "app-lib",
];

#[test]
fn a_lib_and_bin_package_its_tests_and_examples_build_with_every_provider() {
    // shapes-app: src/lib.rs declares a provider, src/main.rs, tests/registry.rs and examples/list.rs
    // declare registries; it depends on `acme-providers` (`[lib] name = "acme"`,
    // `path = "rust/lib.rs"`) and on `prov-renamed` renamed `my-a`. acme's modules take the shapes
    // rustc reads: a prelude's alias of the attribute, an inline `#[path]` in a non-mod-rs file,
    // nested `cfg_attr(…, path)`, an expression nested 800 deep, a cfg'd-out `/dev/zero` module
    // and a cfg'd-out module whose directory does not exist.
    assert_eq!(run_lines("shapes", &["-p", "shapes-app"]), SHAPES);
    assert_eq!(
        run_lines("shapes", &["-p", "shapes-app", "--example", "list"]),
        SHAPES
    );
    let out = cargo(
        "shapes",
        &["test", "-q", "-p", "shapes-app", "--test", "registry"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Nothing is rebuilt by a second build: no watch on a directory that holds `target/`. Both
    // builds under one lock, so that no other layout's build comes between them.
    let _guard = ONE_BUILD_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    assert!(
        cargo_while_locked("shapes", &["build", "-q", "-p", "shapes-app"])
            .status
            .success()
    );
    let out = cargo_while_locked("shapes", &["build", "-v", "-p", "shapes-app"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Fresh acme-providers") && stderr.contains("Fresh shapes-app"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Dirty") && !stderr.contains("Compiling"),
        "{stderr}"
    );
}

#[test]
fn a_provider_library_without_links_or_build_script_with_a_provider_in_a_function_or_its_table_outside_the_root_is_told_what_to_do()
 {
    let stderr = failure("mistakes", &["build", "-q", "-p", "no-links"]);
    assert!(
        stderr.contains(
            "its Cargo.toml sets no `links`, so the crates that depend on it cannot find them"
        ),
        "{stderr}"
    );
    let stderr = failure("mistakes", &["build", "-q", "-p", "in-function"]);
    assert!(
        stderr.contains("secrets provider `in_function::P` (in-function 0.1.0, in-function/src/lib.rs:7) is declared inside a function body, where the provider table cannot name it: a provider must be declared at module level"),
        "{stderr}"
    );
    let stderr = failure("mistakes", &["build", "-q", "-p", "non-root"]);
    assert!(
        stderr.contains("`include_providers!` and `include_registry!` belong at the crate root (`src/lib.rs`, `src/main.rs`, …), where each `#[secrets_provider]` looks for the table, not in module `non_root::table`: move the call there"),
        "{stderr}"
    );
    let stderr = failure("mistakes", &["build", "-q", "-p", "no-build-script"]);
    assert!(
        stderr.contains("add `fn main() { stagecraft_codegen::generate(); }` to build.rs"),
        "{stderr}"
    );
}

/// Every provider of `attack/app`'s dependencies: a chain four deep (chain-1 → … → chain-4), a
/// diamond in which chain-2 enables chain-4's feature `extra` and chain-3 and app do not, a
/// renamed dependency inherited with `workspace = true` (`ws`), and a target-specific one
/// (`unix`; `win` is for Windows only).
#[cfg(unix)]
const ATTACK: [&str; 7] = [
    "chain-1",
    "chain-2",
    "chain-3",
    "chain-4",
    "chain-4-extra",
    "unix",
    "ws",
];

#[cfg(unix)]
#[test]
fn deep_chains_diamonds_with_features_and_inherited_or_target_dependencies_are_in_the_registry() {
    // A build script with rerun-if lines of its own; binaries in src/main.rs, src/bin/tool.rs
    // and src/bin/multi/main.rs (with a provider of its own in a module beside it).
    assert_eq!(
        run_lines("attack", &["-p", "attack-app", "--bin", "attack-app"]),
        ATTACK
    );
    assert_eq!(
        run_lines("attack", &["-p", "attack-app", "--bin", "tool"]),
        ATTACK
    );
    let multi = run_lines("attack", &["-p", "attack-app", "--bin", "multi"]);
    let mut expected = ATTACK.to_vec();
    expected.insert(5, "multi-local");
    assert_eq!(multi, expected);
    // An optional provider crate is in the registry when its feature is on.
    let with_opt = run_lines(
        "attack",
        &[
            "-p",
            "attack-app",
            "--bin",
            "attack-app",
            "--features",
            "opt",
        ],
    );
    let mut expected = ATTACK.to_vec();
    expected.insert(5, "opt");
    assert_eq!(with_opt, expected);
    // The build script's own rerun lines and generate()'s together leave a second build fresh
    // (both builds under one lock, so that no other test's build comes between).
    let _guard = ONE_BUILD_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let build = ["build", "-q", "-p", "attack-app", "--bins"];
    assert!(cargo_while_locked("attack", &build).status.success());
    let out = cargo_while_locked("attack", &["build", "-v", "-p", "attack-app", "--bins"]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Fresh attack-app")
            && !stderr.contains("Dirty")
            && !stderr.contains("Compiling"),
        "{stderr}"
    );
}

/// Removes a file when dropped, so that a fixture file a test adds does not outlive it.
struct Added(PathBuf);

impl Drop for Added {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn an_example_added_after_the_first_build_finds_its_crate_root() {
    // The build script reruns only when Cargo.toml changes: what it wrote does not list an
    // example added since, and `include_providers!` there must still find its root.
    assert_eq!(
        run_lines("attack", &["-p", "attack-app", "--example", "by_hand"]),
        ["example-own", "ws"]
    );
    let examples = layout("attack").join("app/examples");
    let source = std::fs::read_to_string(examples.join("by_hand.rs")).unwrap();
    let added = Added(examples.join("added_later.rs"));
    std::fs::write(&added.0, source.replace("example-own", "added-later")).unwrap();
    assert_eq!(
        run_lines("attack", &["-p", "attack-app", "--example", "added_later"]),
        ["added-later", "ws"]
    );
}

#[test]
fn a_provider_crate_that_is_only_a_dev_dependency_makes_the_registry_panic_saying_so() {
    // The test in attack/app/tests/dev.rs expects the panic, with its message.
    let out = cargo(
        "attack",
        &["test", "-q", "-p", "attack-app", "--test", "dev"],
    );
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

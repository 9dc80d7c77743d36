//! Compile errors of `#[secrets_provider]`, `provider_table!` and `secrets_registry!`, pinned
//! with `.stderr` files. Regenerate them with `TRYBUILD=overwrite cargo test -p stagecraft-tests`
//! and read the diff.

/// The compiler the `.stderr` files were recorded with. rustc's wording changes between
/// releases, so on any other compiler the ui tests are skipped (and say so).
const RECORDED_WITH: &str = include_str!("../ui/RUSTC_VERSION");

#[test]
fn ui() {
    let current = env!("STAGECRAFT_TESTS_RUSTC_VERSION");
    if current != RECORDED_WITH.trim() {
        eprintln!(
            "skipping ui tests: their .stderr files were recorded with `{}`, this is `{current}`; \
             regenerate them with TRYBUILD=overwrite on this compiler and review the diff",
            RECORDED_WITH.trim()
        );
        return;
    }
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
    t.pass("ui/pass/*.rs");
}

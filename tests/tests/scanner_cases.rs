//! The `scanner-cases` fixture, built with feature `x` and without `alt`: its generated table
//! compiled (the attribute checks every provider against it) and holds exactly these.

#[test]
fn the_generated_table_agrees_with_rustc() {
    let ids: Vec<&str> = scanner_cases::SECRETS_PROVIDERS
        .iter()
        .map(|e| e.id())
        .collect();
    assert_eq!(
        ids,
        [
            "gated",
            "imp",
            "inline-gated",
            "raw-module",
            "renamed-import",
            "trailing-comma"
        ]
    );
}

//! The README's "Writing a provider" shows this crate's code: each block marked `rust ignore`
//! is one of its files, or a part of its tests, as it is here.

use std::path::Path;

fn read(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The blocks of the README marked `rust ignore`, in order.
fn ignored_rust_blocks() -> Vec<String> {
    let readme = read("../../README.md");
    let mut blocks = Vec::new();
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("\n```rust ignore\n") {
        let body = &rest[start + "\n```rust ignore\n".len()..];
        let end = body.find("\n```\n").expect("the block ends") + 1;
        blocks.push(body[..end].to_owned());
        rest = &body[end..];
    }
    blocks
}

#[test]
fn the_readme_blocks_are_this_crates_code() {
    let blocks = ignored_rust_blocks();
    let files = ["src/lib.rs", "tests/conformance.rs", "src/main.rs"];
    assert_eq!(blocks.len(), files.len() + 1, "{blocks:#?}");
    for (block, file) in blocks.iter().zip(files) {
        assert!(
            *block == read(file),
            "the README's block differs from {file}"
        );
    }
    // The last is run by a test, indented there.
    let indented: String = blocks[3]
        .lines()
        .map(|line| format!("{:12}{line}\n", ""))
        .collect();
    assert!(
        read("tests/library.rs").contains(&indented),
        "the README's `App` block is not in tests/library.rs"
    );
}

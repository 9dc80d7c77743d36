//! The man pages in `docs/man/`, one a command and subcommand, are what clap_mangen makes of
//! the command line. This test generates them and fails when the committed ones differ;
//! `STAGECRAFT_WRITE_MAN=1 cargo test -p stagecraft --lib man_pages` writes them.

use std::collections::BTreeMap;
use std::path::Path;

/// The `.1` files of `dir` and their text.
fn pages(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "1"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

#[test]
fn man_pages_are_generated_for_every_subcommand_and_committed() {
    let out = tempfile::tempdir().unwrap();
    clap_mangen::generate_to(super::command(), out.path()).unwrap();
    let generated = pages(out.path());
    let committed_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/man");
    if std::env::var_os("STAGECRAFT_WRITE_MAN").is_some() {
        let _ = std::fs::remove_dir_all(&committed_dir);
        std::fs::create_dir_all(&committed_dir).unwrap();
        for (name, text) in &generated {
            std::fs::write(committed_dir.join(name), text).unwrap();
        }
    }
    for page in [
        "stagecraft.1",
        "stagecraft-secrets.1",
        "stagecraft-secrets-sync.1",
        "stagecraft-secrets-providers.1",
        "stagecraft-config.1",
        "stagecraft-config-validate.1",
        "stagecraft-config-schema.1",
        "stagecraft-completions.1",
    ] {
        assert!(
            generated.contains_key(page),
            "{page}: {:?}",
            generated.keys()
        );
    }
    assert!(generated["stagecraft-secrets-sync.1"].contains("\\-\\-dry\\-run"));
    assert!(
        pages(&committed_dir) == generated,
        "docs/man differs from the command line: review, then write it with\n  \
         STAGECRAFT_WRITE_MAN=1 cargo test -p stagecraft --lib man_pages"
    );
}

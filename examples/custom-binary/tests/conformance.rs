//! The `secret-dir` provider passes the conformance suite that every provider runs.

use acme_secrets::SecretDir;
use stagecraft_core::SyncOptions;
use stagecraft_core::conformance::{Fixture, check};
use std::collections::BTreeMap;

/// An env file as the source and a directory as the target, in a temporary directory.
struct SecretDirFixture {
    dir: tempfile::TempDir,
}

impl Fixture for SecretDirFixture {
    fn seed(&mut self, secrets: &[(&str, &str)]) -> SyncOptions {
        let source = self.dir.path().join("source.env");
        let text = stagecraft_providers::envfile::write_string(secrets.iter().copied()).unwrap();
        std::fs::write(&source, text).unwrap();
        let target = self.dir.path().join("target");
        SyncOptions::default()
            .source(source.to_str().unwrap())
            .target(target.to_str().unwrap())
    }

    fn read_target(&mut self) -> BTreeMap<String, String> {
        let files = std::fs::read_dir(self.dir.path().join("target")).unwrap();
        files
            .map(|file| {
                let file = file.unwrap();
                let value = std::fs::read_to_string(file.path()).unwrap();
                (file.file_name().into_string().unwrap(), value)
            })
            .collect()
    }
}

#[tokio::test]
async fn secret_dir_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("target")).unwrap();
    check(&SecretDir, &mut SecretDirFixture { dir }).await;
}

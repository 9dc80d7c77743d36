// A provider declared by a macro is invisible to `stagecraft_codegen`, which reads source text:
// with a generated table, the error says what the scan cannot see instead of "generate the table".
use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};

macro_rules! declare {
    ($id:literal, $name:ident) => {
        #[secrets_provider($id)]
        pub struct $name;
    };
}

declare!("by-macro", ByMacro);

impl SecretsProvider for ByMacro {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        Ok(SyncReport::default())
    }
}

// What `stagecraft_codegen` writes for this crate.
stagecraft_core::provider_table!(; generated = true);

fn main() {}

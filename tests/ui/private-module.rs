// A `pub` struct in a private module passes the attribute's own visibility check, but the table
// at the crate root cannot name it. `stagecraft_codegen` leaves it out of the table and writes
// why (as below); the error lands on the struct, naming the module, not in OUT_DIR.
use stagecraft_core::{SecretsProvider, SyncError, SyncOptions, SyncReport};

mod outer {
    mod private {
        use super::super::*;

        #[stagecraft_core::secrets_provider("hidden")]
        pub struct Hidden;

        impl SecretsProvider for Hidden {
            async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
                Ok(SyncReport::default())
            }
        }
    }
}

// What `stagecraft_codegen` writes for this crate.
stagecraft_core::provider_table! {
    ; generated = true,
    "crate::outer::private::Hidden" => "is declared in private module `crate::outer::private`, so the provider table at the crate root cannot name it (E0603): make the module `pub(crate)` or `pub`",
}

fn main() {}

//! The `#[secrets_provider("id")]` attribute. Use it through `stagecraft_core::secrets_provider`,
//! whose documentation describes what it generates.
//!
//! The attribute is parsed, validated and expanded in three steps, one module each, all on
//! `proc_macro2` so that they can be unit-tested without a compiler run.

mod args;
mod expand;
mod validate;

use proc_macro::TokenStream;

/// Registers a unit struct as a secrets provider with the given ID.
///
/// See `stagecraft_core::secrets_provider` for the full documentation.
#[proc_macro_attribute]
pub fn secrets_provider(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::secrets_provider(args.into(), item.into()).into()
}

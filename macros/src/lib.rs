//! The `#[secrets_provider("id")]` attribute. Use it through `stagecraft_core::secrets_provider`,
//! whose documentation describes what it generates.
//!
//! The attribute is parsed, validated and expanded in three steps, one module each, all on
//! `proc_macro2` so that they can be unit-tested without a compiler run.

mod args;
mod expand;
mod table;
mod validate;

use proc_macro::TokenStream;

/// Registers a unit struct as a secrets provider with the given ID.
///
/// See `stagecraft_core::secrets_provider` for the full documentation.
#[proc_macro_attribute]
pub fn secrets_provider(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::secrets_provider(args.into(), item.into()).into()
}

/// The table `stagecraft_core::include_providers!` declares: the providers of the crate whose
/// root invokes it and the provider crates its build script found. Not public API.
#[doc(hidden)]
#[proc_macro]
pub fn generated_table(input: TokenStream) -> TokenStream {
    // `include_registry!` passes the name of the registry, written in the crate root.
    let root = input
        .into_iter()
        .next()
        .and_then(|name| name.span().local_file());
    table::generated_table(root).into()
}

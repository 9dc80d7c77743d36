//! Code generation. The user's item is always emitted unchanged, with the errors next to it when
//! there are any, so that IDEs and later code keep working.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Item, ItemStruct, Lit, Meta};

use crate::{args::Args, validate};

/// Parses, validates and expands one `#[secrets_provider(…)]` invocation.
pub(crate) fn secrets_provider(args: TokenStream, input: TokenStream) -> TokenStream {
    let item = match syn::parse2::<Item>(input.clone()) {
        Ok(item) => item,
        Err(error) => return with_error(input, error),
    };
    let args = syn::parse2::<Args>(args);
    let id = args
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|a| validate::id(&a.id));
    let checked = validate::item(&item);
    match (args, id, checked) {
        (Ok(args), Ok(()), Ok(provider)) => expand(&args, provider),
        (args, id, checked) => {
            let core = args
                .as_ref()
                .map_or_else(|_| quote!(::stagecraft_core), Args::core_path);
            let errors = [args.err(), id.err(), checked.err()].into_iter().flatten();
            let error = validate::combine(errors.collect::<Vec<_>>()).unwrap_err();
            let fallback = match &item {
                Item::Struct(item) => fallback(item, &core),
                _ => TokenStream::new(),
            };
            let output = with_error(input, error);
            quote!(#output #fallback)
        }
    }
}

/// On error, the identity impl that the user's `impl SecretsProvider` requires, so that the
/// attribute's error is not followed by a spurious "`ProviderIdentity` is not implemented".
fn fallback(item: &ItemStruct, core: &TokenStream) -> TokenStream {
    let ident = &item.ident;
    let (impl_generics, ty_generics, where_clause) = item.generics.split_for_impl();
    quote! {
        impl #impl_generics #core::ProviderIdentity for #ident #ty_generics #where_clause {
            fn id(&self) -> &::core::primitive::str {
                ::core::unreachable!("#[secrets_provider] failed to expand")
            }
        }
    }
}

fn with_error(item: TokenStream, error: syn::Error) -> TokenStream {
    let error = error.to_compile_error();
    quote!(#item #error)
}

/// The identity impls, the linker's list and the membership check for one
/// provider.
/// Generated code reaches `stagecraft_core` by `crate = path`, else `::stagecraft_core`.
fn expand(args: &Args, item: &ItemStruct) -> TokenStream {
    let id = &args.id;
    let core = args.core_path();
    let ident = &item.ident;
    let cfgs = item.attrs.iter().filter(|a| a.path().is_ident("cfg"));
    let description = description(&item.attrs);
    let private = quote!(#core::__private);
    // Spanned on the struct so that a type error in generated code points at the user's item.
    let line = quote_spanned!(ident.span()=> ::core::line!());
    // Spanned on the type in the attribute, so that a type without `Deserialize` or
    // `JsonSchema` is reported there.
    let settings = match &args.settings {
        Some(ty) => quote_spanned!(ty.span()=> #private::Settings::of::<#ty>()),
        None => quote!(#private::Settings::NONE),
    };
    // Spanned on `source`, so that a provider without `SecretsSource` is reported there.
    let source = args
        .source
        .as_ref()
        .map(|flag| quote_spanned!(flag.span()=> .with_source(&#ident)));
    quote! {
        #item

        #(#cfgs)*
        const _: () = {
            impl #private::StaticProvider for #ident {
                const ENTRY: #private::Entry = #private::Entry::new(
                    #id,
                    ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#ident)),
                    ::core::concat!(
                        ::core::env!("CARGO_PKG_NAME"),
                        " ",
                        ::core::env!("CARGO_PKG_VERSION"),
                    ),
                    ::core::file!(),
                    #line,
                    #description,
                    #settings,
                    &#ident,
                )#source;
            }

            impl #core::ProviderIdentity for #ident {
                fn id(&self) -> &::core::primitive::str {
                    <Self as #private::StaticProvider>::ENTRY.id()
                }

                fn description(&self) -> &::core::primitive::str {
                    <Self as #private::StaticProvider>::ENTRY.description()
                }

                fn settings(&self) -> #private::Settings {
                    <Self as #private::StaticProvider>::ENTRY.settings()
                }

                fn source(&self) -> ::core::option::Option<&dyn #core::DynSecretsSource> {
                    <Self as #private::StaticProvider>::ENTRY.source().map(|s| s as _)
                }
            }

            // The linker's list of every provider in the program, which a registry checks
            // itself against.
            #[#private::linkme::distributed_slice(#private::LINKED_PROVIDERS)]
            #[linkme(crate = #private::linkme)]
            static LINKED: #private::Entry = <#ident as #private::StaticProvider>::ENTRY;

            const __STAGECRAFT_ENTRY: &#private::Entry =
                &<#ident as #private::StaticProvider>::ENTRY;
            // The crate root's table, through a glob import that shadows names of the scopes
            // around; where the root has none, the one in scope: a doctest's, which rustdoc
            // wraps in `fn main` with its providers. (The provider's name is looked up above,
            // where the glob cannot shadow it.)
            {
                #[allow(unused_imports)]
                use crate::*;
                #private::assert_listed(
                    __STAGECRAFT_ENTRY,
                    SECRETS_PROVIDERS,
                    &<__ProviderIdKeys as #private::TableNotes>::NOTES,
                )
            }
        };
    }
}

/// The first non-empty line of the item's doc comment.
fn description(attrs: &[Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|doc| doc.lines().map(|l| l.trim().to_owned()).collect::<Vec<_>>())
        .find(|line| !line.is_empty())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_the_item() {
        let out = secrets_provider(
            quote!(""),
            quote!(
                pub struct EnvFile;
            ),
        )
        .to_string();
        assert!(out.starts_with("pub struct EnvFile ;"), "{out}");
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("must not be empty"), "{out}");
    }

    #[test]
    fn independent_errors_are_all_reported() {
        let out = secrets_provider(
            quote!("Bad"),
            quote!(
                struct EnvFile;
            ),
        )
        .to_string();
        assert!(out.contains("contains 'B'"), "{out}");
        assert!(out.contains("visible to the crate root"), "{out}");
    }

    #[test]
    fn expansion_names_the_id_and_the_description() {
        let out = secrets_provider(
            quote!("envfile"),
            quote!(
                /// Syncs env files.
                ///
                /// More text.
                pub struct EnvFile;
            ),
        )
        .to_string();
        assert!(out.contains("\"envfile\""), "{out}");
        assert!(out.contains("\"Syncs env files.\""), "{out}");
        assert!(out.contains("assert_listed"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn settings_are_recorded_in_the_entry() {
        let with = secrets_provider(
            quote!("envfile", settings = Options),
            quote!(
                pub struct EnvFile;
            ),
        )
        .to_string();
        assert!(with.contains("Settings :: of :: < Options > ()"), "{with}");
        let without = secrets_provider(
            quote!("envfile"),
            quote!(
                pub struct EnvFile;
            ),
        )
        .to_string();
        assert!(without.contains("Settings :: NONE"), "{without}");
    }

    #[test]
    fn argument_and_item_errors_are_all_reported() {
        let out = secrets_provider(
            quote!("envfile", setings = Options),
            quote!(
                struct EnvFile;
            ),
        )
        .to_string();
        assert!(out.contains("unknown argument `setings`"), "{out}");
        assert!(out.contains("visible to the crate root"), "{out}");
    }
}

//! The rules an ID and the annotated item must follow. Every independent problem is reported,
//! each spanned on the token that causes it.

use syn::{Fields, Item, ItemStruct, LitStr, Visibility};

/// The longest ID accepted, in bytes.
pub(crate) const MAX_ID_LEN: usize = 64;

/// Checks the ID: not empty, at most [`MAX_ID_LEN`] bytes, only `[a-z0-9._-]`.
pub(crate) fn id(lit: &LitStr) -> syn::Result<()> {
    let id = lit.value();
    if id.is_empty() {
        return Err(syn::Error::new_spanned(
            lit,
            "#[secrets_provider] id must not be empty; use a name such as `\"envfile\"`",
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-'))
    {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "#[secrets_provider] id {id:?} contains {bad:?}; only lowercase letters, digits, `.`, `_` and `-` are allowed"
            ),
        ));
    }
    if id.len() > MAX_ID_LEN {
        return Err(syn::Error::new_spanned(
            lit,
            format!(
                "#[secrets_provider] id is {} bytes long; at most {MAX_ID_LEN} are allowed",
                id.len()
            ),
        ));
    }
    Ok(())
}

/// Checks the item: a non-generic unit struct that the crate root can name.
pub(crate) fn item(item: &Item) -> syn::Result<&ItemStruct> {
    let Item::Struct(item) = item else {
        return Err(syn::Error::new_spanned(
            item_head(item),
            "#[secrets_provider] can only be used on a struct, such as `pub struct EnvFile;`",
        ));
    };
    let mut errors = Vec::new();
    let private = match &item.vis {
        Visibility::Inherited => true,
        Visibility::Restricted(r) => r.path.is_ident("self"),
        Visibility::Public(_) => false,
    };
    if private {
        errors.push(syn::Error::new_spanned(
            &item.ident,
            format!(
                "#[secrets_provider] struct `{}` must be visible to the crate root (`pub` or `pub(crate)`): the provider table names it from there",
                item.ident
            ),
        ));
    }
    if !matches!(item.fields, Fields::Unit) {
        errors.push(syn::Error::new_spanned(
            &item.fields,
            format!(
                "#[secrets_provider] struct `{}` must be a unit struct (`struct {};`): providers are stateless and read their settings from `SyncOptions::config`",
                item.ident, item.ident
            ),
        ));
    }
    if !item.generics.params.is_empty() {
        errors.push(syn::Error::new_spanned(
            &item.generics,
            "#[secrets_provider] struct must not be generic",
        ));
    }
    combine(errors).map(|()| item)
}

/// Folds errors into one so that a single build shows all of them.
pub(crate) fn combine(errors: impl IntoIterator<Item = syn::Error>) -> syn::Result<()> {
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut all) => {
            errors.for_each(|error| all.combine(error));
            Err(all)
        }
    }
}

/// The tokens that name an item (`enum Foo`), so that an error does not cover its whole body.
fn item_head(item: &Item) -> proc_macro2::TokenStream {
    use quote::ToTokens;
    fn head(keyword: impl ToTokens, ident: impl ToTokens) -> proc_macro2::TokenStream {
        quote::quote!(#keyword #ident)
    }
    match item {
        Item::Enum(i) => head(i.enum_token, &i.ident),
        Item::Union(i) => head(i.union_token, &i.ident),
        Item::Fn(i) => head(i.sig.fn_token, &i.sig.ident),
        Item::Trait(i) => head(i.trait_token, &i.ident),
        Item::Type(i) => head(i.type_token, &i.ident),
        Item::Mod(i) => head(i.mod_token, &i.ident),
        Item::Const(i) => head(i.const_token, &i.ident),
        Item::Static(i) => head(i.static_token, &i.ident),
        other => other.to_token_stream(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn id_error(id: &str) -> Option<String> {
        let lit = LitStr::new(id, proc_macro2::Span::call_site());
        super::id(&lit).err().map(|e| e.to_string())
    }

    #[test]
    fn ids() {
        assert_eq!(id_error("envfile"), None);
        assert_eq!(id_error("aws.secrets-manager_v2"), None);
        assert_eq!(id_error(&"a".repeat(64)), None);
        assert!(id_error("").unwrap().contains("must not be empty"));
        assert!(id_error("EnvFile").unwrap().contains("contains 'E'"));
        assert!(id_error("env file").unwrap().contains("contains ' '"));
        assert!(id_error(&"a".repeat(65)).unwrap().contains("65 bytes"));
    }

    #[test]
    fn items() {
        let ok: Item = parse_quote!(
            pub struct EnvFile;
        );
        assert!(item(&ok).is_ok());
        let crate_visible: Item = parse_quote!(
            pub(crate) struct EnvFile;
        );
        assert!(item(&crate_visible).is_ok());

        let an_enum: Item = parse_quote!(
            pub enum EnvFile {}
        );
        assert!(
            item(&an_enum)
                .unwrap_err()
                .to_string()
                .contains("only be used on a struct")
        );

        let private_with_fields: Item = parse_quote!(
            struct EnvFile {
                path: String,
            }
        );
        let errors: Vec<String> = item(&private_with_fields)
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("visible to the crate root"));
        assert!(errors[1].contains("must be a unit struct"));

        for private in [
            parse_quote!(
                pub(self) struct EnvFile;
            ),
            parse_quote!(
                pub(self) struct EnvFile;
            ),
        ] {
            let private: Item = private;
            assert!(
                item(&private)
                    .unwrap_err()
                    .to_string()
                    .contains("visible to the crate root")
            );
        }
    }
}

//! Parsing of the attribute's arguments: a string literal, the ID, then optional `key = value`
//! arguments, each at most once.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, ExprLit, Lit, LitStr, Token};

/// The arguments of `#[secrets_provider("id", crate = path)]`.
pub(crate) struct Args {
    pub(crate) id: LitStr,
    /// The path of `stagecraft_core` as the crate using the attribute names it: `crate = path`
    /// for a renamed dependency or a facade crate (as serde's `#[serde(crate = "…")]`).
    pub(crate) krate: Option<syn::Path>,
}

impl Args {
    /// The path generated code reaches `stagecraft_core` by.
    pub(crate) fn core_path(&self) -> TokenStream {
        match &self.krate {
            Some(path) => quote!(#path),
            None => quote!(::stagecraft_core),
        }
    }
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "#[secrets_provider] expects an id: `#[secrets_provider(\"envfile\")]`",
            ));
        }
        let mut expr: Expr = input.parse()?;
        // A `$id:literal` passed through `macro_rules!` arrives wrapped in an invisible group.
        while let Expr::Group(group) = expr {
            expr = *group.expr;
        }
        let id = match expr {
            Expr::Lit(ExprLit {
                lit: Lit::Str(id), ..
            }) => id,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "#[secrets_provider] expected a string literal such as `\"envfile\"`",
                ));
            }
        };
        let mut args = Args { id, krate: None };
        while !input.is_empty() {
            let _: Token![,] = input.parse()?;
            if input.is_empty() {
                break;
            }
            args.argument(input)?;
        }
        Ok(args)
    }
}

impl Args {
    /// One `key = value` argument after the ID.
    fn argument(&mut self, input: ParseStream<'_>) -> syn::Result<()> {
        if input.peek(Token![crate]) {
            let key: Token![crate] = input.parse()?;
            let _: Token![=] = input.parse()?;
            let path = input.parse::<syn::Path>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "#[secrets_provider] `crate` expects a path to stagecraft_core, such as `::my_facade::core`",
                )
            })?;
            if self.krate.is_some() {
                return Err(syn::Error::new_spanned(
                    key,
                    "#[secrets_provider] `crate` is given twice",
                ));
            }
            self.krate = Some(path);
            return Ok(());
        }
        let rest: TokenStream = input.parse()?;
        Err(syn::Error::new_spanned(
            rest,
            "#[secrets_provider] takes an id and optionally `crate = path`, such as `#[secrets_provider(\"envfile\", crate = ::my_facade::core)]`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::Args;
    use quote::{ToTokens, quote};

    fn parse(tokens: proc_macro2::TokenStream) -> Result<String, String> {
        syn::parse2::<Args>(tokens)
            .map(|args| args.id.value())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_a_string_literal() {
        assert_eq!(parse(quote!("envfile")), Ok("envfile".to_owned()));
        assert_eq!(parse(quote!("envfile",)), Ok("envfile".to_owned()));
    }

    #[test]
    fn accepts_a_crate_path() {
        let args = syn::parse2::<Args>(quote!("envfile", crate = ::facade::core,)).unwrap();
        assert_eq!(args.id.value(), "envfile");
        assert_eq!(
            args.krate.unwrap().to_token_stream().to_string(),
            ":: facade :: core"
        );
        let default = syn::parse2::<Args>(quote!("envfile")).unwrap();
        assert_eq!(default.core_path().to_string(), ":: stagecraft_core");
    }

    #[test]
    fn rejects_everything_else() {
        assert!(parse(quote!()).unwrap_err().contains("expects an id"));
        assert!(
            parse(quote!(envfile))
                .unwrap_err()
                .contains("expected a string literal")
        );
        assert!(
            parse(quote!(42))
                .unwrap_err()
                .contains("expected a string literal")
        );
        assert!(
            parse(quote!("a", "b"))
                .unwrap_err()
                .contains("takes an id and optionally `crate = path`")
        );
        assert!(
            parse(quote!("a", crate = sc, crate = sc))
                .unwrap_err()
                .contains("`crate` is given twice")
        );
        assert!(
            parse(quote!("a", crate = "sc"))
                .unwrap_err()
                .contains("`crate` expects a path")
        );
    }
}

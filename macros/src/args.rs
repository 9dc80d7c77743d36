//! Parsing of the attribute's argument: exactly one string literal.

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::{Expr, ExprLit, Lit, LitStr, Token};

/// The argument of `#[secrets_provider("id")]`.
pub(crate) struct Args {
    pub(crate) id: LitStr,
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
        if input.peek(Token![,]) {
            let _: Token![,] = input.parse()?;
        }
        if !input.is_empty() {
            let rest: TokenStream = input.parse()?;
            return Err(syn::Error::new_spanned(
                rest,
                "#[secrets_provider] takes a single id, such as `#[secrets_provider(\"envfile\")]`",
            ));
        }
        Ok(Args { id })
    }
}

#[cfg(test)]
mod tests {
    use super::Args;
    use quote::quote;

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
                .contains("takes a single id")
        );
    }
}

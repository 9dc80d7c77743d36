//! Parsing of the attribute's arguments: a string literal ID, then optional `name = value` pairs.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Token, Type};

/// The arguments that may follow the ID, for the "expected one of" message.
const NAMED: &str = "`settings`, `source`, `crate`";

/// The arguments of `#[secrets_provider("id", settings = Options, source, crate = path)]`.
pub(crate) struct Args {
    pub(crate) id: LitStr,
    /// The provider's settings type, spanned where the user wrote it.
    pub(crate) settings: Option<Type>,
    /// `source`: the provider implements `SecretsSource` and others can read from it; spanned
    /// where the user wrote it, so that a missing impl is reported there.
    pub(crate) source: Option<Ident>,
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
        let mut args = Args {
            id,
            settings: None,
            source: None,
            krate: None,
        };
        let mut errors = Vec::new();
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            if let Err(error) = args.parse_named(input) {
                errors.push(error);
                skip_argument(input);
            }
        }
        crate::validate::combine(errors).map(|()| args)
    }
}

impl Args {
    /// One `name = value` argument after the ID.
    fn parse_named(&mut self, input: ParseStream<'_>) -> syn::Result<()> {
        if !input.peek(Ident::peek_any) {
            let rest: TokenStream = input.fork().parse()?;
            return Err(syn::Error::new_spanned(
                rest.into_iter().next(),
                format!(
                    "#[secrets_provider] expected `name = value` after the id, one of {NAMED}: `#[secrets_provider(\"envfile\", settings = Options)]`"
                ),
            ));
        }
        let name = input.call(Ident::parse_any)?;
        if name == "crate" {
            return self.parse_crate(input, name);
        }
        if name == "source" {
            return self.parse_source(input, name);
        }
        if name != "settings" {
            return Err(syn::Error::new_spanned(
                &name,
                format!("#[secrets_provider] unknown argument `{name}`; expected one of {NAMED}"),
            ));
        }
        if !input.peek(Token![=]) {
            return Err(syn::Error::new_spanned(
                &name,
                "#[secrets_provider] `settings` expects a type: `settings = Options`",
            ));
        }
        input.parse::<Token![=]>()?;
        let settings = settings_type(input)?;
        if self.settings.is_some() {
            return Err(syn::Error::new_spanned(
                name,
                "#[secrets_provider] `settings` is given twice",
            ));
        }
        self.settings = Some(settings);
        Ok(())
    }
}

impl Args {
    /// `source`, a flag without a value.
    fn parse_source(&mut self, input: ParseStream<'_>, name: Ident) -> syn::Result<()> {
        if !(input.is_empty() || input.peek(Token![,])) {
            return Err(syn::Error::new_spanned(
                &name,
                "#[secrets_provider] `source` takes no value: `#[secrets_provider(\"vault\", source)]`",
            ));
        }
        if self.source.is_some() {
            return Err(syn::Error::new_spanned(
                name,
                "#[secrets_provider] `source` is given twice",
            ));
        }
        self.source = Some(name);
        Ok(())
    }

    /// The path after `crate =`.
    fn parse_crate(&mut self, input: ParseStream<'_>, name: Ident) -> syn::Result<()> {
        let expects = |span| {
            syn::Error::new(
                span,
                "#[secrets_provider] `crate` expects a path to stagecraft_core, such as `crate = ::my_facade::core`",
            )
        };
        if !input.peek(Token![=]) {
            return Err(expects(name.span()));
        }
        input.parse::<Token![=]>()?;
        let path = input.parse::<syn::Path>().map_err(|e| expects(e.span()))?;
        if !(input.is_empty() || input.peek(Token![,])) {
            return Err(expects(input.span()));
        }
        if self.krate.is_some() {
            return Err(syn::Error::new_spanned(
                name,
                "#[secrets_provider] `crate` is given twice",
            ));
        }
        self.krate = Some(path);
        Ok(())
    }
}

/// The type after `settings =`, up to the next `,`.
fn settings_type(input: ParseStream<'_>) -> syn::Result<Type> {
    let message = |value: &dyn ToTokens| {
        let hint = match syn::parse2::<LitStr>(value.to_token_stream()) {
            Ok(lit) => format!(", not a string: `settings = {}`", lit.value()),
            Err(_) => " such as `settings = Options`".to_owned(),
        };
        syn::Error::new_spanned(
            value,
            format!("#[secrets_provider] `settings` expects a type{hint}"),
        )
    };
    let ty = match input.fork().parse::<Type>() {
        Ok(_) => input.parse::<Type>()?,
        Err(_) => return Err(message(&value_tokens(input))),
    };
    if input.is_empty() || input.peek(Token![,]) {
        Ok(ty)
    } else {
        let rest = value_tokens(input);
        Err(message(&quote::quote!(#ty #rest)))
    }
}

/// Consumes the tokens up to the next `,`, so that the arguments after it are still checked.
fn skip_argument(input: ParseStream<'_>) {
    let _ = value_tokens(input);
}

fn value_tokens(input: ParseStream<'_>) -> TokenStream {
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        match input.parse::<proc_macro2::TokenTree>() {
            Ok(token) => tokens.extend([token]),
            Err(_) => break,
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::Args;
    use quote::{ToTokens, quote};

    fn parse(tokens: proc_macro2::TokenStream) -> Result<(String, Option<String>), String> {
        syn::parse2::<Args>(tokens)
            .map(|args| {
                (
                    args.id.value(),
                    args.settings.map(|t| t.to_token_stream().to_string()),
                )
            })
            .map_err(|e| {
                e.into_iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
    }

    #[test]
    fn source_is_a_flag_given_once() {
        let args = syn::parse2::<Args>(quote!("vault", settings = Options, source)).unwrap();
        assert_eq!(args.source.unwrap().to_string(), "source");
        assert!(
            syn::parse2::<Args>(quote!("vault"))
                .unwrap()
                .source
                .is_none()
        );
        assert_eq!(
            parse(quote!("a", source = true)).unwrap_err(),
            "#[secrets_provider] `source` takes no value: `#[secrets_provider(\"vault\", source)]`"
        );
        assert_eq!(
            parse(quote!("a", source, source)).unwrap_err(),
            "#[secrets_provider] `source` is given twice"
        );
    }

    #[test]
    fn accepts_an_id_and_settings() {
        assert_eq!(parse(quote!("envfile")), Ok(("envfile".to_owned(), None)));
        assert_eq!(parse(quote!("envfile",)), Ok(("envfile".to_owned(), None)));
        assert_eq!(
            parse(quote!("envfile", settings = Options)),
            Ok(("envfile".to_owned(), Some("Options".to_owned())))
        );
        assert_eq!(
            parse(quote!("envfile", settings = crate::opts::Options<'static>,)),
            Ok((
                "envfile".to_owned(),
                Some("crate :: opts :: Options < 'static >".to_owned())
            ))
        );
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
        assert!(parse(quote!("a", "b")).unwrap_err().contains(
            "expected `name = value` after the id, one of `settings`, `source`, `crate`"
        ));
        assert_eq!(
            parse(quote!("a", setings = Options)).unwrap_err(),
            "#[secrets_provider] unknown argument `setings`; expected one of `settings`, `source`, `crate`"
        );
        assert_eq!(
            parse(quote!("a", settings = "Options")).unwrap_err(),
            "#[secrets_provider] `settings` expects a type, not a string: `settings = Options`"
        );
        assert_eq!(
            parse(quote!("a", settings = Options::new())).unwrap_err(),
            "#[secrets_provider] `settings` expects a type such as `settings = Options`"
        );
        assert_eq!(
            parse(quote!("a", settings)).unwrap_err(),
            "#[secrets_provider] `settings` expects a type: `settings = Options`"
        );
        assert_eq!(
            parse(quote!("a", settings = A, settings = B)).unwrap_err(),
            "#[secrets_provider] `settings` is given twice"
        );
    }

    #[test]
    fn accepts_a_crate_path() {
        let args =
            syn::parse2::<Args>(quote!("envfile", crate = ::facade::core, settings = O,)).unwrap();
        assert_eq!(args.id.value(), "envfile");
        assert_eq!(
            args.krate.unwrap().to_token_stream().to_string(),
            ":: facade :: core"
        );
        let default = syn::parse2::<Args>(quote!("envfile")).unwrap();
        assert_eq!(default.core_path().to_string(), ":: stagecraft_core");
        assert_eq!(
            parse(quote!("a", crate = sc, crate = sc)).unwrap_err(),
            "#[secrets_provider] `crate` is given twice"
        );
    }

    #[test]
    fn independent_argument_errors_are_all_reported() {
        let errors = parse(quote!("a", crate = "x", settings = 42, typo)).unwrap_err();
        assert_eq!(
            errors,
            "#[secrets_provider] `crate` expects a path to stagecraft_core, such as `crate = ::my_facade::core` | \
             #[secrets_provider] `settings` expects a type such as `settings = Options` | \
             #[secrets_provider] unknown argument `typo`; expected one of `settings`, `source`, `crate`"
        );
    }
}

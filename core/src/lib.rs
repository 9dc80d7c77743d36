//! Secrets providers for Stagecraft: the provider traits, compile-time provider tables and the
//! runtime registry.
//!
//! A provider declares itself with one attribute; its crate lists it in a table sorted by ID at
//! build time; a binary merges the tables of all its provider crates in const evaluation:
//!
//! ```
//! use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};
//!
//! /// Copies one env file to another.
//! #[secrets_provider("copy")]
//! pub struct Copy;
//!
//! impl SecretsProvider for Copy {
//!     async fn sync(&self, opts: SyncOptions) -> Result<SyncReport, SyncError> {
//!         Ok(SyncReport::new(opts.source.unwrap_or_default(), opts.target.unwrap_or_default()))
//!     }
//! }
//!
//! // A provider crate generates this from build.rs with `stagecraft_codegen`; a crate with a
//! // provider or two can list them by hand.
//! stagecraft_core::provider_table!(Copy);
//!
//! stagecraft_core::secrets_registry!(static REGISTRY = [crate::SECRETS_PROVIDERS]);
//!
//! # fn main() {
//! assert_eq!(REGISTRY.ids().collect::<Vec<_>>(), ["copy"]);
//! assert_eq!(REGISTRY.get("copy").unwrap().description(), "Copies one env file to another.");
//! # }
//! ```
//!
//! Two providers with the same ID do not compile:
//!
//! ```compile_fail
//! # use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};
//! #[secrets_provider("copy")]
//! pub struct A;
//! #[secrets_provider("copy")]
//! pub struct B;
//! # impl SecretsProvider for A { async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> { todo!() } }
//! # impl SecretsProvider for B { async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> { todo!() } }
//! stagecraft_core::provider_table!(A, B);
//! # fn main() {}
//! ```

// Lets the attribute's absolute paths (`::stagecraft_core::…`) resolve inside this crate's tests.
extern crate self as stagecraft_core;

pub mod config;
pub mod conformance;
pub mod interrupt;
mod lookup;
mod provider;
mod registry;
pub mod secrets;
mod settings;
mod source;
mod table;

pub use config::{Config, ConfigError, ConfigWarning, Location, ProviderConfig};
pub use provider::{
    Action, ActionCounts, DynSecretsProvider, ProviderIdentity, SecretsProvider, SyncError,
    SyncFuture, SyncOptions, SyncReport,
};
pub use registry::{
    KIND, KnownIds, Providers, Registry, RegistryError, UnknownId, UnknownProvider,
};
pub use settings::{Settings, config_schema};
pub use source::{DynSecretsSource, ReadFuture, ReadOptions, Secrets, SecretsSource};
pub use table::Entry;

/// Registers a unit struct as a secrets provider with the given ID and, optionally, the type of
/// its settings: `#[secrets_provider("id")]` or `#[secrets_provider("id", settings = Options)]`.
///
/// The ID is a string literal of 1 to 64 bytes of `[a-z0-9._-]`; the struct is a non-generic unit
/// struct visible to the crate root (`pub` or `pub(crate)`). The attribute implements
/// [`ProviderIdentity`] (the ID, the first line of the doc comment as the description, and the
/// settings), makes a second provider with the same ID in the crate a compile error, and checks
/// that the crate's `SECRETS_PROVIDERS` table lists the provider.
///
/// # Settings
///
/// `settings = Options` names the type of the provider's section of `stagecraft.yml`
/// (`secrets.providers.<id>`): a struct that implements `serde::Deserialize` and
/// `schemars::JsonSchema`, usually with `#[serde(deny_unknown_fields)]` and a doc comment on each
/// field. Then:
///
/// - [`SecretsProvider::check_config`] decodes the section as `Options` by default, so that
///   `stagecraft config validate` reports a typo or a wrong type with its file, line, column and
///   YAML path; the provider writes no `check_config` of its own;
/// - the provider reads its settings in `sync` with [`SyncOptions::settings`];
/// - the table [`Entry`] records the type, and `stagecraft config schema` prints its JSON Schema
///   (doc comments become descriptions) for editors.
///
/// Without `settings`, the provider takes none: any non-empty section is an error.
///
/// # Renamed dependency or facade crate
///
/// A crate that depends on `stagecraft-core` under another name, or through a facade crate that
/// re-exports it, says where it is with `crate = path`, as serde's `#[serde(crate = "…")]`:
/// `#[sc::secrets_provider("envfile", crate = ::sc)]`.
///
/// ```
/// use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};
///
/// /// Copies secrets into the Acme vault.
/// #[secrets_provider("acme", settings = Options)]
/// pub struct Acme;
///
/// /// The `acme` section of `stagecraft.yml`.
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// #[serde(deny_unknown_fields)]
/// pub struct Options {
///     /// The vault's address, such as `https://vault.acme.test`.
///     pub address: String,
/// }
///
/// impl SecretsProvider for Acme {
///     async fn sync(&self, opts: SyncOptions) -> Result<SyncReport, SyncError> {
///         let options = opts.settings::<Options>()?;
///         Ok(SyncReport::new(options.address, opts.target.unwrap_or_default()))
///     }
/// }
///
/// stagecraft_core::provider_table!(Acme);
/// # fn main() {}
/// ```
///
/// A provider that decodes its settings by hand (`opts.config.decode::<Options>()` in `sync` and
/// in `check_config`) moves to the attribute in one line: add `settings = Options` to the
/// attribute and `schemars::JsonSchema` to the derives of `Options` (its crate depends on
/// `schemars` 1.x). Its `check_config` can then go, unless it checks more than the decoding; the
/// decode in `sync` keeps working and reads best as `opts.settings::<Options>()`.
///
/// The schema is derived from the type, not from what its `Deserialize` accepts: where the two
/// differ, say so with schemars' attributes. A field read with `#[serde(deserialize_with = …)]`
/// (a duration given as `30` or `"30s"`) needs `#[schemars(schema_with = …)]` or
/// `#[schemars(with = …)]`, and variants that take `#[serde(alias = …)]` need a schema that lists
/// the aliases too (schemars ignores `alias`). Add a few configs of the provider, valid and not,
/// to the agreement corpus in `providers/tests/settings_schema.rs`, which checks that the schema
/// and `config validate` accept the same ones.
///
/// A settings type that is not `Deserialize` or not `JsonSchema` is a compile error on the type
/// in the attribute:
///
/// ```compile_fail
/// # use stagecraft_core::{secrets_provider, SecretsProvider, SyncError, SyncOptions, SyncReport};
/// #[derive(serde::Deserialize)]
/// pub struct Options {}
///
/// #[secrets_provider("acme", settings = Options)] // `Options` lacks `JsonSchema`
/// pub struct Acme;
/// # impl SecretsProvider for Acme { async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> { todo!() } }
/// # stagecraft_core::provider_table!(Acme);
/// # fn main() {}
/// ```
pub use stagecraft_macros::secrets_provider;

/// Declares this crate's provider table, `pub const SECRETS_PROVIDERS: &[Entry]`, sorted by ID
/// in const evaluation. Invoke it once, at the crate root. Each provider may carry `#[cfg]`s.
///
/// ```ignore
/// stagecraft_core::provider_table!(envfile::EnvFile, #[cfg(feature = "vault")] vault::Vault);
/// ```
///
/// It also declares the tables the crate carries for the registries of the crates that depend
/// on it (`__SECRETS_PROVIDER_TABLES`, not public API): its own, plus those of the provider
/// crates listed after `; dependencies = [...]`, which `include_providers!` fills in from
/// `build.rs`. A table written by hand carries only its own providers.
///
/// `include_providers!` writes a call ending in `; generated = true`, followed by the providers
/// it found but cannot list (with the reason), so that the attribute explains at each of them
/// why it is missing from the table.
#[macro_export]
macro_rules! provider_table {
    (
        $($(#[$cfg:meta])* $provider:path),* $(,)?
        $(; generated = $generated:literal $(, $unlisted:literal => $reason:literal)* $(,)?)?
        $(; dependencies = [$($dependency:ident),* $(,)?])?
    ) => {
        /// What the generator says about this crate's table (`TableNotes`) is implemented for this type.
        #[doc(hidden)]
        #[allow(dead_code, unreachable_pub)]
        struct __ProviderIdKeys;

        impl $crate::__private::TableNotes for __ProviderIdKeys {
            const NOTES: $crate::__private::Notes = $crate::__private::Notes {
                generated: false $(|| $generated)?,
                unlisted: &[$($(($unlisted, $reason)),*)?],
            };
        }

        /// This crate's secrets providers, sorted by ID.
        #[allow(unreachable_pub)]
        pub const SECRETS_PROVIDERS: &[$crate::Entry] = {
            const LISTED: &[$crate::Entry] = &[$(
                $(#[$cfg])* <$provider as $crate::__private::StaticProvider>::ENTRY
            ),*];
            const SORTED: [$crate::Entry; LISTED.len()] = $crate::__private::merge(&[LISTED]);
            const UNIQUE: [$crate::Entry; $crate::__private::unique_len(&SORTED)] =
                $crate::__private::unique(&SORTED);
            &UNIQUE
        };

        /// This crate's table and the tables of the provider crates it depends on, at any
        /// depth, each once: what a registry of a crate that depends on this one merges.
        #[doc(hidden)]
        #[allow(unreachable_pub)]
        pub const __SECRETS_PROVIDER_TABLES: &[&[$crate::Entry]] = {
            const DEPENDENCIES: &[&[&[$crate::Entry]]] =
                &[$($(::$dependency::__SECRETS_PROVIDER_TABLES),*)?];
            const TABLES: [
                &[$crate::Entry];
                $crate::__private::tables_len(SECRETS_PROVIDERS, DEPENDENCIES)
            ] = $crate::__private::tables(SECRETS_PROVIDERS, DEPENDENCIES);
            &TABLES
        };
    };
}

/// Declares the crate's provider table from its module tree: every struct marked
/// `#[secrets_provider]` in the files of the crate (found by following `mod` items, `#[path]`
/// and `#[cfg_attr(…, path)]` from the file that invokes it, which must be the crate root),
/// with its `cfg`s, sorted by ID; and the tables of the provider crates it depends on, which
/// `stagecraft_codegen::generate()` finds from `build.rs`, so that a crate that depends on this
/// one reaches them all. Invoke it once, at the crate root:
///
/// ```ignore
/// // build.rs: fn main() { stagecraft_codegen::generate(); }
/// stagecraft_core::include_providers!();
/// ```
///
/// A library that declares providers also sets `links` in its `Cargo.toml`; the error says so
/// when it does not. In a binary, an example or a test of a package that also has a library,
/// the library's table is carried too.
#[macro_export]
macro_rules! include_providers {
    ($($root:ident)?) => {
        // The generated call names the table macro by this name, so that it resolves through
        // `$crate` even when this crate is renamed in Cargo.toml or reached through a facade.
        #[doc(hidden)]
        use $crate::provider_table as __stagecraft_provider_table;
        // An identifier written in the crate root tells the scan where it starts.
        $crate::__private::generated_table!($($root)?);
        const _: () = $crate::__private::assert_at_crate_root(
            ::core::module_path!(),
            ::core::option_env!("CARGO_CRATE_NAME"),
        );
    };
}

/// Declares a static [`Registry`] over the merged tables of several crates, sorted in const
/// evaluation. An empty or duplicate ID is a compile error that names both providers; a table
/// listed twice (or reached twice) counts once.
///
/// ```ignore
/// stagecraft_core::secrets_registry!(pub static REGISTRY = [
///     stagecraft_providers::SECRETS_PROVIDERS,
///     acme_providers::SECRETS_PROVIDERS,
/// ]);
/// ```
///
/// At its first use, the registry checks that every provider compiled into the program is in it,
/// and panics naming those that are not (see [`Registry`]): a list that leaves out a provider
/// crate by mistake does not go unnoticed. A registry that leaves providers out on purpose says
/// so with `; partial` after the list.
#[macro_export]
macro_rules! secrets_registry {
    ($(#[$attr:meta])* $vis:vis static $name:ident = [$($table:expr),* $(,)?]; partial $(;)?) => {
        $crate::secrets_registry!(@tables $(#[$attr])* $vis static $name = &[$($table),*], false);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident = [$($table:expr),* $(,)?] $(;)?) => {
        $crate::secrets_registry!(@tables $(#[$attr])* $vis static $name = &[$($table),*], true);
    };
    (@tables $(#[$attr:meta])* $vis:vis static $name:ident = $tables:expr, $complete:expr) => {
        $(#[$attr])*
        $vis static $name: $crate::Registry = {
            const TABLES: &[&[$crate::Entry]] = $tables;
            const SORTED: [$crate::Entry; $crate::__private::merged_len(TABLES)] =
                $crate::__private::merge(TABLES);
            const MERGED: [$crate::Entry; $crate::__private::unique_len(&SORTED)] =
                $crate::__private::unique(&SORTED);
            const INDEX: $crate::__private::BuiltIndex<
                { $crate::__private::index_len(MERGED.len()) },
                { $crate::__private::pilots_len(MERGED.len()) },
            > = $crate::__private::build_index(&MERGED);
            const LOOKUP: (&[$crate::Entry], $crate::__private::Index) = (
                &MERGED,
                $crate::__private::Index::new(&INDEX.slots, &INDEX.pilots, INDEX.seed),
            );
            // The lookup is compiled here, where the table and its index are constants.
            fn find(
                id: &::core::primitive::str,
            ) -> ::core::option::Option<&'static $crate::Entry> {
                LOOKUP.1.find(LOOKUP.0, id)
            }
            $crate::Registry::from_table(
                ::core::concat!(::core::module_path!(), "::", ::core::stringify!($name)),
                LOOKUP.0,
                LOOKUP.1,
                find,
                $complete,
            )
        };
    };
}

/// Declares the crate's complete registry: its own providers and those of every provider crate
/// it depends on, directly or through other crates, as `include_providers!` finds them. Invoke
/// it once, at the crate root, instead of `include_providers!`:
///
/// ```ignore
/// // build.rs: fn main() { stagecraft_codegen::generate(); }
/// stagecraft_core::include_registry!(pub static REGISTRY);
/// ```
///
/// A provider crate is found when its build script calls `stagecraft_codegen::generate()`, its
/// crate root `include_providers!()`, and its `Cargo.toml` sets `links` (any name unique in the
/// dependency graph, such as `links = "acme-secrets-providers"`), which is how cargo passes what
/// it is to the crates that depend on it. Each such crate carries the tables of its own provider
/// dependencies, so crates reached through others are in the registry too; a provider compiled
/// into the program that the chain does not reach makes the registry panic at its first use,
/// naming the crate (see [`Registry`]).
#[macro_export]
macro_rules! include_registry {
    ($(#[$attr:meta])* $vis:vis static $name:ident $(;)?) => {
        $crate::include_providers!($name);
        $crate::secrets_registry!(@tables $(#[$attr])* $vis static $name = __SECRETS_PROVIDER_TABLES, true);
    };
}

/// What generated code needs. Not public API: anything here may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::lookup::{BuiltIndex, Index, build_index, index_len, pilots_len};
    pub use crate::settings::Settings;
    pub use crate::table::{
        Entry, LINKED_PROVIDERS, Notes, StaticProvider, TableNotes, assert_at_crate_root,
        assert_listed, merge, merged_len, tables, tables_len, unique, unique_len,
    };
    pub use linkme;
    pub use stagecraft_macros::generated_table;
}

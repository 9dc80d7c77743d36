//! The runtime registry: a static table merged at compile time, plus providers registered at run
//! time. It keeps the contract of the Go reference: sorted `ids()`/`list()`, panics on empty and
//! duplicate IDs prefixed with the registry's name and method, `UnknownProvider` errors carrying
//! the ID, and instrumentation hooks.

use crate::lookup::Index;
use crate::provider::{DynSecretsProvider, SecretsProvider};
use crate::table::Entry;
use compact_str::CompactString;
use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

/// The kind of provider a [`Registry`] holds, as passed to the hooks.
pub const KIND: &str = "secrets";

/// A registry error. Match on the variant, the way Go code uses `errors.Is`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// A provider reported an empty ID.
    #[error("empty provider ID")]
    EmptyProviderId,
    /// A provider's ID breaks the rules `#[secrets_provider]` applies: at most 64 bytes of
    /// lowercase ASCII letters, digits, `.`, `_` and `-`.
    #[error("invalid provider ID {id:?}: {reason}")]
    InvalidProviderId {
        /// The ID.
        id: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A provider with this ID is already registered.
    #[error("duplicate provider ID: {id:?}")]
    DuplicateProvider {
        /// The ID.
        id: String,
    },
    /// No provider has this ID: [`Registry::get`]'s error, converted by `?`.
    #[error(transparent)]
    UnknownProvider(#[from] UnknownProvider),
}

/// No provider has this ID: the error of [`Registry::get`].
///
/// Making it allocates nothing (for IDs of up to 24 bytes), so a lookup that misses stays
/// cheap; the suggestion and the list of IDs in its message are worked out when it is
/// displayed. It is a type of its own, not only a [`RegistryError`] variant, so that dropping
/// a `get` result is cheap enough to inline: the registration errors' `String`s are not in it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} provider {id:?}{}", Hint { id: id.as_str(), known })]
pub struct UnknownProvider {
    /// The kind of registry, `secrets`.
    pub kind: &'static str,
    /// The ID asked for.
    pub id: UnknownId,
    /// The IDs registered when the lookup missed, sorted.
    pub known: KnownIds,
}

/// The ID of a lookup that missed, as a `&str`. Up to 24 bytes it is kept inline, so that the
/// miss allocates nothing.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnknownId(CompactString);

impl UnknownId {
    /// The ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for UnknownId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UnknownId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for UnknownId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl PartialEq<str> for UnknownId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for UnknownId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The IDs a registry held when a lookup missed, sorted: a snapshot of its static table and
/// run-time providers that took no allocation to make.
#[derive(Clone)]
pub struct KnownIds(Providers);

impl KnownIds {
    /// The IDs, sorted.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'static str> + use<> {
        self.0.clone().map(|p| p.id())
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The ID closest to `id` (Damerau-Levenshtein), if close enough to suggest: within a third
    /// of its length, and at least one edit.
    pub fn closest(&self, id: &str) -> Option<&'static str> {
        self.iter()
            .map(|k| (strsim::damerau_levenshtein(id, k), k))
            .filter(|(distance, k)| *distance <= (k.len() / 3).max(1))
            .min()
            .map(|(_, k)| k)
    }
}

impl PartialEq for KnownIds {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for KnownIds {}

impl fmt::Debug for KnownIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The end of an unknown-provider message: the suggestion, then the registered IDs.
struct Hint<'a> {
    id: &'a str,
    known: &'a KnownIds,
}

impl fmt::Display for Hint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(close) = self.known.closest(self.id) {
            write!(f, "; did you mean {close:?}?")?;
        }
        if self.known.is_empty() {
            return f.write_str(" (none registered)");
        }
        f.write_str(" (registered: ")?;
        for (i, id) in self.known.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(id)?;
        }
        f.write_str(")")
    }
}

/// The longest provider ID, in bytes; the attribute applies the same limit.
pub(crate) const MAX_ID_LEN: usize = 64;

/// The ID rules of `#[secrets_provider]` (`macros/src/validate.rs`), at run time.
fn check_id(id: &str) -> Result<(), RegistryError> {
    let invalid = |reason| {
        Err(RegistryError::InvalidProviderId {
            id: id.to_owned(),
            reason,
        })
    };
    if id.is_empty() {
        Err(RegistryError::EmptyProviderId)
    } else if id.len() > MAX_ID_LEN {
        invalid("longer than 64 bytes")
    } else if !id
        .bytes()
        .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'))
    {
        invalid("only lowercase letters, digits, `.`, `_` and `-` are allowed")
    } else {
        Ok(())
    }
}

type Dynamic = Arc<[&'static dyn DynSecretsProvider]>;
/// The lookup in a static table, generated with the table and its index as constants.
type FindStatic = fn(&str) -> Option<&'static Entry>;
type RegisteredHook = dyn Fn(&str, &str) + Send + Sync;
type LookupHook = dyn Fn(&str, &str, bool) + Send + Sync;

/// An instrumentation hook that can be replaced at any time; unset, it costs one atomic load.
struct Hook<F: ?Sized> {
    set: AtomicBool,
    hook: RwLock<Option<Arc<F>>>,
}

impl<F: ?Sized> Hook<F> {
    const fn new() -> Self {
        Hook {
            set: AtomicBool::new(false),
            hook: RwLock::new(None),
        }
    }

    #[inline(always)]
    fn is_set(&self) -> bool {
        self.set.load(Ordering::Acquire)
    }

    fn get(&self) -> Option<Arc<F>> {
        if !self.is_set() {
            return None;
        }
        self.hook
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn replace(&self, hook: Arc<F>) {
        *self.hook.write().unwrap_or_else(PoisonError::into_inner) = Some(hook);
        self.set.store(true, Ordering::Release);
    }
}

/// A thread-safe registry of secrets providers.
///
/// Build one over the merged static tables with [`secrets_registry!`](crate::secrets_registry);
/// lookups of static providers use that table's perfect-hash index, built at compile time,
/// without a lock or an allocation, through a function that the macro compiles with the table
/// and the index as constants.
/// Providers added with [`Registry::register`] live behind an `RwLock` and are never dropped.
pub struct Registry {
    name: &'static str,
    table: &'static [Entry],
    index: Index,
    /// `index.find(table, id)`, compiled with both as constants. Read through `self`, they
    /// would be loaded from memory on every call (a `static` that holds locks is not constant),
    /// which cost more than the rest of a lookup.
    find_static: FindStatic,
    /// Run-time providers sorted by ID, replaced whole on each registration so that iterators
    /// can hold a snapshot without holding the lock.
    dynamic: RwLock<Option<Dynamic>>,
    has_dynamic: AtomicBool,
    /// [`CHECK_LINKED`] until the check that every provider compiled into the program is in
    /// the table has passed, and [`LOOKUP_HOOK`] once a lookup hook is set: a `get` takes the
    /// fast path when it is 0, so the check costs a hit nothing once it has passed.
    slow_get: AtomicU8,
    on_registered: Hook<RegisteredHook>,
    on_lookup: Hook<LookupHook>,
}

const CHECK_LINKED: u8 = 1;
const LOOKUP_HOOK: u8 = 2;

impl Registry {
    /// An empty registry. `name` prefixes its panic messages, e.g. `my_app::REGISTRY`.
    pub const fn new(name: &'static str) -> Self {
        Self::from_table(name, &[], Index::NONE, |_| None, false)
    }

    /// A registry over a static table, which must be sorted by ID without duplicates, and its
    /// index, as `secrets_registry!` builds them; `find_static` must be `index.find(table, id)`.
    /// With `check_linked`, its first use checks that the table holds every provider compiled
    /// into the program.
    #[doc(hidden)]
    pub const fn from_table(
        name: &'static str,
        table: &'static [Entry],
        index: Index,
        find_static: FindStatic,
        check_linked: bool,
    ) -> Self {
        Registry {
            name,
            table,
            index,
            find_static,
            dynamic: RwLock::new(None),
            has_dynamic: AtomicBool::new(false),
            slow_get: AtomicU8::new(if check_linked { CHECK_LINKED } else { 0 }),
            on_registered: Hook::new(),
            on_lookup: Hook::new(),
        }
    }

    /// The registry's name, which prefixes its panic messages.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The static table, sorted by ID.
    pub fn table(&self) -> &'static [Entry] {
        self.check_linked("table");
        self.table
    }

    /// Panics unless every provider compiled into the program (each `#[secrets_provider]`
    /// adds itself to a list the linker gathers) is in the static table; runs until it passes,
    /// for registries declared to be complete.
    ///
    /// A provider crate that the registry's tables do not reach (a crate between it and the
    /// binary generates no table, or a hand-written list leaves it out) is otherwise silently
    /// missing. The list is only a check: the linker drops a crate nothing references, and
    /// then its providers are not in the program at all.
    #[inline(always)]
    fn check_linked(&self, method: &str) {
        if self.slow_get.load(Ordering::Acquire) & CHECK_LINKED != 0 {
            self.check_linked_now(method);
        }
    }

    #[cold]
    #[inline(never)]
    fn check_linked_now(&self, method: &str) {
        let missing: Vec<&Entry> = crate::table::LINKED_PROVIDERS
            .iter()
            .filter(|linked| {
                (self.find_static)(linked.id()).is_none_or(|entry| !entry.same_provider(linked))
            })
            .collect();
        if let Some(first) = missing.first() {
            let list: Vec<String> = missing
                .iter()
                .map(|e| {
                    format!(
                        "`{}` with id {:?} ({}, {}:{})",
                        e.type_path(),
                        e.id(),
                        e.package(),
                        e.file(),
                        e.line()
                    )
                })
                .collect();
            panic!(
                "{}::{method}: {} compiled into this program but missing from the registry: {}; a provider crate that is only a dev-dependency is not found by `include_registry!` (cargo passes `links` metadata from [dependencies] only): make it a dependency, or list its `SECRETS_PROVIDERS` in `secrets_registry!`; else, the registry reaches a provider crate through the tables of the crates it depends on, so every crate between `{}` and this one must call `stagecraft_codegen::generate()` from build.rs, `stagecraft_core::include_providers!()` at its root and set `links` in Cargo.toml (or list its `SECRETS_PROVIDERS` in `secrets_registry!`, or end that list with `; partial` to leave it out on purpose)",
                self.name,
                if missing.len() == 1 {
                    "a secrets provider is"
                } else {
                    "secrets providers are"
                },
                list.join(", "),
                first.package(),
            );
        }
        self.slow_get.fetch_and(!CHECK_LINKED, Ordering::AcqRel);
    }

    /// Whether lookups in the static table use its perfect-hash index (false only for tables
    /// of over 32,767 providers, which are binary-searched). For tests; not public API.
    #[doc(hidden)]
    pub fn is_hashed(&self) -> bool {
        self.index.is_hashed()
    }

    /// Registers a provider at run time.
    ///
    /// The provider is added before the [`Registry::on_provider_registered`] hook runs: if the
    /// hook panics, the panic propagates to the caller, the provider stays registered (a retry
    /// reports it as a duplicate) and the registry stays usable: no lock is held or poisoned.
    ///
    /// # Panics
    /// With `<name>::register: empty provider ID` when the provider's ID is empty, and with
    /// `<name>::register: duplicate provider ID: "id"` when the ID is already registered,
    /// statically or at run time. Use [`Registry::try_register`] to get the error instead.
    pub fn register<P: SecretsProvider>(&self, provider: P) {
        if let Err(error) = self.try_register(provider) {
            panic!("{}::register: {error}", self.name);
        }
    }

    /// Registers a provider at run time, or says why it cannot be: its ID must follow the rules
    /// of `#[secrets_provider]` ([`RegistryError::InvalidProviderId`]) and be new. Hooks run
    /// as for [`Registry::register`].
    pub fn try_register<P: SecretsProvider>(&self, provider: P) -> Result<(), RegistryError> {
        self.check_linked("register");
        let id = provider.id();
        check_id(id)?;
        if self.static_entry(id).is_some() {
            return Err(RegistryError::DuplicateProvider { id: id.to_owned() });
        }
        let mut dynamic = self.dynamic.write().unwrap_or_else(PoisonError::into_inner);
        let current: &[&'static dyn DynSecretsProvider] = dynamic.as_deref().unwrap_or(&[]);
        let at = match current.binary_search_by(|p| p.id().cmp(id)) {
            Ok(_) => return Err(RegistryError::DuplicateProvider { id: id.to_owned() }),
            Err(at) => at,
        };
        // Registered providers live as long as the registry, which is usually a static.
        let provider: &'static dyn DynSecretsProvider = Box::leak(Box::new(provider));
        let mut next = Vec::with_capacity(current.len() + 1);
        next.extend_from_slice(&current[..at]);
        next.push(provider);
        next.extend_from_slice(&current[at..]);
        *dynamic = Some(next.into());
        self.has_dynamic.store(true, Ordering::Release);
        drop(dynamic);

        let id = provider.id();
        tracing::debug!(
            kind = KIND,
            id,
            registry = self.name,
            "secrets provider registered"
        );
        if let Some(hook) = self.on_registered.get() {
            hook(KIND, id);
        }
        Ok(())
    }

    /// The provider with this ID, or [`UnknownProvider`], which allocates nothing until it is
    /// displayed (for IDs of up to 24 bytes).
    #[inline(always)]
    pub fn get(&self, id: &str) -> Result<&'static dyn DynSecretsProvider, UnknownProvider> {
        match self.static_entry(id) {
            Some(entry) if self.slow_get.load(Ordering::Acquire) == 0 => Ok(entry.provider()),
            found => self.get_slow(id, found.map(Entry::provider)),
        }
    }

    /// A lookup that missed the static table, or one with a hook: kept out of line so that a
    /// hit without hooks is a call, a hash, a compare and one atomic load.
    #[cold]
    #[inline(never)]
    fn get_slow(
        &self,
        id: &str,
        found: Option<&'static dyn DynSecretsProvider>,
    ) -> Result<&'static dyn DynSecretsProvider, UnknownProvider> {
        self.check_linked("get");
        let found = found.or_else(|| self.find_dynamic(id));
        if let Some(hook) = self.on_lookup.get() {
            hook(KIND, id, found.is_some());
        }
        found.ok_or_else(|| self.unknown(id))
    }

    fn unknown(&self, id: &str) -> UnknownProvider {
        // Only misses are traced: a trace event on every hit would cost more than the lookup.
        tracing::debug!(kind = KIND, id, "unknown secrets provider");
        UnknownProvider {
            kind: KIND,
            id: UnknownId(CompactString::new(id)),
            known: KnownIds(self.list()),
        }
    }

    /// Whether a provider has this ID.
    #[inline]
    pub fn has(&self, id: &str) -> bool {
        self.check_linked("has");
        self.static_entry(id).is_some() || self.find_dynamic(id).is_some()
    }

    /// The static table's entry for this ID: where the provider is declared.
    pub fn entry(&self, id: &str) -> Option<&'static Entry> {
        self.check_linked("entry");
        self.static_entry(id)
    }

    /// The registered IDs in lexicographic order.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = &'static str> + 'static {
        self.check_linked("ids");
        self.list().map(|p| p.id())
    }

    /// The registered providers, sorted by ID.
    pub fn list(&self) -> Providers {
        self.check_linked("list");
        let dynamic = if self.has_dynamic.load(Ordering::Acquire) {
            self.dynamic
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        } else {
            None
        };
        Providers {
            table: self.table,
            dynamic,
            next_dynamic: 0,
        }
    }

    /// Calls `hook(kind, id)` after each successful registration, replacing any earlier hook.
    pub fn on_provider_registered(&self, hook: impl Fn(&str, &str) + Send + Sync + 'static) {
        self.on_registered.replace(Arc::new(hook));
    }

    /// Calls `hook(kind, id, found)` on each [`Registry::get`], replacing any earlier hook.
    pub fn on_provider_lookup(&self, hook: impl Fn(&str, &str, bool) + Send + Sync + 'static) {
        self.on_lookup.replace(Arc::new(hook));
        self.slow_get.fetch_or(LOOKUP_HOOK, Ordering::AcqRel);
    }

    #[inline(always)]
    fn static_entry(&self, id: &str) -> Option<&'static Entry> {
        (self.find_static)(id)
    }

    /// The run-time provider with this ID; one atomic load when there are none.
    #[inline(always)]
    fn find_dynamic(&self, id: &str) -> Option<&'static dyn DynSecretsProvider> {
        if self.has_dynamic.load(Ordering::Acquire) {
            self.search_dynamic(id)
        } else {
            None
        }
    }

    /// Kept out of line so that the static path stays small enough to inline.
    #[cold]
    #[inline(never)]
    fn search_dynamic(&self, id: &str) -> Option<&'static dyn DynSecretsProvider> {
        let dynamic = self.dynamic.read().unwrap_or_else(PoisonError::into_inner);
        let dynamic = dynamic.as_deref().unwrap_or(&[]);
        dynamic
            .binary_search_by(|p| p.id().cmp(id))
            .ok()
            .map(|i| dynamic[i])
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("name", &self.name)
            .field("ids", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

/// The providers of a [`Registry`] in ID order: the static table merged with a snapshot of the
/// run-time providers. Creating and walking it allocates nothing.
#[derive(Debug, Clone)]
pub struct Providers {
    table: &'static [Entry],
    dynamic: Option<Dynamic>,
    next_dynamic: usize,
}

impl Iterator for Providers {
    type Item = &'static dyn DynSecretsProvider;

    fn next(&mut self) -> Option<Self::Item> {
        let dynamic = self
            .dynamic
            .as_deref()
            .unwrap_or(&[])
            .get(self.next_dynamic)
            .copied();
        match (self.table.first(), dynamic) {
            (Some(entry), Some(p)) if p.id() < entry.id() => {
                self.next_dynamic += 1;
                Some(p)
            }
            (Some(entry), _) => {
                self.table = &self.table[1..];
                Some(entry.provider())
            }
            (None, Some(p)) => {
                self.next_dynamic += 1;
                Some(p)
            }
            (None, None) => None,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let dynamic = self
            .dynamic
            .as_deref()
            .map_or(0, |d| d.len() - self.next_dynamic);
        let len = self.table.len() + dynamic;
        (len, Some(len))
    }
}

impl ExactSizeIterator for Providers {}

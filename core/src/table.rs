//! Provider tables: the [`Entry`] each `#[secrets_provider]` emits, and the `const fn`s that
//! sort, merge and check tables during const evaluation, so that nothing sorts at run time.
//!
//! A problem found here is a `panic!` in const context, which rustc reports as an E0080 error of
//! the crate that builds the table, naming the ID and both providers.

use crate::lookup::{key_const, same_tail, tail_const};
use crate::provider::{
    DynSecretsProvider, ProviderIdentity, SecretsProvider, SyncError, SyncOptions, SyncReport,
};
use crate::settings::Settings;
use crate::source::DynSecretsSource;
use core::cmp::Ordering;
use core::fmt;

/// One provider of a static table: its ID, where it is declared, and the instance.
#[derive(Clone, Copy)]
pub struct Entry {
    /// The first 8 bytes of `id`, big-endian and zero-padded: ordered like `id` itself (IDs hold
    /// no NUL byte), so lookups compare one integer per step and the strings only on a tie.
    key: u64,
    /// The last 8 bytes of `id` when it is longer than 8 (else 0), so that a hash hit is confirmed
    /// without reading the string.
    tail: u64,
    id: &'static str,
    type_path: &'static str,
    /// The package that declares the provider and its version, `prov-a 0.2.1`: two versions of
    /// one crate declare the same type path.
    package: &'static str,
    file: &'static str,
    line: u32,
    description: &'static str,
    settings: Settings,
    provider: &'static dyn DynSecretsProvider,
    /// The provider as a source, when it is one (`#[secrets_provider("id", source)]`).
    source: Option<&'static dyn DynSecretsSource>,
}

impl Entry {
    #[doc(hidden)] // Called by `#[secrets_provider]`; not public API.
    #[allow(clippy::too_many_arguments)] // One per field, named at the one call site.
    pub const fn new(
        id: &'static str,
        type_path: &'static str,
        package: &'static str,
        file: &'static str,
        line: u32,
        description: &'static str,
        settings: Settings,
        provider: &'static dyn DynSecretsProvider,
    ) -> Self {
        Entry {
            key: key_const(id.as_bytes()),
            tail: tail_const(id.as_bytes()),
            id,
            type_path,
            package,
            file,
            line,
            description,
            settings,
            provider,
            source: None,
        }
    }

    #[doc(hidden)] // Called by `#[secrets_provider("id", source)]`; not public API.
    pub const fn with_source(mut self, source: &'static dyn DynSecretsSource) -> Self {
        self.source = Some(source);
        self
    }

    pub(crate) const fn key(&self) -> u64 {
        self.key
    }

    pub(crate) const fn tail(&self) -> u64 {
        self.tail
    }

    /// Orders this entry against an ID whose `lookup::key` is `key`, the same way as `self.id().cmp(id)`.
    #[inline]
    pub(crate) fn cmp_id(&self, key: u64, id: &str) -> Ordering {
        match self.key.cmp(&key) {
            Ordering::Equal if same_tail(self.id, id) => Ordering::Equal,
            Ordering::Equal => self.id.cmp(id),
            unequal => unequal,
        }
    }

    /// The provider's ID, such as `"envfile"`.
    pub const fn id(&self) -> &'static str {
        self.id
    }

    /// The provider's type, such as `stagecraft_providers::envfile::EnvFile`.
    pub const fn type_path(&self) -> &'static str {
        self.type_path
    }

    /// The package that declares the provider, with its version: `prov-a 0.2.1`.
    pub const fn package(&self) -> &'static str {
        self.package
    }

    /// Whether both entries are one provider: the same ID, type and package version. A table
    /// reached through two crates (a diamond) holds the same providers twice.
    pub const fn same_provider(&self, other: &Entry) -> bool {
        cmp(self.id, other.id).is_eq()
            && cmp(self.type_path, other.type_path).is_eq()
            && cmp(self.package, other.package).is_eq()
    }

    /// The source file that declares the provider.
    pub const fn file(&self) -> &'static str {
        self.file
    }

    /// The line of [`Entry::file`] that declares the provider.
    pub const fn line(&self) -> u32 {
        self.line
    }

    /// The first line of the provider's doc comment.
    pub const fn description(&self) -> &'static str {
        self.description
    }

    /// The provider's settings type: how its section of `stagecraft.yml` is checked, and its
    /// JSON Schema.
    pub const fn settings(&self) -> Settings {
        self.settings
    }

    /// The provider itself.
    pub const fn provider(&self) -> &'static dyn DynSecretsProvider {
        self.provider
    }

    /// The provider as a source that others can read from, when it declares one.
    pub const fn source(&self) -> Option<&'static dyn DynSecretsSource> {
        self.source
    }
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("id", &self.id)
            .field("type_path", &self.type_path)
            .field("package", &self.package)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

pub use linked::LINKED_PROVIDERS;

mod linked {
    // linkme's declaration places statics in link sections, which counts as unsafe code.
    #![allow(unsafe_code)]

    /// Every provider compiled into the program, gathered by the linker: each
    /// `#[secrets_provider]` adds its entry. A check, not the registry: the linker drops the
    /// code of a crate that nothing references, and this list with it. Not public API.
    #[doc(hidden)]
    #[linkme::distributed_slice]
    pub static LINKED_PROVIDERS: [super::Entry];
}

/// Implemented by `#[secrets_provider]` for each provider; not public API.
#[doc(hidden)]
pub trait StaticProvider {
    const ENTRY: Entry;
}

/// The total length of some tables, for the array that [`merge`] fills.
#[doc(hidden)]
pub const fn merged_len(tables: &[&[Entry]]) -> usize {
    let mut len = 0;
    let mut t = 0;
    while t < tables.len() {
        len += tables[t].len();
        t += 1;
    }
    len
}

/// Concatenates tables, rejects empty IDs, sorts by ID (byte order, the order of `str::cmp`) and
/// rejects two different providers with one ID. The same provider listed more than once (a table
/// reached through two crates) stays, once per listing, for [`unique`] to drop. `N` must be
/// [`merged_len`] of the tables.
///
/// A bottom-up merge sort: O(n log n) comparisons whatever the order of the tables, so that no
/// table of a few thousand providers trips rustc's `long_running_const_eval` lint. It is stable,
/// so of two entries with one ID, the one listed first is named first.
#[doc(hidden)]
pub const fn merge<const N: usize>(tables: &[&[Entry]]) -> [Entry; N] {
    assert!(
        merged_len(tables) == N,
        "merge: N must be merged_len(tables)"
    );
    let mut out = [PLACEHOLDER; N];
    let mut len = 0;
    let mut t = 0;
    while t < tables.len() {
        let mut i = 0;
        while i < tables[t].len() {
            let entry = tables[t][i];
            if entry.id.is_empty() {
                let msg = Message::new()
                    .push("secrets provider ")
                    .push_entry(&entry)
                    .push(" has an empty id");
                panic!("{}", msg.as_str());
            }
            out[len] = entry;
            len += 1;
            i += 1;
        }
        t += 1;
    }
    let mut scratch = [PLACEHOLDER; N];
    let mut width = 1;
    while width < N {
        let mut lo = 0;
        while lo < N {
            let mid = min(lo + width, N);
            let hi = min(lo + 2 * width, N);
            // Runs that are already in order (a sorted table) are copied without merging.
            if mid < hi && cmp_entries(&out[mid - 1], &out[mid]).is_gt() {
                merge_runs(&out, &mut scratch, lo, mid, hi);
                let mut k = lo;
                while k < hi {
                    out[k] = scratch[k];
                    k += 1;
                }
            }
            lo = hi;
        }
        width *= 2;
    }
    let mut i = 1;
    while i < N {
        if cmp_entries(&out[i - 1], &out[i]).is_eq() && !out[i - 1].same_provider(&out[i]) {
            duplicate(&out[i - 1], &out[i]);
        }
        i += 1;
    }
    out
}

/// The number of providers in a table sorted by [`merge`], each counted once.
#[doc(hidden)]
pub const fn unique_len(sorted: &[Entry]) -> usize {
    let mut len = 0;
    let mut i = 0;
    while i < sorted.len() {
        if first_of_its_provider(sorted, i) {
            len += 1;
        }
        i += 1;
    }
    len
}

/// Whether `sorted[i]` is not the provider `sorted[i - 1]` is (a table sorted by [`merge`]
/// holds a provider listed twice at neighbouring places).
const fn first_of_its_provider(sorted: &[Entry], i: usize) -> bool {
    i == 0 || !sorted[i - 1].same_provider(&sorted[i])
}

/// A table sorted by [`merge`] with each provider once. `N` must be [`unique_len`] of it.
#[doc(hidden)]
pub const fn unique<const N: usize>(sorted: &[Entry]) -> [Entry; N] {
    assert!(
        unique_len(sorted) == N,
        "unique: N must be unique_len(sorted)"
    );
    let mut out = [PLACEHOLDER; N];
    let (mut i, mut len) = (0, 0);
    while i < sorted.len() {
        if first_of_its_provider(sorted, i) {
            out[len] = sorted[i];
            len += 1;
        }
        i += 1;
    }
    out
}

/// The number of tables [`tables`] returns: this crate's and those its provider dependencies
/// carry, each non-empty table once.
#[doc(hidden)]
pub const fn tables_len(own: &[Entry], dependencies: &[&[&[Entry]]]) -> usize {
    count_or_fill(own, dependencies, &mut [])
}

/// The tables a crate carries for the registries of the crates that depend on it: its own
/// table and, through each provider crate it depends on, that crate's tables, each once (a
/// crate reached along two paths is one table), without empty ones. `N` must be [`tables_len`].
#[doc(hidden)]
pub const fn tables<const N: usize>(
    own: &'static [Entry],
    dependencies: &[&'static [&'static [Entry]]],
) -> [&'static [Entry]; N] {
    let mut out: [&'static [Entry]; N] = [&[]; N];
    let len = count_or_fill(own, dependencies, &mut out);
    assert!(len == N, "tables: N must be tables_len(own, dependencies)");
    out
}

/// Walks `own` and the dependencies' tables, skipping empty tables and tables already seen (a
/// table is one crate's providers: the same first provider is the same table); counts them, and
/// writes them into `out` as far as it reaches (an empty `out` only counts).
const fn count_or_fill<'a>(
    own: &'a [Entry],
    dependencies: &[&'a [&'a [Entry]]],
    out: &mut [&'a [Entry]],
) -> usize {
    let mut len = 0;
    let mut d = 0;
    // `own` first, then each dependency's tables.
    while d <= dependencies.len() {
        let list: &[&[Entry]] = if d == 0 { &[own] } else { dependencies[d - 1] };
        let mut t = 0;
        while t < list.len() {
            let table = list[t];
            if !table.is_empty() && !listed_before(table, own, dependencies, d, t) {
                if len < out.len() {
                    out[len] = table;
                }
                len += 1;
            }
            t += 1;
        }
        d += 1;
    }
    len
}

/// Whether a table with the same first provider comes earlier in the walk of `count_or_fill`
/// than position (`d`, `t`).
const fn listed_before(
    table: &[Entry],
    own: &[Entry],
    dependencies: &[&[&[Entry]]],
    d: usize,
    t: usize,
) -> bool {
    let mut e = 0;
    while e <= d {
        let list: &[&[Entry]] = if e == 0 { &[own] } else { dependencies[e - 1] };
        let end = if e == d { t } else { list.len() };
        let mut u = 0;
        while u < end {
            if !list[u].is_empty() && list[u][0].same_provider(&table[0]) {
                return true;
            }
            u += 1;
        }
        e += 1;
    }
    false
}

/// Merges the sorted runs `from[lo..mid]` and `from[mid..hi]` into `to[lo..hi]`, stably.
const fn merge_runs<const N: usize>(
    from: &[Entry; N],
    to: &mut [Entry; N],
    lo: usize,
    mid: usize,
    hi: usize,
) {
    let (mut a, mut b, mut k) = (lo, mid, lo);
    while k < hi {
        if b == hi || (a < mid && !cmp_entries(&from[a], &from[b]).is_gt()) {
            to[k] = from[a];
            a += 1;
        } else {
            to[k] = from[b];
            b += 1;
        }
        k += 1;
    }
}

const fn min(a: usize, b: usize) -> usize {
    if a < b { a } else { b }
}

/// Orders entries by ID: one integer compare, and the strings only when their first 8 bytes tie.
const fn cmp_entries(a: &Entry, b: &Entry) -> Ordering {
    if a.key < b.key {
        Ordering::Less
    } else if a.key > b.key {
        Ordering::Greater
    } else {
        cmp(a.id, b.id)
    }
}

const fn duplicate(first: &Entry, second: &Entry) -> ! {
    let msg = Message::new()
        .push("duplicate secrets provider id \"")
        .push(first.id)
        .push("\": ")
        .push_entry(first)
        .push(" and ")
        .push_entry(second);
    panic!("{}", msg.as_str())
}

/// What a crate's table says about the providers it leaves out. Not public API.
#[doc(hidden)]
#[derive(Debug)]
pub struct Notes {
    /// Whether `stagecraft_codegen` generated the table.
    pub generated: bool,
    /// Providers the generator found but could not list: their path from the crate root
    /// (`crate::a::X`) and why.
    pub unlisted: &'static [(&'static str, &'static str)],
}

/// Implemented by `provider_table!` for the crate's `__ProviderIdKeys`. Not public API.
#[doc(hidden)]
pub trait TableNotes {
    const NOTES: Notes;
}

/// Fails const evaluation when `entry` is not in `table` (sorted by ID, as `merge` leaves it),
/// saying why when the table's generator knows, and what it cannot see when it does not.
/// A binary search, so that checking every provider of a crate costs O(n log n).
#[doc(hidden)]
pub const fn assert_listed(entry: &Entry, table: &[Entry], notes: &Notes) {
    let (mut lo, mut hi) = (0, table.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match cmp_entries(&table[mid], entry) {
            Ordering::Less => lo = mid + 1,
            Ordering::Greater => hi = mid,
            Ordering::Equal if cmp(table[mid].type_path, entry.type_path).is_eq() => return,
            Ordering::Equal => break,
        }
    }
    let msg = Message::new().push("secrets provider ").push_entry(entry);
    let mut i = 0;
    while i < notes.unlisted.len() {
        let (path, reason) = notes.unlisted[i];
        if cmp(in_crate(path), in_crate(entry.type_path)).is_eq() {
            panic!("{}", msg.push(" ").push(reason).as_str());
        }
        i += 1;
    }
    let msg = msg
        .push(" with id \"")
        .push(entry.id)
        .push("\" is missing from crate::SECRETS_PROVIDERS");
    if notes.generated {
        panic!("{}", msg.push(", which stagecraft_codegen generated from the module tree: it cannot see a provider declared by a macro, under `cfg_attr`, or in an `include!`d file, nor list one inside a function body; declare the struct directly, at module level, in a module file").as_str())
    }
    panic!("{}", msg.push(": list it in `provider_table!` or generate the table with `stagecraft_codegen` from build.rs (a provider in a function body needs its `provider_table!` in that body, as in a doctest; elsewhere, declare it at module level)").as_str())
}

/// Rejects `include_providers!` (or `include_registry!`) outside the crate root, where the
/// attributes would not find the table: `module` is `module_path!()` where it is invoked,
/// `crate_name` cargo's `CARGO_CRATE_NAME`. Not public API.
#[doc(hidden)]
pub const fn assert_at_crate_root(module: &str, crate_name: Option<&str>) {
    if let Some(name) = crate_name
        && !cmp(module, name).is_eq()
    {
        let msg = Message::new()
            .push("`include_providers!` and `include_registry!` belong at the crate root (`src/lib.rs`, `src/main.rs`, …), where each `#[secrets_provider]` looks for the table, not in module `")
            .push(module)
            .push("`: move the call there");
        panic!("{}", msg.as_str())
    }
}

/// A type path without its first segment (the crate's name, or `crate`).
const fn in_crate(path: &str) -> &str {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b':' && bytes[i + 1] == b':' {
            return match core::str::from_utf8(bytes.split_at(i + 2).1) {
                Ok(rest) => rest,
                Err(_) => path,
            };
        }
        i += 1;
    }
    path
}

/// Byte-wise comparison, the same order as `str::cmp`.
const fn cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut i = 0;
    while i < a.len() && i < b.len() {
        if a[i] != b[i] {
            return if a[i] < b[i] {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        i += 1;
    }
    if a.len() < b.len() {
        Ordering::Less
    } else if a.len() > b.len() {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// A fixed buffer for building panic messages in const context. Text past its capacity is cut.
struct Message {
    bytes: [u8; 1024],
    len: usize,
}

impl Message {
    const fn new() -> Self {
        Message {
            bytes: [0; 1024],
            len: 0,
        }
    }

    const fn push(mut self, s: &str) -> Self {
        let s = s.as_bytes();
        let mut i = 0;
        while i < s.len() && self.len < self.bytes.len() {
            self.bytes[self.len] = s[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    const fn push_u32(mut self, mut n: u32) -> Self {
        let mut digits = [0u8; 10];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        while count > 0 && self.len < self.bytes.len() {
            count -= 1;
            self.bytes[self.len] = digits[count];
            self.len += 1;
        }
        self
    }

    /// `` `path::Type` (package 0.1.0, file.rs:12) ``
    const fn push_entry(self, entry: &Entry) -> Self {
        self.push("`")
            .push(entry.type_path)
            .push("` (")
            .push(entry.package)
            .push(", ")
            .push(entry.file)
            .push(":")
            .push_u32(entry.line)
            .push(")")
    }

    const fn as_str(&self) -> &str {
        let bytes = self.bytes.split_at(self.len).0;
        match core::str::from_utf8(bytes) {
            Ok(s) => s,
            // The cut fell inside a character: drop its first bytes.
            Err(e) => match core::str::from_utf8(bytes.split_at(e.valid_up_to()).0) {
                Ok(s) => s,
                Err(_) => "",
            },
        }
    }
}

/// Fills the array that [`merge`] builds before the real entries are copied in; never observable.
const PLACEHOLDER: Entry = Entry::new("", "", "", "", 0, "", Settings::NONE, &Placeholder);

struct Placeholder;

impl ProviderIdentity for Placeholder {
    fn id(&self) -> &str {
        ""
    }
}

impl SecretsProvider for Placeholder {
    async fn sync(&self, _: SyncOptions) -> Result<SyncReport, SyncError> {
        unreachable!("the placeholder entry is always overwritten by merge")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const fn entry(id: &'static str, type_path: &'static str) -> Entry {
        Entry::new(
            id,
            type_path,
            "pkg 0.1.0",
            "src/lib.rs",
            7,
            "",
            Settings::NONE,
            &Placeholder,
        )
    }

    #[test]
    fn merge_sorts_across_tables() {
        const A: &[Entry] = &[entry("vault", "a::Vault"), entry("envfile", "a::EnvFile")];
        const B: &[Entry] = &[entry("encore", "b::Encore"), entry("aws", "b::Aws")];
        const MERGED: [Entry; 4] = merge(&[A, B]);
        let ids: Vec<_> = MERGED.iter().map(Entry::id).collect();
        assert_eq!(ids, ["aws", "encore", "envfile", "vault"]);
    }

    #[test]
    fn merge_does_not_depend_on_table_order_and_is_stable() {
        const Z: &[Entry] = &[entry("y", "z::Y"), entry("z", "z::Z")];
        const A: &[Entry] = &[entry("a", "a::A"), entry("b", "a::B"), entry("c", "a::C")];
        const ZA: [Entry; 5] = merge(&[Z, A]);
        const AZ: [Entry; 5] = merge(&[A, Z]);
        let ids = |t: &[Entry]| t.iter().map(Entry::id).collect::<Vec<_>>();
        assert_eq!(ids(&ZA), ["a", "b", "c", "y", "z"]);
        assert_eq!(ids(&AZ), ids(&ZA));

        let reversed: Vec<Entry> = (0..300)
            .rev()
            .map(|i| entry(format!("stagecraft.p{i:04}.provider").leak(), "t"))
            .collect();
        let sorted = merge::<300>(&[&reversed]);
        assert!(sorted.iter().map(Entry::id).is_sorted());
    }

    fn merge_panic(tables: &[&[Entry]]) -> String {
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| merge::<4>(tables)))
            .unwrap_err();
        payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn duplicates_name_both_providers_with_their_packages() {
        const A: &[Entry] = &[entry("envfile", "a::EnvFile"), entry("vault", "a::Vault")];
        const B: &[Entry] = &[entry("aws", "b::Aws"), entry("envfile", "b::EnvFile")];
        assert_eq!(
            merge_panic(&[A, B]),
            "duplicate secrets provider id \"envfile\": `a::EnvFile` (pkg 0.1.0, src/lib.rs:7) and `b::EnvFile` (pkg 0.1.0, src/lib.rs:7)"
        );
        // Two versions of one crate declare the same type path: still two providers.
        const OLD: &[Entry] = &[Entry::new(
            "v",
            "v::V",
            "prov-v 0.1.0",
            "src/lib.rs",
            3,
            "",
            Settings::NONE,
            &Placeholder,
        )];
        const NEW: &[Entry] = &[Entry::new(
            "v",
            "v::V",
            "prov-v 0.2.0",
            "src/lib.rs",
            3,
            "",
            Settings::NONE,
            &Placeholder,
        )];
        let payload = std::panic::catch_unwind(|| merge::<2>(&[OLD, NEW])).unwrap_err();
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some(
                "duplicate secrets provider id \"v\": `v::V` (prov-v 0.1.0, src/lib.rs:3) and `v::V` (prov-v 0.2.0, src/lib.rs:3)"
            )
        );
    }

    #[test]
    fn a_table_reached_twice_counts_once() {
        const A: &[Entry] = &[entry("envfile", "a::EnvFile"), entry("vault", "a::Vault")];
        const B: &[Entry] = &[entry("aws", "b::Aws")];
        const SORTED: [Entry; 5] = merge(&[A, B, A]);
        const UNIQUE: [Entry; unique_len(&SORTED)] = unique(&SORTED);
        let ids: Vec<_> = UNIQUE.iter().map(Entry::id).collect();
        assert_eq!(ids, ["aws", "envfile", "vault"]);
    }

    #[test]
    fn carried_tables_are_flattened_once_each_without_empty_ones() {
        const A: &[Entry] = &[entry("a", "a::A")];
        const B: &[Entry] = &[entry("b", "b::B")];
        const C: &[Entry] = &[entry("c", "c::C")];
        // mid1 carries [B, C], mid2 carries [C]: C is reached twice.
        const MID1: &[&[Entry]] = &[B, C];
        const MID2: &[&[Entry]] = &[&[], C];
        const DEPS: &[&[&[Entry]]] = &[MID1, MID2];
        const TABLES: [&[Entry]; tables_len(A, DEPS)] = tables(A, DEPS);
        let firsts: Vec<_> = TABLES.iter().map(|t| t[0].id()).collect();
        assert_eq!(firsts, ["a", "b", "c"]);
        const NONE: [&[Entry]; tables_len(&[], &[])] = tables(&[], &[]);
        assert!(NONE.is_empty());
    }

    #[test]
    fn membership_is_by_id_and_type() {
        const TABLE: [Entry; 3] = merge(&[&[
            entry("vault", "a::Vault"),
            entry("aws", "a::Aws"),
            entry("envfile", "a::EnvFile"),
        ]]);
        const NONE: Notes = Notes {
            generated: false,
            unlisted: &[],
        };
        assert_listed(&entry("envfile", "a::EnvFile"), &TABLE, &NONE);
        assert_listed(&entry("vault", "a::Vault"), &TABLE, &NONE);
        for (id, ty) in [
            ("envfile", "b::EnvFile"),
            ("encore", "a::Encore"),
            ("zzz", "a::Aws"),
        ] {
            let missing = entry(id, ty);
            assert!(
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| assert_listed(
                    &missing, &TABLE, &NONE
                )))
                .is_err()
            );
        }
    }

    #[test]
    fn keys_order_like_ids() {
        use crate::lookup::key;
        let ids = [
            "",
            "a",
            "a-b",
            "a.b",
            "aws",
            "aws.secrets-manager",
            "aws.secrets-x",
            "envfile",
            "envfiles",
            "z",
        ];
        for a in ids {
            for b in ids {
                let e = entry(a, "t");
                assert_eq!(e.cmp_id(key(b), b), a.cmp(b), "{a} {b}");
            }
        }
    }

    #[test]
    fn comparison_is_byte_order() {
        for (a, b) in [
            ("a", "b"),
            ("a", "a."),
            ("a-b", "a.b"),
            ("z", "a"),
            ("", ""),
        ] {
            assert_eq!(cmp(a, b), a.cmp(b), "{a} {b}");
        }
    }

    #[test]
    fn messages_are_cut_on_a_character_boundary() {
        let msg = Message::new().push(&"é".repeat(600));
        assert_eq!(msg.as_str(), "é".repeat(512));
        assert_eq!(
            Message::new().push_u32(0).push_u32(4_294_967_295).as_str(),
            "04294967295"
        );
    }
}

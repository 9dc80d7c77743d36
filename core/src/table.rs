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
    file: &'static str,
    line: u32,
    description: &'static str,
    settings: Settings,
    provider: &'static dyn DynSecretsProvider,
}

impl Entry {
    #[doc(hidden)] // Called by `#[secrets_provider]`; not public API.
    pub const fn new(
        id: &'static str,
        type_path: &'static str,
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
            file,
            line,
            description,
            settings,
            provider,
        }
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
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("id", &self.id)
            .field("type_path", &self.type_path)
            .field("file", &self.file)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

/// Implemented by `#[secrets_provider]` for each provider; not public API.
#[doc(hidden)]
pub trait StaticProvider {
    const ENTRY: Entry;
}

/// The type-level key of an ID (`HASH` is FNV-1a of the ID), implemented for a crate-private
/// marker type: two providers with the same ID in one crate are conflicting impls.
#[doc(hidden)]
pub trait UniqueProviderId<const HASH: u128> {
    type Provider;
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
/// rejects duplicate IDs. `N` must be [`merged_len`] of the tables.
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
            // Insertion sort: tables arrive sorted, so this is linear in the usual case.
            let mut j = len;
            while j > 0 && cmp(out[j - 1].id, entry.id).is_gt() {
                out[j] = out[j - 1];
                j -= 1;
            }
            if j > 0 && cmp(out[j - 1].id, entry.id).is_eq() {
                duplicate(&out[j - 1], &entry);
            }
            out[j] = entry;
            len += 1;
            i += 1;
        }
        t += 1;
    }
    out
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

/// Fails const evaluation when `entry` is not in `table`: a provider hidden from the table's
/// generator (behind a macro or `cfg_attr`), or a stale hand-written table.
#[doc(hidden)]
pub const fn assert_listed(entry: &Entry, table: &[Entry]) {
    let mut i = 0;
    while i < table.len() {
        if cmp(table[i].type_path, entry.type_path).is_eq() && cmp(table[i].id, entry.id).is_eq() {
            return;
        }
        i += 1;
    }
    let msg = Message::new()
        .push("secrets provider ")
        .push_entry(entry)
        .push(" with id \"")
        .push(entry.id)
        .push("\" is missing from crate::SECRETS_PROVIDERS: list it in `provider_table!` or generate the table with `stagecraft_codegen` from build.rs");
    panic!("{}", msg.as_str())
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

    /// `` `path::Type` (file.rs:12) ``
    const fn push_entry(self, entry: &Entry) -> Self {
        self.push("`")
            .push(entry.type_path)
            .push("` (")
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
const PLACEHOLDER: Entry = Entry::new("", "", "", 0, "", Settings::NONE, &Placeholder);

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

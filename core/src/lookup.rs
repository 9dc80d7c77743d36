//! How a static table is searched: a perfect-hash index built in const evaluation, so that a
//! lookup is one hash, two loads and one compare, with a binary search for tables too large to
//! index (over 32,767 providers).
//!
//! Lookups compare 8-byte words, not strings: on the machines measured, a call to `memcmp`
//! (what `str::cmp` and long `==` compile to) cost more than the rest of a lookup.

use crate::table::Entry;

/// The first 8 bytes of an ID, big-endian and zero-padded: ordered like the ID itself (IDs hold
/// no NUL byte).
#[inline(always)]
pub(crate) fn key(id: &str) -> u64 {
    let id = id.as_bytes();
    let len = id.len();
    if let Some(first) = id.first_chunk::<8>() {
        u64::from_be_bytes(*first)
    } else if len >= 4 {
        // Two overlapping 4-byte loads; the bytes they share land on the same bits.
        let head = u64::from(u32::from_be_bytes([id[0], id[1], id[2], id[3]]));
        let tail = u64::from(u32::from_be_bytes([
            id[len - 4],
            id[len - 3],
            id[len - 2],
            id[len - 1],
        ]));
        (head << 32) | (tail << (8 * (8 - len)))
    } else {
        key_const(id)
    }
}

/// [`key`] in const context.
pub(crate) const fn key_const(id: &[u8]) -> u64 {
    let mut bytes = [0u8; 8];
    let mut i = 0;
    while i < id.len() && i < 8 {
        bytes[i] = id[i];
        i += 1;
    }
    u64::from_be_bytes(bytes)
}

/// Whether two IDs with the same [`key`] are equal.
#[inline]
pub(crate) fn same_tail(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    match a.len() {
        0..=8 => true,
        // The last 8 bytes, overlapping the key when shorter than 16.
        9..=16 => a.last_chunk::<8>() == b.last_chunk::<8>(),
        _ => a[8..] == b[8..],
    }
}

/// The last 8 bytes of an ID longer than 8 bytes, else 0.
#[inline(always)]
fn tail(id: &[u8]) -> u64 {
    match id.last_chunk::<8>() {
        Some(tail) if id.len() > 8 => u64::from_be_bytes(*tail),
        _ => 0,
    }
}

/// [`tail`] in const context.
pub(crate) const fn tail_const(id: &[u8]) -> u64 {
    let mut tail = 0;
    if id.len() > 8 {
        let mut i = id.len() - 8;
        while i < id.len() {
            tail = (tail << 8) | id[i] as u64;
            i += 1;
        }
    }
    tail
}

/// Multiplies two words into 128 bits and folds the halves together (the wyhash mixer).
#[inline(always)]
const fn fold(a: u64, b: u64) -> u64 {
    let product = a as u128 * b as u128;
    (product as u64) ^ ((product >> 64) as u64)
}

const K1: u64 = 0xa076_1d64_78bd_642f;
const K2: u64 = 0xe703_7ed1_a0b4_28db;
/// The odd multiplier that spreads a pilot-adjusted hash over the slots.
const K3: u64 = 0x9e37_79b9_7f4a_7c15;

/// The seeded hash of an ID from its key and tail. It reads every byte (the key, the tail and
/// any middle words) and the length, so two distinct IDs collide only for some seeds, never for
/// all of them: a new seed always separates them.
#[inline(always)]
fn hash(id: &[u8], key: u64, tail: u64, seed: u64) -> u64 {
    let mut h = fold((key ^ seed).wrapping_add(id.len() as u64), tail ^ K1);
    if id.len() > 16 {
        h = hash_middle(h, &id[8..id.len() - 8]);
    }
    h
}

/// Folds in the bytes between the key and the tail of an ID longer than 16 bytes.
fn hash_middle(mut h: u64, middle: &[u8]) -> u64 {
    for chunk in middle.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = fold(h ^ u64::from_be_bytes(word), K2);
    }
    h
}

/// [`hash`] in const context.
const fn hash_const(id: &[u8], seed: u64) -> u64 {
    let mut h = fold(
        (key_const(id) ^ seed).wrapping_add(id.len() as u64),
        tail_const(id) ^ K1,
    );
    if id.len() > 16 {
        let mut at = 8;
        while at < id.len() - 8 {
            let mut word = 0u64;
            let mut i = 0;
            while i < 8 {
                word <<= 8;
                if at + i < id.len() - 8 {
                    word |= id[at + i] as u64;
                }
                i += 1;
            }
            h = fold(h ^ word, K2);
            at += 8;
        }
    }
    h
}

/// A perfect-hash index over a table: `slots[slot]` is the position of the entry whose ID hashes
/// there. An empty slot holds 0 too: an ID that lands on it is not the first entry's (that one
/// lands on its own slot), so the compare that confirms every hit rejects it, and a lookup
/// needs no branch for empty slots.
///
/// Up to [`SMALL`] entries, the slot is the top bits of the hash, in about `n²` slots: a seed
/// under which no two IDs share a slot turns up within a few tries. Larger tables use the "hash
/// and displace" scheme of PTHash in about `2n` slots: the hash picks a bucket, and the bucket's
/// pilot moves its IDs to slots no other ID uses. A lookup is one hash, one or two loads and
/// one compare.
#[derive(Debug, Clone, Copy)]
pub struct Index {
    slots: &'static [u16],
    pilots: &'static [u64],
    seed: u64,
    shift: u32,
}

impl Index {
    /// No index: lookups binary-search the table.
    pub(crate) const NONE: Index = Index {
        slots: &[],
        pilots: &[],
        seed: 0,
        shift: 0,
    };

    #[doc(hidden)]
    pub const fn new(slots: &'static [u16], pilots: &'static [u64], seed: u64) -> Self {
        if seed == 0 || slots.is_empty() {
            return Self::NONE;
        }
        Index {
            slots,
            pilots,
            seed,
            shift: 64 - slots.len().trailing_zeros(),
        }
    }

    /// Whether lookups use the hash (false: the table was too large to index).
    pub(crate) const fn is_hashed(&self) -> bool {
        self.seed != 0
    }

    /// The entry of `table` (sorted by ID) whose ID is `id`. Not public API: called by the
    /// lookup that `secrets_registry!` generates, where `self` and `table` are constants.
    ///
    /// IDs of 4 to 16 bytes, the common ones, are looked up inline without a call, so that the
    /// lookup needs no stack frame; others go through [`Index::find_any`].
    #[doc(hidden)]
    #[inline(always)]
    pub fn find(&self, table: &'static [Entry], id: &str) -> Option<&'static Entry> {
        let len = id.len();
        if self.seed == 0 || !(4..=16).contains(&len) {
            return self.find_any(table, id);
        }
        let (key, tail) = (key(id), tail(id.as_bytes()));
        let entry = self.entry(table, hash(id.as_bytes(), key, tail, self.seed))?;
        // Key, tail and length settle IDs of up to 16 bytes.
        (entry.key() == key && entry.tail() == tail && entry.id().len() == len).then_some(entry)
    }

    /// [`Index::find`] for IDs of any length, and for tables without an index.
    #[inline(never)]
    fn find_any(&self, table: &'static [Entry], id: &str) -> Option<&'static Entry> {
        if self.seed == 0 {
            let key = key(id);
            return table
                .binary_search_by(|e| e.cmp_id(key, id))
                .ok()
                .map(|i| &table[i]);
        }
        let (key, tail, len) = (key(id), tail(id.as_bytes()), id.len());
        let entry = self.entry(table, hash(id.as_bytes(), key, tail, self.seed))?;
        // Key, tail and length settle IDs of up to 16 bytes; longer ones compare their middle.
        let same = entry.key() == key && entry.tail() == tail && entry.id().len() == len;
        (same && (len <= 16 || same_tail(entry.id(), id))).then_some(entry)
    }

    /// The entry in the slot of hash `h`: the one to compare with.
    #[inline(always)]
    fn entry(&self, table: &'static [Entry], h: u64) -> Option<&'static Entry> {
        let slot = if self.pilots.is_empty() {
            (h >> self.shift) as usize
        } else {
            let pilot = *self.pilots.get(bucket(h, self.pilots.len()))?;
            ((h ^ pilot).wrapping_mul(K3) >> self.shift) as usize
        };
        table.get(usize::from(*self.slots.get(slot)?))
    }
}

/// The bucket of a hash; `buckets` is a power of two.
#[inline(always)]
const fn bucket(h: u64, buckets: usize) -> usize {
    (h >> 32) as usize & (buckets - 1)
}

/// The largest table indexed without pilots (in at most 4,096 slots).
const SMALL: usize = 64;

/// The number of slots of the index of an `n`-entry table: a power of two at least `n²` up to
/// [`SMALL`] entries, else at least `2n`, so that seeds or pilots that fit turn up within a few
/// tries. 0 (no index) past 32,767 entries.
#[doc(hidden)]
pub const fn index_len(n: usize) -> usize {
    if n == 0 || n > (u16::MAX as usize) / 2 {
        return 0;
    }
    let slots = if n <= SMALL { n * n } else { 2 * n };
    let slots = slots.next_power_of_two();
    if slots < 4 { 4 } else { slots }
}

/// The number of buckets (pilots) of the index of an `n`-entry table: none up to [`SMALL`]
/// entries, else about one per 4 entries.
#[doc(hidden)]
pub const fn pilots_len(n: usize) -> usize {
    if n <= SMALL || index_len(n) == 0 {
        return 0;
    }
    n.div_ceil(4).next_power_of_two()
}

/// The slots, pilots and seed of an index, as [`build_index`] computes them.
#[doc(hidden)]
#[derive(Debug)]
pub struct BuiltIndex<const M: usize, const B: usize> {
    pub slots: [u16; M],
    pub pilots: [u64; B],
    pub seed: u64,
}

/// How many pilots a bucket tries before the whole index is rebuilt with another seed.
const PILOT_TRIES: u64 = 1 << 16;

/// Builds the index of `table`. `M` is [`index_len`] and `B` [`pilots_len`] of its length.
///
/// Buckets are placed largest first; each takes the first pilot under which all its IDs land on
/// free, distinct slots; without pilots, a seed fits when all IDs land on distinct slots. IDs
/// collide only under some seeds (see [`hash`]), so a seed that fails is replaced; seed 0 (no
/// index) would take 256 failures in a row, each less likely than not.
#[doc(hidden)]
pub const fn build_index<const M: usize, const B: usize>(table: &[Entry]) -> BuiltIndex<M, B> {
    let n = table.len();
    let mut state = 0x853c_49e6_748f_ea9b_u64;
    let mut attempt = 0;
    while M > 0 && n <= M && attempt < 256 {
        state = state.wrapping_add(K3);
        let seed = splitmix(state) | 1;
        let mut index = BuiltIndex {
            slots: [0; M],
            pilots: [0; B],
            seed,
        };
        if place_buckets(table, &mut index) {
            // Placing marks a slot with the position plus one; empty slots become 0 as well.
            let mut slot = 0;
            while slot < M {
                index.slots[slot] = index.slots[slot].saturating_sub(1);
                slot += 1;
            }
            return index;
        }
        attempt += 1;
    }
    BuiltIndex {
        slots: [0; M],
        pilots: [0; B],
        seed: 0,
    }
}

const fn splitmix(state: u64) -> u64 {
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Places every bucket under `index.seed`; false when some bucket finds no pilot.
const fn place_buckets<const M: usize, const B: usize>(
    table: &[Entry],
    index: &mut BuiltIndex<M, B>,
) -> bool {
    let n = table.len();
    let shift = 64 - M.trailing_zeros();
    if B == 0 {
        let mut i = 0;
        while i < n {
            let slot = (hash_const(table[i].id().as_bytes(), index.seed) >> shift) as usize;
            if index.slots[slot] != 0 {
                return false;
            }
            index.slots[slot] = i as u16 + 1;
            i += 1;
        }
        return true;
    }
    // The hash of each entry, and the entries grouped by bucket (a counting sort).
    let mut hashes = [0u64; M];
    let mut sizes = [0u16; B];
    let mut i = 0;
    while i < n {
        hashes[i] = hash_const(table[i].id().as_bytes(), index.seed);
        sizes[bucket(hashes[i], B)] += 1;
        i += 1;
    }
    let mut starts = [0u16; B];
    let mut b = 1;
    while b < B {
        starts[b] = starts[b - 1] + sizes[b - 1];
        b += 1;
    }
    let mut members = [0u16; M];
    let mut filled = [0u16; B];
    i = 0;
    while i < n {
        let b = bucket(hashes[i], B);
        members[(starts[b] + filled[b]) as usize] = i as u16;
        filled[b] += 1;
        i += 1;
    }
    let mut largest = 0;
    b = 0;
    while b < B {
        if sizes[b] > largest {
            largest = sizes[b];
        }
        b += 1;
    }
    // Largest buckets first, while the slots are emptiest.
    let mut size = largest;
    while size > 0 {
        b = 0;
        while b < B {
            if sizes[b] == size
                && !place_bucket(index, &hashes, &members, starts[b], size, b, shift)
            {
                return false;
            }
            b += 1;
        }
        size -= 1;
    }
    true
}

/// Finds a pilot for bucket `b` (entries `members[start..start + size]`) and fills its slots.
const fn place_bucket<const M: usize, const B: usize>(
    index: &mut BuiltIndex<M, B>,
    hashes: &[u64; M],
    members: &[u16; M],
    start: u16,
    size: u16,
    b: usize,
    shift: u32,
) -> bool {
    let (start, end) = (start as usize, (start + size) as usize);
    let mut tries = 0;
    while tries < PILOT_TRIES {
        let pilot = splitmix(tries ^ index.seed);
        let mut k = start;
        while k < end {
            let h = hashes[members[k] as usize];
            let slot = ((h ^ pilot).wrapping_mul(K3) >> shift) as usize;
            if index.slots[slot] != 0 {
                break;
            }
            index.slots[slot] = members[k] + 1;
            k += 1;
        }
        if k == end {
            index.pilots[b] = pilot;
            return true;
        }
        // Undo this pilot's slots.
        while k > start {
            k -= 1;
            let h = hashes[members[k] as usize];
            index.slots[((h ^ pilot).wrapping_mul(K3) >> shift) as usize] = 0;
        }
        tries += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::tests::entry;

    #[test]
    fn runtime_and_const_hashing_agree() {
        for id in [
            "",
            "a",
            "xaaaaaaab",
            "xaaaaaaaab",
            "abc",
            "abcd",
            "envfile",
            "envfiles",
            "aws.secrets-manager",
            &"x".repeat(64),
        ] {
            assert_eq!(key(id), key_const(id.as_bytes()), "{id}");
            assert_eq!(tail(id.as_bytes()), tail_const(id.as_bytes()), "{id}");
            let b = id.as_bytes();
            assert_eq!(hash(b, key(id), tail(b), 77), hash_const(b, 77), "{id}");
        }
    }

    #[test]
    fn index_finds_every_entry_and_nothing_else() {
        const TABLE: &[Entry] = &[
            entry("aws.secrets-manager", "a"),
            entry("aws.secrets-mangler", "b"),
            entry("encore", "c"),
            entry("envfile", "d"),
            entry("envfile.v2", "e"),
            entry("long-provider-id-with-a-middle", "g"),
            entry("vault", "f"),
        ];
        const BUILT: BuiltIndex<{ index_len(7) }, { pilots_len(7) }> = build_index(TABLE);
        let index = Index::new(&BUILT.slots, &BUILT.pilots, BUILT.seed);
        assert!(index.is_hashed());
        for (position, entry) in TABLE.iter().enumerate() {
            assert!(std::ptr::eq(
                index.find(TABLE, entry.id()).unwrap(),
                &TABLE[position]
            ));
            assert!(std::ptr::eq(
                Index::NONE.find(TABLE, entry.id()).unwrap(),
                &TABLE[position]
            ));
        }
        for missing in [
            "",
            "aws",
            "envfil",
            "envfile.v3",
            "vault\0",
            "aws.secrets-manage",
            "zzz",
            "long-provider-id-WITH-a-middle",
        ] {
            assert!(index.find(TABLE, missing).is_none(), "{missing}");
            assert!(Index::NONE.find(TABLE, missing).is_none(), "{missing}");
        }
    }

    /// Any ID, registered or not, finds what a linear search finds: variants of each table ID
    /// (every byte changed, cut or extended) land on empty slots too, which point at entry 0
    /// and must be rejected by the compare, for IDs of every length class (under 4, 4 to 16,
    /// over 16 bytes).
    #[test]
    fn lookups_agree_with_a_linear_search() {
        const TABLE: &[Entry] = &[
            entry("a", "a"),
            entry("abcd", "b"),
            entry("envfile", "c"),
            entry("envfile1", "d"),
            entry("onepassword", "e"),
            entry("sixteen-bytes-id", "f"),
            entry("stagecraft.p0042.provider", "g"),
        ];
        const BUILT: BuiltIndex<{ index_len(7) }, { pilots_len(7) }> = build_index(TABLE);
        let index = Index::new(&BUILT.slots, &BUILT.pilots, BUILT.seed);
        let mut candidates: Vec<String> = vec![String::new()];
        for entry in TABLE {
            let id = entry.id();
            candidates.push(id.to_owned());
            candidates.push(format!("{id}x"));
            candidates.push(id[..id.len() - 1].to_owned());
            for at in 0..id.len() {
                let mut bytes = id.as_bytes().to_vec();
                bytes[at] = if bytes[at] == b'z' { b'y' } else { b'z' };
                candidates.push(String::from_utf8(bytes).unwrap());
            }
        }
        for id in &candidates {
            let expected = TABLE
                .iter()
                .find(|e| e.id() == id)
                .map(|e| e as *const Entry);
            assert_eq!(
                index.find(TABLE, id).map(|e| e as *const Entry),
                expected,
                "{id}"
            );
        }
    }

    /// IDs that agree in length, first 8 and last 8 bytes (`stagecraft.alpha.provider`,
    /// `stagecraft.bravo.provider`), or in all but one middle byte, or that differ only in
    /// length (`xaaaaaaab`, `xaaaaaaaab`: same first and last 8 bytes): the families that forced
    /// the old index back to binary search. Every one of them is hashed and found.
    #[test]
    fn families_of_similar_ids_are_all_hashed() {
        const N: usize = 2000;
        let words = [
            "alpha", "bravo", "charl", "delta", "echoo", "foxtr", "golfo", "hotel",
        ];
        check::<{ index_len(8) }, { pilots_len(8) }>(
            words.map(|w| format!("stagecraft.{w}.provider")).to_vec(),
        );
        check::<{ index_len(56) }, { pilots_len(56) }>(
            (1..=56).map(|n| format!("x{}b", "a".repeat(n))).collect(),
        );
        let big: [Vec<String>; 4] = [
            (0..N)
                .map(|i| format!("stagecraft.{i:05}.provider"))
                .collect(),
            (0..N)
                .map(|i| format!("{}{i:04}{}", "p".repeat(20), "s".repeat(20)))
                .collect(),
            (0..N).map(|i| format!("{i}")).collect(),
            (0..N)
                .map(|i| format!("{}.{i}", "a".repeat(60 - i.to_string().len())))
                .collect(),
        ];
        for ids in big {
            check::<{ index_len(N) }, { pilots_len(N) }>(ids);
        }
    }

    /// Builds the index of `ids` at run time (the const fn, called normally) and looks up every
    /// ID, and some that are absent.
    fn check<const M: usize, const B: usize>(mut ids: Vec<String>) {
        ids.sort();
        assert_eq!((index_len(ids.len()), pilots_len(ids.len())), (M, B));
        let table: Vec<Entry> = ids
            .iter()
            .map(|id| entry(Box::leak(id.clone().into_boxed_str()), "t"))
            .collect();
        let table: &'static [Entry] = Box::leak(table.into_boxed_slice());
        let built: &'static BuiltIndex<M, B> = Box::leak(Box::new(build_index(table)));
        let index = Index::new(&built.slots, &built.pilots, built.seed);
        assert!(index.is_hashed(), "{:?}…", &ids[..2]);
        for (position, id) in ids.iter().enumerate() {
            assert!(std::ptr::eq(
                index.find(table, id).unwrap(),
                &table[position]
            ));
            let near = format!("{}{}", &id[..id.len() - 1], "~");
            assert!(index.find(table, &near).is_none(), "{near}");
        }
        assert!(index.find(table, "stagecraft.zulu.provider").is_none());
    }

    #[test]
    fn a_hundred_thousand_providers_fall_back_to_binary_search() {
        assert_eq!(index_len(40_000), 0);
        assert_eq!(pilots_len(40_000), 0);
        assert_eq!(index_len(32_767), 65_536);
    }
}

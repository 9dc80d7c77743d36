//! How a static table is searched: a perfect-hash index built in const evaluation, so that a
//! lookup is one hash, one slot and one compare, with a binary search as the fallback.
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

/// What the hash sees of an ID: its key, its tail and its length.
#[inline(always)]
const fn mix(key: u64, tail: u64, len: usize) -> u64 {
    key ^ tail.rotate_left(29) ^ (len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A perfect-hash index over a table: `slots[hash(id)]` is the entry's position plus one, or 0.
#[derive(Debug, Clone, Copy)]
pub struct Index {
    slots: &'static [u16],
    seed: u64,
    shift: u32,
}

impl Index {
    /// No index: lookups binary-search the table.
    pub(crate) const NONE: Index = Index {
        slots: &[],
        seed: 0,
        shift: 0,
    };

    #[doc(hidden)]
    pub const fn new(slots: &'static [u16], seed: u64) -> Self {
        if seed == 0 || slots.is_empty() {
            return Self::NONE;
        }
        Index {
            slots,
            seed,
            shift: 64 - slots.len().trailing_zeros(),
        }
    }

    /// The entry of `table` (sorted by ID) whose ID is `id`.
    #[inline(always)]
    pub(crate) fn find(&self, table: &'static [Entry], id: &str) -> Option<&'static Entry> {
        let key = key(id);
        if self.seed == 0 {
            return table
                .binary_search_by(|e| e.cmp_id(key, id))
                .ok()
                .map(|i| &table[i]);
        }
        let (tail, len) = (tail(id.as_bytes()), id.len());
        let slot = (mix(key, tail, len).wrapping_mul(self.seed) >> self.shift) as usize;
        let position = usize::from(*self.slots.get(slot)?).checked_sub(1)?;
        let entry = table.get(position)?;
        // Key, tail and length settle IDs of up to 16 bytes; longer ones compare their middle.
        let same = entry.key() == key && entry.tail() == tail && entry.id().len() == len;
        (same && (len <= 16 || same_tail(entry.id(), id))).then_some(entry)
    }
}

/// The number of slots of the index of an `n`-entry table: a power of two near `n²`, so that a
/// collision-free seed turns up within a few tries.
#[doc(hidden)]
pub const fn index_len(n: usize) -> usize {
    if n == 0 || n >= u16::MAX as usize {
        return 0;
    }
    let slots = (n * n).next_power_of_two();
    if slots < 2 {
        2
    } else if slots > 1 << 14 {
        1 << 14
    } else {
        slots
    }
}

/// Finds a seed under which every ID of `table` has a slot of its own, and fills the slots.
/// Returns seed 0 (no index) when none of the seeds tried works.
#[doc(hidden)]
pub const fn build_index<const M: usize>(table: &[Entry]) -> ([u16; M], u64) {
    let mut state = 0x853c_49e6_748f_ea9b_u64;
    let mut attempt = 0;
    while M > 0 && attempt < 256 {
        // splitmix64; the multiplier must be odd.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let seed = (z ^ (z >> 31)) | 1;
        let shift = 64 - M.trailing_zeros();
        let mut slots = [0u16; M];
        let mut i = 0;
        while i < table.len() {
            let id = table[i].id().as_bytes();
            let mixed = mix(key_const(id), tail_const(id), id.len());
            let slot = (mixed.wrapping_mul(seed) >> shift) as usize;
            if slots[slot] != 0 {
                break;
            }
            slots[slot] = (i + 1) as u16;
            i += 1;
        }
        if i == table.len() {
            return (slots, seed);
        }
        attempt += 1;
    }
    ([0; M], 0)
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
            "abc",
            "abcd",
            "envfile",
            "envfiles",
            "aws.secrets-manager",
            &"x".repeat(64),
        ] {
            assert_eq!(key(id), key_const(id.as_bytes()), "{id}");
            assert_eq!(tail(id.as_bytes()), tail_const(id.as_bytes()), "{id}");
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
        const BUILT: ([u16; index_len(7)], u64) = build_index(TABLE);
        let index = Index::new(&BUILT.0, BUILT.1);
        assert_ne!(BUILT.1, 0);
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
}

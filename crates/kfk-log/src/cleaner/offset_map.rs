//! The cleaner's map from key to the latest offset that key was written at.
//!
//! Keys are stored as 128-bit hashes (Kafka keeps 16-byte MD5 digests), so a
//! map entry costs the same whatever the key size, and the map's size is set
//! by `log.cleaner.dedupe.buffer.size`, not by the keys. A collision would
//! make one key look superseded by another; at 128 bits that takes around
//! 2^64 keys.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

/// Bytes one entry costs in the map, table overhead included: what the
/// dedupe buffer size is divided by.
pub const BYTES_PER_ENTRY: usize = 32;

/// The keys are hashes already: hashing them again is wasted work.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

/// 128 bits of a key: two independent 64-bit SipHashes.
pub fn key_hash(key: &[u8]) -> u128 {
    let mut a = DefaultHasher::new();
    0u8.hash(&mut a);
    key.hash(&mut a);
    let mut b = DefaultHasher::new();
    1u8.hash(&mut b);
    key.hash(&mut b);
    (u128::from(a.finish()) << 64) | u128::from(b.finish())
}

/// Key hash -> latest offset, holding at most `capacity` keys.
#[derive(Debug)]
pub struct OffsetMap {
    entries: HashMap<u128, i64, BuildHasherDefault<PassThrough>>,
    capacity: usize,
}

impl OffsetMap {
    /// A map that fits in `buffer_bytes` (at least one entry).
    pub fn with_buffer(buffer_bytes: usize) -> OffsetMap {
        OffsetMap {
            entries: HashMap::default(),
            capacity: (buffer_bytes / BYTES_PER_ENTRY).max(1),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `more` new keys would still fit.
    pub fn has_room_for(&self, more: usize) -> bool {
        self.entries.len().saturating_add(more) <= self.capacity
    }

    /// Records `offset` as `key`'s latest (offsets arrive in order).
    pub fn put(&mut self, key: &[u8], offset: i64) {
        self.entries.insert(key_hash(key), offset);
    }

    /// The latest offset of `key`, if the map saw it.
    pub fn latest(&self, key: &[u8]) -> Option<i64> {
        self.entries.get(&key_hash(key)).copied()
    }

    /// Empties the map for the next log, keeping its memory.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latest_offset_wins_and_capacity_follows_the_buffer() {
        let mut m = OffsetMap::with_buffer(10 * BYTES_PER_ENTRY);
        assert_eq!(m.capacity(), 10);
        m.put(b"a", 1);
        m.put(b"b", 2);
        m.put(b"a", 3);
        assert_eq!(m.latest(b"a"), Some(3));
        assert_eq!(m.latest(b"b"), Some(2));
        assert_eq!(m.latest(b"c"), None);
        assert_eq!(m.len(), 2);
        assert!(m.has_room_for(8));
        assert!(!m.has_room_for(9));
        assert_ne!(key_hash(b"ab"), key_hash(b"ba"));
        m.clear();
        assert!(m.is_empty());
    }
}

//! A fast hasher for short keys (metric tags) looked up once per point.
//!
//! The standard SipHash resists hash flooding, which matters for maps keyed
//! by untrusted input that an attacker can choose freely. Here the keys are
//! the tags of the user's own log files, looked up millions of times, so the
//! multiply-rotate scheme of rustc's FxHash (written out here, it is a few
//! lines) is the better trade.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0_u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0_u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_it_stored() {
        let mut map: FastMap<Box<[u8]>, usize> = FastMap::default();
        let tags: Vec<String> = (0..500).map(|i| format!("train/metric_{i}")).collect();
        for (i, tag) in tags.iter().enumerate() {
            map.insert(tag.as_bytes().into(), i);
        }
        for (i, tag) in tags.iter().enumerate() {
            assert_eq!(map.get(tag.as_bytes()), Some(&i));
        }
        assert_eq!(map.get(b"train/metric".as_slice()), None);
        // Keys that differ only in length (zero padding) hash apart.
        let mut a = FastHasher::default();
        a.write(b"ab");
        a.write_usize(2);
        let mut b = FastHasher::default();
        b.write(b"ab\0");
        b.write_usize(3);
        assert_ne!(a.finish(), b.finish());
    }
}

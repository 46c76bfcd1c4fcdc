//! Partitioners: which reduce partition a key goes to.
//!
//! Partitioning must be a pure function of the key that gives the same answer
//! in every process, since map tasks run on different executors. The hash
//! partitioner therefore uses a fixed hash (FxHash's multiply-rotate with a
//! fixed seed, finished with a murmur3 mix), never a randomly-keyed one.

use crate::Data;
use crate::func::Fn1;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::hash::{Hash, Hasher};

/// Maps keys to partitions `0..num_partitions()`.
pub trait Partitioner<K>: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    fn num_partitions(&self) -> usize;
    fn partition(&self, key: &K) -> usize;
}

/// Spark's HashPartitioner: `hash(key) mod n`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct HashPartitioner {
    partitions: usize,
}

impl HashPartitioner {
    pub fn new(partitions: usize) -> Self {
        HashPartitioner { partitions: partitions.max(1) }
    }
}

/// A fixed, fast hasher for partitioning (deterministic across processes).
#[derive(Default)]
pub struct StableHasher(u64);

impl Hasher for StableHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64)
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64)
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
    fn finish(&self) -> u64 {
        // murmur3's fmix64, so that the low bits used by `mod n` are well mixed.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// The stable hash of a value.
pub fn stable_hash<K: Hash + ?Sized>(key: &K) -> u64 {
    let mut h = StableHasher::default();
    key.hash(&mut h);
    h.finish()
}

impl<K: Hash> Partitioner<K> for HashPartitioner {
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn partition(&self, key: &K) -> usize {
        (stable_hash(key) % self.partitions as u64) as usize
    }
}

/// Spark's RangePartitioner: keys in sorted ranges, bounds chosen from a sample
/// so that partitions are about equal in size.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "K: Serialize", deserialize = "K: DeserializeOwned"))]
pub struct RangePartitioner<K> {
    /// `bounds[i]` is the largest key of partition `i` (ascending order).
    bounds: Vec<K>,
    ascending: bool,
}

impl<K: Data + Ord> RangePartitioner<K> {
    /// Bounds for `partitions` ranges from a sample of keys.
    pub fn from_sample(mut sample: Vec<K>, partitions: usize, ascending: bool) -> Self {
        sample.sort_unstable();
        let n = partitions.max(1);
        let mut bounds = Vec::with_capacity(n.saturating_sub(1));
        if !sample.is_empty() {
            for i in 1..n {
                let candidate = &sample[(i * sample.len() / n).min(sample.len() - 1)];
                if bounds.last().is_none_or(|b| b < candidate) {
                    bounds.push(candidate.clone());
                }
            }
        }
        RangePartitioner { bounds, ascending }
    }
}

impl<K: Data + Ord> Partitioner<K> for RangePartitioner<K> {
    fn num_partitions(&self) -> usize {
        self.bounds.len() + 1
    }
    fn partition(&self, key: &K) -> usize {
        let p = self.bounds.partition_point(|b| b < key);
        if self.ascending { p } else { self.bounds.len() - p }
    }
}

/// A user's partitioner: the key's partition is `f(&key)` modulo the
/// partition count, the Euclidean way (Spark's `nonNegativeMod`), so a
/// negative number (a hash, a signed key) still lands in `0..partitions`.
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "F: Serialize", deserialize = "F: DeserializeOwned"))]
pub struct FnPartitioner<F, I> {
    partitions: usize,
    f: F,
    #[serde(skip)]
    _index: std::marker::PhantomData<fn() -> I>,
}

impl<F: Clone, I> Clone for FnPartitioner<F, I> {
    fn clone(&self) -> Self {
        FnPartitioner { partitions: self.partitions, f: self.f.clone(), _index: std::marker::PhantomData }
    }
}

impl<F, I> FnPartitioner<F, I> {
    pub fn new(partitions: usize, f: F) -> Self {
        FnPartitioner { partitions: partitions.max(1), f, _index: std::marker::PhantomData }
    }
}

impl<K, I: PartitionNumber, F: for<'a> Fn1<&'a K, I>> Partitioner<K> for FnPartitioner<F, I> {
    fn num_partitions(&self) -> usize {
        self.partitions
    }
    fn partition(&self, key: &K) -> usize {
        self.f.call(key).partition_of(self.partitions)
    }
}

/// An integer a partition function may return (any primitive integer).
pub trait PartitionNumber: Copy + Send + Sync + 'static {
    /// This number's partition among `partitions`: its Euclidean remainder.
    fn partition_of(self, partitions: usize) -> usize;
}

macro_rules! partition_number {
    ($wide:ty: $($t:ty),*) => {$(
        impl PartitionNumber for $t {
            fn partition_of(self, partitions: usize) -> usize {
                (self as $wide).rem_euclid(partitions as $wide) as usize
            }
        }
    )*};
}
partition_number!(i128: i8, i16, i32, i64, i128, isize);
partition_number!(u128: u8, u16, u32, u64, u128, usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_partitioner_is_stable_and_in_range() {
        let p = HashPartitioner::new(7);
        for k in 0u64..1000 {
            let a = Partitioner::<u64>::partition(&p, &k);
            assert!(a < 7);
            assert_eq!(a, Partitioner::<u64>::partition(&p, &k));
        }
        assert_eq!(stable_hash("abc"), stable_hash("abc"));
        assert_ne!(stable_hash("abc"), stable_hash("abd"));
    }

    #[test]
    fn partition_numbers_are_taken_modulo_the_euclidean_way() {
        assert_eq!((-1i64).partition_of(4), 3);
        assert_eq!((-8i32).partition_of(4), 0);
        assert_eq!(i64::MIN.partition_of(7), (i64::MIN as i128).rem_euclid(7) as usize);
        assert_eq!(u64::MAX.partition_of(10), (u64::MAX % 10) as usize);
        assert_eq!(13usize.partition_of(5), 3);
    }

    #[test]
    fn range_partitioner_orders_keys() {
        let p = RangePartitioner::from_sample((0..100).collect(), 4, true);
        assert_eq!(p.num_partitions(), 4);
        let parts: Vec<usize> = (0..100).map(|k| p.partition(&k)).collect();
        assert!(parts.windows(2).all(|w| w[0] <= w[1]));
        let desc = RangePartitioner::from_sample((0..100).collect(), 4, false);
        assert_eq!(desc.partition(&0), 3);
        assert_eq!(desc.partition(&99), 0);
    }
}

//! The bounds that records must satisfy.

use serde::{Serialize, de::DeserializeOwned};
use std::hash::Hash;

/// A record of an RDD: it can be cloned out of a cached partition, sent between
/// threads, and serialized into shuffle blocks, task results and cached blocks
/// spilled to disk.
pub trait Data: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> Data for T {}

/// A key of a pair RDD: records with equal keys meet in one reduce partition.
pub trait Key: Data + Hash + Eq {}
impl<T: Data + Hash + Eq> Key for T {}

/// Numbers that numeric actions (`sum`, `mean`, `stats`) can work on.
pub trait ToF64 {
    fn to_f64(&self) -> f64;
}

macro_rules! to_f64 {
    ($($t:ty),*) => {$(impl ToF64 for $t { fn to_f64(&self) -> f64 { *self as f64 } })*};
}
to_f64!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize, f32, f64);

//! Random sampling, deterministic per partition.
//!
//! Every random choice is drawn from an RNG seeded by `(seed, partition)` only,
//! so a partition recomputed after a failure makes exactly the same choices
//! and the job's result does not depend on failures.

use crate::Data;
use crate::func::Plain;
use crate::partitioner::stable_hash;
use crate::rdd::Rdd;
use crate::task::BoxIter;
use futures::future::BoxFuture;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// The RNG of partition `partition` for `seed`.
pub fn partition_rng(seed: u64, partition: usize) -> SmallRng {
    SmallRng::seed_from_u64(stable_hash(&(seed, partition as u64, 0x005a_4d50_4c45_u64)))
}

/// A Poisson(λ) draw (Knuth's method; λ is a sampling fraction, so small).
fn poisson(rng: &mut SmallRng, lambda: f64) -> usize {
    let limit = (-lambda).exp();
    let (mut k, mut p) = (0usize, 1.0f64);
    loop {
        p *= rng.random::<f64>();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

impl<T: Data> Rdd<T> {
    /// A random sample of about `fraction` of the records: each record is kept
    /// with probability `fraction` (without replacement), or repeated a
    /// Poisson(`fraction`) number of times (with replacement).
    #[track_caller]
    pub fn sample(&self, with_replacement: bool, fraction: f64, seed: u64) -> crate::Result<Rdd<T>> {
        if fraction.is_nan() || fraction < 0.0 || (!with_replacement && fraction > 1.0) {
            return Err(crate::EmberError::InvalidArgument(format!(
                "sample: fraction must be in [0, 1] without replacement and >= 0 with it, got {fraction}"
            )));
        }
        Ok(self.map_partitions_with((with_replacement, fraction, seed), |&(wr, fraction, seed), index, it| {
            let mut rng = partition_rng(seed, index);
            it.flat_map(move |x| {
                let copies = if wr { poisson(&mut rng, fraction) } else { usize::from(rng.random::<f64>() < fraction) };
                std::iter::repeat_n(x, copies)
            })
        }))
    }

    /// Up to `per_partition` records of each partition, chosen uniformly
    /// (reservoir sampling, seeded by the partition index).
    #[track_caller]
    pub fn sample_per_partition_async(&self, per_partition: usize) -> BoxFuture<'static, crate::Result<Vec<T>>> {
        let f = crate::func::With::new(per_partition, |&k: &usize, index, it: BoxIter<T>| {
            let mut rng = partition_rng(0x5047_5254, index);
            let mut reservoir = Vec::with_capacity(k);
            for (i, x) in it.enumerate() {
                if i < k {
                    reservoir.push(x);
                } else {
                    let j = rng.random_range(0..=i);
                    if j < k {
                        reservoir[j] = x;
                    }
                }
            }
            reservoir
        });
        let job = self.run_job_fn(f, (0..self.num_partitions()).collect());
        Box::pin(async move { Ok(job.await?.into_iter().flatten().collect()) })
    }

    /// Numbers the records `0..count` in partition order (runs a job to count
    /// the records of every partition but the last, as Spark does).
    #[track_caller]
    pub fn zip_with_index(&self) -> crate::Result<Rdd<(T, u64)>> {
        let n = self.num_partitions();
        let counts: Vec<u64> = futures::executor::block_on(
            self.run_job_fn(Plain::new(|_, it: BoxIter<T>| it.count() as u64), (0..n.saturating_sub(1)).collect()),
        )?;
        let mut starts = Vec::with_capacity(n);
        let mut total = 0u64;
        for i in 0..n {
            starts.push(total);
            total += counts.get(i).copied().unwrap_or(0);
        }
        Ok(self.map_partitions_with(starts, |starts, index, it| {
            let start = starts[index];
            it.enumerate().map(move |(i, x)| (x, start + i as u64))
        }))
    }
}

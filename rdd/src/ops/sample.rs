//! Random sampling, deterministic per partition: `sample`, `random_split`,
//! `take_sample`, and the numbering and key sampling that sorting and
//! `zip_with_index` need.
//!
//! Every random choice in a task is drawn from an RNG seeded by
//! `(seed, partition)` only, so a partition recomputed after a failure makes
//! exactly the same choices and the job's result does not depend on
//! failures, nor on the master. The choices made in the driver
//! (`take_sample`'s retries and final shuffle) come from one RNG seeded by
//! the seed alone.

use crate::Data;
use crate::call_site::OperationScope;
use crate::func::Plain;
use crate::job_future::run_blocking;
use crate::partitioner::stable_hash;
use crate::rdd::Rdd;
use crate::task::BoxIter;
use futures::future::BoxFuture;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

/// The RNG of partition `partition` for `seed`.
pub fn partition_rng(seed: u64, partition: usize) -> SmallRng {
    SmallRng::seed_from_u64(stable_hash(&(seed, partition as u64, 0x005a_4d50_4c45_u64)))
}

/// Knuth's method draws a Poisson(λ) for λ up to this; a larger λ is drawn
/// as a sum of draws of at most this λ (Poisson variables add up), since
/// `e^-λ` underflows past about 745 and the method's cost grows with λ.
const POISSON_KNUTH_MAX: f64 = 30.0;

/// A Poisson(λ) draw. A λ of at most [`POISSON_KNUTH_MAX`] (any sampling
/// fraction) takes one draw of Knuth's method; `take_sample` with replacement
/// of many more records than there are can ask for much larger ones.
pub(crate) fn poisson(rng: &mut SmallRng, lambda: f64) -> usize {
    let mut remaining = lambda;
    let mut total = 0;
    while remaining > 0.0 {
        let step = remaining.min(POISSON_KNUTH_MAX);
        total += poisson_knuth(rng, step);
        remaining -= step;
    }
    total
}

/// Knuth's method: multiply uniforms until the product drops below `e^-λ`.
fn poisson_knuth(rng: &mut SmallRng, lambda: f64) -> usize {
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
        let _op = OperationScope::enter("sample");
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
        let _op = OperationScope::enter("sample_per_partition");
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
        let _op = OperationScope::enter("zip_with_index");
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

/// How many times `take_sample` samples before it gives up: a sample falls
/// short of the size asked for with a probability of about 1e-4 (the bounds
/// of [`fraction_for_sample_size`]), so only an RDD whose records change
/// from one job to the next (a nondeterministic lineage) gets here.
const TAKE_SAMPLE_MAX_ATTEMPTS: usize = 100;

/// The sampling fraction that gives at least `num` of `total` records with
/// high probability (Spark's SamplingUtils.computeFractionForSampleSize):
/// with replacement, a Poisson rate `num + k·sqrt(num)` over `total`
/// (`k` = 12, 9 or 6 standard deviations as `num` grows); without, the upper
/// binomial bound for a failure probability of 1e-4.
fn fraction_for_sample_size(num: usize, total: u64, with_replacement: bool) -> f64 {
    let (s, n) = (num as f64, total as f64);
    if with_replacement {
        let std_devs = if s < 6.0 {
            12.0
        } else if s < 16.0 {
            9.0
        } else {
            6.0
        };
        (s + std_devs * s.sqrt()).max(1e-10) / n
    } else {
        let fraction = s / n;
        let gamma = -(1e-4f64).ln() / n;
        (fraction + gamma + (gamma * gamma + 2.0 * gamma * fraction).sqrt()).clamp(1e-10, 1.0)
    }
}

/// Every record of `rdd`, by a job started at `call_site`.
async fn collect_at<T: Data>(rdd: &Rdd<T>, call_site: crate::call_site::CallSite) -> crate::Result<Vec<T>> {
    let collect = Plain::new(|_, it: BoxIter<T>| it.collect::<Vec<T>>());
    let parts = rdd.run_job_at(call_site, collect, (0..rdd.num_partitions()).collect()).await?;
    Ok(parts.into_iter().flatten().collect())
}

impl<T: Data> Rdd<T> {
    /// `num` records chosen at random (Spark's takeSample), in random order.
    /// Without replacement they are `num` distinct records (all of them,
    /// shuffled, when `num` is at least the count); with replacement a record
    /// may be chosen several times and `num` may exceed the count. An empty
    /// RDD, or `num == 0`, gives none. The result depends only on `seed`
    /// and the records, not on the master or on failures.
    ///
    /// Counts the records, then samples a fraction computed to give at least
    /// `num` records with probability 1 - 1e-4 and keeps `num` of them at
    /// random; in the rare case it gives fewer, it samples again with the
    /// next seed of the same sequence. Everything sampled comes to the
    /// driver: for small `num` only.
    #[track_caller]
    pub fn take_sample(&self, with_replacement: bool, num: usize, seed: u64) -> crate::Result<Vec<T>> {
        let _op = OperationScope::enter("take_sample");
        run_blocking!(self.take_sample_async(with_replacement, num, seed))
    }
    #[track_caller]
    pub fn take_sample_async(
        &self,
        with_replacement: bool,
        num: usize,
        seed: u64,
    ) -> BoxFuture<'static, crate::Result<Vec<T>>> {
        let _op = OperationScope::enter("take_sample");
        let rdd = self.clone();
        // Every job of the action is named after the program's line.
        let call_site = crate::call_site::CallSite::caller();
        Box::pin(async move {
            if num == 0 {
                return Ok(Vec::new());
            }
            let all = (0..rdd.num_partitions()).collect::<Vec<_>>();
            let counts = rdd.run_job_at(call_site, Plain::new(|_, it: BoxIter<T>| it.count() as u64), all);
            let count: u64 = counts.await?.into_iter().sum();
            if count == 0 {
                return Ok(Vec::new());
            }
            let mut rng = SmallRng::seed_from_u64(stable_hash(&(seed, 0x5441_4b45_u64)));
            if !with_replacement && num as u64 >= count {
                let mut records = collect_at(&rdd, call_site).await?;
                records.shuffle(&mut rng);
                return Ok(records);
            }
            let fraction = fraction_for_sample_size(num, count, with_replacement);
            for _ in 0..TAKE_SAMPLE_MAX_ATTEMPTS {
                let sampled = rdd.sample(with_replacement, fraction, rng.random())?;
                let mut sample = collect_at(&sampled, call_site).await?;
                if sample.len() >= num {
                    sample.shuffle(&mut rng);
                    sample.truncate(num);
                    return Ok(sample);
                }
            }
            Err(crate::EmberError::InvalidArgument(format!(
                "take_sample: {TAKE_SAMPLE_MAX_ATTEMPTS} samples of fraction {fraction} of {count} records all \
                 had fewer than {num}: the RDD's records change between jobs; cache or checkpoint it first"
            )))
        })
    }

    /// Splits the records at random into RDDs whose sizes are about
    /// proportional to `weights` (normalized to sum to 1), as Spark's
    /// randomSplit: each record draws one uniform number in `[0, 1)` from its
    /// partition's RNG and goes to the split whose range holds it, so the
    /// splits are disjoint and together hold every record, as long as the
    /// RDD is computed the same way each time (cache it to be sure).
    #[track_caller]
    pub fn random_split(&self, weights: &[f64], seed: u64) -> crate::Result<Vec<Rdd<T>>> {
        let _op = OperationScope::enter("random_split");
        let total: f64 = weights.iter().sum();
        if weights.is_empty() || weights.iter().any(|w| !w.is_finite() || *w < 0.0) || total <= 0.0 {
            return Err(crate::EmberError::InvalidArgument(format!(
                "random_split: weights must be finite, non-negative and not all zero, got {weights:?}"
            )));
        }
        let mut bounds = Vec::with_capacity(weights.len());
        let mut lower = 0.0;
        for (i, w) in weights.iter().enumerate() {
            let upper = if i + 1 == weights.len() { 1.0 } else { lower + w / total };
            bounds.push((lower, upper));
            lower = upper;
        }
        let splits = bounds.into_iter().map(|(lower, upper)| {
            self.map_partitions_with((lower, upper, seed), |&(lower, upper, seed), index, it| {
                let mut rng = partition_rng(seed, index);
                it.filter(move |_| (lower..upper).contains(&rng.random::<f64>()))
            })
        });
        Ok(splits.collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_draws_have_the_mean_asked_for_even_when_large() {
        let mut rng = partition_rng(7, 0);
        for lambda in [0.0, 0.3, 4.0, 1000.0] {
            let n = 2000;
            let mean = (0..n).map(|_| poisson(&mut rng, lambda) as f64).sum::<f64>() / n as f64;
            // Within 5 standard errors of the mean (the variance is λ).
            assert!((mean - lambda).abs() <= 5.0 * (lambda / n as f64).sqrt() + 1e-9, "λ {lambda}: mean {mean}");
        }
    }

    #[test]
    fn sampling_fractions_follow_spark() {
        // Without replacement: above num/total, at most 1.
        let f = fraction_for_sample_size(10, 1000, false);
        assert!(f > 0.01 && f < 0.05, "{f}");
        assert_eq!(fraction_for_sample_size(999, 1000, false), 1.0);
        // With replacement: (s + 12·sqrt(s)) / total for small s.
        let f = fraction_for_sample_size(4, 100, true);
        assert!((f - (4.0 + 24.0) / 100.0).abs() < 1e-12, "{f}");
    }
}

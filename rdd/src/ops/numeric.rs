//! Actions on numeric RDDs (`T: ToF64`): sum, mean, variance, stdev, stats
//! (Spark's DoubleRDDFunctions and StatCounter); histograms are in
//! `ops::histogram`.
//!
//! Every statistic is read off one [`StatCounter`] built in one pass, so
//! `rdd.mean()` is exactly `rdd.stats()?.mean`, as in Spark. For an RDD with no
//! records that is `0.0` (Spark's StatCounter starts its mean at 0 and
//! `DoubleRDDFunctions.mean` returns `stats().mean`), while the variances and
//! standard deviations are NaN, min is +infinity and max -infinity. Spark's
//! `stats()` of an RDD with *no partitions* (`emptyRDD`) throws "empty
//! collection" (it reduces one counter per partition); Ember gives the empty
//! counter there too, as for an RDD whose partitions are all empty.

use crate::Data;
use crate::call_site::OperationScope;
use crate::data::ToF64;
use crate::job_future::run_blocking;
use crate::rdd::Rdd;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// Count, mean, variance, min and max, mergeable across partitions
/// (Welford's online algorithm with Chan et al.'s merge, as Spark's StatCounter).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatCounter {
    pub count: u64,
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    m2: f64,
    pub min: f64,
    pub max: f64,
}

impl Default for StatCounter {
    fn default() -> Self {
        StatCounter { count: 0, mean: 0.0, m2: 0.0, min: f64::INFINITY, max: f64::NEG_INFINITY }
    }
}

impl StatCounter {
    pub fn push(mut self, x: f64) -> Self {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self
    }
    pub fn merge(self, other: StatCounter) -> Self {
        if other.count == 0 {
            return self;
        }
        if self.count == 0 {
            return other;
        }
        let count = self.count + other.count;
        let delta = other.mean - self.mean;
        StatCounter {
            count,
            mean: self.mean + delta * other.count as f64 / count as f64,
            m2: self.m2 + other.m2 + delta * delta * self.count as f64 * other.count as f64 / count as f64,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }
    pub fn sum(&self) -> f64 {
        self.mean * self.count as f64
    }
    /// Population variance (divides by n); NaN when empty.
    pub fn variance(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.m2 / self.count as f64 }
    }
    /// Sample variance (divides by n - 1); NaN for fewer than 2 values.
    pub fn sample_variance(&self) -> f64 {
        if self.count <= 1 { f64::NAN } else { self.m2 / (self.count - 1) as f64 }
    }
    /// Population standard deviation; NaN when empty.
    pub fn stdev(&self) -> f64 {
        self.variance().sqrt()
    }
    /// Sample standard deviation (from the n - 1 variance); NaN for fewer
    /// than 2 values.
    pub fn sample_stdev(&self) -> f64 {
        self.sample_variance().sqrt()
    }
}

impl<T: Data + ToF64> Rdd<T> {
    /// Count, mean, variance, min and max in one pass.
    #[track_caller]
    pub fn stats(&self) -> crate::Result<StatCounter> {
        let _op = OperationScope::enter("stats");
        run_blocking!(self.stats_async())
    }
    #[track_caller]
    pub fn stats_async(&self) -> crate::JobFuture<StatCounter> {
        let _op = OperationScope::enter("stats");
        self.aggregate_async(StatCounter::default(), |s, x| s.push(x.to_f64()), StatCounter::merge)
    }
    /// `stats()` read by `f`, as a future.
    #[track_caller]
    fn stat_async(&self, f: fn(&StatCounter) -> f64) -> BoxFuture<'static, crate::Result<f64>> {
        let job = self.stats_async();
        Box::pin(async move { Ok(f(&job.await?)) })
    }
    /// The mean: `stats()?.mean`, so `0.0` when the RDD has no records (as
    /// Spark's `mean()`; see the module docs).
    #[track_caller]
    pub fn mean(&self) -> crate::Result<f64> {
        let _op = OperationScope::enter("mean");
        run_blocking!(self.mean_async())
    }
    #[track_caller]
    pub fn mean_async(&self) -> BoxFuture<'static, crate::Result<f64>> {
        let _op = OperationScope::enter("mean");
        self.stat_async(|s| s.mean)
    }
    /// The population variance (divides by n); NaN when empty.
    #[track_caller]
    pub fn variance(&self) -> crate::Result<f64> {
        let _op = OperationScope::enter("variance");
        run_blocking!(self.variance_async())
    }
    #[track_caller]
    pub fn variance_async(&self) -> BoxFuture<'static, crate::Result<f64>> {
        let _op = OperationScope::enter("variance");
        self.stat_async(StatCounter::variance)
    }
    /// The population standard deviation; NaN when empty.
    #[track_caller]
    pub fn stdev(&self) -> crate::Result<f64> {
        let _op = OperationScope::enter("stdev");
        run_blocking!(self.stdev_async())
    }
    #[track_caller]
    pub fn stdev_async(&self) -> BoxFuture<'static, crate::Result<f64>> {
        let _op = OperationScope::enter("stdev");
        self.stat_async(StatCounter::stdev)
    }
    /// The sample variance (divides by n - 1); NaN for fewer than 2 records.
    #[track_caller]
    pub fn sample_variance(&self) -> crate::Result<f64> {
        let _op = OperationScope::enter("sample_variance");
        run_blocking!(self.sample_variance_async())
    }
    #[track_caller]
    pub fn sample_variance_async(&self) -> BoxFuture<'static, crate::Result<f64>> {
        let _op = OperationScope::enter("sample_variance");
        self.stat_async(StatCounter::sample_variance)
    }
    /// The sample standard deviation; NaN for fewer than 2 records.
    #[track_caller]
    pub fn sample_stdev(&self) -> crate::Result<f64> {
        let _op = OperationScope::enter("sample_stdev");
        run_blocking!(self.sample_stdev_async())
    }
    #[track_caller]
    pub fn sample_stdev_async(&self) -> BoxFuture<'static, crate::Result<f64>> {
        let _op = OperationScope::enter("sample_stdev");
        self.stat_async(StatCounter::sample_stdev)
    }
}

impl<T: Data + Default + std::ops::Add<Output = T>> Rdd<T> {
    /// The sum of the records (0 when empty).
    #[track_caller]
    pub fn sum(&self) -> crate::Result<T> {
        let _op = OperationScope::enter("sum");
        self.fold(T::default(), |a, b| a + b)
    }
    #[track_caller]
    pub fn sum_async(&self) -> crate::JobFuture<T> {
        let _op = OperationScope::enter("sum");
        self.fold_async(T::default(), |a, b| a + b)
    }
}

//! Histograms of numeric RDDs, with the rules of Spark's
//! `DoubleRDDFunctions.histogram`.
//!
//! A histogram counts records into buckets given by `n + 1` increasing edges:
//! bucket `i` holds `edges[i] <= x < edges[i + 1]`, except the last, which is
//! closed on both sides (`edges[n-1] <= x <= edges[n]`). Records outside the
//! edges, and NaN, are in no bucket and not counted.
//!
//! - [`Rdd::histogram`]`(n)` first finds the min and max (one job), then cuts
//!   `[min, max]` into `n` evenly spaced buckets, edge `i` being
//!   `min + i * (max - min) / n` and the last edge `max` itself (Spark's
//!   `customRange`). When min == max it makes one bucket `[min, min]` whatever
//!   `n` is. It refuses `n == 0`, an RDD with no records, and one holding NaN
//!   or an infinity (no evenly spaced buckets exist between such bounds), as
//!   Spark does ("Histogram on either an empty RDD or RDD containing
//!   +/-infinity or NaN"), each with its own [`HistogramError`]. Counting then
//!   uses Spark's `evenBuckets` fast path: the bucket of `x` is
//!   `min(floor((x - min) / (max - min) * n), n - 1)`, computed, not searched,
//!   so a record lying on a computed edge may fall on either side of it by a
//!   rounding, exactly as in Spark.
//! - [`Rdd::histogram_by_edges`]`(edges)` counts into the given edges by
//!   binary search (Spark's `histogram(buckets)` without the fast path). The
//!   edges must be at least two, not NaN, and strictly increasing (Spark's
//!   documented contract, checked here and refused with a typed error);
//!   infinite edges are allowed. An empty RDD gives all-zero counts. Edges are
//!   compared as Java's `Arrays.binarySearch` compares doubles (a total order,
//!   [`f64::total_cmp`]), so `-0.0` lies below an edge `0.0`, as in Spark.

use crate::call_site::OperationScope;
use crate::data::ToF64;
use crate::error::{HistogramError, Result};
use crate::job_future::run_blocking;
use crate::rdd::Rdd;
use crate::{Data, EmberError};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// How a record finds its bucket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Buckets {
    /// `count` evenly spaced buckets from `min` to `max` (Spark's fast path).
    Even { min: f64, max: f64, count: usize },
    /// Buckets between sorted edges, found by binary search.
    Edges(Vec<f64>),
}

impl Buckets {
    /// How many buckets there are.
    pub fn len(&self) -> usize {
        match self {
            Buckets::Even { count, .. } => *count,
            Buckets::Edges(edges) => edges.len().saturating_sub(1),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The bucket of `x`, or `None` when `x` is NaN or outside the edges.
    pub fn bucket_of(&self, x: f64) -> Option<usize> {
        match self {
            Buckets::Even { min, max, count } => even_bucket(x, *min, *max, *count),
            Buckets::Edges(edges) => edge_bucket(x, edges),
        }
    }
}

/// Spark's `evenBuckets` bucket function: `x`'s share of the way from `min`
/// to `max`, times `count`, truncated; `x == max` goes to the last bucket.
/// With `min == max` the share is NaN, which truncates to bucket 0 (Scala's
/// and Rust's `NaN as int` are both 0).
pub fn even_bucket(x: f64, min: f64, max: f64, count: usize) -> Option<usize> {
    if x.is_nan() || x < min || x > max || count == 0 {
        return None;
    }
    let bucket = ((x - min) / (max - min) * count as f64) as usize;
    Some(bucket.min(count - 1))
}

/// The bucket of `x` among sorted `edges` by binary search, as Spark's
/// `basicBucketFunction`: an exact match of an edge opens its bucket, except
/// the last edge, which closes the last bucket.
pub fn edge_bucket(x: f64, edges: &[f64]) -> Option<usize> {
    if x.is_nan() || edges.len() < 2 {
        return None;
    }
    match edges.binary_search_by(|e| e.total_cmp(&x)) {
        Ok(i) if i < edges.len() - 1 => Some(i),
        Ok(i) => Some(i - 1),
        Err(insert_at) if insert_at > 0 && insert_at < edges.len() => Some(insert_at - 1),
        Err(_) => None,
    }
}

/// The edges of `count` evenly spaced buckets from `min` to `max` (Spark's
/// `customRange`: `min + i * (max - min) / count`, then `max` itself), or
/// `[min, min]` when `min == max`.
pub fn even_edges(min: f64, max: f64, count: usize) -> Vec<f64> {
    if min == max {
        return vec![min, min];
    }
    let span = max - min;
    let mut edges: Vec<f64> = (0..count).map(|i| min + (i as f64 * span) / count as f64).collect();
    edges.push(max);
    edges
}

/// Checks edges given by a caller: at least two, no NaN, strictly increasing.
pub fn check_edges(edges: &[f64]) -> std::result::Result<(), HistogramError> {
    if edges.len() < 2 {
        return Err(HistogramError::TooFewEdges { count: edges.len() });
    }
    if let Some(index) = edges.iter().position(|e| e.is_nan()) {
        return Err(HistogramError::NanEdge { index });
    }
    match edges.windows(2).position(|w| w[0].total_cmp(&w[1]).is_ge()) {
        Some(i) => Err(HistogramError::UnsortedEdges { index: i + 1, edge: edges[i + 1], previous: edges[i] }),
        None => Ok(()),
    }
}

/// The smallest and largest of `a` and `b`, where NaN wins (as Scala's
/// `math.min` / `math.max` in Spark's histogram), so a NaN record shows.
fn min_max_nan(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    let pick = |x: f64, y: f64, smaller: bool| {
        if x.is_nan() || y.is_nan() {
            f64::NAN
        } else if (x < y) == smaller {
            x
        } else {
            y
        }
    };
    (pick(a.0, b.0, true), pick(a.1, b.1, false))
}

/// Adds the counts of `b` into `a`.
fn add_counts(mut a: Vec<u64>, b: Vec<u64>) -> Vec<u64> {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    a
}

impl<T: Data + ToF64> Rdd<T> {
    /// `bucket_count` evenly spaced buckets between the min and the max, and
    /// how many records fall in each: `(edges, counts)`, `edges` being one
    /// longer than `counts`. Spark's rules (see the module docs): one bucket
    /// when min == max; refused for `bucket_count == 0`, an RDD with no
    /// records, or one containing NaN or an infinity. Runs two jobs.
    #[track_caller]
    pub fn histogram(&self, bucket_count: usize) -> Result<(Vec<f64>, Vec<u64>)> {
        let _op = OperationScope::enter("histogram");
        run_blocking!(self.histogram_async(bucket_count))
    }
    #[track_caller]
    pub fn histogram_async(&self, bucket_count: usize) -> BoxFuture<'static, Result<(Vec<f64>, Vec<u64>)>> {
        let _op = OperationScope::enter("histogram");
        if bucket_count == 0 {
            return Box::pin(async move { Err(HistogramError::NoBuckets { bucket_count }.into()) });
        }
        let call_site = crate::call_site::CallSite::caller();
        let rdd = self.clone();
        let min_max = self.aggregate_async(
            (f64::INFINITY, f64::NEG_INFINITY),
            |acc, x| min_max_nan(acc, (x.to_f64(), x.to_f64())),
            min_max_nan,
        );
        Box::pin(async move {
            let (min, max) = min_max.await?;
            if min > max {
                return Err(HistogramError::Empty.into());
            }
            if !min.is_finite() || !max.is_finite() {
                return Err(HistogramError::NotFinite { min, max }.into());
            }
            let edges = even_edges(min, max, bucket_count);
            let buckets = Buckets::Even { min, max, count: edges.len() - 1 };
            let counts = rdd.count_into_async(call_site, buckets).await?;
            Ok((edges, counts))
        })
    }

    /// How many records fall in each bucket between `edges` (sorted, at least
    /// two, no NaN): bucket `i` is `[edges[i], edges[i+1])`, the last one
    /// closed. Records outside the edges, and NaN, are not counted. Spark's
    /// `histogram(buckets)`; see the module docs.
    #[track_caller]
    pub fn histogram_by_edges(&self, edges: Vec<f64>) -> Result<Vec<u64>> {
        let _op = OperationScope::enter("histogram_by_edges");
        run_blocking!(self.histogram_by_edges_async(edges))
    }
    #[track_caller]
    pub fn histogram_by_edges_async(&self, edges: Vec<f64>) -> BoxFuture<'static, Result<Vec<u64>>> {
        let _op = OperationScope::enter("histogram_by_edges");
        if let Err(e) = check_edges(&edges) {
            return Box::pin(async move { Err(EmberError::from(e)) });
        }
        self.count_into_async(crate::call_site::CallSite::caller(), Buckets::Edges(edges))
    }

    /// Counts the records into `buckets`, one job.
    fn count_into_async(
        &self,
        call_site: crate::call_site::CallSite,
        buckets: Buckets,
    ) -> BoxFuture<'static, Result<Vec<u64>>> {
        let n = buckets.len();
        let count_partition = |b: &Buckets, _: usize, it: crate::task::BoxIter<T>| {
            let mut counts = vec![0u64; b.len()];
            for x in it {
                if let Some(i) = b.bucket_of(x.to_f64()) {
                    counts[i] += 1;
                }
            }
            counts
        };
        let job = self.run_job_at(
            call_site,
            crate::func::With::new(buckets, count_partition),
            (0..self.num_partitions()).collect(),
        );
        Box::pin(async move { Ok(job.await?.into_iter().fold(vec![0u64; n], add_counts)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_edges_follow_sparks_custom_range() {
        assert_eq!(even_edges(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(even_edges(-1.0, 1.0, 1), vec![-1.0, 1.0]);
        // min == max: one bucket, whatever was asked.
        assert_eq!(even_edges(3.0, 3.0, 7), vec![3.0, 3.0]);
        // The last edge is max itself, not min + n * span / n.
        let e = even_edges(0.1, 0.7, 3);
        assert_eq!(e.len(), 4);
        assert_eq!(*e.last().unwrap(), 0.7);
    }

    #[test]
    fn even_buckets_close_the_last_and_skip_outsiders_and_nan() {
        let b = Buckets::Even { min: 0.0, max: 10.0, count: 5 };
        assert_eq!(b.bucket_of(0.0), Some(0));
        assert_eq!(b.bucket_of(1.999), Some(0));
        assert_eq!(b.bucket_of(2.0), Some(1));
        assert_eq!(b.bucket_of(9.99), Some(4));
        assert_eq!(b.bucket_of(10.0), Some(4));
        assert_eq!(b.bucket_of(10.000001), None);
        assert_eq!(b.bucket_of(-0.1), None);
        assert_eq!(b.bucket_of(f64::NAN), None);
        assert_eq!(b.bucket_of(f64::INFINITY), None);
        // One bucket [3, 3]: the share is 0/0 = NaN, which truncates to 0.
        let one = Buckets::Even { min: 3.0, max: 3.0, count: 1 };
        assert_eq!(one.bucket_of(3.0), Some(0));
        assert_eq!(one.bucket_of(3.5), None);
    }

    #[test]
    fn edge_buckets_are_left_closed_except_the_last() {
        let b = Buckets::Edges(vec![1.0, 10.0, 20.0, 50.0]);
        assert_eq!(b.len(), 3);
        let at = |x| b.bucket_of(x);
        assert_eq!((at(0.99), at(1.0), at(5.0), at(10.0)), (None, Some(0), Some(0), Some(1)));
        assert_eq!((at(19.9), at(20.0), at(50.0), at(50.1)), (Some(1), Some(2), Some(2), None));
        assert_eq!((at(f64::NAN), at(f64::NEG_INFINITY)), (None, None));
        // Infinite edges catch everything on their side.
        let open = Buckets::Edges(vec![f64::NEG_INFINITY, 0.0, f64::INFINITY]);
        assert_eq!((open.bucket_of(-1e308), open.bucket_of(f64::INFINITY)), (Some(0), Some(1)));
        // Java's binarySearch orders -0.0 below 0.0; so does total_cmp.
        assert_eq!(Buckets::Edges(vec![0.0, 1.0]).bucket_of(-0.0), None);
    }

    #[test]
    fn edges_are_checked() {
        assert_eq!(check_edges(&[]), Err(HistogramError::TooFewEdges { count: 0 }));
        assert_eq!(check_edges(&[1.0]), Err(HistogramError::TooFewEdges { count: 1 }));
        assert_eq!(check_edges(&[0.0, f64::NAN, 2.0]), Err(HistogramError::NanEdge { index: 1 }));
        assert_eq!(
            check_edges(&[0.0, 2.0, 1.0]),
            Err(HistogramError::UnsortedEdges { index: 2, edge: 1.0, previous: 2.0 })
        );
        assert!(matches!(check_edges(&[0.0, 1.0, 1.0]), Err(HistogramError::UnsortedEdges { index: 2, .. })));
        assert_eq!(check_edges(&[f64::NEG_INFINITY, 0.0, f64::INFINITY]), Ok(()));
        let message = HistogramError::UnsortedEdges { index: 2, edge: 1.0, previous: 2.0 }.to_string();
        assert!(message.contains("edge 2 (1) is not above edge 1 (2)"), "{message}");
    }

    #[test]
    fn min_and_max_let_nan_through() {
        assert_eq!(min_max_nan((1.0, 1.0), (0.0, 3.0)), (0.0, 3.0));
        let (lo, hi) = min_max_nan((1.0, 1.0), (f64::NAN, f64::NAN));
        assert!(lo.is_nan() && hi.is_nan());
    }
}

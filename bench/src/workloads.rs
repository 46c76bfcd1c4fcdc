//! Workloads that both measure and torture the engine: an iterative
//! k-means-like job over a cached RDD, and a shuffle-heavy job. Both are
//! deterministic, so a run with failures must give bit-identical results.

use ember::prelude::*;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// Points in `dims` dimensions, one block (`Vec<f64>`, row-major) per
/// partition, generated from the partition index alone.
pub fn points(ctx: &Context, rows: usize, dims: usize, partitions: usize) -> Result<Rdd<Vec<f64>>> {
    let per = rows.div_ceil(partitions.max(1));
    Ok(ctx.range(0, partitions as i64, 1, partitions)?.map_with((per, dims), |&(per, dims), p| {
        let mut rng = SmallRng::seed_from_u64(0xC0FFEE ^ p as u64);
        (0..per * dims).map(|_| rng.random::<f64>() * 10.0).collect::<Vec<f64>>()
    }))
}

/// One k-means-like iteration: assign every point to its nearest center and
/// return the new centers (sums / counts), reduced at the driver.
pub fn iteration(points: &Rdd<Vec<f64>>, centers: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    let k = centers.len();
    let dims = centers[0].len();
    let partials = points.map_with(centers.to_vec(), move |centers, block| {
        let dims = centers[0].len();
        let mut sums = vec![0.0; centers.len() * (dims + 1)];
        for p in block.chunks_exact(dims) {
            let mut best = (0, f64::INFINITY);
            for (j, c) in centers.iter().enumerate() {
                let d: f64 = c.iter().zip(p).map(|(a, b)| (a - b) * (a - b)).sum();
                if d < best.1 {
                    best = (j, d);
                }
            }
            let row = &mut sums[best.0 * (dims + 1)..(best.0 + 1) * (dims + 1)];
            row.iter_mut().zip(p).for_each(|(s, x)| *s += x);
            row[dims] += 1.0;
        }
        sums
    });
    let sums = partials.reduce(|mut a, b| {
        a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
        a
    })?;
    let sums = sums.unwrap_or_else(|| vec![0.0; k * (dims + 1)]);
    Ok((0..k)
        .map(|j| {
            let row = &sums[j * (dims + 1)..(j + 1) * (dims + 1)];
            let n = row[dims].max(1.0);
            row[..dims].iter().map(|s| s / n).collect()
        })
        .collect())
}

/// Initial centers: the first `k` points of the first block.
pub fn initial_centers(points: &Rdd<Vec<f64>>, k: usize, dims: usize) -> Result<Vec<Vec<f64>>> {
    let first = points.first()?;
    Ok(first.chunks_exact(dims).take(k).map(<[f64]>::to_vec).collect())
}

/// A shuffle-heavy job: word-like keys counted, joined with a table and
/// sorted; returns the sorted records.
pub fn shuffle_job(ctx: &Context, records: u64, partitions: usize) -> Result<Vec<(u64, (u64, u64))>> {
    let pairs = ctx
        .range(0, records as i64, 1, partitions)?
        .map(|i| ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % 997, i as u64));
    let counts = pairs.reduce_by_key(|a, b| a.wrapping_add(b));
    let table = ctx.range(0, 997, 1, partitions)?.map(|k| (k as u64, (k as u64) * 3));
    let joined = counts.join(&table);
    joined.sort_by_key(true, partitions)?.collect()
}

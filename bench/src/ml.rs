//! The numerical workloads of `ember-ml` on `local-cluster[2]`, each beside a
//! plain single-process loop over one in-memory array and the hardware floor.

use crate::floor::Floor;
use ember::prelude::*;
use ember_bench::report::Row;
use ember_ml::Block;
use ember_ml::{data, kmeans};
use std::time::Instant;

/// The median of `runs` timings of `f`, in seconds.
pub fn median_secs<T>(runs: usize, mut f: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<f64> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        std::hint::black_box(f()?);
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    Ok(times[runs / 2])
}

/// One row comparing Ember, the plain loop and the floor.
pub fn row(workload: String, master: &str, ember: f64, plain: f64, floor: f64, target: &str) -> Row {
    Row {
        workload,
        master: master.into(),
        result: format!("{:.1} ms: {:.2}× floor, {:.2}× plain", ember * 1e3, ember / floor, ember / plain),
        reference: format!("plain loop {:.1} ms, floor {:.1} ms", plain * 1e3, floor * 1e3),
        target: target.into(),
    }
}

/// All blocks of an RDD stacked into one block (the plain loop's input).
pub fn stacked(rdd: &Rdd<Block>) -> anyhow::Result<Block> {
    let blocks = rdd.collect()?;
    let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
    Ok(ndarray::concatenate(ndarray::Axis(0), &views)?.into_shared())
}

pub fn lloyd(ctx: &Context, floor: &Floor, rows: usize, cols: usize, k: usize) -> anyhow::Result<Row> {
    let master = ctx.conf().get("ember.master").unwrap_or("?").to_string();
    let (points, _) = data::blobs(ctx, rows, cols, k, 1, 4)?;
    let points = points.cache();
    points.count()?;
    let centers = kmeans::kmeans_plus_plus(&points, k, 1)?;
    let ember = median_secs(5, || Ok(kmeans::lloyd_step(&points, &centers)?))?;
    let all = stacked(&points)?;
    let plain = median_secs(5, || Ok(kmeans::lloyd_partial(&all, &centers)))?;
    let bytes = (rows * cols * 8) as f64;
    let flops = 2.0 * (rows * cols * k) as f64;
    Ok(row(
        format!("one Lloyd iteration, {rows}×{cols}, k={k}, cached"),
        &master,
        ember,
        plain,
        floor.seconds(bytes, flops),
        "≤ 3× floor, ≤ 1.3× plain",
    ))
}

pub fn logreg_gradient(ctx: &Context, floor: &Floor, rows: usize, cols: usize) -> anyhow::Result<Row> {
    use ember_ml::LabeledBlock;
    use ember_ml::logreg::{self, kernel};
    let master = ctx.conf().get("ember.master").unwrap_or("?").to_string();
    let (data, _, _) = logreg::generate(ctx, rows, cols, 1, 4)?;
    data.count()?;
    let params = vec![0.01; cols + 1];
    let ember = median_secs(5, || Ok(kernel::sums(&data, &params, false, 2)?))?;
    let blocks = data.collect()?;
    let xs: Vec<_> = blocks.iter().map(|b| b.x.view()).collect();
    let ys: Vec<_> = blocks.iter().map(|b| b.y.view()).collect();
    let whole = LabeledBlock {
        x: ndarray::concatenate(ndarray::Axis(0), &xs)?.into_shared(),
        y: ndarray::concatenate(ndarray::Axis(0), &ys)?.into_shared(),
    };
    drop(blocks);
    let plain = median_secs(5, || {
        let mut sums = kernel::Sums::zero(cols + 1);
        kernel::add_block(&params, &whole, false, &mut sums);
        Ok(sums)
    })?;
    let bytes = (rows * (cols + 1) * 8) as f64;
    let flops = 4.0 * (rows * cols) as f64;
    Ok(row(
        format!("logistic regression gradient iteration, {rows}×{cols}, cached"),
        &master,
        ember,
        plain,
        floor.seconds(bytes, flops),
        "≤ 3× floor, ≤ 1.3× plain",
    ))
}

fn plain_gram(a: &Block) -> faer::Mat<f64> {
    let n = a.ncols();
    let mut g = faer::Mat::<f64>::zeros(n, n);
    let x = ember_ml::block::as_faer(a);
    faer::linalg::matmul::matmul(g.as_mut(), faer::Accum::Replace, x.transpose(), x, 1.0, faer::Par::Seq);
    g
}

pub fn qr(ctx: &Context, floor: &Floor, rows: usize, cols: usize) -> anyhow::Result<Vec<Row>> {
    use ember_ml::qr;
    let master = ctx.conf().get("ember.master").unwrap_or("?").to_string();
    let a = qr::generate_matrix(ctx, rows, cols, 10.0, 1, 4)?.cache();
    a.count()?;
    let all = stacked(&a)?;
    let bytes = (rows * cols * 8) as f64;
    let (m, n) = (rows as f64, cols as f64);

    let tsqr = median_secs(3, || Ok(qr::tsqr_r(&a)?))?;
    let plain_qr = median_secs(3, || Ok(ember_ml::block::as_faer(&all).qr().R().to_owned()))?;
    let chol = median_secs(3, || Ok(qr::cholesky_r(&a)?))?;
    let plain_chol = median_secs(3, || {
        let g = plain_gram(&all);
        g.as_ref().llt(faer::Side::Lower).map(|l| l.L().to_owned()).map_err(|e| anyhow::anyhow!("{e:?}"))
    })?;
    Ok(vec![
        row(
            format!("TSQR (R), {rows}×{cols}, cached"),
            &master,
            tsqr,
            plain_qr,
            floor.seconds(bytes, 2.0 * m * n * n - 2.0 * n * n * n / 3.0),
            "≤ 5× floor, ≤ 1.3× plain (faer QR)",
        ),
        row(
            format!("Cholesky QR (R from one AᵀA pass), {rows}×{cols}, cached"),
            &master,
            chol,
            plain_chol,
            floor.seconds(bytes, m * n * n),
            "≤ 2.5× floor, ≤ 1.3× plain (faer AᵀA + Cholesky)",
        ),
    ])
}

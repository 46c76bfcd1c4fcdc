//! Tall-and-skinny QR on generated matrices of condition number 1 to 1e15,
//! the accuracy each method is known for (Benson, Gleich & Demmel 2013,
//! tables 3–4), in `local-cluster[2]`; and the same bits in `local[1]`.
//!
//! Bounds. A backward-stable Householder factorization leaves each entry of
//! `QᵀQ − I` and of `(A − QR)/‖A‖` at a few ε; the Frobenius norm over
//! `n²` such entries (n columns of errors of norm ~ ε·√n each) is then a small
//! multiple of `n·ε`. The tests allow `10·n·ε` (2.2e-14 for n = 10, 1.1e-13 for
//! n = 50); measured values are 5–20 times below it, for every κ.

use ember::prelude::*;
use ember_ml::qr::{self, Method};
use ember_ml::{Block, MlError};
use ndarray::{Array1, Array2};
use std::sync::OnceLock;

const EPS: f64 = f64::EPSILON;
const KAPPAS: [f64; 5] = [1.0, 1e3, 1e7, 1e11, 1e15];

/// A generated test matrix: many blocks per partition and a short last one;
/// blocks of fewer rows than columns (R factors that are trapezoids); blocks
/// taller than a cache chunk, with more columns than a reflector block (the
/// blocked structured kernels).
#[derive(Clone, Copy, Debug)]
struct Shape {
    rows: usize,
    cols: usize,
    partitions: usize,
    block_rows: usize,
}

const SHAPES: [Shape; 3] = [
    Shape { rows: 2000, cols: 10, partitions: 4, block_rows: 128 },
    Shape { rows: 500, cols: 50, partitions: 3, block_rows: 37 },
    Shape { rows: 3000, cols: 40, partitions: 2, block_rows: 1000 },
];
const TALL: Shape = SHAPES[0];

fn local() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| Context::new(Conf::new().master("local[1]").app_name("qr-test")).expect("local context"))
}

fn cluster() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| {
        Context::new(Conf::new().master("local-cluster[2]").app_name("qr-test")).expect("local-cluster context")
    })
}

fn matrix(ctx: &Context, s: Shape, cond: f64) -> Rdd<Block> {
    qr::generate_matrix_in_blocks(ctx, s.rows, s.cols, cond, 11, s.partitions, s.block_rows).unwrap().cache()
}

/// The accuracy bound of the stable methods: `10·n·ε`.
fn bound(n: usize) -> f64 {
    10.0 * n as f64 * EPS
}

/// Block shapes, partition by partition.
fn layout(a: &Rdd<Block>) -> Vec<Vec<(usize, usize)>> {
    a.map_partitions(|it| std::iter::once(it.map(|b: Block| b.dim()).collect::<Vec<_>>())).collect().unwrap()
}

fn rank_deficient(err: MlError, hint: &str) -> bool {
    matches!(&err, MlError::RankDeficient(m) if m.contains(hint))
}

#[test]
fn tsqr_and_direct_tsqr_are_stable_for_every_condition_number() {
    for s in SHAPES {
        for cond in KAPPAS {
            let a = matrix(cluster(), s, cond);
            let (q, r) = qr::direct_tsqr(&a).unwrap();
            let (orth, res) = (qr::orthogonality(&q).unwrap(), qr::residual(&a, &q, &r).unwrap());
            assert!(orth <= bound(s.cols), "{s:?} κ={cond:e}: direct TSQR ‖QᵀQ−I‖ = {orth:e}");
            assert!(res <= bound(s.cols), "{s:?} κ={cond:e}: direct TSQR residual {res:e}");
            assert_eq!(
                layout(&q),
                layout(&a).iter().map(|p| p.iter().map(|&(m, _)| (m, s.cols)).collect()).collect::<Vec<Vec<_>>>()
            );
            assert!(r.diag().iter().all(|&d| d >= 0.0));

            let r_tsqr = qr::tsqr_r(&a).unwrap();
            let gram_res = qr::gram_residual(&a, &r_tsqr).unwrap();
            assert!(gram_res <= bound(s.cols), "{s:?} κ={cond:e}: TSQR ‖RᵀR−AᵀA‖/‖AᵀA‖ = {gram_res:e}");
            let same = frobenius(&(r_tsqr.t().dot(&r_tsqr) - r.t().dot(&r))) / frobenius(&r.t().dot(&r));
            assert!(same <= bound(s.cols), "{s:?} κ={cond:e}: TSQR and direct TSQR disagree by {same:e}");
            q.unpersist();
            a.unpersist();
        }
    }
}

#[test]
fn cholesky_qr2_is_orthogonal_up_to_kappa_1e7() {
    for s in SHAPES {
        for cond in [1.0, 1e3, 1e7] {
            let a = matrix(cluster(), s, cond);
            let (q, r) = qr::cholesky_qr2(&a).unwrap();
            let (orth, res) = (qr::orthogonality(&q).unwrap(), qr::residual(&a, &q, &r).unwrap());
            assert!(orth <= bound(s.cols), "{s:?} κ={cond:e}: Cholesky QR2 ‖QᵀQ−I‖ = {orth:e}");
            assert!(res <= bound(s.cols), "{s:?} κ={cond:e}: Cholesky QR2 residual {res:e}");
            a.unpersist();
        }
    }
}

#[test]
fn cholesky_qr_loses_orthogonality_as_kappa_squared() {
    for s in SHAPES {
        let a = matrix(cluster(), s, 10.0);
        let (q, r) = qr::cholesky_qr(&a).unwrap();
        let orth = qr::orthogonality(&q).unwrap();
        assert!(orth <= bound(s.cols), "{s:?} κ=10: Cholesky QR ‖QᵀQ−I‖ = {orth:e}");
        assert!(qr::residual(&a, &q, &r).unwrap() <= bound(s.cols));
        for cond in [1e3, 1e5, 1e7] {
            let a = matrix(cluster(), s, cond);
            let (q, r) = qr::cholesky_qr(&a).unwrap();
            let orth = qr::orthogonality(&q).unwrap();
            // Measured: 0.02–0.1 × κ²ε. The band is wide, the slope is not.
            let c = orth / (cond * cond * EPS);
            assert!((1e-3..=10.0).contains(&c), "{s:?} κ={cond:e}: ‖QᵀQ−I‖ = {orth:e} = {c:e}·κ²ε");
            // The residual stays small: Q R = A R⁻¹ R.
            assert!(qr::residual(&a, &q, &r).unwrap() <= bound(s.cols));
            a.unpersist();
        }
        let a = matrix(cluster(), s, 1e7);
        let orth = qr::orthogonality(&qr::cholesky_qr(&a).unwrap().0).unwrap();
        assert!(orth >= 1e-6, "{s:?} κ=1e7: Cholesky QR is too good to be true: {orth:e}");
    }
}

#[test]
fn too_ill_conditioned_input_is_refused_by_cholesky_qr_not_turned_into_nan() {
    for s in SHAPES {
        for cond in [1e11, 1e15] {
            let a = matrix(cluster(), s, cond);
            for result in [qr::cholesky_qr(&a).map(|f| f.1), qr::cholesky_qr2(&a).map(|f| f.1), qr::cholesky_r(&a)] {
                let err = result.expect_err("Cholesky QR of an ill-conditioned matrix must fail");
                assert!(rank_deficient(err, "--method tsqr"), "{s:?} κ={cond:e}");
            }
            a.unpersist();
        }
    }
}

/// `TALL` with its fourth column replaced by its first.
fn duplicated_column(ctx: &Context) -> Rdd<Block> {
    matrix(ctx, TALL, 10.0)
        .map(|mut b: Block| {
            let first = b.column(0).to_owned();
            b.column_mut(3).assign(&first);
            b
        })
        .cache()
}

#[test]
fn rank_deficient_input_is_refused_where_r_is_inverted_and_factored_where_it_is_not() {
    let a = duplicated_column(cluster());
    assert!(rank_deficient(qr::cholesky_qr(&a).err().unwrap(), "Direct TSQR"));
    assert!(rank_deficient(qr::indirect_qr(&a, true).err().unwrap(), "direct-tsqr"));
    let b = a.map(|b: Block| b.column(0).to_owned().insert_axis(ndarray::Axis(1)).into_shared());
    assert!(rank_deficient(qr::least_squares(&a, &b).err().unwrap(), "not unique"));
    // Householder-based methods do not need R⁻¹: they still factor A.
    let (q, r) = qr::direct_tsqr(&a).unwrap();
    assert!(r[(3, 3)].abs() <= bound(TALL.cols) * r[(0, 0)], "R[3,3] = {:e}", r[(3, 3)]);
    assert!(qr::orthogonality(&q).unwrap() <= bound(TALL.cols));
    assert!(qr::residual(&a, &q, &r).unwrap() <= bound(TALL.cols));
}

#[test]
fn malformed_input_is_an_input_error() {
    let ctx = cluster();
    let nan = ctx.parallelize(vec![Block::from_elem((20, 3), f64::NAN)], 1);
    for result in [qr::tsqr_r(&nan), qr::cholesky_r(&nan), qr::direct_tsqr(&nan).map(|f| f.1)] {
        assert!(matches!(result, Err(MlError::InvalidInput(m)) if m.contains("NaN")));
    }
    let wide = ctx.parallelize(vec![Block::ones((2, 4)), Block::ones((1, 4))], 2);
    for result in [qr::tsqr_r(&wide), qr::direct_tsqr(&wide).map(|f| f.1)] {
        assert!(matches!(result, Err(MlError::InvalidInput(m)) if m.contains("3 rows and 4 columns")));
    }
    let mixed = ctx.parallelize(vec![Block::eye(4), Block::eye(3)], 2);
    for result in [qr::tsqr_r(&mixed), qr::cholesky_r(&mixed), qr::direct_tsqr(&mixed).map(|f| f.1)] {
        assert!(matches!(result, Err(MlError::InvalidInput(m)) if m.contains("different numbers of columns")));
    }
    let a = matrix(ctx, TALL, 10.0);
    let two_columns = a.map(|b: Block| Block::zeros((b.nrows(), 2)));
    assert!(matches!(qr::least_squares(&a, &two_columns), Err(MlError::InvalidInput(m)) if m.contains("one column")));
}

#[test]
fn indirect_qr_needs_its_refinement_step_when_ill_conditioned() {
    for s in SHAPES {
        for cond in [1.0, 1e3, 1e7, 1e11] {
            let a = matrix(cluster(), s, cond);
            let (q, r) = qr::indirect_qr(&a, false).unwrap();
            let orth = qr::orthogonality(&q).unwrap();
            // Q = A R⁻¹ inherits R's error amplified by κ: measured ≈ 0.3·κε.
            assert!(orth <= bound(s.cols) * cond, "{s:?} κ={cond:e}: indirect ‖QᵀQ−I‖ = {orth:e}");
            assert!(qr::residual(&a, &q, &r).unwrap() <= bound(s.cols));
            let (q, r) = qr::indirect_qr(&a, true).unwrap();
            let refined = qr::orthogonality(&q).unwrap();
            assert!(refined <= bound(s.cols), "{s:?} κ={cond:e}: refined ‖QᵀQ−I‖ = {refined:e}");
            assert!(qr::residual(&a, &q, &r).unwrap() <= bound(s.cols));
            a.unpersist();
        }
    }
}

#[test]
fn svd_recovers_the_generated_singular_values() {
    for s in SHAPES {
        for cond in KAPPAS {
            let a = matrix(cluster(), s, cond);
            let d = qr::svd(&a).unwrap();
            let sigma = qr::singular_values(s.cols, cond);
            // Backward stable: each σ to within a few ε·σ₁ (σ₁ = 1), not relative.
            let err = d.s.iter().zip(&sigma).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
            assert!(err <= bound(s.cols), "{s:?} κ={cond:e}: singular values off by {err:e}");
            let tol = 2.0 * bound(s.cols); // faer's SVD of R adds its own few-ε·n error
            assert!(qr::orthogonality(&d.u).unwrap() <= tol);
            let v_orth = frobenius(&(d.v.t().dot(&d.v) - Array2::<f64>::eye(s.cols)));
            assert!(v_orth <= tol, "‖VᵀV − I‖ = {v_orth:e}");
            let sigma_vt = Array2::from_shape_fn((s.cols, s.cols), |(i, j)| d.s[i] * d.v[(j, i)]);
            assert!(qr::residual(&a, &d.u, &sigma_vt).unwrap() <= tol);
            d.u.unpersist();
            a.unpersist();
        }
    }
}

#[test]
fn least_squares_matches_a_dense_solve() {
    let a = matrix(cluster(), TALL, 1e3);
    let x_true = Array1::from_iter((0..TALL.cols).map(|i| i as f64 - 4.5));
    // b = A x + a deterministic perturbation of relative size ~1e-3.
    let b = a.map_with(x_true.clone(), |x, blk: Block| {
        let mut col = blk.dot(x);
        col.iter_mut().enumerate().for_each(|(i, v)| *v += 1e-3 * ((i * 37 % 17) as f64 - 8.0));
        col.insert_axis(ndarray::Axis(1)).into_shared()
    });
    let fit = qr::least_squares(&a, &b).unwrap();

    let dense_a = stack(&a.collect().unwrap());
    let dense_b = stack(&b.collect().unwrap());
    let fa = faer::MatRef::from_row_major_slice(dense_a.as_slice().unwrap(), dense_a.nrows(), dense_a.ncols());
    let fb = faer::Mat::from_fn(dense_b.nrows(), 1, |i, _| dense_b[(i, 0)]);
    let x_dense = faer::linalg::solvers::SolveLstsq::solve_lstsq(&fa.qr(), &fb);
    let x_dense = Array1::from_iter((0..TALL.cols).map(|i| x_dense[(i, 0)]));
    let diff = (&fit.x - &x_dense).iter().map(|d| d * d).sum::<f64>().sqrt();
    let norm = x_dense.iter().map(|d| d * d).sum::<f64>().sqrt();
    assert!(diff <= 1e-10 * norm, "x differs from the dense solve by {:e} (relative)", diff / norm);
    let residual = (dense_a.dot(&fit.x) - dense_b.column(0)).iter().map(|r| r * r).sum::<f64>().sqrt();
    assert!((fit.residual_norm - residual).abs() <= 1e-10 * residual, "{} vs {residual}", fit.residual_norm);
}

#[test]
fn local_cluster_gives_the_same_bits_as_local() {
    for method in Method::ALL {
        let cond = if matches!(method, Method::Cholesky | Method::Cholesky2) { 1e3 } else { 1e7 };
        let run = |ctx: &Context| {
            let a = matrix(ctx, SHAPES[2], cond);
            let f = qr::factor(&a, method).unwrap();
            let q = f.q.map(|q| q.collect().unwrap());
            (a.collect().unwrap(), q, f.r)
        };
        // Same partitioning, same blocks, same arithmetic in the same order
        // (reductions merge in partition order; shuffled partials are read in
        // map order): every bit agrees.
        assert!(run(local()) == run(cluster()), "{}: local[1] and local-cluster[2] differ", method.name());
    }
}

#[test]
fn tree_merges_across_many_partitions_keep_the_bits() {
    // 16 partitions: tree_aggregate merges on the executors (one shuffle
    // level) before the driver, so partial results cross processes.
    let run = |ctx: &Context| {
        let a = qr::generate_matrix_in_blocks(ctx, 1600, 8, 1e9, 3, 16, 40).unwrap().cache();
        (qr::tsqr_r(&a).unwrap(), qr::gram(&a).unwrap())
    };
    assert!(run(local()) == run(cluster()), "local[1] and local-cluster[2] differ");
}

#[test]
fn recomputed_matrices_and_factors_are_bit_identical() {
    let s = TALL;
    let a = qr::generate_matrix_in_blocks(cluster(), s.rows, s.cols, 1e7, 5, s.partitions, s.block_rows).unwrap();
    assert_eq!(a.collect().unwrap(), a.collect().unwrap());
    let (q1, r1) = qr::direct_tsqr(&a).unwrap();
    let (q2, r2) = qr::direct_tsqr(&a).unwrap();
    assert_eq!(r1, r2);
    assert_eq!(q1.collect().unwrap(), q2.collect().unwrap());
}

fn stack(blocks: &[Block]) -> Array2<f64> {
    let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
    ndarray::concatenate(ndarray::Axis(0), &views).unwrap()
}

fn frobenius(m: &Array2<f64>) -> f64 {
    m.iter().map(|x| x * x).sum::<f64>().sqrt()
}

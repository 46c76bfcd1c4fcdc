//! The numeric examples (kmeans, logreg, qr) as a user runs them: bad flags
//! and bad numbers in INPUT end with a non-zero exit and a message naming the
//! flag, or the file and line, before any task runs where the flags suffice.

use std::path::Path;
use std::process::{Command, Output};

const KMEANS: &str = env!("CARGO_BIN_EXE_kmeans");
const LOGREG: &str = env!("CARGO_BIN_EXE_logreg");
const QR: &str = env!("CARGO_BIN_EXE_qr");

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(["--master", "local[1]"]).args(args).output().expect("the example runs")
}

/// Runs `bin`, expects it to fail, and returns its stderr.
fn fails(bin: &str, args: &[&str]) -> String {
    let out = run(bin, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{bin} {args:?} succeeded; stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(1), "{bin} {args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{bin} {args:?} panicked: {stderr}");
    stderr
}

fn expect_error(bin: &str, args: &[&str], needles: &[&str]) {
    let stderr = fails(bin, args);
    for n in needles {
        assert!(stderr.contains(n), "{bin} {args:?}: {n:?} not in: {stderr}");
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn partitions_zero_is_refused_by_every_numeric_example() {
    for bin in [KMEANS, LOGREG, QR] {
        expect_error(bin, &["--partitions", "0", "--rows", "100", "--cols", "2"], &["--partitions must be at least 1"]);
    }
}

#[test]
fn rows_and_cols_zero_or_absurd_are_refused_naming_both_flags() {
    for bin in [KMEANS, LOGREG, QR] {
        expect_error(bin, &["--rows", "0"], &["--rows must be at least 1"]);
        expect_error(bin, &["--cols", "0"], &["--cols must be at least 1"]);
        // The product overflows usize (it used to panic inside a task).
        expect_error(
            bin,
            &["--rows", "18446744073709551615", "--cols", "4"],
            &["--rows 18446744073709551615", "--cols 4"],
        );
        // No overflow, but 10^14 values (800 TB) is a typo.
        expect_error(
            bin,
            &["--rows", "10000000000000", "--cols", "10"],
            &["--rows 10000000000000", "--cols 10", "2^40"],
        );
    }
}

#[test]
fn kmeans_refuses_more_clusters_than_rows_and_meaningless_counts() {
    expect_error(KMEANS, &["--k", "20", "--rows", "10", "--cols", "2"], &["--k 20", "--rows 10"]);
    expect_error(KMEANS, &["--k", "0", "--rows", "10"], &["--k must be at least 1"]);
    expect_error(KMEANS, &["--max-iterations", "0", "--rows", "10"], &["--max-iterations must be at least 1"]);
    expect_error(KMEANS, &["--tolerance", "NaN", "--rows", "10"], &["--tolerance must be a number"]);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("three.csv");
    std::fs::write(&csv, "1,2\n3,4\n5,6\n").unwrap();
    expect_error(KMEANS, &["--k", "5", path(&csv)], &["--k 5", "3 rows", "three.csv"]);
    // k = rows is fine: every point is a center, at cost 0.
    let out = run(KMEANS, &["--k", "3", path(&csv)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cost=0.000000"));
}

#[test]
fn logreg_and_qr_refuse_meaningless_parameters() {
    expect_error(LOGREG, &["--iterations", "0", "--rows", "100"], &["--iterations must be at least 1"]);
    expect_error(LOGREG, &["--step", "0", "--rows", "100"], &["--step must be finite and > 0"]);
    expect_error(LOGREG, &["--reg=-1", "--rows", "100"], &["--reg must be finite and ≥ 0"]);
    expect_error(QR, &["--cond", "0.5", "--rows", "100"], &["--cond must be finite and ≥ 1"]);
    expect_error(QR, &["--rows", "5", "--cols", "10"], &["--rows 5", "--cols 10"]);
}

#[test]
fn nan_and_infinity_in_input_fail_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("points.csv");
    std::fs::write(&csv, "1,2\n0,NaN\n1,3\n").unwrap();
    for bin in [KMEANS, LOGREG, QR] {
        let args: &[&str] = if bin == KMEANS { &["--k", "2", path(&csv)] } else { &[path(&csv)] };
        expect_error(bin, args, &["points.csv:2: 'NaN' is not a finite number"]);
    }
    let svm = dir.path().join("data.libsvm");
    std::fs::write(&svm, "1 1:0.5\n0 1:1\n1 1:inf\n").unwrap();
    expect_error(LOGREG, &[path(&svm)], &["data.libsvm:3: 'inf' is not a finite number"]);
    let raw = dir.path().join("m.f64");
    let values: Vec<u8> = [1.0, 2.0, 3.0, f64::NEG_INFINITY].iter().flat_map(|x: &f64| x.to_le_bytes()).collect();
    std::fs::write(&raw, values).unwrap();
    for bin in [KMEANS, LOGREG, QR] {
        let mut args = vec!["--rows", "2", "--cols", "2", path(&raw)];
        if bin == KMEANS {
            args.extend(["--k", "1"]);
        }
        expect_error(bin, &args, &["m.f64: row 2, column 2 (byte offset 24): -inf is not a finite number"]);
    }
}

const GEN_POINTS: &str = env!("CARGO_BIN_EXE_gen-points");

/// Runs `bin`, expects success, and returns its stdout.
fn succeeds(bin: &str, args: &[&str]) -> String {
    let out = run(bin, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{bin} {args:?} failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn gen_points_writes_parquet_that_kmeans_and_qr_read() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("points.parquet");
    let args = ["--rows", "3000", "--cols", "4", "--k", "3", "--partitions", "3", path(&out)];
    let line = succeeds(GEN_POINTS, &args);
    assert!(line.contains("rows=3000 cols=4 partitions=3"), "{line}");
    assert!(out.join("_SUCCESS").is_file() && out.join("part-00002.parquet").is_file());
    // The blobs are far apart: k-means finds them, at about one unit of
    // variance per dimension and point.
    let line = succeeds(KMEANS, &["--k", "3", path(&out)]);
    let cost: f64 = line.split_whitespace().find_map(|f| f.strip_prefix("cost=")).unwrap().parse().unwrap();
    assert!(cost > 0.0 && cost < 3000.0 * 4.0 * 2.0, "{line}");
    succeeds(QR, &[path(&out)]);
    expect_error(GEN_POINTS, &["--rows", "10", path(&dir.path().join("points.csv"))], &["must end in .parquet"]);
}

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Labeled {
    label: u8,
    x: f64,
    y: f32,
    name: String,
}

#[test]
fn logreg_reads_parquet_label_first_and_bad_columns_are_named() {
    use ember::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<Labeled> = (0..400)
        .map(|i| {
            let label = (i % 2) as u8;
            let x = if label == 1 { 1.0 + (i % 7) as f64 / 10.0 } else { -1.0 - (i % 5) as f64 / 10.0 };
            Labeled { label, x, y: (i % 3) as f32, name: format!("r{i}") }
        })
        .collect();
    let ctx = Context::new(Conf::new().master("local[1]")).unwrap();
    let with_text = dir.path().join("with-text.parquet");
    ctx.parallelize(rows.clone(), 2).save_as_parquet_file(&with_text).unwrap();
    expect_error(LOGREG, &[path(&with_text)], &["with-text.parquet", "column 'name' holds Utf8 values, not numbers"]);

    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    struct Numeric {
        label: u8,
        x: f64,
        y: f32,
    }
    let numeric = dir.path().join("numeric.parquet");
    let data: Vec<Numeric> = rows.iter().map(|r| Numeric { label: r.label, x: r.x, y: r.y }).collect();
    ctx.parallelize(data, 2).save_as_parquet_file(&numeric).unwrap();
    let out = succeeds(LOGREG, &[path(&numeric)]);
    assert!(out.contains("accuracy=1.0"), "separable by x: {out}");

    let nan = dir.path().join("nan.parquet");
    let bad = vec![Numeric { label: 1, x: 0.5, y: 1.0 }, Numeric { label: 0, x: f64::NAN, y: 2.0 }];
    ctx.parallelize(bad, 1).save_as_parquet_file(&nan).unwrap();
    expect_error(LOGREG, &[path(&nan)], &["row 2, column 'x': NaN is not a finite number"]);
}

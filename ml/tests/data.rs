//! Loaders: CSV, LIBSVM and raw f64 files into blocks, with errors that name
//! the file and line.

use ember::prelude::*;
use ember_ml::Block;
use ember_ml::data::{self, Format};
use ndarray::array;
use std::sync::OnceLock;

fn ctx() -> &'static Context {
    static CTX: OnceLock<Context> = OnceLock::new();
    CTX.get_or_init(|| Context::new(Conf::new().master("local-cluster[2]")).expect("context"))
}

fn rows(blocks: Vec<Block>) -> Vec<Vec<f64>> {
    blocks.iter().flat_map(|b| b.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>()).collect()
}

#[test]
fn csv_raw_and_libsvm_files_load_into_the_same_rows() {
    let dir = tempfile::tempdir().unwrap();
    let m = array![[1.0, 0.5, -2.0], [0.0, 3.25, 0.0], [1.0, 0.0, 7.0], [0.0, -1.0, 1e-3]];
    let csv = dir.path().join("m.csv");
    let text: String =
        m.rows().into_iter().map(|r| r.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",") + "\n").collect();
    std::fs::write(&csv, format!("# a header comment\n{text}\n")).unwrap();
    let raw = dir.path().join("m.f64");
    data::append_raw_f64(&raw, &m).unwrap();
    let svm = dir.path().join("m.libsvm");
    std::fs::write(&svm, "1 1:0.5 2:-2\n-1 1:3.25\n1 2:7\n0 1:-1 2:0.001\n").unwrap();

    let expected: Vec<Vec<f64>> = m.rows().into_iter().map(|r| r.to_vec()).collect();
    let csv_fmt = Format::detect(csv.to_str().unwrap(), None, None).unwrap();
    assert_eq!(csv_fmt, Format::Csv);
    let from_csv = data::load_matrix(ctx(), csv.to_str().unwrap(), &csv_fmt, 3).unwrap().collect().unwrap();
    assert_eq!(rows(from_csv), expected);
    let raw_fmt = Format::detect(raw.to_str().unwrap(), Some(4), Some(3)).unwrap();
    let from_raw = data::load_matrix(ctx(), raw.to_str().unwrap(), &raw_fmt, 3).unwrap().collect().unwrap();
    assert_eq!(rows(from_raw), expected);

    for (path, fmt) in [(&csv, csv_fmt), (&raw, raw_fmt), (&svm, Format::LibSvm { cols: None })] {
        let labeled = data::load_labeled(ctx(), path.to_str().unwrap(), &fmt, 2).unwrap().collect().unwrap();
        let y: Vec<f64> = labeled.iter().flat_map(|b| b.y.to_vec()).collect();
        let x: Vec<Vec<f64>> = rows(labeled.into_iter().map(|b| b.x).collect());
        assert_eq!(y, vec![1.0, 0.0, 1.0, 0.0], "{}", path.display());
        assert_eq!(x, expected.iter().map(|r| r[1..].to_vec()).collect::<Vec<_>>(), "{}", path.display());
    }
}

#[test]
fn bad_data_is_reported_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, "1,2\n3,4\n5,x\n").unwrap();
    let e = data::load_matrix(ctx(), csv.to_str().unwrap(), &Format::Csv, 2).unwrap().count().unwrap_err().to_string();
    assert!(e.contains("bad.csv:3: 'x' is not a number"), "{e}");
    std::fs::write(&csv, "1,2\n3,4,5\n").unwrap();
    let e = data::load_matrix(ctx(), csv.to_str().unwrap(), &Format::Csv, 1).unwrap().count().unwrap_err().to_string();
    assert!(e.contains("bad.csv:2: 3 fields, but the first line has 2"), "{e}");
    std::fs::write(&csv, "1,2\n2,4\n").unwrap();
    let e = data::load_labeled(ctx(), csv.to_str().unwrap(), &Format::Csv, 1).err().expect("bad label").to_string();
    assert!(e.contains("labels must be 0 or 1, found 2"), "{e}");
    let svm = dir.path().join("bad.svm");
    std::fs::write(&svm, "1 1:1\n1 0:2\n").unwrap();
    let e = data::load_labeled(ctx(), svm.to_str().unwrap(), &Format::LibSvm { cols: None }, 1)
        .err()
        .expect("index 0")
        .to_string();
    assert!(e.contains("bad.svm:2: '0' is not an index ≥ 1"), "{e}");
    let raw = dir.path().join("short.f64");
    std::fs::write(&raw, [0u8; 24]).unwrap();
    let e = data::load_matrix(ctx(), raw.to_str().unwrap(), &Format::RawF64 { rows: 2, cols: 2 }, 1)
        .err()
        .expect("size")
        .to_string();
    assert!(e.contains("24 bytes, but 2 rows × 2 columns of f64 need 32"), "{e}");
    let e = Format::detect("x.xlsx", None, None).unwrap_err().to_string();
    assert!(e.contains("unknown format"), "{e}");
    let e = Format::detect("x.f64", None, Some(2)).unwrap_err().to_string();
    assert!(e.contains("--rows and --cols"), "{e}");
}

#[test]
fn nan_and_infinities_are_refused_with_their_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("nan.csv");
    for (text, line, field) in
        [("1,2\n3,NaN\n", 2, "NaN"), ("# c\n1,2\n3,4\n-inf,1\n", 4, "-inf"), ("1,infinity\n", 1, "infinity")]
    {
        std::fs::write(&csv, text).unwrap();
        let e = data::load_matrix(ctx(), csv.to_str().unwrap(), &Format::Csv, 2).unwrap().count().unwrap_err();
        let e = e.to_string();
        assert!(e.contains(&format!("nan.csv:{line}: '{field}' is not a finite number")), "{e}");
    }
    // Labeled CSV: a NaN feature is refused too (not just a label other than 0/1).
    std::fs::write(&csv, "1,2\n0,nan\n").unwrap();
    let e = data::load_labeled(ctx(), csv.to_str().unwrap(), &Format::Csv, 1).err().expect("NaN").to_string();
    assert!(e.contains("nan.csv:2: 'nan' is not a finite number"), "{e}");

    let svm = dir.path().join("inf.libsvm");
    std::fs::write(&svm, "1 1:0.5 2:1\n0 1:inf\n").unwrap();
    let e = data::load_labeled(ctx(), svm.to_str().unwrap(), &Format::LibSvm { cols: Some(2) }, 1)
        .and_then(|rdd| Ok(rdd.count()?))
        .unwrap_err()
        .to_string();
    assert!(e.contains("inf.libsvm:2: 'inf' is not a finite number"), "{e}");

    let raw = dir.path().join("nan.f64");
    let mut m = ndarray::Array2::<f64>::zeros((5, 3));
    m[[3, 1]] = f64::NAN;
    m[[4, 2]] = f64::INFINITY;
    data::append_raw_f64(&raw, &m).unwrap();
    let e =
        data::load_matrix(ctx(), raw.to_str().unwrap(), &Format::RawF64 { rows: 5, cols: 3 }, 2).err().expect("NaN");
    match &e {
        ember_ml::MlError::NonFinite { file, row, column, byte_offset, value } => {
            assert!(file.ends_with("nan.f64"), "{file}");
            assert_eq!((*row, *column, *byte_offset), (4, 2, (3 * 3 + 1) * 8));
            assert!(value.is_nan());
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    let e = e.to_string();
    assert!(e.contains("nan.f64: row 4, column 2 (byte offset 80): NaN is not a finite number"), "{e}");
    let e =
        data::load_labeled(ctx(), raw.to_str().unwrap(), &Format::RawF64 { rows: 5, cols: 3 }, 1).err().expect("NaN");
    assert!(matches!(e, ember_ml::MlError::NonFinite { row: 4, .. }), "{e}");
    let e = data::load_matrix(ctx(), raw.to_str().unwrap(), &Format::RawF64 { rows: usize::MAX, cols: 3 }, 1)
        .err()
        .expect("overflow")
        .to_string();
    assert!(e.contains("overflow"), "{e}");
}

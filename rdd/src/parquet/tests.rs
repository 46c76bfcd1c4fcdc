//! The writer and the planner on local files, without a context (the
//! driver's tests run the same through jobs, on executors).

use super::*;
use crate::io::Location;
use crate::parquet::decode::BatchPosition;
use crate::parquet::plan::read_footer;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Point {
    x: f64,
    y: f64,
    label: Option<String>,
    count: i32,
}

fn points(n: usize) -> Vec<Point> {
    (0..n)
        .map(|i| Point {
            x: i as f64 * 0.5,
            y: -(i as f64),
            label: (i % 3 != 0).then(|| format!("p{i}")),
            count: i as i32,
        })
        .collect()
}

fn write_points(path: &Path, records: Vec<Point>, row_group_rows: usize) {
    let mut file = std::fs::File::create(path).unwrap();
    let options = ParquetWriteOptions::default().row_group_rows(row_group_rows);
    write_parquet(&SerdeRecords::<Point>::new(), records.into_iter(), &mut file, "points.parquet", &options).unwrap();
}

/// Every record of the planned splits, decoded as the node decodes them.
fn read_all<D: BatchDecoder>(plan: &ParquetPlan, decoder: &D) -> Vec<D::Record> {
    let mut out = Vec::new();
    for split in &plan.splits {
        let mut row = split.first_row;
        let file = split.file.to_string();
        for batch in read::RowGroupBatches::open(split, &plan.columns, &StoreOptions::default()).unwrap() {
            let batch = batch.unwrap();
            let at = BatchPosition { file: &file, first_row: row };
            row += batch.num_rows() as u64;
            out.extend(decoder.decode(&batch, at).unwrap());
        }
    }
    out
}

#[test]
fn written_points_plan_one_split_per_row_group_and_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("points.parquet");
    write_points(&path, points(25), 10);
    let name = path.to_str().unwrap();
    let plan = plan_row_groups(name, &StoreOptions::default(), &ParquetReadOptions::new(), &SerdeRows::<Point>::new())
        .unwrap();
    let shape: Vec<(usize, u64, u64)> = plan.splits.iter().map(|s| (s.row_group, s.first_row, s.rows)).collect();
    assert_eq!(shape, vec![(0, 0, 10), (1, 10, 10), (2, 20, 5)]);
    assert!(plan.splits.iter().all(|s| s.bytes > 0));
    assert_eq!(plan.columns, ["x", "y", "label", "count"]);
    assert_eq!(read_all(&plan, &SerdeRows::<Point>::new()), points(25));
}

#[test]
fn a_projection_reads_fewer_bytes_and_a_missing_column_names_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("points.parquet");
    write_points(&path, points(100), 1000);
    let name = path.to_str().unwrap();
    let all =
        plan_row_groups(name, &StoreOptions::default(), &ParquetReadOptions::new(), &F64Rows::default()).unwrap_err();
    assert!(all.to_string().contains("column 'label' holds Utf8 values, not numbers"), "{all}");
    let xy = ParquetReadOptions::new().columns(["y", "x"]);
    let plan = plan_row_groups(name, &StoreOptions::default(), &xy, &F64Rows::default()).unwrap();
    let rows = read_all(&plan, &F64Rows::default());
    assert_eq!(rows[3], vec![-3.0, 1.5], "columns come in the order they were named");
    let x_only =
        plan_row_groups(name, &StoreOptions::default(), &ParquetReadOptions::new().columns(["x"]), &F64Rows::default())
            .unwrap();
    assert!(x_only.splits[0].bytes < plan.splits[0].bytes);

    let missing = ParquetReadOptions::new().columns(["x", "z"]);
    let err = plan_row_groups(name, &StoreOptions::default(), &missing, &F64Rows::default()).unwrap_err().to_string();
    assert!(err.contains(name) && err.contains("no column named 'z'") && err.contains("x, y, label, count"), "{err}");
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Named {
    label: f64,
}

#[test]
fn a_column_of_the_wrong_type_is_refused_on_the_driver_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("points.parquet");
    write_points(&path, points(5), 10);
    let name = path.to_str().unwrap();
    let err = plan_row_groups(name, &StoreOptions::default(), &ParquetReadOptions::new(), &SerdeRows::<Named>::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains(name) && err.contains("column 'label' holds Utf8 values"), "{err}");
    assert!(err.contains("Named"), "{err}");
}

#[test]
fn a_file_that_is_not_parquet_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.parquet");
    std::fs::write(&path, b"this is not a parquet file at all").unwrap();
    let name = path.to_str().unwrap();
    let source = source::FileSource::new(Location::parse(name).unwrap(), StoreOptions::default(), 33);
    let err = read_footer(source).unwrap_err();
    assert!(matches!(err, ParquetError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().starts_with(&format!("{name}: not a readable Parquet file")), "{err}");
}

#[test]
fn f64_columns_round_trip_and_refuse_nan_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.parquet");
    let rows = vec![vec![1.0, 2.0], vec![3.0, f64::NAN], vec![5.0, 6.0]];
    let encoder = F64Columns { names: vec!["a".into(), "b".into()] };
    let mut file = std::fs::File::create(&path).unwrap();
    write_parquet(&encoder, rows.clone().into_iter(), &mut file, "m", &ParquetWriteOptions::default()).unwrap();
    let name = path.to_str().unwrap();
    let plan =
        plan_row_groups(name, &StoreOptions::default(), &ParquetReadOptions::new(), &F64Rows::default()).unwrap();
    let back = read_all(&plan, &F64Rows::default());
    assert_eq!(back[0], rows[0]);
    assert!(back[1][1].is_nan());

    let batch = {
        let file = std::fs::File::open(&path).unwrap();
        ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap().next().unwrap().unwrap()
    };
    let strict = F64Rows { finite_only: true };
    let err = strict.decode(&batch, BatchPosition { file: name, first_row: 0 }).unwrap_err().to_string();
    assert!(err.contains(&format!("{name}: row 2, column 'b': NaN is not a finite number")), "{err}");

    let bad = write_parquet(
        &encoder,
        vec![vec![1.0]].into_iter(),
        &mut Vec::new(),
        "out/part-00000.parquet",
        &ParquetWriteOptions::default(),
    );
    let err = bad.unwrap_err().to_string();
    assert!(
        err.contains("out/part-00000.parquet") && err.contains("a row of 1 numbers, but there are 2 columns"),
        "{err}"
    );
}

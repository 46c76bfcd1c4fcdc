//! Parquet files through jobs, in `local[2]` and `local-cluster[2]` (where
//! the node is shipped to executor processes): typed rows, projection, one
//! partition per row group, input metrics, numeric rows, and each way a
//! read can fail, naming the file and the column.

use ember::extend::parquet::{F64Columns, SerdeRecords, write_parquet};
use ember::listener::{ListenerEvent, RecordingListener, TaskEndInfo};
use ember::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::{Arc, OnceLock};

const MASTERS: [&str; 2] = ["local[2]", "local-cluster[2]"];

static CONTEXTS: OnceLock<Vec<(&'static str, Context)>> = OnceLock::new();

/// One context per master, shared by the tests that read no metrics.
fn contexts() -> &'static [(&'static str, Context)] {
    CONTEXTS.get_or_init(|| {
        MASTERS
            .iter()
            .map(|&m| (m, Context::new(Conf::new().master(m).app_name("parquet-files")).expect("the context starts")))
            .collect()
    })
}

/// A context of its own on `master`, with a recording listener (tests run
/// in parallel: a shared context would record other tests' jobs).
fn recorded(master: &str) -> (Context, Arc<RecordingListener>) {
    let ctx = Context::new(Conf::new().master(master).app_name("parquet-metrics")).expect("the context starts");
    let recorder = Arc::new(RecordingListener::default());
    ctx.add_listener(recorder.clone());
    (ctx, recorder)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Trip {
    id: u64,
    distance: f64,
    fare: f32,
    driver: Option<String>,
}

fn trips(n: u64) -> Vec<Trip> {
    (0..n)
        .map(|id| Trip {
            id,
            distance: id as f64 / 4.0,
            fare: 2.5 + id as f32,
            driver: (id % 4 != 0).then(|| format!("driver-{}", id % 7)),
        })
        .collect()
}

fn write_trips(path: &Path, records: Vec<Trip>, row_group_rows: usize) {
    let mut file = std::fs::File::create(path).unwrap();
    let options = ParquetWriteOptions::default().row_group_rows(row_group_rows);
    write_parquet(&SerdeRecords::<Trip>::new(), records.into_iter(), &mut file, "trips", &options).unwrap();
}

/// Input (records, bytes) of the successful tasks of the last stage run.
fn input_of_last_job(ctx: &Context, recorder: &RecordingListener) -> (u64, u64) {
    ctx.flush_listeners();
    let events = recorder.events();
    let last_stage = events
        .iter()
        .filter_map(|e| match e {
            ListenerEvent::TaskEnd(TaskEndInfo { stage, .. }) => Some(stage.0),
            _ => None,
        })
        .max()
        .expect("a task ran");
    events.iter().fold((0, 0), |(r, b), e| match e {
        ListenerEvent::TaskEnd(TaskEndInfo { stage, succeeded: true, metrics, .. }) if stage.0 == last_stage => {
            (r + metrics.records_read, b + metrics.bytes_read)
        }
        _ => (r, b),
    })
}

#[test]
fn typed_rows_come_back_equal_one_partition_per_row_group_with_input_metrics() {
    let dir = tempfile::tempdir().unwrap();
    write_trips(&dir.path().join("a.parquet"), trips(250), 100);
    write_trips(&dir.path().join("b.parquet"), trips(30), 100);
    std::fs::write(dir.path().join("_SUCCESS"), b"").unwrap();
    let path = dir.path().to_str().unwrap();
    let mut expected = trips(250);
    expected.extend(trips(30));
    for master in MASTERS {
        let (ctx, recorder) = recorded(master);
        let rdd: Rdd<Trip> = ctx.parquet_file(path, ParquetReadOptions::new()).unwrap();
        assert_eq!(rdd.num_partitions(), 4, "{master}: 3 row groups in a, 1 in b");
        assert_eq!(rdd.collect().unwrap(), expected, "{master}");
        let (records, bytes) = input_of_last_job(&ctx, &recorder);
        assert_eq!(records, 280, "{master}");
        let total: u64 = ["a.parquet", "b.parquet"].iter().map(|f| dir.path().join(f).metadata().unwrap().len()).sum();
        assert!(bytes > 0 && bytes < total, "{master}: {bytes} bytes of column chunks, files of {total}");
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Fare {
    id: u64,
    fare: f64,
    driver: Option<String>,
}

#[test]
fn a_projection_reads_only_the_named_columns() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trips.parquet");
    write_trips(&file, trips(500), 10_000);
    let path = file.to_str().unwrap();
    for master in MASTERS {
        let (ctx, recorder) = recorded(master);
        // By default, the struct's fields: `distance` is not read.
        let fares: Rdd<Fare> = ctx.parquet_file(path, ParquetReadOptions::new()).unwrap();
        let got = fares.collect().unwrap();
        assert_eq!(got[5], Fare { id: 5, fare: 7.5, driver: Some("driver-5".into()) }, "{master}");
        let (_, all_three) = input_of_last_job(&ctx, &recorder);
        // Named columns: a field left out must be an Option, and reads None.
        let ids: Rdd<Fare> = ctx.parquet_file(path, ParquetReadOptions::new().columns(["id", "fare"])).unwrap();
        let got = ids.collect().unwrap();
        assert_eq!(got[5], Fare { id: 5, fare: 7.5, driver: None }, "{master}");
        let (records, two) = input_of_last_job(&ctx, &recorder);
        assert_eq!(records, 500, "{master}");
        assert!(two < all_three, "{master}: {two} bytes for 2 columns, {all_three} for 3");
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct WrongType {
    id: u64,
    driver: f64,
}

#[test]
fn a_missing_column_or_a_column_of_the_wrong_type_fails_on_the_driver_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trips.parquet");
    write_trips(&file, trips(10), 100);
    let path = file.to_str().unwrap();
    for (master, ctx) in contexts() {
        let missing = ctx.parquet_file::<Trip>(path, ParquetReadOptions::new().columns(["id", "tip"]));
        let err = missing.err().expect("no column tip").to_string();
        assert!(err.contains(path) && err.contains("no column named 'tip'"), "{master}: {err}");
        assert!(err.contains("id, distance, fare, driver"), "{master}: {err}");
        let wrong = ctx.parquet_file::<WrongType>(path, ParquetReadOptions::new());
        let err = wrong.err().expect("driver is a string").to_string();
        assert!(err.contains(path) && err.contains("column 'driver' holds Utf8 values"), "{master}: {err}");
    }
}

#[test]
fn a_file_that_is_not_parquet_or_is_damaged_fails_naming_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.parquet");
    std::fs::write(&text, "a text file with a parquet name\n").unwrap();
    let damaged = dir.path().join("damaged.parquet");
    write_trips(&damaged, trips(2000), 100_000);
    // Keep the footer, overwrite the column chunks after the magic bytes.
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[4..2000].fill(0xA5);
    std::fs::write(&damaged, &bytes).unwrap();
    for (master, ctx) in contexts() {
        let path = text.to_str().unwrap();
        let err = ctx.parquet_file::<Trip>(path, ParquetReadOptions::new()).err().expect("not parquet").to_string();
        assert!(err.starts_with(&format!("{path}: not a readable Parquet file")), "{master}: {err}");
        let path = damaged.to_str().unwrap();
        let rdd = ctx.parquet_file::<Trip>(path, ParquetReadOptions::new()).unwrap();
        let err = rdd.count().expect_err("damaged column chunks").to_string();
        assert!(err.contains("cannot succeed on retry") && err.contains(path), "{master}: {err}");
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Reading {
    t: i64,
    value: Option<f64>,
}

#[test]
fn numeric_rows_cast_every_column_and_refuse_text_nulls_and_nan_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trips.parquet");
    write_trips(&file, trips(40), 16);
    let path = file.to_str().unwrap();
    let nan = dir.path().join("nan.parquet");
    let rows = vec![vec![0.0, 1.0], vec![1.0, 2.0], vec![1.0, f64::NAN]];
    let encoder = F64Columns { names: vec!["label".into(), "x".into()] };
    let mut out = std::fs::File::create(&nan).unwrap();
    write_parquet(&encoder, rows.into_iter(), &mut out, "nan", &ParquetWriteOptions::default()).unwrap();
    let gaps = dir.path().join("gaps.parquet");
    let readings = vec![Reading { t: 1, value: Some(0.5) }, Reading { t: 2, value: None }];
    let mut out = std::fs::File::create(&gaps).unwrap();
    let options = ParquetWriteOptions::default();
    write_parquet(&SerdeRecords::<Reading>::new(), readings.into_iter(), &mut out, "gaps", &options).unwrap();
    let gaps_path = gaps.to_str().unwrap();
    for (master, ctx) in contexts() {
        let err = ctx.parquet_f64_rows(path, ParquetReadOptions::new(), NonFinite::Keep).err().unwrap().to_string();
        assert!(
            err.contains(path) && err.contains("column 'driver' holds Utf8 values, not numbers"),
            "{master}: {err}"
        );
        let numeric = ParquetReadOptions::new().columns(["fare", "id", "distance"]);
        let rows = ctx.parquet_f64_rows(path, numeric, NonFinite::Keep).unwrap();
        assert_eq!(rows.columns, ["fare", "id", "distance"]);
        assert_eq!(rows.rows.num_partitions(), 3, "{master}");
        assert_eq!(rows.rows.collect().unwrap()[17], vec![19.5, 17.0, 4.25], "{master}");
        let readings = ctx.parquet_f64_rows(gaps_path, ParquetReadOptions::new(), NonFinite::Keep).unwrap();
        let err = readings.rows.collect().expect_err("a null").to_string();
        assert!(err.contains(&format!("{gaps_path}: row 2, column 'value': null")), "{master}: {err}");

        let nan_path = nan.to_str().unwrap();
        let kept = ctx.parquet_f64_rows(nan_path, ParquetReadOptions::new(), NonFinite::Keep).unwrap();
        assert!(kept.rows.collect().unwrap()[2][1].is_nan(), "{master}");
        let refused = ctx.parquet_f64_rows(nan_path, ParquetReadOptions::new(), NonFinite::Refuse).unwrap();
        let err = refused.rows.count().expect_err("NaN is refused").to_string();
        assert!(err.contains(&format!("{nan_path}: row 3, column 'x': NaN is not a finite number")), "{master}: {err}");
    }
}

#[test]
fn saved_records_read_back_equal_and_by_projection_in_the_committed_layout() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (master, ctx)) in contexts().iter().enumerate() {
        let out = dir.path().join(format!("trips-{i}.parquet"));
        let rdd = ctx.parallelize(trips(1000), 3);
        rdd.save_as_parquet_file_with(&out, ParquetWriteOptions::default().row_group_rows(200)).unwrap();
        let mut names: Vec<String> =
            std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        assert_eq!(names, ["_SUCCESS", "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"], "{master}");
        let path = out.to_str().unwrap();
        let back: Rdd<Trip> = ctx.parquet_file(path, ParquetReadOptions::new()).unwrap();
        // 333, 333 and 334 rows, in row groups of at most 200.
        assert_eq!(back.num_partitions(), 6, "{master}");
        assert_eq!(back.collect().unwrap(), trips(1000), "{master}");
        let fares: Rdd<Fare> = ctx.parquet_file(path, ParquetReadOptions::new().columns(["fare", "id"])).unwrap();
        let got = fares.collect().unwrap();
        assert_eq!(got[999], Fare { id: 999, fare: 1001.5, driver: None }, "{master}");
        // Saving into it again is refused, as every save is.
        let again = rdd.save_as_parquet_file(&out).expect_err("the directory is not empty").to_string();
        assert!(again.contains("already exists"), "{master}: {again}");
    }
}

#[test]
fn an_empty_partition_saves_a_file_with_the_schema_and_no_rows() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sparse");
    let (master, ctx) = &contexts()[1];
    let rdd = ctx.parallelize(trips(3), 5);
    rdd.save_as_parquet_file(&out).unwrap();
    let back: Rdd<Trip> = ctx.parquet_file(out.to_str().unwrap(), ParquetReadOptions::new()).unwrap();
    assert_eq!(back.num_partitions(), 3, "{master}: files without rows make no partition");
    assert_eq!(back.collect().unwrap(), trips(3), "{master}");
}

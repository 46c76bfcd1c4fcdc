//! Numerical data as RDDs of blocks: loaders for raw little-endian f64, CSV,
//! LIBSVM and Parquet files, a Parquet writer, and a seeded generator of
//! gaussian blobs.
//!
//! Rows are stacked into blocks of about [`BLOCK_BYTES`] each (a few per
//! partition), so per-block kernels amortize their overhead. Parse errors
//! name the file and line (`points.csv:17: ...`). NaN and ±infinity are
//! refused by every loader (`parse::<f64>` accepts "NaN" and "inf", and a
//! raw file may hold any bits): one of them would silently turn a k-means
//! cost or a log-loss into NaN or infinity; the error names the file and
//! line, or for a raw file the row, column and byte offset. Labels, for logistic
//! regression, are 0 or 1: in CSV, raw and Parquet files the first column, in
//! LIBSVM the first field (`-1` is read as 0, as binary LIBSVM files often
//! use ±1).
//!
//! A Parquet input is read by column: every column must be numeric (any
//! integer, float or decimal type, cast to f64; a text column is an error
//! naming it), one partition per row group; nulls, NaN and ±infinity are
//! refused naming the row and column. Parquet needs the `parquet` feature
//! of ember-ml (or ember); without it a `.parquet` INPUT is an error that
//! says how to enable it.

use crate::block::{Block, LabeledBlock, stack_rows};
use crate::error::{MlError, Result};
use ember::extend::io;
use ember::prelude::*;
use ndarray::{Array1, Array2, ArrayBase, Ix2};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use std::io::{BufRead, Read};
use std::path::Path;

/// The target size of one block, in bytes.
pub const BLOCK_BYTES: usize = 8 << 20;

/// Rows per block for `cols` columns.
pub fn rows_per_block(cols: usize) -> usize {
    (BLOCK_BYTES / (8 * cols.max(1))).max(256)
}

/// How a data file is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated numbers, one row per line.
    Csv,
    /// `label index:value ...` with 1-based indices; `cols` is found by a
    /// pass over the data when not given.
    LibSvm { cols: Option<usize> },
    /// `rows × cols` little-endian f64, row-major, nothing else.
    RawF64 { rows: usize, cols: usize },
    /// Parquet: a file or a directory of part files (a saved output); every
    /// column numeric.
    Parquet,
}

impl Format {
    /// The format a file name implies: `.csv`, `.libsvm`/`.svm`, `.parquet`
    /// (a file, or a directory of part files), or `.f64`/`.bin`/`.raw`
    /// (which need `rows` and `cols`).
    pub fn detect(path: &str, rows: Option<usize>, cols: Option<usize>) -> Result<Format> {
        // `points.csv.gz` is a CSV file, compressed.
        let name = match io::Codec::from_name(path) {
            Some(codec) => path.strip_suffix(codec.extension()).unwrap_or(path),
            None => path,
        };
        let ext = Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Ok(Format::Csv),
            "libsvm" | "svm" => Ok(Format::LibSvm { cols }),
            "parquet" => Ok(Format::Parquet),
            "f64" | "bin" | "raw" => match (rows, cols) {
                (Some(rows), Some(cols)) => Ok(Format::RawF64 { rows, cols }),
                _ => Err(MlError::InvalidParameter(format!("{path}: a raw f64 file needs --rows and --cols"))),
            },
            _ => Err(MlError::InvalidParameter(format!(
                "{path}: unknown format; use a .csv, .libsvm/.svm, .parquet or .f64/.bin/.raw file"
            ))),
        }
    }
}

/// The rows of a file as blocks of features (labels, if any, included as columns).
pub fn load_matrix(ctx: &Context, path: &str, format: &Format, partitions: usize) -> Result<Rdd<Block>> {
    match format {
        Format::Csv => {
            let cols = csv_columns(ctx, path)?;
            Ok(rows_to_blocks(&parse_csv(ctx, path, cols, partitions)?, cols))
        }
        Format::RawF64 { rows, cols } => load_raw(ctx, path, *rows, *cols, partitions),
        Format::LibSvm { .. } => Ok(load_labeled(ctx, path, format, partitions)?.map(|b: LabeledBlock| b.x)),
        Format::Parquet => {
            let (rows, cols) = parquet_rows(ctx, path)?;
            Ok(rows_to_blocks(&rows, cols))
        }
    }
}

/// Labeled rows of a file: the first column (CSV, raw) or field (LIBSVM) is
/// the 0/1 label, the rest are features.
pub fn load_labeled(ctx: &Context, path: &str, format: &Format, partitions: usize) -> Result<Rdd<LabeledBlock>> {
    match format {
        Format::Csv => {
            let cols = csv_columns(ctx, path)?;
            if cols < 2 {
                return Err(MlError::InvalidInput(format!("{path}: a labeled CSV needs a label and a feature column")));
            }
            labeled_rows(path, &parse_csv(ctx, path, cols, partitions)?, cols)
        }
        Format::Parquet => {
            let (rows, cols) = parquet_rows(ctx, path)?;
            if cols < 2 {
                return Err(MlError::InvalidInput(format!(
                    "{path}: a labeled Parquet input needs a label column and a feature column"
                )));
            }
            labeled_rows(path, &rows, cols)
        }
        Format::RawF64 { rows, cols } => Ok(split_labels(&load_raw(ctx, path, *rows, *cols, partitions)?)),
        Format::LibSvm { cols } => load_libsvm(ctx, path, *cols, partitions),
    }
}

/// Rows whose first column is a 0/1 label, as labeled blocks; another label
/// is an error naming the file and the value.
fn labeled_rows(path: &str, rows: &Rdd<Vec<f64>>, cols: usize) -> Result<Rdd<LabeledBlock>> {
    let checked = rows.filter(|r| r[0] == 0.0 || r[0] == 1.0);
    if checked.count()? != rows.count()? {
        let bad = rows.filter(|r| r[0] != 0.0 && r[0] != 1.0).first()?;
        return Err(MlError::InvalidInput(format!("{path}: labels must be 0 or 1, found {}", bad[0])));
    }
    Ok(split_labels(&rows_to_blocks(rows, cols)))
}

/// The rows of a Parquet input (every column as f64, NaN and ±infinity
/// refused) and their number of columns.
fn parquet_rows(ctx: &Context, path: &str) -> Result<(Rdd<Vec<f64>>, usize)> {
    let input = ctx.parquet_f64_rows(path, ParquetReadOptions::new(), NonFinite::Refuse)?;
    if input.columns.is_empty() {
        return Err(MlError::InvalidInput(format!("{path}: no columns")));
    }
    Ok((input.rows, input.columns.len()))
}

/// Saves blocks as Parquet files (Spark's layout: a directory of
/// `part-NNNNN.parquet` and `_SUCCESS`, on disk or at an `s3://` URL), one
/// `Float64` column per matrix column, named `columns` (`x0`, `x1`, ... when
/// `None`). `load_matrix` reads it back as the same rows.
pub fn save_parquet(blocks: &Rdd<Block>, path: &str, columns: Option<Vec<String>>) -> Result<()> {
    let rows = blocks.flat_map(|b: Block| b.rows().into_iter().map(|r| r.to_vec()).collect::<Vec<_>>());
    let names = match columns {
        Some(names) => names,
        None => {
            let cols = blocks.map(|b: Block| b.ncols()).take(1)?.first().copied().unwrap_or(0);
            (0..cols).map(|j| format!("x{j}")).collect()
        }
    };
    Ok(rows.save_as_parquet_f64_columns(path, &names)?)
}

/// Splits the first column off as labels.
pub fn split_labels(blocks: &Rdd<Block>) -> Rdd<LabeledBlock> {
    blocks.map(|b: Block| {
        let y: Array1<f64> = b.column(0).to_owned();
        let x = b.slice(ndarray::s![.., 1..]).as_standard_layout().into_owned();
        LabeledBlock { x: x.into_shared(), y: y.into_shared() }
    })
}

/// Stacks the rows of each partition into blocks.
pub fn rows_to_blocks(rows: &Rdd<Vec<f64>>, cols: usize) -> Rdd<Block> {
    rows.map_partitions_with(cols, |&cols, _, it| stack_rows(it, cols, rows_per_block(cols)))
}

/// The number of fields of the first non-empty line of the first file (a
/// path or URL; compressed files are read through their codec).
fn csv_columns(ctx: &Context, path: &str) -> Result<usize> {
    let options = ctx.store_options();
    let files = io::list_input_files(path, &options)?;
    let Some(first) = files.first().map(|f| &f.location) else {
        return Err(MlError::InvalidInput(format!("{path}: no input files")));
    };
    let bad = |e: std::io::Error| MlError::InvalidInput(format!("{first}: {e}"));
    let raw = io::open_reader(first, &options, 0)?;
    let text: Box<dyn Read + Send> = match io::Codec::from_name(&first.file_name()) {
        Some(codec) => codec.decoder(raw).map_err(bad)?,
        None => raw,
    };
    for line in std::io::BufReader::new(text).lines() {
        let line = line.map_err(bad)?;
        if !line.trim().is_empty() && !line.trim_start().starts_with('#') {
            return Ok(line.split(',').count());
        }
    }
    Err(MlError::InvalidInput(format!("{first}: no data")))
}

/// A field as a finite f64; the error says why not (the engine puts the
/// file and line before it).
fn parse_finite(field: &str) -> std::result::Result<f64, String> {
    match field.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(format!(
            "'{field}' is not a finite number; NaN and ±infinity are refused, remove or impute them before loading"
        )),
        Err(_) => Err(format!("'{field}' is not a number")),
    }
}

fn parse_csv(ctx: &Context, path: &str, cols: usize, partitions: usize) -> Result<Rdd<Vec<f64>>> {
    Ok(ctx.text_file_parsed_with(path, partitions, cols, |&cols, line| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let row = line.split(',').map(|f| parse_finite(f.trim())).collect::<std::result::Result<Vec<f64>, String>>()?;
        if row.len() != cols {
            return Err(format!("{} fields, but the first line has {cols}", row.len()));
        }
        Ok(Some(row))
    })?)
}

fn load_raw(ctx: &Context, path: &str, rows: usize, cols: usize, partitions: usize) -> Result<Rdd<Block>> {
    let expected = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(8))
        .ok_or_else(|| MlError::InvalidParameter(format!("{path}: {rows} rows × {cols} columns of f64 overflow")))?
        as u64;
    let options = ctx.store_options();
    let location = io::Location::parse(path)?;
    let actual = io::store::head(&location, &options)?
        .ok_or_else(|| MlError::InvalidInput(format!("{path}: no such file or object")))?;
    if actual != expected {
        return Err(MlError::InvalidInput(format!(
            "{path}: {actual} bytes, but {rows} rows × {cols} columns of f64 need {expected}"
        )));
    }
    let parts = partitions.clamp(1, rows.max(1));
    let spec = RawSpec { location, options, rows, cols, parts };
    check_raw_finite(ctx, &spec)?;
    Ok(ctx.range(0, parts as i64, 1, parts)?.flat_map_with(spec, |spec, p| {
        let path = &spec.location;
        match read_raw_rows(spec, p as usize) {
            Ok(blocks) => blocks,
            // The file was checked on the driver; failing here is an I/O error
            // on the executor, reported as this task's failure.
            Err(e) => panic!("{path}: {e}"),
        }
    }))
}

/// A raw f64 file and how it is cut into partitions (shipped to the tasks).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct RawSpec {
    location: io::Location,
    options: io::StoreOptions,
    rows: usize,
    cols: usize,
    parts: usize,
}

impl RawSpec {
    /// The rows of partition `p`.
    fn rows_of(&self, p: usize) -> (usize, usize) {
        (p * self.rows / self.parts, (p + 1) * self.rows / self.parts)
    }
}

/// One pass over a raw f64 file (partition by partition, in tasks) for the
/// first NaN or infinity: a typed [`MlError::NonFinite`] naming the row,
/// column and byte offset, before any program reads the data. The pass costs
/// one extra read of the file (from the page cache, usually).
fn check_raw_finite(ctx: &Context, spec: &RawSpec) -> Result<()> {
    let (path, cols, parts) = (spec.location.to_string(), spec.cols, spec.parts);
    // Per partition: the first bad (row, column, value), or an I/O error.
    type Found = std::result::Result<Option<(u64, usize, f64)>, String>;
    let found: Vec<Found> = ctx
        .range(0, parts as i64, 1, parts)?
        .map_with(spec.clone(), |spec, p| {
            let (lo, _) = spec.rows_of(p as usize);
            let blocks = read_raw_rows(spec, p as usize).map_err(|e| e.to_string())?;
            let mut row = lo as u64;
            for b in blocks {
                for r in b.rows() {
                    if let Some((column, &value)) = r.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                        return Ok(Some((row, column, value)));
                    }
                    row += 1;
                }
            }
            Ok(None)
        })
        .collect()?;
    for f in found {
        match f {
            Ok(None) => {}
            Ok(Some((row, column, value))) => {
                return Err(MlError::NonFinite {
                    file: path,
                    row: row + 1,
                    column: column + 1,
                    byte_offset: (row * cols as u64 + column as u64) * 8,
                    value,
                });
            }
            Err(e) => return Err(MlError::InvalidInput(format!("{path}: {e}"))),
        }
    }
    Ok(())
}

/// The rows of partition `p` of a raw f64 file, in blocks.
fn read_raw_rows(spec: &RawSpec, p: usize) -> std::io::Result<Vec<Block>> {
    let ((lo, hi), cols) = (spec.rows_of(p), spec.cols);
    let mut file = io::open_split_reader(&spec.location, &spec.options, (lo * cols * 8) as u64, (hi * cols * 8) as u64)
        .map_err(|e| std::io::Error::new(e.kind, e.to_string()))?;
    let per_block = rows_per_block(cols);
    let mut blocks = Vec::new();
    let mut row = lo;
    let mut bytes = Vec::new();
    while row < hi {
        let n = per_block.min(hi - row);
        bytes.resize(n * cols * 8, 0);
        file.read_exact(&mut bytes)?;
        let values = bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes"))).collect();
        blocks.push(Array2::from_shape_vec((n, cols), values).expect("n * cols values").into_shared());
        row += n;
    }
    Ok(blocks)
}

/// Writes a block (or any matrix) as raw little-endian f64, row-major (appending).
pub fn append_raw_f64<S: ndarray::Data<Elem = f64>>(path: &Path, block: &ArrayBase<S, Ix2>) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    let mut buf = Vec::with_capacity(block.len() * 8);
    for x in block.iter() {
        buf.extend_from_slice(&x.to_le_bytes());
    }
    file.write_all(&buf)
}

type SparseRow = (f64, Vec<(usize, f64)>);

fn load_libsvm(ctx: &Context, path: &str, cols: Option<usize>, partitions: usize) -> Result<Rdd<LabeledBlock>> {
    let rows: Rdd<SparseRow> = ctx.text_file_parsed(path, partitions, |line| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let mut fields = line.split_whitespace();
        let label = match fields.next().map(str::parse::<f64>) {
            Some(Ok(1.0)) => 1.0,
            Some(Ok(l)) if l == 0.0 || l == -1.0 => 0.0,
            _ => return Err("the label must be 0, 1 or -1".to_string()),
        };
        let mut features = Vec::new();
        for f in fields {
            let (i, v) = f.split_once(':').ok_or_else(|| format!("'{f}' is not index:value"))?;
            let i: usize = i.parse().ok().filter(|&i| i >= 1).ok_or_else(|| format!("'{i}' is not an index ≥ 1"))?;
            let v = parse_finite(v)?;
            features.push((i - 1, v));
        }
        Ok(Some((label, features)))
    })?;
    let cols = match cols {
        Some(c) => c,
        None => rows.map(|(_, f): SparseRow| f.iter().map(|(i, _)| i + 1).max().unwrap_or(0)).fold(0, usize::max)?,
    };
    if cols == 0 {
        return Err(MlError::InvalidInput(format!("{path}: no features")));
    }
    let too_wide = rows.filter_with(cols, |&cols, (_, f)| f.iter().any(|(i, _)| *i >= cols)).count()?;
    if too_wide > 0 {
        return Err(MlError::InvalidInput(format!("{path}: {too_wide} rows have feature indices above --cols {cols}")));
    }
    Ok(rows
        .map_partitions_with(cols, |&cols, _, it| {
            let dense = it.map(move |(label, features)| {
                let mut row = vec![0.0; cols + 1];
                row[0] = label;
                features.into_iter().for_each(|(i, v)| row[i + 1] = v);
                row
            });
            stack_rows(dense, cols + 1, rows_per_block(cols + 1))
        })
        .map(|b: Block| LabeledBlock {
            y: b.column(0).to_shared(),
            x: b.slice(ndarray::s![.., 1..]).as_standard_layout().into_owned().into_shared(),
        }))
}

/// `rows` points around `k` gaussian blobs (unit variance) whose centers are
/// drawn uniformly from [-50, 50]^cols: well separated for small `k`.
/// Partition `i` draws from its own seeded RNG, so a recomputed partition is
/// identical. Returns the blocks and the true centers.
pub fn blobs(
    ctx: &Context,
    rows: usize,
    cols: usize,
    k: usize,
    seed: u64,
    partitions: usize,
) -> Result<(Rdd<Block>, Vec<Vec<f64>>)> {
    blobs_in_box(ctx, rows, cols, k, 50.0, seed, partitions)
}

/// As [`blobs`], with the centers drawn uniformly from `[-half_width,
/// half_width]^cols`: each point is a center chosen uniformly plus N(0, I)
/// noise. With `half_width` 10 and 10 columns (the k-means‖ benchmark's
/// blobs) neighbouring blobs are a few standard deviations apart, close
/// enough that a poor initialization merges two of them.
pub fn blobs_in_box(
    ctx: &Context,
    rows: usize,
    cols: usize,
    k: usize,
    half_width: f64,
    seed: u64,
    partitions: usize,
) -> Result<(Rdd<Block>, Vec<Vec<f64>>)> {
    if rows == 0 || cols == 0 || k == 0 {
        return Err(MlError::InvalidParameter("blobs: rows, cols and k must be positive".into()));
    }
    if !(half_width.is_finite() && half_width >= 0.0) {
        return Err(MlError::InvalidParameter(format!("blobs: half width {half_width} must be finite and ≥ 0")));
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let centers: Vec<Vec<f64>> =
        (0..k).map(|_| (0..cols).map(|_| (rng.random::<f64>() * 2.0 - 1.0) * half_width).collect()).collect();
    let parts = partitions.clamp(1, rows);
    // Partition p holds rows p·rows/parts .. (p+1)·rows/parts: refuse sizes
    // whose arithmetic would overflow inside a task.
    if rows.checked_mul(parts).is_none() || rows.checked_mul(cols).and_then(|n| n.checked_mul(8)).is_none() {
        return Err(MlError::InvalidParameter(format!("blobs: {rows} rows × {cols} columns is too large")));
    }
    let spec = (centers.clone(), seed, rows, parts);
    let points = ctx.range(0, parts as i64, 1, parts)?.flat_map_with(spec, |(centers, seed, rows, parts), p| {
        let p = p as usize;
        let n = (p + 1) * rows / parts - p * rows / parts;
        let mut rng = ember::extend::ops::sample::partition_rng(*seed, p);
        let cols = centers[0].len();
        let points = (0..n).map(move |_| {
            let c = &centers[rng.random_range(0..centers.len())];
            c.iter().map(|x| x + standard_normal(&mut rng)).collect::<Vec<f64>>()
        });
        stack_rows(points, cols, rows_per_block(cols))
    });
    Ok((points, centers))
}

/// A standard normal draw (Box-Muller).
pub fn standard_normal(rng: &mut SmallRng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

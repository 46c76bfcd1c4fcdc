//! Writing records as one Parquet file: a [`BatchEncoder`] gives the schema
//! (traced from a serde record type by [`SerdeRecords`], or named numeric
//! columns by [`F64Columns`]) and turns records into Arrow batches of
//! [`BATCH_ROWS`]; the encoded bytes are handed to the output as the parquet
//! writer produces them.
//!
//! The parquet crate's writer needs a `Send` sink, which a `&mut dyn Write`
//! from the committed-output layer is not; it writes into a `Vec` that is
//! drained into the output after every batch, so at most one row group's
//! encoded bytes (the writer buffers them until the group is full) and one
//! batch are held in memory.

use crate::Data;
use crate::ops::save::PartWriter;
use crate::parquet::decode::traced_fields;
use crate::parquet::error::{ParquetError, serde_arrow_message};
use crate::parquet::{BATCH_ROWS, ParquetWriteOptions};
use crate::task::BoxIter;
use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::io::Write;
use std::marker::PhantomData;
use std::sync::Arc;

/// Turns records into Arrow record batches of one fixed schema: the
/// writing side's [`BatchDecoder`](crate::parquet::BatchDecoder).
pub trait BatchEncoder: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    type Record: Data;
    /// The schema of every batch (and so of every part file).
    fn schema(&self) -> Result<SchemaRef, ParquetError>;
    /// One batch of `records`.
    fn encode(&self, schema: &SchemaRef, records: &[Self::Record]) -> Result<RecordBatch, String>;
}

/// Records of a serde type `T`, one column per field, the schema traced from
/// the type (not from values, so every part file has the same schema, even
/// one whose records are all `None` in some field).
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct SerdeRecords<T> {
    #[serde(skip)]
    _t: PhantomData<fn() -> T>,
}

impl<T> SerdeRecords<T> {
    pub fn new() -> Self {
        SerdeRecords { _t: PhantomData }
    }
}

impl<T> Default for SerdeRecords<T> {
    fn default() -> Self {
        SerdeRecords::new()
    }
}

impl<T> Clone for SerdeRecords<T> {
    fn clone(&self) -> Self {
        SerdeRecords::new()
    }
}

impl<T: Data> BatchEncoder for SerdeRecords<T> {
    type Record = T;
    fn schema(&self) -> Result<SchemaRef, ParquetError> {
        Ok(Arc::new(Schema::new(traced_fields::<T>()?)))
    }
    fn encode(&self, schema: &SchemaRef, records: &[T]) -> Result<RecordBatch, String> {
        serde_arrow::to_record_batch(schema.fields(), &records).map_err(|e| serde_arrow_message(&e))
    }
}

/// Rows of numbers as `Float64` columns named `names` (a row of another
/// length is an error): how the numerical programs save their data.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct F64Columns {
    pub names: Vec<String>,
}

impl BatchEncoder for F64Columns {
    type Record = Vec<f64>;
    fn schema(&self) -> Result<SchemaRef, ParquetError> {
        let fields: Vec<Field> = self.names.iter().map(|n| Field::new(n, DataType::Float64, false)).collect();
        Ok(Arc::new(Schema::new(fields)))
    }
    fn encode(&self, schema: &SchemaRef, rows: &[Vec<f64>]) -> Result<RecordBatch, String> {
        let cols = self.names.len();
        if let Some(row) = rows.iter().find(|r| r.len() != cols) {
            return Err(format!("a row of {} numbers, but there are {cols} columns", row.len()));
        }
        let columns: Vec<ArrayRef> = (0..cols)
            .map(|j| Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r[j]))) as ArrayRef)
            .collect();
        RecordBatch::try_new(schema.clone(), columns).map_err(|e| e.to_string())
    }
}

/// Writes the records of one partition as a Parquet file: the
/// [`PartWriter`] of `save_as_parquet_file`, so parts are committed as every
/// save's are (`part-NNNNN.parquet`, then `_SUCCESS`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ParquetPartWriter<E: BatchEncoder> {
    encoder: E,
    options: ParquetWriteOptions,
}

impl<E: BatchEncoder> ParquetPartWriter<E> {
    pub fn new(encoder: E, options: ParquetWriteOptions) -> Self {
        ParquetPartWriter { encoder, options }
    }
}

impl<E: BatchEncoder> PartWriter<E::Record> for ParquetPartWriter<E> {
    fn extension(&self) -> String {
        ".parquet".to_string()
    }
    /// The committer names the file before the error; so `write_parquet`
    /// is given none.
    fn write(&self, records: BoxIter<E::Record>, out: &mut dyn Write) -> Result<(), String> {
        write_parquet(&self.encoder, records, out, "", &self.options).map_err(|e| match e {
            ParquetError::Write { message, .. } => message,
            other => other.to_string(),
        })
    }
}

/// Writes `records` as one Parquet file to `out` (Snappy-compressed, as
/// Spark writes), `encoder` making the batches; `file` names the output in
/// errors.
pub fn write_parquet<E: BatchEncoder>(
    encoder: &E,
    records: impl Iterator<Item = E::Record>,
    out: &mut dyn Write,
    file: &str,
    options: &ParquetWriteOptions,
) -> Result<(), ParquetError> {
    let schema = encoder.schema()?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(options.row_group_rows))
        .set_created_by(format!("ember {}", env!("CARGO_PKG_VERSION")))
        .build();
    let failed = |message: String| ParquetError::Write { file: file.to_string(), message };
    let mut writer =
        ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties)).map_err(|e| failed(e.to_string()))?;
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut records = records.peekable();
    while records.peek().is_some() {
        batch.clear();
        batch.extend(records.by_ref().take(BATCH_ROWS));
        let arrow = encoder.encode(&schema, &batch).map_err(failed)?;
        writer.write(&arrow).map_err(|e| failed(e.to_string()))?;
        drain(writer.inner_mut(), out).map_err(|e| failed(e.to_string()))?;
    }
    writer.finish().map_err(|e| failed(e.to_string()))?;
    drain(writer.inner_mut(), out).map_err(|e| failed(e.to_string()))
}
/// Moves what the parquet writer produced so far into `out`.
fn drain(encoded: &mut Vec<u8>, out: &mut dyn Write) -> std::io::Result<()> {
    if !encoded.is_empty() {
        out.write_all(encoded)?;
        encoded.clear();
    }
    Ok(())
}

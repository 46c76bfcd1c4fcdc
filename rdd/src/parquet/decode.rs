//! How record batches become records: [`SerdeRows`] for a serde struct whose
//! field names are column names (through `serde_arrow`), [`F64Rows`] for a
//! row of numbers (every column cast to `f64`, for the numerical programs).
//!
//! A decoder travels with the node, so it is serializable; it checks the
//! projected columns against its record type once, on the driver
//! ([`BatchDecoder::check_columns`]), so a column of the wrong type fails the
//! job before any task runs, naming the file and the column.

use crate::Data;
use crate::parquet::error::{ParquetError, serde_arrow_message};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, FieldRef};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_arrow::schema::{SchemaLike, TracingOptions};
use std::marker::PhantomData;

/// Where a batch sits in its file, for errors that name a row.
#[derive(Clone, Copy, Debug)]
pub struct BatchPosition<'a> {
    /// The file's path or URL.
    pub file: &'a str,
    /// The 0-based index in the file of the batch's first row.
    pub first_row: u64,
}

/// Turns the record batches of a Parquet file into records.
pub trait BatchDecoder: Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    type Record: Data;
    /// The node's kind, as `to_debug_string` shows it.
    const KIND: &'static str;
    /// The columns to read when the user names none (`None`: all of them).
    fn default_columns(&self) -> Option<Vec<String>>;
    /// Checks, on the driver, that the projected columns (`fields`, in the
    /// order they will be decoded) can become records.
    fn check_columns(&self, file: &str, fields: &[FieldRef]) -> Result<(), ParquetError>;
    /// The records of one batch, whose columns are in the projection's order.
    fn decode(&self, batch: &RecordBatch, at: BatchPosition<'_>) -> Result<Vec<Self::Record>, ParquetError>;
}

/// Records of a serde type `T` whose field names are column names (serde
/// renames apply), as `serde_arrow` decodes them.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct SerdeRows<T> {
    #[serde(skip)]
    _t: PhantomData<fn() -> T>,
}

impl<T> SerdeRows<T> {
    pub fn new() -> Self {
        SerdeRows { _t: PhantomData }
    }
}

impl<T> Default for SerdeRows<T> {
    fn default() -> Self {
        SerdeRows::new()
    }
}

impl<T> Clone for SerdeRows<T> {
    fn clone(&self) -> Self {
        SerdeRows::new()
    }
}

/// The Arrow fields of `T`, as `serde_arrow` traces them from the type (not
/// from values, so every partition gets the same schema).
pub fn traced_fields<T: DeserializeOwned>() -> Result<Vec<FieldRef>, ParquetError> {
    let options = TracingOptions::default().strings_as_large_utf8(false).sequence_as_large_list(false);
    Vec::<FieldRef>::from_type::<T>(options)
        .map_err(|e| ParquetError::Schema { record: std::any::type_name::<T>(), message: serde_arrow_message(&e) })
}

impl<T: Data> BatchDecoder for SerdeRows<T> {
    type Record = T;
    const KIND: &'static str = "ParquetFileRdd";

    /// The fields of `T`; all columns if `T` cannot be traced (a type that
    /// deserializes itself by hand, say).
    fn default_columns(&self) -> Option<Vec<String>> {
        traced_fields::<T>().ok().map(|fields| fields.iter().map(|f| f.name().clone()).collect())
    }

    /// Each column that `T` has a field for must hold values of the field's
    /// kind (integer, float, string, ...). Integers fit float fields; finer
    /// checks (an `i64` that overflows an `i32` field, a null in a field that
    /// is not an `Option`) happen when rows are decoded.
    fn check_columns(&self, file: &str, fields: &[FieldRef]) -> Result<(), ParquetError> {
        let Ok(expected) = traced_fields::<T>() else { return Ok(()) };
        for field in fields {
            let Some(want) = expected.iter().find(|f| f.name() == field.name()) else { continue };
            if !ValueKind::of(field.data_type()).fits(ValueKind::of(want.data_type())) {
                return Err(ParquetError::ColumnType {
                    file: file.to_string(),
                    column: field.name().clone(),
                    found: field.data_type().to_string(),
                    expected: want.data_type().to_string(),
                    record: std::any::type_name::<T>(),
                });
            }
        }
        Ok(())
    }

    fn decode(&self, batch: &RecordBatch, at: BatchPosition<'_>) -> Result<Vec<T>, ParquetError> {
        serde_arrow::from_record_batch::<Vec<T>>(batch).map_err(|e| ParquetError::Decode {
            file: at.file.to_string(),
            first_row: at.first_row,
            end_row: at.first_row + batch.num_rows() as u64,
            record: std::any::type_name::<T>(),
            message: serde_arrow_message(&e),
        })
    }
}

/// What kind of value a column or field holds, as far as deciding early that
/// one cannot become the other goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ValueKind {
    Integer,
    Float,
    Boolean,
    Text,
    Binary,
    List,
    Struct,
    /// Anything else (dates, decimals, maps, nulls, unions): left for the
    /// decoder to accept or refuse row by row.
    Other,
}

impl ValueKind {
    fn of(t: &DataType) -> ValueKind {
        match t {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => ValueKind::Integer,
            DataType::Float16 | DataType::Float32 | DataType::Float64 => ValueKind::Float,
            DataType::Boolean => ValueKind::Boolean,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => ValueKind::Text,
            DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
                ValueKind::Binary
            }
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) | DataType::ListView(_) => {
                ValueKind::List
            }
            DataType::Struct(_) => ValueKind::Struct,
            DataType::Dictionary(_, values) => ValueKind::of(values),
            _ => ValueKind::Other,
        }
    }

    /// Whether a column of this kind can be read into a field of `field`'s.
    fn fits(self, field: ValueKind) -> bool {
        match (self, field) {
            (ValueKind::Other, _) | (_, ValueKind::Other) => true,
            (ValueKind::Integer, ValueKind::Float) => true,
            (found, wanted) => found == wanted,
        }
    }
}

/// Rows of numbers: each projected column, in the projection's order, cast
/// to `f64` (integers, floats and decimals). A null is an error naming the
/// column and the row; so is NaN or ±infinity when `finite_only` (the
/// numerical programs refuse them, as their text loaders do).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct F64Rows {
    pub finite_only: bool,
}

impl BatchDecoder for F64Rows {
    type Record = Vec<f64>;
    const KIND: &'static str = "ParquetF64Rdd";

    fn default_columns(&self) -> Option<Vec<String>> {
        None
    }

    fn check_columns(&self, file: &str, fields: &[FieldRef]) -> Result<(), ParquetError> {
        match fields.iter().find(|f| !is_numeric(f.data_type())) {
            Some(f) => Err(ParquetError::NotNumeric {
                file: file.to_string(),
                column: f.name().clone(),
                found: f.data_type().to_string(),
            }),
            None => Ok(()),
        }
    }

    fn decode(&self, batch: &RecordBatch, at: BatchPosition<'_>) -> Result<Vec<Vec<f64>>, ParquetError> {
        let cols = batch.num_columns();
        let mut rows = vec![vec![0.0; cols]; batch.num_rows()];
        for (j, (array, field)) in batch.columns().iter().zip(batch.schema().fields()).enumerate() {
            let not_numeric = || ParquetError::NotNumeric {
                file: at.file.to_string(),
                column: field.name().clone(),
                found: field.data_type().to_string(),
            };
            let values = column_as_f64(array.as_ref()).ok_or_else(not_numeric)?;
            for (i, value) in values.enumerate() {
                let what = match value {
                    None => "null".to_string(),
                    Some(x) if self.finite_only && !x.is_finite() => format!("{x} is not a finite number"),
                    Some(_) => String::new(),
                };
                if !what.is_empty() {
                    return Err(ParquetError::BadNumber {
                        file: at.file.to_string(),
                        row: at.first_row + i as u64 + 1,
                        column: field.name().clone(),
                        what,
                    });
                }
                rows[i][j] = value.unwrap_or_default();
            }
        }
        Ok(rows)
    }
}

/// Whether [`F64Rows`] can read a column of this type.
pub fn is_numeric(t: &DataType) -> bool {
    matches!(ValueKind::of(t), ValueKind::Integer | ValueKind::Float) || matches!(t, DataType::Decimal128(..))
}

/// A column's values as `f64` (`None` for a null), or `None` if it is not
/// numeric.
fn column_as_f64(array: &dyn Array) -> Option<Box<dyn Iterator<Item = Option<f64>> + '_>> {
    macro_rules! cast {
        ($($t:ty),*) => {$(
            if let Some(a) = array.as_primitive_opt::<$t>() {
                return Some(Box::new(a.iter().map(|v| v.map(|v| v as f64))));
            }
        )*};
    }
    cast!(Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type);
    cast!(Float32Type, Float64Type);
    if let Some(a) = array.as_primitive_opt::<Float16Type>() {
        return Some(Box::new(a.iter().map(|v| v.map(|v| v.to_f64()))));
    }
    if let Some(a) = array.as_primitive_opt::<Decimal128Type>() {
        let scale = 10f64.powi(a.scale() as i32);
        return Some(Box::new(a.iter().map(move |v| v.map(|v| v as f64 / scale))));
    }
    None
}

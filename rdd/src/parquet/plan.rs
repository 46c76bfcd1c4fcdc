//! Planning a Parquet read on the driver: list the input files, read each
//! one's footer (a few KB at the end of the file, nothing else), resolve the
//! projection by column name, check it against the record type, and make
//! one [`RowGroupSplit`] per non-empty row group.

use crate::error::EmberError;
use crate::io::{InputFile, Location, StoreOptions, list_input_files};
use crate::parquet::ParquetReadOptions;
use crate::parquet::decode::BatchDecoder;
use crate::parquet::error::ParquetError;
use crate::parquet::source::FileSource;
use arrow_schema::{FieldRef, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::file::metadata::ParquetMetaData;
use serde::{Deserialize, Serialize};

/// One row group of one file: the unit of work of a Parquet read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowGroupSplit {
    /// The file (its path or URL as listed).
    pub file: Location,
    /// The file's size in bytes (known from listing, so readers need not ask).
    pub file_size: u64,
    /// The row group's index in the file.
    pub row_group: usize,
    /// The index in the file of the row group's first row.
    pub first_row: u64,
    /// The row group's rows.
    pub rows: u64,
    /// The compressed bytes of the projected columns' chunks: what a task
    /// reads (its input metric), besides the footer.
    pub bytes: u64,
}

/// The plan of a Parquet read: its splits, and the columns every file
/// provides, in the order they are decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParquetPlan {
    pub splits: Vec<RowGroupSplit>,
    pub columns: Vec<String>,
}

/// Plans the read of the Parquet files that `pattern` names (a file, a
/// directory's visible files, or a glob): one split per non-empty row group,
/// files in name order. The columns are `options`' selection, else the
/// decoder's default, else every column of the first file; each file must
/// have them all, with types the decoder accepts.
pub fn plan_row_groups<D: BatchDecoder>(
    pattern: &str,
    store: &StoreOptions,
    options: &ParquetReadOptions,
    decoder: &D,
) -> Result<ParquetPlan, EmberError> {
    let files = list_input_files(pattern, store)?;
    let wanted = options.selected_columns().map(<[String]>::to_vec).or_else(|| decoder.default_columns());
    let mut columns: Option<Vec<String>> = wanted;
    let mut splits = Vec::new();
    for InputFile { location, size } in files {
        let file = location.to_string();
        let footer = read_footer(FileSource::new(location.clone(), store.clone(), size))?;
        let names = columns.get_or_insert_with(|| footer.schema().fields().iter().map(|f| f.name().clone()).collect());
        let projection = resolve_columns(&file, footer.schema(), names)?;
        let fields: Vec<FieldRef> = projection.iter().map(|&i| footer.schema().field(i).clone().into()).collect();
        decoder.check_columns(&file, &fields)?;
        let mask = ProjectionMask::roots(footer.parquet_schema(), projection);
        splits.extend(row_group_splits(&location, size, footer.metadata(), &mask));
    }
    Ok(ParquetPlan { splits, columns: columns.unwrap_or_default() })
}

/// The footer of a file: its metadata and its schema as Arrow sees it.
pub fn read_footer(source: FileSource) -> Result<ArrowReaderMetadata, ParquetError> {
    ArrowReaderMetadata::load(&source, ArrowReaderOptions::new())
        .map_err(|e| ParquetError::reading(&source.location().to_string(), e))
}

/// The indices in `schema` of the columns `names`, in that order; a missing
/// one is an error naming the file, the column and the columns there are.
pub fn resolve_columns(file: &str, schema: &SchemaRef, names: &[String]) -> Result<Vec<usize>, ParquetError> {
    names
        .iter()
        .map(|name| {
            schema.index_of(name).map_err(|_| ParquetError::MissingColumn {
                file: file.to_string(),
                column: name.clone(),
                available: schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(", "),
            })
        })
        .collect()
}

/// One split per row group that has rows.
fn row_group_splits(
    file: &Location,
    size: u64,
    metadata: &ParquetMetaData,
    mask: &ProjectionMask,
) -> Vec<RowGroupSplit> {
    let mut first_row = 0u64;
    let mut splits = Vec::new();
    for (index, group) in metadata.row_groups().iter().enumerate() {
        let rows = group.num_rows().max(0) as u64;
        let bytes = group
            .columns()
            .iter()
            .enumerate()
            .filter(|(leaf, _)| mask.leaf_included(*leaf))
            .map(|(_, chunk)| chunk.compressed_size().max(0) as u64)
            .sum();
        if rows > 0 {
            splits.push(RowGroupSplit {
                file: file.clone(),
                file_size: size,
                row_group: index,
                first_row,
                rows,
                bytes,
            });
        }
        first_row += rows;
    }
    splits
}

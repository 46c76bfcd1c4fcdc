//! `text_file_parsed`: a text source whose lines go through a parser, and
//! whose parse errors name the file and line, as a user fixing the data
//! needs (`data.csv:1042: 'x1' is not a number`).
//!
//! A split does not know how many lines precede it, so the line number is
//! found only when an error happens, by counting the newlines before the
//! offending line's byte offset.

use crate::Data;
use crate::error::{EmberError, TaskError};
use crate::func::Fn1;
use crate::nodes::text_file::{FileSplit, line_number_at, read_split_with_offsets};
use crate::rdd::{Dependency, RddBase, RddMeta, RddNode};
use crate::shipping::{Parents, ShippedNode, from_fields, to_fields};
use crate::task::{BoxIter, TaskContext};
use std::marker::PhantomData;

/// Parses one line: `Ok(Some(record))`, `Ok(None)` to skip it (blank lines,
/// comments), or `Err(why)`.
pub trait LineParser<T>: for<'a> Fn1<&'a str, Result<Option<T>, String>> {}
impl<T, F: for<'a> Fn1<&'a str, Result<Option<T>, String>>> LineParser<T> for F {}

pub struct ParsedTextFileRdd<T, F> {
    meta: RddMeta,
    splits: Vec<FileSplit>,
    parser: F,
    _t: PhantomData<fn() -> T>,
}

impl<T: Data, F: LineParser<T>> ParsedTextFileRdd<T, F> {
    pub fn new(meta: RddMeta, splits: Vec<FileSplit>, parser: F) -> Self {
        ParsedTextFileRdd { meta, splits, parser, _t: PhantomData }
    }
}

impl<T: Data, F: LineParser<T>> RddBase for ParsedTextFileRdd<T, F> {
    common_rdd_base_methods!("ParsedTextFileRdd");
    fn num_partitions(&self) -> usize {
        self.splits.len()
    }
    fn dependencies(&self) -> Vec<Dependency> {
        Vec::new()
    }
}

impl<T: Data, F: LineParser<T>> RddNode<T> for ParsedTextFileRdd<T, F> {
    fn compute(&self, split: usize, _: &TaskContext) -> Result<BoxIter<T>, TaskError> {
        let split = self.splits.get(split).ok_or_else(|| TaskError::engine("parsed text file: no such split"))?;
        let mut records = Vec::new();
        for (offset, line) in read_split_with_offsets(split)? {
            match self.parser.call(&line) {
                Ok(Some(r)) => records.push(r),
                Ok(None) => {}
                Err(why) => {
                    let at = line_number_at(&split.path, offset)
                        .map(|n| n.to_string())
                        .unwrap_or_else(|_| format!("byte {offset}"));
                    return Err(TaskError::input(format!("{}:{at}: {why}", split.path.display())));
                }
            }
        }
        Ok(Box::new(records.into_iter()))
    }
}

impl<T: Data, F: LineParser<T>> ShippedNode for ParsedTextFileRdd<T, F> {
    type Item = T;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&(&self.splits, &self.parser))
    }
    fn rebuild(meta: RddMeta, fields: &[u8], _: &Parents<'_>) -> Result<Self, TaskError> {
        let (splits, parser): (Vec<FileSplit>, F) = from_fields(fields)?;
        Ok(ParsedTextFileRdd { meta, splits, parser, _t: PhantomData })
    }
}

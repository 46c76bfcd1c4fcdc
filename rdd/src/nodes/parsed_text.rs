//! `text_file_parsed`: a text source whose lines go through a parser, and
//! whose parse errors name the file and line, as a user fixing the data
//! needs (`data.csv:1042: 'x1' is not a number`). It is a
//! [`TextFileRdd`] (same splits, same node) with the [`ParsedLines`] reader.
//!
//! A split does not know how many lines precede it, so the line number is
//! found only when an error happens, by counting the newlines before the
//! offending line's byte offset.

use crate::Data;
use crate::error::TaskError;
use crate::func::Fn1;
use crate::io::StoreOptions;
use crate::nodes::text_file::{FileSplit, SplitReader, TextFileRdd, describe_line};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::marker::PhantomData;

/// Parses one line: `Ok(Some(record))`, `Ok(None)` to skip it (blank lines,
/// comments), or `Err(why)`.
pub trait LineParser<T>: for<'a> Fn1<&'a str, Result<Option<T>, String>> {}
impl<T, F: for<'a> Fn1<&'a str, Result<Option<T>, String>>> LineParser<T> for F {}

/// The node behind `text_file_parsed`.
pub type ParsedTextFileRdd<T, F> = TextFileRdd<ParsedLines<T, F>>;

/// `text_file_parsed`'s reader: each line through `parser`.
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "F: Serialize", deserialize = "F: DeserializeOwned"))]
pub struct ParsedLines<T, F> {
    parser: F,
    #[serde(skip)]
    _t: PhantomData<fn() -> T>,
}

impl<T: Data, F: LineParser<T>> ParsedLines<T, F> {
    pub fn new(parser: F) -> Self {
        ParsedLines { parser, _t: PhantomData }
    }
}

impl<T: Data, F: LineParser<T>> SplitReader for ParsedLines<T, F> {
    type Record = T;
    const KIND: &'static str = "ParsedTextFileRdd";
    fn records(
        &self,
        split: &FileSplit,
        options: &StoreOptions,
        lines: Vec<(u64, String)>,
    ) -> Result<Vec<T>, TaskError> {
        let mut records = Vec::new();
        for (offset, line) in lines {
            match self.parser.call(&line) {
                Ok(Some(r)) => records.push(r),
                Ok(None) => {}
                Err(why) => {
                    return Err(TaskError::deterministic(format!("{}: {why}", describe_line(split, options, offset))));
                }
            }
        }
        Ok(records)
    }
}

//! JSON lines (one JSON value per line, as Spark's `spark.read.json` and
//! `df.write.json` use): `Context::json_file` reads them through
//! `text_file_parsed` with [`parse_json_line`], so a bad line fails the job
//! with `file:line: reason`; [`Rdd::save_as_json_file`] writes them through
//! the committed output of every save, as text is (the same layout, the
//! same codecs: `part-00000.json`, or `part-00000.json.gz`).

use crate::Data;
use crate::error::EmberError;
use crate::io::{AsLocation, Codec};
use crate::ops::block_on;
use crate::ops::save::PartWriter;
use crate::rdd::Rdd;
use crate::task::BoxIter;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::Write;

/// One line of a JSON-lines file as a `T`: blank lines are skipped (`None`);
/// a line that is not a `T` is an error giving the column where parsing
/// stopped and the record type (the engine puts the file and line before it).
pub fn parse_json_line<T: DeserializeOwned>(line: &str) -> Result<Option<T>, String> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(line).map(Some).map_err(|e| {
        // serde_json says "at line 1 column 7": within this one line, so
        // only the column means anything here.
        let message = e.to_string();
        let reason = message.rsplit_once(" at line ").map_or(message.as_str(), |(reason, _)| reason);
        format!("not a JSON {}: {reason} (column {})", std::any::type_name::<T>(), e.column())
    })
}

/// One JSON object per line, optionally compressed: the [`PartWriter`] of
/// `save_as_json_file`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct JsonLines {
    pub codec: Option<Codec>,
}

impl<T: Serialize> PartWriter<T> for JsonLines {
    fn extension(&self) -> String {
        format!(".json{}", self.codec.map_or("", Codec::extension))
    }
    /// A record serde_json cannot write (a map whose keys are not strings)
    /// fails the task, saying which record type it was.
    fn write(&self, records: BoxIter<T>, out: &mut dyn Write) -> Result<(), String> {
        match self.codec {
            None => write_json_lines(records, out),
            Some(codec) => {
                let mut encoder = codec.encoder(out).map_err(|e| e.to_string())?;
                write_json_lines(records, &mut encoder)?;
                encoder.finish().map(drop).map_err(|e| e.to_string())
            }
        }
    }
}

fn write_json_lines<T: Serialize>(records: BoxIter<T>, out: &mut dyn Write) -> Result<(), String> {
    let mut line = Vec::new();
    for record in records {
        line.clear();
        serde_json::to_writer(&mut line, &record)
            .map_err(|e| format!("a {} cannot be written as JSON: {e}", std::any::type_name::<T>()))?;
        line.push(b'\n');
        out.write_all(&line).map_err(|e| e.to_string())?;
    }
    Ok(())
}

impl<T: Data> Rdd<T> {
    /// Writes each partition as a JSON-lines file `part-NNNNN.json` (one
    /// JSON value per line, serde's form of the record) into the directory
    /// `path` (a path or an `s3://` URL), then `_SUCCESS`, committed as
    /// `save_as_text_file` is (Spark's `df.write.json(path)`).
    /// `Context::json_file` reads it back.
    #[track_caller]
    pub fn save_as_json_file(&self, path: impl AsLocation) -> Result<(), EmberError> {
        block_on(self.save_committed(path, JsonLines { codec: None }))
    }

    /// [`save_as_json_file`](Self::save_as_json_file) with compressed part
    /// files (`part-00000.json.gz` for [`Codec::Gzip`]).
    #[track_caller]
    pub fn save_as_json_file_with_codec(&self, path: impl AsLocation, codec: Codec) -> Result<(), EmberError> {
        block_on(self.save_committed(path, JsonLines { codec: Some(codec) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Person {
        name: String,
        age: u32,
    }

    #[test]
    fn a_line_parses_blank_lines_skip_and_bad_lines_say_why_and_where() {
        let p: Option<Person> = parse_json_line(r#"{"name":"ada","age":36}"#).unwrap();
        assert_eq!(p, Some(Person { name: "ada".into(), age: 36 }));
        assert_eq!(parse_json_line::<Person>("   ").unwrap(), None);
        let err = parse_json_line::<Person>(r#"{"name":"ada","age":"x"}"#).unwrap_err();
        assert!(
            err.contains("Person") && err.contains("invalid type: string \"x\"") && err.contains("column 23"),
            "{err}"
        );
        assert!(!err.contains("line 1"), "{err}");
        let err = parse_json_line::<Person>(r#"{"name":"ada"}"#).unwrap_err();
        assert!(err.contains("missing field `age`"), "{err}");
    }
}

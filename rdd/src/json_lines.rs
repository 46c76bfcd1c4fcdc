//! JSON lines (one JSON value per line, as Spark's `spark.read.json` and
//! `df.write.json` use): `Context::json_file` reads them through
//! `text_file_parsed` with [`parse_json_line`], so a bad line fails the job
//! with `file:line: reason`, and `Rdd::save_as_json_file` writes them.

use serde::de::DeserializeOwned;

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

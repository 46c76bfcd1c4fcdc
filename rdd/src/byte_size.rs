//! Sizes written as people write them: `512m`, `2g`, `64kb`, `1048576b`.
//!
//! One parser for every place Ember reads a size (the daemon's `--memory`,
//! `ember-submit --executor-memory`, the `ember.executor.memory` key), with
//! Spark's rules for `--executor-memory`: a whole number, then optionally a
//! binary unit `b`, `k`/`kb`, `m`/`mb`, `g`/`gb` or `t`/`tb` in any case; a
//! bare number is MiB. No fractions (`1.5g`) and no space inside (`2 g`), as
//! Spark. Callers put the flag or key in front of the error.

/// Why a size did not parse; its message completes "`--memory 2x: ...`".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ByteSizeError {
    /// Not digits followed by a known unit.
    #[error("not a size like 512m or 2g (a whole number, then b, k, m, g or t; a bare number is MiB)")]
    Malformed,
    /// More bytes than a u64 holds.
    #[error("too large (at most 16 EiB)")]
    TooLarge,
}

/// Parses a size into bytes; see the module doc for what is accepted.
pub fn parse(s: &str) -> Result<u64, ByteSizeError> {
    let s = s.trim().to_ascii_lowercase();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = s.split_at(digits);
    let shift = match unit {
        "b" => 0,
        "k" | "kb" => 10,
        "" | "m" | "mb" => 20,
        "g" | "gb" => 30,
        "t" | "tb" => 40,
        _ => return Err(ByteSizeError::Malformed),
    };
    if number.is_empty() {
        return Err(ByteSizeError::Malformed);
    }
    let number: u64 = number.parse().map_err(|_| ByteSizeError::TooLarge)?;
    number.checked_mul(1 << shift).ok_or(ByteSizeError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_in_either_case_and_a_bare_number_is_mib() {
        assert_eq!(parse("12b"), Ok(12));
        assert_eq!(parse("64k"), Ok(64 << 10));
        assert_eq!(parse("64KB"), Ok(64 << 10));
        assert_eq!(parse("512m"), Ok(512 << 20));
        assert_eq!(parse("512Mb"), Ok(512 << 20));
        assert_eq!(parse("100"), Ok(100 << 20));
        assert_eq!(parse(" 2G "), Ok(2 << 30));
        assert_eq!(parse("2gb"), Ok(2 << 30));
        assert_eq!(parse("3t"), Ok(3 << 40));
        assert_eq!(parse("3TB"), Ok(3 << 40));
        assert_eq!(parse("0"), Ok(0));
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "g", "lots", "2x", "2 g", "1.5g", "-1m", "+1m", "2gib", "2bb", "m2"] {
            assert_eq!(parse(bad), Err(ByteSizeError::Malformed), "{bad:?}");
        }
        assert_eq!(parse("16777216t"), Err(ByteSizeError::TooLarge));
        assert_eq!(parse("99999999999999999999999"), Err(ByteSizeError::TooLarge));
        assert!(ByteSizeError::Malformed.to_string().starts_with("not a size like 512m or 2g"));
    }
}

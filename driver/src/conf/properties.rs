//! The properties-file format of `conf/ember-defaults.conf`, `--properties-file`
//! and `EMBER_CONF`: the rules of Java's `.properties` (and so of Spark's
//! `spark-defaults.conf`) that such files use.
//!
//! - Lines whose first non-blank character is `#` or `!` are comments; blank
//!   lines are skipped; a UTF-8 byte order mark at the start is skipped.
//! - The key ends at the first whitespace, `=` or `:` not escaped by a
//!   backslash (`\=` puts a `=` in a key); then come optional whitespace and
//!   at most one `=` or `:`, and the rest of the line, trimmed, is the value.
//!   So `ember.app.name  my=app`, `ember.app.name=my=app` and
//!   `ember.app.name : my=app` all give the value `my=app`.
//! - A key with nothing after it is an error (naming the file and line);
//!   `key=` is an empty value, as in Java.
//!
//! Not supported, unlike Java: line continuations (a trailing `\`), `\uXXXX`
//! and other escapes in values (a value is taken as written, backslashes
//! included), and `\t`/`\n` escapes in keys.

use ember_rdd::EmberError;

/// The `(key, value)` pairs of a properties text, in order; `origin` names
/// the source in errors (`conf/ember-defaults.conf:3: ...`).
pub(super) fn parse(text: &str, origin: &str) -> Result<Vec<(String, String)>, EmberError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut pairs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with(['#', '!']) {
            continue;
        }
        let bad = |what: &str| EmberError::Config(format!("{origin}:{}: {what}, got '{line}'", i + 1));
        let (key, rest) = split_key(line);
        if key.is_empty() {
            return Err(bad("expected key=value, the key is missing"));
        }
        let rest = rest.trim_start();
        let value = match rest.strip_prefix(['=', ':']) {
            Some(value) => value,
            None if rest.is_empty() => return Err(bad(&format!("expected key=value, {key} has no value"))),
            None => rest,
        };
        pairs.push((key, value.trim().to_string()));
    }
    Ok(pairs)
}

/// The key at the start of `line` (escapes resolved) and the rest of the line.
fn split_key(line: &str) -> (String, &str) {
    let mut key = String::new();
    let mut chars = line.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => key.push(escaped),
                None => return (key, ""),
            },
            '=' | ':' => return (key, &line[at..]),
            c if c.is_whitespace() => return (key, &line[at..]),
            c => key.push(c),
        }
    }
    (key, "")
}

/// `key` as written in a properties text so that [`parse`] reads it back:
/// backslashes, separators, whitespace and a leading comment mark escaped.
pub(crate) fn escape_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for (i, c) in key.chars().enumerate() {
        if matches!(c, '\\' | '=' | ':') || c.is_whitespace() || (i == 0 && matches!(c, '#' | '!')) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> (String, String) {
        let pairs = parse(line, "f").unwrap();
        assert_eq!(pairs.len(), 1, "{line:?}: {pairs:?}");
        pairs.into_iter().next().unwrap()
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn the_key_ends_at_the_first_whitespace_equals_or_colon() {
        assert_eq!(one("ember.app.name  my=app"), pair("ember.app.name", "my=app"));
        assert_eq!(one("ember.app.name=my=app"), pair("ember.app.name", "my=app"));
        assert_eq!(one("ember.app.name:value"), pair("ember.app.name", "value"));
        assert_eq!(one("key = value "), pair("key", "value"));
        assert_eq!(one("key\t: a b:c"), pair("key", "a b:c"));
        assert_eq!(one("  key==v"), pair("key", "=v"));
        assert_eq!(one("key ="), pair("key", ""));
        assert_eq!(one("ember.master ember://a:1,b:2"), pair("ember.master", "ember://a:1,b:2"));
        assert_eq!(one(r"a\=b\ c\:d = v\x"), pair("a=b c:d", r"v\x"));
    }

    #[test]
    fn comments_blank_lines_and_a_byte_order_mark_are_skipped() {
        let text = "\u{feff}# hash\n  ! bang\n\n\t\nember.seed 3\r\nember.app.name=x\n";
        let pairs = parse(text, "f").unwrap();
        assert_eq!(pairs, vec![pair("ember.seed", "3"), pair("ember.app.name", "x")]);
    }

    #[test]
    fn a_key_without_a_value_names_the_origin_and_line() {
        let e = parse("ok=1\n\nember.seed\n", "conf/x.conf").unwrap_err().to_string();
        assert!(e.contains("conf/x.conf:3: expected key=value, ember.seed has no value"), "{e}");
        let e = parse("ok=1\nember.seed   \n", "f").unwrap_err().to_string();
        assert!(e.contains("f:2: "), "{e}");
        let e = parse("= v\n", "f").unwrap_err().to_string();
        assert!(e.contains("f:1: expected key=value, the key is missing"), "{e}");
    }

    #[test]
    fn escaped_keys_read_back_as_they_were() {
        for key in ["ember.seed", "a=b", "a:b", "a b", r"a\b", "#a", "!a", "a#b"] {
            let line = format!("{}=v", escape_key(key));
            assert_eq!(one(&line), pair(key, "v"), "{line}");
        }
    }
}

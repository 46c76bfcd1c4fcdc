//! Records as a table: what `Rdd::show(n)` returns, and how a `Vec` of
//! results is shown in a notebook (`Table::from(vec)`: a `Vec` cannot get
//! an `evcxr_display` method of Ember's).
//!
//! Columns come from the records' shape (see `cells`): a struct's fields, a
//! tuple's `.0`, `.1`, …, else one `value` column; when records do not all
//! have the first one's columns (an enum's variants), each record is one
//! cell. At most [`DEFAULT_ROWS`] rows are kept unless asked otherwise;
//! the rest are counted ("… 980 more rows") or, for `show`, which does not
//! count the RDD, noted ("only showing the first 20 rows"), as Spark's
//! `Dataset.show` does.
//!
//! The plain form is a fixed-width table in Spark's style, its cells cut at
//! [`PLAIN_CELL_WIDTH`] characters; the HTML form is a `<table>` with every
//! cell escaped.

use super::cells::{cells_of, text_of};
use super::{RichDisplay, escape_html};
use serde::Serialize;
use std::fmt;

/// Rows shown when nobody said how many (Spark's `show()` shows 20).
pub const DEFAULT_ROWS: usize = 20;

/// Characters of a cell shown in the plain form; longer cells end with `…`.
pub const PLAIN_CELL_WIDTH: usize = 40;

/// Rows of a table that are not shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hidden {
    /// Every row is shown.
    None,
    /// This many rows are not shown.
    Exactly(u64),
    /// There are more rows, not counted (`Rdd::show` takes one row more
    /// than it shows rather than counting the RDD).
    Some,
}

/// A small table of text cells, displayed as HTML in Jupyter and as a
/// fixed-width table in the REPL and with `{}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    hidden: Hidden,
}

impl Table {
    /// A table of ready-made cells; every row should have one cell per column.
    pub fn new(columns: Vec<String>, rows: Vec<Vec<String>>) -> Table {
        Table { columns, rows, hidden: Hidden::None }
    }

    /// The first `max_rows` of `records`, one row each; the others are
    /// counted as hidden.
    pub fn from_records<'a, T: Serialize + 'a>(records: impl IntoIterator<Item = &'a T>, max_rows: usize) -> Table {
        let mut iter = records.into_iter();
        let shown: Vec<&T> = iter.by_ref().take(max_rows).collect();
        let rest = iter.count() as u64;
        let mut table = Table::of_records(&shown);
        table.hidden = if rest == 0 { Hidden::None } else { Hidden::Exactly(rest) };
        table
    }

    /// Every record of `records`, one row each.
    pub(crate) fn of_records<T: Serialize>(records: &[&T]) -> Table {
        let cells: Vec<_> = records.iter().map(|r| cells_of(*r)).collect();
        let same_shape = cells.windows(2).all(|w| w[0].names == w[1].names);
        let Some(first) = cells.first().filter(|_| same_shape) else {
            let rows = records.iter().map(|r| vec![text_of(*r)]).collect();
            return Table::new(vec!["value".into()], rows);
        };
        let columns = first.names.clone();
        Table::new(columns, cells.into_iter().map(|c| c.values).collect())
    }

    /// Notes rows left out of the table.
    pub fn with_hidden(mut self, hidden: Hidden) -> Table {
        self.hidden = hidden;
        self
    }

    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The rows shown, as text cells.
    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    pub fn hidden(&self) -> Hidden {
        self.hidden
    }

    fn footer(&self) -> Option<String> {
        match self.hidden {
            Hidden::None => None,
            Hidden::Exactly(1) => Some("… 1 more row".into()),
            Hidden::Exactly(n) => Some(format!("… {n} more rows")),
            Hidden::Some => Some(format!("only showing the first {} rows", self.rows.len())),
        }
    }

    /// The fixed-width form:
    ///
    /// ```text
    /// +-----+---+
    /// |.0   |.1 |
    /// +-----+---+
    /// |apple|3  |
    /// +-----+---+
    /// ```
    pub fn to_plain(&self) -> String {
        let cell = |s: &str| plain_cell(s);
        let header: Vec<String> = self.columns.iter().map(|c| cell(c)).collect();
        let body: Vec<Vec<String>> = self.rows.iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
        let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
        for row in &body {
            for (i, c) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(c.chars().count());
                }
            }
        }
        let rule: String = widths.iter().fold("+".to_string(), |acc, w| acc + &"-".repeat(*w) + "+");
        let line = |cells: &[String]| -> String {
            widths.iter().enumerate().fold("|".to_string(), |acc, (i, w)| {
                let c = cells.get(i).map_or("", String::as_str);
                acc + c + &" ".repeat(w - c.chars().count().min(*w)) + "|"
            })
        };
        let mut out = vec![rule.clone(), line(&header), rule.clone()];
        out.extend(body.iter().map(|r| line(r)));
        if !body.is_empty() {
            out.push(rule);
        }
        if body.is_empty() {
            out.push("(no rows)".into());
        }
        out.extend(self.footer());
        out.join("\n")
    }

    /// The HTML form: a `<table>`, every cell escaped, and the footer.
    pub fn to_html(&self) -> String {
        let mut html = String::from("<table class=\"ember-table\"><thead><tr>");
        for c in &self.columns {
            html.push_str(&format!("<th>{}</th>", escape_html(c)));
        }
        html.push_str("</tr></thead><tbody>");
        for row in &self.rows {
            html.push_str("<tr>");
            for c in row {
                html.push_str(&format!("<td style=\"text-align:left\">{}</td>", escape_html(c)));
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table>");
        if self.rows.is_empty() {
            html.push_str("<p><i>no rows</i></p>");
        }
        if let Some(footer) = self.footer() {
            html.push_str(&format!("<p>{}</p>", escape_html(&footer)));
        }
        html
    }

    pub fn rich_display(&self) -> RichDisplay {
        RichDisplay::new(self.to_plain(), self.to_html())
    }

    /// Shows the table in evcxr (Jupyter, REPL): see [`crate::display`].
    pub fn evcxr_display(&self) {
        self.rich_display().print_for_evcxr();
    }
}

/// A cell for the plain form: control characters escaped (a newline would
/// break the row), cut at [`PLAIN_CELL_WIDTH`] characters.
fn plain_cell(s: &str) -> String {
    let chars: Vec<char> = s
        .chars()
        .flat_map(|c| -> Vec<char> {
            if c.is_control() { c.escape_debug().collect() } else { vec![c] }
        })
        .collect();
    if chars.len() <= PLAIN_CELL_WIDTH {
        return chars.into_iter().collect();
    }
    chars[..PLAIN_CELL_WIDTH - 1].iter().chain(['…'].iter()).collect()
}

impl<T: Serialize> From<Vec<T>> for Table {
    /// The first [`DEFAULT_ROWS`] records; see [`Table::from_records`] for more.
    fn from(records: Vec<T>) -> Table {
        Table::from_records(&records, DEFAULT_ROWS)
    }
}

impl<T: Serialize> From<&[T]> for Table {
    fn from(records: &[T]) -> Table {
        Table::from_records(records, DEFAULT_ROWS)
    }
}

impl<T: Serialize> From<&Vec<T>> for Table {
    fn from(records: &Vec<T>) -> Table {
        Table::from_records(records, DEFAULT_ROWS)
    }
}

impl fmt::Display for Table {
    /// The plain, fixed-width form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_plain())
    }
}

impl fmt::Debug for Table {
    /// The plain form on its own lines (so `Ok(table)` reads as a table).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{}\n", self.to_plain())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[test]
    fn pairs_become_two_columns() {
        let table = Table::from(vec![("apple".to_string(), 3u64), ("kiwi".to_string(), 12)]);
        assert_eq!(
            table.to_plain(),
            "+-----+--+\n\
             |.0   |.1|\n\
             +-----+--+\n\
             |apple|3 |\n\
             |kiwi |12|\n\
             +-----+--+"
        );
        assert_eq!(
            table.to_html(),
            "<table class=\"ember-table\"><thead><tr><th>.0</th><th>.1</th></tr></thead><tbody>\
             <tr><td style=\"text-align:left\">apple</td><td style=\"text-align:left\">3</td></tr>\
             <tr><td style=\"text-align:left\">kiwi</td><td style=\"text-align:left\">12</td></tr>\
             </tbody></table>"
        );
    }

    #[test]
    fn a_script_in_a_record_is_escaped_in_html_and_kept_in_plain() {
        #[derive(Serialize)]
        struct Comment {
            author: String,
            text: String,
        }
        let evil = "<script>alert('x')</script>";
        let table = Table::from(vec![Comment { author: "a&b".into(), text: evil.into() }]);
        let html = table.to_html();
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("<th>author</th><th>text</th>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), "{html}");
        assert!(html.contains(">a&amp;b<"), "{html}");
        assert!(table.to_plain().contains(evil));
        // Both forms go into the blocks evcxr reads.
        let blocks = table.rich_display().evcxr_blocks();
        assert!(blocks.starts_with("EVCXR_BEGIN_CONTENT text/plain\n+--"), "{blocks}");
        assert!(blocks.contains("EVCXR_BEGIN_CONTENT text/html\n<table"), "{blocks}");
    }

    #[test]
    fn rows_beyond_the_limit_are_counted() {
        let table = Table::from((0..1000u32).collect::<Vec<_>>());
        assert_eq!(table.rows().len(), DEFAULT_ROWS);
        assert_eq!(table.hidden(), Hidden::Exactly(980));
        assert!(table.to_plain().ends_with("+\n… 980 more rows"));
        assert!(table.to_html().ends_with("<p>… 980 more rows</p>"));
        let five = Table::from_records(&[1, 2, 3], 2);
        assert!(five.to_plain().ends_with("… 1 more row"));
        let shown = Table::from_records(&[1, 2], 2).with_hidden(Hidden::Some);
        assert!(shown.to_plain().ends_with("only showing the first 2 rows"));
    }

    #[test]
    fn records_of_different_shapes_are_one_column_each() {
        #[derive(Serialize)]
        enum Event {
            Click { x: u32 },
            Key(char),
        }
        let table = Table::from(vec![Event::Click { x: 3 }, Event::Key('q')]);
        assert_eq!(table.columns(), ["value"]);
        assert_eq!(table.rows(), [vec!["Click { x: 3 }".to_string()], vec!["Key('q')".to_string()]]);
    }

    #[test]
    fn long_and_multiline_cells_keep_the_plain_table_straight() {
        let table = Table::from(vec!["x".repeat(100), "two\nlines".into()]);
        let plain = table.to_plain();
        assert!(plain.lines().all(|l| l.chars().count() == PLAIN_CELL_WIDTH + 2 || !l.starts_with(['|', '+'])));
        assert!(plain.contains(r"|two\nlines"), "{plain}");
        let empty = Table::from(Vec::<u8>::new());
        assert_eq!(empty.to_plain(), "+-----+\n|value|\n+-----+\n(no rows)");
    }
}

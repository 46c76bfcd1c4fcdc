//! Rich display in Jupyter and the evcxr REPL: what an [`Rdd`](crate::Rdd),
//! a [`JobFuture`](crate::JobFuture) or a [`Table`] of records shows when it
//! is the last expression of a cell.
//!
//! # The protocol (evcxr 0.22)
//! evcxr compiles a cell's final expression `e` as `(e).evcxr_display();`
//! and, if that does not compile, falls back to printing `{:?}` as
//! `text/plain`. So any method named `evcxr_display` that method-call
//! syntax finds works: an inherent method, or a trait method with the
//! trait in scope. Ember's types have **inherent** methods, so they work
//! whatever the cell imported (`use ember::{Context, Conf}` is enough).
//!
//! The method prints, to stdout, one or more blocks:
//!
//! ```text
//! EVCXR_BEGIN_CONTENT text/plain
//! <JobFuture job 3: running 5 of 8 tasks> [######....] 62%
//! EVCXR_END_CONTENT
//! EVCXR_BEGIN_CONTENT text/html
//! <div class="ember-job">…<progress value="5" max="8"></progress></div>
//! EVCXR_END_CONTENT
//! ```
//!
//! evcxr reads the child's stdout line by line: a line containing
//! `EVCXR_BEGIN_CONTENT <mime>` opens a block, the content runs to the
//! first line that *equals* `EVCXR_END_CONTENT`, and the blocks are kept
//! per MIME type (a second block of one type replaces the first). The
//! Jupyter kernel sends every block as one `execute_result`, whose front
//! end shows the richest type (HTML); the REPL prints the `text/plain`
//! block only, and shows nothing when there is none. So every value here
//! prints both: a plain form for the REPL, an HTML form for notebooks.
//!
//! # Layout of the code
//! Rendering is separate from printing, so it is tested without evcxr: each
//! type has `rich_display() -> RichDisplay` (both forms, as strings) and
//! `evcxr_display()`, which only prints that with
//! [`RichDisplay::print_for_evcxr`]. A display is a snapshot: Jupyter
//! shows the output of a cell once, so a running job's progress bar does
//! not move; evaluating the future again shows where it is now.
//!
//! - this module: [`RichDisplay`], the protocol, [`escape_html`];
//! - [`table`]: [`Table`], records as rows (`Rdd::show(n)`, `Table::from(vec)`);
//! - `cells`: how a record becomes cells (through serde: records are
//!   [`Data`](crate::Data), which implies `Serialize`, not `Debug`);
//! - `rdd`, `job`: the displays of [`Rdd`](crate::Rdd), [`JobFuture`](crate::JobFuture)
//!   and [`JobHandle`](crate::JobHandle).
//!
//! The driver's `Context` and ember-ml's models have their displays in their
//! own crates' `display` modules, built from these parts.

mod cells;
mod job;
mod rdd;
pub mod table;

pub use table::{DEFAULT_ROWS, Table};

use std::fmt::Write as _;
use std::io::Write as _;

/// The line that opens a block, followed by a space and the MIME type.
pub const BEGIN_CONTENT: &str = "EVCXR_BEGIN_CONTENT";
/// The line that closes a block.
pub const END_CONTENT: &str = "EVCXR_END_CONTENT";

/// What a value shows: a plain-text form (the REPL, and any front end that
/// has no HTML) and an HTML fragment (Jupyter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RichDisplay {
    /// Shown by the evcxr REPL; may span several lines.
    pub plain: String,
    /// Shown by Jupyter: a fragment whose text is escaped ([`escape_html`]).
    pub html: String,
}

impl RichDisplay {
    pub fn new(plain: impl Into<String>, html: impl Into<String>) -> Self {
        RichDisplay { plain: plain.into(), html: html.into() }
    }

    /// The blocks evcxr reads from stdout: `text/plain`, then `text/html`.
    pub fn evcxr_blocks(&self) -> String {
        let mut out = String::with_capacity(self.plain.len() + self.html.len() + 128);
        for (mime, content) in [("text/plain", &self.plain), ("text/html", &self.html)] {
            let _ = writeln!(out, "{BEGIN_CONTENT} {mime}");
            for line in content.lines() {
                out.push_str(line);
                // A content line equal to the end marker would end the block
                // early: a trailing space keeps it content.
                if line.trim_end_matches('\r') == END_CONTENT {
                    out.push(' ');
                }
                out.push('\n');
            }
            out.push_str(END_CONTENT);
            out.push('\n');
        }
        out
    }

    /// Prints [`Self::evcxr_blocks`] in one write on locked stdout (so no
    /// other Rust output lands inside a block), as evcxr's docs advise.
    pub fn print_for_evcxr(&self) {
        let blocks = self.evcxr_blocks();
        let mut out = std::io::stdout().lock();
        // Nothing to do if stdout is gone: the display is lost, not the work.
        let _ = out.write_all(blocks.as_bytes()).and_then(|()| out.flush());
    }
}

/// `s`, safe inside HTML text and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number for a summary: up to 6 significant decimals for ordinary
/// magnitudes (`0.125`, `1234.5`), scientific otherwise (`1.2346e-7`).
/// `NaN` and `inf` as `Debug` writes them. Records in tables keep their
/// full precision; this is for ML summaries.
pub fn format_f64(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return format!("{x:?}");
    }
    let magnitude = x.abs();
    if (1e-4..1e9).contains(&magnitude) {
        let s = format!("{x:.6}");
        let s = s.trim_end_matches('0');
        s.strip_suffix('.').unwrap_or(s).to_string()
    } else {
        format!("{x:.4e}")
    }
}

/// `alloc::vec::Vec<(alloc::string::String, u64)>` as `Vec<(String, u64)>`:
/// a type name without its module paths, for headings.
pub fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment = String::new();
    for c in full.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            segment.push(c);
        } else {
            out.push_str(segment.rsplit("::").next().unwrap_or(""));
            segment.clear();
            out.push(c);
        }
    }
    out.push_str(segment.rsplit("::").next().unwrap_or(""));
    out
}

/// A text progress bar of `width` cells: `[######....]`.
pub(crate) fn text_bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done.min(total) * width).checked_div(total).unwrap_or(0);
    format!("[{}{}]", "#".repeat(filled), ".".repeat(width - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_follow_the_evcxr_protocol() {
        let rich = RichDisplay::new("two\nlines", "<b>x</b>");
        assert_eq!(
            rich.evcxr_blocks(),
            "EVCXR_BEGIN_CONTENT text/plain\ntwo\nlines\nEVCXR_END_CONTENT\n\
             EVCXR_BEGIN_CONTENT text/html\n<b>x</b>\nEVCXR_END_CONTENT\n"
        );
    }

    #[test]
    fn content_cannot_end_its_block_early() {
        let rich = RichDisplay::new("EVCXR_END_CONTENT\nafter", "");
        let blocks = rich.evcxr_blocks();
        let plain: Vec<&str> = blocks.lines().skip(1).take_while(|l| *l != END_CONTENT).collect();
        assert_eq!(plain, ["EVCXR_END_CONTENT ", "after"]);
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html(r#"<script>alert('x' & "y")</script>"#),
            "&lt;script&gt;alert(&#39;x&#39; &amp; &quot;y&quot;)&lt;/script&gt;"
        );
    }

    #[test]
    fn numbers_and_type_names_read_short() {
        assert_eq!(format_f64(0.125), "0.125");
        assert_eq!(format_f64(1234.5), "1234.5");
        assert_eq!(format_f64(3.0), "3");
        assert_eq!(format_f64(-1.234_567_89e-7), "-1.2346e-7");
        assert_eq!(format_f64(-0.0), "0");
        assert_eq!(format_f64(f64::NAN), "NaN");
        assert_eq!(short_type_name("alloc::vec::Vec<(alloc::string::String, u64)>"), "Vec<(String, u64)>");
        assert_eq!(short_type_name("u64"), "u64");
        assert_eq!(text_bar(5, 8, 10), "[######....]");
        assert_eq!(text_bar(0, 0, 4), "[....]");
    }
}

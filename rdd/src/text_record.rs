//! How records are written as text lines (`save_as_text_file`), as Spark
//! writes each record's `toString`: strings and numbers as they are, pairs
//! and other tuples as `(word,3)`, options as `Some(x)` / `None`, lists as
//! `[a, b]`. A type of a program's own implements [`TextRecord`] itself,
//! usually through its `Display`:
//!
//! ```ignore
//! impl ember::TextRecord for Point {
//!     fn write_text(&self, out: &mut String) {
//!         use std::fmt::Write;
//!         let _ = write!(out, "{self}");
//!     }
//! }
//! ```
//!
//! (A blanket implementation for every `Display` type would forbid the
//! tuple implementations: Rust cannot tell that tuples will never be
//! `Display`.)

use std::fmt::Write;

/// A record that has a text form: one line of `save_as_text_file` output.
pub trait TextRecord {
    /// Appends the record's text (without a line end) to `out`.
    fn write_text(&self, out: &mut String);
}

macro_rules! text_by_display {
    ($($t:ty),*) => {$(
        impl TextRecord for $t {
            fn write_text(&self, out: &mut String) {
                let _ = write!(out, "{self}");
            }
        }
    )*};
}
text_by_display!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, bool, char, String, str);

/// Floats as Spark (Scala) prints doubles: `3.0`, not `3`.
macro_rules! text_by_debug {
    ($($t:ty),*) => {$(
        impl TextRecord for $t {
            fn write_text(&self, out: &mut String) {
                let _ = write!(out, "{self:?}");
            }
        }
    )*};
}
text_by_debug!(f32, f64);

impl<T: TextRecord + ?Sized> TextRecord for &T {
    fn write_text(&self, out: &mut String) {
        (**self).write_text(out)
    }
}

impl<T: TextRecord + ?Sized> TextRecord for Box<T> {
    fn write_text(&self, out: &mut String) {
        (**self).write_text(out)
    }
}

impl<T: TextRecord + ?Sized> TextRecord for std::sync::Arc<T> {
    fn write_text(&self, out: &mut String) {
        (**self).write_text(out)
    }
}

impl<T: TextRecord> TextRecord for Option<T> {
    fn write_text(&self, out: &mut String) {
        match self {
            Some(x) => {
                out.push_str("Some(");
                x.write_text(out);
                out.push(')');
            }
            None => out.push_str("None"),
        }
    }
}

impl<T: TextRecord> TextRecord for Vec<T> {
    fn write_text(&self, out: &mut String) {
        out.push('[');
        for (i, x) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            x.write_text(out);
        }
        out.push(']');
    }
}

impl<A: TextRecord, B: TextRecord> TextRecord for crate::Either<A, B> {
    fn write_text(&self, out: &mut String) {
        match self {
            crate::Either::Left(a) => a.write_text(out),
            crate::Either::Right(b) => b.write_text(out),
        }
    }
}

macro_rules! text_of_tuple {
    ($($name:ident),+) => {
        impl<$($name: TextRecord),+> TextRecord for ($($name,)+) {
            #[allow(non_snake_case)]
            fn write_text(&self, out: &mut String) {
                let ($($name,)+) = self;
                out.push('(');
                let mut first = true;
                $(
                    if !std::mem::take(&mut first) {
                        out.push(',');
                    }
                    $name.write_text(out);
                )+
                out.push(')');
            }
        }
    };
}
text_of_tuple!(A);
text_of_tuple!(A, B);
text_of_tuple!(A, B, C);
text_of_tuple!(A, B, C, D);
text_of_tuple!(A, B, C, D, E);
text_of_tuple!(A, B, C, D, E, F);

/// A record's text.
pub fn to_text<T: TextRecord + ?Sized>(record: &T) -> String {
    let mut out = String::new();
    record.write_text(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_read_as_spark_prints_them() {
        assert_eq!(to_text(&("word".to_string(), 3u64)), "(word,3)");
        assert_eq!(to_text(&(1i32, (2.5f64, -3i64), 'x')), "(1,(2.5,-3),x)");
        assert_eq!(to_text(&3.0f64), "3.0");
        assert_eq!(to_text(&(7u8,)), "(7)");
        assert_eq!(to_text(&Some(4u16)), "Some(4)");
        assert_eq!(to_text(&None::<u16>), "None");
        assert_eq!(to_text(&("k".to_string(), vec![1u64, 2, 3])), "(k,[1, 2, 3])");
        assert_eq!(to_text("plain text"), "plain text");
        assert_eq!(to_text(&crate::Either::<u8, String>::Right("r".into())), "r");
    }
}

//! Records to table cells, through serde.
//!
//! Records are [`Data`](crate::Data): `Serialize`, not `Debug`, so serde is
//! the one way to look inside any record. Two serializers:
//!
//! - [`Columns`] splits a record at its top level: a struct into its named
//!   fields, a tuple or tuple struct into `.0`, `.1`, … (as Rust names
//!   them); anything else is refused and becomes one `value` column.
//! - [`Text`] writes one value as text in the shape `Debug` would give it
//!   (`(1, "a")`, `[1.0, 2.5]`, `Point { x: 1.0 }`, `Some(3)`), except that a
//!   string or char at the top of a cell is written bare (`apple`, not
//!   `"apple"`). Floats are written as `Debug` writes them (`1.0`, `NaN`).
//!   It stops after [`CELL_BUDGET`] bytes, by returning an error that ends
//!   the walk, so a record holding a large matrix costs a few hundred bytes
//!   of text, not a walk over the whole matrix.

use serde::Serialize;
use serde::ser::{self, Impossible};
use std::fmt;

/// Bytes of text kept of one cell; a longer value ends with `…`.
pub const CELL_BUDGET: usize = 200;

/// The cells of one record, with their column names.
#[derive(Debug, PartialEq, Eq)]
pub struct Cells {
    pub names: Vec<String>,
    pub values: Vec<String>,
}

/// `record` as cells: its fields when it is a struct or tuple, else one
/// `value` cell.
pub fn cells_of<T: Serialize + ?Sized>(record: &T) -> Cells {
    match record.serialize(Columns) {
        Ok(cells) => cells,
        Err(_) => Cells { names: vec!["value".into()], values: vec![text_of(record)] },
    }
}

/// `value` as the text of one cell (see the [module's](self) doc).
pub fn text_of<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = Text { out: String::new(), nested: false };
    match value.serialize(&mut text) {
        Ok(()) => text.out,
        Err(TextError::Full) => text.out + "…",
        Err(TextError::Custom(why)) => format!("<not serializable: {why}>"),
    }
}

/// Why [`Columns`] did not split a record: it is not a struct or tuple (or
/// its `Serialize` failed, which [`text_of`] then reports).
#[derive(Debug)]
struct NotColumns;

impl fmt::Display for NotColumns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a struct or tuple")
    }
}

impl std::error::Error for NotColumns {}

impl ser::Error for NotColumns {
    fn custom<M: fmt::Display>(_: M) -> Self {
        NotColumns
    }
}

/// The top-level serializer: accepts structs, tuples and tuple structs.
struct Columns;

/// The fields of a struct or tuple, as they are serialized.
struct Fields {
    cells: Cells,
}

impl Fields {
    fn push<T: Serialize + ?Sized>(&mut self, name: String, value: &T) {
        self.cells.names.push(name);
        self.cells.values.push(text_of(value));
    }
    fn push_positional<T: Serialize + ?Sized>(&mut self, value: &T) {
        let name = format!(".{}", self.cells.names.len());
        self.push(name, value);
    }
    fn new(len: usize) -> Fields {
        Fields { cells: Cells { names: Vec::with_capacity(len), values: Vec::with_capacity(len) } }
    }
}

macro_rules! refuse {
    ($($method:ident($($arg:ty),*);)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<Cells, NotColumns> {
            Err(NotColumns)
        }
    )*};
}

impl ser::Serializer for Columns {
    type Ok = Cells;
    type Error = NotColumns;
    type SerializeSeq = Impossible<Cells, NotColumns>;
    type SerializeTuple = Fields;
    type SerializeTupleStruct = Fields;
    type SerializeTupleVariant = Impossible<Cells, NotColumns>;
    type SerializeMap = Impossible<Cells, NotColumns>;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Impossible<Cells, NotColumns>;

    refuse! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_i128(i128); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64);
        serialize_u128(u128); serialize_f32(f32); serialize_f64(f64); serialize_char(char); serialize_str(&str);
        serialize_bytes(&[u8]); serialize_none(); serialize_unit(); serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Cells, NotColumns> {
        Err(NotColumns)
    }
    /// A newtype (`Meters(f64)`, `Wrapper(Point)`) shows as what it wraps.
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<Cells, NotColumns> {
        value.serialize(Columns)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Cells, NotColumns> {
        Err(NotColumns)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotColumns> {
        Err(NotColumns)
    }
    fn serialize_tuple(self, len: usize) -> Result<Fields, NotColumns> {
        Ok(Fields::new(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Fields, NotColumns> {
        Ok(Fields::new(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotColumns> {
        Err(NotColumns)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotColumns> {
        Err(NotColumns)
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Fields, NotColumns> {
        Ok(Fields::new(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotColumns> {
        Err(NotColumns)
    }
}

impl ser::SerializeTuple for Fields {
    type Ok = Cells;
    type Error = NotColumns;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotColumns> {
        self.push_positional(value);
        Ok(())
    }
    fn end(self) -> Result<Cells, NotColumns> {
        Ok(self.cells)
    }
}

impl ser::SerializeTupleStruct for Fields {
    type Ok = Cells;
    type Error = NotColumns;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotColumns> {
        self.push_positional(value);
        Ok(())
    }
    fn end(self) -> Result<Cells, NotColumns> {
        Ok(self.cells)
    }
}

impl ser::SerializeStruct for Fields {
    type Ok = Cells;
    type Error = NotColumns;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), NotColumns> {
        self.push(key.to_string(), value);
        Ok(())
    }
    fn end(self) -> Result<Cells, NotColumns> {
        Ok(self.cells)
    }
}

/// Why [`Text`] stopped.
#[derive(Debug)]
enum TextError {
    /// [`CELL_BUDGET`] is reached: the text so far is kept.
    Full,
    /// The value's `Serialize` failed.
    Custom(String),
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::Full => f.write_str("cell full"),
            TextError::Custom(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for TextError {}

impl ser::Error for TextError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        TextError::Custom(msg.to_string())
    }
}

/// Writes one value as text, in `Debug`'s shapes, up to [`CELL_BUDGET`].
struct Text {
    out: String,
    /// Inside a compound value: strings and chars are quoted.
    nested: bool,
}

impl Text {
    fn put(&mut self, s: &str) -> Result<(), TextError> {
        let room = CELL_BUDGET.saturating_sub(self.out.len());
        if s.len() <= room {
            self.out.push_str(s);
            return Ok(());
        }
        let mut cut = room;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        self.out.push_str(&s[..cut]);
        Err(TextError::Full)
    }
    /// Opens a compound value: what is inside it is nested.
    fn open(&mut self, prefix: &str, open: &str) -> Result<Nested<'_>, TextError> {
        self.nested = true;
        self.put(prefix)?;
        self.put(open)?;
        Ok(Nested { text: self, first: true })
    }
}

/// The elements of a compound value being written.
struct Nested<'a> {
    text: &'a mut Text,
    first: bool,
}

impl Nested<'_> {
    fn separate(&mut self) -> Result<(), TextError> {
        if !std::mem::replace(&mut self.first, false) {
            self.text.put(", ")?;
        }
        Ok(())
    }
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TextError> {
        self.separate()?;
        value.serialize(&mut *self.text)
    }
    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), TextError> {
        self.separate()?;
        self.text.put(key)?;
        self.text.put(": ")?;
        value.serialize(&mut *self.text)
    }
    fn close(self, close: &str) -> Result<(), TextError> {
        self.text.put(close)
    }
}

macro_rules! display_as_text {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method(self, v: $ty) -> Result<(), TextError> {
            self.put(&v.to_string())
        }
    )*};
}

impl<'a> ser::Serializer for &'a mut Text {
    type Ok = ();
    type Error = TextError;
    type SerializeSeq = Nested<'a>;
    type SerializeTuple = Nested<'a>;
    type SerializeTupleStruct = Nested<'a>;
    type SerializeTupleVariant = Nested<'a>;
    type SerializeMap = Nested<'a>;
    type SerializeStruct = Nested<'a>;
    type SerializeStructVariant = Nested<'a>;

    display_as_text! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32); serialize_i64(i64);
        serialize_i128(i128); serialize_u8(u8); serialize_u16(u16); serialize_u32(u32); serialize_u64(u64);
        serialize_u128(u128);
    }

    fn serialize_f32(self, v: f32) -> Result<(), TextError> {
        self.put(&format!("{v:?}"))
    }
    fn serialize_f64(self, v: f64) -> Result<(), TextError> {
        self.put(&format!("{v:?}"))
    }
    fn serialize_char(self, v: char) -> Result<(), TextError> {
        if self.nested { self.put(&format!("{v:?}")) } else { self.put(v.encode_utf8(&mut [0; 4])) }
    }
    fn serialize_str(self, v: &str) -> Result<(), TextError> {
        if self.nested { self.put(&format!("{v:?}")) } else { self.put(v) }
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), TextError> {
        self.put(&format!("{v:?}"))
    }
    fn serialize_none(self) -> Result<(), TextError> {
        self.put("None")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), TextError> {
        let mut inner = self.open("Some", "(")?;
        inner.element(value)?;
        inner.close(")")
    }
    fn serialize_unit(self) -> Result<(), TextError> {
        self.put("()")
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), TextError> {
        self.put(name)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), TextError> {
        self.put(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, name: &'static str, value: &T) -> Result<(), TextError> {
        let mut inner = self.open(name, "(")?;
        inner.element(value)?;
        inner.close(")")
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), TextError> {
        let mut inner = self.open(variant, "(")?;
        inner.element(value)?;
        inner.close(")")
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Nested<'a>, TextError> {
        self.open("", "[")
    }
    fn serialize_tuple(self, _: usize) -> Result<Nested<'a>, TextError> {
        self.open("", "(")
    }
    fn serialize_tuple_struct(self, name: &'static str, _: usize) -> Result<Nested<'a>, TextError> {
        self.open(name, "(")
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Nested<'a>, TextError> {
        self.open(variant, "(")
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Nested<'a>, TextError> {
        self.open("", "{")
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Nested<'a>, TextError> {
        self.open(name, " { ")
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Nested<'a>, TextError> {
        self.open(variant, " { ")
    }
}

impl ser::SerializeSeq for Nested<'_> {
    type Ok = ();
    type Error = TextError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TextError> {
        self.element(value)
    }
    fn end(self) -> Result<(), TextError> {
        self.close("]")
    }
}

impl ser::SerializeTuple for Nested<'_> {
    type Ok = ();
    type Error = TextError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TextError> {
        self.element(value)
    }
    fn end(self) -> Result<(), TextError> {
        self.close(")")
    }
}

impl ser::SerializeTupleStruct for Nested<'_> {
    type Ok = ();
    type Error = TextError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TextError> {
        self.element(value)
    }
    fn end(self) -> Result<(), TextError> {
        self.close(")")
    }
}

impl ser::SerializeTupleVariant for Nested<'_> {
    type Ok = ();
    type Error = TextError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TextError> {
        self.element(value)
    }
    fn end(self) -> Result<(), TextError> {
        self.close(")")
    }
}

impl ser::SerializeMap for Nested<'_> {
    type Ok = ();
    type Error = TextError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), TextError> {
        self.element(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), TextError> {
        self.text.put(": ")?;
        value.serialize(&mut *self.text)
    }
    fn end(self) -> Result<(), TextError> {
        self.close("}")
    }
}

impl ser::SerializeStruct for Nested<'_> {
    type Ok = ();
    type Error = TextError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), TextError> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), TextError> {
        self.close(" }")
    }
}

impl ser::SerializeStructVariant for Nested<'_> {
    type Ok = ();
    type Error = TextError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), TextError> {
        self.field(key, value)
    }
    fn end(self) -> Result<(), TextError> {
        self.close(" }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Point {
        x: f64,
        label: String,
    }

    #[derive(Serialize)]
    struct Meters(f64);

    #[derive(Serialize)]
    enum Shape {
        Circle { r: f64 },
        Empty,
    }

    fn cells(names: &[&str], values: &[&str]) -> Cells {
        Cells {
            names: names.iter().map(|s| s.to_string()).collect(),
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn tuples_and_structs_split_into_columns() {
        assert_eq!(cells_of(&("apple".to_string(), 3u64)), cells(&[".0", ".1"], &["apple", "3"]));
        assert_eq!(cells_of(&Point { x: 1.0, label: "a".into() }), cells(&["x", "label"], &["1.0", "a"]));
        assert_eq!(cells_of(&(1u8, (2.5f64, "b"))), cells(&[".0", ".1"], &["1", r#"(2.5, "b")"#]));
    }

    #[test]
    fn other_records_are_one_column() {
        assert_eq!(cells_of(&42i64), cells(&["value"], &["42"]));
        assert_eq!(cells_of("bare"), cells(&["value"], &["bare"]));
        assert_eq!(cells_of(&vec![1.0, f64::NAN]), cells(&["value"], &["[1.0, NaN]"]));
        assert_eq!(cells_of(&Meters(2.0)), cells(&["value"], &["Meters(2.0)"]));
        assert_eq!(cells_of(&Some("x")), cells(&["value"], &[r#"Some("x")"#]));
        assert_eq!(cells_of(&Shape::Circle { r: 1.5 }), cells(&["value"], &["Circle { r: 1.5 }"]));
        assert_eq!(cells_of(&Shape::Empty), cells(&["value"], &["Empty"]));
        let map = BTreeMap::from([("a", 1), ("b", 2)]);
        assert_eq!(cells_of(&map), cells(&["value"], &[r#"{"a": 1, "b": 2}"#]));
    }

    #[test]
    fn a_large_value_stops_at_the_budget() {
        let big: Vec<u32> = (0..1_000_000).collect();
        let text = text_of(&big);
        assert!(text.ends_with('…'), "{text}");
        assert!(text.len() <= CELL_BUDGET + '…'.len_utf8());
        // A cut never splits a character.
        let wide = "é".repeat(CELL_BUDGET);
        assert!(text_of(&wide).ends_with("é…"));
    }
}

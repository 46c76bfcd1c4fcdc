//! Blocks: the unit of numerical data in an RDD.
//!
//! A [`Block`] is a dense `rows × cols` matrix in standard (row-major,
//! contiguous) layout, one record of an `Rdd<Block>`. Kernels view blocks as
//! faer matrices without copying ([`as_faer`]) and turn faer results back
//! into blocks ([`from_faer`]).

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

/// A dense row-major block of rows.
pub type Block = Array2<f64>;

/// Rows with their labels (logistic regression): `y[i]` labels row `i` of `x`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabeledBlock {
    pub x: Array2<f64>,
    pub y: Array1<f64>,
}

impl LabeledBlock {
    pub fn rows(&self) -> usize {
        self.x.nrows()
    }
}

/// A zero-copy faer view of a block in standard layout; other layouts are
/// copied into one first.
pub fn as_faer(block: &Block) -> faer::MatRef<'_, f64> {
    let (rows, cols) = block.dim();
    match block.as_slice() {
        Some(data) => faer::MatRef::from_row_major_slice(data, rows, cols),
        None => panic!("blocks must be in standard layout (use Block::as_standard_layout)"),
    }
}

/// Copies a faer matrix into a block.
pub fn from_faer(m: faer::MatRef<'_, f64>) -> Block {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// Stacks rows of equal length into blocks of at most `rows_per_block` rows.
pub fn stack_rows(rows: impl Iterator<Item = Vec<f64>>, cols: usize, rows_per_block: usize) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut data: Vec<f64> = Vec::with_capacity(rows_per_block.min(1 << 16) * cols);
    let flush = |data: &mut Vec<f64>, blocks: &mut Vec<Block>| {
        if !data.is_empty() {
            let n = data.len() / cols;
            let taken = std::mem::take(data);
            blocks.push(Array2::from_shape_vec((n, cols), taken).expect("rows * cols elements"));
        }
    };
    for row in rows {
        debug_assert_eq!(row.len(), cols);
        data.extend_from_slice(&row);
        if data.len() / cols.max(1) >= rows_per_block {
            flush(&mut data, &mut blocks);
        }
    }
    flush(&mut data, &mut blocks);
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faer_views_and_copies_round_trip() {
        let b = Array2::from_shape_fn((3, 2), |(i, j)| (i * 10 + j) as f64);
        let m = as_faer(&b);
        assert_eq!(m[(2, 1)], 21.0);
        assert_eq!(from_faer(m), b);
    }

    #[test]
    fn rows_stack_into_bounded_blocks() {
        let rows = (0..5).map(|i| vec![i as f64, -(i as f64)]);
        let blocks = stack_rows(rows, 2, 2);
        assert_eq!(blocks.iter().map(|b| b.nrows()).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert_eq!(blocks[2][(0, 1)], -4.0);
    }
}

//! Blocks: the unit of numerical data in an RDD.
//!
//! A [`Block`] is a dense `rows × cols` matrix in standard (row-major,
//! contiguous) layout, one record of an `Rdd<Block>`. Kernels view blocks as
//! faer matrices without copying ([`as_faer`]) and turn faer results back
//! into blocks ([`from_faer`]).
//!
//! Blocks are reference-counted (`ArcArray2`): a cached partition is read by
//! cloning its records, and cloning a block only bumps a count, so a pass over
//! cached data reads the executor's memory in place instead of copying it
//! first. Blocks are built as `Array2` and frozen with `into_shared()`; code
//! that changes a block takes it back with `into_owned()` (free when the
//! block is not shared, a copy when it is: a cached block is never changed
//! in place). Serialized, a block is exactly an `Array2`.

use ndarray::{ArcArray1, ArcArray2, Array2, ArrayBase, Data, Ix2};
use serde::{Deserialize, Serialize};

/// A dense row-major block of rows, shared by reference count.
pub type Block = ArcArray2<f64>;

/// Rows with their labels (logistic regression): `y[i]` labels row `i` of `x`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabeledBlock {
    pub x: ArcArray2<f64>,
    pub y: ArcArray1<f64>,
}

impl LabeledBlock {
    pub fn rows(&self) -> usize {
        self.x.nrows()
    }
}

/// A zero-copy faer view of a block (or any 2-D array) in standard layout.
///
/// # Panics
/// When the array is not in standard layout (use `as_standard_layout`).
pub fn as_faer<S: Data<Elem = f64>>(block: &ArrayBase<S, Ix2>) -> faer::MatRef<'_, f64> {
    let (rows, cols) = block.dim();
    match block.as_slice() {
        Some(data) => faer::MatRef::from_row_major_slice(data, rows, cols),
        None => panic!("blocks must be in standard layout (use Block::as_standard_layout)"),
    }
}

/// Copies a faer matrix into a block.
pub fn from_faer(m: faer::MatRef<'_, f64>) -> Block {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)]).into_shared()
}

/// Stacks rows of equal length into blocks of at most `rows_per_block` rows.
pub fn stack_rows(rows: impl Iterator<Item = Vec<f64>>, cols: usize, rows_per_block: usize) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut data: Vec<f64> = Vec::with_capacity(rows_per_block.min(1 << 16) * cols);
    let flush = |data: &mut Vec<f64>, blocks: &mut Vec<Block>| {
        if !data.is_empty() {
            let n = data.len() / cols;
            let taken = std::mem::take(data);
            blocks.push(Array2::from_shape_vec((n, cols), taken).expect("rows * cols elements").into_shared());
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
        let b = Array2::from_shape_fn((3, 2), |(i, j)| (i * 10 + j) as f64).into_shared();
        let m = as_faer(&b);
        assert_eq!(m[(2, 1)], 21.0);
        assert_eq!(m.as_ptr(), b.as_ptr(), "the view is not a copy");
        assert_eq!(from_faer(m), b);
    }

    #[test]
    fn cloning_a_block_shares_its_data() {
        let b: Block = Array2::zeros((4, 3)).into_shared();
        let c = b.clone();
        assert_eq!(b.as_ptr(), c.as_ptr());
        // Taking a shared block back to change it copies it, leaving the original alone.
        let mut owned = c.into_owned();
        owned[(0, 0)] = 1.0;
        assert_eq!(b[(0, 0)], 0.0);
        // A block no one else holds is taken back without a copy.
        let ptr = b.as_ptr();
        assert_eq!(b.into_owned().as_ptr(), ptr);
    }

    #[test]
    fn rows_stack_into_bounded_blocks() {
        let rows = (0..5).map(|i| vec![i as f64, -(i as f64)]);
        let blocks = stack_rows(rows, 2, 2);
        assert_eq!(blocks.iter().map(|b| b.nrows()).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert_eq!(blocks[2][(0, 1)], -4.0);
    }
}

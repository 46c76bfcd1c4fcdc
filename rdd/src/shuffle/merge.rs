//! Merging sorted streams of records (runs on disk, a sorted buffer in
//! memory) into one sorted stream: a binary heap of the streams' heads.
//!
//! Ties go to the stream that comes first, so merging runs written in
//! arrival order keeps equal keys in arrival order (a stable sort overall).

use crate::error::TaskError;
use crate::task::BlockSource;
use std::cmp::Ordering;

/// A stream of records in sorted order.
pub trait SortedStream<T>: Send {
    fn next_record(&mut self) -> Result<Option<T>, TaskError>;
}

impl<T: serde::de::DeserializeOwned, S: BlockSource> SortedStream<T> for super::frame::RecordReader<T, S> {
    fn next_record(&mut self) -> Result<Option<T>, TaskError> {
        super::frame::RecordReader::next_record(self)
    }
}

/// Records already in memory, in order (any iterator over them).
pub struct InMemory<I>(pub I);

impl<I: Iterator + Send> SortedStream<I::Item> for InMemory<I> {
    fn next_record(&mut self) -> Result<Option<I::Item>, TaskError> {
        Ok(self.0.next())
    }
}

/// Merges sorted streams by `cmp`.
pub struct Merger<T, F> {
    streams: Vec<Box<dyn SortedStream<T>>>,
    /// The head record of each stream (`None` once it ended).
    heads: Vec<Option<T>>,
    /// Indices of streams with a head, as a binary min-heap.
    heap: Vec<usize>,
    cmp: F,
}

impl<T, F: Fn(&T, &T) -> Ordering> Merger<T, F> {
    pub fn new(mut streams: Vec<Box<dyn SortedStream<T>>>, cmp: F) -> Result<Self, TaskError> {
        let mut heads = Vec::with_capacity(streams.len());
        for s in &mut streams {
            heads.push(s.next_record()?);
        }
        let mut m = Merger { streams, heads, heap: Vec::new(), cmp };
        for i in 0..m.heads.len() {
            if m.heads[i].is_some() {
                m.heap.push(i);
                m.sift_up(m.heap.len() - 1);
            }
        }
        Ok(m)
    }

    /// Whether stream `a`'s head comes before stream `b`'s.
    fn before(&self, a: usize, b: usize) -> bool {
        match (&self.heads[a], &self.heads[b]) {
            (Some(x), Some(y)) => (self.cmp)(x, y).then(a.cmp(&b)) == Ordering::Less,
            _ => a < b,
        }
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if !self.before(self.heap[i], self.heap[parent]) {
                break;
            }
            self.heap.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut best = i;
            for c in [l, r] {
                if c < self.heap.len() && self.before(self.heap[c], self.heap[best]) {
                    best = c;
                }
            }
            if best == i {
                return;
            }
            self.heap.swap(i, best);
            i = best;
        }
    }

    /// The smallest head, if any, without taking it.
    pub fn peek(&self) -> Option<&T> {
        self.heap.first().and_then(|&s| self.heads[s].as_ref())
    }

    /// Takes the smallest head and refills from its stream.
    pub fn next_record(&mut self) -> Result<Option<T>, TaskError> {
        let Some(&top) = self.heap.first() else { return Ok(None) };
        let next = self.streams[top].next_record()?;
        let record = std::mem::replace(&mut self.heads[top], next);
        if self.heads[top].is_none() {
            let last = self.heap.len() - 1;
            self.heap.swap(0, last);
            self.heap.pop();
        }
        if !self.heap.is_empty() {
            self.sift_down(0);
        }
        Ok(record)
    }
}

impl<T: Send, F: Fn(&T, &T) -> Ordering + Send> SortedStream<T> for Merger<T, F> {
    fn next_record(&mut self) -> Result<Option<T>, TaskError> {
        Merger::next_record(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(v: Vec<(u32, char)>) -> Box<dyn SortedStream<(u32, char)>> {
        Box::new(InMemory(v.into_iter()))
    }

    #[test]
    fn merges_in_order_with_ties_to_the_first_stream() {
        let streams = vec![
            stream(vec![(1, 'a'), (3, 'a'), (5, 'a')]),
            stream(vec![]),
            stream(vec![(1, 'c'), (2, 'c'), (5, 'c'), (9, 'c')]),
            stream(vec![(3, 'd')]),
        ];
        let mut m = Merger::new(streams, |a: &(u32, char), b: &(u32, char)| a.0.cmp(&b.0)).unwrap();
        let mut out = Vec::new();
        while let Some(r) = m.next_record().unwrap() {
            out.push(r);
        }
        let expected = [(1, 'a'), (1, 'c'), (2, 'c'), (3, 'a'), (3, 'd'), (5, 'a'), (5, 'c'), (9, 'c')];
        assert_eq!(out, expected);
    }

    proptest::proptest! {
        #[test]
        fn merging_sorted_runs_is_a_stable_sort(data in proptest::collection::vec((0u8..20, 0u32..1000), 0..400),
                                                cuts in proptest::collection::vec(0usize..400, 0..8)) {
            let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            bounds.push(0);
            bounds.push(data.len());
            bounds.sort_unstable();
            let mut streams: Vec<Box<dyn SortedStream<(u8, u32)>>> = Vec::new();
            for w in bounds.windows(2) {
                let mut run = data[w[0]..w[1]].to_vec();
                run.sort_by_key(|r| r.0);
                streams.push(Box::new(InMemory(run.into_iter())));
            }
            let mut m = Merger::new(streams, |a: &(u8, u32), b: &(u8, u32)| a.0.cmp(&b.0)).unwrap();
            let mut out = Vec::new();
            while let Some(r) = m.next_record().unwrap() {
                out.push(r);
            }
            let mut expected = data.clone();
            expected.sort_by_key(|r| r.0);
            proptest::prop_assert_eq!(out, expected);
        }
    }
}

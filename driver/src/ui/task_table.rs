//! The two collections of a stage attempt that change with every task:
//! its task table and the set of its completed partitions.
//!
//! The state store updates them on the listener bus thread, which competes
//! with the task threads for cores, so each update must cost a few dozen
//! instructions, not the hundreds of a B-tree insert:
//! - [`TaskTable`]: task ids grow in launch order (the scheduler numbers
//!   tasks as it launches them, and the bus delivers events in order), so a
//!   start appends to a deque kept in id order, retention drops from its
//!   front, and an end finds its task at the index its id implies when the
//!   attempt's ids are consecutive (one stage running), else by binary
//!   search. An id out of order (not from this scheduler) is inserted in
//!   place: slower, still correct.
//! - [`PartitionSet`]: a bitmap, since partitions are small indices.

use super::records::TaskRecord;
use ember_rdd::ids::TaskId;
use std::collections::{BTreeSet, VecDeque};

/// The task records of one stage attempt, in task id order.
#[derive(Clone, Debug, Default)]
pub struct TaskTable {
    /// Sorted by id, no id twice.
    tasks: VecDeque<TaskRecord>,
}

impl TaskTable {
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The tasks, by id.
    pub fn values(&self) -> std::collections::vec_deque::Iter<'_, TaskRecord> {
        self.tasks.iter()
    }

    pub fn get(&self, id: TaskId) -> Option<&TaskRecord> {
        self.position(id).ok().map(|i| &self.tasks[i])
    }

    pub fn get_mut(&mut self, id: TaskId) -> Option<&mut TaskRecord> {
        self.position(id).ok().map(|i| &mut self.tasks[i])
    }

    /// Adds `task`, replacing a record of the same id.
    pub fn insert(&mut self, task: TaskRecord) {
        if self.tasks.back().is_none_or(|last| last.id < task.id) {
            self.tasks.push_back(task);
            return;
        }
        match self.position(task.id) {
            Ok(i) => self.tasks[i] = task,
            Err(i) => self.tasks.insert(i, task),
        }
    }

    /// Forgets the oldest (lowest id) tasks beyond `limit`.
    pub fn keep_latest(&mut self, limit: usize) {
        if self.tasks.len() > limit {
            let excess = self.tasks.len() - limit;
            self.tasks.drain(..excess);
        }
    }

    /// Where task `id` is, or where it would go.
    fn position(&self, id: TaskId) -> Result<usize, usize> {
        let first = self.tasks.front().map_or(0, |t| t.id.0);
        let guess = id.0.checked_sub(first).and_then(|d| usize::try_from(d).ok());
        if let Some(i) = guess
            && self.tasks.get(i).is_some_and(|t| t.id == id)
        {
            return Ok(i);
        }
        self.tasks.binary_search_by_key(&id, |t| t.id)
    }
}

/// Partition indices beyond which [`PartitionSet`] keeps a B-tree instead of
/// bits (2 MiB of bitmap at most, whatever a replayed log says).
const BITMAP_LIMIT: usize = 1 << 24;

/// A set of partition indices.
#[derive(Clone, Debug, Default)]
pub struct PartitionSet {
    /// Bit `p % 64` of word `p / 64` is set for a member `p < BITMAP_LIMIT`.
    bits: Vec<u64>,
    /// Members at or beyond `BITMAP_LIMIT` (none from this scheduler).
    large: BTreeSet<usize>,
    len: usize,
}

impl PartitionSet {
    /// Adds `partition`; false if it was in already.
    pub fn insert(&mut self, partition: usize) -> bool {
        if partition >= BITMAP_LIMIT {
            let added = self.large.insert(partition);
            self.len += usize::from(added);
            return added;
        }
        let (word, bit) = (partition / 64, 1u64 << (partition % 64));
        if word >= self.bits.len() {
            self.bits.resize(word + 1, 0);
        }
        let added = self.bits[word] & bit == 0;
        self.bits[word] |= bit;
        self.len += usize::from(added);
        added
    }

    pub fn contains(&self, partition: usize) -> bool {
        if partition >= BITMAP_LIMIT {
            return self.large.contains(&partition);
        }
        self.bits.get(partition / 64).is_some_and(|w| w & (1 << (partition % 64)) != 0)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The members, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let small = self.bits.iter().enumerate().flat_map(|(w, &bits)| {
            let mut rest = bits;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let bit = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    w * 64 + bit
                })
            })
        });
        small.chain(self.large.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::UnixMillis;
    use crate::ui::records::{TaskMetricsRecord, TaskStatus};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn task(id: u64, partition: usize) -> TaskRecord {
        TaskRecord {
            id: TaskId(id),
            partition,
            attempt: 0,
            executor: "driver".into(),
            launched: UnixMillis(id),
            started: None,
            finished: None,
            status: TaskStatus::Running,
            error: None,
            metrics: TaskMetricsRecord::default(),
        }
    }

    proptest! {
        /// Whatever order ids come in, the table answers as the B-tree map it replaced.
        #[test]
        fn a_task_table_behaves_like_a_btree_map(
            ops in proptest::collection::vec((0u64..64, any::<bool>(), 0usize..70), 1..200),
        ) {
            let (mut table, mut map) = (TaskTable::default(), BTreeMap::new());
            for (i, (id, in_order, limit)) in ops.into_iter().enumerate() {
                // Mostly increasing ids, as the scheduler sends them; sometimes any.
                let id = if in_order { 64 + i as u64 } else { id };
                table.insert(task(id, i));
                map.insert(TaskId(id), task(id, i));
                if limit < 8 {
                    table.keep_latest(limit * 4);
                    while map.len() > limit * 4 {
                        map.pop_first();
                    }
                }
                prop_assert_eq!(table.len(), map.len());
                let ours: Vec<(u64, usize)> = table.values().map(|t| (t.id.0, t.partition)).collect();
                let theirs: Vec<(u64, usize)> = map.values().map(|t| (t.id.0, t.partition)).collect();
                prop_assert_eq!(ours, theirs);
                for probe in [id, id + 1, id.wrapping_sub(1), 0] {
                    let (ours, theirs) = (table.get(TaskId(probe)), map.get(&TaskId(probe)));
                    prop_assert_eq!(ours.map(|t| t.partition), theirs.map(|t| t.partition));
                }
            }
        }

        #[test]
        fn a_partition_set_behaves_like_a_btree_set(
            members in proptest::collection::vec(prop_oneof![0usize..300, Just(BITMAP_LIMIT), any::<usize>()], 0..100),
        ) {
            let (mut ours, mut theirs) = (PartitionSet::default(), BTreeSet::new());
            for p in members {
                prop_assert_eq!(ours.insert(p), theirs.insert(p));
                prop_assert!(ours.contains(p));
                prop_assert_eq!(ours.len(), theirs.len());
            }
            prop_assert_eq!(ours.iter().collect::<Vec<_>>(), theirs.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn consecutive_task_ids_are_found_where_their_id_says() {
        let mut table = TaskTable::default();
        (100..110).for_each(|id| table.insert(task(id, id as usize)));
        table.keep_latest(5);
        assert_eq!(table.len(), 5);
        assert_eq!(table.position(TaskId(107)), Ok(2));
        assert!(table.get(TaskId(104)).is_none());
        table.get_mut(TaskId(109)).unwrap().attempt = 3;
        assert_eq!(table.values().last().unwrap().attempt, 3);
    }
}

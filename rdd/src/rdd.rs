//! The RDD: a resilient distributed dataset.
//!
//! Like Spark's, an Ember RDD is defined by five properties:
//! 1. a list of partitions (here: `num_partitions`, partitions are indices);
//! 2. a function computing each partition (`RddNode::compute`), which returns
//!    an iterator so that narrow transformations pipeline inside one task;
//! 3. a list of dependencies on parent RDDs, narrow or shuffle ([`Dependency`]);
//! 4. optionally a partitioner for key-value RDDs (carried by shuffle deps);
//! 5. optionally preferred locations: the executors that cache a partition,
//!    which the driver tracks itself.
//!
//! An RDD is immutable and lazy; transformations build new nodes, actions hand
//! a [`StageRoot`] to the [`JobRunner`]. Nodes live behind `Arc`s and hold
//! their parents through [`RddRef`], whose `Drop` is iterative so that a
//! 10,000-step lineage is freed without a deep recursion.

use crate::call_site::{CallSite, OperationScope};
use crate::error::{EmberError, TaskError};
use crate::func::Plain;
use crate::ids::{BlockId, RddId, ShuffleId};
use crate::job_future::JobFuture;
use crate::shipping::EntryPoint;
use crate::storage::{CachedBlock, StorageLevel, StoredBlock};
use crate::task::{BoxIter, TaskContext, TaskOutput};
use crate::{Data, runner::JobRunner};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// What every RDD node carries besides its own fields.
pub struct RddMeta {
    pub id: RddId,
    storage: AtomicU8,
    /// Where the driver program made this RDD, with which operation (see
    /// [`RddMeta::new`]); `None` on executors, which never name stages.
    call_site: Option<CallSite>,
    /// The name the program gave the RDD (`Rdd::set_name`), for lineage.
    name: std::sync::Mutex<Option<String>>,
}

impl RddMeta {
    /// The metadata of a new RDD, made at the caller's call site: the
    /// transformations and sources that end here are `#[track_caller]` all
    /// the way from the user's call, so this is the line of the driver
    /// program that made the RDD, and the operation is the one the user
    /// called (as Spark's "map at Main.scala:12"; see [`crate::call_site`]).
    #[track_caller]
    pub fn new(id: RddId) -> Self {
        RddMeta {
            id,
            storage: AtomicU8::new(StorageLevel::None.to_u8()),
            call_site: Some(CallSite::caller()),
            name: std::sync::Mutex::new(None),
        }
    }
    pub fn with_level(id: RddId, level: StorageLevel) -> Self {
        RddMeta { id, storage: AtomicU8::new(level.to_u8()), call_site: None, name: std::sync::Mutex::new(None) }
    }
    /// The line of the driver program that made this RDD, and the operation.
    pub fn call_site(&self) -> Option<CallSite> {
        self.call_site
    }
    /// The name given with `Rdd::set_name`, if any.
    pub fn name(&self) -> Option<String> {
        self.name.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn set_name(&self, name: String) {
        *self.name.lock().unwrap_or_else(|p| p.into_inner()) = Some(name);
    }
    pub fn storage_level(&self) -> StorageLevel {
        StorageLevel::from_u8(self.storage.load(Ordering::Acquire))
    }
    pub fn set_storage_level(&self, level: StorageLevel) {
        self.storage.store(level.to_u8(), Ordering::Release);
    }
}

/// The type-erased face of an RDD node, which the scheduler walks.
pub trait RddBase: Send + Sync + 'static {
    fn meta(&self) -> &RddMeta;
    /// The node's kind, as shown by `to_debug_string` ("MapPartitionsRdd").
    fn kind(&self) -> &'static str;
    fn num_partitions(&self) -> usize;
    fn dependencies(&self) -> Vec<Dependency>;
    /// How to rebuild this node in another process: the entry point of its
    /// monomorphized decoder and its serialized fields (parents excluded).
    fn encode(&self) -> Result<(EntryPoint, Vec<u8>), EmberError>;
    fn id(&self) -> RddId {
        self.meta().id
    }
}

/// An RDD node whose records are `T`.
pub trait RddNode<T>: RddBase {
    /// Computes partition `split` from the parents' iterators.
    fn compute(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>, TaskError>;
}

/// A dependency of an RDD on a parent.
#[derive(Clone)]
pub enum Dependency {
    /// Each child partition depends on a few parent partitions, computed in the
    /// same task. `one_to_one` when child partition i reads parent partition i.
    Narrow { rdd: Arc<dyn RddBase>, one_to_one: bool },
    /// The child reads every parent partition through a shuffle: a stage boundary.
    Shuffle(Arc<dyn ShuffleDependencyBase>),
}

/// The last step of a stage's tasks: a result function (result stage) or a
/// shuffle writer (shuffle map stage).
pub trait StageRoot: Send + Sync + 'static {
    /// The RDD whose partitions this stage computes.
    fn rdd(&self) -> Arc<dyn RddBase>;
    fn run(&self, partition: usize, tc: &TaskContext) -> Result<TaskOutput, TaskError>;
    fn encode(&self) -> Result<(EntryPoint, Vec<u8>), EmberError>;
    /// Where the driver program started the job, for a result stage's root.
    fn call_site(&self) -> Option<CallSite> {
        None
    }
}

/// A shuffle dependency: the map side of a shuffle, run by a shuffle map stage.
pub trait ShuffleDependencyBase: StageRoot {
    fn shuffle_id(&self) -> ShuffleId;
    fn num_reduce_partitions(&self) -> usize;
    fn as_stage_root(self: Arc<Self>) -> Arc<dyn StageRoot>;
}

/// A typed reference to an RDD node, held by child nodes and by [`Rdd`].
pub struct RddRef<T: 'static>(ManuallyDrop<Arc<dyn RddNode<T>>>);

impl<T: 'static> Clone for RddRef<T> {
    fn clone(&self) -> Self {
        RddRef(ManuallyDrop::new(Arc::clone(&self.0)))
    }
}

impl<T: Data> RddRef<T> {
    pub fn new(node: Arc<dyn RddNode<T>>) -> Self {
        RddRef(ManuallyDrop::new(node))
    }
    pub fn node(&self) -> &Arc<dyn RddNode<T>> {
        &self.0
    }
    pub fn base(&self) -> Arc<dyn RddBase> {
        let node: Arc<dyn RddNode<T>> = Arc::clone(&self.0);
        node
    }
    pub fn id(&self) -> RddId {
        self.0.id()
    }
    pub fn num_partitions(&self) -> usize {
        self.0.num_partitions()
    }

    /// The records of partition `split`: read from the cache when this RDD is
    /// persisted and the block is there, else computed (and then cached).
    ///
    /// A block read from the cache is this task's input: its stored size
    /// counts as bytes read, its records as they are consumed. A computed
    /// partition counts nothing here: its lineage's sources count their own.
    pub fn iterator(&self, split: usize, tc: &TaskContext) -> Result<BoxIter<T>, TaskError> {
        let level = self.0.meta().storage_level();
        if !level.is_cached() {
            return self.0.compute(split, tc);
        }
        let id = BlockId { rdd: self.id(), partition: split };
        if let Some(cached) = read_cached(id, tc)? {
            return Ok(cached);
        }
        let vec: Vec<T> = self.0.compute(split, tc)?.collect();
        // A partition cut short by an error must not be cached as if whole.
        if let Some(e) = tc.take_deferred_error() {
            return Err(e);
        }
        let vec = Arc::new(vec);
        let size_bytes = estimate_size(&vec);
        tc.env.put_block(id, CachedBlock { value: vec.clone(), size_bytes, level, spill: spill_vec::<T> });
        Ok(iter_shared(vec))
    }
}

/// The records of cached block `id`, if the executor has it, counted as the
/// task's input.
fn read_cached<T: Data>(id: BlockId, tc: &TaskContext) -> Result<Option<BoxIter<T>>, TaskError> {
    let (records, size_bytes) = match tc.env.get_block(id) {
        Some(StoredBlock::Memory { value, size_bytes }) => {
            let vec = value
                .downcast::<Vec<T>>()
                .map_err(|_| TaskError::engine(format!("cached block {id} has the wrong type")))?;
            let len = vec.len();
            (tc.count_input((0..len).map(move |i| vec[i].clone())), size_bytes)
        }
        Some(StoredBlock::Serialized(bytes)) => {
            let vec: Vec<T> = postcard::from_bytes(&bytes)
                .map_err(|e| TaskError::engine(format!("cached block {id} is corrupt: {e}")))?;
            (tc.count_input(vec.into_iter()), bytes.len() as u64)
        }
        None => return Ok(None),
    };
    tc.add_metrics(|m| m.bytes_read += size_bytes);
    Ok(Some(records))
}

/// Iterates a shared cached partition by cloning its records: records that
/// own big buffers should be cheap to clone (reference-counted, as ember-ml's
/// blocks are), or every pass over the cache copies them.
fn iter_shared<T: Data>(vec: Arc<Vec<T>>) -> BoxIter<T> {
    let len = vec.len();
    Box::new((0..len).map(move |i| vec[i].clone()))
}

fn spill_vec<T: Data>(any: &(dyn Any + Send + Sync)) -> Option<Vec<u8>> {
    let vec = any.downcast_ref::<Vec<T>>()?;
    postcard::to_allocvec(vec).ok()
}

/// At most this many records of a partition are measured by [`estimate_size`].
const SIZE_SAMPLE_RECORDS: usize = 32;

/// [`estimate_size`] stops measuring once the records measured add up to this
/// many serialized bytes: measuring a record walks all of it, and a few big
/// records tell their size as well as many.
const SIZE_SAMPLE_BYTES: usize = 1 << 20;

/// Estimates the in-memory size of a partition from a sample of its records
/// (their serialized size bounds their heap size from below, `size_of` their
/// inline size), as Spark's SizeEstimator samples.
///
/// Up to [`SIZE_SAMPLE_RECORDS`] records spread evenly over the partition are
/// measured (postcard's size counter: nothing is allocated), stopping early
/// once they add up to [`SIZE_SAMPLE_BYTES`]; the average record measured
/// stands for all of them. So a partition of a few 8 MB matrices costs one
/// walk over its first matrix, not over the whole partition, on every cache
/// insert.
pub fn estimate_size<T: Data>(vec: &[T]) -> u64 {
    if vec.is_empty() {
        return 64;
    }
    let step = (vec.len() / SIZE_SAMPLE_RECORDS).max(1);
    let (mut bytes, mut n) = (0usize, 0usize);
    for x in vec.iter().step_by(step).take(SIZE_SAMPLE_RECORDS) {
        bytes += postcard::experimental::serialized_size(x).unwrap_or(0);
        n += 1;
        if bytes >= SIZE_SAMPLE_BYTES {
            break;
        }
    }
    let per_record = (bytes / n).max(std::mem::size_of::<T>());
    (per_record as u64).saturating_mul(vec.len() as u64).saturating_add(64)
}

// Iterative drop: dropping the last reference to a node drops its parents'
// references, which could recurse as deep as the lineage. Instead, nested drops
// are queued and the outermost drop frame frees them one at a time.
thread_local! {
    static DROP_QUEUE: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
    static DRAINING: Cell<bool> = const { Cell::new(false) };
}

impl<T: 'static> Drop for RddRef<T> {
    fn drop(&mut self) {
        // SAFETY: `self.0` is never used again after this line: we are in drop.
        let arc: Arc<dyn RddNode<T>> = unsafe { ManuallyDrop::take(&mut self.0) };
        if Arc::strong_count(&arc) > 1 {
            return; // only a count decrement: no recursion possible
        }
        let erased: Box<dyn Any> = Box::new(ErasedArc(arc));
        if DRAINING.with(|d| d.get()) {
            DROP_QUEUE.with(|q| q.borrow_mut().push(erased));
            return;
        }
        DRAINING.with(|d| d.set(true));
        drop(erased);
        while let Some(next) = DROP_QUEUE.with(|q| q.borrow_mut().pop()) {
            drop(next);
        }
        DRAINING.with(|d| d.set(false));
    }
}

/// Lets an `Arc<dyn RddNode<T>>` (not `'static`-free of `T`) sit in the queue.
struct ErasedArc<T>(#[allow(dead_code)] Arc<dyn RddNode<T>>);

/// The RDD handle users hold: a node plus the runner that executes actions.
pub struct Rdd<T: 'static> {
    pub(crate) node: RddRef<T>,
    pub(crate) runner: Arc<dyn JobRunner>,
}

impl<T: 'static> Clone for Rdd<T> {
    fn clone(&self) -> Self {
        Rdd { node: self.node.clone(), runner: self.runner.clone() }
    }
}

impl<T: Data> Rdd<T> {
    /// Wraps a node; used by sources and by transformations.
    pub fn from_node(node: Arc<dyn RddNode<T>>, runner: Arc<dyn JobRunner>) -> Self {
        Rdd { node: RddRef::new(node), runner }
    }
    pub fn id(&self) -> RddId {
        self.node.id()
    }
    pub fn num_partitions(&self) -> usize {
        self.node.num_partitions()
    }
    /// The node, for code that extends Ember with its own RDD kinds.
    pub fn node_ref(&self) -> &RddRef<T> {
        &self.node
    }
    pub fn runner(&self) -> &Arc<dyn JobRunner> {
        &self.runner
    }
    pub(crate) fn derive<U: Data>(&self, node: Arc<dyn RddNode<U>>) -> Rdd<U> {
        Rdd::from_node(node, self.runner.clone())
    }
    #[track_caller]
    pub(crate) fn new_meta(&self) -> RddMeta {
        RddMeta::new(self.runner.new_rdd_id())
    }
    pub fn storage_level(&self) -> StorageLevel {
        self.node.node().meta().storage_level()
    }
    /// Names this RDD (Spark's setName); the name shows in `to_debug_string`.
    /// Names live in the driver: executors rebuild nodes without them.
    pub fn set_name(&self, name: impl Into<String>) -> Self {
        self.node.node().meta().set_name(name.into());
        self.clone()
    }
    /// The name given with [`Self::set_name`], if any.
    pub fn name(&self) -> Option<String> {
        self.node.node().meta().name()
    }
    /// Keeps this RDD's partitions in executor memory once computed.
    pub fn cache(&self) -> Self {
        self.persist(StorageLevel::MemoryOnly)
    }
    /// Keeps this RDD's partitions at the given storage level once computed.
    /// Lazy, as Spark's: nothing is computed until an action needs the RDD;
    /// [`Self::persist_async`] computes it now, in the background.
    pub fn persist(&self, level: StorageLevel) -> Self {
        self.node.node().meta().set_storage_level(level);
        self.clone()
    }
    /// Persists this RDD at `level` and starts at once, in the background,
    /// a job that computes every partition into the executors' caches, as
    /// Dask's `client.persist`: the returned [`JobFuture`] says how far it
    /// is (`<JobFuture job 4: running 3 of 8 tasks>`), and actions on the
    /// RDD started once it finished read the cached blocks instead of
    /// computing. An action started earlier computes what is not cached yet
    /// itself, as with `persist`.
    ///
    /// Named `_async` as every action that returns a future is
    /// (`count_async`, ...): it is a job that runs now. `persist` and `cache`
    /// stay lazy, as in Spark. A partition that does not fit the executor's
    /// memory at `MemoryOnly` is not kept, as with any cached RDD.
    #[track_caller]
    pub fn persist_async(&self, level: StorageLevel) -> JobFuture<()> {
        let _op = OperationScope::enter("persist_async");
        if !level.is_cached() {
            return self.start_action(|_| {
                Box::pin(async move {
                    Err(EmberError::InvalidArgument(format!(
                        "persist_async({level:?}) would compute every partition and keep none; \
                         give a level that caches (StorageLevel::MemoryOnly, MemoryAndDisk), \
                         or call unpersist() to drop a cached RDD"
                    )))
                })
            });
        }
        self.persist(level);
        self.action_on_all(Plain::new(|_, it: BoxIter<T>| it.for_each(drop)), |_: Vec<()>| Ok(()))
    }
    /// [`Self::persist_async`] in memory (`StorageLevel::MemoryOnly`).
    #[track_caller]
    pub fn cache_async(&self) -> JobFuture<()> {
        let _op = OperationScope::enter("cache_async");
        self.persist_async(StorageLevel::MemoryOnly)
    }
    /// Stops caching this RDD and drops its cached blocks on every executor.
    pub fn unpersist(&self) -> Self {
        self.node.node().meta().set_storage_level(StorageLevel::None);
        self.runner.unpersist(self.id());
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::ser::{SerializeSeq, Serializer};
    use serde::{Deserialize, Serialize};
    use std::sync::atomic::AtomicUsize;

    /// Whether `estimate` is within `factor` of `actual`, either way.
    fn within(estimate: u64, actual: usize, factor: f64) -> bool {
        let ratio = estimate as f64 / actual as f64;
        (1.0 / factor..=factor).contains(&ratio)
    }

    #[test]
    fn small_records_are_estimated_within_a_small_factor() {
        // Vectors of varying lengths, of full-width values (postcard writes
        // integers as varints: small ones take fewer bytes than in memory).
        let vectors: Vec<Vec<u64>> = (0..1000u64)
            .map(|i| (0..i % 50).map(|j| (i * 50 + j).wrapping_mul(0x9E37_79B9_7F4A_7C15)).collect())
            .collect();
        let actual: usize = vectors.iter().map(|v| size_of::<Vec<u64>>() + 8 * v.capacity()).sum();
        let estimate = estimate_size(&vectors);
        assert!(within(estimate, actual, 1.5), "Vec<u64>: estimated {estimate} bytes, {actual} in memory");

        // A string counts as the larger of its text and its inline header,
        // not their sum: about half of what short strings take.
        let strings: Vec<String> = (0..5000).map(|i| format!("record {i}: {}", "x".repeat(i % 40))).collect();
        let actual: usize = strings.iter().map(|s| size_of::<String>() + s.capacity()).sum();
        let estimate = estimate_size(&strings);
        assert!(within(estimate, actual, 3.0), "String: estimated {estimate} bytes, {actual} in memory");

        let pairs: Vec<(u64, u64)> = (0..10_000).map(|i| (i, i * i)).collect();
        assert_eq!(estimate_size(&pairs), 16 * 10_000 + 64);
        assert_eq!(estimate_size::<String>(&[]), 64);
    }

    /// Serialized records measured so far by [`Matrix`]'s `Serialize`.
    static MEASURED: AtomicUsize = AtomicUsize::new(0);

    /// A stand-in for a big matrix: serializes as `elements` f64 (as an
    /// ndarray does, element by element) without holding them.
    #[derive(Clone, Deserialize)]
    struct Matrix {
        elements: usize,
    }

    impl Serialize for Matrix {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            MEASURED.fetch_add(1, Ordering::Relaxed);
            let mut seq = serializer.serialize_seq(Some(self.elements))?;
            for _ in 0..self.elements {
                seq.serialize_element(&0.5f64)?;
            }
            seq.end()
        }
    }

    #[test]
    fn big_records_are_estimated_from_the_first_few() {
        // 64 records of 8 MB (a partition of ember-ml blocks, 512 MB): the
        // first one is over the sampling budget, the others are not walked.
        let blocks = vec![Matrix { elements: 1 << 20 }; 64];
        MEASURED.store(0, Ordering::Relaxed);
        let estimate = estimate_size(&blocks);
        assert_eq!(MEASURED.load(Ordering::Relaxed), 1);
        assert!(within(estimate, 64 * (8 << 20), 1.01), "estimated {estimate}");

        // 320 KB records: four of them reach the budget.
        let medium = vec![Matrix { elements: 40_000 }; 100];
        MEASURED.store(0, Ordering::Relaxed);
        let estimate = estimate_size(&medium);
        assert_eq!(MEASURED.load(Ordering::Relaxed), 4);
        assert!(within(estimate, 100 * 320_000, 1.01), "estimated {estimate}");
    }
}

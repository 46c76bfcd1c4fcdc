//! One memory manager per executor: execution and storage share one budget,
//! as in Spark's `UnifiedMemoryManager`.
//!
//! The budget is `ember.executor.memory × ember.memory.fraction`; the rest
//! of `ember.executor.memory` is left for what no one accounts for (records
//! in flight between iterators, fetch and decompression buffers, the
//! allocator's slack, estimation error).
//!
//! - **Storage** (cached RDD blocks, held by the executor's block manager)
//!   may use any memory execution does not; to make room for a block it
//!   evicts other blocks, least recently used first ([`StorageEvictor`]).
//! - **Execution** (shuffle write buffers, aggregation maps, sort buffers)
//!   may use any memory storage does not, and may evict cached blocks down to
//!   the *storage floor* (`× ember.memory.storageFraction`): cached data below
//!   the floor is safe from execution, cached data above it is borrowed.
//!   Storage never evicts execution memory: a task's buffers cannot be taken
//!   from it, only given back when it spills.
//! - **Tasks share fairly.** With N tasks holding execution memory, each
//!   may hold at most 1/N of the execution pool, and a task asking for memory
//!   while it holds less than 1/(2N) waits until others give some back (they
//!   spill or end) rather than being refused and spilling tiny runs. A wait
//!   never outlasts [`FAIR_SHARE_WAIT`]: past that the task gets what is free.
//!
//! Consumers ask, the manager decides: a consumer grows a
//! [`MemoryReservation`] and, when refused, spills to disk and shrinks it.
//! A reservation gives its bytes back when dropped, so no early return (an
//! error, a panic unwinding) leaks budget; and a task's [`TaskMemory`]
//! releases whatever is left when the task ends.
//!
//! Lock order: the manager's lock, then the block manager's (the evictor is
//! called with the manager's lock held and must not call back into it).

use crate::ids::BlockId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, Instant};

/// The longest a task waits for its fair share before taking what is free.
pub const FAIR_SHARE_WAIT: Duration = Duration::from_secs(2);

/// How the budget is split, from `ember.executor.memory`,
/// `ember.memory.fraction` and `ember.memory.storageFraction`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemoryConfig {
    /// `ember.executor.memory` in bytes; 0 = no limit (nothing spills,
    /// nothing is evicted).
    pub executor_memory: u64,
    /// The share of it that execution and storage use together.
    pub fraction: f64,
    /// The share of that which cached blocks keep against execution.
    pub storage_fraction: f64,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig { executor_memory: 0, fraction: 0.6, storage_fraction: 0.5 }
    }
}

impl MemoryConfig {
    /// Bytes execution and storage share (0 = no limit).
    pub fn unified_bytes(&self) -> u64 {
        (self.executor_memory as f64 * self.fraction) as u64
    }
}

/// Frees cached blocks on behalf of the memory manager (the block manager).
pub trait StorageEvictor: Send + Sync {
    /// Evicts cached blocks, least recently used first, never `keep`, until
    /// at least `bytes` of memory are free or nothing more can be evicted;
    /// returns the bytes freed. Called with the manager's lock held: it must
    /// not call the manager, whose storage count the caller lowers itself.
    fn evict(&self, bytes: u64, keep: Option<BlockId>) -> u64;
}

/// What the manager holds, for heartbeats and the UI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryUsage {
    pub storage_bytes: u64,
    pub execution_bytes: u64,
    /// The unified budget (0 = no limit).
    pub limit_bytes: u64,
}

/// Identifies one task attempt to the memory manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct TaskMemoryId(u64);

#[derive(Default)]
struct Pools {
    storage_used: u64,
    execution_used: u64,
    /// Execution bytes held by each task that has asked for any.
    task_to_execution: HashMap<TaskMemoryId, u64>,
}

pub struct MemoryManager {
    /// Bytes execution and storage share; 0 = no limit.
    limit: u64,
    /// Cached bytes that execution may not evict.
    storage_floor: u64,
    pools: Mutex<Pools>,
    /// Signalled when execution memory is given back.
    released: Condvar,
    evictor: RwLock<Option<Weak<dyn StorageEvictor>>>,
    next_task: AtomicU64,
}

impl MemoryManager {
    pub fn new(config: MemoryConfig) -> Self {
        let limit = config.unified_bytes();
        MemoryManager {
            limit,
            storage_floor: (limit as f64 * config.storage_fraction) as u64,
            pools: Mutex::new(Pools::default()),
            released: Condvar::new(),
            evictor: RwLock::new(None),
            next_task: AtomicU64::new(0),
        }
    }

    /// A manager without a limit (tests, tools).
    pub fn unlimited() -> Arc<Self> {
        Arc::new(MemoryManager::new(MemoryConfig::default()))
    }

    /// Sets who evicts cached blocks when memory is short.
    pub fn set_evictor(&self, evictor: Weak<dyn StorageEvictor>) {
        *self.evictor.write().unwrap_or_else(|p| p.into_inner()) = Some(evictor);
    }

    fn lock(&self) -> MutexGuard<'_, Pools> {
        self.pools.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn usage(&self) -> MemoryUsage {
        let p = self.lock();
        MemoryUsage { storage_bytes: p.storage_used, execution_bytes: p.execution_used, limit_bytes: self.limit }
    }

    /// Whether the budget is unlimited.
    pub fn is_unlimited(&self) -> bool {
        self.limit == 0
    }

    fn free(&self, p: &Pools) -> u64 {
        self.limit.saturating_sub(p.storage_used + p.execution_used)
    }

    /// Evicts up to `bytes` of cached blocks (never `keep`); returns the bytes freed.
    fn evict(&self, p: &mut Pools, bytes: u64, keep: Option<BlockId>) -> u64 {
        let evictor = self.evictor.read().unwrap_or_else(|e| e.into_inner()).as_ref().and_then(Weak::upgrade);
        let Some(evictor) = evictor else { return 0 };
        let freed = evictor.evict(bytes, keep).min(p.storage_used);
        p.storage_used -= freed;
        freed
    }

    /// Makes room for a cached block of `bytes`, evicting others if needed;
    /// false when it cannot fit (larger than the budget, or execution holds
    /// the rest).
    pub fn acquire_storage(&self, block: BlockId, bytes: u64) -> bool {
        let mut p = self.lock();
        if self.limit == 0 {
            p.storage_used += bytes;
            return true;
        }
        let free = self.free(&p);
        // Evict only what can make room: cached blocks are all storage may free.
        if bytes > free + p.storage_used {
            return false;
        }
        if bytes > free {
            self.evict(&mut p, bytes - free, Some(block));
        }
        if self.free(&p) < bytes {
            return false;
        }
        p.storage_used += bytes;
        true
    }

    /// Gives back the memory of a cached block that was removed (not one
    /// evicted through [`StorageEvictor`], which the manager counted itself).
    pub fn release_storage(&self, bytes: u64) {
        let mut p = self.lock();
        p.storage_used = p.storage_used.saturating_sub(bytes);
    }

    /// Grants `task` up to `bytes` of execution memory (possibly fewer, or 0).
    fn acquire_execution(&self, task: TaskMemoryId, bytes: u64) -> u64 {
        let mut p = self.lock();
        p.task_to_execution.entry(task).or_insert(0);
        if self.limit == 0 {
            p.execution_used += bytes;
            *p.task_to_execution.entry(task).or_insert(0) += bytes;
            return bytes;
        }
        let deadline = Instant::now() + FAIR_SHARE_WAIT;
        loop {
            let free = self.free(&p);
            // Borrowed storage (above the floor) is taken back by eviction.
            if bytes > free && p.storage_used > self.storage_floor {
                let reclaim = (bytes - free).min(p.storage_used - self.storage_floor);
                self.evict(&mut p, reclaim, None);
            }
            let tasks = p.task_to_execution.len().max(1) as u64;
            let pool = self.limit - p.storage_used.min(self.storage_floor);
            let (max_share, min_share) = (pool / tasks, pool / (2 * tasks));
            let held = p.task_to_execution.get(&task).copied().unwrap_or(0);
            let grant = bytes.min(max_share.saturating_sub(held)).min(self.free(&p));
            let now = Instant::now();
            if grant < bytes && held + grant < min_share && now < deadline {
                p = match self.released.wait_timeout(p, deadline - now) {
                    Ok((guard, _)) => guard,
                    Err(poisoned) => poisoned.into_inner().0,
                };
                continue;
            }
            p.execution_used += grant;
            *p.task_to_execution.entry(task).or_insert(0) += grant;
            return grant;
        }
    }

    fn release_execution(&self, task: TaskMemoryId, bytes: u64) {
        let mut p = self.lock();
        let held = p.task_to_execution.entry(task).or_insert(0);
        let bytes = bytes.min(*held);
        *held -= bytes;
        p.execution_used -= bytes;
        drop(p);
        self.released.notify_all();
    }

    /// Forgets `task`, giving back whatever it still holds.
    fn task_ended(&self, task: TaskMemoryId) {
        let mut p = self.lock();
        if let Some(held) = p.task_to_execution.remove(&task) {
            p.execution_used -= held;
        }
        drop(p);
        self.released.notify_all();
    }
}

/// One task attempt's view of its executor's memory manager: consumers of
/// the task take their reservations from it, and it records the task's peak.
pub struct TaskMemory {
    manager: Arc<MemoryManager>,
    id: TaskMemoryId,
    /// (bytes held now, most ever held).
    held: Mutex<(u64, u64)>,
}

impl TaskMemory {
    pub fn new(manager: Arc<MemoryManager>) -> Arc<Self> {
        let id = TaskMemoryId(manager.next_task.fetch_add(1, Ordering::Relaxed));
        Arc::new(TaskMemory { manager, id, held: Mutex::new((0, 0)) })
    }

    /// An empty reservation to grow.
    pub fn reservation(self: &Arc<Self>) -> MemoryReservation {
        MemoryReservation { task: self.clone(), bytes: 0 }
    }

    /// The most execution memory the task held at once.
    pub fn peak(&self) -> u64 {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).1
    }

    pub fn is_unlimited(&self) -> bool {
        self.manager.is_unlimited()
    }

    fn acquire(&self, bytes: u64) -> u64 {
        let granted = self.manager.acquire_execution(self.id, bytes);
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.0 += granted;
        held.1 = held.1.max(held.0);
        granted
    }

    fn release(&self, bytes: u64) {
        self.manager.release_execution(self.id, bytes);
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.0 = held.0.saturating_sub(bytes);
    }
}

impl Drop for TaskMemory {
    fn drop(&mut self) {
        self.manager.task_ended(self.id);
    }
}

/// Execution memory held by one consumer of a task; given back on drop.
pub struct MemoryReservation {
    task: Arc<TaskMemory>,
    bytes: u64,
}

impl MemoryReservation {
    pub fn size(&self) -> u64 {
        self.bytes
    }

    /// Asks for `more` bytes; returns how many were granted (maybe fewer).
    pub fn grow(&mut self, more: u64) -> u64 {
        let granted = self.task.acquire(more);
        self.bytes += granted;
        granted
    }

    /// Makes sure `needed` bytes are held, asking for twice the shortfall
    /// (fewer requests as a collection grows, as Spark's spillables do);
    /// false when the manager could not grant enough: the consumer must spill.
    pub fn ensure(&mut self, needed: u64) -> bool {
        if needed <= self.bytes {
            return true;
        }
        self.grow(2 * needed - self.bytes);
        needed <= self.bytes
    }

    /// Gives back everything (after a spill).
    pub fn free(&mut self) {
        if self.bytes > 0 {
            self.task.release(self.bytes);
            self.bytes = 0;
        }
    }

    /// Gives back all but `keep` bytes.
    pub fn shrink_to(&mut self, keep: u64) {
        if keep < self.bytes {
            self.task.release(self.bytes - keep);
            self.bytes = keep;
        }
    }
}

impl Drop for MemoryReservation {
    fn drop(&mut self) {
        self.free();
    }
}

#[cfg(test)]
mod tests;

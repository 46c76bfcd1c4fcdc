//! The listener bus: what the scheduler did, as events, delivered to
//! listeners on their own thread so that a slow listener never slows the
//! scheduler down.
//!
//! # Events
//! [`ListenerEvent`] is the one record of an application's life that the
//! progress bar, the web UI's state store and the event log all read (Spark's
//! `SparkListenerEvent`s). Every event carries the wall-clock time it
//! happened at, so that a replay of the event log (`ember-history`) shows the
//! same durations as the live UI. Events are plain data (`serde`), never
//! references into scheduler state: an event is built on the scheduler loop,
//! so it must be cheap to build (ids, counters, and at job start the
//! description of the job's stages).
//!
//! # Delivery
//! [`ListenerBus::post`] only enqueues (an unbounded channel, never blocking
//! the scheduler). One thread delivers events in order to every listener, in
//! batches. Delivery coalesces: when the first event of a quiet period wakes
//! the bus thread, it waits [`COALESCE_DELAY`] before taking what is queued,
//! so a burst of 10,000 task ends costs the scheduler one wake-up of the bus
//! thread, not 10,000 (measured: waking it per event cost more CPU than all
//! the listeners together). Events reach listeners at most that much later.

use crate::executors::ExecutorId;
use ember_rdd::StorageLevel;
use ember_rdd::ids::{BlockId, JobId, RddId, ShuffleId, StageId, TaskId};
pub use ember_rdd::task::TaskMetrics;
use serde::{Deserialize, Serialize};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

/// A wall-clock time, in milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    pub fn now() -> Self {
        UnixMillis(SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0))
    }
    /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub fn since(self, earlier: UnixMillis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// One RDD computed by a stage's tasks, as the DAG and storage pages show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RddInfo {
    pub id: RddId,
    /// The node's kind ("MapPartitionsRdd").
    pub kind: String,
    pub num_partitions: usize,
    pub storage_level: StorageLevel,
    /// The RDDs it reads: narrow parents (in the same stage) and the map side
    /// of the shuffles it reads (the last RDD of a parent stage).
    pub parents: Vec<RddId>,
    /// Where the program made it, as Spark says it: "map at src/main.rs:14"
    /// (`ember_rdd::call_site`); absent in logs from before call sites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_site: Option<String>,
}

impl RddInfo {
    /// "map at src/main.rs:14 [4]", or by its kind ("MapPartitionsRdd [4]")
    /// when the operation that made it is unknown.
    pub fn display_name(&self) -> String {
        match &self.call_site {
            Some(site) => format!("{site} [{}]", self.id.0),
            None => format!("{} [{}]", self.kind, self.id.0),
        }
    }
}

/// A stage as a job sees it when the job starts: what it computes, not how
/// far it got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageInfo {
    pub stage: StageId,
    /// "map at src/main.rs:20" (the operation and line that made the
    /// stage's last RDD) for a map stage, "count at src/main.rs:24" (the
    /// action and its line) for the job's last stage, as Spark names stages.
    pub name: String,
    /// Tasks a complete run has: the partitions it computes.
    pub num_tasks: usize,
    /// Map stages whose shuffle outputs it reads.
    pub parents: Vec<StageId>,
    /// The shuffle it writes, for a shuffle map stage.
    pub shuffle: Option<ShuffleId>,
    /// The RDDs pipelined in its tasks, parents before children; the last one
    /// is the stage's RDD.
    pub rdds: Vec<RddInfo>,
}

/// An executor's memory at one moment, from its heartbeat (backends) or
/// its sampler (the in-process executor), every `ember.executor.heartbeatInterval`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutorMemory {
    /// Cached blocks' bytes in memory.
    pub storage_bytes: u64,
    /// Execution memory (shuffle buffers, aggregation and sort) held.
    pub execution_bytes: u64,
}

/// Where a cached block is after a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BlockPlacement {
    Memory,
    Disk,
    /// Evicted or dropped.
    Removed,
}

/// How one task attempt ended: what the `TaskEnd` event carries, built by
/// the scheduler in one place (`post_task_end`) and read by the UI, the
/// event log and listeners by field.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskEndInfo {
    pub task: TaskId,
    pub stage: StageId,
    pub stage_attempt: u32,
    /// The RDD the stage computes.
    pub rdd: RddId,
    pub partition: usize,
    #[serde(with = "executor_id_serde")]
    pub executor: ExecutorId,
    pub succeeded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Time spent running the task's code on the executor (in the log:
    /// `run_micros`).
    #[serde(rename = "run_micros", with = "duration_micros")]
    pub run_time: Duration,
    /// What the task read and wrote (`ember_rdd::metrics` says what is
    /// counted where); in the log, its counters sit beside the others.
    #[serde(flatten)]
    pub metrics: TaskMetrics,
    /// Bytes of the serialized result sent to the driver (0 in process,
    /// where results are not serialized, and for map tasks).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub result_size_bytes: u64,
    pub time: UnixMillis,
}

/// Something the application, the scheduler or an executor did.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "event")]
pub enum ListenerEvent {
    /// The context started (the first event of an event log).
    ApplicationStart {
        app_id: String,
        app_name: String,
        master: String,
        user: String,
        /// The configuration, secrets already redacted.
        configuration: Vec<(String, String)>,
        time: UnixMillis,
    },
    /// The context stopped.
    ApplicationEnd {
        time: UnixMillis,
    },
    JobStart {
        job: JobId,
        /// Every stage the job needs, including those whose outputs exist already.
        stages: Vec<StageId>,
        /// What those stages compute (their RDDs): the job's DAG.
        stage_infos: Vec<StageInfo>,
        /// The name of its result stage.
        name: String,
        time: UnixMillis,
    },
    JobEnd {
        job: JobId,
        succeeded: bool,
        error: Option<String>,
        time: UnixMillis,
    },
    /// An attempt of a stage starts, with the partitions it lacks.
    StageSubmitted {
        stage: StageId,
        /// Attempts are numbered from 1.
        attempt: u32,
        rdd: RddId,
        tasks: usize,
        name: String,
        time: UnixMillis,
    },
    /// An attempt of a stage ended: all its tasks done, or `failure`.
    StageCompleted {
        stage: StageId,
        attempt: u32,
        failure: Option<String>,
        time: UnixMillis,
    },
    TaskStart {
        task: TaskId,
        stage: StageId,
        stage_attempt: u32,
        partition: usize,
        /// How many attempts of this partition's task failed before.
        attempt: u32,
        #[serde(with = "executor_id_serde")]
        executor: ExecutorId,
        time: UnixMillis,
    },
    /// A launched task ended (see [`TaskEndInfo`]).
    TaskEnd(TaskEndInfo),
    ExecutorAdded {
        #[serde(with = "executor_id_serde")]
        executor: ExecutorId,
        cores: usize,
        /// Where the executor serves shuffle blocks (empty in process).
        host_port: String,
        /// Memory for cached blocks, in bytes (0 = unlimited).
        max_memory: u64,
        time: UnixMillis,
    },
    ExecutorRemoved {
        #[serde(with = "executor_id_serde")]
        executor: ExecutorId,
        reason: String,
        time: UnixMillis,
    },
    /// An executor's heartbeat: its memory now (the executors page's
    /// memory over time).
    ExecutorMetrics {
        #[serde(with = "executor_id_serde")]
        executor: ExecutorId,
        #[serde(flatten)]
        memory: ExecutorMemory,
        time: UnixMillis,
    },
    /// A cached block appeared, moved to disk, or went away.
    BlockUpdated {
        #[serde(with = "executor_id_serde")]
        executor: ExecutorId,
        block: BlockId,
        placement: BlockPlacement,
        size_bytes: u64,
        time: UnixMillis,
    },
    /// The program unpersisted an RDD: its blocks are being dropped everywhere.
    RddUnpersisted {
        rdd: RddId,
        time: UnixMillis,
    },
}

/// A task end is most of an event log: zero metrics are left out of it.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Durations as whole microseconds on the wire.
mod duration_micros {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_micros().min(u128::from(u64::MAX)) as u64)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_micros)
    }
}

/// Executor ids are strings on the wire (`ExecutorId` itself stays free of serde).
mod executor_id_serde {
    use crate::executors::ExecutorId;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &ExecutorId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&id.0)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ExecutorId, D::Error> {
        String::deserialize(d).map(ExecutorId)
    }
}

/// Receives listener events, in order, on the bus thread.
pub trait Listener: Send + Sync {
    fn on_event(&self, event: &ListenerEvent);

    /// Receives consecutive events at once (the bus delivers in batches);
    /// override to take a lock once per batch instead of once per event.
    fn on_events(&self, events: &[ListenerEvent]) {
        events.iter().for_each(|e| self.on_event(e));
    }
}

enum BusMessage {
    Event(ListenerEvent),
    Flush(mpsc::Sender<()>),
}

/// Messages delivered per look at the listener list.
const DELIVERY_BATCH: usize = 1024;

/// How long the bus thread lets events gather after the first one of a
/// quiet period woke it.
pub const COALESCE_DELAY: Duration = Duration::from_millis(1);

/// The bus thread's nice value (Linux, this thread only): when the cores are
/// busy, the scheduler loop and the task threads run first and listeners
/// catch up in the gaps. At +10 its scheduling weight is about a tenth of a
/// normal thread's, so it is slowed, not starved; the listeners need a few
/// percent of a core at 100,000 tasks/s. The cost: a flush (at stop, or in
/// tests) may wait longer while the cores are saturated.
const BUS_NICE: libc::c_int = 10;

/// Lowers the calling thread's CPU priority to [`BUS_NICE`] (best effort:
/// where it fails the bus runs at normal priority).
fn run_at_low_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid has no preconditions; setpriority reads its three
        // integer arguments only, and with a thread id changes that thread.
        let failed = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, BUS_NICE) } != 0;
        if failed {
            tracing::debug!(error = %std::io::Error::last_os_error(), "the listener bus runs at normal priority");
        }
    }
}

/// Delivers events to listeners on a dedicated thread.
#[derive(Clone)]
pub struct ListenerBus {
    tx: mpsc::Sender<BusMessage>,
    listeners: Arc<RwLock<Vec<Arc<dyn Listener>>>>,
}

impl ListenerBus {
    pub fn start() -> Self {
        let (tx, rx) = mpsc::channel::<BusMessage>();
        let listeners: Arc<RwLock<Vec<Arc<dyn Listener>>>> = Arc::new(RwLock::new(Vec::new()));
        let ls = listeners.clone();
        let spawned = std::thread::Builder::new().name("ember-listener-bus".into()).spawn(move || {
            run_at_low_priority();
            let mut events = Vec::with_capacity(DELIVERY_BATCH);
            // Blocks while nothing happens; after a wake-up, lets a burst gather.
            while let Ok(first) = rx.recv() {
                std::thread::sleep(COALESCE_DELAY);
                let mut next = Some(first);
                while let Some(msg) = next.take().or_else(|| rx.try_recv().ok()) {
                    let current = ls.read().unwrap_or_else(|p| p.into_inner()).clone();
                    let deliver = |events: &mut Vec<ListenerEvent>| {
                        current.iter().for_each(|l| l.on_events(events));
                        events.clear();
                    };
                    for msg in std::iter::once(msg).chain(rx.try_iter().take(DELIVERY_BATCH - 1)) {
                        match msg {
                            BusMessage::Event(e) => events.push(e),
                            BusMessage::Flush(done) => {
                                deliver(&mut events);
                                let _ = done.send(());
                            }
                        }
                    }
                    deliver(&mut events);
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the listener bus; listeners will not be called");
        }
        ListenerBus { tx, listeners }
    }

    pub fn add(&self, listener: Arc<dyn Listener>) {
        self.listeners.write().unwrap_or_else(|p| p.into_inner()).push(listener);
    }

    pub fn post(&self, event: ListenerEvent) {
        let _ = self.tx.send(BusMessage::Event(event));
    }

    /// Waits until every event posted before this call has been delivered.
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if self.tx.send(BusMessage::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(Duration::from_secs(30));
        }
    }
}

/// A listener that records every event, for tests and tools.
#[derive(Default)]
pub struct RecordingListener {
    events: Mutex<Vec<ListenerEvent>>,
}

impl RecordingListener {
    pub fn events(&self) -> Vec<ListenerEvent> {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn clear(&self) {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
    /// Successful tasks of stages computing `rdd`'s partitions.
    pub fn successful_tasks_of(&self, rdd: RddId) -> Vec<usize> {
        self.events()
            .iter()
            .filter_map(|e| match e {
                ListenerEvent::TaskEnd(TaskEndInfo { rdd: r, partition, succeeded: true, .. }) if *r == rdd => {
                    Some(*partition)
                }
                _ => None,
            })
            .collect()
    }
}

impl Listener for RecordingListener {
    fn on_event(&self, event: &ListenerEvent) {
        self.events.lock().unwrap_or_else(|p| p.into_inner()).push(event.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_json() {
        let event = ListenerEvent::TaskEnd(TaskEndInfo {
            task: TaskId(7),
            stage: StageId(2),
            stage_attempt: 1,
            rdd: RddId(4),
            partition: 3,
            executor: ExecutorId("exec-1".into()),
            succeeded: false,
            error: Some("boom".into()),
            run_time: Duration::from_micros(1500),
            metrics: TaskMetrics {
                records_read: 10,
                bytes_read: 15,
                shuffle_read_records: 17,
                shuffle_read_bytes: 20,
                shuffle_write_bytes: 30,
                shuffle_write_records: 3,
                memory_bytes_spilled: 1 << 20,
                disk_bytes_spilled: 1 << 18,
                spill_nanos: 5_000,
                peak_execution_memory: 2 << 20,
                shuffle_fetch_wait_nanos: 7_000,
                shuffle_write_nanos: 9_000,
            },
            result_size_bytes: 40,
            time: UnixMillis(1_700_000_000_000),
        });
        let line = serde_json::to_string(&event).unwrap();
        assert!(line.starts_with(r#"{"event":"TaskEnd""#), "{line}");
        assert!(line.contains(r#""executor":"exec-1""#), "{line}");
        let back: ListenerEvent = serde_json::from_str(&line).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), line);
    }
}

//! The listener bus: what the scheduler did, as events, delivered to
//! listeners on their own thread so that a slow listener never slows the
//! scheduler down.

use crate::executors::ExecutorId;
use ember_rdd::ids::{JobId, RddId, StageId, TaskId};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Something the scheduler did.
#[derive(Clone, Debug)]
pub enum ListenerEvent {
    JobStart {
        job: JobId,
        stages: Vec<StageId>,
    },
    JobEnd {
        job: JobId,
        succeeded: bool,
    },
    StageSubmitted {
        stage: StageId,
        attempt: u32,
        rdd: RddId,
        tasks: usize,
    },
    StageCompleted {
        stage: StageId,
        attempt: u32,
    },
    TaskStart {
        task: TaskId,
        stage: StageId,
        partition: usize,
        executor: ExecutorId,
    },
    TaskEnd {
        task: TaskId,
        stage: StageId,
        /// The RDD the stage computes.
        rdd: RddId,
        partition: usize,
        executor: ExecutorId,
        succeeded: bool,
        error: Option<String>,
        run_time: Duration,
        shuffle_read_bytes: u64,
        shuffle_write_bytes: u64,
    },
    ExecutorAdded {
        executor: ExecutorId,
        cores: usize,
    },
    ExecutorRemoved {
        executor: ExecutorId,
        reason: String,
    },
}

/// Receives listener events, in order, on the bus thread.
pub trait Listener: Send + Sync {
    fn on_event(&self, event: &ListenerEvent);
}

enum BusMessage {
    Event(ListenerEvent),
    Flush(mpsc::Sender<()>),
}

/// Delivers events to listeners on a dedicated thread.
#[derive(Clone)]
pub struct ListenerBus {
    tx: mpsc::Sender<BusMessage>,
    listeners: Arc<Mutex<Vec<Arc<dyn Listener>>>>,
}

impl ListenerBus {
    pub fn start() -> Self {
        let (tx, rx) = mpsc::channel::<BusMessage>();
        let listeners: Arc<Mutex<Vec<Arc<dyn Listener>>>> = Arc::new(Mutex::new(Vec::new()));
        let ls = listeners.clone();
        let spawned = std::thread::Builder::new().name("ember-listener-bus".into()).spawn(move || {
            for msg in rx {
                match msg {
                    BusMessage::Event(e) => {
                        let current = ls.lock().unwrap_or_else(|p| p.into_inner()).clone();
                        current.iter().for_each(|l| l.on_event(&e));
                    }
                    BusMessage::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the listener bus; listeners will not be called");
        }
        ListenerBus { tx, listeners }
    }

    pub fn add(&self, listener: Arc<dyn Listener>) {
        self.listeners.lock().unwrap_or_else(|p| p.into_inner()).push(listener);
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
                ListenerEvent::TaskEnd { rdd: r, partition, succeeded: true, .. } if *r == rdd => Some(*partition),
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

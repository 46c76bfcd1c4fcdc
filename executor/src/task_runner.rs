//! Running one task: the task boundary.
//!
//! A task runs the stage root on its partition with the task installed as the
//! thread's current task (for broadcast variables and accumulators). A panic
//! in user code is caught here and becomes a [`TaskError::UserPanic`]: it
//! fails the task, never the executor.

use ember_rdd::TaskError;
use ember_rdd::panic_report::{CaughtPanic, catch_task_panic};
use ember_rdd::rdd::StageRoot;
use ember_rdd::task::{KillSwitch, TaskContext, TaskOutcome, TaskSuccess, with_current_task};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Runs `root` on `tc.partition`.
/// A task killed while it waited in the queue does not start.
pub fn run_task(root: &dyn StageRoot, tc: Arc<TaskContext>) -> TaskOutcome {
    let start = Instant::now();
    if tc.kill_switch().is_killed() {
        return TaskOutcome { result: Err(tc.kill_switch().error()), metrics: tc.metrics(), run_time: start.elapsed() };
    }
    let ran = catch_task_panic(|| with_current_task(&tc, || root.run(tc.partition, &tc)));
    let result = match ran {
        // An iterator that stopped early on an error means the output is
        // incomplete: the task fails with that error.
        Ok(Ok(_)) if let Some(e) = tc.take_deferred_error() => Err(e),
        Ok(Ok(output)) => tc.take_accumulator_updates().map(|accumulators| TaskSuccess { output, accumulators }),
        Ok(Err(e)) => Err(e),
        Err(CaughtPanic { payload, report }) => {
            Err(TaskError::UserPanic { message: ember_rdd::panic_message(&*payload), backtrace: report })
        }
    };
    TaskOutcome { result, metrics: tc.metrics(), run_time: start.elapsed() }
}

/// The kill switches of the tasks an executor was given and has not
/// finished (running or queued), by task id, so the driver can kill them.
#[derive(Default)]
pub struct KillSwitches(Mutex<std::collections::HashMap<u64, KillSwitch>>);

impl KillSwitches {
    pub fn register(&self, task: u64, switch: KillSwitch) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(task, switch);
    }
    pub fn finished(&self, task: u64) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&task);
    }
    /// Kills those of `tasks` not finished yet.
    pub fn kill(&self, tasks: &[u64], reason: &str) {
        let switches = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for task in tasks {
            if let Some(switch) = switches.get(task) {
                switch.kill(reason);
            }
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of task threads (one per core). Threads get large stacks, since
/// computing a partition walks its narrow lineage recursively.
pub struct TaskPool {
    sender: Mutex<Option<mpsc::Sender<Job>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Stack size of task threads: a 10,000-step narrow lineage needs a few MB in
/// debug builds; the memory is only reserved, not committed.
pub const TASK_STACK_BYTES: usize = 512 << 20;

impl TaskPool {
    pub fn new(threads: usize, name: &str) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut handles = Vec::with_capacity(threads);
        for i in 0..threads.max(1) {
            let receiver = receiver.clone();
            let handle = std::thread::Builder::new().name(format!("{name}-{i}")).stack_size(TASK_STACK_BYTES).spawn(
                move || {
                    loop {
                        let job = receiver.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // pool dropped
                        }
                    }
                },
            )?;
            handles.push(handle);
        }
        Ok(TaskPool { sender: Mutex::new(Some(sender)), threads: handles })
    }

    /// Queues a job; returns false when the pool is shut down.
    pub fn spawn(&self, job: impl FnOnce() + Send + 'static) -> bool {
        let sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        sender.as_ref().is_some_and(|s| s.send(Box::new(job)).is_ok())
    }
}

impl Drop for TaskPool {
    fn drop(&mut self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        for t in self.threads.drain(..) {
            // A thread that is running a long task is detached instead of joined.
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

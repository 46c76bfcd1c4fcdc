//! The in-process executor of `local[N]`: N task threads sharing one memory
//! manager, block manager and shuffle store, under the same memory budget as
//! a backend (`ember.executor.memory`). Results stay in memory (no
//! serialization). Its local directory (spill and shuffle files) is removed
//! when the executor is dropped, with its context.

use super::{ExecutorId, ExecutorLink, ExecutorResources, RemoveTarget, StageDescription, TaskLaunch};
use crate::listener::ExecutorMemory;
use crate::scheduler::IdMap;
use crate::scheduler::{EventSender, SchedulerEvent};
use ember_executor::env::{ExecutorConfig, ExecutorEnv, StageEnv};
use ember_executor::task_runner::{KillSwitches, TaskPool, run_task};
use ember_rdd::EmberError;
use ember_rdd::ids::{BroadcastId, StageId, TaskId};
use ember_rdd::storage::AnyValue;
use ember_rdd::storage::BlockUpdate;
use ember_rdd::task::{TaskContext, TaskEnv};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

pub struct LocalExecutor {
    id: ExecutorId,
    env: Arc<ExecutorEnv>,
    pool: TaskPool,
    /// (stage, attempt) -> its description and task environment.
    stages: Mutex<IdMap<(StageId, u32), (Arc<StageDescription>, Arc<StageEnv>)>>,
    events: EventSender,
    /// The tasks given and not finished, to kill when their job is cancelled.
    kill_switches: Arc<KillSwitches>,
    /// Dropped with the executor, which stops its memory sampler.
    _sampler: Option<std::sync::mpsc::Sender<()>>,
}

/// Reports the executor's memory every `interval`, as a backend's heartbeat
/// does, until `stop`'s sender is dropped.
fn sample_memory(
    id: ExecutorId,
    env: Arc<ExecutorEnv>,
    events: EventSender,
    interval: Duration,
) -> Option<mpsc::Sender<()>> {
    let (stop, stopped) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new().name("ember-local-heartbeat".into()).spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
            let usage = env.memory.usage();
            let memory = ExecutorMemory { storage_bytes: usage.storage_bytes, execution_bytes: usage.execution_bytes };
            events.post(SchedulerEvent::Heartbeat { executor: id.clone(), memory });
        }
    });
    match spawned {
        Ok(_) => Some(stop),
        Err(e) => {
            tracing::warn!(error = %e, "no memory samples from the local executor");
            None
        }
    }
}

impl LocalExecutor {
    pub fn new(
        id: ExecutorId,
        threads: usize,
        resources: &ExecutorResources,
        app_id: &str,
        events: EventSender,
    ) -> Result<Self, EmberError> {
        let block_events = events.clone();
        let block_exec = id.clone();
        let on_update = Arc::new(move |u: BlockUpdate| {
            block_events.post(SchedulerEvent::BlockUpdated { executor: block_exec.clone(), update: u });
        });
        let base = resources.local_dir.clone().unwrap_or_else(std::env::temp_dir);
        let config = ExecutorConfig {
            executor_id: id.0.clone(),
            memory: resources.memory,
            local_dir: base.join(format!("ember-{app_id}-{id}")),
            compress_shuffle: resources.compress_shuffle,
        };
        let env = Arc::new(ExecutorEnv::new(config, on_update, None));
        let pool = TaskPool::new(threads, "ember-local-task").map_err(|e| EmberError::Executor(e.to_string()))?;
        let sampler = sample_memory(id.clone(), env.clone(), events.clone(), resources.heartbeat_interval);
        let stages = Mutex::new(IdMap::default());
        Ok(LocalExecutor { id, env, pool, stages, events, kill_switches: Arc::default(), _sampler: sampler })
    }
}

impl ExecutorLink for LocalExecutor {
    fn register_stage(&self, stage: &Arc<StageDescription>) -> Result<(), EmberError> {
        let env = Arc::new(StageEnv::new(self.env.clone(), stage.locations.clone(), false));
        self.stages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((stage.stage, stage.attempt), (stage.clone(), env));
        Ok(())
    }

    fn launch(&self, tasks: Vec<TaskLaunch>) {
        for t in tasks {
            let entry = self.stages.lock().unwrap_or_else(|p| p.into_inner()).get(&(t.stage, t.stage_attempt)).cloned();
            let events = self.events.clone();
            let executor = self.id.clone();
            let Some((stage, env)) = entry else {
                tracing::error!(stage = %t.stage, "task launched for an unregistered stage");
                continue;
            };
            let env: Arc<dyn TaskEnv> = env;
            let tc = Arc::new(TaskContext::new(t.stage, t.partition, t.attempt, env));
            self.kill_switches.register(t.task.0, tc.kill_switch());
            let kill_switches = self.kill_switches.clone();
            self.pool.spawn(move || {
                let outcome = run_task(&*stage.root, tc);
                kill_switches.finished(t.task.0);
                events.post(SchedulerEvent::TaskEnded { executor, task: t.task, outcome });
            });
        }
    }

    fn put_broadcast(&self, id: BroadcastId, _: &Arc<Vec<u8>>, value: &AnyValue) {
        self.env.put_broadcast_value(id, value.clone());
    }

    fn remove(&self, target: RemoveTarget) {
        match target {
            RemoveTarget::Rdd(id) => self.env.blocks.remove_rdd(id),
            RemoveTarget::Shuffle(id) => self.env.shuffles.remove_shuffle(id),
            RemoveTarget::Broadcast(id) => self.env.remove_broadcast(id),
            RemoveTarget::Stage(id) => {
                self.stages.lock().unwrap_or_else(|p| p.into_inner()).retain(|(s, _), _| *s != id)
            }
        }
    }

    fn kill(&self, tasks: &[TaskId], reason: &str) {
        let ids: Vec<u64> = tasks.iter().map(|t| t.0).collect();
        self.kill_switches.kill(&ids, reason);
    }

    fn shutdown(&self) {}
}

impl Drop for LocalExecutor {
    fn drop(&mut self) {
        self.env.remove_local_dir();
    }
}

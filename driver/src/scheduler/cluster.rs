//! The executor side of the scheduler loop: executors joining (they get
//! every broadcast so far) and going silent (no heartbeat within
//! `ember.network.timeout`: treated as lost, checked by a timer armed for
//! the earliest deadline), where cached blocks are,
//! unpersisting, broadcasts, and stopping.

use super::IdSet;
use super::SchedulerEvent;
use super::dag::{DagScheduler, ExecutorState};
use crate::executors::{ExecutorId, ExecutorLink, RemoveTarget};
use crate::listener::{BlockPlacement, ListenerEvent, UnixMillis};
use ember_rdd::EmberError;
use ember_rdd::ids::{BroadcastId, JobId, RddId};
use ember_rdd::storage::AnyValue;
use ember_rdd::storage::{BlockPlace, BlockUpdate};
use std::sync::Arc;
use std::time::{Duration, Instant};

impl DagScheduler {
    pub(super) fn handle_executor_added(
        &mut self,
        executor: ExecutorId,
        link: Arc<dyn ExecutorLink>,
        cores: usize,
        address: String,
        max_memory: u64,
    ) {
        self.executors_gone_since = None;
        for (id, bytes, value) in &self.broadcasts {
            link.put_broadcast(*id, bytes, value);
        }
        self.listener.post(ListenerEvent::ExecutorAdded {
            executor: executor.clone(),
            cores,
            host_port: address.clone(),
            max_memory,
            time: UnixMillis::now(),
        });
        let slots = cores * (1 + self.settings.prefetch_tasks);
        let state = ExecutorState {
            link,
            slots,
            free_slots: slots,
            address,
            last_seen: self.clock.now(),
            registered: IdSet::default(),
        };
        self.executors.insert(executor, state);
    }

    pub(super) fn handle_block_updated(&mut self, executor: ExecutorId, update: BlockUpdate) {
        let placement = match update.place {
            BlockPlace::Memory => BlockPlacement::Memory,
            BlockPlace::Disk => BlockPlacement::Disk,
            BlockPlace::None => BlockPlacement::Removed,
        };
        self.listener.post(ListenerEvent::BlockUpdated {
            executor: executor.clone(),
            block: update.block,
            placement,
            size_bytes: update.size_bytes,
            time: UnixMillis::now(),
        });
        if update.place == BlockPlace::None {
            if let Some(holders) = self.block_to_executors.get_mut(&update.block) {
                holders.remove(&executor);
                if holders.is_empty() {
                    self.block_to_executors.remove(&update.block);
                }
            }
        } else if self.executors.contains_key(&executor) {
            self.block_to_executors.entry(update.block).or_default().insert(executor);
        }
    }

    pub(super) fn handle_unpersist(&mut self, rdd: RddId) {
        self.listener.post(ListenerEvent::RddUnpersisted { rdd, time: UnixMillis::now() });
        self.block_to_executors.retain(|b, _| b.rdd != rdd);
        for e in self.executors.values() {
            e.link.remove(RemoveTarget::Rdd(rdd));
        }
    }

    pub(super) fn handle_broadcast_added(&mut self, id: BroadcastId, bytes: Arc<Vec<u8>>, value: AnyValue) {
        for e in self.executors.values() {
            e.link.put_broadcast(id, &bytes, &value);
        }
        self.broadcasts.push((id, bytes, value));
    }

    /// The next moment something may expire: an executor's heartbeat, or
    /// the wait for a replacement when every executor is gone.
    fn next_deadline(&self) -> Option<Instant> {
        let timeout = self.settings.network_timeout;
        let heartbeats = self
            .executors
            .iter()
            .filter(|(id, _)| id.0 != crate::executors::LOCAL_EXECUTOR_ID)
            .map(|(_, e)| e.last_seen + timeout);
        let wait = self.settings.registration_timeout + self.settings.master_rescan_interval;
        let replacement = self.executors_gone_since.as_ref().map(|(since, _)| *since + wait);
        heartbeats.chain(replacement).min()
    }

    /// Makes sure a `Tick` comes just after the next deadline: one timer for
    /// the earliest deadline, no fixed polling. A heartbeat moves its deadline
    /// later; the timer then fires early, finds nothing expired and is armed
    /// again for the new earliest deadline.
    pub(super) fn arm_deadline_timer(&mut self) {
        let Some(deadline) = self.next_deadline() else { return };
        if self.deadline_timer.is_some_and(|armed| armed <= deadline) {
            return;
        }
        self.deadline_timer = Some(deadline);
        let delay = deadline.saturating_duration_since(self.clock.now()) + Duration::from_millis(1);
        let events = self.events.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            events.post(SchedulerEvent::Tick);
        });
    }

    pub(super) fn handle_tick(&mut self) {
        self.revive_pending = false;
        let timeout = self.settings.network_timeout;
        let now = self.clock.now();
        if self.deadline_timer.is_some_and(|armed| armed <= now) {
            self.deadline_timer = None; // it fired
        }
        let silent: Vec<ExecutorId> = self
            .executors
            .iter()
            .filter(|(id, e)| {
                id.0 != crate::executors::LOCAL_EXECUTOR_ID && now.saturating_duration_since(e.last_seen) > timeout
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in silent {
            let reason = format!("no heartbeat for {timeout:?}");
            if let Some(e) = self.executors.get(&id) {
                e.link.shutdown();
            }
            self.handle_executor_lost(&id, &reason);
        }
        // A replacement takes up to a rescan to be found, then up to the
        // registration timeout to come up.
        let wait = self.settings.registration_timeout + self.settings.master_rescan_interval;
        if let Some((since, last)) = &self.executors_gone_since
            && now.saturating_duration_since(*since) > wait
        {
            let why = format!("all executors are lost and none joined within {wait:?} (last lost: {last})");
            self.executors_gone_since = None;
            self.fail_all_jobs(&why);
        }
    }

    pub(super) fn handle_stop(&mut self) {
        let jobs: Vec<JobId> = self.jobs.keys().copied().collect();
        for job in jobs {
            self.fail_job(job, EmberError::Stopped("the context was stopped while the job ran".into()));
        }
        for e in self.executors.values() {
            e.link.shutdown();
        }
        self.executors.clear();
    }
}

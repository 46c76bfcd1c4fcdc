//! Shared variables: broadcast values and accumulators.
//!
//! Both are small serializable handles (an id), so they can be part of a
//! `_with` closure's state. A broadcast value is registered with the driver
//! once and sent to each executor once; inside a task, `value()` reads the
//! executor's copy, decoded at most once per executor. An accumulator's task
//! updates travel back with the task's result and are merged at the driver
//! exactly once per successful task.

use crate::Data;
use crate::error::{EmberError, TaskError};
use crate::ids::{AccumulatorId, BroadcastId};
use crate::runner::JobRunner;
use crate::storage::AnyValue;
use crate::task::{AccumulatorValue, PendingAccumulator, current_task};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::any::Any;
use std::ops::AddAssign;
use std::sync::{Arc, Mutex};

/// A read-only value shipped to every executor once.
pub struct Broadcast<T> {
    id: BroadcastId,
    /// The driver's copy (absent in a deserialized handle).
    local: Option<Arc<T>>,
}

impl<T> Clone for Broadcast<T> {
    fn clone(&self) -> Self {
        Broadcast { id: self.id, local: self.local.clone() }
    }
}

impl<T> Serialize for Broadcast<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.id.serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for Broadcast<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Broadcast { id: BroadcastId::deserialize(d)?, local: None })
    }
}

fn decode_broadcast<T: Data>(bytes: &[u8]) -> Result<AnyValue, TaskError> {
    let value: T =
        postcard::from_bytes(bytes).map_err(|e| TaskError::engine(format!("corrupt broadcast value: {e}")))?;
    Ok(Arc::new(value))
}

impl<T: Data> Broadcast<T> {
    /// Registers `value` with the driver; use `Context::broadcast`.
    pub fn new(runner: &dyn JobRunner, value: T) -> Result<Self, EmberError> {
        let bytes = postcard::to_allocvec(&value)?;
        let local = Arc::new(value);
        let id = runner.register_broadcast(bytes, local.clone())?;
        Ok(Broadcast { id, local: Some(local) })
    }

    pub fn id(&self) -> BroadcastId {
        self.id
    }

    /// The value: the driver's copy, or inside a task the executor's.
    ///
    /// # Panics
    /// When called outside both the driver and a task, or when the executor
    /// lost the value; inside a task the panic fails the task, which is retried.
    pub fn value(&self) -> Arc<T> {
        if let Some(v) = &self.local {
            return v.clone();
        }
        let task = current_task().unwrap_or_else(|| panic!("{}: value() called outside a task", self.id));
        let any = task.env.broadcast(self.id, decode_broadcast::<T>).unwrap_or_else(|e| panic!("{}: {e}", self.id));
        any.downcast::<T>().unwrap_or_else(|_| panic!("{}: stored value has another type", self.id))
    }
}

/// A value that tasks add to and only the driver reads (a sum, a count).
pub struct Accumulator<T> {
    id: AccumulatorId,
    /// The driver's value (absent in a deserialized handle).
    driver: Option<Arc<Mutex<T>>>,
}

impl<T> Clone for Accumulator<T> {
    fn clone(&self) -> Self {
        Accumulator { id: self.id, driver: self.driver.clone() }
    }
}

impl<T> Serialize for Accumulator<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.id.serialize(s)
    }
}

impl<'de, T> Deserialize<'de> for Accumulator<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Accumulator { id: AccumulatorId::deserialize(d)?, driver: None })
    }
}

struct Pending<T>(T);

impl<T: Data> PendingAccumulator for Pending<T> {
    fn as_any(&mut self) -> &mut dyn Any {
        &mut self.0
    }
    fn finish(self: Box<Self>, serialize: bool) -> Result<AccumulatorValue, TaskError> {
        if serialize {
            let bytes = postcard::to_allocvec(&self.0)
                .map_err(|e| TaskError::engine(format!("cannot encode an accumulator update: {e}")))?;
            Ok(AccumulatorValue::Bytes(bytes))
        } else {
            Ok(AccumulatorValue::Local(Box::new(self.0)))
        }
    }
}

impl<T: Data + Default + AddAssign> Accumulator<T> {
    /// Registers a new accumulator starting at `T::default()`; use `Context::accumulator`.
    pub fn new(runner: &dyn JobRunner) -> Self {
        let driver = Arc::new(Mutex::new(T::default()));
        let target = driver.clone();
        let id = runner.register_accumulator(Box::new(move |update| {
            let v: T = match update {
                AccumulatorValue::Local(any) => *any
                    .downcast::<T>()
                    .map_err(|_| EmberError::Serialization("accumulator update has another type".into()))?,
                AccumulatorValue::Bytes(bytes) => postcard::from_bytes(&bytes)?,
            };
            *target.lock().unwrap_or_else(|p| p.into_inner()) += v;
            Ok(())
        }));
        Accumulator { id, driver: Some(driver) }
    }

    pub fn id(&self) -> AccumulatorId {
        self.id
    }

    /// Adds `v`: to this task's update inside a task, else to the driver's value.
    pub fn add(&self, v: T) {
        if let Some(task) = current_task() {
            let mut v = Some(v);
            task.with_accumulator(self.id, &|| Box::new(Pending(T::default())), &mut |acc| {
                if let (Some(acc), Some(v)) = (acc.downcast_mut::<T>(), v.take()) {
                    *acc += v;
                }
            });
        } else if let Some(d) = &self.driver {
            *d.lock().unwrap_or_else(|p| p.into_inner()) += v;
        }
    }

    /// The merged value of every successful task's updates (driver only).
    pub fn value(&self) -> T {
        self.driver.as_ref().map(|d| d.lock().unwrap_or_else(|p| p.into_inner()).clone()).unwrap_or_default()
    }
}

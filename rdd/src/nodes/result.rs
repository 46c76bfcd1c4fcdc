//! `ResultRoot`: the last step of a result stage, which turns a partition's
//! records into the value an action needs from it (a `Vec` for collect, a
//! count, a partial sum, ...).

use crate::Data;
use crate::call_site::CallSite;
use crate::error::{EmberError, TaskError};
use crate::func::Fn2;
use crate::rdd::{RddBase, RddRef, StageRoot};
use crate::shipping::{EntryPoint, ShippedRoot, encode_root, from_fields, to_fields};
use crate::task::{BoxIter, TaskContext, TaskOutput};
use std::marker::PhantomData;
use std::sync::Arc;

pub struct ResultRoot<T: 'static, R, F> {
    input: RddRef<T>,
    f: F,
    /// The action's call site in the driver program (`None` on executors).
    call_site: Option<CallSite>,
    _r: PhantomData<fn() -> R>,
}

impl<T: Data, R: Data, F: Fn2<usize, BoxIter<T>, R>> ResultRoot<T, R, F> {
    pub fn new(input: RddRef<T>, f: F, call_site: CallSite) -> Self {
        ResultRoot { input, f, call_site: Some(call_site), _r: PhantomData }
    }
}

impl<T: Data, R: Data, F: Fn2<usize, BoxIter<T>, R>> StageRoot for ResultRoot<T, R, F> {
    fn rdd(&self) -> Arc<dyn RddBase> {
        self.input.base()
    }

    fn run(&self, partition: usize, tc: &TaskContext) -> Result<TaskOutput, TaskError> {
        let input = tc.interruptible(self.input.iterator(partition, tc)?);
        let value = self.f.call(partition, input);
        if tc.env.results_cross_processes() {
            let bytes = postcard::to_allocvec(&value)
                .map_err(|e| TaskError::engine(format!("cannot encode the task result: {e}")))?;
            Ok(TaskOutput::Bytes(bytes))
        } else {
            Ok(TaskOutput::Value(Box::new(value)))
        }
    }

    fn encode(&self) -> Result<(EntryPoint, Vec<u8>), EmberError> {
        encode_root(self)
    }
    fn call_site(&self) -> Option<CallSite> {
        self.call_site
    }
}

impl<T: Data, R: Data, F: Fn2<usize, BoxIter<T>, R>> ShippedRoot for ResultRoot<T, R, F> {
    type Input = T;
    fn write_fields(&self) -> Result<Vec<u8>, EmberError> {
        to_fields(&self.f)
    }
    fn rebuild(fields: &[u8], input: RddRef<T>) -> Result<Self, TaskError> {
        Ok(ResultRoot { input, f: from_fields(fields)?, call_site: None, _r: PhantomData })
    }
}

/// Turns a task's output back into the action's value.
pub fn decode_output<R: Data>(output: TaskOutput) -> Result<R, EmberError> {
    match output {
        TaskOutput::Value(any) => any
            .downcast::<R>()
            .map(|b| *b)
            .map_err(|_| EmberError::Serialization("task result has an unexpected type".into())),
        TaskOutput::Bytes(bytes) => Ok(postcard::from_bytes(&bytes)?),
        TaskOutput::MapOutput(_) => {
            Err(EmberError::Serialization("a shuffle map output where a result was expected".into()))
        }
    }
}

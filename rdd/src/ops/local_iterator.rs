//! `to_local_iterator`: the records of an RDD in the driver, one partition
//! at a time (Spark's toLocalIterator), so the driver holds only the largest
//! partition rather than the whole RDD. Each partition is a job of its own,
//! started when the iterator reaches it.

use crate::Data;
use crate::call_site::CallSite;
use crate::call_site::OperationScope;
use crate::error::Result;
use crate::func::Plain;
use crate::rdd::Rdd;
use crate::task::BoxIter;

/// The records of an RDD, fetched partition by partition; made by
/// [`Rdd::to_local_iterator`]. A failed job yields its error once and ends
/// the iteration.
pub struct LocalIterator<T: 'static> {
    rdd: Rdd<T>,
    /// Where the driver program asked for the iterator: each job's call site.
    call_site: CallSite,
    /// The next partition to fetch.
    next_partition: usize,
    /// The records of the partition being read.
    current: std::vec::IntoIter<T>,
    /// Whether a job failed (the iteration is over).
    failed: bool,
}

impl<T: Data> Rdd<T> {
    /// Every record, in partition order, fetched one partition per job as
    /// the iterator advances.
    #[track_caller]
    pub fn to_local_iterator(&self) -> LocalIterator<T> {
        let _op = OperationScope::enter("to_local_iterator");
        LocalIterator {
            rdd: self.clone(),
            call_site: CallSite::caller(),
            next_partition: 0,
            current: Vec::new().into_iter(),
            failed: false,
        }
    }
}

impl<T: Data> Iterator for LocalIterator<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(x) = self.current.next() {
                return Some(Ok(x));
            }
            if self.failed || self.next_partition >= self.rdd.num_partitions() {
                return None;
            }
            let partition = self.next_partition;
            self.next_partition += 1;
            let collect = Plain::new(|_, it: BoxIter<T>| it.collect::<Vec<T>>());
            let job = self.rdd.run_job_at(self.call_site, collect, vec![partition]);
            match futures::executor::block_on(job) {
                Ok(parts) => self.current = parts.into_iter().flatten().collect::<Vec<T>>().into_iter(),
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

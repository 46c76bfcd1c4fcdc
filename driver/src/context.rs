//! `Context`: the entry point of a driver program (Spark's SparkContext).
//!
//! A context validates its configuration, starts the scheduler loop on its own
//! small tokio runtime, starts what `ember.ui.*` and `ember.eventLog.*` ask
//! for (the web UI, the event log, the progress bar: [`crate::ui`]), starts or
//! attaches to executors according to the master, and creates RDDs. It
//! implements [`JobRunner`], through which every RDD's actions reach the
//! scheduler. Dropping it (or `stop()`) fails running jobs, shuts executors
//! down, reaps backend processes and completes the event log.

mod formats;

use crate::conf::{Conf, Master, Settings};
use crate::executors::AppIdentity;
use crate::executors::local::LocalExecutor;
use crate::executors::local_cluster::{ClusterSpec, LocalCluster};
use crate::executors::{ExecutorId, LOCAL_EXECUTOR_ID};
use crate::listener::{Listener, ListenerBus, ListenerEvent, UnixMillis};
use crate::scheduler::dag::{DagScheduler, StopCause};
use crate::scheduler::{EventSender, SchedulerEvent};
use crate::ui::UiServices;
use ember_rdd::call_site::OperationScope;
use ember_rdd::func::CapturesNothing;
use ember_rdd::ids::{AccumulatorId, ActionId, BroadcastId, RddId, ShuffleId};
use ember_rdd::io::{AsLocation, Location, list_input_files};
use ember_rdd::job_future::ActionProgress;
use ember_rdd::nodes::parsed_text::{LineParser, ParsedLines};
use ember_rdd::nodes::source::{EmptyRdd, ParallelCollectionRdd, RangeRdd};
use ember_rdd::nodes::text_file::{Lines, TextFileRdd, WholeTextFilesRdd, input_splits};
use ember_rdd::rdd::{RddMeta, StageRoot};
use ember_rdd::runner::{JobRunner, MergeAccumulatorFn};
use ember_rdd::storage::AnyValue;
use ember_rdd::task::TaskOutput;
use ember_rdd::{Accumulator, Broadcast, Data, EmberError, Rdd, Result};
use futures::future::BoxFuture;
use std::ops::AddAssign;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The driver's connection to its executors, and the factory of RDDs.
///
/// A context is cheap to clone and may be shared with other threads (it is
/// `Send + Sync`): clones are handles on one application, which stops when
/// the last handle is dropped or when any of them calls [`Context::stop`].
/// RDDs do not keep the application running: an RDD used after its context
/// stopped fails its actions with "the context is stopped".
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
    /// Stops the application when the last clone of the context is dropped.
    _lifetime: Arc<StopOnDrop>,
}

/// Stops its context when dropped (held by every clone of a [`Context`]).
struct StopOnDrop(Arc<ContextInner>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The state shared by a context and every RDD made from it.
pub struct ContextInner {
    settings: Settings,
    /// `ember.default.parallelism`, else the task threads of the executors
    /// that came up at start (at least 2), as Spark's standalone default.
    default_parallelism: AtomicUsize,
    conf: Conf,
    app_id: String,
    /// A random secret of this application that its executors present to
    /// each other when they fetch shuffle blocks.
    shuffle_token: String,
    events: EventSender,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    next_rdd: AtomicU64,
    next_shuffle: AtomicU64,
    next_broadcast: AtomicU64,
    next_accumulator: AtomicU64,
    next_action: AtomicU64,
    /// Why the scheduler loop ended, if an internal error ended it.
    stop_cause: StopCause,
    listener: ListenerBus,
    /// The backend processes of `local-cluster[N]`.
    cluster: Mutex<Option<Arc<LocalCluster>>>,
    /// Executors the scheduler lost, when they are to be replaced.
    lost_executors: Mutex<Option<mpsc::UnboundedReceiver<ExecutorId>>>,
    stopped: AtomicBool,
    /// Where `checkpoint()` writes: `<dir>/<app id>`.
    checkpoint_dir: Mutex<Option<Location>>,
    /// The web UI, event log and progress bar (as `ember.ui.*` asks).
    ui: Mutex<UiServices>,
}

impl Context {
    /// Starts a context: validates `conf`, starts the scheduler and the executors.
    pub fn new(conf: Conf) -> Result<Context> {
        ember_executor::backend::run_if_requested();
        let settings = conf.validate()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ember-driver")
            .enable_all()
            .build()
            .map_err(|e| EmberError::Executor(format!("cannot start the driver runtime: {e}")))?;
        let (events, rx) = EventSender::channel();
        let listener = ListenerBus::start();
        let mut scheduler = DagScheduler::new(settings.clone(), events.clone(), listener.clone());
        let stop_cause = scheduler.stop_cause();
        // Lost executors are reported to whatever replaces them: local-cluster
        // replacements, and the rescans of an ember:// master.
        let rescans = matches!(settings.master, Master::Cluster { .. }) && !settings.master_rescan_interval.is_zero();
        let replaced = matches!(settings.master, Master::LocalCluster { .. }) && settings.replace_lost_executors;
        let replaces_lost = replaced || rescans;
        let lost_rx = replaces_lost.then(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            scheduler.report_lost_executors(tx);
            rx
        });
        runtime.spawn(scheduler.run(rx));
        let app_id = format!("app-{}-{}", std::process::id(), unique_millis());
        let killer: crate::ui::server::StageKiller = {
            let events = events.clone();
            Arc::new(move |stage| {
                let reason = format!("{stage} was killed from the web UI");
                events.post(SchedulerEvent::CancelJobs { which: crate::scheduler::JobSelector::Stage(stage), reason });
            })
        };
        let ui = UiServices::start(&settings, &conf, &app_id, &listener, runtime.handle(), killer)?;
        let inner = Arc::new(ContextInner {
            default_parallelism: AtomicUsize::new(settings.default_parallelism.unwrap_or(2)),
            settings,
            conf,
            app_id,
            shuffle_token: ember_security::auth::random_hex(32),
            events,
            runtime: Mutex::new(Some(runtime)),
            next_rdd: AtomicU64::new(0),
            next_shuffle: AtomicU64::new(0),
            next_broadcast: AtomicU64::new(0),
            next_accumulator: AtomicU64::new(0),
            next_action: AtomicU64::new(0),
            stop_cause,
            listener,
            cluster: Mutex::new(None),
            lost_executors: Mutex::new(lost_rx),
            stopped: AtomicBool::new(false),
            checkpoint_dir: Mutex::new(None),
            ui: Mutex::new(ui),
        });
        let ctx = Context { _lifetime: Arc::new(StopOnDrop(inner.clone())), inner };
        ctx.start_executors()?;
        tracing::info!(app = %ctx.inner.app_id, master = ?ctx.inner.settings.master, "context started");
        Ok(ctx)
    }

    /// Starts the executors the master names; sets the default parallelism
    /// from their task threads unless `ember.default.parallelism` fixed it.
    fn start_executors(&self) -> Result<()> {
        let cores = self.start_executors_of_master()?;
        if self.inner.settings.default_parallelism.is_none() {
            self.inner.default_parallelism.store(cores.max(2), Ordering::Relaxed);
        }
        Ok(())
    }

    /// Starts the master's executors; returns their task threads in all.
    fn start_executors_of_master(&self) -> Result<usize> {
        let s = &self.inner.settings;
        match s.master.clone() {
            Master::Local { threads } => {
                let id = ExecutorId(LOCAL_EXECUTOR_ID.to_string());
                let link = LocalExecutor::new(
                    id.clone(),
                    threads,
                    &s.executor_resources,
                    &self.inner.app_id,
                    self.inner.events.clone(),
                )?;
                self.inner.events.post(SchedulerEvent::ExecutorAdded {
                    executor: id,
                    link: Arc::new(link),
                    cores: threads,
                    address: String::new(),
                    max_memory: s.executor_memory,
                });
                Ok(threads)
            }
            Master::LocalCluster { executors, cores, .. } => self.start_local_cluster(executors, cores),
            Master::Cluster { addresses } => self.start_standalone(&addresses),
        }
    }

    fn start_local_cluster(&self, executors: usize, cores: usize) -> Result<usize> {
        let inner = &self.inner;
        let s = &inner.settings;
        let spec = ClusterSpec {
            cores,
            heartbeat: s.heartbeat_interval,
            timeout: s.registration_timeout,
            resources: s.executor_resources.clone(),
            app: self.app_identity()?,
        };
        let events = inner.events.clone();
        let cluster = self.block_on(async move { LocalCluster::start(executors, spec, &events).await })??;
        if let Some(lost) = inner.lost_executors.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _guard = self.inner.runtime.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|rt| rt.enter());
            cluster.clone().replace_lost(lost, inner.events.clone());
        }
        *inner.cluster.lock().unwrap_or_else(|p| p.into_inner()) = Some(cluster);
        Ok(executors * cores)
    }

    fn start_standalone(&self, addresses: &[String]) -> Result<usize> {
        let inner = &self.inner;
        let app = self.app_identity()?;
        // Present when the master is rescanned (ember.master.rescanInterval > 0).
        let lost = inner.lost_executors.lock().unwrap_or_else(|p| p.into_inner()).take();
        let (settings, events, addresses) = (inner.settings.clone(), inner.events.clone(), addresses.to_vec());
        let started = self.block_on(async move {
            crate::executors::standalone::start(&addresses, &settings, app, &events, lost).await
        })??;
        tracing::info!(executors = started.executors, cores = started.cores, "attached to standalone executors");
        Ok(started.cores)
    }

    /// Who this application is, to daemons and backends.
    fn app_identity(&self) -> Result<AppIdentity> {
        let exe_sha256 = ember_executor::wire::code_sha256()
            .map_err(|e| EmberError::Executor(format!("cannot hash own executable: {e}")))?;
        Ok(AppIdentity {
            app_id: self.inner.app_id.clone(),
            shuffle_token: self.inner.shuffle_token.clone(),
            exe_sha256,
        })
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> Result<F::Output> {
        let rt = self.inner.runtime.lock().unwrap_or_else(|p| p.into_inner());
        let rt = rt.as_ref().ok_or_else(|| EmberError::Stopped("the context is stopped".into()))?;
        Ok(rt.block_on(f))
    }

    fn runner(&self) -> Arc<dyn JobRunner> {
        self.inner.clone()
    }

    #[track_caller]
    fn meta(&self) -> RddMeta {
        RddMeta::new(self.inner.new_rdd_id())
    }

    /// An RDD of `data`, in `partitions` contiguous slices.
    #[track_caller]
    pub fn parallelize<T: Data>(&self, data: Vec<T>, partitions: usize) -> Rdd<T> {
        let _op = OperationScope::enter("parallelize");
        Rdd::from_node(Arc::new(ParallelCollectionRdd::new(self.meta(), data, partitions)), self.runner())
    }

    /// An RDD with no partitions and so no records (Spark's `emptyRDD`).
    /// Actions on it run no task: `collect` gives `[]`, `count` 0, `reduce`
    /// `None`, `fold` its zero; a shuffle of it has no map tasks.
    #[track_caller]
    pub fn empty_rdd<T: Data>(&self) -> Rdd<T> {
        let _op = OperationScope::enter("empty_rdd");
        Rdd::from_node(Arc::new(EmptyRdd::<T>::new(self.meta())), self.runner())
    }

    /// The integers `start, start+step, ...` up to `end` (exclusive), in `partitions` partitions.
    #[track_caller]
    pub fn range(&self, start: i64, end: i64, step: i64, partitions: usize) -> Result<Rdd<i64>> {
        let _op = OperationScope::enter("range");
        Ok(Rdd::from_node(Arc::new(RangeRdd::new(self.meta(), start, end, step, partitions)?), self.runner()))
    }

    /// The lines of a file, of the files of a directory, or of the files a
    /// glob matches, on disk or on an object store (`s3://bucket/prefix`),
    /// split by byte ranges into at least `min_partitions`; `.gz`, `.zst` and
    /// `.bz2` files are decompressed, one partition each.
    #[track_caller]
    pub fn text_file(&self, path: &str, min_partitions: usize) -> Result<Rdd<String>> {
        let _op = OperationScope::enter("text_file");
        let options = self.store_options();
        let splits = input_splits(path, &options, min_partitions)?;
        Ok(Rdd::from_node(Arc::new(TextFileRdd::new(self.meta(), splits, Lines, options)), self.runner()))
    }

    /// How this application reaches object stores: the `ember.s3.*` keys
    /// over the AWS environment and config files (resolved when the context
    /// started).
    pub fn store_options(&self) -> ember_rdd::io::StoreOptions {
        self.inner.settings.io.store.clone()
    }

    /// The lines of text files (as `text_file`), each turned into a record by
    /// `parser`: `Ok(Some(r))` keeps `r`, `Ok(None)` skips the line, `Err(why)`
    /// fails the job with `file:line: why`.
    #[track_caller]
    pub fn text_file_parsed<T: Data>(
        &self,
        path: &str,
        min_partitions: usize,
        parser: impl Fn(&str) -> std::result::Result<Option<T>, String> + CapturesNothing,
    ) -> Result<Rdd<T>> {
        let _op = OperationScope::enter("text_file_parsed");
        self.text_file_parsed_fn(path, min_partitions, ember_rdd::func::Plain::new(parser))
    }

    /// `text_file_parsed` with state for the parser (`|state, line| ...`).
    #[track_caller]
    pub fn text_file_parsed_with<S: ember_rdd::ops::transform::State, T: Data>(
        &self,
        path: &str,
        min_partitions: usize,
        state: S,
        parser: impl Fn(&S, &str) -> std::result::Result<Option<T>, String> + CapturesNothing,
    ) -> Result<Rdd<T>> {
        let _op = OperationScope::enter("text_file_parsed_with");
        self.text_file_parsed_fn(path, min_partitions, ember_rdd::func::With::new(state, parser))
    }

    #[track_caller]
    fn text_file_parsed_fn<T: Data, F: LineParser<T>>(
        &self,
        path: &str,
        min_partitions: usize,
        parser: F,
    ) -> Result<Rdd<T>> {
        let options = self.store_options();
        let splits = input_splits(path, &options, min_partitions)?;
        let node = TextFileRdd::new(self.meta(), splits, ParsedLines::new(parser), options);
        Ok(Rdd::from_node(Arc::new(node), self.runner()))
    }

    /// One `(path, content)` record per file of a directory or glob.
    #[track_caller]
    pub fn whole_text_files(&self, path: &str, min_partitions: usize) -> Result<Rdd<(String, String)>> {
        let _op = OperationScope::enter("whole_text_files");
        let options = self.store_options();
        let files = list_input_files(path, &options)?;
        let node = WholeTextFilesRdd::new(self.meta(), files, min_partitions, options);
        Ok(Rdd::from_node(Arc::new(node), self.runner()))
    }

    /// The records of all the RDDs.
    #[track_caller]
    pub fn union<T: Data>(&self, rdds: &[Rdd<T>]) -> Result<Rdd<T>> {
        let _op = OperationScope::enter("union");
        if rdds.is_empty() {
            return Err(EmberError::InvalidArgument("union of no RDDs".into()));
        }
        Ok(Rdd::union_all(rdds))
    }

    /// Sets the directory (a path, or an `s3://` URL) under which
    /// `checkpoint()` writes RDDs, in a subdirectory named after this
    /// application. Every executor must reach it.
    pub fn set_checkpoint_dir(&self, dir: impl AsLocation) -> Result<()> {
        let dir = dir.as_location()?.join(&self.inner.app_id);
        if let Location::Local(path) = &dir {
            std::fs::create_dir_all(path)
                .map_err(|source| EmberError::Io { path: path.display().to_string(), error: source })?;
        }
        *self.inner.checkpoint_dir.lock().unwrap_or_else(|p| p.into_inner()) = Some(dir);
        Ok(())
    }

    /// Posts an event to this context's scheduler (false once it stopped).
    pub(crate) fn post(&self, event: SchedulerEvent) -> bool {
        self.inner.events.post(event)
    }

    /// Sends `value` to every executor once; read it in tasks with `value()`.
    pub fn broadcast<T: Data>(&self, value: T) -> Result<Broadcast<T>> {
        Broadcast::new(&*self.inner, value)
    }

    /// A new accumulator starting at `T::default()`.
    pub fn accumulator<T: Data + Default + AddAssign>(&self) -> Accumulator<T> {
        Accumulator::new(&*self.inner)
    }

    pub fn default_parallelism(&self) -> usize {
        self.inner.default_parallelism.load(Ordering::Relaxed)
    }
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }
    pub fn conf(&self) -> &Conf {
        &self.inner.conf
    }
    pub fn app_id(&self) -> &str {
        &self.inner.app_id
    }

    /// Receives scheduler events (job, stage, task, executor) on the bus thread.
    pub fn add_listener(&self, listener: Arc<dyn Listener>) {
        self.inner.listener.add(listener);
    }
    /// Waits until listeners have seen every event posted so far.
    pub fn flush_listeners(&self) {
        self.inner.listener.flush();
    }

    /// The web UI's address (`http://host:port`), when it runs.
    pub fn ui_url(&self) -> Option<String> {
        self.inner.ui.lock().unwrap_or_else(|p| p.into_inner()).url().map(str::to_string)
    }
    /// Where the web UI listens, when it runs.
    pub fn ui_address(&self) -> Option<std::net::SocketAddr> {
        self.inner.ui.lock().unwrap_or_else(|p| p.into_inner()).local_addr()
    }
    /// The event log's path once complete (`<ember.eventLog.dir>/<app id>`), when enabled.
    pub fn event_log_path(&self) -> Option<PathBuf> {
        self.inner.ui.lock().unwrap_or_else(|p| p.into_inner()).event_log_path().map(PathBuf::from)
    }

    /// Process ids of the `local-cluster` backends, in the order they started
    /// (replacements last).
    pub fn backend_pids(&self) -> Vec<u32> {
        self.local_cluster_backends().into_iter().map(|(_, pid)| pid).collect()
    }

    /// (executor, pid) of the `local-cluster` backends started so far.
    pub fn local_cluster_backends(&self) -> Vec<(ExecutorId, u32)> {
        let cluster = self.inner.cluster.lock().unwrap_or_else(|p| p.into_inner());
        cluster.as_ref().map(|c| c.backends()).unwrap_or_default()
    }

    /// Stops the context: running jobs fail, executors shut down.
    pub fn stop(&self) {
        self.inner.stop();
    }
}

impl ContextInner {
    fn stop(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let (done, wait) = oneshot::channel();
        if self.events.post(SchedulerEvent::Stop { done }) {
            futures::executor::block_on(async {
                tokio::select! {
                    _ = wait => {}
                    _ = futures_timer(Duration::from_secs(5)) => {}
                }
            });
        }
        if let Some(cluster) = self.cluster.lock().unwrap_or_else(|p| p.into_inner()).take() {
            cluster.shutdown(); // no backend outlives its context
        }
        self.listener.post(ListenerEvent::ApplicationEnd { time: UnixMillis::now() });
        self.listener.flush();
        self.ui.lock().unwrap_or_else(|p| p.into_inner()).stop();
        if let Some(rt) = self.runtime.lock().unwrap_or_else(|p| p.into_inner()).take() {
            rt.shutdown_background();
        }
    }
}

/// A timer usable outside the runtime (a plain thread sleeping).
async fn futures_timer(d: Duration) {
    let (tx, rx) = oneshot::channel::<()>();
    std::thread::spawn(move || {
        std::thread::sleep(d);
        let _ = tx.send(());
    });
    let _ = rx.await;
}

/// The time in milliseconds, but never the same twice in this process: two
/// contexts started in one millisecond get distinct application ids (and so
/// distinct event logs and local directories).
fn unique_millis() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64);
    let now = now.unwrap_or(0);
    let previous = LAST.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| Some(now.max(last + 1)));
    now.max(previous.unwrap_or(0) + 1)
}

impl JobRunner for ContextInner {
    fn new_rdd_id(&self) -> RddId {
        RddId(self.next_rdd.fetch_add(1, Ordering::Relaxed))
    }
    fn new_shuffle_id(&self) -> ShuffleId {
        ShuffleId(self.next_shuffle.fetch_add(1, Ordering::Relaxed))
    }
    fn default_parallelism(&self) -> usize {
        self.default_parallelism.load(Ordering::Relaxed)
    }
    fn seed(&self) -> u64 {
        self.settings.seed
    }
    fn run_job(
        &self,
        root: Arc<dyn StageRoot>,
        partitions: Vec<usize>,
        action: &Arc<ActionProgress>,
    ) -> BoxFuture<'static, Result<Vec<TaskOutput>>> {
        let (reply, result) = oneshot::channel();
        let posted = !self.stopped.load(Ordering::SeqCst)
            && self.events.post(SchedulerEvent::JobSubmitted {
                root,
                partitions,
                group: action.job_group().map(str::to_string),
                action: action.clone(),
                reply,
            });
        let progress = self.ui.lock().unwrap_or_else(|p| p.into_inner()).console_progress();
        let cause = self.stop_cause.clone();
        Box::pin(async move {
            let stop_cause = || cause.get().cloned();
            if !posted {
                return Err(EmberError::Stopped(stop_cause().unwrap_or_else(|| "the context is stopped".into())));
            }
            let outputs = result.await;
            if let Some(progress) = progress {
                progress.finish_all(); // before the program prints what the action returns
            }
            outputs.map_err(|_| {
                EmberError::Stopped(
                    stop_cause().unwrap_or_else(|| "the scheduler stopped before the job finished".into()),
                )
            })?
        })
    }
    fn new_action(&self) -> Arc<ActionProgress> {
        let id = ActionId(self.next_action.fetch_add(1, Ordering::Relaxed));
        ActionProgress::new(id, crate::job_control::current_job_group())
    }
    fn spawn_action(&self, work: BoxFuture<'static, ()>) -> Result<()> {
        let runtime = self.runtime.lock().unwrap_or_else(|p| p.into_inner());
        let runtime = runtime.as_ref().ok_or_else(|| {
            EmberError::Stopped(self.stop_cause.get().cloned().unwrap_or_else(|| "the context is stopped".into()))
        })?;
        // A thread of the runtime's blocking pool, not a worker: the
        // action's driver-side merge may be long, and the workers run the
        // scheduler loop, the executors' links and the web UI.
        runtime.spawn_blocking(move || futures::executor::block_on(work));
        Ok(())
    }
    fn cancel_action(&self, action: ActionId) {
        self.events.post(SchedulerEvent::CancelJobs {
            which: crate::scheduler::JobSelector::Action(action),
            reason: format!("{action} cancelled through its JobFuture"),
        });
    }
    fn unpersist(&self, rdd: RddId) {
        self.events.post(SchedulerEvent::Unpersist { rdd });
    }
    fn release_shuffle(&self, shuffle: ShuffleId) {
        // After the context stopped there is nothing left to release.
        self.events.post(SchedulerEvent::ShuffleReleased { shuffle });
    }
    fn register_broadcast(&self, bytes: Vec<u8>, value: AnyValue) -> Result<BroadcastId> {
        let id = BroadcastId(self.next_broadcast.fetch_add(1, Ordering::Relaxed));
        if !self.events.post(SchedulerEvent::BroadcastAdded { id, bytes: Arc::new(bytes), value }) {
            return Err(EmberError::Stopped("the context is stopped".into()));
        }
        Ok(id)
    }
    fn checkpoint_dir(&self) -> Option<Location> {
        self.checkpoint_dir.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    fn io_settings(&self) -> ember_rdd::io::IoSettings {
        self.settings.io.clone()
    }
    fn register_accumulator(&self, merge: MergeAccumulatorFn) -> AccumulatorId {
        let id = AccumulatorId(self.next_accumulator.fetch_add(1, Ordering::Relaxed));
        // Posted before any job that could update it, on the same channel.
        self.events.post(SchedulerEvent::AccumulatorRegistered { id, merge });
        id
    }
}

/// Starts an executor backend instead of the program when this process was
/// launched as one (`EMBER_BACKEND` set), before `main` runs: backends run the
/// driver's own binary, and must not run the user's `main` (nor, in a test
/// binary, the test harness). It lives beside `Context::new` so that the
/// linker, which keeps a library's object files only when something in them
/// is used, keeps it in every program that starts a context.
// SAFETY: an `.init_array` entry is called by the C runtime before `main`
// with no arguments; `backend_hook` has that signature, and what it runs
// (reading the environment, then starting the backend and exiting) needs
// nothing that is set up only in `main`.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static EMBER_BACKEND_HOOK: extern "C" fn() = backend_hook;

#[cfg(target_os = "linux")]
extern "C" fn backend_hook() {
    ember_executor::backend::run_if_requested();
}

/// What `ember-executor` calls, in a process it started to host a REPL
/// cell's object (`ember_executor::object_host`): this object's copy of
/// Ember becomes the backend. Exported by every object that links `ember`.
#[unsafe(no_mangle)]
pub extern "C" fn ember_hosted_backend_main() -> ! {
    ember_executor::backend::run_hosted()
}

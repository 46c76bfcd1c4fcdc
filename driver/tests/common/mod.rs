//! Shared by the `ops_*` property tests: one context per master for the whole
//! test binary, input strategies, and helpers to build RDDs with an exact
//! partition layout.

#![allow(dead_code)]

use ember::prelude::*;
use proptest::collection::vec;
use proptest::prelude::*;
use std::fmt::Debug;
use std::sync::OnceLock;

/// Every property is checked in both masters.
pub const MASTERS: [&str; 2] = ["local[2]", "local-cluster[2]"];

static LOCAL: OnceLock<Context> = OnceLock::new();
static LOCAL_CLUSTER: OnceLock<Context> = OnceLock::new();

/// The context of `master`, started on first use and shared by every test of
/// the binary (a local-cluster context spawns backend processes: once is enough).
pub fn ctx(master: &str) -> &'static Context {
    let cell = match master {
        "local[2]" => &LOCAL,
        "local-cluster[2]" => &LOCAL_CLUSTER,
        other => panic!("no shared context for master {other}"),
    };
    cell.get_or_init(|| Context::new(Conf::new().master(master).app_name("ops-proptest")).expect("the context starts"))
}

/// `(master, context)` for every master.
pub fn contexts() -> impl Iterator<Item = (&'static str, &'static Context)> {
    MASTERS.into_iter().map(|m| (m, ctx(m)))
}

/// Few cases per property, so the suite stays fast in debug builds. Failures
/// are not persisted: bugs found are pinned by deterministic tests instead.
pub fn config() -> ProptestConfig {
    ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(16) }
}

/// An RDD whose partition `i` holds exactly `layout[i]`, in order.
pub fn from_layout<T: Data>(ctx: &Context, layout: &[Vec<T>]) -> Rdd<T> {
    ctx.parallelize(layout.to_vec(), layout.len()).flat_map(|part: Vec<T>| part)
}

/// Every record of a layout, in partition order.
pub fn flatten<T: Clone>(layout: &[Vec<T>]) -> Vec<T> {
    layout.iter().flatten().cloned().collect()
}

pub fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

/// `data` cut into `n` contiguous slices, slice `i` being
/// `data[i * len / n..(i + 1) * len / n]` (as `parallelize` and `range` cut).
pub fn slices<T: Clone>(data: &[T], n: usize) -> Vec<Vec<T>> {
    let len = data.len();
    (0..n).map(|i| data[i * len / n..(i + 1) * len / n].to_vec()).collect()
}

/// A fold step and a merge that gather records into lists.
pub fn push<T>(mut list: Vec<T>, x: T) -> Vec<T> {
    list.push(x);
    list
}
pub fn extend<T>(mut list: Vec<T>, more: Vec<T>) -> Vec<T> {
    list.extend(more);
    list
}

/// Partition layouts of up to 300 records: empty partitions anywhere, and
/// often more partitions than records.
pub fn layout<T: Clone + Debug + 'static>(
    elem: impl Strategy<Value = T> + Clone + 'static,
) -> impl Strategy<Value = Vec<Vec<T>>> {
    let part = prop_oneof![1 => Just(Vec::new()), 3 => vec(elem.clone(), 0..25)];
    prop_oneof![
        // More partitions than records.
        1 => vec(vec(elem, 0..=1), 1..16),
        3 => vec(part, 1..12),
    ]
}

/// Like `layout`, with at most about 60 records (for joins and cartesians,
/// whose output grows with the product of the inputs).
pub fn small_layout<T: Clone + Debug + 'static>(
    elem: impl Strategy<Value = T> + Clone + 'static,
) -> impl Strategy<Value = Vec<Vec<T>>> {
    let part = prop_oneof![1 => Just(Vec::new()), 3 => vec(elem.clone(), 0..10)];
    prop_oneof![1 => vec(vec(elem, 0..=1), 1..8), 3 => vec(part, 1..7)]
}

/// Numbers, skewed: a third of them are 7.
pub fn num() -> impl Strategy<Value = i64> + Clone {
    prop_oneof![3 => Just(7i64), 3 => -20i64..20, 1 => -100_000i64..100_000]
}

/// Keys, skewed: most records have key 3.
pub fn key() -> impl Strategy<Value = u16> + Clone {
    prop_oneof![4 => Just(3u16), 3 => 0u16..16]
}

/// Key-value records with skewed keys.
pub fn pair() -> impl Strategy<Value = (u16, i64)> + Clone {
    (key(), num())
}

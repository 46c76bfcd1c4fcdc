//! Numeric actions (`stats`, `mean`, `variance`, `stdev`, histograms), tree
//! aggregation with Spark's zero-value semantics, and empty RDDs, against
//! sequential models in `local[2]` and `local-cluster[2]`.

mod common;

use common::*;
use ember::prelude::*;

#[test]
fn empty_rdd_actions_and_shuffles() {
    for (m, ctx) in contexts() {
        let e = ctx.empty_rdd::<i64>();
        assert_eq!(e.num_partitions(), 0, "{m}");
        assert_eq!(e.collect().unwrap(), Vec::<i64>::new(), "{m}");
        assert_eq!(e.count().unwrap(), 0, "{m}");
        assert_eq!(e.reduce(|a, b| a + b).unwrap(), None, "{m}");
        assert_eq!(e.fold(5, |a, b| a + b).unwrap(), 5, "{m}");
        let pairs = e.map(|x| (x, x));
        assert_eq!(pairs.reduce_by_key(|a, b| a + b).collect().unwrap(), vec![], "{m}");
        assert_eq!(pairs.sort_by_key(true, 3).unwrap().collect().unwrap(), vec![], "{m}");
        assert_eq!(pairs.join(&ctx.empty_rdd::<(i64, u8)>()).collect().unwrap(), vec![], "{m}");
    }
}

use ember::prelude::*;

fn ctx(master: &str) -> Context {
    Context::new(Conf::new().master(master)).expect("context starts")
}

#[test]
fn local_and_local_cluster_run_a_shuffle() {
    for master in ["local[2]", "local-cluster[2]"] {
        let ctx = ctx(master);
        let words = ctx.parallelize((0..1000u64).map(|i| i % 7).collect(), 4);
        let mut counts = words.map(|k| (k, 1u64)).reduce_by_key(|a, b| a + b).collect().unwrap();
        counts.sort();
        assert_eq!(counts.len(), 7, "{master}");
        assert_eq!(counts.iter().map(|c| c.1).sum::<u64>(), 1000, "{master}");
        let v = vec![3u64, 5];
        let filtered = ctx.parallelize((0..10u64).collect(), 3).filter_with(v, |v, x| v.contains(x)).collect().unwrap();
        assert_eq!(filtered, vec![3, 5], "{master}");
    }
}

#[test]
fn local_cluster_runs_backends_as_processes() {
    let ctx = ctx("local-cluster[2]");
    let pids = ctx.backend_pids();
    assert_eq!(pids.len(), 2);
    let seen: Vec<u32> = ctx.parallelize((0..8u32).collect(), 8).map(|_| std::process::id()).collect().unwrap();
    assert!(seen.iter().all(|p| pids.contains(p)), "{seen:?} vs {pids:?}");
    assert!(!seen.contains(&std::process::id()));
}

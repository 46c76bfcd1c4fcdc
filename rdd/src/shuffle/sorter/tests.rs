use super::*;
use crate::shuffle::test_spill_env;

fn sorted(memory: u64, name: &str, data: &[(u32, u64)], ascending: bool) -> (Vec<(u32, u64)>, SpillEnv) {
    let dir = std::env::temp_dir().join(format!("ember-sort-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env = test_spill_env(memory, &dir);
    let mut s = ExternalSorter::new(env.clone(), ascending);
    for &r in data {
        s.insert(r).unwrap();
    }
    let deferred = DeferredError::default();
    let out = s.finish(deferred.clone()).unwrap().collect();
    assert!(!deferred.is_set());
    (out, env)
}

#[test]
fn sorting_past_memory_is_the_same_stable_sort() {
    // Few distinct keys: many ties, whose arrival order must survive.
    let data: Vec<(u32, u64)> = (0..300_000u64).map(|i| ((i.wrapping_mul(2_654_435_761) % 1000) as u32, i)).collect();
    for ascending in [true, false] {
        let mut expected = data.clone();
        if ascending {
            expected.sort_by_key(|r| r.0);
        } else {
            expected.sort_by_key(|r| std::cmp::Reverse(r.0));
        }
        // No limit; a budget that spills a few runs; one that needs merge passes.
        for (memory, name) in [(0, "fits"), (1 << 20, "spills"), (48 << 10, "passes")] {
            let (out, env) = sorted(memory, name, &data, ascending);
            assert_eq!(out, expected, "memory {memory}, ascending {ascending}");
            assert_eq!(env.metrics().disk_bytes_spilled > 0, memory > 0);
            assert_eq!(std::fs::read_dir(&env.dir).unwrap().count(), 0);
            std::fs::remove_dir(&env.dir).unwrap();
        }
    }
}

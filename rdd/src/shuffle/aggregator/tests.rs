use super::*;
use crate::shuffle::test_spill_env;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

fn dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("ember-agg-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sums(memory: u64, name: &str, input: &[(u64, u64)]) -> (Vec<(u64, u64)>, SpillEnv) {
    let env = test_spill_env(memory, &dir(name));
    let mut agg = ExternalAggregator::new(env.clone());
    for &(k, v) in input {
        agg.insert(k, v, |v| v, |c, v| c + v).unwrap();
    }
    let deferred = DeferredError::default();
    let out: Vec<_> = agg.finish(|a, b| a + b, deferred.clone()).unwrap().collect();
    assert!(!deferred.is_set());
    (out, env)
}

fn input(n: u64, keys: u64) -> Vec<(u64, u64)> {
    (0..n).map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % keys, i)).collect()
}

#[test]
fn sums_past_memory_equal_a_hash_map() {
    let data = input(300_000, 40_000);
    let mut model: HashMap<u64, u64> = HashMap::new();
    for &(k, v) in &data {
        *model.entry(k).or_default() += v;
    }
    let (fits, env) = sums(0, "fits", &data);
    assert_eq!(env.metrics().disk_bytes_spilled, 0);
    let (spilled, env2) = sums(200 << 10, "spills", &data);
    assert!(env2.metrics().disk_bytes_spilled > 0, "a 200 KiB budget must spill");
    for out in [&fits, &spilled] {
        assert_eq!(out.len(), model.len());
        assert_eq!(out.iter().copied().collect::<HashMap<_, _>>(), model);
    }
    // Without a spill, keys come in the table's order, the same for the
    // same input; with one, by hash.
    let (again, env3) = sums(0, "fits-again", &data);
    assert_eq!(fits, again);
    std::fs::remove_dir(&env3.dir).unwrap();
    assert!(spilled.windows(2).all(|w| stable_hash(&w[0].0) <= stable_hash(&w[1].0)));
    for d in [env.dir, env2.dir] {
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0, "spill files are deleted");
        std::fs::remove_dir(&d).unwrap();
    }
}

#[test]
fn many_runs_are_merged_in_several_passes() {
    let data = input(200_000, 150_000);
    let (out, env) = sums(32 << 10, "many-runs", &data);
    let spills = env.metrics().disk_bytes_spilled;
    assert!(spills > 0);
    let total: u64 = out.iter().map(|r| r.1).sum();
    assert_eq!(total, data.iter().map(|r| r.1).sum::<u64>());
    let keys: std::collections::HashSet<u64> = data.iter().map(|r| r.0).collect();
    assert_eq!(out.len(), keys.len());
    std::fs::remove_dir_all(&env.dir).unwrap();
}

/// A key whose hash takes 3 values, so that distinct keys collide all the time.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Colliding(u32);

impl Hash for Colliding {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.0 % 3).hash(state);
    }
}

#[test]
fn groups_of_colliding_keys_stay_apart_and_in_arrival_order() {
    let env = test_spill_env(64 << 10, &dir("colliding"));
    let mut agg = ExternalAggregator::new(env.clone());
    let data: Vec<(u32, u32)> = (0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) % 500, i)).collect();
    for &(k, v) in &data {
        agg.insert(
            Colliding(k),
            v,
            |v| vec![v],
            |mut c: Vec<u32>, v| {
                c.push(v);
                c
            },
        )
        .unwrap();
    }
    let out: Vec<(Colliding, Vec<u32>)> = agg
        .finish(
            |mut a, b| {
                a.extend(b);
                a
            },
            DeferredError::default(),
        )
        .unwrap()
        .collect();
    assert!(env.metrics().disk_bytes_spilled > 0);
    assert_eq!(out.len(), 500);
    for (k, values) in out {
        let expected: Vec<u32> = data.iter().filter(|r| r.0 == k.0).map(|r| r.1).collect();
        assert_eq!(values, expected, "key {}", k.0);
    }
    std::fs::remove_dir_all(&env.dir).unwrap();
}

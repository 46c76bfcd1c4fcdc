//! End-to-end scenarios of the engine, each in `local[2]` and `local-cluster[2]`.

use ember::listener::TaskEndInfo;
use ember::listener::{ListenerEvent, RecordingListener};
use ember::prelude::*;
use std::sync::Arc;

const MASTERS: [&str; 2] = ["local[2]", "local-cluster[2]"];

fn ctx_with(master: &str, conf: &[(&str, &str)]) -> Context {
    let mut c = Conf::new().master(master);
    for (k, v) in conf {
        c = c.set(*k, *v);
    }
    Context::new(c).expect("context starts")
}

#[test]
fn a_closure_capturing_a_vec_runs_in_another_process() {
    let ctx = ctx_with("local-cluster[2]", &[]);
    let wanted: Vec<u32> = vec![2, 3, 5, 7];
    let hits = ctx
        .parallelize((0..10u32).collect(), 4)
        .filter_with(wanted, |w, x| w.contains(x))
        .map(|x| (x, std::process::id()))
        .collect()
        .unwrap();
    assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![2, 3, 5, 7]);
    assert!(hits.iter().all(|h| h.1 != std::process::id() && ctx.backend_pids().contains(&h.1)));
}

#[test]
fn the_second_action_on_a_cached_rdd_does_not_recompute_it() {
    for master in MASTERS {
        let ctx = ctx_with(master, &[]);
        let evaluations = ctx.accumulator::<u64>();
        let rdd = ctx
            .parallelize((0..1000u64).collect(), 4)
            .map_with(evaluations.clone(), |acc, x| {
                acc.add(1);
                x * 2
            })
            .cache();
        assert_eq!(rdd.count().unwrap(), 1000);
        assert_eq!(evaluations.value(), 1000, "{master}: first action computes every record once");
        assert_eq!(rdd.map(|x| x + 1).sum().unwrap(), (0..1000u64).map(|x| x * 2 + 1).sum::<u64>());
        assert_eq!(rdd.count().unwrap(), 1000);
        assert_eq!(evaluations.value(), 1000, "{master}: later actions read the cache");
        rdd.unpersist();
        assert_eq!(rdd.count().unwrap(), 1000);
        assert_eq!(evaluations.value(), 2000, "{master}: after unpersist it is computed again");
    }
}

#[test]
fn cached_data_larger_than_executor_memory_still_gives_the_right_answer() {
    for master in MASTERS {
        for level in [StorageLevel::MemoryOnly, StorageLevel::MemoryAndDisk] {
            // 8 partitions of 2,500 u64s (20 KB each), with 48 KB of executor memory.
            let ctx = ctx_with(master, &[("ember.executor.memory", "48k")]);
            let evaluations = ctx.accumulator::<u64>();
            let rdd = ctx
                .parallelize((0..20_000u64).collect(), 8)
                .map_with(evaluations.clone(), |acc, x| {
                    acc.add(1);
                    x
                })
                .persist(level);
            let expected: u64 = (0..20_000u64).sum();
            for _ in 0..3 {
                assert_eq!(rdd.sum().unwrap(), expected, "{master} {level:?}");
            }
            let evaluated = evaluations.value();
            match level {
                // Evicted blocks are recomputed from lineage.
                StorageLevel::MemoryOnly => assert!(evaluated > 20_000, "{master}: {evaluated}"),
                // Evicted blocks are read back from disk.
                _ => assert_eq!(evaluated, 20_000, "{master}"),
            }
        }
    }
}

#[test]
fn a_ten_thousand_step_lineage_and_a_thousand_way_union_work() {
    for master in MASTERS {
        let ctx = ctx_with(master, &[]);
        let mut rdd = ctx.parallelize((0..100u64).collect(), 2);
        for _ in 0..10_000 {
            rdd = rdd.map(|x| x + 1);
        }
        let got = rdd.collect().unwrap();
        assert_eq!(got, (10_000..10_100u64).collect::<Vec<_>>(), "{master}");
        assert_eq!(rdd.to_debug_string().lines().count(), 10_001);

        let parts: Vec<Rdd<u64>> = (0..1000u64).map(|i| ctx.parallelize(vec![i], 1)).collect();
        let union = ctx.union(&parts).unwrap();
        assert_eq!(union.num_partitions(), 1000);
        assert_eq!(union.map(|x| x * 2).sum().unwrap(), (0..1000u64).map(|x| x * 2).sum::<u64>(), "{master}");
    }
}

#[test]
fn a_panicking_closure_fails_the_job_with_its_message_and_partition() {
    for master in MASTERS {
        let ctx = ctx_with(master, &[]);
        let err = ctx
            .parallelize((0..100u32).collect(), 4)
            .map(|x| if x == 77 { panic!("record {x} is cursed") } else { x })
            .count()
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("record 77 is cursed"), "{master}: {msg}");
        assert!(msg.contains("partition 3"), "{master}: {msg}");
        assert!(msg.contains("failed 4 times"), "{master}: {msg}");
        match err {
            EmberError::JobAborted { partition: 3, attempts: 4, cause: ember::TaskError::UserPanic { .. }, .. } => {}
            other => panic!("{master}: unexpected error {other:?}"),
        }
        // The context survives a failed job.
        assert_eq!(ctx.parallelize(vec![1, 2, 3], 2).count().unwrap(), 3);
    }
}

#[test]
fn user_errors_are_clear() {
    let e = Context::new(Conf::new().master("mesos://x")).err().expect("bad master fails").to_string();
    assert!(e.contains("unknown master 'mesos://x'"), "{e}");
    let ctx = ctx_with("local[2]", &[]);
    let e = ctx.text_file("/no/such/dir/input.txt", 2).err().expect("missing input fails").to_string();
    assert!(e.contains("/no/such/dir/input.txt") && e.contains("does not exist"), "{e}");
    let e = ctx.parallelize(vec![1], 1).zip(&ctx.parallelize(vec![1, 2], 2)).err().expect("zip checks").to_string();
    assert!(e.contains("same number of partitions"), "{e}");
}

#[test]
fn lineage_shows_stages_and_cached_rdds() {
    let ctx = ctx_with("local[2]", &[]);
    let pairs = ctx.parallelize((0..10u32).collect(), 2).map(|x| (x % 3, x)).cache();
    let reduced = pairs.reduce_by_key(|a, b| a + b).map_values(|v| v * 2);
    let s = reduced.to_debug_string();
    let lines: Vec<&str> = s.lines().collect();
    assert!(lines[0].starts_with("(2) MapPartitionsRdd"), "{s}");
    assert!(lines[1].contains("ShuffledRdd"), "{s}");
    assert!(lines[2].contains("+-(2) MapPartitionsRdd") && lines[2].contains("[MemoryOnly]"), "{s}");
    assert!(lines[3].contains("ParallelCollectionRdd"), "{s}");
}

#[test]
fn a_later_job_reuses_shuffle_outputs_and_skips_the_map_stage() {
    for master in MASTERS {
        let ctx = ctx_with(master, &[]);
        let recorder = Arc::new(RecordingListener::default());
        ctx.add_listener(recorder.clone());
        let counts = ctx.parallelize((0..100u32).collect(), 4).map(|x| (x % 5, 1u32)).reduce_by_key(|a, b| a + b);
        assert_eq!(counts.count().unwrap(), 5);
        ctx.flush_listeners();
        let first =
            recorder.events().iter().filter(|e| matches!(e, ListenerEvent::TaskEnd(TaskEndInfo { .. }))).count();
        recorder.clear();
        assert_eq!(counts.values().sum().unwrap(), 100);
        ctx.flush_listeners();
        let second =
            recorder.events().iter().filter(|e| matches!(e, ListenerEvent::TaskEnd(TaskEndInfo { .. }))).count();
        assert_eq!(first, 8, "{master}: 4 map + 4 reduce tasks");
        assert_eq!(second, 4, "{master}: only the reduce tasks run again");
    }
}

#[test]
fn several_jobs_run_at_once_from_one_driver() {
    for master in MASTERS {
        let ctx = ctx_with(master, &[]);
        let a = ctx.parallelize((0..1000u64).collect(), 8);
        let b = a.map(|x| (x % 10, x)).reduce_by_key(|x, y| x + y);
        let jobs = futures::executor::block_on(async {
            futures::join!(a.count_async(), b.collect_async(), a.map(|x| x * x).collect_async())
        });
        assert_eq!(jobs.0.unwrap(), 1000);
        assert_eq!(jobs.1.unwrap().len(), 10);
        assert_eq!(jobs.2.unwrap().len(), 1000);
    }
}

#[test]
fn broadcast_values_reach_every_executor() {
    for master in MASTERS {
        let ctx = ctx_with(master, &[]);
        let table = ctx.broadcast((0..100u64).map(|i| i * i).collect::<Vec<_>>()).unwrap();
        let got = ctx.parallelize((0..100usize).collect(), 5).map_with(table, |t, i| t.value()[i]).collect().unwrap();
        assert_eq!(got, (0..100u64).map(|i| i * i).collect::<Vec<_>>(), "{master}");
    }
}

#[test]
fn checkpoint_truncates_the_lineage_and_keeps_the_records() {
    for master in MASTERS {
        let ctx = ctx_with(master, &[]);
        let dir = tempfile::tempdir().unwrap();
        let e = ctx.parallelize(vec![1u32], 1).checkpoint().err().expect("needs a directory").to_string();
        assert!(e.contains("set_checkpoint_dir"), "{e}");
        ctx.set_checkpoint_dir(dir.path()).unwrap();
        let evaluations = ctx.accumulator::<u64>();
        let mut rdd = ctx.parallelize((0..500u64).collect(), 5).map_with(evaluations.clone(), |acc, x| {
            acc.add(1);
            x
        });
        for _ in 0..50 {
            rdd = rdd.map(|x| x + 1);
        }
        let checkpointed = rdd.checkpoint().unwrap();
        assert_eq!(evaluations.value(), 500);
        assert_eq!(checkpointed.to_debug_string().lines().count(), 1, "{}", checkpointed.to_debug_string());
        assert_eq!(checkpointed.collect().unwrap(), (50..550u64).collect::<Vec<_>>(), "{master}");
        assert_eq!(checkpointed.map(|x| x * 2).sum().unwrap(), (50..550u64).map(|x| x * 2).sum::<u64>());
        assert_eq!(evaluations.value(), 500, "{master}: reading a checkpoint does not recompute its lineage");
    }
}

#[test]
fn a_parse_error_names_the_file_and_line() {
    for master in MASTERS {
        let ctx = ctx_with(master, &[]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("numbers.txt");
        let mut text: String = (0..500).map(|i| format!("{i}\n")).collect();
        text.push_str("\n# a comment\n12x\n7\n");
        std::fs::write(&path, text).unwrap();
        let parse = |line: &str| -> std::result::Result<Option<u64>, String> {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return Ok(None);
            }
            line.parse().map(Some).map_err(|_| format!("'{line}' is not a number"))
        };
        let rdd = ctx.text_file_parsed(path.to_str().unwrap(), 4, parse).unwrap();
        let msg = rdd.count().unwrap_err().to_string();
        assert!(msg.contains("numbers.txt:503: '12x' is not a number"), "{master}: {msg}");
        std::fs::write(&path, "1\n\n2\n# c\n3\n").unwrap();
        let ok = ctx.text_file_parsed(path.to_str().unwrap(), 3, parse).unwrap();
        assert_eq!(ok.collect().unwrap(), vec![1, 2, 3], "{master}");
    }
}

#[test]
fn a_context_is_shared_across_threads_and_stops_with_its_last_clone() {
    fn shared<T: Send + Sync + Clone>() {}
    shared::<Context>();
    for master in MASTERS {
        let ctx = ctx_with(master, &[]);
        let clone = ctx.clone();
        let counted = std::thread::spawn(move || clone.parallelize((0..100u64).collect(), 4).count());
        assert_eq!(counted.join().unwrap().unwrap(), 100, "{master}: a job from another thread");
        let rdd = ctx.parallelize(vec![1u8, 2, 3], 1);
        let other = ctx.clone();
        drop(ctx);
        assert_eq!(rdd.count().unwrap(), 3, "{master}: a clone keeps the application running");
        drop(other);
        let e = rdd.count().unwrap_err().to_string();
        assert!(e.contains("stopped"), "{master}: {e}");
    }
}

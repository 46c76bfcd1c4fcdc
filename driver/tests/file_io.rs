//! Files on disk through `ember::io`, in `local[2]` and `local-cluster[2]`:
//! compressed inputs (`.gz`, `.zst`, `.bz2`, one partition each) and
//! compressed outputs; a corrupt `.gz` fails naming the file; outputs are
//! committed (a failed job leaves no part file, a retried task exactly one,
//! a non-empty directory is refused unless `ember.output.overwrite`); a
//! directory named like a glob is still a directory; `file://` URLs.
//! The same code paths on an S3 server are tested in `s3-server/tests`.

use ember::io::Codec;
use ember::prelude::*;
use std::io::Write;
use std::path::Path;

const MASTERS: [&str; 2] = ["local[2]", "local-cluster[2]"];

fn context(master: &str) -> Context {
    Context::new(Conf::new().master(master).set("ember.task.maxFailures", "2")).expect("context starts")
}

fn lines(n: usize, tag: &str) -> Vec<String> {
    (0..n).map(|i| format!("{tag} line {i} of the quick brown fox")).collect()
}

fn write_compressed(path: &Path, codec: Codec, lines: &[String]) {
    let mut enc = codec.encoder(std::fs::File::create(path).unwrap()).unwrap();
    for l in lines {
        writeln!(enc, "{l}").unwrap();
    }
    enc.finish().unwrap();
}

/// The names in a directory, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn compressed_inputs_are_read_one_partition_per_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    for (codec, tag) in [(Codec::Gzip, "gz"), (Codec::Zstd, "zst"), (Codec::Bzip2, "bz2")] {
        let l = lines(3000, tag);
        write_compressed(&dir.path().join(format!("input{}", codec.extension())), codec, &l);
        expected.extend(l);
    }
    std::fs::write(dir.path().join("plain.txt"), lines(1000, "plain").join("\n")).unwrap();
    expected.extend(lines(1000, "plain"));
    expected.sort();
    for master in MASTERS {
        let ctx = context(master);
        let rdd = ctx.text_file(dir.path().to_str().unwrap(), 8).unwrap();
        // The plain file is split; each compressed file is one partition.
        assert!(rdd.num_partitions() >= 4, "{master}: {} partitions", rdd.num_partitions());
        let mut got = rdd.collect().unwrap();
        got.sort();
        assert_eq!(got, expected, "{master}");
        let whole = ctx.whole_text_files(dir.path().join("input.zst").to_str().unwrap(), 1).unwrap().collect().unwrap();
        assert_eq!(whole[0].1.lines().count(), 3000, "{master}");
    }
}

#[test]
fn a_corrupt_gzip_file_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.gz");
    let mut enc = Codec::Gzip.encoder(Vec::new()).unwrap();
    enc.write_all(lines(5000, "x").join("\n").as_bytes()).unwrap();
    let mut bytes = enc.finish().unwrap();
    let mid = bytes.len() / 2;
    bytes[mid..mid + 16].fill(0xaa);
    std::fs::write(&path, &bytes).unwrap();
    for master in MASTERS {
        let ctx = context(master);
        let err = ctx.text_file(path.to_str().unwrap(), 2).unwrap().count().unwrap_err().to_string();
        assert!(err.contains("broken.gz"), "{master}: {err}");
    }
}

#[test]
fn compressed_outputs_round_trip_in_the_committed_layout() {
    for master in MASTERS {
        let ctx = context(master);
        let data: Vec<String> = lines(2000, "out");
        for codec in [Codec::Gzip, Codec::Zstd, Codec::Bzip2] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("out");
            ctx.parallelize(data.clone(), 3).save_as_text_file_with_codec(&out, codec).unwrap();
            let ext = codec.extension();
            let expected: Vec<String> =
                (0..3).map(|i| format!("part-{i:05}{ext}")).chain(std::iter::once("_SUCCESS".to_string())).collect();
            let mut expected_sorted = expected.clone();
            expected_sorted.sort();
            assert_eq!(names(&out), expected_sorted, "{master} {codec:?}");
            let back = ctx.text_file(out.to_str().unwrap(), 1).unwrap().collect().unwrap();
            assert_eq!(back, data, "{master} {codec:?}");
        }
    }
}

#[test]
fn a_failed_job_leaves_no_part_file_and_a_retried_task_exactly_one() {
    for master in MASTERS {
        let ctx = context(master);
        let dir = tempfile::tempdir().unwrap();
        // Partition 1 fails on every attempt: the job fails, nothing is committed.
        let failing = dir.path().join("failing");
        let err = ctx
            .parallelize((0..40).collect::<Vec<i32>>(), 4)
            .map(|x| if x == 15 { panic!("record {x} is bad") } else { x })
            .save_as_text_file(&failing)
            .unwrap_err();
        assert!(err.to_string().contains("record 15 is bad"), "{master}: {err}");
        let left = if failing.exists() { names(&failing) } else { Vec::new() };
        assert!(left.is_empty(), "{master}: a failed save left {left:?}");

        // Every task's first attempt writes half its partition and fails:
        // only the retries' files are committed.
        let retried = dir.path().join("retried");
        ctx.parallelize((0..40).collect::<Vec<i32>>(), 4)
            .map_partitions(|it| {
                let first = ember::extend::task::current_task().is_some_and(|t| t.attempt == 0);
                Box::new(it.enumerate().map(move |(i, x)| if first && i == 5 { panic!("first attempt") } else { x }))
                    as BoxIter<i32>
            })
            .save_as_text_file(&retried)
            .unwrap();
        assert_eq!(names(&retried), ["_SUCCESS", "part-00000", "part-00001", "part-00002", "part-00003"], "{master}");
        let back: Vec<i32> =
            ctx.text_file(retried.to_str().unwrap(), 1).unwrap().map(|l| l.parse().unwrap()).collect().unwrap();
        assert_eq!(back, (0..40).collect::<Vec<i32>>(), "{master}");
    }
}

#[test]
fn a_non_empty_output_directory_is_refused_unless_overwrite_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let ctx = context("local[2]");
    ctx.parallelize(vec![1, 2, 3], 2).save_as_text_file(&out).unwrap();
    let err = ctx.parallelize(vec![4], 1).save_as_text_file(&out).unwrap_err().to_string();
    assert!(err.contains("ember.output.overwrite") && err.contains("out"), "{err}");
    // An existing empty directory is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    ctx.parallelize(vec![7], 1).save_as_text_file(&empty).unwrap();
    drop(ctx);

    let ctx = Context::new(Conf::new().master("local[2]").set("ember.output.overwrite", "true")).unwrap();
    ctx.parallelize(vec![4], 1).save_as_text_file(&out).unwrap();
    assert_eq!(names(&out), ["_SUCCESS", "part-00000"]);
    assert_eq!(ctx.text_file(out.to_str().unwrap(), 1).unwrap().collect().unwrap(), ["4"]);
}

#[test]
fn file_urls_and_directories_named_like_globs_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join("run[2]");
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(odd.join("a.txt"), "x\ny\n").unwrap();
    std::fs::write(odd.join("_SUCCESS"), "").unwrap();
    let ctx = context("local[2]");
    assert_eq!(ctx.text_file(odd.to_str().unwrap(), 2).unwrap().count().unwrap(), 2);
    let url = format!("file://{}", odd.join("a.txt").display());
    assert_eq!(ctx.text_file(&url, 1).unwrap().collect().unwrap(), ["x", "y"]);
    let glob = format!("{}/*.txt", dir.path().display());
    let err = ctx.text_file(&glob, 1).err().expect("a glob that matches nothing").to_string();
    assert!(err.contains("*.txt"), "{err}");
    let err = ctx.text_file("hdfs://namenode/x", 1).err().expect("an unknown scheme").to_string();
    assert!(err.contains("hdfs://namenode/x") && err.contains("scheme"), "{err}");
}

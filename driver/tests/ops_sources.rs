//! Property tests of the sources (parallelize, range, text_file,
//! whole_text_files) and of save_as_text_file, against sequential models, in
//! `local[2]` and `local-cluster[2]`.

mod common;

use common::*;
use proptest::collection::vec;
use proptest::prelude::*;
use std::path::Path;

/// Lines of text: empty ones, multi-byte characters, no line breaks.
fn line() -> impl Strategy<Value = String> + Clone {
    prop_oneof![1 => Just(String::new()), 4 => "[a-c é日 ]{1,12}"]
}

/// A file's content and the lines `text_file` must read from it: each line
/// ends with `\n` or `\r\n`, except maybe the last, which has no break.
fn text() -> impl Strategy<Value = (String, Vec<String>)> + Clone {
    (vec((line(), any::<bool>()), 0..40), any::<bool>()).prop_map(|(lines, trailing)| {
        let mut content = String::new();
        let n = lines.len();
        let mut expected = Vec::new();
        for (i, (line, crlf)) in lines.into_iter().enumerate() {
            content.push_str(&line);
            let last = i + 1 == n;
            if !last || trailing {
                content.push_str(if crlf { "\r\n" } else { "\n" });
            }
            // A last line with no break and no text is no line at all.
            if !(last && !trailing && line.is_empty()) {
                expected.push(line);
            }
        }
        (content, expected)
    })
}

fn write(path: &Path, content: &str) {
    std::fs::write(path, content).expect("write a test input");
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parallelize_cuts_data_into_contiguous_slices(data in vec(num(), 0..300), n in 0usize..20) {
        let slices = n.max(1);
        let expected = common::slices(&data, slices);
        for (m, ctx) in contexts() {
            let rdd = ctx.parallelize(data.clone(), n);
            prop_assert_eq!(rdd.num_partitions(), slices, "{}", m);
            prop_assert_eq!(rdd.glom().collect().unwrap(), expected.clone(), "{}", m);
            prop_assert_eq!(rdd.collect().unwrap(), data.clone(), "{}", m);
        }
    }

    #[test]
    fn range_yields_the_arithmetic_sequence(
        start in -200i64..200,
        end in -200i64..200,
        step in prop_oneof![-7i64..0, 1i64..8],
        n in 0usize..12,
    ) {
        let mut expected = Vec::new();
        let mut x = start;
        while (step > 0 && x < end) || (step < 0 && x > end) {
            expected.push(x);
            x += step;
        }
        let layout = common::slices(&expected, n.max(1));
        for (m, ctx) in contexts() {
            let rdd = ctx.range(start, end, step, n).unwrap();
            prop_assert_eq!(rdd.glom().collect().unwrap(), layout.clone(), "{}", m);
            prop_assert!(ctx.range(start, end, 0, n).is_err(), "{}", m);
        }
    }

    #[test]
    fn range_is_exact_near_the_limits_of_i64(
        start in any::<i64>(),
        end in any::<i64>(),
        step in (1i64 << 56)..=i64::MAX,
        negative in any::<bool>(),
    ) {
        let step = if negative { -step } else { step };
        // The sequence in i128, where nothing overflows.
        let mut expected = Vec::new();
        let mut x = start as i128;
        while (step > 0 && x < end as i128) || (step < 0 && x > end as i128) {
            expected.push(x as i64);
            x += step as i128;
        }
        for (m, ctx) in contexts() {
            prop_assert_eq!(ctx.range(start, end, step, 3).unwrap().collect().unwrap(), expected.clone(), "{}", m);
        }
    }

    #[test]
    fn text_file_reads_each_line_once_across_byte_splits(files in vec(text(), 1..4), min_partitions in 1usize..24) {
        let dir = tempfile::tempdir().unwrap();
        let mut expected = Vec::new();
        let mut total = 0;
        for (i, (content, lines)) in files.iter().enumerate() {
            write(&dir.path().join(format!("f{i}.txt")), content);
            expected.extend(lines.iter().cloned());
            total += content.len();
        }
        // Hidden and underscore files are skipped in a directory.
        write(&dir.path().join(".hidden"), "not me\n");
        write(&dir.path().join("_SUCCESS"), "nor me\n");
        let dir_str = dir.path().to_str().unwrap();
        let (first_content, first_lines) = &files[0];
        let first = dir.path().join("f0.txt");
        for (m, ctx) in contexts() {
            let rdd = ctx.text_file(dir_str, min_partitions).unwrap();
            if total >= min_partitions {
                let n = rdd.num_partitions();
                prop_assert!(n >= min_partitions, "{}: {} partitions for at least {}", m, n, min_partitions);
            }
            prop_assert_eq!(rdd.collect().unwrap(), expected.clone(), "directory {}", m);
            let one = ctx.text_file(first.to_str().unwrap(), min_partitions).unwrap();
            prop_assert_eq!(one.collect().unwrap(), first_lines.clone(), "single file {:?} {}", first_content, m);
            let glob = ctx.text_file(&format!("{dir_str}/f*.txt"), min_partitions).unwrap();
            prop_assert_eq!(glob.collect().unwrap(), expected.clone(), "glob {}", m);
            prop_assert!(ctx.text_file(&format!("{dir_str}/nothing-*.txt"), 1).is_err(), "{}", m);
        }
    }

    #[test]
    fn text_file_splits_a_file_down_to_single_bytes(
        (content, lines) in text(),
        extra in 0usize..3,
        divisor in 1usize..6,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        write(&path, &content);
        // Up to one byte per split: every split boundary falls inside a line,
        // between CR and LF, or inside a multi-byte character somewhere.
        let min_partitions = content.len() / divisor + extra;
        for (m, ctx) in contexts() {
            let rdd = ctx.text_file(path.to_str().unwrap(), min_partitions).unwrap();
            if content.len() >= min_partitions {
                let n = rdd.num_partitions();
                prop_assert!(n >= min_partitions, "{}: {} partitions for at least {}", m, n, min_partitions);
            }
            prop_assert_eq!(rdd.collect().unwrap(), lines.clone(), "{:?} {}", content, m);
        }
    }

    #[test]
    fn whole_text_files_reads_each_file_whole(contents in vec(text(), 0..8), min_partitions in 0usize..10) {
        let dir = tempfile::tempdir().unwrap();
        let mut expected = Vec::new();
        for (i, (content, _)) in contents.iter().enumerate() {
            let path = dir.path().join(format!("file-{i:02}"));
            write(&path, content);
            expected.push((path.display().to_string(), content.clone()));
        }
        write(&dir.path().join(".hidden"), "skipped");
        let dir_str = dir.path().to_str().unwrap();
        for (m, ctx) in contexts() {
            let rdd = ctx.whole_text_files(dir_str, min_partitions).unwrap();
            if contents.is_empty() {
                // As Spark: an existing directory without files is an empty input.
                prop_assert_eq!(rdd.num_partitions(), 0, "{}", m);
                prop_assert_eq!(rdd.count().unwrap(), 0, "{}", m);
                let lines = ctx.text_file(dir_str, min_partitions).unwrap();
                prop_assert_eq!((lines.num_partitions(), lines.count().unwrap()), (0, 0), "{}", m);
                let e = ctx.text_file(&format!("{dir_str}/nothing-*"), 2).err().map(|e| e.to_string()).unwrap_or_default();
                prop_assert!(e.contains("matches no file"), "{}: {}", m, e);
                continue;
            }
            prop_assert_eq!(rdd.num_partitions(), min_partitions.clamp(1, contents.len()), "{}", m);
            prop_assert_eq!(rdd.collect().unwrap(), expected.clone(), "{}", m);
            let glob = ctx.whole_text_files(&format!("{dir_str}/file-*"), min_partitions).unwrap();
            prop_assert_eq!(glob.collect().unwrap(), expected.clone(), "glob {}", m);
        }
    }

    #[test]
    fn save_as_text_file_round_trips_through_text_file(layout in layout(num())) {
        let data = flatten(&layout);
        let dir = tempfile::tempdir().unwrap();
        for (m, ctx) in contexts() {
            let out = dir.path().join(m);
            let rdd = from_layout(ctx, &layout);
            rdd.save_as_text_file(&out).unwrap();
            prop_assert!(out.join("_SUCCESS").exists(), "{}", m);
            let parts = std::fs::read_dir(&out).unwrap().filter(|e| {
                e.as_ref().unwrap().file_name().to_string_lossy().starts_with("part-")
            }).count();
            prop_assert_eq!(parts, layout.len(), "{}", m);
            let back = ctx.text_file(out.to_str().unwrap(), 3).unwrap().collect().unwrap();
            prop_assert_eq!(back, data.iter().map(|x| x.to_string()).collect::<Vec<_>>(), "{}", m);
            prop_assert!(rdd.save_as_text_file(&out).is_err(), "the directory exists {}", m);
        }
    }
}

#[test]
fn save_as_text_file_writes_pairs_and_tuples_as_spark_does() {
    let dir = tempfile::tempdir().unwrap();
    for (m, ctx) in contexts() {
        let out = dir.path().join(format!("pairs-{m}"));
        let counts = ctx.parallelize(vec![("the".to_string(), 3u64), ("fox".to_string(), 1)], 1);
        counts.save_as_text_file(&out).unwrap();
        let lines = ctx.text_file(out.to_str().unwrap(), 1).unwrap().collect().unwrap();
        assert_eq!(lines, vec!["(the,3)", "(fox,1)"], "{m}");
        let nested = dir.path().join(format!("nested-{m}"));
        ctx.parallelize(vec![(1u8, (2.0f64, Some('x')), vec![4i32, 5])], 1).save_as_text_file(&nested).unwrap();
        let lines = ctx.text_file(nested.to_str().unwrap(), 1).unwrap().collect().unwrap();
        assert_eq!(lines, vec!["(1,(2.0,Some(x)),[4, 5])"], "{m}");
    }
}

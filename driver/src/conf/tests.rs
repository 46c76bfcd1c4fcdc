//! The tests of `conf`: parsing masters, sizes and durations; validation;
//! the UI keys; layering of settings; TLS and secret settings.

use super::*;

mod parsing {
    use super::*;

    #[test]
    fn masters_parse() {
        assert_eq!(Master::parse("local").unwrap(), Master::Local { threads: 1 });
        assert_eq!(Master::parse("local[3]").unwrap(), Master::Local { threads: 3 });
        assert!(matches!(Master::parse("local[*]").unwrap(), Master::Local { .. }));
        let local_cluster = |executors, cores, memory_mb| Master::LocalCluster { executors, cores, memory_mb };
        assert_eq!(Master::parse("local-cluster[2]").unwrap(), local_cluster(2, 1, None));
        assert_eq!(Master::parse("local-cluster[2,3]").unwrap(), local_cluster(2, 3, None));
        assert_eq!(Master::parse("local-cluster[2, 3, 1024]").unwrap(), local_cluster(2, 3, Some(1024)));
        for bad in ["local-cluster[2,3,0]", "local-cluster[2,3,1g]", "local-cluster[2,3,4,5]", "local-cluster[0]"] {
            assert!(Master::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Master::parse("ember://a:1,b:2").unwrap(),
            Master::Cluster { addresses: vec!["a:1".into(), "b:2".into()] }
        );
        for bad in ["yarn", "local[x]", "local-cluster[]", "ember://", "spark://x:1"] {
            let e = Master::parse(bad).unwrap_err().to_string();
            assert!(e.contains("unknown master"), "{bad}: {e}");
        }
        // A zero is not an unknown master: the message names the field.
        for (zero, field) in [
            ("local[0]", "N, the number of task threads, must be at least 1"),
            ("local-cluster[0]", "N, the number of executors, must be at least 1"),
            ("local-cluster[2,0]", "C, the cores of each, must be at least 1"),
            ("local-cluster[2,1,0]", "MB, the memory of each, must be at least 1"),
        ] {
            let e = Master::parse(zero).unwrap_err().to_string();
            assert!(e.contains(&format!("master {zero}: {field}")), "{zero}: {e}");
        }
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("512m"), Some(512 << 20));
        assert_eq!(parse_size("2g"), Some(2 << 30));
        assert_eq!(parse_size("100"), Some(100 << 20));
        assert_eq!(parse_size("64kb"), Some(64 << 10));
        assert_eq!(parse_size("12b"), Some(12));
        assert_eq!(parse_size("2x"), None);
    }

    #[test]
    fn durations_parse() {
        let ms = |n| Some(Duration::from_millis(n));
        assert_eq!(parse_duration("250"), ms(250));
        assert_eq!(parse_duration("250ms"), ms(250));
        assert_eq!(parse_duration("10s"), ms(10_000));
        assert_eq!(parse_duration(" 2m "), ms(120_000));
        assert_eq!(parse_duration("2min"), ms(120_000));
        assert_eq!(parse_duration("1H"), ms(3_600_000));
        for bad in ["", "s", "1.5s", "-1s", "2 m", "10 seconds", "1d"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        let s = Conf::new().master("local").set("ember.network.timeout", "2m").validate().unwrap();
        assert_eq!(s.network_timeout, Duration::from_secs(120));
        let e = Conf::new().master("local").set("ember.locality.wait", "3 sec").validate().unwrap_err().to_string();
        assert!(e.contains("ember.locality.wait=3 sec is not a duration"), "{e}");
    }

    #[test]
    fn validation_rejects_unknown_keys_and_bad_values() {
        let e = Conf::new().set("ember.task.maxFailure", 3).validate().unwrap_err().to_string();
        assert!(e.contains("unknown key ember.task.maxFailure"), "{e}");
        let e = Conf::new().master("local").set("ember.task.maxFailures", "x").validate().unwrap_err().to_string();
        assert!(e.contains("ember.task.maxFailures=x"), "{e}");
        let e = Conf::new().master("local").set("ember.executor.memory", "lots").validate().unwrap_err().to_string();
        assert!(e.contains("ember.executor.memory"), "{e}");
        for key in ["ember.executor.cores", "ember.executor.instances", "ember.default.parallelism"] {
            let e = Conf::new().master("ember://h:1").set(key, 0).validate().unwrap_err().to_string();
            assert!(e.contains(&format!("{key} must be at least 1")), "{e}");
        }
        let s = Conf::new().master("local-cluster[2]").set("ember.executor.cores", 2).validate().unwrap();
        assert_eq!(s.master, Master::LocalCluster { executors: 2, cores: 2, memory_mb: None });
        assert_eq!((s.executor_cores, s.default_parallelism, s.executor_memory), (Some(2), None, 1 << 30));
        assert_eq!(s.executor_resources.memory.unified_bytes(), (0.6 * (1u64 << 30) as f64) as u64);
        assert!(s.executor_resources.compress_shuffle && s.executor_resources.local_dir.is_none());
        for (key, value) in [("ember.memory.fraction", "0"), ("ember.memory.storageFraction", "1.5")] {
            let e = Conf::new().master("local").set(key, value).validate().unwrap_err().to_string();
            assert!(e.contains(&format!("{key}={value} must be a fraction in (0, 1]")), "{e}");
        }
        let e = Conf::new().master("local").set("ember.local.dir", "relative/dir").validate().unwrap_err().to_string();
        assert!(e.contains("ember.local.dir=relative/dir must be an absolute path"), "{e}");
        let s = Conf::new().master("local-cluster[2,1,64]").validate().unwrap();
        assert_eq!(s.executor_memory, 64 << 20, "the third field of local-cluster is memory in MiB");
        let e = Conf::new().master("local-cluster[1,1,18446744073709551615]").validate().unwrap_err().to_string();
        assert!(e.contains("more than a 64-bit byte count"), "{e}");
        let s = Conf::new().master("local-cluster[2,1,64]").set("ember.executor.memory", "1g").validate().unwrap();
        assert_eq!(s.executor_memory, 1 << 30, "ember.executor.memory wins over the master's field");
        let s = Conf::new().master("ember://h:1").set("ember.default.parallelism", 7).validate().unwrap();
        assert_eq!((s.executor_cores, s.default_parallelism), (None, Some(7)));
    }
}

mod ui_tests {
    use super::*;

    #[test]
    fn ui_keys_parse_and_secrets_are_redacted() {
        let s = Conf::new().master("local").validate().unwrap();
        assert!(s.ui.enabled && s.ui.show_console_progress && s.ui.event_log_dir.is_none());
        assert_eq!(s.ui.port, 4040);
        let s = Conf::new()
            .master("local")
            .set("ember.ui.enabled", false)
            .set("ember.eventLog.enabled", true)
            .set("ember.eventLog.dir", "/x")
            .validate()
            .unwrap();
        assert!(!s.ui.enabled);
        assert_eq!(s.ui.event_log_dir, Some(PathBuf::from("/x")));
        let e = Conf::new().master("local").set("ember.ui.port", "http").validate().unwrap_err().to_string();
        assert!(e.contains("ember.ui.port=http"), "{e}");
        let conf = Conf::new().set("ember.auth.secretFile", "/s").set("my.DB.Password", "p").set("api.token", "t");
        let shown = conf.set("ember.seed", 3).redacted_entries();
        for (k, v) in &shown {
            assert_eq!(v == REDACTED, k != "ember.seed", "{k}={v}");
        }
    }
}

mod layering_tests {
    use super::*;

    #[test]
    fn properties_parse_and_program_settings_win() {
        let file =
            Conf::parse_properties("# defaults\nember.task.maxFailures=7\n\nember.app.name  demo\n", "f").unwrap();
        assert_eq!(file.get("ember.app.name"), Some("demo"));
        let merged = Conf::new().set("ember.task.maxFailures", 2).over(&file);
        assert_eq!(merged.get("ember.task.maxFailures"), Some("2"));
        assert_eq!(merged.get("ember.app.name"), Some("demo"));
        let e = Conf::parse_properties("ok=1\nnonsense\n", "conf/x.conf").unwrap_err().to_string();
        assert!(e.contains("conf/x.conf:2: expected key=value"), "{e}");
    }
}

mod tls_tests {
    use super::*;

    #[test]
    fn tls_keys_need_each_other_and_a_readable_ca() {
        let local = || Conf::new().master("local");
        assert!(local().validate().unwrap().tls.is_none());
        let e = |c: Conf| c.validate().unwrap_err().to_string();
        assert!(e(local().set("ember.tls.caFile", "/x.pem")).contains("ember.tls.caFile is set but ember.tls.enabled"));
        assert!(e(local().set("ember.tls.serverName", "h")).contains("set ember.tls.enabled=true"));
        assert!(e(local().set("ember.tls.enabled", true)).contains("needs ember.tls.caFile"));
        assert!(e(local().set("ember.tls.enabled", "yes")).contains("ember.tls.enabled=yes is not a valid value"));
        let tls = |ca: &str| local().set("ember.tls.enabled", true).set("ember.tls.caFile", ca);
        assert!(e(tls("/no/such/ca.pem")).contains("ember.tls.caFile /no/such/ca.pem: "));
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "no certificate here").unwrap();
        assert!(e(tls(&ca.display().to_string())).contains("holds no PEM certificate"));
        let cert = rcgen::generate_simple_self_signed(vec!["executor".to_string()]).unwrap().cert;
        std::fs::write(&ca, cert.pem()).unwrap();
        let ca = ca.display().to_string();
        let settings = tls(&ca).validate().unwrap().tls.expect("TLS on");
        assert_eq!(settings.server_name, None);
        assert!(e(tls(&ca).set("ember.tls.serverName", "not a name!")).contains("ember.tls.serverName=not a name!"));
        let named = tls(&ca).set("ember.tls.serverName", "executor").validate().unwrap();
        assert_eq!(named.tls.and_then(|t| t.server_name).as_deref(), Some("executor"));
    }
}

mod secret_tests {
    use super::*;

    #[test]
    fn the_secret_file_is_its_bytes_less_one_line_end_and_must_not_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let secret = |contents: &[u8]| {
            std::fs::write(&path, contents).unwrap();
            Conf::new().master("local").set("ember.auth.secretFile", path.display()).validate()
        };
        let binary = secret(&[0xff, 0x00, b' ', 0x80, b'\r', b'\n']).unwrap().auth_secret.expect("a secret");
        assert_eq!(binary.expose(), [0xff, 0x00, b' ', 0x80]);
        assert_eq!(secret(b" s3cret\n\n").unwrap().auth_secret.expect("a secret").expose(), b" s3cret\n");
        let e = secret(b"\n").unwrap_err().to_string();
        assert!(e.contains("ember.auth.secretFile=") && e.contains("is empty"), "{e}");
    }
}

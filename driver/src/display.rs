//! Rich display in Jupyter and the evcxr REPL: the last expression of a
//! cell shows as HTML in a notebook and as text in the REPL.
//!
//! | value | shows |
//! |---|---|
//! | `Rdd<T>` | record type, id, name, partitions, storage level, lineage (`to_debug_string`) |
//! | `JobFuture<T>`, `JobHandle` | jobs and status; a progress bar while running |
//! | `rdd.show(n)?`, `Table::from(vec)` | records as a table: struct fields or tuple `.0`, `.1` as columns |
//! | `Context` | app name and id, master, executors, default parallelism, web UI link |
//!
//! ember-ml's models and factorizations have their own (`ember_ml::display`).
//!
//! Each type has an inherent `evcxr_display(&self)`, which evcxr calls on a
//! cell's final expression, and `rich_display()`, which returns the two
//! forms as strings; the protocol is described in [`ember_rdd::display`],
//! whose parts this module re-exports. A display is a snapshot taken when
//! the cell ends: evaluate a `JobFuture` again to see it move.

pub use ember_rdd::display::table::{Hidden, PLAIN_CELL_WIDTH};
pub use ember_rdd::display::{
    BEGIN_CONTENT, DEFAULT_ROWS, END_CONTENT, RichDisplay, Table, escape_html, format_f64, short_type_name,
};

use crate::conf::Master;
use crate::context::Context;

/// The master as it is written: `local[4]`, `local-cluster[2,1,1024]`, `ember://a:7077,b:7077`.
pub fn master_url(master: &Master) -> String {
    match master {
        Master::Local { threads } => format!("local[{threads}]"),
        Master::LocalCluster { executors, cores, memory_mb: None } => format!("local-cluster[{executors},{cores}]"),
        Master::LocalCluster { executors, cores, memory_mb: Some(mb) } => {
            format!("local-cluster[{executors},{cores},{mb}]")
        }
        Master::Cluster { addresses } => format!("ember://{}", addresses.join(",")),
    }
}

/// What a context shows, apart from the context (tested without one).
pub(crate) struct ContextSummary<'a> {
    pub app_name: &'a str,
    pub app_id: &'a str,
    pub master: &'a Master,
    /// `(executor, pid)` of local-cluster backends.
    pub backends: &'a [(String, u32)],
    pub default_parallelism: usize,
    pub ui_url: Option<&'a str>,
}

impl ContextSummary<'_> {
    fn executors(&self) -> String {
        match self.master {
            Master::Local { threads } => format!("in this process, {threads} task threads"),
            Master::LocalCluster { .. } if self.backends.is_empty() => "no backend running".into(),
            Master::LocalCluster { .. } => {
                let list: Vec<String> = self.backends.iter().map(|(id, pid)| format!("{id} (pid {pid})")).collect();
                list.join(", ")
            }
            Master::Cluster { addresses } => format!("daemons at {}", addresses.join(", ")),
        }
    }

    pub(crate) fn render(&self) -> RichDisplay {
        let master = master_url(self.master);
        let executors = self.executors();
        let ui = self.ui_url.unwrap_or("off");
        let plain = format!(
            "Context {:?} ({})\n  master: {master}\n  executors: {executors}\n  default parallelism: {}\n  web UI: {ui}",
            self.app_name, self.app_id, self.default_parallelism
        );
        let ui_html = match self.ui_url {
            Some(url) => format!("<a href=\"{0}\" target=\"_blank\">{0}</a>", escape_html(url)),
            None => "off".into(),
        };
        let rows = [
            ("master", escape_html(&master)),
            ("executors", escape_html(&executors)),
            ("default parallelism", self.default_parallelism.to_string()),
            ("web UI", ui_html),
        ];
        let body: String =
            rows.iter().map(|(k, v)| format!("<tr><th style=\"text-align:left\">{k}</th><td>{v}</td></tr>")).collect();
        let html = format!(
            "<div class=\"ember-context\"><b>Context</b> <i>{}</i> ({})<table>{body}</table></div>",
            escape_html(self.app_name),
            escape_html(self.app_id)
        );
        RichDisplay::new(plain, html)
    }
}

impl Context {
    /// What this context shows in a notebook: app name and id, master,
    /// executors, default parallelism, and a link to the web UI.
    pub fn rich_display(&self) -> RichDisplay {
        let backends: Vec<(String, u32)> =
            self.local_cluster_backends().into_iter().map(|(id, pid)| (id.to_string(), pid)).collect();
        let ui_url = self.ui_url();
        ContextSummary {
            app_name: &self.settings().app_name,
            app_id: self.app_id(),
            master: &self.settings().master,
            backends: &backends,
            default_parallelism: self.default_parallelism(),
            ui_url: ui_url.as_deref(),
        }
        .render()
    }

    /// Shows this context in evcxr (Jupyter, REPL): see [`ember_rdd::display`].
    pub fn evcxr_display(&self) {
        self.rich_display().print_for_evcxr();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conf::Conf;
    use ember_rdd::{JobStatus, StorageLevel};
    use serde::{Deserialize, Serialize};

    #[test]
    fn a_context_shows_its_master_executors_and_ui() {
        let master = Master::LocalCluster { executors: 2, cores: 1, memory_mb: None };
        let backends = [("exec-0".to_string(), 101), ("exec-1".to_string(), 102)];
        let summary = ContextSummary {
            app_name: "<notebook>",
            app_id: "app-1",
            master: &master,
            backends: &backends,
            default_parallelism: 2,
            ui_url: Some("http://host:4040"),
        };
        let rich = summary.render();
        assert_eq!(
            rich.plain,
            "Context \"<notebook>\" (app-1)\n  master: local-cluster[2,1]\n  \
             executors: exec-0 (pid 101), exec-1 (pid 102)\n  default parallelism: 2\n  web UI: http://host:4040"
        );
        assert!(rich.html.contains("<i>&lt;notebook&gt;</i> (app-1)"), "{}", rich.html);
        assert!(rich.html.contains("<a href=\"http://host:4040\" target=\"_blank\">http://host:4040</a>"));
        let local = Master::Local { threads: 4 };
        let off = ContextSummary { master: &local, backends: &[], ui_url: None, ..summary }.render();
        assert!(off.plain.contains("master: local[4]\n  executors: in this process, 4 task threads"));
        assert!(off.plain.ends_with("web UI: off"));
        assert_eq!(
            master_url(&Master::Cluster { addresses: vec!["a:7077".into(), "b:7077".into()] }),
            "ember://a:7077,b:7077"
        );
    }

    #[derive(Clone, Serialize, Deserialize)]
    struct Visit {
        page: String,
        hits: u64,
    }

    fn context() -> Context {
        Context::new(Conf::new().master("local[2]").set("ember.ui.enabled", "false").app_name("display-test")).unwrap()
    }

    #[test]
    fn rdds_and_their_records_show_in_a_notebook() {
        let ctx = context();
        let pairs = ctx.parallelize(vec![("a".to_string(), 1u64), ("b".to_string(), 2)], 2);
        let counts = pairs.reduce_by_key(|a, b| a + b).set_name("counts").cache();
        let rich = counts.rich_display();
        let first = rich.plain.lines().next().unwrap();
        assert_eq!(
            first,
            format!("Rdd<(String, u64)> [{}] \"counts\": 2 partitions, persisted MemoryOnly", counts.id().0)
        );
        assert!(rich.plain.contains("ShuffledRdd") && rich.plain.contains(" +-(2) "), "{}", rich.plain);
        assert!(rich.html.starts_with("<div class=\"ember-rdd\"><b>Rdd&lt;(String, u64)&gt;</b>"), "{}", rich.html);
        assert_eq!(counts.storage_level(), StorageLevel::MemoryOnly);

        // show(n): the first n records, noting that there are more.
        let visits: Vec<Visit> = (0..30).map(|i| Visit { page: format!("/p{i}"), hits: i }).collect();
        let table = ctx.parallelize(visits, 3).show(2).unwrap();
        assert_eq!(table.columns(), ["page", "hits"]);
        assert_eq!(table.rows(), [vec!["/p0".to_string(), "0".into()], vec!["/p1".to_string(), "1".into()]]);
        assert_eq!(table.hidden(), Hidden::Some);
        assert!(table.to_plain().ends_with("only showing the first 2 rows"));
        let all = ctx.parallelize(vec![1u8, 2], 1).show(5).unwrap();
        assert_eq!(all.hidden(), Hidden::None);

        // A record with markup is escaped in the HTML table.
        let evil = ctx.parallelize(vec![("<script>alert(1)</script>".to_string(), 1u8)], 1).show(1).unwrap();
        let html = evil.rich_display().html;
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>"), "{html}");
    }

    #[test]
    fn a_job_future_shows_its_status() {
        let ctx = context();
        let future = ctx.parallelize((0..100u64).collect(), 4).count_async();
        let handle = future.handle();
        let rich = future.rich_display();
        assert!(rich.html.starts_with("<div class=\"ember-job\"><b>JobFuture&lt;u64&gt;</b>"), "{}", rich.html);
        assert_eq!(future.result().unwrap(), 100);
        assert_eq!(handle.status(), JobStatus::Finished);
        let done = handle.rich_display();
        assert_eq!(done.plain, handle.to_string());
        assert!(done.plain.ends_with(": finished>"), "{}", done.plain);
        assert!(done.html.contains(">finished</span>") && !done.html.contains("<progress"), "{}", done.html);
        let shown = ctx.rich_display();
        assert!(shown.plain.starts_with("Context \"display-test\" ("), "{}", shown.plain);
        assert!(shown.plain.contains("master: local[2]") && shown.plain.ends_with("web UI: off"), "{}", shown.plain);
    }
}

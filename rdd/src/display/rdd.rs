//! What an RDD shows: its record type, id, name, partitions, storage level
//! and lineage (`to_debug_string`); and `show(n)`, its first records as a
//! [`Table`].

use super::table::Hidden;
use super::{RichDisplay, Table, escape_html, short_type_name};
use crate::call_site::OperationScope;
use crate::storage::StorageLevel;
use crate::{Data, Rdd, Result};

/// What [`Rdd::rich_display`] shows, apart from the RDD itself (so that it
/// is tested without a runner).
pub(crate) struct RddSummary<'a> {
    pub record_type: &'a str,
    pub id: u64,
    pub name: Option<&'a str>,
    pub partitions: usize,
    pub level: StorageLevel,
    pub lineage: &'a str,
}

fn storage_words(level: StorageLevel) -> &'static str {
    match level {
        StorageLevel::None => "not persisted",
        StorageLevel::MemoryOnly => "persisted MemoryOnly",
        StorageLevel::MemoryAndDisk => "persisted MemoryAndDisk",
    }
}

impl RddSummary<'_> {
    /// `Rdd<(String, u64)> [3] "counts": 4 partitions, persisted MemoryOnly`
    /// and the lineage below it.
    pub(crate) fn render(&self) -> RichDisplay {
        let plural = if self.partitions == 1 { "" } else { "s" };
        let name = self.name.map(|n| format!(" {n:?}")).unwrap_or_default();
        let plain = format!(
            "Rdd<{}> [{}]{name}: {} partition{plural}, {}\n{}",
            self.record_type,
            self.id,
            self.partitions,
            storage_words(self.level),
            self.lineage.trim_end()
        );
        let name_html = self.name.map(|n| format!(" <i>{}</i>", escape_html(n))).unwrap_or_default();
        let html = format!(
            "<div class=\"ember-rdd\"><b>Rdd&lt;{}&gt;</b> [{}]{name_html} · {} partition{plural} · {}\
             <pre style=\"margin:0.3em 0\">{}</pre></div>",
            escape_html(self.record_type),
            self.id,
            self.partitions,
            storage_words(self.level),
            escape_html(self.lineage.trim_end())
        );
        RichDisplay::new(plain, html)
    }
}

impl<T: Data> Rdd<T> {
    /// The first `n` records as a [`Table`] (Spark's `Dataset.show`): a
    /// struct's fields or a tuple's `.0`, `.1`, … as columns, else one
    /// column. Runs a `take(n + 1)`: the table says when there are more
    /// records, without counting them. In a notebook, `rdd.show(20)?` is
    /// shown as an HTML table; in a program, `println!("{}", rdd.show(20)?)`.
    #[track_caller]
    pub fn show(&self, n: usize) -> Result<Table> {
        let _op = OperationScope::enter("show");
        let mut records = self.take(n.saturating_add(1))?;
        let more = records.len() > n;
        records.truncate(n);
        let table = Table::of_records(&records.iter().collect::<Vec<_>>());
        Ok(if more { table.with_hidden(Hidden::Some) } else { table })
    }

    /// What this RDD shows in a notebook: record type, id, name,
    /// partitions, storage level and lineage; runs no job.
    pub fn rich_display(&self) -> RichDisplay {
        let record_type = short_type_name(std::any::type_name::<T>());
        let name = self.name();
        RddSummary {
            record_type: &record_type,
            id: self.id().0,
            name: name.as_deref(),
            partitions: self.num_partitions(),
            level: self.storage_level(),
            lineage: &self.to_debug_string(),
        }
        .render()
    }

    /// Shows this RDD in evcxr (Jupyter, REPL): see [`crate::display`].
    pub fn evcxr_display(&self) {
        self.rich_display().print_for_evcxr();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rdd_shows_its_lineage_and_storage() {
        let lineage = "(4) ShuffledRdd[3] [MemoryOnly]\n +-(2) ParallelCollectionRdd[0] []\n";
        let summary = RddSummary {
            record_type: "(String, u64)",
            id: 3,
            name: Some("<counts>"),
            partitions: 4,
            level: StorageLevel::MemoryOnly,
            lineage,
        };
        let rich = summary.render();
        assert_eq!(
            rich.plain,
            "Rdd<(String, u64)> [3] \"<counts>\": 4 partitions, persisted MemoryOnly\n\
             (4) ShuffledRdd[3] [MemoryOnly]\n +-(2) ParallelCollectionRdd[0] []"
        );
        assert_eq!(
            rich.html,
            "<div class=\"ember-rdd\"><b>Rdd&lt;(String, u64)&gt;</b> [3] <i>&lt;counts&gt;</i> · 4 partitions · \
             persisted MemoryOnly<pre style=\"margin:0.3em 0\">(4) ShuffledRdd[3] [MemoryOnly]\n \
             +-(2) ParallelCollectionRdd[0] []</pre></div>"
        );
        let one = RddSummary { name: None, partitions: 1, level: StorageLevel::None, ..summary };
        assert!(one.render().plain.starts_with("Rdd<(String, u64)> [3]: 1 partition, not persisted\n"));
    }
}

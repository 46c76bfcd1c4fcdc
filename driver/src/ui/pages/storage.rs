//! The storage page (cached RDDs: how much of each is cached, in memory and
//! on disk) and an RDD's page (its blocks and where they are).

use super::{PageContext, layout, not_found, table};
use crate::ui::api::{rdd_detail, storage};
use crate::ui::format::{bytes, esc};
use crate::ui::state::AppState;
use ember_rdd::ids::RddId;

/// `/storage/`.
pub fn storage_page(state: &AppState, ctx: &PageContext) -> String {
    let rows = storage(state).into_iter().map(|r| {
        let fraction = 100.0 * r.num_cached_partitions as f64 / r.num_partitions.max(1) as f64;
        vec![
            format!(r#"<a href="{}/storage/rdd/?id={}">{}</a>"#, esc(&ctx.base), r.id, esc(&r.name)),
            esc(r.storage_level),
            r.num_cached_partitions.to_string(),
            format!("{fraction:.0}%"),
            bytes(r.memory_used),
            bytes(r.disk_used),
        ]
    });
    let table = table(
        &["RDD Name", "Storage Level", "Cached Partitions", "Fraction Cached", "Size in Memory", "Size on Disk"],
        rows,
    );
    layout(state, ctx, "Storage", "Storage", &format!("<h2>RDDs</h2>{table}"))
}

/// `/storage/rdd/?id=N`.
pub fn rdd_page(state: &AppState, ctx: &PageContext, rdd: RddId) -> String {
    let Some(r) = rdd_detail(state, rdd) else {
        return not_found(state, ctx, &format!("RDD {} has no cached blocks.", rdd.0));
    };
    let blocks = r.partitions.unwrap_or_default().into_iter().map(|p| {
        vec![
            esc(&p.block_name),
            esc(p.storage_level),
            bytes(p.memory_used),
            bytes(p.disk_used),
            esc(&p.executors.join(", ")),
        ]
    });
    let summary = super::details(&[
        ("Storage Level", esc(r.storage_level)),
        ("Cached Partitions", format!("{} of {}", r.num_cached_partitions, r.num_partitions)),
        ("Size in Memory", bytes(r.memory_used)),
        ("Size on Disk", bytes(r.disk_used)),
    ]);
    let table = table(&["Block Name", "Storage Level", "Size in Memory", "Size on Disk", "Executors"], blocks);
    layout(
        state,
        ctx,
        "Storage",
        &format!("RDD Storage Info for {}", r.name),
        &format!("{summary}<h2>Blocks</h2>{table}"),
    )
}

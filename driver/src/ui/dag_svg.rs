//! The DAG of a job as inline SVG (no JavaScript, no library): one box per
//! stage, holding the RDDs its tasks compute, with arrows between RDDs —
//! narrow dependencies inside a stage, shuffles between stages — as Spark's
//! "DAG Visualization".
//!
//! Layout, in two levels, both by longest path:
//! - stages go in columns by their depth (a stage's column is one more than
//!   its deepest parent's), stacked top to bottom within a column;
//! - inside a stage, RDDs go in rows by their depth among the stage's RDDs,
//!   side by side within a row.
//!
//! A stage with more than [`MAX_RDDS_SHOWN`] RDDs (a 10,000-step lineage)
//! shows its first and last few, with a box saying how many are left out.

use super::format::esc;
use super::state::StageStatus;
use crate::listener::{RddInfo, StageInfo};
use ember_rdd::ids::{RddId, StageId};
use std::collections::HashMap;
use std::fmt::Write;

/// RDDs drawn per stage before eliding the middle of its lineage.
pub const MAX_RDDS_SHOWN: usize = 16;
const KEEP_FIRST: usize = 4;
const KEEP_LAST: usize = 10;
const NODE_H: f64 = 26.0;
const ROW_GAP: f64 = 22.0;
const COL_GAP: f64 = 60.0;
const STAGE_GAP: f64 = 24.0;
const PAD: f64 = 12.0;
const HEADER: f64 = 26.0;
const CHAR_W: f64 = 6.8;

/// A stage to draw: its description and how it fared in the job.
pub struct DagStage<'a> {
    pub info: &'a StageInfo,
    pub status: StageStatus,
    /// Where its box links to.
    pub href: String,
}

/// One box inside a stage: an RDD, or the elided middle of a long lineage.
enum Node<'a> {
    Rdd(&'a RddInfo),
    Elided(usize),
}

struct PlacedStage<'a> {
    stage: &'a DagStage<'a>,
    nodes: Vec<(Node<'a>, f64, f64)>,
    /// In-stage edges, as indices into `nodes`.
    edges: Vec<(usize, usize)>,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

/// The nodes of a stage with their (row, position in row), and the edges between them.
#[allow(clippy::type_complexity)]
fn stage_nodes<'a>(info: &'a StageInfo) -> (Vec<(Node<'a>, usize, usize)>, Vec<(usize, usize)>) {
    let rdds = &info.rdds;
    if rdds.len() > MAX_RDDS_SHOWN {
        let mut nodes: Vec<(Node, usize, usize)> = Vec::new();
        for r in &rdds[..KEEP_FIRST] {
            nodes.push((Node::Rdd(r), nodes.len(), 0));
        }
        nodes.push((Node::Elided(rdds.len() - KEEP_FIRST - KEEP_LAST), nodes.len(), 0));
        for r in &rdds[rdds.len() - KEEP_LAST..] {
            nodes.push((Node::Rdd(r), nodes.len(), 0));
        }
        let edges = (1..nodes.len()).map(|i| (i - 1, i)).collect();
        return (nodes, edges);
    }
    let index: HashMap<RddId, usize> = rdds.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
    let mut rows = vec![0usize; rdds.len()];
    let mut edges = Vec::new();
    // Parents come before children, so one pass gives longest-path rows.
    for (i, r) in rdds.iter().enumerate() {
        for p in r.parents.iter().filter_map(|p| index.get(p)) {
            rows[i] = rows[i].max(rows[*p] + 1);
            edges.push((*p, i));
        }
    }
    let mut used_in_row: HashMap<usize, usize> = HashMap::new();
    let nodes = rdds
        .iter()
        .zip(rows)
        .map(|(r, row)| {
            let slot = used_in_row.entry(row).or_default();
            *slot += 1;
            (Node::Rdd(r), row, *slot - 1)
        })
        .collect();
    (nodes, edges)
}

/// An RDD's name as the box shows it: its call site with the file name
/// alone ("map at main.rs:14 [4]", as Spark's short call sites), the full
/// path being in the box's tooltip.
fn short_name(r: &RddInfo) -> String {
    match r.call_site.as_deref().and_then(|site| site.split_once(" at ")) {
        Some((op, path)) => format!("{op} at {} [{}]", path.rsplit('/').next().unwrap_or(path), r.id.0),
        None => r.display_name(),
    }
}

fn label(node: &Node) -> String {
    match node {
        Node::Rdd(r) if r.storage_level.is_cached() => format!("{} (cached)", short_name(r)),
        Node::Rdd(r) => short_name(r),
        Node::Elided(n) => format!("… {n} more RDDs …"),
    }
}

fn status_style(status: StageStatus) -> (&'static str, &'static str, &'static str) {
    // (fill, stroke, word)
    match status {
        StageStatus::Active => ("#e8f6e8", "#2e8b2e", "running"),
        StageStatus::Complete => ("#eaf1fb", "#4a78b5", "complete"),
        StageStatus::Failed => ("#fbeaea", "#b54a4a", "failed"),
        StageStatus::Pending => ("#ffffff", "#888888", "pending"),
        StageStatus::Skipped => ("#f4f4f4", "#bbbbbb", "skipped"),
    }
}

/// The job's DAG as an `<svg>` element.
pub fn render(stages: &[DagStage]) -> String {
    if stages.is_empty() {
        return "<p>No stages.</p>".into();
    }
    let longest = stages.iter().flat_map(|s| s.info.rdds.iter().map(|r| label(&Node::Rdd(r)).chars().count())).max();
    let node_w = (longest.unwrap_or(10) as f64 * CHAR_W + 20.0).clamp(130.0, 420.0);
    // Stage columns by longest path over parents (parents have smaller ids,
    // but do not rely on it: unknown parents count as depth 0).
    let mut sorted: Vec<&DagStage> = stages.iter().collect();
    sorted.sort_by_key(|s| s.info.stage);
    let mut depth: HashMap<StageId, usize> = HashMap::new();
    for s in &sorted {
        let d = s.info.parents.iter().filter_map(|p| depth.get(p)).map(|d| d + 1).max().unwrap_or(0);
        depth.insert(s.info.stage, d);
    }
    let mut placed: Vec<PlacedStage> = Vec::new();
    let columns = depth.values().copied().max().unwrap_or(0) + 1;
    let mut x = PAD;
    let mut total_h: f64 = 0.0;
    for col in 0..columns {
        let mut y = PAD;
        let mut col_w: f64 = 0.0;
        for s in sorted.iter().filter(|s| depth[&s.info.stage] == col) {
            let (nodes, edges) = stage_nodes(s.info);
            let rows = nodes.iter().map(|n| n.1).max().map_or(0, |r| r + 1);
            let per_row = nodes.iter().map(|n| n.2 + 1).max().unwrap_or(1);
            let w = (per_row as f64 * (node_w + PAD) + PAD).max(node_w + 2.0 * PAD);
            let h = HEADER + rows as f64 * (NODE_H + ROW_GAP) - ROW_GAP + 2.0 * PAD;
            let nodes = nodes
                .into_iter()
                .map(|(n, row, slot)| {
                    let nx = x + PAD + slot as f64 * (node_w + PAD);
                    let ny = y + HEADER + PAD + row as f64 * (NODE_H + ROW_GAP);
                    (n, nx, ny)
                })
                .collect();
            placed.push(PlacedStage { stage: s, nodes, edges, x, y, w, h });
            y += h + STAGE_GAP;
            col_w = col_w.max(w);
        }
        total_h = total_h.max(y - STAGE_GAP + PAD);
        x += col_w + COL_GAP;
    }
    let total_w = x - COL_GAP + PAD;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="dag" width="{total_w:.0}" height="{total_h:.0}" viewBox="0 0 {total_w:.0} {total_h:.0}" font-family="monospace" font-size="11"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>"##
    );
    // Where each drawn RDD is, to attach shuffle edges between stages.
    let mut rdd_at: HashMap<RddId, (f64, f64)> = HashMap::new();
    for p in &placed {
        for (n, nx, ny) in &p.nodes {
            if let Node::Rdd(r) = n {
                rdd_at.insert(r.id, (*nx, *ny));
            }
        }
    }
    for p in &placed {
        let (fill, stroke, word) = status_style(p.stage.status);
        let dash = if p.stage.status == StageStatus::Skipped { r#" stroke-dasharray="5,4""# } else { "" };
        let _ = write!(
            svg,
            r#"<g class="stage" id="stage-{id}"><a href="{href}"><rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="6" fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}/><text x="{tx:.1}" y="{ty:.1}" font-weight="bold" fill="{stroke}">Stage {id} ({word})</text></a>"#,
            id = p.stage.info.stage.0,
            href = esc(&p.stage.href),
            x = p.x,
            y = p.y,
            w = p.w,
            h = p.h,
            tx = p.x + PAD,
            ty = p.y + 17.0,
        );
        for (from, to) in &p.edges {
            let (_, fx, fy) = &p.nodes[*from];
            let (_, tx, ty) = &p.nodes[*to];
            let _ = write!(
                svg,
                r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#555" marker-end="url(#arrow)"/>"##,
                fx + node_w / 2.0,
                fy + NODE_H,
                tx + node_w / 2.0,
                ty - 1.0
            );
        }
        for (n, nx, ny) in &p.nodes {
            let cached = matches!(n, Node::Rdd(r) if r.storage_level.is_cached());
            let (fill, class) = match n {
                Node::Rdd(_) if cached => ("#d9f2d9", "rdd cached"),
                Node::Rdd(_) => ("#ffffff", "rdd"),
                Node::Elided(_) => ("#f4f4f4", "elided"),
            };
            // The node's kind and full call site, on hover.
            let kind = match n {
                Node::Rdd(r) => match &r.call_site {
                    Some(site) => format!("<title>{} [{}]: {}</title>", esc(&r.kind), r.id.0, esc(site)),
                    None => format!("<title>{} [{}]</title>", esc(&r.kind), r.id.0),
                },
                Node::Elided(_) => String::new(),
            };
            let _ = write!(
                svg,
                r##"<g class="{class}">{kind}<rect x="{nx:.1}" y="{ny:.1}" width="{node_w:.1}" height="{NODE_H}" rx="3" fill="{fill}" stroke="#777"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text></g>"##,
                nx + node_w / 2.0,
                ny + NODE_H / 2.0 + 4.0,
                esc(&label(n))
            );
        }
        svg.push_str("</g>");
    }
    // Shuffle edges: from a parent stage's RDD to the RDD that reads it.
    for p in &placed {
        for (n, nx, ny) in &p.nodes {
            let Node::Rdd(r) = n else { continue };
            let in_stage = |id: &RddId| p.stage.info.rdds.iter().any(|x| x.id == *id);
            for parent in r.parents.iter().filter(|id| !in_stage(id)) {
                let Some((px, py)) = rdd_at.get(parent) else { continue };
                let (x1, y1) = (px + node_w, py + NODE_H / 2.0);
                let (x2, y2) = (nx - 1.0, ny + NODE_H / 2.0);
                let mid = (x1 + x2) / 2.0;
                let _ = write!(
                    svg,
                    r##"<path class="shuffle" d="M{x1:.1},{y1:.1} C{mid:.1},{y1:.1} {mid:.1},{y2:.1} {x2:.1},{y2:.1}" fill="none" stroke="#555" stroke-dasharray="4,3" marker-end="url(#arrow)"/>"##
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_rdd::StorageLevel;

    fn rdd(id: u64, kind: &str, parents: &[u64]) -> RddInfo {
        RddInfo {
            id: RddId(id),
            kind: kind.into(),
            num_partitions: 2,
            storage_level: if kind == "Cached" { StorageLevel::MemoryOnly } else { StorageLevel::None },
            parents: parents.iter().map(|p| RddId(*p)).collect(),
            call_site: None,
        }
    }

    #[test]
    fn stages_rdds_and_shuffle_edges_are_drawn() {
        let map = StageInfo {
            stage: StageId(0),
            name: "map".into(),
            num_tasks: 2,
            parents: vec![],
            shuffle: None,
            rdds: vec![rdd(0, "ParallelCollectionRdd", &[]), rdd(1, "Cached", &[0])],
        };
        let result = StageInfo {
            stage: StageId(1),
            name: "result".into(),
            num_tasks: 2,
            parents: vec![StageId(0)],
            shuffle: None,
            rdds: vec![rdd(2, "ShuffledRdd", &[1]), rdd(3, "MapPartitionsRdd", &[2])],
        };
        let svg = render(&[
            DagStage { info: &map, status: StageStatus::Complete, href: "/s?id=0&a=1".into() },
            DagStage { info: &result, status: StageStatus::Active, href: "/s?id=1".into() },
        ]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        for text in ["Stage 0 (complete)", "Stage 1 (running)", "ParallelCollectionRdd [0]", "Cached [1] (cached)"] {
            assert!(svg.contains(text), "{text} missing in {svg}");
        }
        assert!(svg.contains("/s?id=0&amp;a=1"), "hrefs are escaped");
        assert_eq!(svg.matches("class=\"shuffle\"").count(), 1);
        assert_eq!(svg.matches("<line").count(), 2);
    }

    #[test]
    fn a_long_lineage_is_elided() {
        let rdds: Vec<RddInfo> =
            (0..1000).map(|i| rdd(i, "MapPartitionsRdd", &(0..i).rev().take(1).collect::<Vec<_>>())).collect();
        let info =
            StageInfo { stage: StageId(0), name: "x".into(), num_tasks: 1, parents: vec![], shuffle: None, rdds };
        let svg = render(&[DagStage { info: &info, status: StageStatus::Complete, href: String::new() }]);
        assert!(svg.contains("… 986 more RDDs …"), "{svg}");
        assert_eq!(svg.matches("class=\"rdd\"").count(), KEEP_FIRST + KEEP_LAST);
    }
}

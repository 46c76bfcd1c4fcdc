//! The drawing pieces the timelines, the task stream and the memory charts
//! share: a time axis mapping wall-clock times to x, its tick labels, lanes
//! of bars packed without overlap, and a legend. Plain SVG text, escaped,
//! no script: the pages stay readable in any browser and in a saved file.

use super::format::{duration_ms, esc};
use crate::listener::UnixMillis;
use std::fmt::Write;

/// Width of every chart, in px.
pub const CHART_WIDTH: f64 = 1000.0;
/// Room left of the plot for lane labels.
pub const LABEL_WIDTH: f64 = 110.0;
/// Height of one lane of bars.
pub const LANE_HEIGHT: f64 = 14.0;
/// Height of the time axis below a plot.
pub const AXIS_HEIGHT: f64 = 20.0;

/// Maps times in `[start, end]` to x in the plot.
#[derive(Clone, Copy, Debug)]
pub struct TimeAxis {
    pub start: UnixMillis,
    pub end: UnixMillis,
}

impl TimeAxis {
    /// The axis spanning `times` (at least 1 ms wide); `None` without times.
    pub fn spanning(times: impl IntoIterator<Item = UnixMillis>) -> Option<TimeAxis> {
        let (mut lo, mut hi) = (u64::MAX, 0);
        for t in times {
            lo = lo.min(t.0);
            hi = hi.max(t.0);
        }
        (lo <= hi).then(|| TimeAxis { start: UnixMillis(lo), end: UnixMillis(hi.max(lo + 1)) })
    }

    fn span_ms(&self) -> f64 {
        self.end.since(self.start).max(1) as f64
    }

    /// The x of `t`, clamped to the plot.
    pub fn x(&self, t: UnixMillis) -> f64 {
        self.x_ms(t.0 as f64)
    }

    /// The x of a time given in fractional ms since the epoch.
    pub fn x_ms(&self, ms: f64) -> f64 {
        let frac = ((ms - self.start.0 as f64) / self.span_ms()).clamp(0.0, 1.0);
        LABEL_WIDTH + frac * (CHART_WIDTH - LABEL_WIDTH - 10.0)
    }

    /// Five ticks below a plot of height `top`, labelled by time since the start.
    pub fn ticks(&self, top: f64) -> String {
        let mut out = String::new();
        for i in 0..=4 {
            let ms = self.span_ms() * f64::from(i) / 4.0;
            let x = self.x_ms(self.start.0 as f64 + ms);
            let anchor = if i == 4 { "end" } else { "middle" };
            let _ = write!(
                out,
                r##"<line x1="{x:.1}" y1="0" x2="{x:.1}" y2="{top:.1}" stroke="#e4e4e4"/><text x="{x:.1}" y="{:.1}" font-size="10" text-anchor="{anchor}">+{}</text>"##,
                top + 13.0,
                duration_ms(ms)
            );
        }
        out
    }
}

/// Overlap forgiven when packing lanes, in ms: task ends are stamped by the
/// driver to the millisecond, and run times measured on the executor, so a
/// task's estimated start may fall a little before its predecessor's end.
const LANE_SLACK_MS: f64 = 2.0;

/// Packs intervals (ms) into lanes, first fit in start order: each lane's
/// intervals do not overlap (beyond [`LANE_SLACK_MS`]). With `max_lanes`
/// (an executor's cores), an interval that fits nowhere goes to the lane
/// that frees first instead of opening one more. Returns each interval's
/// lane and the lane count.
pub fn pack_lanes(intervals: &[(f64, f64)], max_lanes: Option<usize>) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..intervals.len()).collect();
    order.sort_by(|a, b| intervals[*a].0.total_cmp(&intervals[*b].0));
    let mut lane_ends: Vec<f64> = Vec::new();
    let mut lanes = vec![0; intervals.len()];
    for i in order {
        let (start, end) = intervals[i];
        let free = lane_ends.iter().position(|e| *e <= start + LANE_SLACK_MS);
        let lane = match free {
            Some(l) => l,
            None if max_lanes.is_some_and(|max| lane_ends.len() >= max.max(1)) => {
                (0..lane_ends.len()).min_by(|a, b| lane_ends[*a].total_cmp(&lane_ends[*b])).unwrap_or(0)
            }
            None => {
                lane_ends.push(f64::MIN);
                lane_ends.len() - 1
            }
        };
        lane_ends[lane] = end;
        lanes[i] = lane;
    }
    (lanes, lane_ends.len())
}

/// A bar from `x0` to `x1` in lane row `y`, with a hover title.
pub fn bar(out: &mut String, class: &str, x0: f64, x1: f64, y: f64, title: &str) {
    let w = (x1 - x0).max(0.5);
    let _ = write!(
        out,
        r#"<rect class="{class}" x="{x0:.1}" y="{y:.1}" width="{w:.1}" height="{:.1}"><title>{}</title></rect>"#,
        LANE_HEIGHT - 3.0,
        esc(title)
    );
}

/// A row of coloured swatches naming what each class means.
pub fn legend(entries: &[(&str, &str)]) -> String {
    let mut out = String::from(r#"<div class="legend">"#);
    for (class, label) in entries {
        let _ = write!(
            out,
            r#"<span><svg width="12" height="12"><rect class="{class}" width="12" height="12"/></svg> {}</span>"#,
            esc(label)
        );
    }
    out.push_str("</div>");
    out
}

/// Fill colours of the chart classes (in the page's style sheet).
pub const CHART_STYLE: &str = ".legend span{margin-right:14px;font-size:12px}\
.phase-delay{fill:#6fa8dc}.phase-queued{fill:#c9c9c9}.phase-run{fill:#6aa84f}.phase-spill{fill:#e06666}\
.phase-shuffle-read{fill:#ffbb78}.phase-shuffle-write{fill:#9467bd}.phase-failed{fill:#cc4125}.phase-running{fill:#93c47d;opacity:.7}\
.stage-complete{fill:#4a78b5}.stage-active{fill:#6aa84f}.stage-failed{fill:#cc4125}.stage-pending{fill:#bbbbbb}\
.exec-added{stroke:#2e8b2e}.exec-removed{stroke:#b54a4a}.swatch-added{fill:#2e8b2e}.swatch-removed{fill:#b54a4a}\
.mem-storage{stroke:#4a78b5}.mem-execution{stroke:#e69138}.mem-shuffle{stroke:#6aa84f}.mem-spill{stroke:#cc4125}\
rect.mem-storage{fill:#4a78b5}rect.mem-execution{fill:#e69138}rect.mem-shuffle{fill:#6aa84f}rect.mem-spill{fill:#cc4125}\
svg.timeline text{font-family:system-ui,sans-serif}";

/// One of eight fill colours, by a stage id (the task stream colours tasks by stage).
pub fn stage_colour(stage: u64) -> &'static str {
    const PALETTE: [&str; 8] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"];
    PALETTE[(stage % PALETTE.len() as u64) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_never_overlap_and_are_reused() {
        let intervals = [(0.0, 10.0), (5.0, 15.0), (10.0, 20.0), (16.0, 18.0)];
        let (lanes, count) = pack_lanes(&intervals, None);
        assert_eq!(count, 2);
        assert_eq!(lanes, vec![0, 1, 0, 1]);
        // A start a millisecond early still follows on its lane.
        assert_eq!(pack_lanes(&[(0.0, 10.0), (9.0, 20.0)], None), (vec![0, 0], 1));
        // At most one lane per core: the overlap goes where a lane frees first.
        let crowded = [(0.0, 10.0), (0.0, 30.0), (1.0, 5.0)];
        assert_eq!(pack_lanes(&crowded, Some(2)), (vec![0, 1, 0], 2));
    }

    #[test]
    fn the_axis_maps_its_ends_to_the_plots_ends() {
        let axis = TimeAxis::spanning([UnixMillis(2000), UnixMillis(1000)]).unwrap();
        assert_eq!(axis.x(UnixMillis(1000)), LABEL_WIDTH);
        assert_eq!(axis.x(UnixMillis(2000)), CHART_WIDTH - 10.0);
        assert_eq!(axis.x(UnixMillis(5000)), CHART_WIDTH - 10.0, "clamped");
        assert!(TimeAxis::spanning([]).is_none());
        assert!(axis.ticks(50.0).contains("+1.0 s"));
    }
}

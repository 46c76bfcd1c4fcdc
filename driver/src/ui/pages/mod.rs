//! The web UI's HTML pages, rendered on the server from the state store,
//! with one small inline style sheet and, in the live UI, one small inline
//! script that keeps the page current without reloading it.
//!
//! Live updates: the page's changing parts are `<div class="live" id=…>`
//! regions. Every [`LIVE_POLL_MILLIS`] the script asks the JSON API for the
//! application's `lastUpdatedEpoch` (a few hundred bytes); when it moved, it
//! fetches the page again and swaps each region's content for the new one,
//! then puts the scroll position back. Nothing is reloaded, so scrolling,
//! an open `<details>` outside the regions and the address stay as they
//! were; without JavaScript the page is still whole, just not live.
//!
//! Every page is a function of `(&AppState, &PageContext)` returning HTML;
//! the server looks the application up and holds its state's lock only while
//! rendering. Every string from the application (names, errors, config) is
//! escaped with [`esc`].

pub mod environment;
pub mod executors;
pub mod jobs;
pub mod stage_tasks;
pub mod stages;
pub mod storage;

use super::format::{bytes, duration_ms, esc, page_date};
use super::state::AppState;
use super::svg_chart::CHART_STYLE;
use crate::listener::UnixMillis;
use std::fmt::Write;

/// Milliseconds between a live page's looks at the application's state.
pub const LIVE_POLL_MILLIS: u32 = 2000;

/// The live page's script (see the module's doc): polls `data-api`, swaps
/// `.live[id]` regions, counts its swaps in `data-live-updates`.
const LIVE_SCRIPT: &str = r#"(function(){var b=document.body,api=b.dataset.api,last=b.dataset.updated,every=+b.dataset.poll,n=0;
function swap(html){var doc=new DOMParser().parseFromString(html,"text/html"),x=window.scrollX,y=window.scrollY;
document.querySelectorAll(".live[id]").forEach(function(el){var f=doc.getElementById(el.id);if(f&&f.innerHTML!==el.innerHTML){el.innerHTML=f.innerHTML;}});
window.scrollTo(x,y);n++;document.documentElement.dataset.liveUpdates=n;var s=document.getElementById("live-status");if(s){s.textContent="updated "+new Date().toLocaleTimeString();}}
function poll(){if(document.hidden){setTimeout(poll,every);return;}
fetch(api,{cache:"no-store"}).then(function(r){return r.json();}).then(function(a){var at=String(a.attempts[0].lastUpdatedEpoch);if(at===last){return;}last=at;
return fetch(location.href,{cache:"no-store"}).then(function(r){return r.text();}).then(swap);}).catch(function(){}).then(function(){setTimeout(poll,every);});}
setTimeout(poll,every);})();"#;

/// Where a page is served and for what kind of UI.
pub struct PageContext {
    /// The path prefix of this application's pages: "" in the live UI,
    /// "/history/<app id>" in `ember-history`.
    pub base: String,
    /// The application runs in this process (pages refresh while jobs run).
    pub live: bool,
    /// "now" for durations of running things.
    pub now: UnixMillis,
    /// Active stages get a kill link (the live UI, `ember.ui.killEnabled`).
    pub kill: bool,
}

/// The "(kill)" link of an active stage: a form that POSTs to
/// `/stages/<id>/kill` once the user confirms (Spark's kill link).
pub fn kill_link(ctx: &PageContext, stage: ember_rdd::ids::StageId) -> String {
    format!(
        r#" <form class="kill" method="post" action="{}/stages/{id}/kill" onsubmit="return window.confirm('Kill stage {id}? The jobs running it will fail as cancelled.');"><button type="submit" class="kill-link" title="cancel the jobs that run this stage">(kill)</button></form>"#,
        esc(&ctx.base),
        id = stage.0
    )
}

pub(crate) const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#222;font-size:14px}\
nav{background:#2b3a4a;padding:8px 16px;display:flex;gap:18px;align-items:center}\
nav a{color:#fff;text-decoration:none}nav a.current{font-weight:bold;text-decoration:underline}\
nav .brand{color:#f39c4a;font-weight:bold;font-size:18px}nav .app{color:#cdd;margin-left:auto}\
main{padding:8px 16px}h1{font-size:22px}h2{font-size:17px;margin-top:22px}\
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}\
th{background:#eef1f4}td.num{text-align:right}.error{color:#a33;white-space:pre-wrap;max-width:60em}\
.bar{position:relative;width:180px;height:16px;background:#eee;border:1px solid #bbb;border-radius:3px}\
.bar .done{position:absolute;left:0;top:0;bottom:0;background:#8bc58b}\
.bar .running{position:absolute;top:0;bottom:0;background:#b6d8f2}\
.bar span{position:absolute;width:100%;text-align:center;font-size:11px;line-height:16px}\
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:bold}\
svg.dag a:hover rect{stroke-width:3}nav .live-status{color:#8c8;font-size:11px}\
details.error summary{cursor:pointer}pre.backtrace{font-size:12px;background:#f8f4f4;padding:6px;overflow-x:auto}\
.pager{margin:6px 0}.pager a{margin-left:8px}th a.sort{color:inherit;text-decoration:none}\
form.kill{display:inline}button.kill-link{background:none;border:none;padding:0;font:inherit;color:#a33;cursor:pointer;text-decoration:underline}";

/// A whole page: navigation, title, `body`.
pub fn layout(state: &AppState, ctx: &PageContext, tab: &str, title: &str, body: &str) -> String {
    let (live_attrs, script) = if ctx.live {
        let attrs = format!(
            r#" data-api="/api/v1/applications/{}" data-updated="{}" data-poll="{LIVE_POLL_MILLIS}""#,
            esc(&state.app.id),
            state.app.last_event.0
        );
        (attrs, format!(r#"<script>{LIVE_SCRIPT}</script>"#))
    } else {
        (String::new(), String::new())
    };
    let status = if ctx.live { r#"<span id="live-status" class="live-status">live</span>"# } else { "" };
    let mut nav = String::new();
    for (name, path) in [
        ("Jobs", "jobs"),
        ("Stages", "stages"),
        ("Storage", "storage"),
        ("Environment", "environment"),
        ("Executors", "executors"),
    ] {
        let current = if name == tab { r#" class="current""# } else { "" };
        let _ = write!(nav, r#"<a href="{}/{path}/"{current}>{name}</a>"#, esc(&ctx.base));
    }
    let home = if ctx.live { String::new() } else { r#"<a href="/">All applications</a>"#.to_string() };
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>{app} — {title}</title><style>{STYLE}{CHART_STYLE}</style></head><body{live_attrs}><nav><span class="brand">Ember</span>{nav}{home}<span class="app">{app} ({id})</span>{status}</nav><main><h1>{title}</h1>{body}</main>{script}</body></html>"#,
        app = esc(&state.app.name),
        id = esc(&state.app.id),
        title = esc(title),
    )
}

/// A table with a caption-less header row; cells are HTML already.
pub fn table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = String::from("<table><thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    let mut any = false;
    for row in rows {
        any = true;
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    if !any {
        let _ = write!(out, r#"<tr><td colspan="{}">none</td></tr>"#, headers.len());
    }
    out.push_str("</tbody></table>");
    out
}

/// Spark's task progress bar: "done/total (n running)" over a green fill.
pub fn progress_bar(done: usize, running: usize, total: usize, extra: &str) -> String {
    let pct = |n: usize| if total == 0 { 0.0 } else { 100.0 * n.min(total) as f64 / total as f64 };
    let running_text = if running > 0 { format!(" ({running} running)") } else { String::new() };
    format!(
        r#"<div class="bar"><div class="done" style="width:{:.1}%"></div><div class="running" style="left:{:.1}%;width:{:.1}%"></div><span>{done}/{total}{running_text}{}</span></div>"#,
        pct(done),
        pct(done),
        pct(running).min(100.0 - pct(done)),
        esc(extra),
    )
}

/// A duration cell from `start` to `end`, or to now while it runs.
pub fn duration_between(start: Option<UnixMillis>, end: Option<UnixMillis>, now: UnixMillis) -> String {
    match start {
        Some(s) => duration_ms(end.unwrap_or(now).since(s) as f64),
        None => String::new(),
    }
}

pub fn date_cell(t: Option<UnixMillis>) -> String {
    t.map(page_date).unwrap_or_default()
}

/// Bytes, or nothing for zero (as Spark's tables leave empty cells).
pub fn bytes_cell(n: u64) -> String {
    if n == 0 { String::new() } else { bytes(n) }
}

/// Bytes and records, as Spark's "Input Size / Records" cells show them, or
/// nothing when no record was read (bytes alone when only they are known).
pub fn size_records_cell(bytes: u64, records: u64) -> String {
    match (bytes, records) {
        (0, 0) => String::new(),
        (_, 0) => super::format::bytes(bytes),
        _ => format!("{} / {records}", super::format::bytes(bytes)),
    }
}

/// A definition list of (term, HTML value).
pub fn details(items: &[(&str, String)]) -> String {
    let mut out = String::from("<dl>");
    for (k, v) in items {
        let _ = write!(out, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    }
    out.push_str("</dl>");
    out
}

/// A page for a missing thing (a job id that does not exist, …).
pub fn not_found(state: &AppState, ctx: &PageContext, what: &str) -> String {
    layout(state, ctx, "", "Not found", &format!("<p>{}</p>", esc(what)))
}

#[cfg(test)]
mod tests;

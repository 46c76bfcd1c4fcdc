//! What a [`JobFuture`] or [`JobHandle`] shows: its jobs and status, with a
//! progress bar while it runs (a snapshot: evaluate it again to see it
//! move).

use super::{RichDisplay, escape_html, short_type_name, text_bar};
use crate::ids::JobId;
use crate::job_future::{JobFuture, JobHandle, JobStatus, jobs_words};

/// Cells of the plain progress bar.
const BAR_WIDTH: usize = 20;

/// `<JobFuture job 3: running 5 of 8 tasks> [############........] 62%`,
/// and in HTML the same words with a `<progress>` bar (a colored word for
/// an outcome). `what` names the type (`JobFuture<u64>`, `JobHandle`).
pub(crate) fn render_job(what: &str, jobs: &[JobId], status: &JobStatus) -> RichDisplay {
    let jobs_words = jobs_words(jobs);
    // The `Display` of a JobFuture, from the same snapshot as the rest.
    let plain_line = format!("<JobFuture{jobs_words}: {status}>");
    let (plain, status_html) = match status {
        JobStatus::Running { tasks_done, tasks_total } => {
            let percent = (tasks_done * 100).checked_div(*tasks_total).unwrap_or(0);
            (
                format!("{plain_line} {} {percent}%", text_bar(*tasks_done, *tasks_total, BAR_WIDTH)),
                format!(
                    "running {tasks_done} of {tasks_total} tasks \
                     <progress value=\"{tasks_done}\" max=\"{tasks_total}\" style=\"vertical-align:middle\">\
                     {percent}%</progress>"
                ),
            )
        }
        JobStatus::Pending => (plain_line, "<span style=\"color:#777\">pending</span>".to_string()),
        JobStatus::Finished => (plain_line, "<span style=\"color:#2a7d2a\">finished</span>".to_string()),
        JobStatus::Cancelled => (plain_line, "<span style=\"color:#a66a00\">cancelled</span>".to_string()),
        JobStatus::Failed(why) => {
            (plain_line, format!("<span style=\"color:#b00020\">failed</span>: {}", escape_html(why)))
        }
    };
    let html = format!(
        "<div class=\"ember-job\"><b>{}</b>{}: {status_html}</div>",
        escape_html(what),
        escape_html(&jobs_words)
    );
    RichDisplay::new(plain, html)
}

impl JobHandle {
    /// What this handle shows in a notebook: its jobs and status, with a
    /// progress bar while running; never blocks.
    pub fn rich_display(&self) -> RichDisplay {
        let (jobs, status) = self.snapshot();
        render_job("JobHandle", &jobs, &status)
    }

    /// Shows this handle in evcxr (Jupyter, REPL): see [`crate::display`].
    pub fn evcxr_display(&self) {
        self.rich_display().print_for_evcxr();
    }
}

impl<T> JobFuture<T> {
    /// What this future shows in a notebook: its jobs and status, with a
    /// progress bar while running; never blocks, takes no result.
    pub fn rich_display(&self) -> RichDisplay {
        let handle = self.handle();
        let (jobs, status) = handle.snapshot();
        let what = format!("JobFuture<{}>", short_type_name(std::any::type_name::<T>()));
        render_job(&what, &jobs, &status)
    }

    /// Shows this future in evcxr (Jupyter, REPL): see [`crate::display`].
    pub fn evcxr_display(&self) {
        self.rich_display().print_for_evcxr();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_job_shows_a_progress_bar() {
        let status = JobStatus::Running { tasks_done: 5, tasks_total: 8 };
        let rich = render_job("JobFuture<u64>", &[JobId(3)], &status);
        assert_eq!(rich.plain, "<JobFuture job 3: running 5 of 8 tasks> [############........] 62%");
        assert_eq!(
            rich.html,
            "<div class=\"ember-job\"><b>JobFuture&lt;u64&gt;</b> job 3: running 5 of 8 tasks \
             <progress value=\"5\" max=\"8\" style=\"vertical-align:middle\">62%</progress></div>"
        );
    }

    #[test]
    fn outcomes_show_without_a_bar() {
        let pending = render_job("JobHandle", &[], &JobStatus::Pending);
        assert_eq!(pending.plain, "<JobFuture: pending>");
        assert!(pending.html.contains("<b>JobHandle</b>: <span"), "{}", pending.html);
        let finished = render_job("JobHandle", &[JobId(1), JobId(2)], &JobStatus::Finished);
        assert!(finished.html.contains("jobs 1, 2: <span style=\"color:#2a7d2a\">finished</span>"));
        assert!(!finished.html.contains("<progress"));
        let cancelled = render_job("JobHandle", &[JobId(1)], &JobStatus::Cancelled);
        assert!(cancelled.html.contains(">cancelled</span>"));
        let failed = JobStatus::Failed("task failed: <script>x</script>".into());
        let failed = render_job("JobHandle", &[JobId(1)], &failed);
        assert!(failed.html.ends_with("failed</span>: task failed: &lt;script&gt;x&lt;/script&gt;</div>"));
    }
}

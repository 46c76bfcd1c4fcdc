//! Notebook displays of ember-ml's results: the last expression of an
//! evcxr cell (Jupyter or the REPL) that is a model or a factorization
//! shows a short summary instead of its `Debug` (which, for a model with
//! thousands of weights, is thousands of numbers).
//!
//! | value | shows |
//! |---|---|
//! | [`KMeansModel`] | k, dimensions, cost, iterations, init time, the centers as a table |
//! | [`LogisticModel`] | features, intercept, the weights as a table |
//! | [`Fit`] | how the fit ended (iterations, passes, objective, ‖∇f‖, why it stopped), then its model |
//! | [`Factorization`] | the method, R's shape, Q's RDD, diag(R) and the condition bound it gives |
//! | [`Svd`] | shapes and the singular values |
//! | [`LeastSquares`] | the residual norm and the solution |
//!
//! The protocol and the parts (`RichDisplay`, `Table`) are `ember::display`'s:
//! each type has `rich_display()` (plain text and HTML, as strings) and
//! `evcxr_display()`, which prints them for evcxr. Numbers are rounded for
//! reading ([`format_f64`]); the values themselves are the fields. Tables
//! show at most [`MATRIX_ROWS`] rows and [`MATRIX_COLS`] columns.

use crate::block::Block;
use crate::kmeans::KMeansModel;
use crate::logreg::{Fit, LogisticModel};
use crate::qr::{Factorization, LeastSquares, Method, Svd};
use ember::Rdd;
use ember::display::{DEFAULT_ROWS, Hidden, RichDisplay, Table, escape_html, format_f64};
use ndarray::{Array2, ArrayView1};

/// Rows of a matrix shown (centers, weights).
pub const MATRIX_ROWS: usize = DEFAULT_ROWS;
/// Columns of a matrix shown; more end with a `…` column.
pub const MATRIX_COLS: usize = 8;
/// Entries of a vector shown inline (diag(R), singular values).
pub const VECTOR_ENTRIES: usize = 10;

/// A summary: a title, `(label, value)` lines, and optionally a table below.
struct Summary {
    title: String,
    lines: Vec<(&'static str, String)>,
    table: Option<Table>,
}

impl Summary {
    fn render(&self) -> RichDisplay {
        let mut plain = self.title.clone();
        for (label, value) in &self.lines {
            plain.push_str(&format!("\n  {label}: {value}"));
        }
        let rows: String = self
            .lines
            .iter()
            .map(|(label, value)| {
                format!("<tr><th style=\"text-align:left\">{label}</th><td>{}</td></tr>", escape_html(value))
            })
            .collect();
        let mut html = format!("<div class=\"ember-ml\"><b>{}</b><table>{rows}</table>", escape_html(&self.title));
        if let Some(table) = &self.table {
            plain.push('\n');
            plain.push_str(&table.to_plain());
            html.push_str(&table.to_html());
        }
        html.push_str("</div>");
        RichDisplay::new(plain, html)
    }
}

/// The first [`MATRIX_ROWS`] × [`MATRIX_COLS`] of `m`, rows labeled by
/// `row_label` and their index.
fn matrix_table(m: &Array2<f64>, row_label: &str) -> Table {
    let (rows, cols) = m.dim();
    let shown_cols = cols.min(MATRIX_COLS);
    let mut columns = vec![row_label.to_string()];
    columns.extend((0..shown_cols).map(|j| j.to_string()));
    if cols > shown_cols {
        columns.push(format!("… {} more", cols - shown_cols));
    }
    let body = (0..rows.min(MATRIX_ROWS))
        .map(|i| {
            let mut row = vec![i.to_string()];
            row.extend((0..shown_cols).map(|j| format_f64(m[(i, j)])));
            if cols > shown_cols {
                row.push("…".into());
            }
            row
        })
        .collect();
    let hidden = if rows > MATRIX_ROWS { Hidden::Exactly((rows - MATRIX_ROWS) as u64) } else { Hidden::None };
    Table::new(columns, body).with_hidden(hidden)
}

/// `[1.5, 0.25, …]` with at most [`VECTOR_ENTRIES`] entries and how many more.
fn vector_words(v: ArrayView1<'_, f64>) -> String {
    let shown: Vec<String> = v.iter().take(VECTOR_ENTRIES).map(|x| format_f64(*x)).collect();
    let more = v.len().saturating_sub(VECTOR_ENTRIES);
    if more == 0 { format!("[{}]", shown.join(", ")) } else { format!("[{}, … {more} more]", shown.join(", ")) }
}

/// `Rdd [7] of blocks, 4 partitions, cached`.
fn rdd_words(rdd: &Rdd<Block>) -> String {
    let kept = if rdd.storage_level().is_cached() { "cached" } else { "not persisted" };
    format!("Rdd [{}] of blocks, {} partitions, {kept}", rdd.id().0, rdd.num_partitions())
}

fn seconds(s: f64) -> String {
    format!("{} s", format_f64(s))
}

impl KMeansModel {
    /// k, dimensions, cost, iterations and the centers, for a notebook.
    pub fn rich_display(&self) -> RichDisplay {
        let (k, d) = self.centers.dim();
        Summary {
            title: format!("KMeansModel: k = {k}, {d} dimensions"),
            lines: vec![
                ("cost (sum of squared distances)", format_f64(self.cost)),
                ("Lloyd iterations", self.iterations.to_string()),
                ("initialization", seconds(self.init_seconds)),
            ],
            table: Some(matrix_table(&self.centers, "center")),
        }
        .render()
    }

    /// Shows the model in evcxr (Jupyter, REPL): see `ember::display`.
    pub fn evcxr_display(&self) {
        self.rich_display().print_for_evcxr();
    }
}

impl LogisticModel {
    fn summary(&self) -> Summary {
        let weights = Array2::from_shape_fn((self.weights.len(), 1), |(i, _)| self.weights[i]);
        let mut table = matrix_table(&weights, "feature");
        // One column of weights: name it.
        let columns = vec!["feature".to_string(), "weight".to_string()];
        table = Table::new(columns, table.rows().to_vec()).with_hidden(table.hidden());
        Summary {
            title: format!("LogisticModel: {} features", self.weights.len()),
            lines: vec![("intercept", format_f64(self.intercept))],
            table: Some(table),
        }
    }

    /// The intercept and the weights, for a notebook.
    pub fn rich_display(&self) -> RichDisplay {
        self.summary().render()
    }

    /// Shows the model in evcxr (Jupyter, REPL): see `ember::display`.
    pub fn evcxr_display(&self) {
        self.rich_display().print_for_evcxr();
    }
}

impl Fit {
    /// How the fit went, then the model, for a notebook.
    pub fn rich_display(&self) -> RichDisplay {
        let mut summary = self.model.summary();
        summary.title = format!("Fit: {}", summary.title);
        let mut lines =
            vec![("iterations", self.iterations.to_string()), ("passes over the data", self.passes.to_string())];
        if let Some(objective) = self.objective {
            lines.push(("objective (mean log-loss + penalty)", format_f64(objective)));
        }
        lines.push(("gradient norm", format_f64(self.gradient_norm)));
        lines.push(("stopped by", format!("{:?}", self.termination)));
        lines.append(&mut summary.lines);
        summary.lines = lines;
        summary.render()
    }

    /// Shows the fit in evcxr (Jupyter, REPL): see `ember::display`.
    pub fn evcxr_display(&self) {
        self.rich_display().print_for_evcxr();
    }
}

impl Factorization {
    /// The method, R's shape, Q's RDD and diag(R), for a notebook.
    pub fn rich_display(&self) -> RichDisplay {
        let (rows, cols) = self.r.dim();
        let mut lines = vec![("method", self.method.name().to_string())];
        lines.push(match &self.q {
            Some(q) => ("Q", rdd_words(q)),
            None => ("Q", "not computed (tsqr computes R only)".into()),
        });
        if self.method == Method::Svd {
            lines.push(("R", format!("{rows} × {cols}, Σ Vᵀ (Q is U)")));
        } else {
            lines.push(("R", format!("{rows} × {cols}, upper triangular")));
            let diag = self.r.diag();
            lines.push(("diag(R)", vector_words(diag)));
            let (smallest, largest) =
                diag.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), x| (lo.min(x.abs()), hi.max(x.abs())));
            if smallest > 0.0 && smallest.is_finite() {
                lines.push(("condition number ≥", format_f64(largest / smallest)));
            }
        }
        Summary { title: format!("Factorization A = QR ({})", self.method.name()), lines, table: None }.render()
    }

    /// Shows the factorization in evcxr (Jupyter, REPL): see `ember::display`.
    pub fn evcxr_display(&self) {
        self.rich_display().print_for_evcxr();
    }
}

impl Svd {
    /// Shapes and singular values, for a notebook.
    pub fn rich_display(&self) -> RichDisplay {
        let n = self.s.len();
        let mut lines = vec![
            ("U", rdd_words(&self.u)),
            ("singular values", vector_words(self.s.view())),
            ("V", format!("{} × {}", self.v.nrows(), self.v.ncols())),
        ];
        if let (Some(first), Some(last)) = (self.s.first(), self.s.last())
            && *last > 0.0
        {
            lines.push(("condition number", format_f64(first / last)));
        }
        Summary { title: format!("Svd A = U diag(s) Vᵀ, rank {n}"), lines, table: None }.render()
    }

    /// Shows the decomposition in evcxr (Jupyter, REPL): see `ember::display`.
    pub fn evcxr_display(&self) {
        self.rich_display().print_for_evcxr();
    }
}

impl LeastSquares {
    /// The residual norm and the solution, for a notebook.
    pub fn rich_display(&self) -> RichDisplay {
        Summary {
            title: format!("LeastSquares: {} unknowns", self.x.len()),
            lines: vec![("residual ‖Ax − b‖₂", format_f64(self.residual_norm)), ("x", vector_words(self.x.view()))],
            table: None,
        }
        .render()
    }

    /// Shows the solution in evcxr (Jupyter, REPL): see `ember::display`.
    pub fn evcxr_display(&self) {
        self.rich_display().print_for_evcxr();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logreg::Termination;
    use ember::prelude::*;
    use ndarray::{Array1, array};

    #[test]
    fn a_kmeans_model_shows_its_centers() {
        let model =
            KMeansModel { centers: array![[1.0, 2.5], [-3.0, 0.125]], cost: 12.5, iterations: 7, init_seconds: 0.25 };
        let rich = model.rich_display();
        assert_eq!(
            rich.plain,
            "KMeansModel: k = 2, 2 dimensions\n  cost (sum of squared distances): 12.5\n  Lloyd iterations: 7\n  \
             initialization: 0.25 s\n\
             +------+--+-----+\n\
             |center|0 |1    |\n\
             +------+--+-----+\n\
             |0     |1 |2.5  |\n\
             |1     |-3|0.125|\n\
             +------+--+-----+"
        );
        assert!(rich.html.starts_with("<div class=\"ember-ml\"><b>KMeansModel: k = 2, 2 dimensions</b><table>"));
        assert!(rich.html.contains("<th>center</th><th>0</th><th>1</th>"), "{}", rich.html);
        assert!(rich.html.ends_with("</tbody></table></div>"));
    }

    #[test]
    fn wide_and_tall_matrices_are_cut() {
        let m = Array2::from_shape_fn((30, 12), |(i, j)| (i * 12 + j) as f64);
        let table = matrix_table(&m, "center");
        assert_eq!(table.columns().len(), 1 + MATRIX_COLS + 1);
        assert_eq!(table.columns().last().unwrap(), "… 4 more");
        assert_eq!(table.rows().len(), MATRIX_ROWS);
        assert_eq!(table.hidden(), Hidden::Exactly(10));
    }

    #[test]
    fn a_logistic_fit_shows_how_it_ended_and_its_weights() {
        let model = LogisticModel::new(vec![0.5, -1.25], 0.75);
        let fit = Fit {
            model: model.clone(),
            iterations: 12,
            passes: 15,
            objective: Some(0.3125),
            gradient_norm: 1e-7,
            termination: Termination::GradientTolerance,
        };
        let plain = fit.rich_display().plain;
        assert!(
            plain.starts_with(
                "Fit: LogisticModel: 2 features\n  iterations: 12\n  passes over the data: 15\n  \
                 objective (mean log-loss + penalty): 0.3125\n  gradient norm: 1.0000e-7\n  \
                 stopped by: GradientTolerance\n  intercept: 0.75\n+-------+------+\n|feature|weight|"
            ),
            "{plain}"
        );
        assert!(plain.ends_with("|1      |-1.25 |\n+-------+------+"), "{plain}");
        let no_objective = Fit { objective: None, ..fit };
        assert!(!no_objective.rich_display().plain.contains("objective"));
        assert!(model.rich_display().html.contains("<th>feature</th><th>weight</th>"));
    }

    #[test]
    fn a_factorization_shows_its_method_and_r() {
        let r = array![[2.0, 1.0, 0.5], [0.0, 0.5, 0.25], [0.0, 0.0, 0.001]];
        let f = Factorization { method: Method::Tsqr, q: None, r: r.clone() };
        assert_eq!(
            f.rich_display().plain,
            "Factorization A = QR (tsqr)\n  method: tsqr\n  Q: not computed (tsqr computes R only)\n  \
             R: 3 × 3, upper triangular\n  diag(R): [2, 0.5, 0.001]\n  condition number ≥: 2000"
        );

        // With Q an RDD (no job runs: it is only described).
        let ctx = Context::new(Conf::new().master("local[1]").set("ember.ui.enabled", "false")).unwrap();
        let q = ctx.parallelize(vec![Block::zeros((4, 3))], 2).cache();
        let f = Factorization { method: Method::Svd, q: Some(q.clone()), r };
        let plain = f.rich_display().plain;
        assert!(plain.contains(&format!("Q: Rdd [{}] of blocks, 2 partitions, cached", q.id().0)), "{plain}");
        assert!(plain.ends_with("R: 3 × 3, Σ Vᵀ (Q is U)"), "{plain}");
        let svd = Svd { u: q.clone(), s: array![4.0, 2.0, 0.5], v: Array2::eye(3) };
        let plain = svd.rich_display().plain;
        assert!(plain.starts_with("Svd A = U diag(s) Vᵀ, rank 3\n"), "{plain}");
        q.unpersist();
        assert!(svd.rich_display().plain.contains("2 partitions, not persisted"));
        assert!(plain.contains("singular values: [4, 2, 0.5]") && plain.ends_with("condition number: 8"), "{plain}");
    }

    #[test]
    fn least_squares_shows_its_residual_and_solution() {
        let x = Array1::from_iter((0..12).map(f64::from));
        let rich = LeastSquares { x, residual_norm: 0.5 }.rich_display();
        assert_eq!(
            rich.plain,
            "LeastSquares: 12 unknowns\n  residual ‖Ax − b‖₂: 0.5\n  x: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … 2 more]"
        );
        assert!(rich.html.contains("<th style=\"text-align:left\">x</th><td>[0, 1, 2"));
    }
}

//! Writes a report as a result directory: `results.json`, one CSV per table, an SVG and a PNG per
//! figure. Everything is written into a hidden temporary directory next to the destination and
//! renamed into place at the end, so a failed or interrupted run never leaves a half-written
//! result directory.

use crate::plot;
use dmimo::experiments::Report;
use dmimo::report::Table;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `report` to `<out>/<experiment id>/`, replacing an earlier result of the same id.
pub fn write(report: &Report, out: &Path) -> Result<PathBuf, String> {
    fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let dest = out.join(&report.experiment);
    let tmp = out.join(format!(
        ".{}.partial-{}",
        report.experiment,
        std::process::id()
    ));
    let result = write_into(report, &tmp).and_then(|_| {
        replace_dir(&tmp, &dest)
            .map_err(|e| format!("cannot move results into {}: {e}", dest.display()))
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result.map(|_| dest)
}

fn write_into(report: &Report, dir: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(report).expect("reports serialize");
    write_file(&dir.join("results.json"), json.as_bytes())?;
    for t in &report.tables {
        write_file(&dir.join(format!("{}.csv", t.name)), csv(t).as_bytes())?;
    }
    for f in &report.figures {
        plot::render(
            f,
            &dir.join(format!("{}.svg", f.name)),
            &dir.join(format!("{}.png", f.name)),
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), String> {
    fs::File::create(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Moves `tmp` to `dest`, replacing an existing `dest` (moved aside first, removed after).
fn replace_dir(tmp: &Path, dest: &Path) -> io::Result<()> {
    if dest.exists() {
        let old = dest.with_file_name(format!(
            ".{}.old-{}",
            dest.file_name().unwrap().to_string_lossy(),
            std::process::id()
        ));
        fs::rename(dest, &old)?;
        fs::rename(tmp, dest)?;
        fs::remove_dir_all(old)
    } else {
        fs::rename(tmp, dest)
    }
}

/// A table as CSV: header, then rows; numbers in Rust's shortest round-trip form.
pub fn csv(t: &Table) -> String {
    let mut s = t.columns.join(",");
    s.push('\n');
    for row in &t.rows {
        debug_assert_eq!(row.len(), t.columns.len(), "table {}: row length", t.name);
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{v}");
        }
        s.push('\n');
    }
    s
}

/// The per-target summary printed after a run.
pub fn summary(report: &Report, dir: &Path) -> String {
    let mut s = format!(
        "{}  ({:.1} s{})  → {}\n",
        report.experiment,
        report.elapsed_s,
        if report.quick { ", quick" } else { "" },
        dir.display()
    );
    let w = report
        .targets
        .iter()
        .map(|t| t.metric.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        s,
        "  {:<w$}  {:>10}  {:>10}  {:>8}  result",
        "metric", "paper", "measured", "tol"
    );
    for t in &report.targets {
        let _ = writeln!(
            s,
            "  {:<w$}  {:>10}  {:>10}  {:>8}  {}",
            t.metric,
            num(t.paper),
            num(t.measured),
            num(t.tolerance),
            if t.pass { "pass" } else { "FAIL" }
        );
    }
    s
}

fn num(x: f64) -> String {
    if !x.is_finite() {
        return "—".into();
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e5).contains(&a) {
        format!("{x:.3e}")
    } else {
        format!("{x:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_header_and_rows() {
        let t = Table {
            name: "x".into(),
            columns: vec!["a_db".into(), "b_hz".into()],
            rows: vec![vec![1.0, 2.5], vec![-3.0, f64::NAN]],
        };
        assert_eq!(csv(&t), "a_db,b_hz\n1,2.5\n-3,NaN\n");
    }
}

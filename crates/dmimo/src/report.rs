//! What an experiment hands to the report stage: metrics, targets, tables (CSV) and figures.
//!
//! These are plain data; the CLI renders them (`results.json`, one CSV per [`Table`], an SVG and a
//! PNG per [`Figure`]). Nothing here does I/O.

use serde::Serialize;
use std::collections::BTreeMap;

/// One CSV file: a header of column names carrying units (`"snr_db"`, `"sum_rate_bps_per_hz"`) and
/// rows of numbers, all of the same length as `columns`.
#[derive(Clone, Debug, Serialize)]
pub struct Table {
    /// File stem: the CSV is written as `<name>.csv`.
    pub name: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

/// Where the points of a [`Line`] come from; the renderer draws the two kinds differently
/// (dmimo: solid lines; the source's published values: hollow markers, dashed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Measured by dmimo.
    Measured,
    /// A closed form or theoretical curve computed by dmimo (drawn dashed).
    Theory,
    /// Values published by the source (drawn as markers).
    Paper,
}

/// How a line is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    Line,
    Markers,
    LineMarkers,
    /// A staircase, for empirical CDFs.
    Step,
}

/// Axis scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    #[default]
    Linear,
    Log10,
}

#[derive(Clone, Debug, Serialize)]
pub struct Line {
    /// Legend entry.
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub origin: Origin,
    pub style: Style,
}

/// One plot: axes labelled with units, any number of lines.
#[derive(Clone, Debug, Serialize)]
pub struct Figure {
    /// File stem: written as `<name>.svg` and `<name>.png`.
    pub name: String,
    pub title: String,
    /// Axis labels, with units: `"time (µs)"`, `"leakage (dB)"`.
    pub x_label: String,
    pub y_label: String,
    pub x_scale: Scale,
    pub y_scale: Scale,
    /// Fixed axis ranges; `None` fits the data with a small margin.
    pub x_range: Option<(f64, f64)>,
    pub y_range: Option<(f64, f64)>,
    pub lines: Vec<Line>,
}

impl Figure {
    pub fn new(name: &str, title: &str, x_label: &str, y_label: &str) -> Self {
        Figure {
            name: name.into(),
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            x_range: None,
            y_range: None,
            lines: Vec::new(),
        }
    }

    pub fn line(
        mut self,
        label: &str,
        origin: Origin,
        style: Style,
        points: Vec<(f64, f64)>,
    ) -> Self {
        self.lines.push(Line {
            label: label.into(),
            points,
            origin,
            style,
        });
        self
    }

    pub fn x_range(mut self, lo: f64, hi: f64) -> Self {
        self.x_range = Some((lo, hi));
        self
    }

    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }
}

/// Metrics by name (sorted, so `results.json` is stable).
pub type Metrics = BTreeMap<String, f64>;

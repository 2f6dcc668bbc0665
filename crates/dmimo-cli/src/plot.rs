//! Renders a [`Figure`] to an SVG and a PNG.
//!
//! The figure is drawn once, with plotters' SVG backend, into a string; that string is the `.svg`
//! and is rasterized by resvg into the `.png`, so the two files show the same picture. resvg does
//! the text properly (shaping, kerning, side bearings, anti-aliasing), which plotters' own
//! bitmap text renderer does not, and it is given only the embedded DejaVu Sans, so the PNG never
//! depends on the fonts installed on the machine.
//!
//! The layout (tick positions and labels, margins, legend corner, clipped polylines) is computed
//! before drawing, with text widths measured by plotters from the same embedded font. All text is
//! placed by this module rather than by plotters' mesh and legend code, with an explicit baseline.
//!
//! Conventions: [`Origin::Measured`] lines are solid in a palette colour, [`Origin::Theory`] lines
//! are dashed in a palette colour, [`Origin::Paper`] values are hollow dark markers (one shape per
//! paper line) with a thin dashed connection unless the style is [`Style::Markers`]. They are
//! drawn last, so the published values sit on top of ours.
//!
//! Log axes are drawn in log10 units internally (a custom plotters [`Ranged`] axis), which gives
//! full control over ticks: decades (`10⁻³`, or plain `0.01` … `1000`), `1-2-5` or `1…9`
//! mantissas for short ranges, and minor grid lines.

use dmimo::report::{Figure, Line, Origin, Scale, Style};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, KeyPointWeight, Ranged};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use resvg::{tiny_skia, usvg, usvg::fontdb};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Size of both outputs, in pixels (SVG user units).
pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 600;

/// The font every text is drawn with, embedded so that plots never depend on system fonts.
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
const FONT_NAME: &str = "DejaVu Sans";
/// The SVG `font-family`: plotters writes the family name verbatim, so this doubles as a CSS
/// fallback list for SVG viewers without DejaVu Sans. It is also the name the font is registered
/// under with plotters, for measuring.
const FAMILY: &str = "DejaVu Sans, sans-serif";

// Metrics of DejaVu Sans (2048 units per em); `text_lands_where_measured` checks them.
/// Cap height (top of "H") and descender depth, in em.
const CAP: f64 = 1493.0 / 2048.0;
const DESCENDER: f64 = 483.0 / 2048.0;
/// plotters measures with ab_glyph, which takes a size meaning ascent − descent (1901 + 483
/// units), not the em; its SVG backend in turn writes `font-size` = size / 1.24.
const MEASURE_PER_EM: f64 = 2384.0 / 2048.0;
const SVG_PER_EM: f64 = 1.24;

// Font sizes in pixels per em (the CSS font-size).
const TITLE_SIZE: f64 = 20.0;
const DESC_SIZE: f64 = 18.0;
const TICK_SIZE: f64 = 15.0;
const LEGEND_SIZE: f64 = 14.5;
const MIN_TEXT_SIZE: f64 = 11.0;

// Layout, in pixels.
const MARGIN: f64 = 10.0;
const MARGIN_RIGHT: f64 = 28.0;
const TICK_MARK: i32 = 5;
/// From the frame to the tick labels.
const TICK_GAP: f64 = 10.0;
/// From the tick labels to the axis description.
const DESC_GAP: f64 = 12.0;
const LEGEND_SAMPLE: i32 = 34;
const LEGEND_PAD: f64 = 8.0;
const MAX_TICKS: usize = 9;

/// Distinguishable line colours (Tableau 10), used in order by measured and theory lines.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// Colour of the published ("paper") values.
const PAPER_COLOR: RGBColor = RGBColor(20, 20, 20);
/// Marker shapes of the paper lines, in order.
const PAPER_SHAPES: [Shape; 7] = [
    Shape::Square,
    Shape::Cross,
    Shape::Triangle,
    Shape::Diamond,
    Shape::Circle,
    Shape::Plus,
    Shape::TriangleDown,
];

/// Rendering failed: the file it was writing and what went wrong.
#[derive(Debug, thiserror::Error)]
#[error("cannot render plot {}: {message}", path.display())]
pub struct PlotError {
    pub path: PathBuf,
    pub message: String,
}

/// Draws `fig` to `svg_path` and `png_path` (both [`WIDTH`]×[`HEIGHT`]). The parent directories
/// must exist. Non-finite points (and non-positive ones on a log axis) are skipped.
pub fn render(fig: &Figure, svg_path: &Path, png_path: &Path) -> Result<(), PlotError> {
    let fail = |path: &Path, message: String| PlotError {
        path: path.to_path_buf(),
        message,
    };
    let fonts = fonts().map_err(|m| fail(svg_path, m.into()))?;
    let svg = draw_svg(&Plan::new(fig)).map_err(|m| fail(svg_path, m))?;
    std::fs::write(svg_path, &svg).map_err(|e| fail(svg_path, e.to_string()))?;
    let png = rasterize(&svg, fonts).map_err(|m| fail(png_path, m))?;
    std::fs::write(png_path, png).map_err(|e| fail(png_path, e.to_string()))
}

/// Draws the figure with plotters' SVG backend into a string.
fn draw_svg(plan: &Plan) -> Result<String, String> {
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
    draw(&root, plan)
        .and_then(|()| root.present())
        .map_err(|e| e.to_string())?;
    drop(root);
    Ok(svg)
}

/// Rasterizes the SVG with resvg into PNG bytes.
fn rasterize(svg: &str, fontdb: Arc<fontdb::Database>) -> Result<Vec<u8>, String> {
    let options = usvg::Options {
        font_family: FONT_NAME.into(),
        fontdb,
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| e.to_string())?;
    let mut pixmap = tiny_skia::Pixmap::new(WIDTH, HEIGHT).ok_or("cannot allocate the image")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    // plotters puts 1 px strokes on integer coordinates, i.e. on pixel edges; half a pixel down
    // and right centres them on pixels (as plotters' bitmap backend does), so they stay sharp.
    let shift = tiny_skia::Transform::from_translate(0.5, 0.5);
    resvg::render(&tree, shift, &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| e.to_string())
}

/// Registers the embedded font with plotters, for measuring text (once per process), and returns
/// the font database resvg draws text from: that font alone, also as the generic sans-serif.
fn fonts() -> Result<Arc<fontdb::Database>, &'static str> {
    static FONTS: OnceLock<Option<Arc<fontdb::Database>>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).ok()?;
            let mut db = fontdb::Database::new();
            db.load_font_data(DEJAVU_SANS.to_vec());
            db.set_sans_serif_family(FONT_NAME);
            (db.len() == 1).then(|| Arc::new(db))
        })
        .clone()
        .ok_or("the embedded DejaVu Sans font could not be loaded")
}

// ---------------------------------------------------------------------------------------------
// Text

/// Advance width of `text` at `size` px/em, as plotters measures it: within half a pixel of what
/// resvg draws (plotters rounds down to whole pixels, hence the half pixel added).
fn text_width(text: &str, size: f64) -> f64 {
    let font = FontDesc::new(
        FontFamily::Name(FAMILY),
        size * MEASURE_PER_EM,
        FontStyle::Normal,
    );
    font.box_size(text).map_or(0.0, |(w, _)| f64::from(w) + 0.5)
}

/// The largest size ≤ `size` (down to [`MIN_TEXT_SIZE`]) at which `text` fits in `max_width`.
fn fit(text: &str, size: f64, max_width: f64) -> f64 {
    let mut s = size;
    while s > MIN_TEXT_SIZE && text_width(text, s) > max_width {
        s -= 0.5;
    }
    s
}

/// Height of a line of text at `size` px/em: cap height plus descender.
fn line_height(size: f64) -> f64 {
    (CAP + DESCENDER) * size
}

/// Where a text sits relative to its anchor point.
#[derive(Clone, Copy, Debug)]
enum VAlign {
    /// Top of the capitals (and digits) at the anchor.
    Top,
    /// Capitals centred on the anchor.
    Middle,
    /// Bottom of the descenders at the anchor.
    Bottom,
}

#[derive(Clone, Copy)]
struct Text {
    size: f64,
    h: HPos,
    v: VAlign,
    /// Reading upwards (a y-axis description).
    rotated: bool,
}

type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// Draws `text` with its anchor at `at` (pixels).
fn put_text(root: &Root, text: &str, spec: Text, at: (f64, f64)) -> DrawResult {
    if text.is_empty() {
        return Ok(());
    }
    let em = spec.size;
    // Baseline offset from the anchor, along the text's "down" direction (screen right when the
    // text reads upwards). plotters writes `dy="0.76em"` for a top anchor, which is taken off.
    let base = match spec.v {
        VAlign::Top => CAP * em,
        VAlign::Middle => CAP * em / 2.0,
        VAlign::Bottom => -DESCENDER * em,
    } - 0.76 * em;
    let (dx, dy, transform) = if spec.rotated {
        (base, 0.0, FontTransform::Rotate270)
    } else {
        (0.0, base, FontTransform::None)
    };
    let style = FontDesc::new(FontFamily::Name(FAMILY), em * SVG_PER_EM, FontStyle::Normal)
        .color(&BLACK)
        .pos(Pos::new(spec.h, VPos::Top))
        .transform(transform);
    let at = ((at.0 + dx).round() as i32, (at.1 + dy).round() as i32);
    root.draw_text(text, &style, at)
}

// ---------------------------------------------------------------------------------------------
// Axes

/// One axis in "axis units": the value itself (linear) or its log10 (log scale). Implements
/// plotters' [`Ranged`] with precomputed ticks and labels.
#[derive(Clone, Debug)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    /// Labelled ticks: position (axis units) and label.
    major: Vec<(f64, String)>,
    /// Unlabelled light grid lines.
    minor: Vec<f64>,
}

impl Axis {
    fn to_unit(&self, v: f64) -> Option<f64> {
        to_unit(v, self.log)
    }

    /// Fraction of the way from `lo` to `hi`.
    fn frac(&self, u: f64) -> f64 {
        (u - self.lo) / (self.hi - self.lo)
    }
}

fn to_unit(v: f64, log: bool) -> Option<f64> {
    let u = if log {
        if v > 0.0 {
            v.log10()
        } else {
            return None;
        }
    } else {
        v
    };
    u.is_finite().then_some(u)
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let p = f64::from(limit.0) + self.frac(*v) * f64::from(limit.1 - limit.0);
        // `as` saturates (and maps NaN to 0); keep far-away points from overflowing later sums.
        p.round().clamp(-1.0e6, 1.0e6) as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let mut points: Vec<f64> = self.major.iter().map(|(p, _)| *p).collect();
        if let KeyPointWeight::Any = hint.weight() {
            points.extend(&self.minor);
        }
        points
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// Axis-unit range: `fixed` where given and valid, else fitted to `values` with a 5% margin.
fn axis_range(values: &[f64], fixed: Option<(f64, f64)>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo.is_finite() && hi.is_finite() {
        let pad = 0.05 * (hi - lo);
        if pad.is_finite() {
            lo -= pad;
            hi += pad;
        }
    } else {
        // No data: 0…1 (1…10 on a log axis).
        (lo, hi) = (0.0, 1.0);
    }
    if let Some((a, b)) = fixed {
        let (a, b) = (to_unit(a.min(b), log), to_unit(a.max(b), log));
        match (a, b) {
            (Some(a), Some(b)) => (lo, hi) = (a, b),
            (Some(a), None) => lo = a,
            (None, Some(b)) => hi = b,
            (None, None) => {}
        }
    }
    widen_degenerate(lo, hi, log)
}

/// Makes `lo < hi` with a usable span (single point, all-equal values, inverted fixed ends).
fn widen_degenerate(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    let mid = 0.5 * (lo + hi);
    let tiny = (hi - lo) <= 1e-9 * mid.abs().max(if log { 1.0 } else { 1e-300 });
    if !tiny && (hi - lo).is_finite() {
        return (lo, hi);
    }
    let pad = if log {
        0.5
    } else if mid == 0.0 {
        1.0
    } else {
        0.1 * mid.abs()
    };
    let (lo, hi) = (mid - pad, mid + pad);
    if (hi - lo).is_finite() && hi > lo {
        (lo, hi)
    } else {
        (0.0, 1.0)
    }
}

// ----- tick generation

/// A set of ticks: positions (axis units), labels and minor positions.
struct Ticks {
    major: Vec<(f64, String)>,
    minor: Vec<f64>,
}

/// `n × 10^e` as text with exactly `decimals` decimals (or in ×10ⁿ form when `sci`), with a
/// true minus sign.
fn decimal_label(n: i64, e: i32, decimals: usize, sci: bool) -> String {
    let sign = if n < 0 { "\u{2212}" } else { "" };
    if !sci {
        // Tick values have few digits, so the nearest f64 prints exactly.
        return format!("{sign}{:.decimals$}", scaled(n.abs(), e));
    }
    if n == 0 {
        return "0".into();
    }
    let (mut digits, mut e) = (n.unsigned_abs().to_string(), e);
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
        e += 1;
    }
    let exp = superscript(e + digits.len() as i32 - 1);
    match digits.split_at(1) {
        ("1", "") => format!("{sign}10{exp}"),
        (first, "") => format!("{sign}{first}×10{exp}"),
        (first, rest) => format!("{sign}{first}.{rest}×10{exp}"),
    }
}

fn superscript(n: i32) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let digit = |c: char| c.to_digit(10).map_or('⁻', |d| DIGITS[d as usize]);
    n.to_string().chars().map(digit).collect()
}

/// n × 10^e as an f64.
fn scaled(n: i64, e: i32) -> f64 {
    if e >= 0 {
        n as f64 * 10f64.powi(e)
    } else {
        n as f64 / 10f64.powi(-e)
    }
}

/// "Nice" linear ticks over `[lo, hi]` (values), at most `max_n` of them, or `None` if the
/// range cannot be ticked (too many points for a sane step).
fn linear_ticks(lo: f64, hi: f64, max_n: usize) -> Option<Ticks> {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) || max_n < 2 {
        return None;
    }
    let raw = span / max_n as f64;
    let e = raw.log10().floor() as i32;
    // Step = m10 × 10^(e−1) for m10 in {10, 20, 25, 50, 100}.
    for (m10, minor_div) in [(10i64, 5i64), (20, 4), (25, 5), (50, 5), (100, 5)] {
        let unit_e = e - 1;
        let step = scaled(m10, unit_e);
        let i0 = (lo / step - 1e-9).ceil();
        let i1 = (hi / step + 1e-9).floor();
        if !(i0.is_finite() && i1.is_finite()) || i1 - i0 + 1.0 > max_n as f64 || i1 < i0 {
            continue;
        }
        let (i0, i1) = (i0 as i64, i1 as i64);
        let tz = if m10 % 100 == 0 {
            2
        } else if m10 % 10 == 0 {
            1
        } else {
            0
        };
        let decimals = (-unit_e - tz).max(0) as usize;
        let biggest = lo.abs().max(hi.abs());
        let sci = biggest >= 1e6 || decimals > 4;
        let major = (i0..=i1)
            .map(|i| {
                let n = i * m10;
                (scaled(n, unit_e), decimal_label(n, unit_e, decimals, sci))
            })
            .collect();
        // Minor ticks: the step divided by `minor_div`.
        let mstep = step / minor_div as f64;
        let j0 = (lo / mstep - 1e-9).ceil() as i64;
        let j1 = (hi / mstep + 1e-9).floor() as i64;
        let minor = if j1 - j0 < 200 {
            (j0..=j1)
                .filter(|j| j % minor_div != 0)
                .map(|j| scaled(j * m10, unit_e) / minor_div as f64)
                .collect()
        } else {
            Vec::new()
        };
        return Some(Ticks { major, minor });
    }
    None
}

/// Candidate tick sets for an axis, most preferred first.
fn tick_candidates(lo: f64, hi: f64, log: bool) -> Vec<Ticks> {
    let mut out = Vec::new();
    if !log {
        // Linear axes get no minor grid: it only adds clutter there.
        for n in (2..=MAX_TICKS).rev() {
            out.extend(linear_ticks(lo, hi, n).map(|t| Ticks {
                minor: Vec::new(),
                ..t
            }));
        }
        return out;
    }
    // Log axis: lo, hi are log10 values.
    let d0 = (lo - 1e-9).ceil() as i64;
    let d1 = (hi + 1e-9).floor() as i64;
    let (f0, f1) = ((lo - 1e-9).floor() as i64, (hi + 1e-9).floor() as i64);
    // Decades shown as plain numbers when they are short (0.01 … 1000), else as 10ⁿ.
    let plain = d0 >= -2 && d1 <= 3;
    let decade_label = |d: i64| decimal_label(1, d as i32, (-d).max(0) as usize, !plain);
    let in_range = |u: f64| u >= lo - 1e-9 && u <= hi + 1e-9;
    if d1 >= d0 && d1 - d0 < 400 {
        for stride in [1i64, 2, 3, 4, 5, 10, 20, 25, 50, 100] {
            let major: Vec<(f64, String)> = (d0..=d1)
                .filter(|d| d.rem_euclid(stride) == 0)
                .map(|d| (d as f64, decade_label(d)))
                .collect();
            let minor: Vec<f64> = if stride == 1 {
                if hi - lo <= 8.0 {
                    (f0..=f1)
                        .flat_map(|d| (2..=9).map(move |k| d as f64 + (k as f64).log10()))
                        .filter(|&u| in_range(u))
                        .collect()
                } else {
                    Vec::new()
                }
            } else {
                (d0..=d1)
                    .filter(|d| d.rem_euclid(stride) != 0)
                    .map(|d| d as f64)
                    .collect()
            };
            out.push(Ticks { major, minor });
        }
    }
    if f1 - f0 < 40 {
        // Mantissa ticks k × 10^d; labels plain unless the exponent is extreme.
        let mantissa_ticks = |ks: &[i64], minor_ks: &[i64]| {
            let mut major = Vec::new();
            let mut minor = Vec::new();
            for d in f0..=f1 {
                let d = d as i32;
                let sci = !(-4..=5).contains(&d);
                for &k in ks {
                    let u = d as f64 + (k as f64).log10();
                    if in_range(u) {
                        major.push((u, decimal_label(k, d, (-d).max(0) as usize, sci)));
                    }
                }
                for &k in minor_ks {
                    let u = d as f64 + (k as f64).log10();
                    if in_range(u) {
                        minor.push(u);
                    }
                }
            }
            Ticks { major, minor }
        };
        out.push(mantissa_ticks(&[1, 2, 5], &[3, 4, 6, 7, 8, 9]));
        out.push(mantissa_ticks(&[1, 2, 3, 4, 5, 6, 7, 8, 9], &[]));
    }
    // Short ranges (less than a factor of ~3): linear ticks in value space.
    let (vlo, vhi) = (10f64.powf(lo), 10f64.powf(hi));
    for n in (2..=MAX_TICKS).rev() {
        if let Some(t) = linear_ticks(vlo, vhi, n) {
            let major = t
                .major
                .into_iter()
                .filter(|(v, _)| *v > 0.0)
                .map(|(v, l)| (v.log10(), l))
                .collect();
            let minor = t
                .minor
                .into_iter()
                .filter(|v| *v > 0.0)
                .map(f64::log10)
                .collect();
            out.push(Ticks { major, minor });
        }
    }
    out
}

/// Picks the most preferred tick set whose labels do not collide on an axis `length` pixels long.
/// `extent` is a label's extent along the axis (width for x, height for y); `min_spacing` the
/// least distance between ticks.
fn choose_ticks(
    lo: f64,
    hi: f64,
    log: bool,
    length: f64,
    min_spacing: f64,
    extent: &dyn Fn(&str) -> f64,
) -> Ticks {
    let mut candidates = tick_candidates(lo, hi, log);
    let scale = length / (hi - lo);
    let fits: Vec<bool> = candidates
        .iter()
        .map(|t| {
            let placed: Vec<(f64, f64)> = t
                .major
                .iter()
                .map(|(p, label)| ((p - lo) * scale, extent(label) / 2.0))
                .collect();
            t.major.len() <= MAX_TICKS
                && placed.windows(2).all(|w| {
                    let gap = w[1].0 - w[0].0;
                    gap >= min_spacing && gap >= w[0].1 + w[1].1 + 12.0
                })
        })
        .collect();
    let pick =
        |min: usize| (0..candidates.len()).find(|&i| fits[i] && candidates[i].major.len() >= min);
    if let Some(i) = pick(3).or_else(|| pick(2)).or_else(|| pick(1)) {
        return candidates.swap_remove(i);
    }
    // Nothing fits (absurdly long labels): one labelled tick, the one nearest the middle.
    let mid = 0.5 * (lo + hi);
    let mut major: Vec<(f64, String)> = candidates.into_iter().flat_map(|t| t.major).collect();
    major.sort_by(|a, b| (a.0 - mid).abs().total_cmp(&(b.0 - mid).abs()));
    major.truncate(1);
    Ticks {
        major,
        minor: Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Series

/// Marker shape, filled or not, half-size in pixels.
type Mark = (Shape, bool, i32);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Circle,
    Square,
    Triangle,
    TriangleDown,
    Diamond,
    Cross,
    Plus,
}

/// How one line is drawn (colour, stroke, dashes, marker).
#[derive(Clone, Copy, Debug)]
struct Look {
    color: RGBColor,
    /// Stroke width of the connecting line, or `None` for markers only.
    line: Option<u32>,
    /// Dash length and gap, for dashed lines.
    dash: Option<(i32, i32)>,
    /// Marker shape, filled or not, half-size in pixels.
    marker: Option<Mark>,
}

impl Look {
    fn for_line(line: &Line, palette_idx: &mut usize, paper_idx: &mut usize) -> Look {
        let with_line = line.style != Style::Markers;
        let with_markers = matches!(line.style, Style::Markers | Style::LineMarkers);
        match line.origin {
            Origin::Measured | Origin::Theory => {
                let color = PALETTE[*palette_idx % PALETTE.len()];
                *palette_idx += 1;
                let theory = line.origin == Origin::Theory;
                Look {
                    color,
                    line: with_line.then_some(2),
                    dash: theory.then_some((10, 6)),
                    marker: with_markers.then_some((Shape::Circle, !theory, 4)),
                }
            }
            Origin::Paper => {
                let shape = PAPER_SHAPES[*paper_idx % PAPER_SHAPES.len()];
                *paper_idx += 1;
                Look {
                    color: PAPER_COLOR,
                    line: with_line.then_some(1),
                    dash: Some((6, 4)),
                    marker: Some((shape, false, 5)),
                }
            }
        }
    }

    fn line_style(&self) -> ShapeStyle {
        self.color.stroke_width(self.line.unwrap_or(1))
    }

    /// The marker used for isolated points of a line without markers.
    fn dot(&self) -> Mark {
        self.marker.unwrap_or((Shape::Circle, true, 4))
    }
}

/// One line, ready to draw in axis units.
struct Series {
    label: String,
    paper: bool,
    look: Look,
    /// Connected, clipped polylines.
    paths: Vec<Vec<(f64, f64)>>,
    /// Marker positions (inside the axes) and the marker drawn there.
    markers: Vec<(f64, f64)>,
    marker: Option<Mark>,
}

impl Series {
    fn new(line: &Line, look: Look, x: &Axis, y: &Axis) -> Series {
        let rect = ClipRect::new(x, y);
        // Runs of consecutive valid points; invalid ones break the line.
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for &(px, py) in &line.points {
            match (x.to_unit(px), y.to_unit(py)) {
                (Some(u), Some(v)) => runs.last_mut().map_or((), |r| r.push((u, v))),
                _ if runs.last().is_some_and(|r| !r.is_empty()) => runs.push(Vec::new()),
                _ => {}
            }
        }
        let mut paths = Vec::new();
        let mut markers = Vec::new();
        let mut marker = look.marker;
        for run in runs.iter().filter(|r| !r.is_empty()) {
            if look.line.is_some() && run.len() >= 2 {
                let pts = if line.style == Style::Step {
                    staircase(run)
                } else {
                    run.clone()
                };
                paths.extend(clip_polyline(&pts, &rect));
            }
            if look.marker.is_some() {
                markers.extend(run.iter().copied().filter(|p| rect.contains(*p)));
            } else if run.len() == 1 && rect.contains(run[0]) {
                // A lone point of a line would be invisible: mark it.
                markers.push(run[0]);
                marker = Some(look.dot());
            }
        }
        Series {
            label: line.label.clone(),
            paper: line.origin == Origin::Paper,
            look,
            paths,
            markers,
            marker,
        }
    }
}

/// Horizontal then vertical between successive points (empirical CDFs).
fn staircase(pts: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(2 * pts.len());
    for (i, &p) in pts.iter().enumerate() {
        if i > 0 {
            out.push((p.0, pts[i - 1].1));
        }
        out.push(p);
    }
    out
}

/// The axes' rectangle in axis units, a hair larger so points on the frame are kept.
struct ClipRect {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl ClipRect {
    fn new(x: &Axis, y: &Axis) -> ClipRect {
        let (ex, ey) = (1e-9 * (x.hi - x.lo), 1e-9 * (y.hi - y.lo));
        ClipRect {
            x0: x.lo - ex,
            x1: x.hi + ex,
            y0: y.lo - ey,
            y1: y.hi + ey,
        }
    }

    fn contains(&self, (x, y): (f64, f64)) -> bool {
        x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1
    }

    /// Liang–Barsky: the parameter interval of segment a→b inside the rectangle.
    fn clip(&self, a: (f64, f64), b: (f64, f64)) -> Option<(f64, f64)> {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        for (p, q) in [
            (-dx, a.0 - self.x0),
            (dx, self.x1 - a.0),
            (-dy, a.1 - self.y0),
            (dy, self.y1 - a.1),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
            } else {
                let t = q / p;
                if p < 0.0 {
                    if t > t1 {
                        return None;
                    }
                    t0 = t0.max(t);
                } else {
                    if t < t0 {
                        return None;
                    }
                    t1 = t1.min(t);
                }
            }
        }
        Some((t0, t1))
    }
}

/// Splits a polyline into the pieces inside the rectangle (plotters would otherwise squash
/// out-of-range points onto the frame).
fn clip_polyline(pts: &[(f64, f64)], rect: &ClipRect) -> Vec<Vec<(f64, f64)>> {
    let lerp =
        |a: (f64, f64), b: (f64, f64), t: f64| (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
    let mut out = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let mut flush = |cur: &mut Vec<(f64, f64)>| {
        if cur.len() >= 2 {
            out.push(std::mem::take(cur));
        } else {
            cur.clear();
        }
    };
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        match rect.clip(a, b) {
            None => flush(&mut cur),
            Some((t0, t1)) => {
                if t0 > 0.0 || cur.is_empty() {
                    flush(&mut cur);
                    cur.push(lerp(a, b, t0));
                }
                cur.push(lerp(a, b, t1));
                if t1 < 1.0 {
                    flush(&mut cur);
                }
            }
        }
    }
    flush(&mut cur);
    out
}

// ---------------------------------------------------------------------------------------------
// Layout

/// The legend box, in pixels relative to the plotting area.
struct Legend {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
    row: f64,
}

/// Everything needed to draw a figure: sizes, plotting area, axes, clipped lines, legend.
struct Plan<'f> {
    fig: &'f Figure,
    title_size: f64,
    desc_size: f64,
    /// Plotting area, in pixels: left, top, right, bottom.
    plot: (u32, u32, u32, u32),
    x: Axis,
    y: Axis,
    series: Vec<Series>,
    legend: Option<Legend>,
}

impl<'f> Plan<'f> {
    fn new(fig: &'f Figure) -> Plan<'f> {
        let (xlog, ylog) = (fig.x_scale == Scale::Log10, fig.y_scale == Scale::Log10);

        // Ranges: x from all points, y from the points within the x range.
        let pts: Vec<(f64, f64)> = fig
            .lines
            .iter()
            .flat_map(|l| l.points.iter())
            .filter_map(|&(x, y)| Some((to_unit(x, xlog)?, to_unit(y, ylog)?)))
            .collect();
        let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
        let (xlo, xhi) = axis_range(&xs, fig.x_range, xlog);
        let mut ys: Vec<f64> = pts
            .iter()
            .filter(|p| p.0 >= xlo && p.0 <= xhi)
            .map(|p| p.1)
            .collect();
        if ys.is_empty() {
            ys = pts.iter().map(|p| p.1).collect();
        }
        let (ylo, yhi) = axis_range(&ys, fig.y_range, ylog);

        // Vertical layout: title, plot, tick labels, x description.
        let (w, h) = (f64::from(WIDTH), f64::from(HEIGHT));
        let title_size = fit(&fig.title, TITLE_SIZE, w - 2.0 * MARGIN);
        let top = if fig.title.is_empty() {
            MARGIN + 6.0
        } else {
            MARGIN + line_height(title_size) + 12.0
        };
        let desc_size = fit(&fig.x_label, DESC_SIZE, w - 160.0).min(fit(
            &fig.y_label,
            DESC_SIZE,
            h - top - 120.0,
        ));
        let desc_h = |label: &str| {
            if label.is_empty() {
                0.0
            } else {
                line_height(desc_size) + DESC_GAP
            }
        };
        let tick_h = CAP * TICK_SIZE;
        let bottom = h - MARGIN - desc_h(&fig.x_label) - tick_h - TICK_GAP;
        let (top, bottom) = (top.round(), bottom.round());
        let yt = choose_ticks(ylo, yhi, ylog, bottom - top, 36.0, &|_| tick_h);

        // Horizontal layout: y description, tick labels, plot.
        let tick_w = yt
            .major
            .iter()
            .map(|(_, l)| text_width(l, TICK_SIZE))
            .fold(0.0, f64::max);
        let left = (MARGIN + desc_h(&fig.y_label) + tick_w + TICK_GAP).round();
        let label_w = |l: &str| text_width(l, TICK_SIZE);
        let mut right = (w - MARGIN_RIGHT).round();
        let mut xt = choose_ticks(xlo, xhi, xlog, right - left, 50.0, &label_w);
        // A wide last tick label must not run off the canvas: narrow the plot and choose again.
        if let Some((u, l)) = xt.major.last() {
            let end = left + (u - xlo) / (xhi - xlo) * (right - left) + label_w(l) / 2.0;
            if end > w - 4.0 {
                right = (right - (end - (w - 4.0))).round();
                xt = choose_ticks(xlo, xhi, xlog, right - left, 50.0, &label_w);
            }
        }

        let x = Axis {
            lo: xlo,
            hi: xhi,
            log: xlog,
            major: xt.major,
            minor: xt.minor,
        };
        let y = Axis {
            lo: ylo,
            hi: yhi,
            log: ylog,
            major: yt.major,
            minor: yt.minor,
        };
        let (mut pal, mut pap) = (0, 0);
        let series: Vec<Series> = fig
            .lines
            .iter()
            .map(|l| Series::new(l, Look::for_line(l, &mut pal, &mut pap), &x, &y))
            .collect();
        let legend = choose_legend(&series, &x, &y, (right - left, bottom - top));
        Plan {
            fig,
            title_size,
            desc_size,
            plot: (left as u32, top as u32, right as u32, bottom as u32),
            x,
            y,
            series,
            legend,
        }
    }
}

/// The legend box that covers the least data (upper right on ties, then upper left, lower
/// right, lower left, middles), or `None` when no line has a label.
fn choose_legend(series: &[Series], x: &Axis, y: &Axis, (pw, ph): (f64, f64)) -> Option<Legend> {
    let labels: Vec<&str> = series
        .iter()
        .filter(|s| !s.label.is_empty())
        .map(|s| s.label.as_str())
        .collect();
    if labels.is_empty() {
        return None;
    }
    let text_w = labels
        .iter()
        .map(|l| text_width(l, LEGEND_SIZE))
        .fold(0.0, f64::max);
    let row = (line_height(LEGEND_SIZE) + 6.0).round();
    let width = (2.0 * LEGEND_PAD + f64::from(LEGEND_SAMPLE) + 8.0 + text_w).round();
    let height = (2.0 * LEGEND_PAD + labels.len() as f64 * row - 4.0).round();
    let to_px = |(u, v): (f64, f64)| (x.frac(u) * pw, (1.0 - y.frac(v)) * ph);

    let inset = 8.0;
    let (l, c, r) = (inset, ((pw - width) / 2.0).round(), pw - width - inset);
    let (t, m, b) = (inset, ((ph - height) / 2.0).round(), ph - height - inset);
    let candidates = [
        (r, t),
        (l, t),
        (r, b),
        (l, b),
        (r, m),
        (l, m),
        (c, t),
        (c, b),
    ];
    let mut best = (f64::INFINITY, candidates[0]);
    for (left, top) in candidates {
        let inside = |(px, py): (f64, f64), pad: f64| {
            px >= left - pad
                && px <= left + width + pad
                && py >= top - pad
                && py <= top + height + pad
        };
        let mut score = 0.0;
        for s in series {
            for path in &s.paths {
                for seg in path.windows(2) {
                    let (a, b) = (to_px(seg[0]), to_px(seg[1]));
                    let len = (b.0 - a.0).hypot(b.1 - a.1);
                    let n = (len / 3.0).ceil().clamp(1.0, 2000.0) as usize;
                    for i in 0..=n {
                        let t = i as f64 / n as f64;
                        if inside((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)), 3.0) {
                            score += 1.0;
                        }
                    }
                }
            }
            for &p in &s.markers {
                if inside(to_px(p), 7.0) {
                    score += 5.0;
                }
            }
        }
        if score < best.0 {
            best = (score, (left, top));
        }
    }
    // A legend larger than the plot hangs off its right and bottom edges, not off the canvas.
    let (left, top) = (best.1 .0.max(inset), best.1 .1.max(inset));
    Some(Legend {
        left,
        top,
        width,
        height,
        row,
    })
}

// ---------------------------------------------------------------------------------------------
// Drawing

/// Draws a marker centred on `c` (pixels).
fn draw_mark(root: &Root, (shape, filled, r): Mark, color: RGBColor, c: (i32, i32)) -> DrawResult {
    let style = if filled {
        color.filled()
    } else {
        color.stroke_width(2)
    };
    let path = |pts: &[(i32, i32)]| {
        let pts: Vec<(i32, i32)> = pts.iter().map(|&(x, y)| (c.0 + x, c.1 + y)).collect();
        root.draw(&PathElement::new(pts, style))
    };
    // A closed outline starts and ends mid-edge, so the seam is flush (no notch at a corner).
    let closed = |pts: &[(i32, i32)]| {
        let mid = ((pts[0].0 + pts[1].0) / 2, (pts[0].1 + pts[1].1) / 2);
        let mut v = vec![mid];
        v.extend_from_slice(&pts[1..]);
        v.extend_from_slice(&[pts[0], mid]);
        path(&v)
    };
    let t = r + 1; // triangles and diamonds look smaller than squares of the same size
    match shape {
        Shape::Circle => root.draw(&Circle::new(c, r, style)),
        Shape::Square => closed(&[(-r, -r), (r, -r), (r, r), (-r, r)]),
        Shape::Triangle => closed(&[(-t, t * 3 / 4), (0, -t), (t, t * 3 / 4)]),
        Shape::TriangleDown => closed(&[(-t, -t * 3 / 4), (0, t), (t, -t * 3 / 4)]),
        Shape::Diamond => closed(&[(0, -t), (t, 0), (0, t), (-t, 0)]),
        Shape::Cross => path(&[(-r, -r), (r, r)]).and_then(|()| path(&[(-r, r), (r, -r)])),
        Shape::Plus => path(&[(-t, 0), (t, 0)]).and_then(|()| path(&[(0, -t), (0, t)])),
    }
}

fn draw(root: &Root, plan: &Plan) -> DrawResult {
    let fig = plan.fig;
    root.fill(&WHITE)?;

    let (left, top, right, bottom) = plan.plot;
    let mut chart = ChartBuilder::on(root)
        .margin_left(left)
        .margin_top(top)
        .margin_right(WIDTH - right)
        .margin_bottom(HEIGHT - bottom)
        .build_cartesian_2d(plan.x.clone(), plan.y.clone())?;

    // Grid only: axes, ticks and labels are drawn below.
    chart
        .configure_mesh()
        .disable_axes()
        .bold_line_style(BLACK.mix(0.14).stroke_width(1))
        .light_line_style(BLACK.mix(0.05).stroke_width(1))
        .draw()?;

    // Data: ours first, the published values on top.
    let ordered = plan.series.iter().filter(|s| !s.paper);
    for s in ordered.chain(plan.series.iter().filter(|s| s.paper)) {
        let style = s.look.line_style();
        for path in &s.paths {
            let pts = path.iter().copied();
            match s.look.dash {
                Some((dash, gap)) => {
                    chart.draw_series(DashedLineSeries::new(pts, dash, gap, style))
                }
                None => chart.draw_series(LineSeries::new(pts, style)),
            }?;
        }
        if let Some(m) = s.marker {
            for p in &s.markers {
                draw_mark(root, m, s.look.color, chart.backend_coord(p))?;
            }
        }
    }

    // Frame, tick marks and tick labels.
    let (l, t, r, b) = (left as i32, top as i32, right as i32 - 1, bottom as i32 - 1);
    let axis = BLACK.stroke_width(1);
    root.draw(&Rectangle::new([(l, t), (r, b)], axis))?;
    let tick = |size| Text {
        size,
        h: HPos::Center,
        v: VAlign::Top,
        rotated: false,
    };
    for (u, label) in &plan.x.major {
        let px = chart.backend_coord(&(*u, plan.y.lo)).0;
        root.draw(&PathElement::new(vec![(px, b), (px, b + TICK_MARK)], axis))?;
        let at = (f64::from(px), f64::from(b) + TICK_GAP);
        put_text(root, label, tick(TICK_SIZE), at)?;
    }
    for (v, label) in &plan.y.major {
        let py = chart.backend_coord(&(plan.x.lo, *v)).1;
        root.draw(&PathElement::new(vec![(l - TICK_MARK, py), (l, py)], axis))?;
        let spec = Text {
            h: HPos::Right,
            v: VAlign::Middle,
            ..tick(TICK_SIZE)
        };
        put_text(root, label, spec, (f64::from(l) - TICK_GAP, f64::from(py)))?;
    }

    // Title and axis descriptions.
    let (w, h) = (f64::from(WIDTH), f64::from(HEIGHT));
    put_text(root, &fig.title, tick(plan.title_size), (w / 2.0, MARGIN))?;
    let desc = Text {
        v: VAlign::Bottom,
        ..tick(plan.desc_size)
    };
    let at = (f64::from(l + r) / 2.0, h - MARGIN);
    put_text(root, &fig.x_label, desc, at)?;
    let desc = Text {
        v: VAlign::Top,
        rotated: true,
        ..desc
    };
    put_text(root, &fig.y_label, desc, (MARGIN, f64::from(t + b) / 2.0))?;

    // Legend.
    if let Some(lg) = &plan.legend {
        let (x0, y0) = (f64::from(l) + lg.left, f64::from(t) + lg.top);
        let corner = |dx: f64, dy: f64| ((x0 + dx).round() as i32, (y0 + dy).round() as i32);
        let bx = [corner(0.0, 0.0), corner(lg.width, lg.height)];
        root.draw(&Rectangle::new(bx, WHITE.mix(0.88).filled()))?;
        root.draw(&Rectangle::new(bx, BLACK.mix(0.35).stroke_width(1)))?;
        let labelled = plan.series.iter().filter(|s| !s.label.is_empty());
        for (i, s) in labelled.enumerate() {
            let cy = LEGEND_PAD + (i as f64 + 0.5) * lg.row - 2.0;
            let (sx, sy) = corner(LEGEND_PAD, cy);
            let sample = vec![(sx, sy), (sx + LEGEND_SAMPLE, sy)];
            let style = s.look.line_style();
            match (s.look.line, s.look.dash) {
                (Some(_), Some((dash, gap))) => {
                    root.draw(&DashedPathElement::new(sample, dash, gap, style))?
                }
                (Some(_), None) => root.draw(&PathElement::new(sample, style))?,
                (None, _) => {}
            }
            if let Some(m) = s.marker {
                draw_mark(root, m, s.look.color, (sx + LEGEND_SAMPLE / 2, sy))?;
            }
            let spec = Text {
                size: LEGEND_SIZE,
                h: HPos::Left,
                v: VAlign::Middle,
                rotated: false,
            };
            let tx = x0 + LEGEND_PAD + f64::from(LEGEND_SAMPLE) + 8.0;
            put_text(root, &s.label, spec, (tx, y0 + cy))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn temp_dir() -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dmimo-plot-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Renders `fig`, checks both files, returns the SVG text. Set `DMIMO_KEEP_PLOTS=1` to keep
    /// the files (their directory is printed) for a look.
    fn check(fig: &Figure) -> String {
        let dir = temp_dir();
        let (svg, png) = (
            dir.join(format!("{}.svg", fig.name)),
            dir.join(format!("{}.png", fig.name)),
        );
        render(fig, &svg, &png).unwrap();
        let text = std::fs::read_to_string(&svg).unwrap();
        for needle in [&fig.title, &fig.x_label, &fig.y_label] {
            let escaped = needle
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            assert!(text.contains(&escaped), "SVG lacks {needle:?}");
        }
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        // The right size, and more ink than the frame alone (some 2,600 px): text got drawn.
        let image = tiny_skia::Pixmap::decode_png(&bytes).unwrap();
        assert_eq!((image.width(), image.height()), (WIDTH, HEIGHT));
        let ink = image.pixels().iter().filter(|p| p.green() < 128).count();
        assert!(ink > 3_500, "only {ink} dark pixels");
        if std::env::var_os("DMIMO_KEEP_PLOTS").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        } else {
            eprintln!("kept {}", dir.display());
        }
        text
    }

    #[test]
    fn all_styles_and_unicode_labels() {
        let xs: Vec<f64> = (0..=40).map(|i| i as f64 * 0.5).collect();
        let curve = |a: f64| xs.iter().map(|&x| (x, a * (1.0 + x / 4.0).ln())).collect();
        let fig = Figure::new(
            "styles",
            "Sum rate vs. SNR — 4×4, τ ≤ 2 µs, θ = 30°",
            "SNR (dB), delay spread 1.5 µs",
            "sum rate (bit/s/Hz), −3 dB ≤ loss",
        )
        .line("dmimo, measured", Origin::Measured, Style::Line, curve(1.0))
        .line(
            "dmimo, markers",
            Origin::Measured,
            Style::Markers,
            curve(1.3),
        )
        .line(
            "dmimo, line+markers",
            Origin::Measured,
            Style::LineMarkers,
            curve(1.6),
        )
        .line("closed form", Origin::Theory, Style::Line, curve(1.15))
        .line(
            "ECDF (step)",
            Origin::Measured,
            Style::Step,
            vec![(1.0, 0.2), (4.0, 0.9), (9.0, 1.5), (15.0, 2.2)],
        )
        .line(
            "paper, Fig. 3",
            Origin::Paper,
            Style::LineMarkers,
            (0..=5)
                .map(|i| (i as f64 * 4.0, 1.45 * (1.0 + i as f64).ln()))
                .collect(),
        )
        .line(
            "paper, markers",
            Origin::Paper,
            Style::Markers,
            (0..=5)
                .map(|i| (i as f64 * 4.0, 0.9 * (1.0 + i as f64).ln()))
                .collect(),
        );
        let svg = check(&fig);
        assert!(svg.contains("µs") && svg.contains('°') && svg.contains('≤'));
        assert!(svg.contains("paper, Fig. 3"), "legend missing");
    }

    #[test]
    fn log_y() {
        let snr: Vec<f64> = (0..=20).map(|i| i as f64).collect();
        let ber = |d: f64| snr.iter().map(|&s| (s, 0.5 * (-(s / d)).exp())).collect();
        let mut fig = Figure::new("ber", "Bit error rate", "Eb/N0 (dB)", "BER")
            .line("measured", Origin::Measured, Style::LineMarkers, ber(2.0))
            .line("theory", Origin::Theory, Style::Line, ber(2.2))
            .line(
                "paper",
                Origin::Paper,
                Style::Markers,
                vec![
                    (0.0, 0.45),
                    (5.0, 0.04),
                    (10.0, 4e-3),
                    (15.0, 3e-4),
                    (20.0, 2e-5),
                ],
            );
        fig.y_scale = Scale::Log10;
        let svg = check(&fig);
        assert!(svg.contains("10⁻³"), "decade labels missing");
    }

    #[test]
    fn empty_figure() {
        let fig = Figure::new("empty", "Nothing measured", "time (µs)", "leakage (dB)");
        check(&fig);
        let mut fig = Figure::new("empty-log", "Nothing, log–log", "f (Hz)", "PSD (W/Hz)");
        fig.x_scale = Scale::Log10;
        fig.y_scale = Scale::Log10;
        check(&fig);
    }

    #[test]
    fn non_finite_and_single_points() {
        let fig = Figure::new("odd", "Odd data", "angle (°)", "gain (dB)")
            .line(
                "with holes",
                Origin::Measured,
                Style::LineMarkers,
                vec![
                    (0.0, 1.0),
                    (1.0, f64::NAN),
                    (2.0, 3.0),
                    (f64::INFINITY, 2.0),
                    (3.0, 2.5),
                    (4.0, f64::NEG_INFINITY),
                    (5.0, 1.5),
                ],
            )
            .line("single", Origin::Theory, Style::Line, vec![(2.5, 2.0)])
            .line(
                "all NaN",
                Origin::Paper,
                Style::Markers,
                vec![(f64::NAN, f64::NAN)],
            )
            .line("nothing", Origin::Measured, Style::Step, vec![]);
        check(&fig);

        // A lone point is the whole figure: degenerate ranges on both axes, linear and log.
        let single = Figure::new("one", "One point", "x (m)", "y (m)").line(
            "p",
            Origin::Measured,
            Style::Line,
            vec![(3.0, 3.0)],
        );
        check(&single);
        let mut log = single.clone();
        log.x_scale = Scale::Log10;
        log.y_scale = Scale::Log10;
        check(&log);

        // Fixed ranges that cut the data, reversed and invalid ranges.
        let mut cut = Figure::new("cut", "Clipped", "x", "y")
            .line(
                "ramp",
                Origin::Measured,
                Style::Line,
                (0..50).map(|i| (i as f64, i as f64)).collect(),
            )
            .x_range(10.0, 20.0)
            .y_range(30.0, 12.0);
        check(&cut);
        cut.y_scale = Scale::Log10;
        cut.y_range = Some((-1.0, 0.0));
        check(&cut);
    }

    #[test]
    fn ticks_are_nice() {
        let t = linear_ticks(-0.05, 1.05, 8).unwrap();
        let labels: Vec<&str> = t.major.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let t = linear_ticks(-12.0, 31.0, 8).unwrap();
        let labels: Vec<&str> = t.major.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["\u{2212}10", "0", "10", "20", "30"]);
        assert_eq!(decimal_label(25, -2, 2, false), "0.25");
        assert_eq!(decimal_label(-5, -1, 1, false), "\u{2212}0.5");
        assert_eq!(decimal_label(1, -3, 3, true), "10⁻³");
        assert_eq!(decimal_label(25, 5, 0, true), "2.5×10⁶");
        assert_eq!(decimal_label(2, 3, 0, false), "2000");
        let c = tick_candidates(-5.2, 0.1, true);
        let labels: Vec<&str> = c[0].major.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["10⁻⁵", "10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "10⁰"]);
    }

    #[test]
    fn missing_directory_is_an_error() {
        let dir = std::env::temp_dir().join("dmimo-plot-test-no-such-dir/deeper");
        let fig = Figure::new("x", "t", "x", "y");
        let err = render(&fig, &dir.join("x.svg"), &dir.join("x.png")).unwrap_err();
        assert_eq!(err.path, dir.join("x.svg"));
        assert!(err.to_string().starts_with("cannot render plot "), "{err}");
    }

    /// Where `put_text` puts a text and how wide plotters measures it agree with what resvg
    /// draws from the embedded font.
    #[test]
    fn text_lands_where_measured() {
        let fonts = fonts().unwrap();
        for text in [
            "HAVATAR 10",
            "AVATAR Ty 10⁻³",
            "dmimo, ideal sync",
            "θ = 30°, τ ≤ 2 µs",
        ] {
            let mut svg = String::new();
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
            let spec = Text {
                size: TICK_SIZE,
                h: HPos::Left,
                v: VAlign::Top,
                rotated: false,
            };
            put_text(&root, text, spec, (100.0, 50.0)).unwrap();
            root.present().unwrap();
            drop(root);
            let options = usvg::Options {
                fontdb: fonts.clone(),
                ..usvg::Options::default()
            };
            let tree = usvg::Tree::from_str(&svg, &options).unwrap();
            let Some(usvg::Node::Text(drawn)) = tree.root().children().first() else {
                panic!("{text}: no text drawn");
            };
            // The text's box spans the advance widths; the ink of capitals and digits starts at
            // the anchor (rounded to a whole pixel).
            let (layout, ink) = (
                drawn.abs_bounding_box(),
                drawn.flattened().abs_bounding_box(),
            );
            let width = text_width(text, TICK_SIZE);
            assert!(
                (f64::from(layout.width()) - width).abs() <= 0.5,
                "{text}: {} px wide, measured {width}",
                layout.width()
            );
            assert_eq!(layout.left(), 100.0, "{text}");
            if text.starts_with('H') {
                assert!((ink.top() - 50.0).abs() <= 0.5, "cap top at {}", ink.top());
            }
        }
    }

    #[test]
    fn clipping_splits_lines() {
        let r = ClipRect {
            x0: 0.0,
            x1: 1.0,
            y0: 0.0,
            y1: 1.0,
        };
        let out = clip_polyline(
            &[(-1.0, 0.5), (0.5, 0.5), (2.0, 0.5), (2.0, 0.2), (0.5, 0.2)],
            &r,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], vec![(0.0, 0.5), (0.5, 0.5), (1.0, 0.5)]);
        assert_eq!(out[1], vec![(1.0, 0.2), (0.5, 0.2)]);
    }
}

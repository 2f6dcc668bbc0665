//! Renders a [`Figure`] to an SVG and a PNG with plotters.
//!
//! The layout (tick positions and labels, margins, legend corner, clipped polylines) is computed
//! once from the figure and the embedded font's metrics, then drawn on both backends, so the two
//! files show the same picture.
//!
//! Conventions: [`Origin::Measured`] lines are solid in a palette colour, [`Origin::Theory`] lines
//! are dashed in a palette colour, [`Origin::Paper`] values are hollow dark markers (one shape per
//! paper line) with a thin dashed connection unless the style is [`Style::Markers`]. They are
//! drawn last, so the published values sit on top of ours.
//!
//! Log axes are drawn in log10 units internally (a custom plotters [`Ranged`] axis), which gives
//! full control over ticks: decades (`10⁻³`, or plain `0.01` … `1000`), `1-2-5` or `1…9`
//! mantissas for short ranges, and minor grid lines.
//!
//! All text is placed by this module rather than by plotters' mesh and legend code: plotters
//! 0.3.7's ab_glyph text renderer drops each glyph's left side bearing (uneven letter spacing,
//! "i deal") and puts the baseline about 0.2 em too high. For the PNG every glyph is therefore
//! drawn on its own, at the position computed from the font's own metrics (`hmtx`, `kern`); the
//! SVG gets whole strings, placed with an explicit baseline.

use dmimo::report::{Figure, Line, Origin, Scale, Style};
use plotters::coord::ranged1d::{
    KeyPointHint, KeyPointWeight, NoDefaultFormatting, Ranged, ValueFormatter,
};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::register_font;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Size of both outputs, in pixels (SVG user units).
pub const WIDTH: u32 = 900;
pub const HEIGHT: u32 = 600;

/// The font every text is drawn with, embedded so that plots never depend on system fonts.
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Family name the font is registered under. plotters writes the family name verbatim into the
/// SVG `font-family` attribute, so this doubles as a CSS fallback list for SVG viewers without
/// DejaVu Sans; the PNG (and all text measurement) always uses the embedded font.
const FAMILY: &str = "DejaVu Sans, sans-serif";

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

/// Rendering failed: the file it was writing and the backend's (or font's) message.
///
/// (`Display`/`Error` are written out rather than derived with thiserror, which dmimo-cli does
/// not depend on.)
#[derive(Debug)]
pub struct PlotError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot render plot {}: {}",
            self.path.display(),
            self.message
        )
    }
}

impl std::error::Error for PlotError {}

/// Draws `fig` to `svg_path` and `png_path` (both [`WIDTH`]×[`HEIGHT`]). The parent directories
/// must exist. Non-finite points (and non-positive ones on a log axis) are skipped.
pub fn render(fig: &Figure, svg_path: &Path, png_path: &Path) -> Result<(), PlotError> {
    let fail = |path: &Path, message: String| PlotError {
        path: path.to_path_buf(),
        message,
    };
    let font = font_metrics().map_err(|m| fail(svg_path, m))?;
    let plan = Plan::new(fig, font);

    let root = SVGBackend::new(svg_path, (WIDTH, HEIGHT)).into_drawing_area();
    draw(&root, &plan, Target::Svg)
        .and_then(|()| root.present())
        .map_err(|e| fail(svg_path, e.to_string()))?;
    drop(root);

    let root = BitMapBackend::new(png_path, (WIDTH, HEIGHT)).into_drawing_area();
    draw(&root, &plan, Target::Png)
        .and_then(|()| root.present())
        .map_err(|e| fail(png_path, e.to_string()))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Font

/// What the layout needs from the embedded font, read from its tables (big-endian TrueType).
struct Font {
    data: &'static [u8],
    upm: f64,
    /// ab_glyph's pixel scale per em: it scales outlines so that ascent − descent = the size.
    scale_per_em: f64,
    /// Cap height and descender depth, in em.
    cap: f64,
    desc: f64,
    cmap: Option<(usize, u16)>,
    hmtx: usize,
    n_hmetrics: usize,
    kern: Option<(usize, usize)>,
}

fn be_u16(d: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(o..o + 2)?.try_into().ok()?))
}

fn be_i16(d: &[u8], o: usize) -> Option<i16> {
    be_u16(d, o).map(|v| v as i16)
}

fn be_u32(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(o..o + 4)?.try_into().ok()?))
}

/// Registers the embedded font with plotters (once per process) and parses its metrics.
fn font_metrics() -> Result<&'static Font, String> {
    static FONT: OnceLock<Option<Font>> = OnceLock::new();
    FONT.get_or_init(|| {
        // "sans-serif" too: it is plotters' default family, used by anything not styled here.
        for name in [FAMILY, "sans-serif"] {
            register_font(name, FontStyle::Normal, DEJAVU_SANS).ok()?;
        }
        Font::parse(DEJAVU_SANS)
    })
    .as_ref()
    .ok_or_else(|| "the embedded DejaVu Sans font could not be loaded".into())
}

impl Font {
    fn parse(d: &'static [u8]) -> Option<Font> {
        let n = be_u16(d, 4)? as usize;
        let table = |tag: &[u8; 4]| -> Option<usize> {
            (0..n)
                .map(|i| 12 + 16 * i)
                .find(|&r| d.get(r..r + 4) == Some(&tag[..]))
                .and_then(|r| be_u32(d, r + 8))
                .map(|o| o as usize)
        };
        let head = table(b"head")?;
        let hhea = table(b"hhea")?;
        let upm = f64::from(be_u16(d, head + 18)?);
        let (mut asc, mut dsc) = (be_i16(d, hhea + 4)?, be_i16(d, hhea + 6)?);
        if let Some(os2) = table(b"OS/2") {
            // USE_TYPO_METRICS, as ttf-parser (and so ab_glyph) honours it.
            if be_u16(d, os2 + 62)? & 0x80 != 0 {
                (asc, dsc) = (be_i16(d, os2 + 68)?, be_i16(d, os2 + 70)?);
            }
        }
        let mut font = Font {
            data: d,
            upm,
            scale_per_em: f64::from(asc - dsc) / upm,
            cap: 0.7,
            desc: -f64::from(dsc) / upm,
            cmap: None,
            hmtx: table(b"hmtx")?,
            n_hmetrics: be_u16(d, hhea + 34)? as usize,
            kern: None,
        };
        // Character map: the Unicode full-repertoire (format 12) or BMP (format 4) subtable.
        let cmap = table(b"cmap")?;
        let mut best: Option<(usize, u16)> = None;
        for i in 0..be_u16(d, cmap + 2)? as usize {
            let rec = cmap + 4 + 8 * i;
            let (platform, encoding) = (be_u16(d, rec)?, be_u16(d, rec + 2)?);
            let sub = cmap + be_u32(d, rec + 4)? as usize;
            let format = be_u16(d, sub)?;
            let unicode = platform == 0 || (platform == 3 && (encoding == 1 || encoding == 10));
            if unicode && (format == 12 || (format == 4 && best.is_none())) {
                best = Some((sub, format));
            }
        }
        font.cmap = best;
        // Legacy kerning: the first horizontal format-0 subtable (what ab_glyph uses).
        if let Some(kern) = table(b"kern") {
            if be_u16(d, kern)? == 0 && be_u16(d, kern + 2)? > 0 {
                let sub = kern + 4;
                let coverage = be_u16(d, sub + 4)?;
                if coverage >> 8 == 0 && coverage & 1 == 1 && coverage & 4 == 0 {
                    font.kern = Some((sub + 14, be_u16(d, sub + 6)? as usize));
                }
            }
        }
        // Cap height from the outline bounds of "H" (OS/2 v1 has no sCapHeight).
        let glyf = table(b"glyf")?;
        let loca = table(b"loca")?;
        let h = font.glyph('H') as usize;
        let start = if be_i16(d, head + 50)? == 0 {
            2 * be_u16(d, loca + 2 * h)? as usize
        } else {
            be_u32(d, loca + 4 * h)? as usize
        };
        font.cap = f64::from(be_i16(d, glyf + start + 8)?) / upm;
        Some(font)
    }

    /// Glyph id of `c` (0, the missing glyph, if the font lacks it).
    fn glyph(&self, c: char) -> u16 {
        self.lookup(c as u32).unwrap_or(0)
    }

    fn lookup(&self, c: u32) -> Option<u16> {
        let d = self.data;
        let (sub, format) = self.cmap?;
        if format == 12 {
            let groups = be_u32(d, sub + 12)? as usize;
            for g in 0..groups {
                let o = sub + 16 + 12 * g;
                let (first, last) = (be_u32(d, o)?, be_u32(d, o + 4)?);
                if (first..=last).contains(&c) {
                    return u16::try_from(be_u32(d, o + 8)? + (c - first)).ok();
                }
            }
            return None;
        }
        let c = u16::try_from(c).ok()?;
        let segs = be_u16(d, sub + 6)? as usize / 2;
        for s in 0..segs {
            let end = be_u16(d, sub + 14 + 2 * s)?;
            if c > end {
                continue;
            }
            let start = be_u16(d, sub + 16 + 2 * segs + 2 * s)?;
            if c < start {
                return None;
            }
            let delta = be_u16(d, sub + 16 + 4 * segs + 2 * s)?;
            let ro_pos = sub + 16 + 6 * segs + 2 * s;
            let range_offset = be_u16(d, ro_pos)? as usize;
            if range_offset == 0 {
                return Some(c.wrapping_add(delta));
            }
            let g = be_u16(d, ro_pos + range_offset + 2 * (c - start) as usize)?;
            return (g != 0).then(|| g.wrapping_add(delta));
        }
        None
    }

    /// Advance width and left side bearing of a glyph, in font units.
    fn h_metrics(&self, g: u16) -> (f64, f64) {
        let d = self.data;
        let g = g as usize;
        let last = self.n_hmetrics.max(1) - 1;
        let adv = be_u16(d, self.hmtx + 4 * g.min(last)).unwrap_or(0);
        let lsb = if g <= last {
            be_i16(d, self.hmtx + 4 * g + 2)
        } else {
            be_i16(
                d,
                self.hmtx + 4 * self.n_hmetrics + 2 * (g - self.n_hmetrics),
            )
        };
        (f64::from(adv), f64::from(lsb.unwrap_or(0)))
    }

    /// Kerning between two glyphs, in font units.
    fn kerning(&self, left: u16, right: u16) -> f64 {
        let Some((pairs, n)) = self.kern else {
            return 0.0;
        };
        let key = (u32::from(left) << 16) | u32::from(right);
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let o = pairs + 6 * mid;
            match be_u32(self.data, o).map(|k| k.cmp(&key)) {
                Some(std::cmp::Ordering::Less) => lo = mid + 1,
                Some(std::cmp::Ordering::Greater) => hi = mid,
                Some(std::cmp::Ordering::Equal) => {
                    return f64::from(be_i16(self.data, o + 4).unwrap_or(0));
                }
                None => return 0.0,
            }
        }
        0.0
    }

    /// Pen position of every character of `text` at `size` px/em, and the total advance width.
    fn layout(&self, text: &str, size: f64) -> (Vec<(char, f64, f64)>, f64) {
        // ab_glyph scales horizontally by size·scale_per_em / (ascent − descent) = size / upm.
        let k = size / self.upm;
        let mut out = Vec::with_capacity(text.len());
        let (mut pen, mut prev) = (0.0, None);
        for c in text.chars() {
            let g = self.glyph(c);
            if let Some(p) = prev {
                pen += self.kerning(p, g) * k;
            }
            let (adv, lsb) = self.h_metrics(g);
            out.push((c, pen, lsb * k));
            pen += adv * k;
            prev = Some(g);
        }
        (out, pen)
    }

    fn width(&self, text: &str, size: f64) -> f64 {
        self.layout(text, size).1
    }

    /// The largest size ≤ `size` (down to [`MIN_TEXT_SIZE`]) at which `text` fits in `max_width`.
    fn fit(&self, text: &str, size: f64, max_width: f64) -> f64 {
        let mut s = size;
        while s > MIN_TEXT_SIZE && self.width(text, s) > max_width {
            s -= 0.5;
        }
        s
    }
}

// ---------------------------------------------------------------------------------------------
// Text

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Svg,
    Png,
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

/// Draws `text` on `area` (pixel coordinates) with its anchor at `at`.
fn put_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    font: &Font,
    target: Target,
    text: &str,
    spec: Text,
    at: (f64, f64),
) -> DrawResult<DB> {
    if text.is_empty() {
        return Ok(());
    }
    let em = spec.size;
    // Baseline offset from the anchor, along the text's "down" direction.
    let base = match spec.v {
        VAlign::Top => font.cap * em,
        VAlign::Middle => font.cap * em / 2.0,
        VAlign::Bottom => -font.desc * em,
    };
    // Text frame (along the line, down) → screen.
    let screen = |tx: f64, ty: f64| -> (i32, i32) {
        let (dx, dy) = if spec.rotated { (ty, -tx) } else { (tx, ty) };
        ((at.0 + dx).round() as i32, (at.1 + dy).round() as i32)
    };
    let transform = if spec.rotated {
        FontTransform::Rotate270
    } else {
        FontTransform::None
    };
    match target {
        Target::Svg => {
            // plotters writes font-size = size / 1.24 and, for a top anchor, dy = 0.76em.
            let style = FontDesc::new(FontFamily::Name(FAMILY), em * 1.24, FontStyle::Normal)
                .color(&BLACK)
                .pos(Pos::new(spec.h, VPos::Top))
                .transform(transform);
            area.draw_text(text, &style, screen(0.0, base - 0.76 * em))
        }
        Target::Png => {
            // One glyph at a time: plotters' ab_glyph renderer places a glyph's ink box at the
            // pen (ignoring the side bearing) with the baseline half a size below the top.
            let size = em * font.scale_per_em;
            let style = FontDesc::new(FontFamily::Name(FAMILY), size, FontStyle::Normal)
                .color(&BLACK)
                .transform(transform);
            let (glyphs, width) = font.layout(text, em);
            let x0 = match spec.h {
                HPos::Left => 0.0,
                HPos::Center => -width / 2.0,
                HPos::Right => -width,
            };
            let top = base - size / 2.0;
            let mut buf = [0u8; 4];
            for (c, pen, lsb) in glyphs {
                if c.is_whitespace() {
                    continue;
                }
                let tx = (x0 + pen).round() + lsb.floor();
                area.draw_text(c.encode_utf8(&mut buf), &style, screen(tx, top.round()))?;
            }
            Ok(())
        }
    }
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
    type FormatOption = NoDefaultFormatting;
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

impl ValueFormatter<f64> for Axis {
    fn format_ext(&self, value: &f64) -> String {
        let tol = 1e-9 * (self.hi - self.lo);
        self.major
            .iter()
            .find(|(p, _)| (p - value).abs() <= tol)
            .map(|(_, label)| label.clone())
            .unwrap_or_else(|| format!("{value}"))
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

/// `n × 10^e` as text with exactly `decimals` decimals (or in ×10ⁿ form when `sci`).
fn decimal_label(n: i64, e: i32, decimals: usize, sci: bool) -> String {
    if n == 0 {
        return if sci || decimals == 0 {
            "0".into()
        } else {
            format!("0.{}", "0".repeat(decimals))
        };
    }
    let sign = if n < 0 { "\u{2212}" } else { "" };
    let mut digits = n.unsigned_abs().to_string();
    if sci {
        let mut e = e;
        while digits.len() > 1 && digits.ends_with('0') {
            digits.pop();
            e += 1;
        }
        let exp = e + digits.len() as i32 - 1;
        let mantissa = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        return if mantissa == "1" {
            format!("{sign}10{}", superscript(exp))
        } else {
            format!("{sign}{mantissa}×10{}", superscript(exp))
        };
    }
    // Plain: value = digits × 10^e.
    let s = if e >= 0 {
        digits.push_str(&"0".repeat(e as usize));
        digits
    } else {
        let frac = (-e) as usize;
        if digits.len() <= frac {
            digits = format!("{}{}", "0".repeat(frac + 1 - digits.len()), digits);
        }
        let point = digits.len() - frac;
        format!("{}.{}", &digits[..point], &digits[point..])
    };
    // Adjust the number of decimals.
    let have = s.find('.').map_or(0, |p| s.len() - p - 1);
    let s = if have > decimals {
        let cut = s.len() - (have - decimals);
        let t = &s[..cut];
        t.strip_suffix('.').unwrap_or(t).to_string()
    } else if have < decimals {
        let dot = if have == 0 { "." } else { "" };
        format!("{s}{dot}{}", "0".repeat(decimals - have))
    } else {
        s
    };
    format!("{sign}{s}")
}

fn superscript(n: i32) -> String {
    n.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            '9' => '⁹',
            c => c,
        })
        .collect()
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

/// Everything needed to draw a figure, independent of the backend.
struct Plan<'f> {
    font: &'static Font,
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
    fn new(fig: &'f Figure, font: &'static Font) -> Plan<'f> {
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
        let line = |size: f64| (font.cap + font.desc) * size;
        let title_size = font.fit(&fig.title, TITLE_SIZE, w - 2.0 * MARGIN);
        let top = if fig.title.is_empty() {
            MARGIN + 6.0
        } else {
            MARGIN + line(title_size) + 12.0
        };
        let desc_size = font.fit(&fig.x_label, DESC_SIZE, w - 160.0).min(font.fit(
            &fig.y_label,
            DESC_SIZE,
            h - top - 120.0,
        ));
        let desc_h = |label: &str| {
            if label.is_empty() {
                0.0
            } else {
                line(desc_size) + DESC_GAP
            }
        };
        let tick_h = font.cap * TICK_SIZE;
        let bottom = h - MARGIN - desc_h(&fig.x_label) - tick_h - TICK_GAP;
        let (top, bottom) = (top.round(), bottom.round());
        let yt = choose_ticks(ylo, yhi, ylog, bottom - top, 36.0, &|_| tick_h);

        // Horizontal layout: y description, tick labels, plot.
        let tick_w = yt
            .major
            .iter()
            .map(|(_, l)| font.width(l, TICK_SIZE))
            .fold(0.0, f64::max);
        let left = (MARGIN + desc_h(&fig.y_label) + tick_w + TICK_GAP).round();
        let label_w = |l: &str| font.width(l, TICK_SIZE);
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
        let legend = choose_legend(font, &series, &x, &y, (right - left, bottom - top));
        Plan {
            font,
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
fn choose_legend(
    font: &Font,
    series: &[Series],
    x: &Axis,
    y: &Axis,
    (pw, ph): (f64, f64),
) -> Option<Legend> {
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
        .map(|l| font.width(l, LEGEND_SIZE))
        .fold(0.0, f64::max);
    let row = ((font.cap + font.desc) * LEGEND_SIZE + 6.0).round();
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

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A marker as plain plotters elements in pixel offsets: a path, a second path (for crosses)
/// and a circle, the unused ones transparent (skipped by both backends). One concrete type for
/// every shape, because boxed `DynElement`s inside composed elements need `'static` backends,
/// which the file backends are not.
type MarkParts = (
    PathElement<(i32, i32)>,
    PathElement<(i32, i32)>,
    Circle<(i32, i32), i32>,
);

fn mark_parts(mark: Option<Mark>, color: RGBColor, c: (i32, i32)) -> MarkParts {
    let none = || PathElement::new(Vec::new(), TRANSPARENT.stroke_width(1));
    let no_circle = || Circle::new(c, 0, TRANSPARENT.stroke_width(1));
    let Some((shape, filled, r)) = mark else {
        return (none(), none(), no_circle());
    };
    let style = if filled {
        color.filled()
    } else {
        color.stroke_width(2)
    };
    let at = |pts: &[(i32, i32)]| {
        let pts: Vec<(i32, i32)> = pts.iter().map(|&(x, y)| (c.0 + x, c.1 + y)).collect();
        PathElement::new(pts, style)
    };
    // A closed outline starts and ends mid-edge, so the seam is flush (no notch at a corner).
    let closed = |pts: &[(i32, i32)]| {
        let mid = ((pts[0].0 + pts[1].0) / 2, (pts[0].1 + pts[1].1) / 2);
        let mut v = vec![mid];
        v.extend_from_slice(&pts[1..]);
        v.extend_from_slice(&[pts[0], mid]);
        (at(&v), none(), no_circle())
    };
    let t = r + 1; // triangles and diamonds look smaller than squares of the same size
    match shape {
        Shape::Circle => (none(), none(), Circle::new(c, r, style)),
        Shape::Square => closed(&[(-r, -r), (r, -r), (r, r), (-r, r)]),
        Shape::Triangle => closed(&[(-t, t * 3 / 4), (0, -t), (t, t * 3 / 4)]),
        Shape::TriangleDown => closed(&[(-t, -t * 3 / 4), (0, t), (t, -t * 3 / 4)]),
        Shape::Diamond => closed(&[(0, -t), (t, 0), (0, t), (-t, 0)]),
        Shape::Cross => (
            at(&[(-r, -r), (r, r)]),
            at(&[(-r, r), (r, -r)]),
            no_circle(),
        ),
        Shape::Plus => (at(&[(-t, 0), (t, 0)]), at(&[(0, -t), (0, t)]), no_circle()),
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    plan: &Plan,
    target: Target,
) -> DrawResult<DB> {
    let (font, fig) = (plan.font, plan.fig);
    let text = |s: &str, spec: Text, at: (f64, f64)| put_text(root, font, target, s, spec, at);
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
            let color = s.look.color;
            chart.draw_series(s.markers.iter().map(|&p| {
                let (a, b, c) = mark_parts(Some(m), color, (0, 0));
                EmptyElement::at(p) + a + b + c
            }))?;
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
        text(label, tick(TICK_SIZE), at)?;
    }
    for (v, label) in &plan.y.major {
        let py = chart.backend_coord(&(plan.x.lo, *v)).1;
        root.draw(&PathElement::new(vec![(l - TICK_MARK, py), (l, py)], axis))?;
        let spec = Text {
            h: HPos::Right,
            v: VAlign::Middle,
            ..tick(TICK_SIZE)
        };
        text(label, spec, (f64::from(l) - TICK_GAP, f64::from(py)))?;
    }

    // Title and axis descriptions.
    let (w, h) = (f64::from(WIDTH), f64::from(HEIGHT));
    text(&fig.title, tick(plan.title_size), (w / 2.0, MARGIN))?;
    let desc = Text {
        v: VAlign::Bottom,
        ..tick(plan.desc_size)
    };
    text(&fig.x_label, desc, (f64::from(l + r) / 2.0, h - MARGIN))?;
    let desc = Text {
        v: VAlign::Top,
        rotated: true,
        ..desc
    };
    text(&fig.y_label, desc, (MARGIN, f64::from(t + b) / 2.0))?;

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
            let at = corner(LEGEND_PAD, cy);
            let (pts, dash, gap, style) = legend_line(s.look);
            let (m1, m2, c) = mark_parts(s.marker, s.look.color, (LEGEND_SAMPLE / 2, 0));
            root.draw(
                &(EmptyElement::at(at)
                    + DashedPathElement::new(pts, dash, gap, style)
                    + m1
                    + m2
                    + c),
            )?;
            let spec = Text {
                size: LEGEND_SIZE,
                h: HPos::Left,
                v: VAlign::Middle,
                rotated: false,
            };
            let tx = x0 + LEGEND_PAD + f64::from(LEGEND_SAMPLE) + 8.0;
            text(&s.label, spec, (tx, y0 + cy))?;
        }
    }
    Ok(())
}

/// The line part of a legend sample: points, dash, gap and style for a `DashedPathElement` (a
/// single dash longer than the sample is a solid line; no line is transparent).
fn legend_line(look: Look) -> (Vec<(i32, i32)>, i32, i32, ShapeStyle) {
    let len = LEGEND_SAMPLE;
    match (look.line, look.dash) {
        (Some(_), Some((dash, gap))) => (vec![(0, 0), (len, 0)], dash, gap, look.line_style()),
        (Some(_), None) => (vec![(0, 0), (len, 0)], len + 1, 1, look.line_style()),
        (None, _) => (Vec::new(), 1, 1, TRANSPARENT.stroke_width(1)),
    }
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
        assert!(bytes.len() > 10_000, "PNG only {} bytes", bytes.len());
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

    #[test]
    fn font_metrics_match_plotters() {
        let font = font_metrics().unwrap();
        assert!(font.cap > 0.6 && font.cap < 0.8, "cap height {}", font.cap);
        assert_ne!(font.glyph('µ'), 0);
        assert_ne!(font.glyph('≤'), 0);
        for text in ["dmimo, ideal sync", "AVATAR Ty 10⁻³", "θ = 30°, τ ≤ 2 µs"] {
            let ours = font.width(text, 15.0);
            let size = 15.0 * font.scale_per_em;
            let (theirs, _) = FontDesc::new(FontFamily::Name(FAMILY), size, FontStyle::Normal)
                .box_size(text)
                .unwrap();
            assert!(
                (ours - f64::from(theirs)).abs() <= 1.0,
                "{text}: {ours} vs {theirs}"
            );
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

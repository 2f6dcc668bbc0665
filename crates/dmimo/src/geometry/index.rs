//! A uniform-grid bucket index over a fixed point set: disk, nearest and k-nearest queries and
//! per-node neighbour lists, honouring the window's [`Boundary`].
//!
//! The window is tiled by nx × ny equal cells (counting sort of the points by cell: O(n + cells)
//! time and memory; the default cell side √(2A/n) puts about two points in a cell). A disk query
//! at p with radius r visits, row by row, only the cells whose row band lies within r of p and,
//! in each such row, only the columns within the chord half-width √(r² − g²) (g the gap between p
//! and the band); since the cells of one row are contiguous in the sorted order, each row is one
//! contiguous slice of candidates (two when it wraps on a torus). The cost is O(r²λ + r/cell)
//! candidates. Every candidate is then tested exactly:
//!
//! > j is within r of p  ⇔  `window.distance_sq(window.wrap(p), window.wrap(points[j])) ≤ r²`
//!
//! (minimum-image distance on a torus, each point counted once even when r exceeds half a side),
//! so results agree bit for bit with a brute-force scan using [`Window::distance_sq`]; the cell
//! ranges are widened by 10⁻⁷·r plus 10⁻⁹ of a cell (and 10⁻¹² of the coordinates' magnitude) so
//! rounding can only add candidates, never lose them (a test places points on the circle at a
//! cell corner to check this).
//! On an open window, points outside it are accepted and kept in the border cells (whose bands are
//! treated as extending to infinity), so queries stay exact for them too.
//!
//! Results come in a deterministic order: [`SpatialIndex::within`] and the neighbour lists by
//! ascending index, [`SpatialIndex::k_nearest`] by (distance, index).
//!
//! Why our own index: a k-d tree crate would add a dependency and still need the torus metric;
//! a bucket grid is the natural structure for the near-uniform densities of these deployments and
//! gives the all-neighbour lists of a 30,000-node network in a fraction of a second.

use super::{min_image, Boundary, GeometryError, Point, Window, MAX_POINTS};
use std::ops::Range;

/// The largest number of cells [`SpatialIndex::with_cell_size`] accepts (4 bytes each).
pub const MAX_INDEX_CELLS: usize = 1 << 26;

/// A point found by a nearest-neighbour query.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    /// Index of the point in the slice the index was built from.
    pub index: usize,
    /// Its distance from the query point (m), minimum-image on a torus.
    pub distance_m: f64,
}

/// For every point, the other points within a radius, as compressed rows (CSR).
///
/// Indices are stored as `u32` (≤ [`MAX_POINTS`] points) to halve the memory: a 30,000-node
/// network with ~950 neighbours per node holds 2.9·10⁷ entries, 114 MB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeighbourLists {
    offsets: Vec<usize>,
    neighbours: Vec<u32>,
}

impl NeighbourLists {
    /// Number of points (rows).
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// No points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The neighbours of point `i` (itself excluded), ascending. Panics if `i` is out of range.
    pub fn of(&self, i: usize) -> &[u32] {
        &self.neighbours[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Number of neighbours of point `i`.
    pub fn degree(&self, i: usize) -> usize {
        self.offsets[i + 1] - self.offsets[i]
    }

    /// Total number of (ordered) neighbour entries: twice the number of pairs.
    pub fn total(&self) -> usize {
        self.neighbours.len()
    }

    /// The lists in point order.
    pub fn iter(&self) -> impl Iterator<Item = &[u32]> + '_ {
        self.offsets
            .windows(2)
            .map(|w| &self.neighbours[w[0]..w[1]])
    }
}

/// A uniform-grid bucket index over a point set in a [`Window`]. See the module docs.
#[derive(Clone, Debug)]
pub struct SpatialIndex {
    window: Window,
    nx: usize,
    ny: usize,
    /// Cell width and height (m): the window's sides divided by nx, ny.
    cw: f64,
    ch: f64,
    /// Cell c (row-major, c = iy·nx + ix) holds sorted entries `cell_start[c]..cell_start[c + 1]`.
    cell_start: Vec<u32>,
    /// Point indices in cell order, ascending within a cell.
    ids: Vec<u32>,
    /// Positions in cell order (wrapped on a torus).
    pos: Vec<Point>,
    /// Positions in index order (wrapped on a torus).
    points: Vec<Point>,
    /// Widening of cell ranges against rounding (m).
    eps: f64,
}

impl SpatialIndex {
    /// Builds the index with about two points per cell (cell side √(2A/n), at most 4n + 16
    /// cells). O(n).
    ///
    /// # Panics
    /// If a point is not finite, or there are more than [`MAX_POINTS`] points.
    pub fn new(points: &[Point], window: &Window) -> Self {
        let n = points.len().max(1) as f64;
        let side = (2.0 * window.area() / n).sqrt();
        let (mut nx, mut ny) = cells_for(window, side);
        let cap = 4 * points.len() + 16;
        while nx * ny > cap {
            nx = nx.div_ceil(2);
            ny = ny.div_ceil(2);
        }
        Self::build(points, window, nx, ny)
    }

    /// Builds the index with cells of side at least `cell_m` (the window is tiled by
    /// ⌊W/cell_m⌋ × ⌊H/cell_m⌋ equal cells, at least one). Errors if `cell_m` is not finite and
    /// > 0 or the grid would exceed [`MAX_INDEX_CELLS`].
    ///
    /// # Panics
    /// As [`SpatialIndex::new`].
    pub fn with_cell_size(
        points: &[Point],
        window: &Window,
        cell_m: f64,
    ) -> Result<Self, GeometryError> {
        super::check_positive("cell_m", cell_m)?;
        let (nx, ny) = cells_for(window, cell_m);
        if (nx as f64) * (ny as f64) > MAX_INDEX_CELLS as f64 {
            return Err(GeometryError::TooLarge {
                what: "spatial index",
                required: nx as f64 * ny as f64,
                unit: "cells",
                cap: MAX_INDEX_CELLS as f64,
                hint: "use a larger cell_m".into(),
            });
        }
        Ok(Self::build(points, window, nx, ny))
    }

    fn build(points: &[Point], window: &Window, nx: usize, ny: usize) -> Self {
        assert!(
            points.len() <= MAX_POINTS,
            "SpatialIndex: {} points, more than MAX_POINTS = {MAX_POINTS}",
            points.len()
        );
        let pts: Vec<Point> = points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                assert!(
                    p.is_finite(),
                    "SpatialIndex: point {i} is not finite: {p:?}"
                );
                window.wrap(*p)
            })
            .collect();
        let (cw, ch) = (window.width() / nx as f64, window.height() / ny as f64);
        let min = window.min();
        let scale = min.x.abs() + min.y.abs() + window.width() + window.height();
        let mut index = SpatialIndex {
            window: *window,
            nx,
            ny,
            cw,
            ch,
            cell_start: vec![0; nx * ny + 1],
            ids: vec![0; pts.len()],
            pos: vec![Point::default(); pts.len()],
            points: Vec::new(),
            eps: 1e-9 * (cw + ch) + 1e-12 * scale,
        };
        // Counting sort by cell; stable, so indices ascend within a cell.
        let cells: Vec<u32> = pts.iter().map(|&p| index.cell_of(p) as u32).collect();
        for &c in &cells {
            index.cell_start[c as usize + 1] += 1;
        }
        for c in 0..nx * ny {
            index.cell_start[c + 1] += index.cell_start[c];
        }
        let mut cursor: Vec<u32> = index.cell_start[..nx * ny].to_vec();
        for (i, &c) in cells.iter().enumerate() {
            let k = cursor[c as usize] as usize;
            cursor[c as usize] += 1;
            index.ids[k] = i as u32;
            index.pos[k] = pts[i];
        }
        index.points = pts;
        index
    }

    /// The cell of a (wrapped) point; points outside an open window go to the border cells.
    fn cell_of(&self, p: Point) -> usize {
        let min = self.window.min();
        let ix = clamp_cell(((p.x - min.x) / self.cw).floor(), self.nx);
        let iy = clamp_cell(((p.y - min.y) / self.ch).floor(), self.ny);
        iy * self.nx + ix
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// No points.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The window.
    pub fn window(&self) -> &Window {
        &self.window
    }

    /// The indexed positions in index order (wrapped into the window on a torus).
    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// Grid dimensions (nx, ny).
    pub fn grid_dims(&self) -> (usize, usize) {
        (self.nx, self.ny)
    }

    /// Cell width and height (m).
    pub fn cell_size_m(&self) -> (f64, f64) {
        (self.cw, self.ch)
    }

    /// Calls `f` with ranges of the cell-ordered arrays that together hold every point within `r`
    /// of the wrapped query point `p` (and some others); each point at most once.
    fn for_each_range(&self, p: Point, r: f64, mut f: impl FnMut(Range<usize>)) {
        let min = self.window.min();
        let (px, py) = (p.x - min.x, p.y - min.y);
        // Rounding margin: √(r² − g²) loses up to ~1.5e-8·r to cancellation when g ≈ r, and the
        // exact test may accept a distance a few ulps above r; 1e-7·r covers both.
        let eps = self.eps + 1e-7 * r;
        let reach = r + eps;
        let (nx, ny, cw, ch) = (self.nx, self.ny, self.cw, self.ch);
        let torus = self.window.boundary() == Boundary::Torus;
        let h = self.window.height();
        let row = |j: usize, gy: f64, f: &mut dyn FnMut(Range<usize>)| {
            if gy > reach {
                return;
            }
            let hw = (r * r - gy * gy).max(0.0).sqrt() + eps;
            let (lo, hi) = (((px - hw) / cw).floor(), ((px + hw) / cw).floor());
            let base = j * nx;
            let slice = |a: usize, b: usize| {
                self.cell_start[base + a] as usize..self.cell_start[base + b + 1] as usize
            };
            if !torus {
                f(slice(clamp_cell(lo, nx), clamp_cell(hi, nx)));
            } else if hi - lo + 1.0 >= nx as f64 {
                f(slice(0, nx - 1));
            } else {
                let a = (lo as i64).rem_euclid(nx as i64) as usize;
                let b = (hi as i64).rem_euclid(nx as i64) as usize;
                if a <= b {
                    f(slice(a, b));
                } else {
                    f(slice(a, nx - 1));
                    f(slice(0, b));
                }
            }
        };
        let (lo, hi) = (((py - reach) / ch).floor(), ((py + reach) / ch).floor());
        if !torus {
            for j in clamp_cell(lo, ny)..=clamp_cell(hi, ny) {
                // border rows extend to ±∞ (they hold the points outside the window)
                let band_lo = if j == 0 {
                    f64::NEG_INFINITY
                } else {
                    j as f64 * ch
                };
                let band_hi = if j == ny - 1 {
                    f64::INFINITY
                } else {
                    (j + 1) as f64 * ch
                };
                row(j, gap(py, band_lo, band_hi), &mut f);
            }
        } else {
            let torus_gap = |j: usize| {
                let (a, b) = (j as f64 * ch, (j + 1) as f64 * ch);
                gap(py, a, b)
                    .min(gap(py, a - h, b - h))
                    .min(gap(py, a + h, b + h))
            };
            if hi - lo + 1.0 >= ny as f64 {
                for j in 0..ny {
                    row(j, torus_gap(j), &mut f);
                }
            } else {
                for jj in lo as i64..=hi as i64 {
                    let j = jj.rem_euclid(ny as i64) as usize;
                    row(j, torus_gap(j), &mut f);
                }
            }
        }
    }

    /// Calls `visit(k)` for every position k of the cell-ordered arrays within `r` of the
    /// wrapped query point `p`, testing exactly `window.distance_sq(p, pos[k]) ≤ r²` (the same
    /// arithmetic, with the boundary dispatched once outside the loop).
    #[inline]
    fn for_each_within(&self, p: Point, r: f64, mut visit: impl FnMut(usize)) {
        if r < 0.0 {
            return;
        }
        let r2 = r * r;
        match self.window.boundary() {
            Boundary::Open => self.for_each_range(p, r, |range| {
                for k in range {
                    let q = self.pos[k];
                    let (dx, dy) = (q.x - p.x, q.y - p.y);
                    if dx * dx + dy * dy <= r2 {
                        visit(k);
                    }
                }
            }),
            Boundary::Torus => {
                let (w, h) = (self.window.width(), self.window.height());
                self.for_each_range(p, r, |range| {
                    for k in range {
                        let q = self.pos[k];
                        let (dx, dy) = (min_image(q.x - p.x, w), min_image(q.y - p.y, h));
                        if dx * dx + dy * dy <= r2 {
                            visit(k);
                        }
                    }
                })
            }
        }
    }

    fn query_point(&self, p: Point, r: f64) -> Point {
        assert!(
            p.is_finite(),
            "SpatialIndex: query point {p:?} is not finite"
        );
        assert!(!r.is_nan(), "SpatialIndex: query radius is NaN");
        self.window.wrap(p)
    }

    /// Indices of the points within distance `r` (m, inclusive) of `p`, ascending. A negative
    /// radius finds nothing. On a torus `p` is wrapped first and distances are minimum-image.
    ///
    /// # Panics
    /// If `p` is not finite or `r` is NaN.
    pub fn within(&self, p: Point, r: f64) -> Vec<usize> {
        let mut out = Vec::new();
        self.within_into(p, r, &mut out);
        out
    }

    /// [`SpatialIndex::within`] into a caller-owned buffer (cleared first), to reuse its
    /// allocation across queries.
    pub fn within_into(&self, p: Point, r: f64, out: &mut Vec<usize>) {
        out.clear();
        let p = self.query_point(p, r);
        self.for_each_within(p, r, |k| out.push(self.ids[k] as usize));
        out.sort_unstable();
    }

    /// Number of points within `r` of `p` (as [`SpatialIndex::within`], without collecting).
    pub fn count_within(&self, p: Point, r: f64) -> usize {
        let p = self.query_point(p, r);
        let mut count = 0;
        self.for_each_within(p, r, |_| count += 1);
        count
    }

    /// The nearest point to `p` (smallest index among equidistant ones), `None` if empty.
    pub fn nearest(&self, p: Point) -> Option<Neighbour> {
        self.k_nearest(p, 1).into_iter().next()
    }

    /// The `k` nearest points to `p` (all of them if fewer), sorted by (distance, index). A point
    /// of the set queried at its own position finds itself at distance 0.
    ///
    /// Disk queries of radius √(k/(πλ))·1.2 (λ = n/A), doubled until they hold at least k points;
    /// then every point outside the last disk is farther than the k-th found, so the result is
    /// exact.
    ///
    /// # Panics
    /// If `p` is not finite.
    pub fn k_nearest(&self, p: Point, k: usize) -> Vec<Neighbour> {
        let n = self.len();
        let p = self.query_point(p, 0.0);
        if n == 0 || k == 0 {
            return Vec::new();
        }
        let want = k.min(n);
        let density = n as f64 / self.window.area();
        let mut r = 1.2 * (want as f64 / (std::f64::consts::PI * density)).sqrt();
        let mut found = Vec::new();
        loop {
            self.within_into(p, r, &mut found);
            if found.len() >= want {
                break;
            }
            r *= 2.0;
        }
        let mut scored: Vec<(f64, usize)> = found
            .iter()
            .map(|&j| (self.window.distance_sq(p, self.points[j]), j))
            .collect();
        let by = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        if scored.len() > want {
            scored.select_nth_unstable_by(want - 1, by);
            scored.truncate(want);
        }
        scored.sort_unstable_by(by);
        scored
            .into_iter()
            .map(|(d2, index)| Neighbour {
                index,
                distance_m: d2.sqrt(),
            })
            .collect()
    }

    /// For every point i, the other points within `r` (m, inclusive) of it, ascending; the
    /// relation is symmetric. One scan per point (O(r²λ + r/cell) candidates), appending to
    /// compressed rows, each then sorted by an LSD radix sort on 8-bit digits (2 passes up to 65,536
    /// points): O(n·(r²λ + r/cell)) overall.
    ///
    /// # Panics
    /// If `r` is NaN.
    pub fn neighbour_lists(&self, r: f64) -> NeighbourLists {
        assert!(!r.is_nan(), "SpatialIndex: neighbour radius is NaN");
        let n = self.len();
        let bits = usize::BITS - n.saturating_sub(1).leading_zeros();
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        // expected entries: n·λπr² (capped), to avoid most reallocations
        let guess = n as f64 * (n as f64 / self.window.area()) * std::f64::consts::PI * r * r;
        let cap = (n as f64) * (n as f64 - 1.0);
        let mut neighbours: Vec<u32> = Vec::with_capacity(guess.min(cap).max(0.0) as usize);
        let mut scratch = Vec::new();
        for i in 0..n {
            let start = neighbours.len();
            self.for_each_within(self.points[i], r, |k| {
                if self.ids[k] as usize != i {
                    neighbours.push(self.ids[k]);
                }
            });
            radix_sort(&mut neighbours[start..], &mut scratch, bits);
            offsets.push(neighbours.len());
        }
        NeighbourLists {
            offsets,
            neighbours,
        }
    }
}

/// Sorts `v` ascending; its values are below 2^`bits`. Short slices: `sort_unstable`; longer:
/// LSD radix sort with 8-bit digits through `scratch`.
fn radix_sort(v: &mut [u32], scratch: &mut Vec<u32>, bits: u32) {
    if v.len() < 128 {
        v.sort_unstable();
        return;
    }
    let passes = bits.div_ceil(8).max(1);
    scratch.resize(v.len(), 0);
    {
        let mut src: &mut [u32] = &mut *v;
        let mut dst: &mut [u32] = &mut scratch[..];
        for pass in 0..passes {
            let shift = 8 * pass;
            let mut start = [0usize; 256];
            for &x in src.iter() {
                start[((x >> shift) & 0xff) as usize] += 1;
            }
            let mut sum = 0;
            for c in start.iter_mut() {
                let count = *c;
                *c = sum;
                sum += count;
            }
            for &x in src.iter() {
                let d = ((x >> shift) & 0xff) as usize;
                dst[start[d]] = x;
                start[d] += 1;
            }
            std::mem::swap(&mut src, &mut dst);
        }
    }
    if passes % 2 == 1 {
        v.copy_from_slice(&scratch[..v.len()]);
    }
}

/// Grid dimensions with cells of side ≥ `side` tiling the window (at least 1 × 1).
fn cells_for(window: &Window, side: f64) -> (usize, usize) {
    let count = |len: f64| (len / side).floor().clamp(1.0, 1e9) as usize;
    (count(window.width()), count(window.height()))
}

/// ⌊v⌋ (already floored) clamped to a cell index in 0..n.
fn clamp_cell(v: f64, n: usize) -> usize {
    if v <= 0.0 {
        0
    } else if v >= (n - 1) as f64 {
        n - 1
    } else {
        v as usize
    }
}

/// Distance from y to the interval [a, b] (0 inside).
fn gap(y: f64, a: f64, b: f64) -> f64 {
    (a - y).max(y - b).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Deployment;
    use crate::rng::SeedTree;
    use proptest::prelude::*;

    fn brute_within(w: &Window, pts: &[Point], p: Point, r: f64) -> Vec<usize> {
        let p = w.wrap(p);
        (0..pts.len())
            .filter(|&j| r >= 0.0 && w.distance_sq(p, w.wrap(pts[j])) <= r * r)
            .collect()
    }

    fn brute_knn(w: &Window, pts: &[Point], p: Point, k: usize) -> Vec<(usize, f64)> {
        let p = w.wrap(p);
        let mut all: Vec<(f64, usize)> = (0..pts.len())
            .map(|j| (w.distance_sq(p, w.wrap(pts[j])), j))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.into_iter()
            .take(k)
            .map(|(d2, j)| (j, d2.sqrt()))
            .collect()
    }

    /// (window, points, queries (point, radius, k), optional cell size).
    type Scene = (Window, Vec<Point>, Vec<(Point, f64, usize)>, Option<f64>);

    /// A window, points (some outside the window, some duplicated, some on cell edges), queries.
    fn scene() -> impl Strategy<Value = Scene> {
        (
            1.0f64..500.0,
            1.0f64..500.0,
            -1000.0f64..1000.0,
            any::<bool>(),
            prop::collection::vec((-0.2f64..1.2, -0.2f64..1.2, 0u8..10), 0..120),
            prop::collection::vec((-0.5f64..1.5, -0.5f64..1.5, 0.0f64..1.2, 0usize..12), 1..12),
            prop::option::of(0.02f64..0.6),
        )
            .prop_map(|(w, h, x0, torus, raw, queries, cell)| {
                let boundary = if torus {
                    Boundary::Torus
                } else {
                    Boundary::Open
                };
                let win =
                    Window::new(Point::new(x0, -x0), Point::new(x0 + w, h - x0), boundary).unwrap();
                let at = |u: f64, v: f64| Point::new(x0 + u * w, -x0 + v * h);
                let mut pts: Vec<Point> = Vec::new();
                for (u, v, kind) in raw {
                    let p = match kind {
                        // duplicate of an earlier point
                        0 if !pts.is_empty() => pts[pts.len() / 2],
                        // on a grid line of a 10×10 tiling
                        1 => at((u * 10.0).round() / 10.0, v),
                        _ => at(u, v),
                    };
                    pts.push(p);
                }
                let diag = (w * w + h * h).sqrt();
                let queries = queries
                    .into_iter()
                    .map(|(u, v, rr, k)| (at(u, v), rr * diag - 0.05 * diag, k))
                    .collect();
                (win, pts, queries, cell.map(|c| c * w.min(h)))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn queries_match_brute_force((win, pts, queries, cell) in scene()) {
            let index = match cell {
                Some(c) => SpatialIndex::with_cell_size(&pts, &win, c).unwrap(),
                None => SpatialIndex::new(&pts, &win),
            };
            for &(p, r, k) in &queries {
                let want = brute_within(&win, &pts, p, r);
                prop_assert_eq!(&index.within(p, r), &want);
                prop_assert_eq!(index.count_within(p, r), want.len());
                let knn = index.k_nearest(p, k);
                let want_knn = brute_knn(&win, &pts, p, k);
                prop_assert_eq!(knn.len(), want_knn.len());
                for (a, b) in knn.iter().zip(&want_knn) {
                    prop_assert_eq!(a.index, b.0);
                    prop_assert_eq!(a.distance_m, b.1);
                }
                let want_nn = brute_knn(&win, &pts, p, 1);
                prop_assert_eq!(index.nearest(p).map(|n| n.index), want_nn.first().map(|b| b.0));
            }
            let r = queries[0].1;
            let lists = index.neighbour_lists(r);
            prop_assert_eq!(lists.len(), pts.len());
            for i in 0..pts.len() {
                let want: Vec<u32> = brute_within(&win, &pts, pts[i], r)
                    .into_iter()
                    .filter(|&j| j != i)
                    .map(|j| j as u32)
                    .collect();
                prop_assert_eq!(lists.of(i), &want[..]);
            }
        }
    }

    proptest! {
        #[test]
        fn radix_sort_sorts(mut v in prop::collection::vec(any::<u32>(), 0..600), bits in 1u32..=32) {
            let mask = if bits == 32 { u32::MAX } else { (1u32 << bits) - 1 };
            for x in v.iter_mut() {
                *x &= mask;
            }
            let mut want = v.clone();
            want.sort_unstable();
            radix_sort(&mut v, &mut Vec::new(), bits);
            prop_assert_eq!(v, want);
        }
    }

    #[test]
    fn points_on_the_circle_at_a_cell_edge_are_not_lost() {
        // Query p with p.y + r exactly on a cell boundary; points at distance ≈ r straight above
        // p, offset in x by tiny amounts, straddle the boundary: rounding decides whether they are
        // within r, and the index must agree with brute force whichever way it goes.
        for boundary in [Boundary::Open, Boundary::Torus] {
            let w =
                Window::new(Point::new(0.0, 0.0), Point::new(2000.0, 2000.0), boundary).unwrap();
            let seed_pts: Vec<Point> = (0..4000)
                .map(|k| Point::new((k % 63) as f64 * 31.7, (k / 63) as f64 * 31.3))
                .collect();
            let ch = 40.0; // cells of exactly 40 m (2000 / 50)
            let r = 500.0;
            // p.x a hair right of a column boundary, so tiny negative dx cross into the next column
            let p = Point::new(1000.0 + 1e-6, 20.0 * ch - r);
            let mut pts = seed_pts.clone();
            for k in 0..400 {
                let dx = (k as f64 - 200.0) * 1e-7;
                for dy in [r, r.next_down(), r.next_up(), (r * r - dx * dx).sqrt()] {
                    pts.push(Point::new(p.x + dx, p.y + dy));
                    pts.push(Point::new(p.x + dy, p.y + dx));
                }
            }
            let idx = SpatialIndex::with_cell_size(&pts, &w, ch).unwrap();
            assert_eq!(idx.cell_size_m(), (ch, ch));
            let want = brute_within(&w, &pts, p, r);
            let got = idx.within(p, r);
            let missing: Vec<_> = want.iter().filter(|j| !got.contains(j)).collect();
            let extra: Vec<_> = got.iter().filter(|j| !want.contains(j)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{boundary:?}: {missing:?} {extra:?}"
            );
            let lists = idx.neighbour_lists(r);
            let mut from_lists: Vec<usize> = Vec::new();
            // p itself is not a point; check the symmetric relation through the lists of the
            // circle points instead: a circle point j lists i iff brute force says so
            for j in (seed_pts.len()..pts.len()).step_by(37) {
                from_lists.clear();
                from_lists.extend(lists.of(j).iter().map(|&i| i as usize));
                let mut want = brute_within(&w, &pts, pts[j], r);
                want.retain(|&i| i != j);
                assert!(
                    from_lists == want,
                    "{boundary:?}: lists of point {j} differ"
                );
            }
        }
    }

    #[test]
    fn torus_disk_crosses_the_edges_and_counts_each_point_once() {
        let w = Window::new(
            Point::new(0.0, 0.0),
            Point::new(100.0, 100.0),
            Boundary::Torus,
        )
        .unwrap();
        let pts = [
            Point::new(1.0, 1.0),
            Point::new(99.0, 99.0),
            Point::new(99.0, 1.0),
            Point::new(50.0, 50.0),
        ];
        let idx = SpatialIndex::new(&pts, &w);
        assert_eq!(idx.within(Point::new(0.0, 0.0), 2.0), vec![0, 1, 2]);
        assert_eq!(idx.within(Point::new(200.0, -100.0), 2.0), vec![0, 1, 2]);
        // r beyond half the diagonal: everything, once
        assert_eq!(idx.within(Point::new(0.0, 0.0), 1e6), vec![0, 1, 2, 3]);
        assert_eq!(
            idx.within(Point::new(0.0, 0.0), f64::INFINITY),
            vec![0, 1, 2, 3]
        );
        // from (0.5, 0.5): point 0 at (0.5, 0.5), point 2 at (−1.5, 0.5), point 1 at (−1.5, −1.5)
        let nn = idx.k_nearest(Point::new(0.5, 0.5), 3);
        assert_eq!(
            nn.iter().map(|n| n.index).collect::<Vec<_>>(),
            vec![0, 2, 1]
        );
        assert!((nn[1].distance_m - 2.5f64.sqrt()).abs() < 1e-12);
        assert!((nn[2].distance_m - 1.5 * 2f64.sqrt()).abs() < 1e-12);
        let open = SpatialIndex::new(&pts, &w.with_boundary(Boundary::Open));
        assert_eq!(open.within(Point::new(0.0, 0.0), 2.0), vec![0]);
        assert_eq!(open.nearest(Point::new(98.0, 2.0)).unwrap().index, 2);
    }

    #[test]
    fn empty_and_degenerate_sets() {
        let w = Window::centered(10.0, 10.0, Boundary::Open).unwrap();
        let idx = SpatialIndex::new(&[], &w);
        assert!(idx.is_empty());
        assert!(idx.within(Point::new(0.0, 0.0), 5.0).is_empty());
        assert!(idx.nearest(Point::new(0.0, 0.0)).is_none());
        assert!(idx.neighbour_lists(1.0).is_empty());
        // all points at one spot, query far outside the window: the doubling search reaches them
        let pts = vec![Point::new(1.0, 1.0); 5];
        let idx = SpatialIndex::new(&pts, &w);
        let nn = idx.k_nearest(Point::new(1e6, -1e6), 3);
        assert_eq!(
            nn.iter().map(|n| n.index).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert_eq!(idx.neighbour_lists(0.0).of(2), &[0, 1, 3, 4]);
        assert!(idx.within(Point::new(1.0, 1.0), -1.0).is_empty());
        assert!(SpatialIndex::with_cell_size(&pts, &w, 0.0).is_err());
        assert!(SpatialIndex::with_cell_size(&pts, &w, 1e-4).is_err());
    }

    #[test]
    #[should_panic(expected = "not finite")]
    fn non_finite_points_panic() {
        let w = Window::centered(10.0, 10.0, Boundary::Open).unwrap();
        SpatialIndex::new(&[Point::new(f64::NAN, 0.0)], &w);
    }

    #[test]
    fn neighbour_lists_match_within_for_a_poisson_network() {
        let w = Window::centered(2000.0, 2000.0, Boundary::Torus).unwrap();
        let pts = Deployment::Poisson {
            density_per_m2: 5e-4,
        }
        .generate(&w, &mut SeedTree::new(2).rng());
        let idx = SpatialIndex::new(&pts, &w);
        let lists = idx.neighbour_lists(150.0);
        let mut degree_sum = 0;
        for (i, list) in lists.iter().enumerate() {
            let mut want = idx.within(pts[i], 150.0);
            want.retain(|&j| j != i);
            assert_eq!(list.iter().map(|&j| j as usize).collect::<Vec<_>>(), want);
            degree_sum += lists.degree(i);
        }
        assert_eq!(degree_sum, lists.total());
        // mean degree ≈ λπr² = 35.3 (torus: no edge loss)
        let mean = degree_sum as f64 / pts.len() as f64;
        assert!((mean - 35.34).abs() < 2.0, "{mean}");
    }

    /// Timing for notes/000 §4.5 (per-node lists of audible transmitters): 30,000 Poisson points
    /// over 25 km², r = 500 m. Run with
    /// `cargo test --release -- --ignored --nocapture timing_30k`.
    #[test]
    #[ignore]
    fn timing_30k_all_neighbours() {
        use std::time::Instant;
        for boundary in [Boundary::Open, Boundary::Torus] {
            let w = Window::centered(5000.0, 5000.0, boundary).unwrap();
            let pts =
                Deployment::Binomial { count: 30_000 }.generate(&w, &mut SeedTree::new(1).rng());
            let t0 = Instant::now();
            let idx = SpatialIndex::new(&pts, &w);
            let t_build = t0.elapsed();
            let t1 = Instant::now();
            let lists = idx.neighbour_lists(500.0);
            let t_lists = t1.elapsed();
            let t2 = Instant::now();
            let mut buf = Vec::new();
            let mut hits = 0;
            for p in pts.iter().take(3000) {
                idx.within_into(*p, 500.0, &mut buf);
                hits += buf.len();
            }
            let t_within = t2.elapsed();
            // correlated shadowing (3GPP UMi NLOS: σ = 7.82 dB, d_c = 13 m) on every listed link
            let t4 = Instant::now();
            let shadow = crate::geometry::Shadowing::Correlated {
                sigma_db: 7.82,
                decorrelation_m: 13.0,
                grid_spacing_m: None,
            };
            let real = shadow
                .realize(&pts, &w, &mut SeedTree::new(2).rng())
                .unwrap();
            let t_field = t4.elapsed();
            let t5 = Instant::now();
            let mut acc = 0.0;
            for (i, list) in lists.iter().enumerate() {
                for &j in list {
                    acc += real.link_shadowing_db(i, j as usize);
                }
            }
            let t_links = t5.elapsed();
            println!(
                "{boundary:?}: correlated shadowing field + 30k positions {:.0} ms, {} link values {:.0} ms (mean {:.3} dB)",
                t_field.as_secs_f64() * 1e3,
                lists.total(),
                t_links.as_secs_f64() * 1e3,
                acc / lists.total() as f64
            );
            let t3 = Instant::now();
            let mut s = 0;
            for p in pts.iter().take(3000) {
                s += idx.k_nearest(*p, 10).len();
            }
            let t_knn = t3.elapsed();
            println!(
                "{boundary:?}: n = {}, grid {:?}, build {:.2} ms, all-neighbour lists (r = 500 m) {:.1} ms \
                 ({} entries, mean degree {:.1}), 3000 within(500 m) {:.1} ms ({hits} hits), \
                 3000 k_nearest(10) {:.1} ms ({s})",
                pts.len(),
                idx.grid_dims(),
                t_build.as_secs_f64() * 1e3,
                t_lists.as_secs_f64() * 1e3,
                lists.total(),
                lists.total() as f64 / pts.len() as f64,
                t_within.as_secs_f64() * 1e3,
                t_knn.as_secs_f64() * 1e3,
            );
        }
    }
}

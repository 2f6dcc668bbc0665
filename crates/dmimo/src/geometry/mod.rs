//! Geometry of a drop: where the nodes are, who is near whom, and the position-dependent parts of
//! the large-scale channel (shadowing, UMi path loss).
//!
//! - [`Point`], [`Window`] and [`Boundary`]: positions in metres in an axis-aligned rectangle that
//!   is either an ordinary plane region ([`Boundary::Open`]) or a flat torus
//!   ([`Boundary::Torus`]), in which case every displacement and distance is the minimum-image one.
//! - [`deployment`]: point processes and lattices (Poisson, binomial, hexagonal, square) and the
//!   guard-zone helper for edge-effect-free statistics (notes/001 §5: PPPs of RRHs and users).
//! - [`index`]: a uniform-grid bucket index for disk, nearest and k-nearest queries and for
//!   per-node neighbour lists of networks with 10⁴–10⁵ nodes (notes/000 §4.1, §4.5).
//! - [`shadowing`]: log-normal shadowing, i.i.d. or spatially correlated (Gudmundson's
//!   exp(−d/d_c)), realized on a grid by circulant embedding.
//!
//! ```
//! use dmimo::geometry::{Boundary, Deployment, SpatialIndex, Window};
//! use dmimo::rng::SeedTree;
//!
//! let window = Window::centered(1000.0, 1000.0, Boundary::Torus).unwrap();
//! let ppp = Deployment::Poisson { density_per_m2: 1e-4 }; // 100 per km², so ~100 points here
//! ppp.validate_in(&window).unwrap();
//! let points = ppp.generate(&window, &mut SeedTree::new(1).child("aps").rng());
//! let index = SpatialIndex::new(&points, &window);
//! let near = index.within(points[0], 150.0); // sorted by index, includes point 0 itself
//! assert!(near.contains(&0));
//! ```

pub mod deployment;
pub mod index;
pub mod shadowing;

pub use deployment::{generate_with_guard, Deployment, GuardedPoints, Jitter};
pub use index::{Neighbour, NeighbourLists, SpatialIndex};
pub use shadowing::{GaussianField, GaussianFieldSampler, Shadowing, ShadowingRealization};

use serde::{Deserialize, Serialize};

/// The largest number of points a deployment may be asked to produce (expected count for a
/// Poisson process): 5·10⁷ points are 800 MB of coordinates. Indices are stored as `u32` in
/// [`SpatialIndex`], which this also keeps in range.
pub const MAX_POINTS: usize = 50_000_000;

/// A bad input to a geometry constructor or a deserialized configuration: which field, its value,
/// and what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    /// A parameter outside its allowed range.
    #[error("field `{field}` = {value}: must be {allowed}")]
    InvalidParameter {
        /// The field name as it appears in the configuration (`density_per_m2`).
        field: &'static str,
        /// The offending value.
        value: f64,
        /// The allowed range, in words (`finite and > 0`).
        allowed: String,
    },
    /// A request that would need more memory than a documented cap.
    #[error("{what} needs {required} {unit}, more than the cap of {cap}: {hint}")]
    TooLarge {
        /// What was being built (`correlated shadowing grid`).
        what: &'static str,
        /// How many units it needs.
        required: f64,
        /// The unit (`points`, `grid cells`).
        unit: &'static str,
        /// The cap.
        cap: f64,
        /// What to change.
        hint: String,
    },
    /// The circulant embedding of a correlated field has significantly negative eigenvalues, so
    /// the field cannot be generated with the requested covariance.
    #[error(
        "circulant embedding of exp(-d/{decorrelation_m} m) on a {width_m} m × {height_m} m torus \
         is not positive semi-definite (clipped eigenvalue mass {clipped_fraction:.2e} of the \
         variance); the torus must be larger (≳ 5 decorrelation distances per side)"
    )]
    EmbeddingNotPsd {
        /// d_c (m).
        decorrelation_m: f64,
        /// Torus width (m).
        width_m: f64,
        /// Torus height (m).
        height_m: f64,
        /// Σ max(−λ, 0) / Σ λ over the embedding's eigenvalues.
        clipped_fraction: f64,
    },
}

impl GeometryError {
    pub(crate) fn invalid(field: &'static str, value: f64, allowed: impl Into<String>) -> Self {
        GeometryError::InvalidParameter {
            field,
            value,
            allowed: allowed.into(),
        }
    }
}

/// Checks `value` is finite and > 0.
pub(crate) fn check_positive(field: &'static str, value: f64) -> Result<(), GeometryError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(GeometryError::invalid(field, value, "finite and > 0"))
    }
}

/// Checks `value` is finite and ≥ 0.
pub(crate) fn check_non_negative(field: &'static str, value: f64) -> Result<(), GeometryError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(GeometryError::invalid(field, value, "finite and ≥ 0"))
    }
}

/// A position in the plane, in metres.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// x (m).
    pub x: f64,
    /// y (m).
    pub y: f64,
}

impl Point {
    /// The point (x, y), in metres.
    pub const fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }

    /// Both coordinates are finite.
    pub fn is_finite(&self) -> bool {
        self.x.is_finite() && self.y.is_finite()
    }
}

/// How the edges of a [`Window`] behave.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Boundary {
    /// An ordinary rectangle in the plane: Euclidean distances, nothing beyond the edges.
    #[default]
    Open,
    /// Opposite edges are identified (a flat torus): the displacement from a to b is the
    /// minimum-image one, each component reduced into [−side/2, side/2]. Removes edge effects from
    /// Poisson-network statistics (notes/001 §5) at the price of correlations at distances ≳ side/2.
    Torus,
}

/// An axis-aligned rectangle [x_min, x_max) × [y_min, y_max) (metres) with a [`Boundary`].
///
/// Membership is half-open so that, on a torus, the edge x_max (≡ x_min) belongs to exactly one
/// side. Constructed only through checked constructors: the sides are finite and > 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    x_min: f64,
    y_min: f64,
    width: f64,
    height: f64,
    boundary: Boundary,
}

impl Window {
    /// The rectangle with corners `min` and `max`. Errors unless all coordinates are finite and
    /// `max` exceeds `min` in both coordinates.
    pub fn new(min: Point, max: Point, boundary: Boundary) -> Result<Self, GeometryError> {
        for (field, v) in [
            ("x_min", min.x),
            ("y_min", min.y),
            ("x_max", max.x),
            ("y_max", max.y),
        ] {
            if !v.is_finite() {
                return Err(GeometryError::invalid(field, v, "finite"));
            }
        }
        let (width, height) = (max.x - min.x, max.y - min.y);
        if !(width > 0.0 && width.is_finite()) {
            return Err(GeometryError::invalid("x_max", max.x, "> x_min"));
        }
        if !(height > 0.0 && height.is_finite()) {
            return Err(GeometryError::invalid("y_max", max.y, "> y_min"));
        }
        Ok(Window {
            x_min: min.x,
            y_min: min.y,
            width,
            height,
            boundary,
        })
    }

    /// A `width_m` × `height_m` rectangle centred on the origin.
    pub fn centered(
        width_m: f64,
        height_m: f64,
        boundary: Boundary,
    ) -> Result<Self, GeometryError> {
        check_positive("width_m", width_m)?;
        check_positive("height_m", height_m)?;
        Window::new(
            Point::new(-width_m / 2.0, -height_m / 2.0),
            Point::new(width_m / 2.0, height_m / 2.0),
            boundary,
        )
    }

    /// The lower-left corner (m).
    pub fn min(&self) -> Point {
        Point::new(self.x_min, self.y_min)
    }

    /// The upper-right corner (m), excluded from the window.
    pub fn max(&self) -> Point {
        Point::new(self.x_min + self.width, self.y_min + self.height)
    }

    /// The centre (m).
    pub fn center(&self) -> Point {
        Point::new(
            self.x_min + self.width / 2.0,
            self.y_min + self.height / 2.0,
        )
    }

    /// Width (m).
    pub fn width(&self) -> f64 {
        self.width
    }

    /// Height (m).
    pub fn height(&self) -> f64 {
        self.height
    }

    /// Area (m²).
    pub fn area(&self) -> f64 {
        self.width * self.height
    }

    /// The boundary behaviour.
    pub fn boundary(&self) -> Boundary {
        self.boundary
    }

    /// The same rectangle with another boundary.
    pub fn with_boundary(&self, boundary: Boundary) -> Self {
        Window { boundary, ..*self }
    }

    /// The rectangle grown by `margin_m` ≥ 0 on every side, with an open boundary (the outer window
    /// of a guard zone).
    pub fn enlarged(&self, margin_m: f64) -> Result<Self, GeometryError> {
        check_non_negative("margin_m", margin_m)?;
        Window::new(
            Point::new(self.x_min - margin_m, self.y_min - margin_m),
            Point::new(
                self.x_min + self.width + margin_m,
                self.y_min + self.height + margin_m,
            ),
            Boundary::Open,
        )
    }

    /// `p` lies in [x_min, x_max) × [y_min, y_max).
    pub fn contains(&self, p: Point) -> bool {
        let (dx, dy) = (p.x - self.x_min, p.y - self.y_min);
        (0.0..self.width).contains(&dx) && (0.0..self.height).contains(&dy)
    }

    /// On a torus, `p` mapped into the window (coordinates reduced modulo the sides); on an open
    /// window, `p` unchanged.
    pub fn wrap(&self, p: Point) -> Point {
        match self.boundary {
            Boundary::Open => p,
            Boundary::Torus => Point::new(
                wrap_coord(p.x, self.x_min, self.width),
                wrap_coord(p.y, self.y_min, self.height),
            ),
        }
    }

    /// The displacement b − a (m): Euclidean on an open window; on a torus the minimum image, each
    /// component in [−side/2, side/2] (a component already within ±side/2 is kept as is, others
    /// are reduced by the nearest multiple of the side). Exactly antisymmetric: the displacement
    /// from b to a is the negation, so distances are exactly symmetric.
    #[inline]
    pub fn displacement(&self, a: Point, b: Point) -> (f64, f64) {
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        match self.boundary {
            Boundary::Open => (dx, dy),
            Boundary::Torus => (min_image(dx, self.width), min_image(dy, self.height)),
        }
    }

    /// Squared distance |b − a|² (m²), minimum-image on a torus.
    #[inline]
    pub fn distance_sq(&self, a: Point, b: Point) -> f64 {
        let (dx, dy) = self.displacement(a, b);
        dx * dx + dy * dy
    }

    /// Distance |b − a| (m), minimum-image on a torus.
    pub fn distance(&self, a: Point, b: Point) -> f64 {
        self.distance_sq(a, b).sqrt()
    }

    /// A point uniform in the window: x_min + width·U with U uniform in [0, 1) (53-bit), kept
    /// strictly below x_max when rounding would reach it; two draws (x, then y).
    pub fn uniform_point<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> Point {
        let ux: f64 = rng.random();
        let uy: f64 = rng.random();
        Point::new(
            below(self.x_min + self.width * ux, self.x_min + self.width),
            below(self.y_min + self.height * uy, self.y_min + self.height),
        )
    }
}

/// d reduced by the nearest multiple of `len` when |d| > len/2.
#[inline]
pub(crate) fn min_image(d: f64, len: f64) -> f64 {
    if d.abs() <= 0.5 * len {
        d
    } else {
        d - len * (d / len).round()
    }
}

/// `v` if it is < `hi`, else the largest float below `hi`.
fn below(v: f64, hi: f64) -> f64 {
    if v < hi {
        v
    } else {
        hi.next_down()
    }
}

/// `v` reduced into [lo, lo + len).
fn wrap_coord(v: f64, lo: f64, len: f64) -> f64 {
    if v >= lo && v < lo + len {
        return v;
    }
    let w = lo + (v - lo).rem_euclid(len);
    // rem_euclid may round up to `len` for tiny negative offsets; that point is ≡ lo.
    if w < lo + len {
        w
    } else {
        lo
    }
}

#[cfg(test)]
pub(crate) mod test_de;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;

    #[test]
    fn window_constructors_check_their_input() {
        assert!(Window::centered(10.0, 0.0, Boundary::Open).is_err());
        assert!(Window::centered(f64::NAN, 1.0, Boundary::Open).is_err());
        let e = Window::new(Point::new(0.0, 0.0), Point::new(-1.0, 1.0), Boundary::Open);
        assert!(
            matches!(
                e,
                Err(GeometryError::InvalidParameter { field: "x_max", .. })
            ),
            "{e:?}"
        );
        let w = Window::new(Point::new(1.0, 2.0), Point::new(4.0, 7.0), Boundary::Open).unwrap();
        assert_eq!((w.width(), w.height(), w.area()), (3.0, 5.0, 15.0));
        assert_eq!(w.center(), Point::new(2.5, 4.5));
        assert!(w.contains(Point::new(1.0, 2.0)));
        assert!(!w.contains(Point::new(4.0, 3.0)));
        assert!(!w.contains(Point::new(f64::NAN, 3.0)));
        let g = w.enlarged(1.0).unwrap();
        assert_eq!(
            (g.min(), g.max()),
            (Point::new(0.0, 1.0), Point::new(5.0, 8.0))
        );
        assert!(w.enlarged(-1.0).is_err());
    }

    #[test]
    fn torus_distances_use_the_minimum_image() {
        let t = Window::centered(100.0, 50.0, Boundary::Torus).unwrap();
        let o = t.with_boundary(Boundary::Open);
        let (a, b) = (Point::new(-45.0, -20.0), Point::new(45.0, 20.0));
        assert_eq!(o.displacement(a, b), (90.0, 40.0));
        let (dx, dy) = t.displacement(a, b);
        assert!(
            (dx + 10.0).abs() < 1e-12 && (dy + 10.0).abs() < 1e-12,
            "{dx} {dy}"
        );
        assert!((t.distance(a, b) - 200f64.sqrt()).abs() < 1e-12);
        // symmetric, and invariant under shifting either end by a period
        assert_eq!(t.distance(a, b), t.distance(b, a));
        let b2 = Point::new(b.x + 300.0, b.y - 150.0);
        assert!((t.distance(a, b2) - t.distance(a, b)).abs() < 1e-9);
        // never more than half the diagonal
        let mut rng = SeedTree::new(3).rng();
        for _ in 0..1000 {
            let (p, q) = (t.uniform_point(&mut rng), t.uniform_point(&mut rng));
            assert!(t.contains(p) && t.contains(q));
            let (dx, dy) = t.displacement(p, q);
            assert!(dx.abs() <= 50.0 && dy.abs() <= 25.0);
            assert!(t.distance(p, q) <= o.distance(p, q) + 1e-12);
        }
    }

    #[test]
    fn wrap_maps_into_the_window() {
        let t = Window::new(
            Point::new(0.0, 0.0),
            Point::new(10.0, 10.0),
            Boundary::Torus,
        )
        .unwrap();
        assert_eq!(t.wrap(Point::new(-1.0, 23.0)), Point::new(9.0, 3.0));
        assert_eq!(t.wrap(Point::new(10.0, -1e-300)), Point::new(0.0, 0.0));
        assert!(t.contains(t.wrap(Point::new(-1e-17, 5.0))));
        let o = t.with_boundary(Boundary::Open);
        assert_eq!(o.wrap(Point::new(-1.0, 23.0)), Point::new(-1.0, 23.0));
    }

    #[test]
    fn boundary_and_point_deserialize() {
        use test_de::{de, V};
        let b: Boundary = de(V::s("torus")).unwrap();
        assert_eq!(b, Boundary::Torus);
        let p: Point = de(V::map([("x", V::F(1.0)), ("y", V::F(-2.0))])).unwrap();
        assert_eq!(p, Point::new(1.0, -2.0));
        assert!(de::<Point>(V::map([
            ("x", V::F(1.0)),
            ("y", V::F(2.0)),
            ("z", V::F(0.0))
        ]))
        .is_err());
    }
}

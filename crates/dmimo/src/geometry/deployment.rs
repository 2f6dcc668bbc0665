//! Deployments: where the nodes of one drop are.
//!
//! A [`Deployment`] is the configuration (serde, `kind`-tagged) of a point pattern in a [`Window`]:
//!
//! - **Poisson**: the homogeneous Poisson point process of intensity λ (per m²). The count is
//!   N ~ Poisson(λ·A), drawn exactly for every mean (`rand_distr::Poisson`: Knuth's product method
//!   for λA < 12, the Ahrens–Dieter 1982 rejection method above; no normal approximation), then N
//!   i.i.d. uniform positions. This is the RRH and user model of notes/001 §1 (λ_r, λ_u).
//! - **Binomial**: a fixed count of i.i.d. uniform positions (the PPP conditioned on N).
//! - **Hexagonal lattice** with inter-site distance d: sites at c + (i + (j mod 2)/2)·d·x̂ +
//!   j·(√3/2)·d·ŷ, with c the window centre (so the centre is a site); one site per (√3/2)d² of
//!   area.
//! - **Square grid** with spacing s: sites at c + ((i + ½)s, (j + ½)s), c the window centre (for a
//!   side that is an even multiple of s these are the centres of the s × s tiles), one per s².
//!
//! The lattices take an optional per-site [`Jitter`]. On an open window the lattice is the infinite
//! one restricted to the window: sites up to the jitter's reach outside the window are jittered
//! too, and the points that end in the window are kept ("clipped"). On a torus only the sites in
//! the window are used and jittered points are wrapped; the lattice is seamless across the wrap
//! only if the sides are multiples of its period ([`Deployment::is_periodic_on`]: W = n·d and
//! H = m·√3·d for the hexagonal lattice, W = n·s and H = m·s for the square grid).
//!
//! Points are produced in a fixed order (draw order for the random processes, row-major for the
//! lattices) from the caller's generator, so a drop is a deterministic function of its seed.
//!
//! [`generate_with_guard`] implements the guard zone of notes/001 §5 (MC in a window "with a guard
//! zone of 3/√λ_r + R_p"): the process is generated in the window enlarged by the guard on every
//! side, and each point is flagged by whether it lies in the inner window, so statistics are taken
//! over inner points only while their neighbourhoods see a complete pattern.

use super::{check_non_negative, check_positive, GeometryError, Point, Window, MAX_POINTS};
use rand::Rng;
use rand_distr::{Distribution, Poisson, StandardNormal};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A point pattern in a window (configuration). Check with [`Deployment::validate_in`], then
/// [`Deployment::generate`].
///
/// ```
/// # use dmimo::geometry::{Deployment, Jitter};
/// // TOML: { kind = "hex-lattice", inter_site_distance_m = 200.0, jitter = { kind = "gaussian", std_m = 10.0 } }
/// let d = Deployment::HexLattice {
///     inter_site_distance_m: 200.0,
///     jitter: Jitter::Gaussian { std_m: 10.0 },
/// };
/// assert!(d.validate().is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Deployment {
    /// Homogeneous Poisson point process: Poisson(λA) points, uniform in the window.
    Poisson {
        /// Intensity λ (points per m²), finite and > 0.
        density_per_m2: f64,
    },
    /// Binomial point process: exactly `count` points, i.i.d. uniform in the window.
    Binomial {
        /// Number of points, ≤ [`MAX_POINTS`].
        count: usize,
    },
    /// Hexagonal (triangular) lattice with a site at the window centre.
    HexLattice {
        /// Distance between neighbouring sites d (m), finite and > 0.
        inter_site_distance_m: f64,
        /// Per-site displacement (default none).
        #[serde(default)]
        jitter: Jitter,
    },
    /// Square grid with sites at c + ((i + ½)s, (j + ½)s), c the window centre.
    SquareGrid {
        /// Grid spacing s (m), finite and > 0.
        spacing_m: f64,
        /// Per-site displacement (default none).
        #[serde(default)]
        jitter: Jitter,
    },
}

/// A random displacement of each lattice site, independent across sites.
///
/// `None {}` is an empty struct variant rather than a unit variant because serde ignores extra
/// keys after the tag of an internally tagged unit variant; this way `{ kind = "none", std_m = 1 }`
/// is rejected like any other unknown field.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Jitter {
    /// Sites stay on the lattice (the default).
    None {},
    /// Uniform in a disk of the given radius (radius·√U, angle 2πU′).
    UniformDisk {
        /// Disk radius (m), finite and ≥ 0.
        radius_m: f64,
    },
    /// Isotropic Gaussian with the given per-axis standard deviation.
    Gaussian {
        /// Per-axis standard deviation (m), finite and ≥ 0.
        std_m: f64,
    },
}

impl Default for Jitter {
    fn default() -> Self {
        Jitter::None {}
    }
}

impl Jitter {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), GeometryError> {
        match *self {
            Jitter::None {} => Ok(()),
            Jitter::UniformDisk { radius_m } => check_non_negative("radius_m", radius_m),
            Jitter::Gaussian { std_m } => check_non_negative("std_m", std_m),
        }
    }

    /// How far outside the window a site is considered, so that a jittered point can land in it:
    /// the radius, or 6σ for the Gaussian (missing mass ≈ 1e-9 per site near the edge).
    fn reach_m(&self) -> f64 {
        match *self {
            Jitter::None {} => 0.0,
            Jitter::UniformDisk { radius_m } => radius_m,
            Jitter::Gaussian { std_m } => 6.0 * std_m,
        }
    }

    /// One displacement (m). `None` draws nothing; the others two numbers.
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> (f64, f64) {
        match *self {
            Jitter::None {} => (0.0, 0.0),
            Jitter::UniformDisk { radius_m } => {
                let rho = radius_m * rng.random::<f64>().sqrt();
                let theta = 2.0 * PI * rng.random::<f64>();
                (rho * theta.cos(), rho * theta.sin())
            }
            Jitter::Gaussian { std_m } => {
                let zx: f64 = StandardNormal.sample(rng);
                let zy: f64 = StandardNormal.sample(rng);
                (std_m * zx, std_m * zy)
            }
        }
    }
}

impl Deployment {
    /// Checks the parameters alone (not against a window); the error names the field and the
    /// allowed range.
    pub fn validate(&self) -> Result<(), GeometryError> {
        match *self {
            Deployment::Poisson { density_per_m2 } => {
                check_positive("density_per_m2", density_per_m2)
            }
            Deployment::Binomial { count } => {
                if count <= MAX_POINTS {
                    Ok(())
                } else {
                    Err(GeometryError::invalid(
                        "count",
                        count as f64,
                        format!("≤ {MAX_POINTS}"),
                    ))
                }
            }
            Deployment::HexLattice {
                inter_site_distance_m,
                jitter,
            } => {
                check_positive("inter_site_distance_m", inter_site_distance_m)?;
                jitter.validate()
            }
            Deployment::SquareGrid { spacing_m, jitter } => {
                check_positive("spacing_m", spacing_m)?;
                jitter.validate()
            }
        }
    }

    /// [`Deployment::validate`], and the expected number of points (including the sites
    /// considered outside the window for jitter) is at most [`MAX_POINTS`].
    pub fn validate_in(&self, window: &Window) -> Result<(), GeometryError> {
        self.validate()?;
        let n = self.expected_sites(window);
        if n <= MAX_POINTS as f64 {
            Ok(())
        } else {
            Err(GeometryError::TooLarge {
                what: "deployment",
                required: n,
                unit: "points",
                cap: MAX_POINTS as f64,
                hint: "lower the density or enlarge the spacing, or use a smaller window".into(),
            })
        }
    }

    /// The expected number of points in `window`: λA (Poisson), the count (binomial), A per
    /// lattice cell area (lattices: (√3/2)d² hexagonal, s² square; exact only for windows that
    /// are whole numbers of periods, up to edge effects otherwise).
    pub fn expected_count(&self, window: &Window) -> f64 {
        let a = window.area();
        match *self {
            Deployment::Poisson { density_per_m2 } => density_per_m2 * a,
            Deployment::Binomial { count } => count as f64,
            Deployment::HexLattice {
                inter_site_distance_m: d,
                ..
            } => a / (0.75f64.sqrt() * d * d),
            Deployment::SquareGrid { spacing_m: s, .. } => a / (s * s),
        }
    }

    /// Sites visited by `generate`, for the memory cap (lattice sites in the jitter margin too).
    fn expected_sites(&self, window: &Window) -> f64 {
        let (w, h) = (window.width(), window.height());
        let grown = |reach: f64, cell: f64| {
            let (gw, gh) = if window.boundary() == super::Boundary::Open {
                (w + 2.0 * reach, h + 2.0 * reach)
            } else {
                (w, h)
            };
            (gw / cell + 2.0) * (gh / cell + 2.0)
        };
        match *self {
            Deployment::HexLattice {
                inter_site_distance_m: d,
                jitter,
            } => grown(jitter.reach_m(), d * 0.75f64.sqrt()),
            Deployment::SquareGrid {
                spacing_m: s,
                jitter,
            } => grown(jitter.reach_m(), s),
            _ => self.expected_count(window),
        }
    }

    /// Whether the pattern's law is invariant under the torus wrap of `window`: always for the
    /// Poisson and binomial processes; for the lattices iff the sides are whole numbers of periods
    /// (to a relative 1e-9): W = n·d, H = m·√3·d (hexagonal), W = n·s, H = m·s (square).
    pub fn is_periodic_on(&self, window: &Window) -> bool {
        let whole = |len: f64, period: f64| {
            let q = len / period;
            q.round() >= 1.0 && (q - q.round()).abs() <= 1e-9 * q
        };
        match *self {
            Deployment::Poisson { .. } | Deployment::Binomial { .. } => true,
            Deployment::HexLattice {
                inter_site_distance_m: d,
                ..
            } => whole(window.width(), d) && whole(window.height(), 3f64.sqrt() * d),
            Deployment::SquareGrid { spacing_m: s, .. } => {
                whole(window.width(), s) && whole(window.height(), s)
            }
        }
    }

    /// Draws the points (m), all inside `window` (half-open), in a deterministic order.
    ///
    /// Random draws, in order: Poisson — the count, then (x, y) per point; binomial — (x, y) per
    /// point; lattices — the jitter of each visited site in row-major order (none for
    /// [`Jitter::None`]).
    ///
    /// # Panics
    /// If [`Deployment::validate_in`] fails for this window (a configuration must be validated
    /// when it is read).
    pub fn generate<R: Rng + ?Sized>(&self, window: &Window, rng: &mut R) -> Vec<Point> {
        if let Err(e) = self.validate_in(window) {
            panic!("Deployment::generate on an invalid deployment (validate_in first): {e}");
        }
        match *self {
            Deployment::Poisson { density_per_m2 } => {
                let n = poisson_count(density_per_m2 * window.area(), rng);
                (0..n).map(|_| window.uniform_point(rng)).collect()
            }
            Deployment::Binomial { count } => {
                (0..count).map(|_| window.uniform_point(rng)).collect()
            }
            Deployment::HexLattice {
                inter_site_distance_m: d,
                jitter,
            } => {
                let c = window.center();
                let h = d * 0.75f64.sqrt();
                lattice(window, jitter, rng, (h, c.y), d, |i, j| {
                    c.x + (i as f64 + 0.5 * j.rem_euclid(2) as f64) * d
                })
            }
            Deployment::SquareGrid {
                spacing_m: s,
                jitter,
            } => {
                let c = window.center();
                lattice(window, jitter, rng, (s, c.y + 0.5 * s), s, |i, _| {
                    c.x + (i as f64 + 0.5) * s
                })
            }
        }
    }
}

/// An exact Poisson(mean) count (0 for mean = 0).
fn poisson_count<R: Rng + ?Sized>(mean: f64, rng: &mut R) -> usize {
    if mean <= 0.0 {
        return 0;
    }
    let dist = Poisson::new(mean).expect("mean is finite, > 0 and ≤ MAX_POINTS");
    let n: f64 = dist.sample(rng);
    n as usize
}

/// Lattice rows y = y0 + j·row_step; in row j, sites x(i, j) = x(0, j) + i·col_step. Visits every
/// site in the window grown by the jitter reach (open) or in the window (torus), jitters it, and
/// keeps (open) or wraps (torus) it.
fn lattice<R: Rng + ?Sized>(
    window: &Window,
    jitter: Jitter,
    rng: &mut R,
    (row_step, y0): (f64, f64),
    col_step: f64,
    x_of: impl Fn(i64, i64) -> f64,
) -> Vec<Point> {
    let open = window.boundary() == super::Boundary::Open;
    let reach = if open { jitter.reach_m() } else { 0.0 };
    let (lo, hi) = (window.min(), window.max());
    let (x_lo, x_hi, y_lo, y_hi) = (lo.x - reach, hi.x + reach, lo.y - reach, hi.y + reach);
    let site_ok = |p: Point| (x_lo..x_hi).contains(&p.x) && (y_lo..y_hi).contains(&p.y);
    // One extra row/column on each side of the computed range; membership decides.
    let j_first = ((y_lo - y0) / row_step).floor() as i64 - 1;
    let j_last = ((y_hi - y0) / row_step).ceil() as i64 + 1;
    let mut out = Vec::with_capacity(
        (window.area() / (row_step * col_step))
            .ceil()
            .min(MAX_POINTS as f64) as usize,
    );
    for j in j_first..=j_last {
        let y = y0 + j as f64 * row_step;
        let x00 = x_of(0, j);
        let i_first = ((x_lo - x00) / col_step).floor() as i64 - 1;
        let i_last = ((x_hi - x00) / col_step).ceil() as i64 + 1;
        for i in i_first..=i_last {
            let site = Point::new(x_of(i, j), y);
            if !site_ok(site) {
                continue;
            }
            let (dx, dy) = jitter.draw(rng);
            let p = Point::new(site.x + dx, site.y + dy);
            if open {
                if window.contains(p) {
                    out.push(p);
                }
            } else {
                out.push(window.wrap(p));
            }
        }
    }
    out
}

/// Points generated in a window enlarged by a guard zone, flagged by membership of the inner
/// window.
#[derive(Clone, Debug, PartialEq)]
pub struct GuardedPoints {
    /// The inner window (where statistics are taken), with an open boundary.
    pub inner: Window,
    /// The inner window grown by the guard on every side (open boundary); all points lie in it.
    pub outer: Window,
    /// All points of the pattern in `outer` (m).
    pub points: Vec<Point>,
    /// `in_inner[i]` is whether `points[i]` lies in `inner`.
    pub in_inner: Vec<bool>,
}

impl GuardedPoints {
    /// Indices of the points in the inner window, ascending.
    pub fn inner_indices(&self) -> Vec<usize> {
        (0..self.points.len())
            .filter(|&i| self.in_inner[i])
            .collect()
    }
}

/// Generates `deployment` in `inner` grown by `guard_m` ≥ 0 on every side (an open window) and
/// flags the points of `inner`. The inner window's boundary is ignored (a torus needs no guard).
/// A binomial count refers to the outer window; lattices are centred on the common centre, so the
/// inner window sees the same lattice as without a guard.
pub fn generate_with_guard<R: Rng + ?Sized>(
    deployment: &Deployment,
    inner: &Window,
    guard_m: f64,
    rng: &mut R,
) -> Result<GuardedPoints, GeometryError> {
    check_non_negative("guard_m", guard_m)?;
    let inner = inner.with_boundary(super::Boundary::Open);
    let outer = inner.enlarged(guard_m)?;
    deployment.validate_in(&outer)?;
    let points = deployment.generate(&outer, rng);
    let in_inner = points.iter().map(|&p| inner.contains(p)).collect();
    Ok(GuardedPoints {
        inner,
        outer,
        points,
        in_inner,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_de::{de, V};
    use super::super::Boundary;
    use super::*;
    use crate::rng::SeedTree;

    fn mean_var(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let m = xs.iter().sum::<f64>() / n;
        (
            m,
            xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0),
        )
    }

    #[test]
    fn poisson_counts_have_poisson_moments_small_and_large_mean() {
        // Means on both sides of the Knuth/rejection switch (12) and a large one.
        for (k, &mean) in [3.0, 50.0, 2.5e7].iter().enumerate() {
            let mut rng = SeedTree::new(11).child("count").index(k as u64).rng();
            let n = 4000;
            let xs: Vec<f64> = (0..n)
                .map(|_| poisson_count(mean, &mut rng) as f64)
                .collect();
            let (m, v) = mean_var(&xs);
            // mean: 4.5 standard errors; variance: Var(s²) ≈ (2σ⁴ + σ²)/n for a Poisson
            assert!(
                (m - mean).abs() < 4.5 * (mean / n as f64).sqrt(),
                "mean {mean}: {m}"
            );
            let se_v = ((2.0 * mean * mean + mean) / n as f64).sqrt();
            assert!((v - mean).abs() < 4.5 * se_v, "mean {mean}: var {v}");
        }
        assert_eq!(poisson_count(0.0, &mut SeedTree::new(1).rng()), 0);
    }

    #[test]
    fn poisson_process_is_uniform_and_counts_match() {
        let w = Window::new(
            Point::new(100.0, -50.0),
            Point::new(300.0, 50.0),
            Boundary::Open,
        )
        .unwrap();
        let d = Deployment::Poisson {
            density_per_m2: 0.01,
        }; // mean 200 per drop
        let mut counts = Vec::new();
        let mut quadrant = [0usize; 4];
        for drop in 0..400 {
            let pts = d.generate(&w, &mut SeedTree::new(5).index(drop).rng());
            counts.push(pts.len() as f64);
            for p in &pts {
                assert!(w.contains(*p));
                let q = (p.x >= 200.0) as usize + 2 * (p.y >= 0.0) as usize;
                quadrant[q] += 1;
            }
        }
        let (m, v) = mean_var(&counts);
        assert!((m - 200.0).abs() < 4.5 * (200.0f64 / 400.0).sqrt(), "{m}");
        assert!((v / 200.0 - 1.0).abs() < 0.3, "dispersion {}", v / 200.0);
        // each quadrant holds 1/4 of the points: chi-square with 3 dof, 99.9% point 16.3
        let tot: usize = quadrant.iter().sum();
        let chi2: f64 = quadrant
            .iter()
            .map(|&c| (c as f64 - tot as f64 / 4.0).powi(2) / (tot as f64 / 4.0))
            .sum();
        assert!(chi2 < 16.3, "{quadrant:?}");
    }

    #[test]
    fn generation_is_deterministic() {
        let w = Window::centered(500.0, 500.0, Boundary::Torus).unwrap();
        for d in [
            Deployment::Poisson {
                density_per_m2: 1e-3,
            },
            Deployment::Binomial { count: 77 },
            Deployment::HexLattice {
                inter_site_distance_m: 40.0,
                jitter: Jitter::Gaussian { std_m: 3.0 },
            },
        ] {
            let a = d.generate(&w, &mut SeedTree::new(9).rng());
            let b = d.generate(&w, &mut SeedTree::new(9).rng());
            let c = d.generate(&w, &mut SeedTree::new(10).rng());
            assert_eq!(a, b);
            assert_ne!(a, c);
        }
    }

    #[test]
    fn binomial_has_exactly_the_count() {
        let w = Window::centered(10.0, 20.0, Boundary::Open).unwrap();
        let pts = Deployment::Binomial { count: 1234 }.generate(&w, &mut SeedTree::new(1).rng());
        assert_eq!(pts.len(), 1234);
        assert!(pts.iter().all(|&p| w.contains(p)));
        let pts = Deployment::Binomial { count: 0 }.generate(&w, &mut SeedTree::new(1).rng());
        assert!(pts.is_empty());
    }

    /// Brute-force: for each point, its distances to all others (torus-aware), sorted.
    fn sorted_distances(w: &Window, pts: &[Point], i: usize) -> Vec<f64> {
        let mut d: Vec<f64> = (0..pts.len())
            .filter(|&j| j != i)
            .map(|j| w.distance(pts[i], pts[j]))
            .collect();
        d.sort_by(f64::total_cmp);
        d
    }

    #[test]
    fn hex_lattice_on_a_compatible_torus_has_six_neighbours_everywhere() {
        let d = 50.0;
        let w = Window::centered(6.0 * d, 4.0 * 3f64.sqrt() * d, Boundary::Torus).unwrap();
        let dep = Deployment::HexLattice {
            inter_site_distance_m: d,
            jitter: Jitter::None {},
        };
        assert!(dep.is_periodic_on(&w));
        assert!(!dep.is_periodic_on(&Window::centered(6.5 * d, 100.0, Boundary::Torus).unwrap()));
        let pts = dep.generate(&w, &mut SeedTree::new(1).rng());
        assert_eq!(pts.len(), 6 * 8);
        assert!((dep.expected_count(&w) - 48.0).abs() < 1e-9);
        assert!(pts.contains(&w.center()));
        for i in 0..pts.len() {
            let ds = sorted_distances(&w, &pts, i);
            for k in 0..6 {
                assert!((ds[k] - d).abs() < 1e-9, "site {i}: {:?}", &ds[..7]);
            }
            // second shell at √3·d
            assert!((ds[6] - 3f64.sqrt() * d).abs() < 1e-9);
        }
    }

    #[test]
    fn hex_lattice_on_an_open_window_is_clipped() {
        let d = 30.0;
        let w = Window::new(
            Point::new(0.0, 0.0),
            Point::new(1000.0, 700.0),
            Boundary::Open,
        )
        .unwrap();
        let dep = Deployment::HexLattice {
            inter_site_distance_m: d,
            jitter: Jitter::None {},
        };
        assert!(!dep.is_periodic_on(&w));
        let pts = dep.generate(&w, &mut SeedTree::new(1).rng());
        assert!(pts.iter().all(|&p| w.contains(p)));
        // nearest-neighbour distance exactly d everywhere
        for i in (0..pts.len()).step_by(37) {
            assert!((sorted_distances(&w, &pts, i)[0] - d).abs() < 1e-9);
        }
        // count ≈ A / ((√3/2) d²) up to a perimeter term
        let expect = dep.expected_count(&w);
        assert!(
            (pts.len() as f64 - expect).abs() < 2.0 * (1000.0 + 700.0) / d,
            "{} vs {expect}",
            pts.len()
        );
    }

    #[test]
    fn jitter_stays_within_its_radius_and_gaussian_jitter_has_its_std() {
        let s = 20.0;
        let w = Window::new(
            Point::new(0.0, 0.0),
            Point::new(20.0 * s, 10.0 * s),
            Boundary::Torus,
        )
        .unwrap();
        let base = Deployment::SquareGrid {
            spacing_m: s,
            jitter: Jitter::None {},
        };
        assert!(base.is_periodic_on(&w));
        let sites = base.generate(&w, &mut SeedTree::new(1).rng());
        assert_eq!(sites.len(), 200);
        assert_eq!(sites[0], Point::new(10.0, 10.0));
        let disk = Deployment::SquareGrid {
            spacing_m: s,
            jitter: Jitter::UniformDisk { radius_m: 4.0 },
        };
        let pts = disk.generate(&w, &mut SeedTree::new(2).rng());
        assert_eq!(pts.len(), sites.len());
        let mut max_r: f64 = 0.0;
        for (p, q) in pts.iter().zip(&sites) {
            assert!(w.contains(*p));
            max_r = max_r.max(w.distance(*p, *q));
        }
        assert!(max_r <= 4.0 + 1e-9 && max_r > 3.5, "{max_r}");
        let gauss = Deployment::SquareGrid {
            spacing_m: s,
            jitter: Jitter::Gaussian { std_m: 2.0 },
        };
        let mut dx = Vec::new();
        for drop in 0..20 {
            let pts = gauss.generate(&w, &mut SeedTree::new(3).index(drop).rng());
            dx.extend(
                pts.iter()
                    .zip(&sites)
                    .map(|(p, q)| w.displacement(*q, *p).0),
            );
        }
        let (m, v) = mean_var(&dx);
        // 4000 samples: SE of the std ≈ 2/√8000 = 0.022
        assert!(
            m.abs() < 0.15 && (v.sqrt() - 2.0).abs() < 0.1,
            "{m} {}",
            v.sqrt()
        );
    }

    #[test]
    fn jittered_lattice_on_an_open_window_keeps_edge_density() {
        // With jitter the expected count in the window stays A/s² (sites outside jitter in).
        let s = 10.0;
        let w = Window::new(
            Point::new(0.0, 0.0),
            Point::new(100.0, 100.0),
            Boundary::Open,
        )
        .unwrap();
        let dep = Deployment::SquareGrid {
            spacing_m: s,
            jitter: Jitter::UniformDisk { radius_m: 8.0 },
        };
        let mut total = 0usize;
        let drops = 300;
        for drop in 0..drops {
            total += dep
                .generate(&w, &mut SeedTree::new(4).index(drop).rng())
                .len();
        }
        let m = total as f64 / drops as f64;
        // per drop the count fluctuates by ~√(perimeter sites) ≈ 6; mean SE ≈ 0.35
        assert!((m - 100.0).abs() < 1.5, "{m}");
    }

    #[test]
    fn guard_zone_flags_the_inner_points() {
        let inner = Window::centered(1000.0, 1000.0, Boundary::Torus).unwrap();
        let d = Deployment::Poisson {
            density_per_m2: 1e-4,
        };
        let g = generate_with_guard(&d, &inner, 250.0, &mut SeedTree::new(8).rng()).unwrap();
        assert_eq!(g.outer.width(), 1500.0);
        assert_eq!(g.outer.boundary(), Boundary::Open);
        assert!(g.points.iter().all(|&p| g.outer.contains(p)));
        for (p, &f) in g.points.iter().zip(&g.in_inner) {
            assert_eq!(f, inner.contains(*p));
        }
        let ids = g.inner_indices();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        // ~100 inner out of ~225 in total
        assert!(
            ids.len() > 50 && ids.len() < 160 && g.points.len() > 150,
            "{} {}",
            ids.len(),
            g.points.len()
        );
        assert!(generate_with_guard(&d, &inner, -1.0, &mut SeedTree::new(8).rng()).is_err());
    }

    #[test]
    fn guard_zone_keeps_the_lattice_of_the_inner_window() {
        let inner = Window::new(
            Point::new(0.0, 0.0),
            Point::new(300.0, 200.0),
            Boundary::Open,
        )
        .unwrap();
        for dep in [
            Deployment::SquareGrid {
                spacing_m: 20.0,
                jitter: Jitter::None {},
            },
            Deployment::HexLattice {
                inter_site_distance_m: 23.0,
                jitter: Jitter::None {},
            },
        ] {
            let plain = dep.generate(&inner, &mut SeedTree::new(1).rng());
            let g = generate_with_guard(&dep, &inner, 37.0, &mut SeedTree::new(1).rng()).unwrap();
            let kept: Vec<Point> = g.inner_indices().iter().map(|&i| g.points[i]).collect();
            assert_eq!(kept.len(), plain.len());
            for (a, b) in kept.iter().zip(&plain) {
                assert!(
                    (a.x - b.x).abs() < 1e-9 && (a.y - b.y).abs() < 1e-9,
                    "{a:?} {b:?}"
                );
            }
        }
    }

    #[test]
    fn validation_names_the_field() {
        let bad = [
            (
                Deployment::Poisson {
                    density_per_m2: 0.0,
                },
                "density_per_m2",
            ),
            (
                Deployment::Poisson {
                    density_per_m2: f64::NAN,
                },
                "density_per_m2",
            ),
            (
                Deployment::HexLattice {
                    inter_site_distance_m: -1.0,
                    jitter: Jitter::None {},
                },
                "inter_site_distance_m",
            ),
            (
                Deployment::SquareGrid {
                    spacing_m: 1.0,
                    jitter: Jitter::Gaussian { std_m: -2.0 },
                },
                "std_m",
            ),
            (
                Deployment::SquareGrid {
                    spacing_m: 1.0,
                    jitter: Jitter::UniformDisk {
                        radius_m: f64::INFINITY,
                    },
                },
                "radius_m",
            ),
            (
                Deployment::Binomial {
                    count: MAX_POINTS + 1,
                },
                "count",
            ),
        ];
        for (d, field) in bad {
            match d.validate() {
                Err(GeometryError::InvalidParameter { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{d:?}: {other:?}"),
            }
        }
        let e = Deployment::Poisson {
            density_per_m2: -1.0,
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `density_per_m2` = -1: must be finite and > 0"
        );
        // too many points for the window
        let w = Window::centered(1e5, 1e5, Boundary::Open).unwrap();
        let e = Deployment::Poisson {
            density_per_m2: 1.0,
        }
        .validate_in(&w)
        .unwrap_err();
        assert!(matches!(e, GeometryError::TooLarge { .. }), "{e}");
    }

    #[test]
    #[should_panic(expected = "validate_in first")]
    fn generate_panics_on_invalid_input() {
        let w = Window::centered(10.0, 10.0, Boundary::Open).unwrap();
        Deployment::Poisson {
            density_per_m2: -1.0,
        }
        .generate(&w, &mut SeedTree::new(1).rng());
    }

    #[test]
    fn deserializes_with_kind_tags_and_rejects_unknown_fields() {
        let d: Deployment = de(V::map([
            ("kind", V::s("poisson")),
            ("density_per_m2", V::F(2e-4)),
        ]))
        .unwrap();
        assert_eq!(
            d,
            Deployment::Poisson {
                density_per_m2: 2e-4
            }
        );
        let d: Deployment = de(V::map([("kind", V::s("binomial")), ("count", V::U(12))])).unwrap();
        assert_eq!(d, Deployment::Binomial { count: 12 });
        let d: Deployment = de(V::map([
            ("kind", V::s("hex-lattice")),
            ("inter_site_distance_m", V::F(200.0)),
        ]))
        .unwrap();
        assert_eq!(
            d,
            Deployment::HexLattice {
                inter_site_distance_m: 200.0,
                jitter: Jitter::None {}
            }
        );
        let d: Deployment = de(V::map([
            ("kind", V::s("square-grid")),
            ("spacing_m", V::F(5.0)),
            (
                "jitter",
                V::map([("kind", V::s("uniform-disk")), ("radius_m", V::F(1.0))]),
            ),
        ]))
        .unwrap();
        assert_eq!(
            d,
            Deployment::SquareGrid {
                spacing_m: 5.0,
                jitter: Jitter::UniformDisk { radius_m: 1.0 }
            }
        );
        // misspelled field, unknown kind, unknown field in the nested jitter
        assert!(
            de::<Deployment>(V::map([("kind", V::s("poisson")), ("density", V::F(1.0))])).is_err()
        );
        assert!(de::<Deployment>(V::map([
            ("kind", V::s("ppp")),
            ("density_per_m2", V::F(1.0))
        ]))
        .is_err());
        assert!(de::<Deployment>(V::map([
            ("kind", V::s("square-grid")),
            ("spacing_m", V::F(5.0)),
            (
                "jitter",
                V::map([("kind", V::s("gaussian")), ("sigma_m", V::F(1.0))])
            ),
        ]))
        .is_err());
        assert!(de::<Deployment>(V::map([
            ("kind", V::s("square-grid")),
            ("spacing_m", V::F(5.0)),
            (
                "jitter",
                V::map([("kind", V::s("none")), ("std_m", V::F(1.0))])
            ),
        ]))
        .is_err());
        let j: Jitter = de(V::map([("kind", V::s("none"))])).unwrap();
        assert_eq!(j, Jitter::None {});
    }
}

//! Log-normal shadowing: a zero-mean Gaussian term in dB added to a link's path loss.
//!
//! [`Shadowing`] is the configuration (serde, `kind`-tagged), [`Shadowing::realize`] draws one
//! realization for a point set, and [`ShadowingRealization::link_shadowing_db`] gives the term of
//! the symmetric link between two of its points:
//!
//! - **None**: 0 dB.
//! - **Iid**: every link (unordered pair) an independent N(0, σ²) — the usual model when nothing
//!   is known about the geometry. Link values are not stored: each is a deterministic function of a
//!   64-bit key drawn from the caller's generator and of the pair (SplitMix64 hashing, Box–Muller),
//!   so a 30,000-node network costs nothing until a link is asked for.
//! - **Correlated**: a per-position unit-variance Gaussian field F with Gudmundson's exponential
//!   correlation E[F(x)F(y)] = exp(−|x − y|/d_c) (Gudmundson, Electron. Lett. 27(23), 1991; the
//!   "decorrelation distance" d_c is where the correlation falls to e⁻¹), and
//!
//!   > S(a, b) = σ · (F(a) + F(b)) / √(2 (1 + ρ_ab)),   ρ_ab = E[F(a) F(b)] ≈ exp(−|a − b|/d_c).
//!
//!   Links sharing an endpoint are correlated (corr = ½ for a link pair a–b, a–c with a, b, c
//!   mutually far apart, more when the far ends are close), two links whose endpoints are all close
//!   have nearly the same shadowing, and every link has marginal std exactly σ. For links much
//!   longer than d_c, ρ_ab → 0 and this is the plain sum-of-endpoint-fields model
//!   σ(F(a) + F(b))/√2; the normalization by √(1 + ρ_ab) stops short links (|a − b| ≲ d_c) from
//!   having std up to √2·σ. ρ_ab is the exact correlation of the realized (interpolated) field
//!   at a and b under the grid covariance ([`GaussianField::correlation`]), not the nominal
//!   exponential, so the σ is exact for every link. Two point sets in one environment (RRHs and
//!   users) must share one field: realize them as one concatenated slice.
//!
//! **Generating the field** ([`GaussianFieldSampler`]): F is drawn on a rectangular grid of
//! spacing ≤ d_c/4 (default d_c/4) by **circulant embedding** (Dietrich & Newsam, SIAM J. Sci.
//! Comput. 18(4), 1997; Wood & Chan, J. Comput. Graph. Stat. 3(4), 1994): the grid is embedded in
//! an L_x × L_y periodic grid whose covariance matrix is block-circulant, with eigenvalues λ = the
//! 2-D DFT of its first row c(k) = exp(−d_torus(k)/d_c). With ξ complex standard normal per cell,
//! Z = DFT(√(λ/N) ⊙ ξ) has Re Z (and independently Im Z; unused) with exactly that covariance.
//!
//! - On a **torus** window the embedding *is* the window (L = the grid), so F is periodic with the
//!   window and its covariance is exp(−d_torus/d_c), the minimum-image distance.
//! - On an **open** window, the grid (nodes on the edges included) is padded so that
//!   L ≥ W + 20 d_c and L ≥ 40 d_c per axis: lags up to L/2 are reproduced exactly and longer ones,
//!   whose true correlation is ≤ e⁻²⁰, come out as ≤ e⁻²⁰ too, so every grid covariance is within
//!   2·10⁻⁹ of exp(−d/d_c) (checked in the tests). The minimal embedding (L ≥ 2W) would be exact
//!   but cost 4× the memory.
//!
//! Small negative eigenvalues (from the periodization) are clipped to 0; the clipped mass relative
//! to Σλ is reported ([`GaussianFieldSampler::clipped_fraction`]) and more than 10⁻³ is an error
//! ([`GeometryError::EmbeddingNotPsd`]). In practice this only happens on a torus less than
//! ~5 d_c across; from 5 d_c up, and for every open window tried, no eigenvalue is negative.
//!
//! Between grid nodes the field is **bilinearly interpolated and rescaled** to unit variance:
//! F(p) = Σ w_k F_k / √(Σ_k Σ_l w_k w_l c(x_k − x_l)) over the 4 surrounding nodes. Plain bilinear
//! interpolation would lose up to 18% of the variance at a cell centre for spacing d_c/4; the
//! rescaling keeps the marginal exactly N(0, 1) everywhere. Interpolation does smooth the field
//! below the grid scale, so between off-grid positions the correlation exceeds exp(−d/d_c) (the
//! exponential model is rough: it has a cusp at 0). Measured over random pairs (tests), the excess
//! is, by lag:
//!
//! | spacing | d < d_c/4 | d_c/4–d_c/2 | d_c/2–d_c | d_c–2d_c | 2d_c–3d_c |
//! |---|---|---|---|---|---|
//! | d_c/4 (default): mean (max) | 0.07 (0.13) | 0.09 (0.14) | 0.07 (0.12) | 0.04 (0.08) | 0.01 (0.03) |
//! | d_c/8: mean (max) | 0.04 (0.07) | 0.05 (0.07) | 0.04 (0.06) | 0.02 (0.04) | 0.01 (0.01) |
//!
//! At grid nodes the correlation is exact. Where short-range accuracy matters, set a finer
//! `grid_spacing_m` (the bias halves with the spacing; memory grows with its inverse square).
//!
//! **Memory.** Sampling holds one complex buffer (16 B) and the eigenvalue square roots (8 B) per
//! embedding cell: 24 B/cell at the peak. The embedding is capped at [`MAX_FIELD_CELLS`] = 2²³
//! cells (≈ 200 MB); beyond it realization fails with [`GeometryError::TooLarge`]. Examples
//! (open windows, default spacing d_c/4): 10 km × 10 km with d_c = 50 m → 801² grid nodes,
//! 900² embedding, 19 MB; 5 km × 5 km with d_c = 10 m → 2001² nodes, 2160² embedding (4.7 M
//! cells, 112 MB); 10 km × 10 km with d_c = 10 m (16 M cells) exceeds the cap.
//!
//! Time: one 2-D FFT of the embedding per sampler (the eigenvalues) and one per field (about
//! 20 ms + 20 ms for the 900² example, 140 ms + 130 ms for 2160², on one core); reuse a sampler
//! across drops ([`ShadowingRealization::from_field`]) to pay the first only once. A realization
//! keeps, per point, F and its interpolation stencil (56 B) plus a small table of grid
//! correlations; each link then costs 16 table look-ups.

use super::{check_non_negative, check_positive, Boundary, GeometryError, Point, Window};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The largest circulant embedding a correlated field may use (cells): 2²³, about 200 MB at the
/// peak of sampling.
pub const MAX_FIELD_CELLS: usize = 1 << 23;

/// Padding of an open window's embedding, in decorrelation distances (covariance error ≤ e⁻²⁰).
const MARGIN_DECORRELATIONS: f64 = 20.0;

/// Largest tolerated clipped eigenvalue mass (fraction of the variance).
const MAX_CLIPPED_FRACTION: f64 = 1e-3;

/// Log-normal shadowing model (configuration). See the module docs for the link model.
///
/// ```
/// # use dmimo::geometry::{Boundary, Point, Shadowing, Window};
/// # use dmimo::rng::SeedTree;
/// // TOML: shadowing = { kind = "correlated", sigma_db = 7.82, decorrelation_m = 13.0 }
/// let s = Shadowing::Correlated { sigma_db: 7.82, decorrelation_m: 13.0, grid_spacing_m: None };
/// s.validate().unwrap();
/// let w = Window::centered(500.0, 500.0, Boundary::Open).unwrap();
/// let pts = [Point::new(0.0, 0.0), Point::new(100.0, 0.0), Point::new(0.0, 100.0)];
/// let real = s.realize(&pts, &w, &mut SeedTree::new(1).child("shadowing").rng()).unwrap();
/// let x_db = real.link_shadowing_db(0, 1); // add to the 0–1 link's path loss
/// assert_eq!(x_db, real.link_shadowing_db(1, 0));
/// ```
///
/// `None {}` is an empty struct variant so that extra keys next to `kind = "none"` are rejected
/// (serde ignores them after the tag of an internally tagged unit variant).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Shadowing {
    /// No shadowing (0 dB on every link; the default).
    None {},
    /// Independent N(0, σ²) per link.
    Iid {
        /// σ (dB), finite and ≥ 0 (3GPP UMi: 4 LOS, 7.82 NLOS).
        sigma_db: f64,
    },
    /// Spatially correlated: a per-position field with correlation exp(−d/d_c), combined per link.
    Correlated {
        /// σ (dB), finite and ≥ 0.
        sigma_db: f64,
        /// Gudmundson decorrelation distance d_c (m), finite and > 0 (3GPP UMi: 10 m LOS, 13 m
        /// NLOS).
        decorrelation_m: f64,
        /// Grid spacing of the field (m), in (0, d_c/4]; default d_c/4.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grid_spacing_m: Option<f64>,
    },
}

impl Default for Shadowing {
    fn default() -> Self {
        Shadowing::None {}
    }
}

impl Shadowing {
    /// Checks the parameters; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<(), GeometryError> {
        match *self {
            Shadowing::None {} => Ok(()),
            Shadowing::Iid { sigma_db } => check_non_negative("sigma_db", sigma_db),
            Shadowing::Correlated {
                sigma_db,
                decorrelation_m,
                grid_spacing_m,
            } => {
                check_non_negative("sigma_db", sigma_db)?;
                check_positive("decorrelation_m", decorrelation_m)?;
                if let Some(s) = grid_spacing_m {
                    if !(s > 0.0 && s <= decorrelation_m / 4.0) {
                        return Err(GeometryError::invalid(
                            "grid_spacing_m",
                            s,
                            format!("in (0, decorrelation_m/4] = (0, {}]", decorrelation_m / 4.0),
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    /// The marginal std of every link's shadowing (dB).
    pub fn sigma_db(&self) -> f64 {
        match *self {
            Shadowing::None {} => 0.0,
            Shadowing::Iid { sigma_db } | Shadowing::Correlated { sigma_db, .. } => sigma_db,
        }
    }

    /// Draws one realization for `points` in `window` (the field covers the window; positions
    /// outside an open window take the value at the nearest edge). Draws: none (None); one `u64`
    /// (Iid); 2·L_x·L_y standard normals (Correlated, embedding cells in row-major order).
    ///
    /// Errors: invalid parameters, a correlated field beyond [`MAX_FIELD_CELLS`], or a
    /// non-positive-definite embedding.
    pub fn realize<R: Rng + ?Sized>(
        &self,
        points: &[Point],
        window: &Window,
        rng: &mut R,
    ) -> Result<ShadowingRealization, GeometryError> {
        self.validate()?;
        Ok(match *self {
            Shadowing::None {} => ShadowingRealization {
                sigma_db: 0.0,
                kind: Realized::None { n: points.len() },
            },
            Shadowing::Iid { sigma_db } => ShadowingRealization {
                sigma_db,
                kind: Realized::Iid {
                    n: points.len(),
                    key: rng.random(),
                },
            },
            Shadowing::Correlated {
                sigma_db,
                decorrelation_m,
                grid_spacing_m,
            } => {
                let spacing = grid_spacing_m.unwrap_or(decorrelation_m / 4.0);
                let sampler = GaussianFieldSampler::new(window, decorrelation_m, spacing)?;
                ShadowingRealization::from_field(sigma_db, &sampler.sample(rng), points)
            }
        })
    }
}

/// One realization of the shadowing of every link among a point set.
#[derive(Clone, Debug, PartialEq)]
pub struct ShadowingRealization {
    sigma_db: f64,
    kind: Realized,
}

#[derive(Clone, Debug, PartialEq)]
enum Realized {
    None {
        n: usize,
    },
    Iid {
        n: usize,
        key: u64,
    },
    Field {
        /// F at each point (unit variance).
        unit: Vec<f64>,
        /// Each point's interpolation stencil, for the link normalization.
        stencils: Vec<Stencil>,
        /// The field's geometry (values dropped) and its tabulated grid correlations.
        grid: Box<GaussianField>,
        table: LagTable,
    },
}

impl ShadowingRealization {
    /// The correlated model from an already sampled field (reuse one [`GaussianFieldSampler`]
    /// across drops): F is evaluated at every point (p wrapped on a torus, clamped to the edge of
    /// an open window).
    ///
    /// # Panics
    /// If `sigma_db` is not finite and ≥ 0.
    pub fn from_field(sigma_db: f64, field: &GaussianField, points: &[Point]) -> Self {
        assert!(
            sigma_db.is_finite() && sigma_db >= 0.0,
            "ShadowingRealization::from_field: sigma_db = {sigma_db} must be finite and ≥ 0"
        );
        let stencils: Vec<Stencil> = points.iter().map(|&p| field.stencil(p)).collect();
        let unit = stencils.iter().map(|s| field.eval(s)).collect();
        let grid = field.clone_geometry();
        let table = LagTable::new(&grid);
        ShadowingRealization {
            sigma_db,
            kind: Realized::Field {
                unit,
                stencils,
                grid: Box::new(grid),
                table,
            },
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        match &self.kind {
            Realized::None { n } | Realized::Iid { n, .. } => *n,
            Realized::Field { unit, .. } => unit.len(),
        }
    }

    /// No points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// σ (dB).
    pub fn sigma_db(&self) -> f64 {
        self.sigma_db
    }

    /// σ·F at point `i` (dB) for the correlated model; `None` for the others (which have no
    /// per-position field).
    pub fn position_value_db(&self, i: usize) -> Option<f64> {
        match &self.kind {
            Realized::Field { unit, .. } => Some(self.sigma_db * unit[i]),
            _ => None,
        }
    }

    /// The shadowing (dB, to be added to the path loss) of the link between points `a` and `b`;
    /// symmetric in (a, b). For a = b: σF(a) (correlated), an independent draw (Iid).
    ///
    /// # Panics
    /// If `a` or `b` is out of range.
    pub fn link_shadowing_db(&self, a: usize, b: usize) -> f64 {
        let n = self.len();
        assert!(
            a < n && b < n,
            "link ({a}, {b}) out of range for {n} points"
        );
        match &self.kind {
            Realized::None { .. } => 0.0,
            Realized::Iid { key, .. } => self.sigma_db * link_normal(*key, a, b),
            Realized::Field {
                unit,
                stencils,
                grid,
                table,
            } => {
                // evaluated in a fixed orientation so that (a, b) and (b, a) agree bit for bit
                let (lo, hi) = (a.min(b), a.max(b));
                let rho = table.correlation(grid, &stencils[lo], &stencils[hi]);
                self.sigma_db * (unit[lo] + unit[hi]) / (2.0 * (1.0 + rho)).sqrt()
            }
        }
    }

    /// The correlation ρ_ab of the per-position field at points a and b used in the link
    /// normalization ([`GaussianField::correlation`], set to 0 beyond 45 d_c where it is below
    /// 3·10⁻²⁰); `None` unless correlated.
    pub fn position_correlation(&self, a: usize, b: usize) -> Option<f64> {
        match &self.kind {
            Realized::Field {
                stencils,
                grid,
                table,
                ..
            } => Some(table.correlation(grid, &stencils[a.min(b)], &stencils[a.max(b)])),
            _ => None,
        }
    }
}

/// SplitMix64's finalizer (a bijection of u64).
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A standard normal that is a deterministic function of (key, {a, b}): two hashed 53-bit
/// uniforms and Box–Muller. Injective in the pair for indices < 2³².
fn link_normal(key: u64, a: usize, b: usize) -> f64 {
    let (lo, hi) = (a.min(b) as u64, a.max(b) as u64);
    let h1 = splitmix(key ^ splitmix((lo << 32) | hi));
    let h2 = splitmix(h1 ^ 0xd1b5_4a32_d192_ed03);
    let u1 = ((h1 >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64); // (0, 1)
    let u2 = (h2 >> 11) as f64 * (1.0 / (1u64 << 53) as f64); // [0, 1)
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Draws unit-variance Gaussian fields with correlation exp(−d/d_c) on a grid over a window, by
/// circulant embedding (module docs). Build once per (window, d_c, spacing); sample per drop.
#[derive(Clone)]
pub struct GaussianFieldSampler {
    window: Window,
    decorrelation_m: f64,
    /// Grid nodes per axis (open: including both edges; torus: one period).
    nx: usize,
    ny: usize,
    sx: f64,
    sy: f64,
    /// Embedding dimensions (≥ nx, ny).
    lx: usize,
    ly: usize,
    /// √(max(λ, 0)/N) per embedding cell, row-major (ly rows of lx).
    sqrt_eig: Vec<f64>,
    fft_x: Arc<dyn Fft<f64>>,
    fft_y: Arc<dyn Fft<f64>>,
    clipped_fraction: f64,
}

impl std::fmt::Debug for GaussianFieldSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GaussianFieldSampler")
            .field("window", &self.window)
            .field("decorrelation_m", &self.decorrelation_m)
            .field("grid", &(self.nx, self.ny))
            .field("spacing_m", &(self.sx, self.sy))
            .field("embedding", &(self.lx, self.ly))
            .field("clipped_fraction", &self.clipped_fraction)
            .finish()
    }
}

impl GaussianFieldSampler {
    /// Plans the embedding for `window`, correlation exp(−d/`decorrelation_m`) and grid spacing at
    /// most `max_spacing_m` (the actual spacing divides the window's sides). A spacing above
    /// d_c/4 is accepted here but makes the interpolated field coarser; [`Shadowing::validate`]
    /// forbids it.
    ///
    /// Errors: non-positive or non-finite arguments, an embedding over [`MAX_FIELD_CELLS`], or a
    /// clipped eigenvalue mass over 10⁻³.
    pub fn new(
        window: &Window,
        decorrelation_m: f64,
        max_spacing_m: f64,
    ) -> Result<Self, GeometryError> {
        check_positive("decorrelation_m", decorrelation_m)?;
        check_positive("grid_spacing_m", max_spacing_m)?;
        let torus = window.boundary() == Boundary::Torus;
        // (nodes, spacing, embedding length) per axis
        let axis = |len: f64| -> Option<(usize, f64, usize)> {
            let intervals = (len / max_spacing_m).ceil();
            if intervals >= 1e9 {
                return None;
            }
            if torus {
                let n = smooth_at_least((intervals as usize).max(8));
                Some((n, len / n as f64, n))
            } else {
                let m = (intervals as usize).max(1);
                let s = len / m as f64;
                let margin = (MARGIN_DECORRELATIONS * decorrelation_m / s).ceil();
                if margin >= 1e9 {
                    return None;
                }
                let margin = margin as usize;
                Some((m + 1, s, smooth_at_least((m + margin).max(2 * margin))))
            }
        };
        let too_large = |cells: f64| {
            GeometryError::TooLarge {
            what: "correlated shadowing field",
            required: cells,
            unit: "embedding cells",
            cap: MAX_FIELD_CELLS as f64,
            hint: format!(
                "a {} m × {} m window at grid spacing ≤ {max_spacing_m} m (d_c = {decorrelation_m} m) \
                 is too large; use a smaller window or a coarser grid (up to d_c/4)",
                window.width(),
                window.height()
            ),
        }
        };
        let (Some((nx, sx, lx)), Some((ny, sy, ly))) =
            (axis(window.width()), axis(window.height()))
        else {
            return Err(too_large(f64::INFINITY));
        };
        let cells = lx as f64 * ly as f64;
        if cells > MAX_FIELD_CELLS as f64 {
            return Err(too_large(cells));
        }
        let mut planner = FftPlanner::<f64>::new();
        let fft_x = planner.plan_fft_forward(lx);
        let fft_y = planner.plan_fft_forward(ly);
        // First row of the block-circulant covariance: c at minimum-image lags.
        let mut buf = vec![Complex::new(0.0, 0.0); lx * ly];
        for iy in 0..ly {
            let dy = sy * iy.min(ly - iy) as f64;
            for ix in 0..lx {
                let dx = sx * ix.min(lx - ix) as f64;
                buf[iy * lx + ix].re = (-dx.hypot(dy) / decorrelation_m).exp();
            }
        }
        fft2(&mut buf, lx, ly, &*fft_x, &*fft_y);
        let n = (lx * ly) as f64;
        let (mut total, mut negative) = (0.0, 0.0);
        let sqrt_eig: Vec<f64> = buf
            .iter()
            .map(|z| {
                total += z.re;
                if z.re < 0.0 {
                    negative -= z.re;
                }
                (z.re.max(0.0) / n).sqrt()
            })
            .collect();
        let clipped_fraction = negative / total;
        if clipped_fraction.is_nan() || clipped_fraction > MAX_CLIPPED_FRACTION {
            return Err(GeometryError::EmbeddingNotPsd {
                decorrelation_m,
                width_m: sx * lx as f64,
                height_m: sy * ly as f64,
                clipped_fraction,
            });
        }
        Ok(GaussianFieldSampler {
            window: *window,
            decorrelation_m,
            nx,
            ny,
            sx,
            sy,
            lx,
            ly,
            sqrt_eig,
            fft_x,
            fft_y,
            clipped_fraction,
        })
    }

    /// Grid nodes (nx, ny): on an open window including both edges, on a torus one period.
    pub fn grid_dims(&self) -> (usize, usize) {
        (self.nx, self.ny)
    }

    /// Grid spacing (m) along x and y.
    pub fn spacing_m(&self) -> (f64, f64) {
        (self.sx, self.sy)
    }

    /// Embedding dimensions (L_x, L_y).
    pub fn embedding_dims(&self) -> (usize, usize) {
        (self.lx, self.ly)
    }

    /// Peak memory of [`GaussianFieldSampler::sample`] (bytes): 24 per embedding cell.
    pub fn memory_bytes(&self) -> usize {
        24 * self.lx * self.ly
    }

    /// Σ max(−λ, 0) / Σ λ: the share of the variance added by clipping negative eigenvalues (0 for
    /// an exactly positive semi-definite embedding).
    pub fn clipped_fraction(&self) -> f64 {
        self.clipped_fraction
    }

    /// Draws one field: 2·L_x·L_y standard normals (real then imaginary part per embedding cell,
    /// row-major), one 2-D FFT.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> GaussianField {
        let mut buf: Vec<Complex<f64>> = self
            .sqrt_eig
            .iter()
            .map(|&s| {
                let a: f64 = StandardNormal.sample(rng);
                let b: f64 = StandardNormal.sample(rng);
                Complex::new(s * a, s * b)
            })
            .collect();
        fft2(&mut buf, self.lx, self.ly, &*self.fft_x, &*self.fft_y);
        let mut values = Vec::with_capacity(self.nx * self.ny);
        for iy in 0..self.ny {
            values.extend(
                buf[iy * self.lx..iy * self.lx + self.nx]
                    .iter()
                    .map(|z| z.re),
            );
        }
        GaussianField {
            window: self.window,
            decorrelation_m: self.decorrelation_m,
            nx: self.nx,
            ny: self.ny,
            sx: self.sx,
            sy: self.sy,
            values,
        }
    }

    /// The covariance the embedding actually realizes at grid lag (ix, iy) (test support):
    /// (1/N) Σ_k max(λ_k, 0) e^{2πi k·lag/L}.
    #[cfg(test)]
    fn embedded_covariance(&self) -> Vec<f64> {
        let mut buf: Vec<Complex<f64>> = self
            .sqrt_eig
            .iter()
            .map(|&s| Complex::new(s * s, 0.0))
            .collect();
        // λ⁺ is real and even, so the forward DFT equals the inverse up to the 1/N (folded in above
        // as s² = λ⁺/N).
        fft2(&mut buf, self.lx, self.ly, &*self.fft_x, &*self.fft_y);
        buf.iter().map(|z| z.re).collect()
    }
}

/// In-place 2-D forward DFT of a row-major `ly` × `lx` array: rows, then columns in blocks of 16
/// gathered into a contiguous buffer.
fn fft2(buf: &mut [Complex<f64>], lx: usize, ly: usize, fx: &dyn Fft<f64>, fy: &dyn Fft<f64>) {
    const BLOCK: usize = 16;
    let mut scratch = vec![
        Complex::new(0.0, 0.0);
        fx.get_inplace_scratch_len()
            .max(fy.get_inplace_scratch_len())
    ];
    fx.process_with_scratch(buf, &mut scratch);
    let mut cols = vec![Complex::new(0.0, 0.0); BLOCK * ly];
    for x0 in (0..lx).step_by(BLOCK) {
        let b = BLOCK.min(lx - x0);
        for y in 0..ly {
            for c in 0..b {
                cols[c * ly + y] = buf[y * lx + x0 + c];
            }
        }
        fy.process_with_scratch(&mut cols[..b * ly], &mut scratch);
        for y in 0..ly {
            for c in 0..b {
                buf[y * lx + x0 + c] = cols[c * ly + y];
            }
        }
    }
}

/// The smallest 2^a·3^b·5^c ≥ n (FFT-friendly lengths).
fn smooth_at_least(n: usize) -> usize {
    let mut m = n.max(1);
    loop {
        let mut r = m;
        for p in [2, 3, 5] {
            while r.is_multiple_of(p) {
                r /= p;
            }
        }
        if r == 1 {
            return m;
        }
        m += 1;
    }
}

/// One realization of a unit-variance Gaussian field with correlation exp(−d/d_c), on a grid
/// over a window, evaluated anywhere by variance-corrected bilinear interpolation.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianField {
    window: Window,
    decorrelation_m: f64,
    nx: usize,
    ny: usize,
    sx: f64,
    sy: f64,
    /// Node values, row-major (ny rows of nx).
    values: Vec<f64>,
}

/// The 4 grid nodes around a position and their normalized interpolation weights: F(p) =
/// Σ w[a + 2b] · F(i[a], j[b]).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stencil {
    i: [u32; 2],
    j: [u32; 2],
    w: [f64; 4],
}

impl GaussianField {
    /// The same grid without values.
    fn clone_geometry(&self) -> Self {
        GaussianField {
            values: Vec::new(),
            ..*self
        }
    }

    /// Grid nodes (nx, ny).
    pub fn grid_dims(&self) -> (usize, usize) {
        (self.nx, self.ny)
    }

    /// Grid spacing (m) along x and y.
    pub fn spacing_m(&self) -> (f64, f64) {
        (self.sx, self.sy)
    }

    /// The value at grid node (ix, iy), at window.min() + (ix·s_x, iy·s_y). Panics out of range.
    pub fn node(&self, ix: usize, iy: usize) -> f64 {
        assert!(
            ix < self.nx && iy < self.ny,
            "node ({ix}, {iy}) out of range"
        );
        self.values[iy * self.nx + ix]
    }

    /// Grid correlation at a lag of (di, dj) nodes: exp(−|(di·s_x, dj·s_y)|/d_c), with the lag
    /// reduced to its minimum image on a torus.
    fn node_correlation(&self, di: i64, dj: i64) -> f64 {
        let (di, dj) = if self.window.boundary() == Boundary::Torus {
            (min_lag(di, self.nx), min_lag(dj, self.ny))
        } else {
            (di, dj)
        };
        (-(self.sx * di as f64).hypot(self.sy * dj as f64) / self.decorrelation_m).exp()
    }

    /// The surrounding nodes and weights w_k / √(Σ_kl w_k w_l c(x_k − x_l)) (bilinear weights
    /// rescaled to unit variance).
    fn stencil(&self, p: Point) -> Stencil {
        assert!(p.is_finite(), "GaussianField: position {p:?} is not finite");
        let torus = self.window.boundary() == Boundary::Torus;
        let p = self.window.wrap(p);
        let min = self.window.min();
        let axis = |rel: f64, s: f64, n: usize| -> ([u32; 2], f64) {
            if torus {
                let v = rel / s;
                let i = (v.floor().max(0.0) as usize).min(n - 1);
                (
                    [i as u32, ((i + 1) % n) as u32],
                    (v - i as f64).clamp(0.0, 1.0),
                )
            } else {
                let v = (rel / s).clamp(0.0, (n - 1) as f64);
                let i = (v.floor() as usize).min(n - 2);
                ([i as u32, i as u32 + 1], v - i as f64)
            }
        };
        let (i, tx) = axis(p.x - min.x, self.sx, self.nx);
        let (j, ty) = axis(p.y - min.y, self.sy, self.ny);
        let w = [
            (1.0 - tx) * (1.0 - ty),
            tx * (1.0 - ty),
            (1.0 - tx) * ty,
            tx * ty,
        ];
        let (rx, ry, rd) = (
            self.node_correlation(1, 0),
            self.node_correlation(0, 1),
            self.node_correlation(1, 1),
        );
        let var = w.iter().map(|x| x * x).sum::<f64>()
            + 2.0
                * ((w[0] * w[1] + w[2] * w[3]) * rx
                    + (w[0] * w[2] + w[1] * w[3]) * ry
                    + (w[0] * w[3] + w[1] * w[2]) * rd);
        let norm = var.sqrt().recip();
        Stencil {
            i,
            j,
            w: w.map(|x| x * norm),
        }
    }

    fn eval(&self, s: &Stencil) -> f64 {
        let f = |a: usize, b: usize| self.values[s.j[b] as usize * self.nx + s.i[a] as usize];
        s.w[0] * f(0, 0) + s.w[1] * f(1, 0) + s.w[2] * f(0, 1) + s.w[3] * f(1, 1)
    }

    /// F(p): bilinear interpolation of the 4 surrounding nodes, rescaled to unit variance (module
    /// docs). On a torus p is wrapped; outside an open window p is clamped to its edge.
    ///
    /// # Panics
    /// If `p` is not finite.
    pub fn at(&self, p: Point) -> f64 {
        self.eval(&self.stencil(p))
    }

    /// The correlation E[F(p)F(q)] of the interpolated field under the grid covariance
    /// exp(−d/d_c): Σ_kl ŵ_k(p) ŵ_l(q) c(x_k − x_l). Equals exp(−d/d_c) for grid nodes; between
    /// them it is larger at short range (module docs). 1 for p = q.
    pub fn correlation(&self, p: Point, q: Point) -> f64 {
        stencil_correlation(&self.stencil(p), &self.stencil(q), |di, dj| {
            self.node_correlation(di, dj)
        })
    }
}

/// Σ_kl a.w[k] b.w[l] ρ(lag from a's node k to b's node l), ρ given on node lags.
fn stencil_correlation(a: &Stencil, b: &Stencil, rho: impl Fn(i64, i64) -> f64) -> f64 {
    let mut c = 0.0;
    for (k, &wa) in a.w.iter().enumerate() {
        let (ia, ja) = (a.i[k % 2] as i64, a.j[k / 2] as i64);
        for (l, &wb) in b.w.iter().enumerate() {
            c += wa * wb * rho(b.i[l % 2] as i64 - ia, b.j[l / 2] as i64 - ja);
        }
    }
    c
}

/// A lag reduced to its minimum image on a ring of n nodes (no division for |d| < n, the case of
/// two node indices in 0..n).
#[inline]
fn min_lag(d: i64, n: usize) -> i64 {
    let n = n as i64;
    let d = if d.abs() < n { d } else { d.rem_euclid(n) };
    if 2 * d > n {
        d - n
    } else if 2 * d < -n {
        d + n
    } else {
        d
    }
}

/// Beyond this many d_c every grid correlation is < e⁻⁴⁵ ≈ 3·10⁻²⁰, so the 16-term sum of a
/// stencil pair is below half an ulp of 1 and 1 + ρ_ab rounds to exactly 1: such pairs are skipped.
const NEGLIGIBLE_DECORRELATIONS: f64 = 45.0;

/// Largest lag table (entries, 8 B each).
const MAX_LAG_TABLE: usize = 1 << 22;

/// Grid correlations tabulated for node lags |di| ≤ hx, |dj| ≤ hy (covering the non-negligible
/// range, 45 d_c, unless that exceeds [`MAX_LAG_TABLE`] entries); longer lags are computed
/// directly or, beyond 45 d_c, skipped.
#[derive(Clone, Debug, PartialEq)]
struct LagTable {
    hx: i64,
    hy: i64,
    /// Squared cut-off distance in node units: ((45 d_c / s_x)², (45 d_c / s_y)²) scaled so that
    /// (di/cx)² + (dj/cy)² > 1 means negligible.
    cut: (f64, f64),
    values: Vec<f64>,
}

impl LagTable {
    fn new(field: &GaussianField) -> Self {
        let reach = NEGLIGIBLE_DECORRELATIONS * field.decorrelation_m;
        let (mut hx, mut hy) = (
            (reach / field.sx).ceil() as i64 + 1,
            (reach / field.sy).ceil() as i64 + 1,
        );
        // torus: lags are at most half the ring
        if field.window.boundary() == Boundary::Torus {
            hx = hx.min(field.nx as i64 / 2 + 1);
            hy = hy.min(field.ny as i64 / 2 + 1);
        }
        while ((2 * hx + 1) * (2 * hy + 1)) as usize > MAX_LAG_TABLE {
            hx = (hx / 2).max(1);
            hy = (hy / 2).max(1);
        }
        let mut values = Vec::with_capacity(((2 * hx + 1) * (2 * hy + 1)) as usize);
        for dj in -hy..=hy {
            for di in -hx..=hx {
                values.push(field.node_correlation(di, dj));
            }
        }
        LagTable {
            hx,
            hy,
            cut: (reach / field.sx, reach / field.sy),
            values,
        }
    }

    /// Node lag, minimum image on a torus.
    #[inline]
    fn reduce(&self, field: &GaussianField, di: i64, dj: i64) -> (i64, i64) {
        if field.window.boundary() == Boundary::Torus {
            (min_lag(di, field.nx), min_lag(dj, field.ny))
        } else {
            (di, dj)
        }
    }

    #[inline]
    fn get(&self, field: &GaussianField, di: i64, dj: i64) -> f64 {
        let (di, dj) = self.reduce(field, di, dj);
        if di.abs() <= self.hx && dj.abs() <= self.hy {
            self.values[((dj + self.hy) * (2 * self.hx + 1) + di + self.hx) as usize]
        } else {
            field.node_correlation(di, dj)
        }
    }

    /// ρ between two stencils: 0 when even their closest nodes are more than 45 d_c apart (the
    /// exact sum would not change 1 + ρ), else the 16-term sum, grouped by the 3 × 3 distinct
    /// node lags around the base lag D (node k of a and node l of b are D + (l − k) apart).
    fn correlation(&self, field: &GaussianField, a: &Stencil, b: &Stencil) -> f64 {
        let (di, dj) = self.reduce(
            field,
            b.i[0] as i64 - a.i[0] as i64,
            b.j[0] as i64 - a.j[0] as i64,
        );
        let gx = (di.abs() - 1).max(0) as f64 / self.cut.0;
        let gy = (dj.abs() - 1).max(0) as f64 / self.cut.1;
        if gx * gx + gy * gy > 1.0 {
            return 0.0;
        }
        if di.abs() + 1 > self.hx || dj.abs() + 1 > self.hy {
            return stencil_correlation(a, b, |di, dj| self.get(field, di, dj));
        }
        // k[(ox + 1) + 3 (oy + 1)] = Σ over node pairs with lag offset (ox, oy) of w_a · w_b
        let mut k = [0.0; 9];
        for (ka, &wa) in a.w.iter().enumerate() {
            let (pa, qa) = (ka % 2, ka / 2);
            for (kb, &wb) in b.w.iter().enumerate() {
                let (pb, qb) = (kb % 2, kb / 2);
                k[(pb + 1 - pa) + 3 * (qb + 1 - qa)] += wa * wb;
            }
        }
        let row = (2 * self.hx + 1) as usize;
        let base = ((dj - 1 + self.hy) as usize) * row + (di - 1 + self.hx) as usize;
        let mut c = 0.0;
        for oy in 0..3 {
            let t = &self.values[base + oy * row..base + oy * row + 3];
            c += k[3 * oy] * t[0] + k[3 * oy + 1] * t[1] + k[3 * oy + 2] * t[2];
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_de::{de, V};
    use super::*;
    use crate::rng::SeedTree;

    fn corr(pairs: &[(f64, f64)]) -> f64 {
        let n = pairs.len() as f64;
        let (ma, mb) = (
            pairs.iter().map(|p| p.0).sum::<f64>() / n,
            pairs.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
        for &(a, b) in pairs {
            sab += (a - ma) * (b - mb);
            saa += (a - ma) * (a - ma);
            sbb += (b - mb) * (b - mb);
        }
        sab / (saa * sbb).sqrt()
    }

    fn std(xs: impl Iterator<Item = f64>) -> f64 {
        let v: Vec<f64> = xs.collect();
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    }

    #[test]
    fn open_embedding_reproduces_the_exponential_covariance() {
        let w = Window::centered(400.0, 300.0, Boundary::Open).unwrap();
        let dc = 30.0;
        let s = GaussianFieldSampler::new(&w, dc, dc / 4.0).unwrap();
        let ((nx, ny), (sx, sy), (lx, ly)) = (s.grid_dims(), s.spacing_m(), s.embedding_dims());
        assert_eq!((nx, ny), (55, 41)); // ceil(400/7.5) = 54 intervals, 300/7.5 = 40
        assert!(lx >= 54 + 80 && ly >= 160, "{lx} {ly}");
        assert_eq!(s.clipped_fraction(), 0.0);
        let c = s.embedded_covariance();
        let mut worst: f64 = 0.0;
        for iy in 0..ny {
            for ix in 0..nx {
                let want = (-(sx * ix as f64).hypot(sy * iy as f64) / dc).exp();
                worst = worst.max((c[iy * lx + ix] - want).abs());
            }
        }
        assert!(worst < 1e-8, "max covariance error {worst}");
    }

    #[test]
    fn torus_embedding_is_periodic_and_small_tori_are_rejected() {
        let w = Window::centered(640.0, 640.0, Boundary::Torus).unwrap();
        let s = GaussianFieldSampler::new(&w, 20.0, 5.0).unwrap();
        assert_eq!(s.grid_dims(), (128, 128));
        assert_eq!(s.embedding_dims(), (128, 128));
        assert!(s.clipped_fraction() < 1e-6, "{}", s.clipped_fraction());
        let c = s.embedded_covariance();
        // covariance at minimum-image lags: lag 120 ≡ −8 cells = 40 m
        assert!((c[120] - (-2.0f64).exp()).abs() < 1e-4, "{}", c[120]);
        assert!((c[5 * 128 + 3] - (-(34.0f64).sqrt() * 5.0 / 20.0).exp()).abs() < 1e-4);
        let tiny = Window::centered(60.0, 60.0, Boundary::Torus).unwrap();
        let e = GaussianFieldSampler::new(&tiny, 50.0, 5.0).unwrap_err();
        assert!(matches!(e, GeometryError::EmbeddingNotPsd { .. }), "{e}");
    }

    /// Empirical grid correlations, averaged over `fields` independent fields.
    fn grid_correlations(w: &Window, dc: f64, lags: &[(usize, usize)], fields: u64) -> Vec<f64> {
        let s = GaussianFieldSampler::new(w, dc, dc / 4.0).unwrap();
        let (nx, ny) = s.grid_dims();
        let mut pairs = vec![Vec::new(); lags.len()];
        for k in 0..fields {
            let f = s.sample(&mut SeedTree::new(21).index(k).rng());
            for (l, &(dx, dy)) in lags.iter().enumerate() {
                for iy in (0..ny - dy).step_by(2) {
                    for ix in (0..nx - dx).step_by(2) {
                        pairs[l].push((f.node(ix, iy), f.node(ix + dx, iy + dy)));
                    }
                }
            }
        }
        pairs.iter().map(|p| corr(p)).collect()
    }

    #[test]
    fn empirical_correlation_is_isotropic_exponential() {
        // lags in grid steps of d_c/4: d_c on each axis, 2 d_c, and (3, 4) = 1.25 d_c diagonally
        // (isotropic e^-1.25 = 0.287; the separable model would give e^-1.75 = 0.174).
        let lags = [(4, 0), (0, 4), (8, 0), (3, 4), (0, 0)];
        let want = [
            (-1.0f64).exp(),
            (-1.0f64).exp(),
            (-2.0f64).exp(),
            (-1.25f64).exp(),
            1.0,
        ];
        for boundary in [Boundary::Torus, Boundary::Open] {
            let w = Window::centered(1280.0, 1280.0, boundary).unwrap();
            let got = grid_correlations(&w, 20.0, &lags, 12);
            for (l, (&g, &t)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - t).abs() < 0.03,
                    "{boundary:?} lag {:?}: {g} vs {t}",
                    lags[l]
                );
            }
        }
    }

    #[test]
    fn interpolated_field_has_unit_variance_off_grid() {
        // Points at cell centres (worst case for plain bilinear: variance 0.81) and at random
        // offsets, 10 d_c apart so they are nearly independent within a field.
        let w = Window::centered(4000.0, 4000.0, Boundary::Open).unwrap();
        let dc = 20.0;
        let sampler = GaussianFieldSampler::new(&w, dc, dc / 4.0).unwrap();
        let (sx, sy) = sampler.spacing_m();
        let mut rng = SeedTree::new(5).child("pos").rng();
        let centres: Vec<Point> = (0..20)
            .flat_map(|i| (0..20).map(move |j| (i, j)))
            .map(|(i, j)| {
                Point::new(
                    -2000.0 + (40.0 * i as f64 + 0.5) * sx,
                    -2000.0 + (40.0 * j as f64 + 0.5) * sy,
                )
            })
            .collect();
        let random: Vec<Point> = (0..400).map(|_| w.uniform_point(&mut rng)).collect();
        let (mut vc, mut vr, mut plain) = (Vec::new(), Vec::new(), Vec::new());
        for k in 0..20 {
            let f = sampler.sample(&mut SeedTree::new(6).index(k).rng());
            vc.extend(centres.iter().map(|&p| f.at(p)));
            vr.extend(random.iter().map(|&p| f.at(p)));
            // plain bilinear at a cell centre: mean of the 4 nodes
            for &p in &centres {
                let i = ((p.x + 2000.0) / sx).floor() as usize;
                let j = ((p.y + 2000.0) / sy).floor() as usize;
                plain.push(
                    (f.node(i, j) + f.node(i + 1, j) + f.node(i, j + 1) + f.node(i + 1, j + 1))
                        / 4.0,
                );
            }
        }
        // 8,000 samples each: SE of the std ≈ 0.008
        let (sc, sr, sp) = (
            std(vc.into_iter()),
            std(vr.into_iter()),
            std(plain.into_iter()),
        );
        assert!((sc - 1.0).abs() < 0.03, "cell centres: {sc}");
        assert!((sr - 1.0).abs() < 0.03, "random: {sr}");
        assert!((sp - 0.8149f64.sqrt()).abs() < 0.03, "plain bilinear: {sp}");
    }

    /// The exact correlation of the interpolated field between p and q, from the grid covariance.
    fn interpolated_correlation(f: &GaussianField, p: Point, q: Point) -> f64 {
        let min = f.window.min();
        let corners = |p: Point| -> Vec<(Point, f64)> {
            let (vx, vy) = ((p.x - min.x) / f.sx, (p.y - min.y) / f.sy);
            let (i, j) = (vx.floor(), vy.floor());
            let (tx, ty) = (vx - i, vy - j);
            let at = |a: f64, b: f64| Point::new(min.x + a * f.sx, min.y + b * f.sy);
            vec![
                (at(i, j), (1.0 - tx) * (1.0 - ty)),
                (at(i + 1.0, j), tx * (1.0 - ty)),
                (at(i, j + 1.0), (1.0 - tx) * ty),
                (at(i + 1.0, j + 1.0), tx * ty),
            ]
        };
        let cov = |a: &[(Point, f64)], b: &[(Point, f64)]| {
            let mut c = 0.0;
            for &(x, wx) in a {
                for &(y, wy) in b {
                    c += wx * wy * (-f.window.distance(x, y) / f.decorrelation_m).exp();
                }
            }
            c
        };
        let (a, b) = (corners(p), corners(q));
        cov(&a, &b) / (cov(&a, &a) * cov(&b, &b)).sqrt()
    }

    /// Worst and mean (corr − exp(−d/d_c)) of the interpolated field per lag bin [0, ¼), [¼, ½),
    /// [½, 1), [1, 2), [2, 3) d_c, over random pairs; checks `GaussianField::correlation` against
    /// the independent computation above on the way.
    fn correlation_bias(spacing_fraction: f64) -> ([f64; 5], [f64; 5]) {
        let w = Window::centered(400.0, 400.0, Boundary::Open).unwrap();
        let dc = 20.0;
        let f = GaussianFieldSampler::new(&w, dc, dc * spacing_fraction)
            .unwrap()
            .sample(&mut SeedTree::new(1).rng());
        let mut rng = SeedTree::new(2).child("pairs").rng();
        let edges = [0.0, 0.25, 0.5, 1.0, 2.0];
        let (mut worst, mut sum, mut count) = ([0.0f64; 5], [0.0f64; 5], [0usize; 5]);
        for _ in 0..20_000 {
            let p = Point::new(
                rng.random_range(-130.0..130.0),
                rng.random_range(-130.0..130.0),
            );
            let d = rng.random_range(0.0..3.0 * dc);
            let th = rng.random_range(0.0..std::f64::consts::TAU);
            let q = Point::new(p.x + d * th.cos(), p.y + d * th.sin());
            let c = f.correlation(p, q);
            let c2 = interpolated_correlation(&f, p, q);
            assert!((c - c2).abs() < 1e-12, "{p:?} {q:?}: {c} vs {c2}");
            let err = c - (-d / dc).exp();
            let bin = edges.iter().rposition(|&e| d / dc >= e).unwrap();
            worst[bin] = worst[bin].max(err.abs());
            sum[bin] += err;
            count[bin] += 1;
        }
        (worst, std::array::from_fn(|k| sum[k] / count[k] as f64))
    }

    #[test]
    fn interpolation_bias_of_the_correlation_is_as_documented() {
        // The numbers quoted in the module docs (spacing d_c/4 and d_c/8), to ±0.01.
        let (worst, mean) = correlation_bias(0.25);
        let (worst8, mean8) = correlation_bias(0.125);
        println!(
            "d_c/4: worst {worst:.3?} mean {mean:.3?}; d_c/8: worst {worst8:.3?} mean {mean8:.3?}"
        );
        let documented_worst = [0.13, 0.14, 0.12, 0.08, 0.03];
        let documented_mean = [0.07, 0.09, 0.07, 0.04, 0.01];
        for k in 0..5 {
            assert!(
                (worst[k] - documented_worst[k]).abs() < 0.01,
                "d_c/4 worst {worst:?}"
            );
            assert!(
                (mean[k] - documented_mean[k]).abs() < 0.01,
                "d_c/4 mean {mean:?}"
            );
        }
        for k in 0..5 {
            // halving the spacing roughly halves the bias
            assert!(
                worst8[k] < 0.65 * worst[k] && mean8[k] < 0.7 * mean[k] + 1e-3,
                "{worst8:?} {mean8:?}"
            );
        }
        // grid nodes are exact
        let w = Window::centered(400.0, 400.0, Boundary::Open).unwrap();
        let f = GaussianFieldSampler::new(&w, 20.0, 5.0)
            .unwrap()
            .sample(&mut SeedTree::new(1).rng());
        let (p, q) = (
            Point::new(-200.0 + 15.0, -200.0 + 40.0),
            Point::new(-200.0 + 35.0, -200.0),
        );
        let want = (-(20.0f64).hypot(40.0) / 20.0).exp();
        assert!((f.correlation(p, q) - want).abs() < 1e-12);
        assert!((f.correlation(p, p) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn link_normalization_uses_the_exact_position_correlation() {
        // Table lookups (short lags) and direct evaluation (long lags), open and torus.
        for boundary in [Boundary::Open, Boundary::Torus] {
            let w = Window::centered(1000.0, 600.0, boundary).unwrap();
            let f = GaussianFieldSampler::new(&w, 10.0, 2.5)
                .unwrap()
                .sample(&mut SeedTree::new(3).rng());
            let mut rng = SeedTree::new(4).rng();
            let mut pts: Vec<Point> = (0..60).map(|_| w.uniform_point(&mut rng)).collect();
            // a few close pairs, and pairs across the torus seam
            pts.push(Point::new(pts[0].x + 1.3, pts[0].y - 0.4));
            pts.push(Point::new(499.0, 10.0));
            pts.push(Point::new(-499.5, 12.0));
            let real = ShadowingRealization::from_field(5.0, &f, &pts);
            for a in 0..pts.len() {
                assert!((real.position_value_db(a).unwrap() - 5.0 * f.at(pts[a])).abs() < 1e-12);
                for b in 0..pts.len() {
                    let rho = real.position_correlation(a, b).unwrap();
                    assert!((rho - f.correlation(pts[a], pts[b])).abs() < 1e-12);
                    let want = 5.0 * (f.at(pts[a]) + f.at(pts[b])) / (2.0 * (1.0 + rho)).sqrt();
                    assert!((real.link_shadowing_db(a, b) - want).abs() < 1e-12);
                }
            }
            let seam = real
                .position_correlation(pts.len() - 2, pts.len() - 1)
                .unwrap();
            if boundary == Boundary::Torus {
                // 1.5 m apart through the seam
                assert!(seam > 0.8, "{seam}");
            } else {
                assert!(seam < 1e-30, "{seam}");
            }
        }
    }

    #[test]
    fn capped_lag_table_falls_back_to_direct_evaluation() {
        // spacing d_c/80: the table is halved to fit MAX_LAG_TABLE, so lags between its edge
        // (90 m) and the 45 d_c cut-off (180 m) are evaluated directly, longer ones skipped
        let w = Window::centered(400.0, 40.0, Boundary::Torus).unwrap();
        let f = GaussianFieldSampler::new(&w, 4.0, 0.05)
            .unwrap()
            .sample(&mut SeedTree::new(7).rng());
        let table = LagTable::new(&f);
        assert!(table.hx < 2000 && table.hx > 1000, "{}", table.hx);
        let mut pts = vec![Point::new(-190.0, 0.3)];
        for d in [
            0.01, 1.0, 7.3, 50.0, 89.9, 90.05, 91.0, 120.0, 179.0, 185.0, 199.0,
        ] {
            pts.push(Point::new(-190.0 + d, 0.3 + d / 1000.0));
        }
        let real = ShadowingRealization::from_field(1.0, &f, &pts);
        for b in 1..pts.len() {
            let want = f.correlation(pts[0], pts[b]);
            let got = real.position_correlation(0, b).unwrap();
            assert!((got - want).abs() < 1e-12, "{b}: {got} vs {want}");
        }
    }

    #[test]
    fn correlated_links_have_std_sigma_and_share_endpoints() {
        let sigma = 8.0;
        let dc = 20.0;
        let shadow = Shadowing::Correlated {
            sigma_db: sigma,
            decorrelation_m: dc,
            grid_spacing_m: None,
        };
        let w = Window::centered(2000.0, 2000.0, Boundary::Torus).unwrap();
        // Triples a, b, c far apart (b, c 400 m from a and from each other), plus d at dc from a.
        let mut rng = SeedTree::new(2).child("triples").rng();
        let triples: Vec<[Point; 4]> = (0..20)
            .map(|_| {
                let a = w.uniform_point(&mut rng);
                [
                    a,
                    Point::new(a.x + 400.0, a.y),
                    Point::new(a.x + 200.0, a.y + 346.4),
                    Point::new(a.x, a.y + dc),
                ]
            })
            .collect();
        let pts: Vec<Point> = triples.iter().flatten().copied().collect();
        let (mut ab_ac, mut ab, mut ad, mut cd) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for k in 0..40 {
            let real = shadow
                .realize(&pts, &w, &mut SeedTree::new(3).index(k).rng())
                .unwrap();
            for t in 0..triples.len() {
                let (a, b, c, d) = (4 * t, 4 * t + 1, 4 * t + 2, 4 * t + 3);
                ab_ac.push((real.link_shadowing_db(a, b), real.link_shadowing_db(a, c)));
                ab.push(real.link_shadowing_db(b, a));
                ad.push(real.link_shadowing_db(a, d));
                // c–a and c–d: far end shared, near ends a, d at d_c: strongly correlated
                cd.push((real.link_shadowing_db(c, a), real.link_shadowing_db(c, d)));
                assert_eq!(real.link_shadowing_db(a, b), real.link_shadowing_db(b, a));
            }
        }
        // 800 samples: SE(std)/σ ≈ 0.025, SE(corr) ≈ 0.03
        assert!((std(ab.into_iter()) / sigma - 1.0).abs() < 0.1);
        // short link (|a − d| = d_c): still σ thanks to the 1/√(1+ρ) normalization
        assert!((std(ad.into_iter()) / sigma - 1.0).abs() < 0.1);
        let c1 = corr(&ab_ac);
        assert!((c1 - 0.5).abs() < 0.1, "links sharing an endpoint: {c1}");
        // corr = (1 + ρ_ad)/2 = 0.68 for ρ = e⁻¹
        let c2 = corr(&cd);
        assert!((c2 - (1.0 + (-1.0f64).exp()) / 2.0).abs() < 0.1, "{c2}");
    }

    #[test]
    fn iid_links_are_uncorrelated_with_std_sigma() {
        let sigma = 4.0;
        let pts = vec![Point::new(0.0, 0.0); 300];
        let w = Window::centered(10.0, 10.0, Boundary::Open).unwrap();
        let real = Shadowing::Iid { sigma_db: sigma }
            .realize(&pts, &w, &mut SeedTree::new(4).rng())
            .unwrap();
        assert!(real.position_value_db(0).is_none());
        let mut all = Vec::new();
        let mut shared = Vec::new();
        for j in 2..300 {
            shared.push((real.link_shadowing_db(0, j), real.link_shadowing_db(1, j)));
            for i in 0..j {
                all.push(real.link_shadowing_db(i, j));
            }
        }
        assert_eq!(real.link_shadowing_db(7, 3), real.link_shadowing_db(3, 7));
        let n = all.len() as f64; // 44,850
        let mean = all.iter().sum::<f64>() / n;
        assert!(mean.abs() < 4.0 * sigma / n.sqrt(), "{mean}");
        assert!((std(all.iter().copied()) / sigma - 1.0).abs() < 0.02);
        // links sharing endpoint j: correlation ~ N(0, 1/298)
        let c = corr(&shared);
        assert!(c.abs() < 0.2, "{c}");
        // kurtosis ≈ 3 (Gaussian, not just the right variance)
        let m4 = all.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
        let k = m4 / sigma.powi(4);
        assert!((k - 3.0).abs() < 0.15, "kurtosis {k}");
        // another key gives another realization
        let other = Shadowing::Iid { sigma_db: sigma }
            .realize(&pts, &w, &mut SeedTree::new(5).rng())
            .unwrap();
        assert_ne!(other.link_shadowing_db(0, 1), real.link_shadowing_db(0, 1));
    }

    #[test]
    fn none_is_zero_and_realizations_are_deterministic() {
        let w = Window::centered(300.0, 300.0, Boundary::Open).unwrap();
        let pts = [
            Point::new(1.0, 2.0),
            Point::new(-50.0, 80.0),
            Point::new(400.0, 0.0),
        ];
        let none = Shadowing::None {}
            .realize(&pts, &w, &mut SeedTree::new(1).rng())
            .unwrap();
        assert_eq!(none.link_shadowing_db(0, 2), 0.0);
        assert_eq!(none.len(), 3);
        let c = Shadowing::Correlated {
            sigma_db: 6.0,
            decorrelation_m: 25.0,
            grid_spacing_m: Some(5.0),
        };
        let a = c.realize(&pts, &w, &mut SeedTree::new(1).rng()).unwrap();
        let b = c.realize(&pts, &w, &mut SeedTree::new(1).rng()).unwrap();
        let d = c.realize(&pts, &w, &mut SeedTree::new(2).rng()).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, d);
        // the point outside the open window takes the edge value
        let f = GaussianFieldSampler::new(&w, 25.0, 5.0)
            .unwrap()
            .sample(&mut SeedTree::new(1).rng());
        assert_eq!(f.at(Point::new(400.0, 0.0)), f.at(Point::new(150.0, 0.0)));
        // a = b: σ F(a)
        assert!((a.link_shadowing_db(1, 1) - a.position_value_db(1).unwrap()).abs() < 1e-12);
    }

    #[test]
    fn validation_and_memory_cap() {
        let bad = [
            (Shadowing::Iid { sigma_db: -1.0 }, "sigma_db"),
            (
                Shadowing::Correlated {
                    sigma_db: 4.0,
                    decorrelation_m: 0.0,
                    grid_spacing_m: None,
                },
                "decorrelation_m",
            ),
            (
                Shadowing::Correlated {
                    sigma_db: 4.0,
                    decorrelation_m: 20.0,
                    grid_spacing_m: Some(6.0),
                },
                "grid_spacing_m",
            ),
        ];
        for (s, field) in bad {
            match s.validate() {
                Err(GeometryError::InvalidParameter { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{s:?}: {other:?}"),
            }
        }
        // 10 km × 10 km: fine at d_c = 50 m, too large at d_c = 10 m
        let w = Window::centered(10_000.0, 10_000.0, Boundary::Open).unwrap();
        let ok = GaussianFieldSampler::new(&w, 50.0, 12.5).unwrap();
        assert_eq!(ok.grid_dims(), (801, 801));
        assert_eq!(ok.embedding_dims(), (900, 900));
        assert!(ok.memory_bytes() < 20_000_000);
        let s = Shadowing::Correlated {
            sigma_db: 4.0,
            decorrelation_m: 10.0,
            grid_spacing_m: None,
        };
        let e = s.realize(&[], &w, &mut SeedTree::new(1).rng()).unwrap_err();
        assert!(matches!(e, GeometryError::TooLarge { .. }), "{e}");
        assert!(e.to_string().contains("embedding cells"), "{e}");
    }

    #[test]
    fn deserializes_with_kind_tags() {
        let s: Shadowing = de(V::map([("kind", V::s("none"))])).unwrap();
        assert_eq!(s, Shadowing::None {});
        let s: Shadowing = de(V::map([("kind", V::s("iid")), ("sigma_db", V::F(4.0))])).unwrap();
        assert_eq!(s, Shadowing::Iid { sigma_db: 4.0 });
        let s: Shadowing = de(V::map([
            ("kind", V::s("correlated")),
            ("sigma_db", V::F(7.82)),
            ("decorrelation_m", V::F(13.0)),
        ]))
        .unwrap();
        assert_eq!(
            s,
            Shadowing::Correlated {
                sigma_db: 7.82,
                decorrelation_m: 13.0,
                grid_spacing_m: None
            }
        );
        let s: Shadowing = de(V::map([
            ("kind", V::s("correlated")),
            ("sigma_db", V::F(7.82)),
            ("decorrelation_m", V::F(13.0)),
            ("grid_spacing_m", V::F(2.0)),
        ]))
        .unwrap();
        assert!(matches!(s, Shadowing::Correlated { grid_spacing_m: Some(g), .. } if g == 2.0));
        assert!(de::<Shadowing>(V::map([("kind", V::s("iid")), ("sigma", V::F(4.0))])).is_err());
        assert!(
            de::<Shadowing>(V::map([("kind", V::s("none")), ("sigma_db", V::F(4.0))])).is_err()
        );
    }
}

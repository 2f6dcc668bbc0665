//! Discrete-time linear loop analysis: real polynomials, rational transfer functions H(z), their
//! poles and zeros, frequency response, peaking, bandwidth, noise gain and stability margins, and
//! the synchronization-loop models of the Chorus notes (notes/000 §2.4.B, §3 P3–P4 and the
//! appendix \[CALC\]).
//!
//! # Conventions
//!
//! * A [`Poly`] holds real coefficients in **ascending** powers of its indeterminate:
//!   `[c0, c1, c2]` is c0 + c1·x + c2·x².
//! * A [`TransferFunction`] is H(z) = B(z⁻¹)/A(z⁻¹): numerator and denominator are [`Poly`]s in
//!   **x = z⁻¹** (the DSP / `lfilter` convention), normalized to a₀ = 1, so that the output of an
//!   input u is the causal difference equation y\[k\] = Σᵢ bᵢ·u\[k−i\] − Σ_{i≥1} aᵢ·y\[k−i\].
//!   A pure delay z⁻ᵈ is B = xᵈ, A = 1. [`TransferFunction::from_z`] and
//!   [`TransferFunction::to_z`] convert from and to polynomials in z (ascending powers of z).
//! * Frequencies are normalized, in **rad/sample**: ω ∈ \[0, π\], z = e^{jω}. With a sampling
//!   period T (s), ω/T is in rad/s.
//! * Poles and zeros are the roots in z of z^M·A(z⁻¹) and z^M·B(z⁻¹), M = max(deg A, deg B):
//!   they include the poles at z = 0 that delays bring. Common factors of B and A are **not**
//!   cancelled, so an unstable pole hidden by a cancellation still counts as unstable.
//!
//! # The type-2 tracker and the loops of the notes
//!
//! A node's phase tracker (notes/000 appendix) is the open loop
//! L(z) = (Kp(z−1) + Ki)/(z−1)², Kp = 2ζωnT, Ki = (ωnT)² ([`type2_open_loop`], [`type2_gains`]),
//! a second-order digital PLL: a phase accumulator fed by Kp·e plus a frequency accumulator fed by
//! Ki·e. Its closed loop from the parent's phase (and from the measurement noise, which enters at
//! the same point) to the node's phase is G = L/(1 + L). A measurement latency of d periods puts
//! z⁻ᵈ **inside** the loop: G_d = z⁻ᵈL/(1 + z⁻ᵈL) ([`type2_closed_loop`]); this is the wiring
//! that reproduces the appendix's "latency increases peaking" (a delay in the reference path
//! alone would leave |G| unchanged).
//!
//! *Listening loops (P4, notes/000 §1.4).* In an n-node ring each node tracks its predecessor
//! through the same G = N/D (polynomials in z): D·θᵢ = N·θᵢ₋₁, whose characteristic polynomial
//! is det(D·I − N·P) = Dⁿ − Nⁿ with P the cyclic shift ([`ring_characteristic_poly`]). It factors
//! over the ring's modes: Π_k (D − e^{2πik/n}·N). The common mode (k = 0, all nodes moving
//! together) has the factor D − N, which for G_d is z^d·(z − 1)²: a **double pole at z = 1** for
//! every gain and latency, i.e. unbounded common-mode phase drift (a ramp), since nothing anchors
//! the ring. For n = 2 the other factor is the differential mode D + N = z^d(z−1)² + 2N(z): the
//! loop with twice the gain, which the latency makes exponentially unstable (appendix: |pole| ≈
//! 1.017 at ζ = 0.707 and ≈ 1.100 at ζ = 1 for d = 2, ωnT = 0.2; reproduced in the tests).
//!
//! *Depth (P3).* In a chain of identical closed loops H, each hop adds white measurement noise at
//! its input, which then passes through its own loop and every loop below it, so the phase-noise
//! variance at depth L is σ²·Σ_{l=1..L} ‖Hˡ‖₂² ([`cascade_variance_gain`] normalizes by the
//! one-hop σ²‖H‖₂²). Any peaking of H compounds as |H|^{2l} near its peak.
//!
//! # Numerical methods (written here: the crate has no control-systems dependency)
//!
//! * Roots: Aberth–Ehrlich simultaneous iteration with a backward-error stopping rule, followed
//!   by guarded Newton polishing on the original coefficients ([`Poly::roots`]). Simple roots are
//!   found to ~1e-14 relative; a root of multiplicity m only to ~ε^{1/m} (≈ 1e-8 for a double
//!   root), the conditioning limit of any method working from coefficients.
//! * Peaking, bandwidth and margins: a dense grid (uniform and logarithmic in ω, plus the angles
//!   of poles near the unit circle), then golden-section or bisection refinement.
//! * Noise gain: the impulse response summed until its estimated tail is below 1e-14 of the sum
//!   ([`TransferFunction::noise_gain`]), cross-checked against an exact discrete Lyapunov solve
//!   ([`TransferFunction::noise_gain_exact`]).

use crate::units::C64;
use std::f64::consts::PI;
use std::ops::{Add, Mul, Neg, Sub};
use thiserror::Error;

/// Failures of the loop analysis (numeric or input conditions, not caller contract violations).
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ControlError {
    /// The zero polynomial has no roots (and cannot be a denominator).
    #[error("the zero polynomial has no roots and cannot be a denominator")]
    ZeroPolynomial,
    /// A(z⁻¹) has a zero constant term after cancelling common delays: H would be non-causal.
    #[error("denominator has a zero constant term in z⁻¹: the transfer function is not causal")]
    NonCausal,
    /// A ratio of polynomials in z with a numerator of higher degree than the denominator.
    #[error("improper transfer function: numerator degree {num} > denominator degree {den} in z")]
    Improper {
        /// Degree of the numerator in z.
        num: usize,
        /// Degree of the denominator in z.
        den: usize,
    },
    /// 1 + L(z) has a zero constant term in z⁻¹: the feedback loop is an algebraic loop.
    #[error("algebraic loop: 1 + L(∞) = 0, the closed loop is not causal")]
    AlgebraicLoop,
    /// The root finder did not reach its stopping rule.
    #[error("root finder did not converge for a degree-{degree} polynomial after {iterations} iterations")]
    RootsNotConverged {
        /// Degree of the polynomial.
        degree: usize,
        /// Iterations spent.
        iterations: usize,
    },
    /// An operation that needs a stable system (noise gain, cascades) met an unstable one.
    #[error("system is not stable: spectral radius {spectral_radius} ≥ 1 − {margin}")]
    Unstable {
        /// Largest pole magnitude.
        spectral_radius: f64,
        /// The stability margin used.
        margin: f64,
    },
    /// The impulse response did not decay within the sample budget.
    #[error("impulse response did not decay to its tolerance within {samples} samples")]
    NotConverged {
        /// Samples computed.
        samples: usize,
    },
    /// The Lyapunov system was singular (a pole pair with pᵢ·pⱼ = 1).
    #[error("singular linear system in the Lyapunov solve")]
    Singular,
}

// ---------------------------------------------------------------------------------------------
// Polynomials
// ---------------------------------------------------------------------------------------------

/// A real polynomial, coefficients in **ascending** powers of its indeterminate x.
///
/// Trailing (highest-power) exact zeros are trimmed, so the last stored coefficient is non-zero;
/// the zero polynomial has no coefficients.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Poly {
    c: Vec<f64>,
}

impl Poly {
    /// c0 + c1·x + … from ascending coefficients (trailing zeros trimmed).
    ///
    /// # Panics
    /// If a coefficient is not finite.
    #[track_caller]
    pub fn new(coeffs: Vec<f64>) -> Self {
        assert!(
            coeffs.iter().all(|v| v.is_finite()),
            "Poly::new: coefficients must be finite, got {coeffs:?}"
        );
        let mut p = Poly { c: coeffs };
        p.trim();
        p
    }

    /// The zero polynomial.
    pub fn zero() -> Self {
        Poly { c: Vec::new() }
    }

    /// The constant polynomial `k`.
    pub fn constant(k: f64) -> Self {
        Poly::new(vec![k])
    }

    /// The monomial xᵏ.
    pub fn monomial(k: usize) -> Self {
        let mut c = vec![0.0; k + 1];
        c[k] = 1.0;
        Poly { c }
    }

    /// The monic polynomial Π (x − rᵢ) with the given roots, which must come in conjugate pairs
    /// (each complex root listed with its conjugate) so that the product is real.
    ///
    /// # Panics
    /// If the roots are not conjugate-symmetric (an imaginary part of a coefficient exceeds
    /// 1e-9 of the largest coefficient magnitude).
    #[track_caller]
    pub fn from_roots(roots: &[C64]) -> Self {
        let mut c = vec![C64::new(1.0, 0.0)];
        for &r in roots {
            let mut next = vec![C64::new(0.0, 0.0); c.len() + 1];
            for (i, &ci) in c.iter().enumerate() {
                next[i + 1] += ci;
                next[i] -= ci * r;
            }
            c = next;
        }
        let scale = c.iter().map(|v| v.norm()).fold(0.0, f64::max);
        assert!(
            c.iter().all(|v| v.im.abs() <= 1e-9 * scale),
            "Poly::from_roots: roots are not conjugate-symmetric"
        );
        Poly::new(c.iter().map(|v| v.re).collect())
    }

    fn trim(&mut self) {
        while self.c.last() == Some(&0.0) {
            self.c.pop();
        }
    }

    /// The coefficients, ascending (empty for the zero polynomial).
    pub fn coeffs(&self) -> &[f64] {
        &self.c
    }

    /// Coefficient of xᵏ (0 beyond the degree).
    pub fn coeff(&self, k: usize) -> f64 {
        self.c.get(k).copied().unwrap_or(0.0)
    }

    /// The degree, `None` for the zero polynomial.
    pub fn degree(&self) -> Option<usize> {
        self.c.len().checked_sub(1)
    }

    /// Whether this is the zero polynomial.
    pub fn is_zero(&self) -> bool {
        self.c.is_empty()
    }

    /// p(x) for real x (Horner).
    pub fn eval(&self, x: f64) -> f64 {
        self.c.iter().rev().fold(0.0, |acc, &ci| acc * x + ci)
    }

    /// p(x) for complex x (Horner).
    pub fn eval_complex(&self, x: C64) -> C64 {
        self.c
            .iter()
            .rev()
            .fold(C64::new(0.0, 0.0), |acc, &ci| acc * x + ci)
    }

    /// The derivative p′.
    pub fn derivative(&self) -> Poly {
        Poly::new(
            self.c
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, &ci)| i as f64 * ci)
                .collect(),
        )
    }

    /// k·p.
    pub fn scale(&self, k: f64) -> Poly {
        Poly::new(self.c.iter().map(|&ci| k * ci).collect())
    }

    /// pⁿ (p⁰ = 1), by repeated squaring.
    pub fn pow(&self, n: u32) -> Poly {
        let mut result = Poly::constant(1.0);
        let mut base = self.clone();
        let mut e = n;
        while e > 0 {
            if e & 1 == 1 {
                result = &result * &base;
            }
            e >>= 1;
            if e > 0 {
                base = &base * &base;
            }
        }
        result
    }

    /// xⁿ·p(1/x), the coefficients reversed within a length of n + 1 (n ≥ deg p).
    ///
    /// # Panics
    /// If n < deg p.
    #[track_caller]
    pub fn reversed(&self, n: usize) -> Poly {
        let len = self.c.len();
        assert!(
            len <= n + 1,
            "Poly::reversed: n = {n} below the degree {}",
            len.saturating_sub(1)
        );
        Poly::new((0..=n).map(|j| self.coeff(n - j)).collect())
    }

    /// xᵏ·p (the coefficients shifted up by k).
    pub fn shift(&self, k: usize) -> Poly {
        if self.is_zero() {
            return Poly::zero();
        }
        let mut c = vec![0.0; k];
        c.extend_from_slice(&self.c);
        Poly { c }
    }

    /// Polynomial long division: (q, r) with self = d·q + r and deg r < deg d.
    ///
    /// # Panics
    /// If `d` is the zero polynomial.
    #[track_caller]
    pub fn div_rem(&self, d: &Poly) -> (Poly, Poly) {
        let dn = d
            .degree()
            .expect("Poly::div_rem: division by the zero polynomial");
        let Some(n) = self.degree() else {
            return (Poly::zero(), Poly::zero());
        };
        if n < dn {
            return (Poly::zero(), self.clone());
        }
        let lead = d.c[dn];
        let mut rem = self.c.clone();
        let mut q = vec![0.0; n - dn + 1];
        for k in (0..=n - dn).rev() {
            let f = rem[k + dn] / lead;
            q[k] = f;
            for (j, &dj) in d.c.iter().enumerate() {
                rem[k + j] -= f * dj;
            }
            rem[k + dn] = 0.0;
        }
        rem.truncate(dn);
        (Poly::new(q), Poly::new(rem))
    }

    /// All complex roots, with multiplicity, sorted by decreasing magnitude (ties by angle).
    ///
    /// Exact zero low-order coefficients give exact roots at 0; the rest are found by the
    /// Aberth–Ehrlich iteration on the monic polynomial (Gauss–Seidel updates, initial points on
    /// a circle about the centroid of the roots with radius |p(centroid)|^{1/n}), stopped for each
    /// root when |p(z)| is within a small multiple of the rounding-error bound of its evaluation
    /// (a backward-stable root), then polished by up to three Newton steps on the original
    /// coefficients, each kept only if it lowers |p|. Evaluation at |z| > 1 uses the reversed
    /// polynomial to avoid overflow. Accuracy: ~1e-14 relative for well-separated simple roots,
    /// ~√ε ≈ 1e-8 for double roots (their conditioning limit).
    ///
    /// # Errors
    /// [`ControlError::ZeroPolynomial`] for the zero polynomial,
    /// [`ControlError::RootsNotConverged`] if the iteration stalls (not observed in the tests).
    pub fn roots(&self) -> Result<Vec<C64>, ControlError> {
        if self.is_zero() {
            return Err(ControlError::ZeroPolynomial);
        }
        let nz = self.c.iter().take_while(|v| **v == 0.0).count();
        let mut out = vec![C64::new(0.0, 0.0); nz];
        let core = &self.c[nz..];
        let n = core.len() - 1;
        if n >= 1 {
            let lead = core[n];
            let monic: Vec<f64> = core.iter().map(|v| v / lead).collect();
            let mut found = aberth(&monic)?;
            let original = Poly::new(core.to_vec());
            let deriv = original.derivative();
            for z in &mut found {
                polish(&original, &deriv, z);
            }
            out.extend(found);
        }
        out.sort_by(|a, b| {
            b.norm()
                .partial_cmp(&a.norm())
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(
                    a.arg()
                        .partial_cmp(&b.arg())
                        .unwrap_or(std::cmp::Ordering::Equal),
                )
        });
        Ok(out)
    }
}

/// Maximum Aberth sweeps.
const ABERTH_MAX_ITERS: usize = 2000;

/// Newton correction p(z)/p′(z) of a monic polynomial (ascending `a`, a[n] = 1) and a bound on the
/// rounding error of p(z)'s evaluation, relative to |p(z)|: returns (ratio, |p|/bound).
fn newton_ratio(a: &[f64], z: C64) -> (C64, f64) {
    let n = a.len() - 1;
    let eps = f64::EPSILON;
    if z.norm() <= 1.0 {
        let mut p = C64::new(a[n], 0.0);
        let mut dp = C64::new(0.0, 0.0);
        let mut bound = a[n].abs();
        let r = z.norm();
        for i in (0..n).rev() {
            dp = dp * z + p;
            p = p * z + a[i];
            bound = bound * r + a[i].abs();
        }
        let ratio = if dp.norm() > 0.0 {
            p / dp
        } else {
            C64::new(0.0, 0.0)
        };
        let tol = 4.0 * (n as f64 + 1.0) * eps * bound;
        (ratio, p.norm() / tol.max(f64::MIN_POSITIVE))
    } else {
        // p(z) = zⁿ q(y), y = 1/z, q(y) = Σ a_{n−j} yʲ; p/p′ = z·q/(n·q − y·q′).
        let y = z.inv();
        let mut q = C64::new(a[0], 0.0);
        let mut dq = C64::new(0.0, 0.0);
        let mut bound = a[0].abs();
        let r = y.norm();
        for &aj in &a[1..] {
            dq = dq * y + q;
            q = q * y + aj;
            bound = bound * r + aj.abs();
        }
        let den = q * n as f64 - y * dq;
        let ratio = if den.norm() > 0.0 {
            z * q / den
        } else {
            C64::new(0.0, 0.0)
        };
        let tol = 4.0 * (n as f64 + 1.0) * eps * bound;
        (ratio, q.norm() / tol.max(f64::MIN_POSITIVE))
    }
}

fn aberth(a: &[f64]) -> Result<Vec<C64>, ControlError> {
    let n = a.len() - 1;
    if n == 1 {
        return Ok(vec![C64::new(-a[0], 0.0)]);
    }
    let centroid = -a[n - 1] / n as f64;
    let pc = Poly::new(a.to_vec()).eval(centroid).abs();
    let mut radius = pc.powf(1.0 / n as f64);
    if !(radius.is_finite() && radius > 0.0) {
        radius = 1.0;
    }
    let mut z: Vec<C64> = (0..n)
        .map(|k| {
            C64::new(centroid, 0.0) + C64::from_polar(radius, 2.0 * PI * k as f64 / n as f64 + 0.4)
        })
        .collect();
    let mut done = vec![false; n];
    for iter in 0..ABERTH_MAX_ITERS {
        let mut all = true;
        for k in 0..n {
            if done[k] {
                continue;
            }
            let (ratio, rel) = newton_ratio(a, z[k]);
            if rel <= 1.0 || ratio.norm() == 0.0 {
                done[k] = true;
                continue;
            }
            let mut s = C64::new(0.0, 0.0);
            for j in 0..n {
                if j != k {
                    let d = z[k] - z[j];
                    if d.norm() > 0.0 {
                        s += d.inv();
                    }
                }
            }
            let w = ratio / (C64::new(1.0, 0.0) - ratio * s);
            if w.is_finite() {
                z[k] -= w;
            } else {
                let bump = 1e-8 * (1.0 + z[k].norm());
                z[k] += C64::new(bump, bump);
            }
            if w.norm() <= 2.0 * f64::EPSILON * z[k].norm() {
                done[k] = true;
            } else {
                all = false;
            }
        }
        if all && done.iter().all(|d| *d) {
            return Ok(z);
        }
        if iter + 1 == ABERTH_MAX_ITERS {
            // Accept roots that are within 1e3 × the evaluation-error bound (clustered roots can
            // wander inside their uncertainty region without meeting the strict rule).
            if z.iter().all(|&zk| newton_ratio(a, zk).1 <= 1e3) {
                return Ok(z);
            }
        }
    }
    Err(ControlError::RootsNotConverged {
        degree: n,
        iterations: ABERTH_MAX_ITERS,
    })
}

fn polish(p: &Poly, dp: &Poly, z: &mut C64) {
    let mut best = p.eval_complex(*z).norm();
    for _ in 0..3 {
        if best == 0.0 {
            return;
        }
        let d = dp.eval_complex(*z);
        if d.norm() == 0.0 {
            return;
        }
        let cand = *z - p.eval_complex(*z) / d;
        let val = p.eval_complex(cand).norm();
        if cand.is_finite() && val < best {
            *z = cand;
            best = val;
        } else {
            return;
        }
    }
}

impl Add for &Poly {
    type Output = Poly;
    fn add(self, rhs: &Poly) -> Poly {
        let n = self.c.len().max(rhs.c.len());
        Poly::new((0..n).map(|i| self.coeff(i) + rhs.coeff(i)).collect())
    }
}

impl Sub for &Poly {
    type Output = Poly;
    fn sub(self, rhs: &Poly) -> Poly {
        let n = self.c.len().max(rhs.c.len());
        Poly::new((0..n).map(|i| self.coeff(i) - rhs.coeff(i)).collect())
    }
}

impl Mul for &Poly {
    type Output = Poly;
    fn mul(self, rhs: &Poly) -> Poly {
        if self.is_zero() || rhs.is_zero() {
            return Poly::zero();
        }
        let mut c = vec![0.0; self.c.len() + rhs.c.len() - 1];
        for (i, &a) in self.c.iter().enumerate() {
            for (j, &b) in rhs.c.iter().enumerate() {
                c[i + j] += a * b;
            }
        }
        Poly::new(c)
    }
}

impl Neg for &Poly {
    type Output = Poly;
    fn neg(self) -> Poly {
        self.scale(-1.0)
    }
}

macro_rules! forward_binop {
    ($tr:ident, $m:ident) => {
        impl $tr for Poly {
            type Output = Poly;
            fn $m(self, rhs: Poly) -> Poly {
                (&self).$m(&rhs)
            }
        }
    };
}
forward_binop!(Add, add);
forward_binop!(Sub, sub);
forward_binop!(Mul, mul);

// ---------------------------------------------------------------------------------------------
// Transfer functions
// ---------------------------------------------------------------------------------------------

/// Default margin of [`TransferFunction::is_stable`]: all poles must satisfy |p| < 1 − 1e-6.
///
/// The margin is conservative on purpose: a double pole on the unit circle is computed only to
/// ~1e-8 (see [`Poly::roots`]), and a loop that close to the circle is marginal for any
/// practical purpose (its impulse response would take ≳ 10⁶ samples to decay).
pub const STABILITY_MARGIN: f64 = 1e-6;

/// Relative tolerance on the tail of the impulse-response sum in
/// [`TransferFunction::noise_gain`].
const NOISE_GAIN_REL_TOL: f64 = 1e-14;
/// Sample budget of the impulse-response sums.
const MAX_IMPULSE_SAMPLES: usize = 50_000_000;

/// A causal rational transfer function H(z) = B(z⁻¹)/A(z⁻¹) with real coefficients, in powers of
/// **z⁻¹**, normalized to a₀ = 1 (see the module doc for the conventions).
#[derive(Clone, Debug, PartialEq)]
pub struct TransferFunction {
    num: Poly,
    den: Poly,
}

/// A frequency and the gain there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrequencyPoint {
    /// Frequency (rad/sample), in \[0, π\].
    pub omega_rad_per_sample: f64,
    /// 20·log10|H(e^{jω})| (dB).
    pub gain_db: f64,
}

/// The gain margin of an open loop L (unity negative feedback).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GainMargin {
    /// The factor k by which L can be multiplied before the Nyquist plot reaches −1 at this
    /// phase crossover: 1/|L(e^{jω})| (linear; > 1 means the gain can grow).
    pub factor: f64,
    /// The phase-crossover frequency (rad/sample), where ∠L = −π (mod 2π).
    pub omega_rad_per_sample: f64,
}

impl GainMargin {
    /// The margin in dB, 20·log10(factor).
    pub fn db(&self) -> f64 {
        20.0 * self.factor.log10()
    }
}

/// The phase margin of an open loop L (unity negative feedback).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PhaseMargin {
    /// π + ∠L(e^{jω}) at the gain crossover, wrapped into (−π, π] (rad).
    pub phase_rad: f64,
    /// The gain-crossover frequency (rad/sample), where |L| = 1.
    pub omega_rad_per_sample: f64,
}

impl PhaseMargin {
    /// The time delay (in samples) that would use up the margin at this crossover, φ/ω.
    pub fn delay_margin_samples(&self) -> f64 {
        self.phase_rad / self.omega_rad_per_sample
    }
}

impl TransferFunction {
    /// H = B(z⁻¹)/A(z⁻¹) from polynomials in z⁻¹ (ascending powers of z⁻¹). Common factors
    /// z⁻ᵏ of both are cancelled; the result is normalized to a₀ = 1.
    ///
    /// # Errors
    /// [`ControlError::ZeroPolynomial`] if A = 0, [`ControlError::NonCausal`] if A's constant term
    /// is zero after cancelling common delays.
    pub fn new(num: Poly, den: Poly) -> Result<Self, ControlError> {
        if den.is_zero() {
            return Err(ControlError::ZeroPolynomial);
        }
        let lead_den = den.c.iter().take_while(|v| **v == 0.0).count();
        let lead_num = if num.is_zero() {
            lead_den
        } else {
            num.c.iter().take_while(|v| **v == 0.0).count()
        };
        let k = lead_den.min(lead_num);
        let den = Poly::new(den.c[k..].to_vec());
        let num = if num.is_zero() {
            num
        } else {
            Poly::new(num.c[k..].to_vec())
        };
        let a0 = den.coeff(0);
        if a0 == 0.0 {
            return Err(ControlError::NonCausal);
        }
        Ok(TransferFunction {
            num: num.scale(1.0 / a0),
            den: den.scale(1.0 / a0),
        })
    }

    /// H(z) = N(z)/D(z) from polynomials in **z** (ascending powers of z), deg N ≤ deg D.
    ///
    /// # Errors
    /// [`ControlError::ZeroPolynomial`] if D = 0, [`ControlError::Improper`] if deg N > deg D.
    pub fn from_z(num_z: &Poly, den_z: &Poly) -> Result<Self, ControlError> {
        let n = den_z.degree().ok_or(ControlError::ZeroPolynomial)?;
        if let Some(m) = num_z.degree() {
            if m > n {
                return Err(ControlError::Improper { num: m, den: n });
            }
        }
        // z⁻ⁿ·N(z) = Σ_k N_{n−k} z⁻ᵏ.
        TransferFunction::new(num_z.reversed(n), den_z.reversed(n))
    }

    /// (N, D) in powers of z with H = N(z)/D(z): N = z^M·B(z⁻¹), D = z^M·A(z⁻¹),
    /// M = max(deg A, deg B).
    pub fn to_z(&self) -> (Poly, Poly) {
        let m = self.order();
        (self.num.reversed(m), self.den.reversed(m))
    }

    /// The constant gain H = k.
    pub fn gain(k: f64) -> Self {
        TransferFunction {
            num: Poly::constant(k),
            den: Poly::constant(1.0),
        }
    }

    /// The pure delay z⁻ᵈ.
    pub fn delay(d: usize) -> Self {
        TransferFunction {
            num: Poly::monomial(d),
            den: Poly::constant(1.0),
        }
    }

    /// Numerator B in powers of z⁻¹.
    pub fn num(&self) -> &Poly {
        &self.num
    }

    /// Denominator A in powers of z⁻¹ (a₀ = 1).
    pub fn den(&self) -> &Poly {
        &self.den
    }

    /// M = max(deg A, deg B): the number of delay elements of a direct realization.
    pub fn order(&self) -> usize {
        self.num
            .degree()
            .unwrap_or(0)
            .max(self.den.degree().unwrap_or(0))
    }

    /// k·H.
    pub fn scaled(&self, k: f64) -> TransferFunction {
        TransferFunction {
            num: self.num.scale(k),
            den: self.den.clone(),
        }
    }

    /// The series connection self·other.
    pub fn series(&self, other: &TransferFunction) -> TransferFunction {
        TransferFunction {
            num: &self.num * &other.num,
            den: &self.den * &other.den,
        }
    }

    /// The parallel connection self + other.
    pub fn parallel(&self, other: &TransferFunction) -> TransferFunction {
        TransferFunction {
            num: &(&self.num * &other.den) + &(&other.num * &self.den),
            den: &self.den * &other.den,
        }
    }

    /// z⁻ᵈ·H.
    pub fn with_delay(&self, d: usize) -> TransferFunction {
        TransferFunction {
            num: self.num.shift(d),
            den: self.den.clone(),
        }
    }

    /// Hˡ (H⁰ = 1), expanded as polynomials. For deep powers prefer
    /// [`cascade_noise_gains`], which filters through H repeatedly instead of expanding
    /// ill-conditioned high-order coefficients.
    pub fn pow(&self, l: u32) -> TransferFunction {
        TransferFunction {
            num: self.num.pow(l),
            den: self.den.pow(l),
        }
    }

    /// The unity negative-feedback closed loop of this open loop L: L/(1 + L) = B/(A + B).
    ///
    /// # Errors
    /// [`ControlError::AlgebraicLoop`] if b₀ = −1 (then A + B has a zero constant term).
    pub fn feedback(&self) -> Result<TransferFunction, ControlError> {
        let den = &self.den + &self.num;
        if den.coeff(0) == 0.0 {
            return Err(ControlError::AlgebraicLoop);
        }
        TransferFunction::new(self.num.clone(), den)
    }

    /// The sensitivity 1/(1 + L) = A/(A + B) of this open loop L.
    ///
    /// # Errors
    /// [`ControlError::AlgebraicLoop`] as for [`TransferFunction::feedback`].
    pub fn sensitivity(&self) -> Result<TransferFunction, ControlError> {
        let den = &self.den + &self.num;
        if den.coeff(0) == 0.0 {
            return Err(ControlError::AlgebraicLoop);
        }
        TransferFunction::new(self.den.clone(), den)
    }

    /// H(z) at a complex z ≠ 0.
    pub fn eval_z(&self, z: C64) -> C64 {
        let x = z.inv();
        self.num.eval_complex(x) / self.den.eval_complex(x)
    }

    /// The frequency response H(e^{jω}), ω in rad/sample.
    pub fn freq_response(&self, omega: f64) -> C64 {
        let x = C64::from_polar(1.0, -omega);
        self.num.eval_complex(x) / self.den.eval_complex(x)
    }

    /// 20·log10|H(e^{jω})| (dB).
    pub fn gain_db(&self, omega: f64) -> f64 {
        10.0 * self.power_gain(omega).log10()
    }

    fn power_gain(&self, omega: f64) -> f64 {
        self.freq_response(omega).norm_sqr()
    }

    /// H(1) = B(1)/A(1) (±∞ or NaN with a pole at z = 1).
    pub fn dc_gain(&self) -> f64 {
        self.num.eval(1.0) / self.den.eval(1.0)
    }

    /// The poles (roots in z of z^M·A(z⁻¹)), sorted by decreasing magnitude.
    ///
    /// # Errors
    /// As [`Poly::roots`].
    pub fn poles(&self) -> Result<Vec<C64>, ControlError> {
        self.to_z().1.roots()
    }

    /// The finite zeros (roots in z of z^M·B(z⁻¹)), sorted by decreasing magnitude; empty for
    /// H = 0.
    ///
    /// # Errors
    /// As [`Poly::roots`].
    pub fn zeros(&self) -> Result<Vec<C64>, ControlError> {
        let n = self.to_z().0;
        if n.is_zero() {
            return Ok(Vec::new());
        }
        n.roots()
    }

    /// The largest pole magnitude (0 for an FIR filter).
    ///
    /// # Errors
    /// As [`Poly::roots`].
    pub fn spectral_radius(&self) -> Result<f64, ControlError> {
        Ok(self.poles()?.iter().map(|p| p.norm()).fold(0.0, f64::max))
    }

    /// Whether every pole lies strictly inside the unit circle with the default margin
    /// [`STABILITY_MARGIN`]: |p| < 1 − 1e-6.
    ///
    /// # Errors
    /// As [`Poly::roots`].
    pub fn is_stable(&self) -> Result<bool, ControlError> {
        self.is_stable_with_margin(STABILITY_MARGIN)
    }

    /// Whether every pole satisfies |p| < 1 − `margin`.
    ///
    /// # Errors
    /// As [`Poly::roots`].
    pub fn is_stable_with_margin(&self, margin: f64) -> Result<bool, ControlError> {
        Ok(self.spectral_radius()? < 1.0 - margin)
    }

    fn require_stable(&self) -> Result<f64, ControlError> {
        let rho = self.spectral_radius()?;
        if rho < 1.0 - STABILITY_MARGIN {
            Ok(rho)
        } else {
            Err(ControlError::Unstable {
                spectral_radius: rho,
                margin: STABILITY_MARGIN,
            })
        }
    }

    /// The first `n` samples of the impulse response h\[0\], h\[1\], ….
    pub fn impulse_response(&self, n: usize) -> Vec<f64> {
        self.impulse_iter().take(n).collect()
    }

    fn impulse_iter(&self) -> ImpulseIter<'_> {
        ImpulseIter::new(self)
    }

    /// The output y = H·u for the input `u` from rest (zero initial state).
    pub fn filter(&self, u: &[f64]) -> Vec<f64> {
        let b = self.num.coeffs();
        let a = self.den.coeffs();
        let mut y = vec![0.0; u.len()];
        for k in 0..u.len() {
            let mut acc = 0.0;
            for (i, bi) in b.iter().enumerate().take(k + 1) {
                acc += bi * u[k - i];
            }
            for (i, ai) in a.iter().enumerate().take(k + 1).skip(1) {
                acc -= ai * y[k - i];
            }
            y[k] = acc;
        }
        y
    }

    /// The noise gain ‖H‖₂² = Σₙ h\[n\]² = (1/2π)∫_{−π}^{π}|H(e^{jω})|² dω: the output variance
    /// for a unit-variance white input.
    ///
    /// Computed by summing the impulse response (compensated summation) until the estimated
    /// tail — from the last block's energy and the larger of the observed block-to-block decay
    /// and the spectral radius ρ — is below 1e-14 of the sum. Relative accuracy ≈ 1e-13.
    ///
    /// # Errors
    /// [`ControlError::Unstable`] unless every pole has |p| < 1 − [`STABILITY_MARGIN`];
    /// [`ControlError::NotConverged`] if the response needs more than 5·10⁷ samples
    /// (ρ within ~10⁻⁶ of 1).
    pub fn noise_gain(&self) -> Result<f64, ControlError> {
        let rho = self.require_stable()?;
        Ok(self.impulse_energy(rho)?.0)
    }

    /// Σ h² and the number of samples summed.
    fn impulse_energy(&self, rho: f64) -> Result<(f64, usize), ControlError> {
        let block = (8 * self.order()).max(64);
        let rho_blk = rho.powi(2 * block as i32);
        let mut it = self.impulse_iter();
        let mut sum = Neumaier::default();
        let mut prev_block = f64::INFINITY;
        let mut n = 0usize;
        // Burn through the FIR part of the response before judging decay.
        let min_len = self.order() + block;
        loop {
            let mut e = Neumaier::default();
            for _ in 0..block {
                let h = it.next().unwrap_or(0.0);
                e.add(h * h);
            }
            n += block;
            let e = e.value();
            sum.add(e);
            let total = sum.value();
            if n >= min_len {
                let observed = if prev_block > 0.0 && prev_block.is_finite() {
                    e / prev_block
                } else {
                    0.0
                };
                let ratio = observed.max(rho_blk);
                if ratio < 1.0 {
                    let tail = e * ratio / (1.0 - ratio);
                    if tail <= NOISE_GAIN_REL_TOL * total || total == 0.0 && e == 0.0 {
                        return Ok((total, n));
                    }
                }
            }
            prev_block = e;
            if n >= MAX_IMPULSE_SAMPLES {
                return Err(ControlError::NotConverged { samples: n });
            }
        }
    }

    /// ‖H‖₂² computed exactly (up to rounding) from a state-space realization: with the
    /// controllable canonical (companion) form (A_c, b_c, c_c, d) of H, ‖H‖₂² = d² + c_cᵀ P c_c
    /// where P = A_c P A_cᵀ + b_c b_cᵀ (discrete Lyapunov equation), solved directly as the
    /// M²×M² linear system (I − A_c⊗A_c) vec P = vec(b_c b_cᵀ) by Gaussian elimination with
    /// partial pivoting. O(M⁶), and the companion form is ill-conditioned for high orders with
    /// clustered poles (e.g. an expanded Hˡ of a narrow loop): meant for low-order cross-checks
    /// of [`TransferFunction::noise_gain`]; for powers use [`cascade_noise_gain_exact`].
    ///
    /// # Errors
    /// [`ControlError::Unstable`] for an unstable H; [`ControlError::Singular`] if the system is
    /// singular.
    pub fn noise_gain_exact(&self) -> Result<f64, ControlError> {
        self.require_stable()?;
        lyapunov_noise_gain(&StateSpace::companion(self))
    }

    /// The peak of |H(e^{jω})| over ω ∈ \[0, π\]: its frequency and gain (dB).
    ///
    /// Method: |H|² on a grid of 2049 uniform points on \[0, π\], 1024 logarithmic points on
    /// \[10⁻⁶, π\] and the angles of the poles with |p| > 0.5 (so sharp resonances are not
    /// missed); then golden-section refinement on the bracket around each of the 8 largest grid
    /// local maxima, to |Δω| ≤ 1e-12·max(ω, 10⁻⁶). When the peak is wider than the local grid
    /// spacing (≤ 1.5 % of ω below 0.1 rad/sample, ≤ 1.5e-3 rad above), the result is the true
    /// maximum to ~1e-10 dB. Returns an infinite gain if H has a pole on the unit circle at a grid
    /// point (e.g. z = 1 of an open loop).
    pub fn peak(&self) -> FrequencyPoint {
        let grid = self.grid();
        let vals: Vec<f64> = grid.iter().map(|&w| self.power_gain(w)).collect();
        let mut best = (0usize, f64::NEG_INFINITY);
        for (i, &v) in vals.iter().enumerate() {
            if v.is_nan() {
                continue;
            }
            if v > best.1 {
                best = (i, v);
            }
        }
        if best.1.is_infinite() {
            return FrequencyPoint {
                omega_rad_per_sample: grid[best.0],
                gain_db: best.1,
            };
        }
        // Local maxima of the grid, largest first.
        let mut maxima: Vec<usize> = (0..grid.len())
            .filter(|&i| {
                let left = if i == 0 {
                    f64::NEG_INFINITY
                } else {
                    vals[i - 1]
                };
                let right = vals.get(i + 1).copied().unwrap_or(f64::NEG_INFINITY);
                vals[i] >= left && vals[i] >= right
            })
            .collect();
        maxima.sort_by(|&i, &j| {
            vals[j]
                .partial_cmp(&vals[i])
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut out = (grid[best.0], best.1);
        for &i in maxima.iter().take(8) {
            let lo = grid[i.saturating_sub(1)];
            let hi = grid[(i + 1).min(grid.len() - 1)];
            let (w, v) = golden_max(|w| self.power_gain(w), lo, hi);
            if v > out.1 {
                out = (w, v);
            }
        }
        FrequencyPoint {
            omega_rad_per_sample: out.0,
            gain_db: 10.0 * out.1.log10(),
        }
    }

    /// The peaking max_{ω∈\[0,π\]} 20·log10|H(e^{jω})| (dB), as found by
    /// [`TransferFunction::peak`] (its accuracy applies). For a closed loop with unit DC gain it
    /// is ≥ 0 and is the "closed-loop peaking" of notes/000 §2.4.B and P3.
    pub fn peaking_db(&self) -> f64 {
        self.peak().gain_db
    }

    /// The −3 dB bandwidth (rad/sample): the lowest ω > 0 with |H(e^{jω})|² ≤ |H(1)|²/2, found
    /// by a grid scan (as in [`TransferFunction::peak`]) and bisection to 1e-13 relative. `None`
    /// if the DC gain is zero or not finite, or |H| never falls 3 dB below it on \[0, π\]. A dip
    /// narrower than the grid spacing may be missed.
    pub fn bandwidth_3db(&self) -> Option<f64> {
        let g0 = self.power_gain(0.0);
        if !(g0.is_finite() && g0 > 0.0) {
            return None;
        }
        let half = g0 / 2.0;
        let grid = self.grid();
        let mut prev = 0.0;
        for &w in grid.iter().skip(1) {
            if self.power_gain(w) <= half {
                let (mut lo, mut hi) = (prev, w);
                while hi - lo > 1e-13 * hi {
                    let mid = 0.5 * (lo + hi);
                    if self.power_gain(mid) <= half {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
                return Some(0.5 * (lo + hi));
            }
            prev = w;
        }
        None
    }

    /// The gain margin of this **open loop** L under unity negative feedback: over the phase
    /// crossovers ω_pc ∈ (0, π\] (Im L changes sign with Re L < 0, refined by bisection; ω = π
    /// counts when L(−1) < 0, and ω = 0 when L(1) is finite and negative), the one whose margin
    /// 1/|L(e^{jω_pc})| is closest to 1 in dB (the critical crossing; a factor < 1 means the loop
    /// tolerates only a gain *reduction* of that size, as for conditionally stable loops).
    /// `None` if L never crosses the negative real axis.
    pub fn gain_margin(&self) -> Option<GainMargin> {
        let mut crossings = Vec::new();
        let l0 = self.freq_response(0.0);
        if l0.is_finite() && l0.re < 0.0 {
            crossings.push(0.0);
        }
        let grid = self.grid();
        let interior: Vec<f64> = grid
            .iter()
            .copied()
            .filter(|&w| w > 0.0 && w < PI)
            .collect();
        for pair in interior.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (la, lb) = (self.freq_response(a), self.freq_response(b));
            if !(la.is_finite() && lb.is_finite()) || la.im * lb.im > 0.0 {
                continue;
            }
            let w = bisect_sign(|w| self.freq_response(w).im, a, b);
            if self.freq_response(w).re < 0.0 {
                crossings.push(w);
            }
        }
        let lpi = self.freq_response(PI);
        if lpi.is_finite() && lpi.re < 0.0 {
            crossings.push(PI);
        }
        crossings
            .into_iter()
            .map(|w| GainMargin {
                factor: 1.0 / self.freq_response(w).norm(),
                omega_rad_per_sample: w,
            })
            .filter(|g| g.factor.is_finite() && g.factor > 0.0)
            .min_by(|a, b| {
                a.db()
                    .abs()
                    .partial_cmp(&b.db().abs())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    }

    /// The phase margin of this **open loop** L under unity negative feedback: over the gain
    /// crossovers ω_gc ∈ (0, π\] (|L| − 1 changes sign on the grid, refined by bisection), the
    /// smallest π + ∠L(e^{jω_gc}) wrapped to (−π, π\]. `None` if |L| never crosses 1.
    pub fn phase_margin(&self) -> Option<PhaseMargin> {
        let grid = self.grid();
        let f = |w: f64| self.freq_response(w).norm().ln();
        let mut best: Option<PhaseMargin> = None;
        for pair in grid.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a <= 0.0 {
                continue;
            }
            let (fa, fb) = (f(a), f(b));
            if !(fa.is_finite() && fb.is_finite()) || fa * fb > 0.0 || (fa == 0.0 && fb == 0.0) {
                continue;
            }
            let w = bisect_sign(f, a, b);
            let pm = crate::units::wrap_phase(PI + self.freq_response(w).arg());
            if best.is_none_or(|b| pm < b.phase_rad) {
                best = Some(PhaseMargin {
                    phase_rad: pm,
                    omega_rad_per_sample: w,
                });
            }
        }
        best
    }

    /// The analysis grid: uniform on \[0, π\], logarithmic on \[1e-6, π\], pole angles.
    fn grid(&self) -> Vec<f64> {
        const N_UNIFORM: usize = 2049;
        const N_LOG: usize = 1024;
        let mut g: Vec<f64> = (0..N_UNIFORM)
            .map(|i| PI * i as f64 / (N_UNIFORM - 1) as f64)
            .collect();
        let (lo, hi) = (1e-6f64.ln(), PI.ln());
        g.extend((0..N_LOG).map(|i| (lo + (hi - lo) * i as f64 / (N_LOG - 1) as f64).exp()));
        if let Ok(poles) = self.poles() {
            g.extend(
                poles
                    .iter()
                    .filter(|p| p.norm() > 0.5)
                    .map(|p| p.arg().abs())
                    .filter(|w| *w > 0.0 && *w < PI),
            );
        }
        g.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        g.dedup();
        g
    }
}

impl Mul for &TransferFunction {
    type Output = TransferFunction;
    fn mul(self, rhs: &TransferFunction) -> TransferFunction {
        self.series(rhs)
    }
}

impl Add for &TransferFunction {
    type Output = TransferFunction;
    fn add(self, rhs: &TransferFunction) -> TransferFunction {
        self.parallel(rhs)
    }
}

/// The impulse response of a transfer function, lazily, with O(order) state.
struct ImpulseIter<'a> {
    b: &'a [f64],
    a: &'a [f64],
    /// The last `a.len() − 1` outputs, most recent first.
    hist: Vec<f64>,
    k: usize,
}

impl<'a> ImpulseIter<'a> {
    fn new(h: &'a TransferFunction) -> Self {
        let na = h.den.coeffs().len().saturating_sub(1);
        ImpulseIter {
            b: h.num.coeffs(),
            a: h.den.coeffs(),
            hist: vec![0.0; na],
            k: 0,
        }
    }
}

impl Iterator for ImpulseIter<'_> {
    type Item = f64;
    fn next(&mut self) -> Option<f64> {
        let mut y = self.b.get(self.k).copied().unwrap_or(0.0);
        for (ai, yi) in self.a.iter().skip(1).zip(&self.hist) {
            y -= ai * yi;
        }
        if !self.hist.is_empty() {
            self.hist.rotate_right(1);
            self.hist[0] = y;
        }
        self.k += 1;
        Some(y)
    }
}

/// Neumaier's compensated summation.
#[derive(Default)]
struct Neumaier {
    sum: f64,
    comp: f64,
}

impl Neumaier {
    fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    fn value(&self) -> f64 {
        self.sum + self.comp
    }
}

/// Golden-section search for the maximum of f on \[lo, hi\] (assumed unimodal there).
fn golden_max(f: impl Fn(f64) -> f64, mut lo: f64, mut hi: f64) -> (f64, f64) {
    let inv_phi = (5f64.sqrt() - 1.0) / 2.0;
    let tol = 1e-12 * lo.max(1e-6);
    let mut x1 = hi - inv_phi * (hi - lo);
    let mut x2 = lo + inv_phi * (hi - lo);
    let (mut f1, mut f2) = (f(x1), f(x2));
    while hi - lo > tol {
        if f1 < f2 {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + inv_phi * (hi - lo);
            f2 = f(x2);
        } else {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - inv_phi * (hi - lo);
            f1 = f(x1);
        }
    }
    let (x, fx) = if f1 > f2 { (x1, f1) } else { (x2, f2) };
    // The bracket ends may beat the interior (a maximum at a bracket end).
    [(lo, f(lo)), (hi, f(hi))]
        .into_iter()
        .fold((x, fx), |acc, c| if c.1 > acc.1 { c } else { acc })
}

/// Bisection for a sign change of f on \[a, b\] (f(a)·f(b) ≤ 0), to 1e-14 relative.
fn bisect_sign(f: impl Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let fa = f(a);
    if fa == 0.0 {
        return a;
    }
    let sa = fa.signum();
    while b - a > 1e-14 * b.max(1e-300) {
        let m = 0.5 * (a + b);
        let fm = f(m);
        if fm == 0.0 {
            return m;
        }
        if fm.signum() == sa {
            a = m;
        } else {
            b = m;
        }
    }
    0.5 * (a + b)
}

/// Solves the dense n×n system in place (row-major `m`), Gaussian elimination with partial
/// pivoting.
fn solve_dense(m: &mut [f64], rhs: &mut [f64], n: usize) -> Result<Vec<f64>, ControlError> {
    let scale = m.iter().map(|v| v.abs()).fold(0.0, f64::max);
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&i, &j| {
                m[i * n + col]
                    .abs()
                    .partial_cmp(&m[j * n + col].abs())
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
            .unwrap_or(col);
        if m[piv * n + col].abs() <= 1e-300 * scale.max(1.0) {
            return Err(ControlError::Singular);
        }
        if piv != col {
            for k in 0..n {
                m.swap(col * n + k, piv * n + k);
            }
            rhs.swap(col, piv);
        }
        let d = m[col * n + col];
        for r in col + 1..n {
            let f = m[r * n + col] / d;
            if f == 0.0 {
                continue;
            }
            for k in col..n {
                m[r * n + k] -= f * m[col * n + k];
            }
            rhs[r] -= f * rhs[col];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let mut acc = rhs[r];
        for k in r + 1..n {
            acc -= m[r * n + k] * x[k];
        }
        x[r] = acc / m[r * n + r];
    }
    Ok(x)
}

// ---------------------------------------------------------------------------------------------
// Cascades and listening loops
// ---------------------------------------------------------------------------------------------

/// A single-input single-output state-space realization x⁺ = A·x + b·u, y = c·x + d·u
/// (A row-major n×n).
struct StateSpace {
    n: usize,
    a: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    d: f64,
}

impl StateSpace {
    /// The controllable canonical form of H = B(z⁻¹)/A(z⁻¹) (a₀ = 1): first row of A is
    /// −(a₁ … a_M), ones on the sub-diagonal, b = e₀, cᵢ = bᵢ₊₁ − b₀aᵢ₊₁, d = b₀.
    fn companion(h: &TransferFunction) -> Self {
        let m = h.order();
        let b0 = h.num.coeff(0);
        let mut a = vec![0.0; m * m];
        for (j, aj) in a.iter_mut().take(m).enumerate() {
            *aj = -h.den.coeff(j + 1);
        }
        for i in 1..m {
            a[i * m + i - 1] = 1.0;
        }
        let mut b = vec![0.0; m];
        if m > 0 {
            b[0] = 1.0;
        }
        let c = (1..=m)
            .map(|i| h.num.coeff(i) - b0 * h.den.coeff(i))
            .collect();
        StateSpace {
            n: m,
            a,
            b,
            c,
            d: b0,
        }
    }

    /// The series connection `self` then `next` (u → self → next → y): state [x₁; x₂],
    /// A = [[A₁, 0], [b₂c₁ᵀ, A₂]], b = [b₁; b₂d₁], c = [d₂c₁; c₂], d = d₁d₂.
    fn then(&self, next: &StateSpace) -> StateSpace {
        let (n1, n2) = (self.n, next.n);
        let n = n1 + n2;
        let mut a = vec![0.0; n * n];
        for i in 0..n1 {
            a[i * n..i * n + n1].copy_from_slice(&self.a[i * n1..(i + 1) * n1]);
        }
        for i in 0..n2 {
            let row = (n1 + i) * n;
            for j in 0..n1 {
                a[row + j] = next.b[i] * self.c[j];
            }
            a[row + n1..row + n].copy_from_slice(&next.a[i * n2..(i + 1) * n2]);
        }
        let mut b = self.b.clone();
        b.extend(next.b.iter().map(|v| v * self.d));
        let mut c: Vec<f64> = self.c.iter().map(|v| v * next.d).collect();
        c.extend_from_slice(&next.c);
        StateSpace {
            n,
            a,
            b,
            c,
            d: self.d * next.d,
        }
    }
}

/// d² + cᵀPc with P = APAᵀ + bbᵀ, by a direct n²×n² solve (see
/// [`TransferFunction::noise_gain_exact`]).
fn lyapunov_noise_gain(ss: &StateSpace) -> Result<f64, ControlError> {
    let m = ss.n;
    if m == 0 {
        return Ok(ss.d * ss.d);
    }
    let nn = m * m;
    let mut mat = vec![0.0; nn * nn];
    let mut rhs = vec![0.0; nn];
    // Equation for P_ij: P_ij − Σ_{k,l} A_ik A_jl P_kl = b_i b_j.
    for i in 0..m {
        for j in 0..m {
            let row = i * m + j;
            mat[row * nn + row] += 1.0;
            for k in 0..m {
                let aik = ss.a[i * m + k];
                if aik == 0.0 {
                    continue;
                }
                for l in 0..m {
                    let ajl = ss.a[j * m + l];
                    if ajl != 0.0 {
                        mat[row * nn + k * m + l] -= aik * ajl;
                    }
                }
            }
            rhs[row] = ss.b[i] * ss.b[j];
        }
    }
    let p = solve_dense(&mut mat, &mut rhs, nn)?;
    let mut v = ss.d * ss.d;
    for i in 0..m {
        for j in 0..m {
            v += ss.c[i] * p[i * m + j] * ss.c[j];
        }
    }
    Ok(v)
}

/// ‖Hˡ‖₂² computed exactly (up to rounding) from the series connection of l companion-form
/// realizations of H (block lower-triangular, no expanded coefficients) and a direct Lyapunov
/// solve of dimension (l·M)². O((l·M)⁶): meant for cross-checks with l·M ≲ 32.
///
/// # Errors
/// [`ControlError::Unstable`] for an unstable H; [`ControlError::Singular`] if the system is
/// singular.
pub fn cascade_noise_gain_exact(h: &TransferFunction, l: usize) -> Result<f64, ControlError> {
    h.require_stable()?;
    if l == 0 {
        return Ok(1.0);
    }
    let one = StateSpace::companion(h);
    let mut ss = StateSpace::companion(h);
    for _ in 1..l {
        ss = ss.then(&one);
    }
    lyapunov_noise_gain(&ss)
}

/// ‖Hˡ‖₂² for l = 1..=depth (entry l−1), the noise gains of l identical loops in series.
///
/// Computed without expanding Hˡ (whose coefficients are ill-conditioned for large l): the
/// impulse response of H is filtered through H again l − 1 times over a window of N samples,
/// N chosen as (depth + 4) times the length the one-hop sum needed and doubled until the
/// depth-fold response's estimated tail (last-block energy over one minus the block decay) is
/// below 1e-12 of its energy.
///
/// # Errors
/// [`ControlError::Unstable`] for an unstable H (the sums diverge); [`ControlError::NotConverged`]
/// if the window would exceed 5·10⁷ samples.
pub fn cascade_noise_gains(h: &TransferFunction, depth: usize) -> Result<Vec<f64>, ControlError> {
    if depth == 0 {
        return Ok(Vec::new());
    }
    let rho = h.require_stable()?;
    let (_, n1) = h.impulse_energy(rho)?;
    let block = (8 * h.order()).max(64);
    let mut n = n1 * (depth + 4);
    loop {
        if n > MAX_IMPULSE_SAMPLES {
            return Err(ControlError::NotConverged { samples: n });
        }
        let mut x = h.impulse_response(n);
        let mut gains = Vec::with_capacity(depth);
        for l in 1..=depth {
            if l > 1 {
                x = h.filter(&x);
            }
            let mut s = Neumaier::default();
            for v in &x {
                s.add(v * v);
            }
            gains.push(s.value());
        }
        // Tail check on the deepest response.
        let tail: f64 = x[n - block..].iter().map(|v| v * v).sum();
        let prev: f64 = x[n - 2 * block..n - block].iter().map(|v| v * v).sum();
        let ratio = if prev > 0.0 { tail / prev } else { 0.0 };
        let total = gains[depth - 1];
        if ratio < 1.0 && tail * ratio / (1.0 - ratio) <= 1e-12 * total || total == 0.0 {
            return Ok(gains);
        }
        n *= 2;
    }
}

/// The depth-L variance gain of white per-hop measurement noise through a chain of L identical
/// closed loops H, relative to one hop:
///
/// G(L) = Σ_{l=1..L} ‖Hˡ‖₂² / ‖H‖₂².
///
/// Model (notes/000 P3 and appendix \[CALC\]): hop i adds independent white noise of variance σ²
/// at its loop input; it passes through its own loop and the L − i loops below, so the node at
/// depth L sees the independent sum of noises filtered by H^{L−i+1}, i = 1..L. G(1) = 1; without
/// peaking (|H| ≤ 1) G(L) ≤ L, and with peaking it grows geometrically. Oscillator wander is not
/// included (it is loop-local and does not compound in the same way).
///
/// For the type-2 tracker at ωnT = 0.05 this reproduces the notes' appendix table to its printed
/// precision (ζ = 0.707: 1.95, 4.90, 25.9, 984, 2.47·10⁶ at L = 2, 4, 8, 16, 32); at ωnT = 0.2 it
/// does not (2.07, 6.03, 48.6, 4.9·10³, 8.6·10⁷): the appendix used ωnT = 0.05 (see the tests).
///
/// # Errors
/// As [`cascade_noise_gains`].
pub fn cascade_variance_gain(h: &TransferFunction, depth: usize) -> Result<f64, ControlError> {
    let g = cascade_noise_gains(h, depth)?;
    if g.is_empty() {
        return Ok(0.0);
    }
    Ok(g.iter().sum::<f64>() / g[0])
}

/// (Kp, Ki) = (2ζ·ωnT, (ωnT)²) of the type-2 tracker (notes/000 appendix), ωnT in rad/sample.
pub fn type2_gains(zeta: f64, omega_n_t: f64) -> (f64, f64) {
    (2.0 * zeta * omega_n_t, omega_n_t * omega_n_t)
}

/// The type-2 tracker's open loop L(z) = (Kp(z−1) + Ki)/(z−1)² = Kp/(z−1) + Ki/(z−1)²: a phase
/// accumulator fed by Kp·e plus a frequency accumulator fed by Ki·e (e the phase error, one
/// sample per period).
pub fn type2_open_loop(kp: f64, ki: f64) -> TransferFunction {
    let num_z = Poly::new(vec![ki - kp, kp]);
    let den_z = Poly::new(vec![1.0, -2.0, 1.0]);
    TransferFunction::from_z(&num_z, &den_z).expect("proper by construction")
}

/// The type-2 tracker's closed loop with the measurement used d periods after it was taken:
/// G_d = z⁻ᵈL/(1 + z⁻ᵈL) = N/(z^d·(z−1)² + N), N = Kp(z−1) + Ki; d = 0 is the appendix's
/// G(z) = (Kp(z−1) + Ki)/((z−1)² + Kp(z−1) + Ki).
pub fn type2_closed_loop(kp: f64, ki: f64, latency: usize) -> TransferFunction {
    type2_open_loop(kp, ki)
        .with_delay(latency)
        .feedback()
        .expect("L is strictly proper, so 1 + L(∞) = 1")
}

/// The characteristic polynomial (in z, ascending powers) of a ring of `nodes` identical nodes,
/// node i tracking node i − 1 (mod n) through the closed loop G = N/D:
/// det(D·I − N·P) = Dⁿ − Nⁿ, P the cyclic shift, N and D from [`TransferFunction::to_z`].
/// Put the latency into G (e.g. [`type2_closed_loop`]`(kp, ki, d)`). With two nodes this is the
/// 2-node listening loop of notes/000 §1.4 / P4: (D − N)(D + N), common and differential modes.
///
/// # Panics
/// If `nodes == 0`.
#[track_caller]
pub fn ring_characteristic_poly(closed_loop: &TransferFunction, nodes: usize) -> Poly {
    assert!(
        nodes >= 1,
        "ring_characteristic_poly: need at least one node"
    );
    let (n, d) = closed_loop.to_z();
    let k = u32::try_from(nodes).expect("ring size fits in u32");
    &d.pow(k) - &n.pow(k)
}

/// The common-mode factor D − N (in z) of a ring of nodes tracking each other through G = N/D:
/// the characteristic polynomial of all nodes moving together. For a type-2 tracker with any
/// latency it is z^d·(z − 1)²: a double pole at z = 1.
pub fn ring_common_mode_poly(closed_loop: &TransferFunction) -> Poly {
    let (n, d) = closed_loop.to_z();
    &d - &n
}

/// The poles of the ring of [`ring_characteristic_poly`], sorted by decreasing magnitude.
///
/// # Errors
/// As [`Poly::roots`].
///
/// # Panics
/// If `nodes == 0`.
#[track_caller]
pub fn ring_poles(closed_loop: &TransferFunction, nodes: usize) -> Result<Vec<C64>, ControlError> {
    ring_characteristic_poly(closed_loop, nodes).roots()
}

/// The poles of a chain (tree) of `nodes` nodes fed by a fixed root: each node's closed loop is
/// driven by its parent, so the characteristic polynomial is Dⁿ — the single-hop poles with
/// multiplicity n; returned once each (those of D), sorted by decreasing magnitude.
///
/// # Errors
/// As [`Poly::roots`].
pub fn chain_poles(closed_loop: &TransferFunction) -> Result<Vec<C64>, ControlError> {
    closed_loop.poles()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(re: f64, im: f64) -> C64 {
        C64::new(re, im)
    }

    /// Every expected root has a found root within `tol` (matched greedily).
    fn assert_roots_match(found: &[C64], expected: &[C64], tol: f64) {
        assert_eq!(found.len(), expected.len(), "{found:?} vs {expected:?}");
        let mut used = vec![false; found.len()];
        for e in expected {
            let (j, d) = found
                .iter()
                .enumerate()
                .filter(|(j, _)| !used[*j])
                .map(|(j, f)| (j, (f - e).norm()))
                .min_by(|a, b| a.1.partial_cmp(&b.1).unwrap())
                .unwrap();
            assert!(d <= tol, "root {e} matched at distance {d}: {found:?}");
            used[j] = true;
        }
    }

    #[test]
    fn poly_arithmetic() {
        let p = Poly::new(vec![1.0, 2.0, 0.0]);
        assert_eq!(p.coeffs(), &[1.0, 2.0]);
        assert_eq!(p.degree(), Some(1));
        let q = Poly::new(vec![-1.0, 1.0]);
        assert_eq!((&p * &q).coeffs(), &[-1.0, -1.0, 2.0]);
        assert_eq!((&p + &q).coeffs(), &[0.0, 3.0]);
        assert!((&p - &p).is_zero());
        assert_eq!(q.pow(3).coeffs(), &[-1.0, 3.0, -3.0, 1.0]);
        assert_eq!(p.reversed(3).coeffs(), &[0.0, 0.0, 2.0, 1.0]);
        assert_eq!(p.derivative().coeffs(), &[2.0]);
        assert_eq!(p.eval(2.0), 5.0);
        assert_eq!(p.eval_complex(c(0.0, 1.0)), c(1.0, 2.0));
        assert_eq!(Poly::zero().degree(), None);
        assert_eq!(Poly::zero().roots(), Err(ControlError::ZeroPolynomial));
        // (x² − 1)(x + 3) + (2x − 1) divided by x² − 1.
        let d = Poly::new(vec![-1.0, 0.0, 1.0]);
        let n = &(&d * &Poly::new(vec![3.0, 1.0])) + &Poly::new(vec![-1.0, 2.0]);
        let (q, r) = n.div_rem(&d);
        assert_eq!(q.coeffs(), &[3.0, 1.0]);
        assert_eq!(r.coeffs(), &[-1.0, 2.0]);
        assert_eq!(
            Poly::new(vec![1.0, 2.0]).div_rem(&d),
            (Poly::zero(), Poly::new(vec![1.0, 2.0]))
        );
    }

    #[test]
    fn roots_known_simple_double_and_zero() {
        let cases: Vec<(Vec<C64>, f64)> = vec![
            (vec![c(2.0, 0.0)], 1e-15),
            (vec![c(1.0, 0.0), c(-3.0, 0.0)], 1e-14),
            (vec![c(0.5, 0.5), c(0.5, -0.5), c(-0.9, 0.0)], 1e-14),
            // Double root at 1 (the common mode of a listening loop): ~√ε accuracy.
            (vec![c(1.0, 0.0), c(1.0, 0.0)], 1e-7),
            (
                vec![c(1.0, 0.0), c(1.0, 0.0), c(0.3, 0.0), c(0.0, 0.0)],
                1e-7,
            ),
            // A double complex pair and a triple real root.
            (
                vec![c(0.6, 0.7), c(0.6, -0.7), c(0.6, 0.7), c(0.6, -0.7)],
                1e-6,
            ),
            (
                vec![c(-0.5, 0.0), c(-0.5, 0.0), c(-0.5, 0.0), c(2.0, 0.0)],
                1e-4,
            ),
            // Widely spread magnitudes.
            (
                vec![
                    c(1e-3, 0.0),
                    c(10.0, 0.0),
                    c(-100.0, 0.0),
                    c(0.0, 5.0),
                    c(0.0, -5.0),
                ],
                1e-10,
            ),
            // Roots of unity (degree 12), all on the circle.
            (
                (0..12)
                    .map(|k| C64::from_polar(1.0, 2.0 * PI * k as f64 / 12.0))
                    .collect(),
                1e-12,
            ),
        ];
        for (expected, tol) in cases {
            let p = Poly::from_roots(&expected).scale(3.0);
            let found = p.roots().unwrap();
            assert_roots_match(&found, &expected, tol);
        }
    }

    proptest! {
        #[test]
        fn roots_of_random_polynomials(
            reals in proptest::collection::vec(-2.0f64..2.0, 1..5),
            pairs in proptest::collection::vec((0.05f64..1.5, 0.1f64..3.0), 0..4),
            lead in 0.1f64..10.0,
        ) {
            let mut roots: Vec<C64> = reals.iter().map(|&r| c(r, 0.0)).collect();
            for &(m, a) in &pairs {
                roots.push(C64::from_polar(m, a));
                roots.push(C64::from_polar(m, -a));
            }
            let p = Poly::from_roots(&roots).scale(lead);
            let found = p.roots().unwrap();
            prop_assert_eq!(found.len(), roots.len());
            // Backward error: each found root nearly annihilates p relative to its scale.
            for z in &found {
                let scale: f64 = p.coeffs().iter().enumerate()
                    .map(|(i, a)| a.abs() * z.norm().powi(i as i32)).sum();
                prop_assert!(p.eval_complex(*z).norm() <= 1e-10 * scale, "{z} {p:?}");
            }
            // Forward error: random roots are simple but may be close; allow √ε-level error.
            let min_sep = roots.iter().enumerate().flat_map(|(i, a)| {
                roots[i + 1..].iter().map(move |b| (a - b).norm())
            }).fold(f64::INFINITY, f64::min);
            if min_sep > 1e-2 {
                assert_roots_match(&found, &roots, 1e-6);
            }
        }
    }

    #[test]
    fn transfer_function_conventions() {
        // H = 1/(1 − 0.5 z⁻¹): pole at 0.5, impulse response 0.5ⁿ.
        let h = TransferFunction::new(Poly::constant(1.0), Poly::new(vec![1.0, -0.5])).unwrap();
        let imp = h.impulse_response(5);
        for (n, v) in imp.iter().enumerate() {
            assert!((v - 0.5f64.powi(n as i32)).abs() < 1e-15);
        }
        assert_roots_match(&h.poles().unwrap(), &[c(0.5, 0.0)], 1e-15);
        // The same from polynomials in z: z/(z − 0.5).
        let hz = TransferFunction::from_z(&Poly::new(vec![0.0, 1.0]), &Poly::new(vec![-0.5, 1.0]))
            .unwrap();
        assert_eq!(hz, h);
        assert_eq!(
            h.to_z(),
            (Poly::new(vec![0.0, 1.0]), Poly::new(vec![-0.5, 1.0]))
        );
        // A delay of 3: three poles at the origin, unit gain everywhere.
        let d = TransferFunction::delay(3);
        assert_eq!(d.poles().unwrap(), vec![c(0.0, 0.0); 3]);
        assert!((d.gain_db(1.1)).abs() < 1e-12);
        assert_eq!(d.impulse_response(5), vec![0.0, 0.0, 0.0, 1.0, 0.0]);
        // Common delays cancel; a non-causal denominator is rejected.
        let same =
            TransferFunction::new(Poly::new(vec![0.0, 2.0]), Poly::new(vec![0.0, 4.0])).unwrap();
        assert_eq!(same, TransferFunction::gain(0.5));
        assert_eq!(
            TransferFunction::new(Poly::constant(1.0), Poly::new(vec![0.0, 1.0])),
            Err(ControlError::NonCausal)
        );
        assert_eq!(
            TransferFunction::from_z(&Poly::new(vec![0.0, 0.0, 1.0]), &Poly::new(vec![1.0, 1.0])),
            Err(ControlError::Improper { num: 2, den: 1 })
        );
        // Feedback of an integrator k/(z − 1): closed loop pole at 1 − k.
        let l =
            TransferFunction::from_z(&Poly::constant(0.3), &Poly::new(vec![-1.0, 1.0])).unwrap();
        let t = l.feedback().unwrap();
        assert_roots_match(&t.poles().unwrap(), &[c(0.7, 0.0)], 1e-14);
        assert!((t.dc_gain() - 1.0).abs() < 1e-14);
        let s = l.sensitivity().unwrap();
        assert!(((&t + &s).freq_response(0.7) - 1.0).norm() < 1e-14);
        // The type-2 closed loop has its zero at z = 1 − Ki/Kp; eval_z on the circle is the
        // frequency response.
        let (kp, ki) = type2_gains(0.707, 0.05);
        let g = type2_closed_loop(kp, ki, 0);
        assert_roots_match(&g.zeros().unwrap(), &[c(1.0 - ki / kp, 0.0)], 1e-14);
        let w = 0.3;
        assert!((g.eval_z(C64::from_polar(1.0, w)) - g.freq_response(w)).norm() < 1e-14);
        assert!(g.is_stable_with_margin(0.01).unwrap());
        assert!(!g.is_stable_with_margin(0.1).unwrap());
        // Series, filter and impulse response agree.
        let hh = &h * &t;
        let u: Vec<f64> = (0..30).map(|k| if k == 0 { 1.0 } else { 0.0 }).collect();
        let y = t.filter(&h.filter(&u));
        for (a, b) in y.iter().zip(hh.impulse_response(30)) {
            assert!((a - b).abs() < 1e-14);
        }
    }

    #[test]
    fn noise_gain_first_order_and_exact_cross_check() {
        // 1/(1 − a z⁻¹): Σ a^{2n} = 1/(1 − a²).
        for a in [0.0, 0.3, -0.9, 0.999] {
            let h = TransferFunction::new(Poly::constant(1.0), Poly::new(vec![1.0, -a])).unwrap();
            let want = 1.0 / (1.0 - a * a);
            assert!((h.noise_gain().unwrap() / want - 1.0).abs() < 1e-12, "{a}");
            assert!(
                (h.noise_gain_exact().unwrap() / want - 1.0).abs() < 1e-12,
                "{a}"
            );
        }
        // Type-2 loops with and without latency, and their 6th-order cubes.
        for (zeta, wnt, d) in [
            (0.707, 0.05, 0),
            (2.0, 0.01, 0),
            (0.707, 0.2, 2),
            (1.0, 0.1, 1),
        ] {
            let (kp, ki) = type2_gains(zeta, wnt);
            let g = type2_closed_loop(kp, ki, d);
            let (a, b) = (g.noise_gain().unwrap(), g.noise_gain_exact().unwrap());
            assert!(
                (a / b - 1.0).abs() < 1e-10,
                "ζ={zeta} ωnT={wnt} d={d}: {a} vs {b}"
            );
            // Powers: the exact cascade realization against the repeated filtering of
            // `cascade_noise_gains` (1e-9), and against the expanded G³ only loosely: rounding the
            // expanded coefficients moves a triple pole cluster by ~ε^{1/3} (1e-5 relative error
            // observed at ζ = 2, ωnT = 0.01, whose slow pole is at 0.9975), which is why
            // `cascade_noise_gains` filters instead of expanding.
            let exact = cascade_noise_gain_exact(&g, 3).unwrap();
            let filtered = cascade_noise_gains(&g, 3).unwrap()[2];
            let expanded = g.pow(3).noise_gain().unwrap();
            assert!(
                (filtered / exact - 1.0).abs() < 1e-9,
                "ζ={zeta} ωnT={wnt} d={d}: {filtered} vs {exact}"
            );
            assert!(
                (expanded / exact - 1.0).abs() < 1e-4,
                "ζ={zeta} ωnT={wnt} d={d}: {expanded} vs {exact}"
            );
        }
        // Unstable systems are errors.
        let u = TransferFunction::new(Poly::constant(1.0), Poly::new(vec![1.0, -1.01])).unwrap();
        assert!(matches!(u.noise_gain(), Err(ControlError::Unstable { .. })));
        assert!(matches!(
            u.noise_gain_exact(),
            Err(ControlError::Unstable { .. })
        ));
        assert!(matches!(
            cascade_variance_gain(&u, 3),
            Err(ControlError::Unstable { .. })
        ));
        assert!(!u.is_stable().unwrap());
    }

    #[test]
    fn type2_noise_gain_matches_closed_form() {
        // G(z) = (b1 z + b2)/(z² + a1 z + a2) with b1 = Kp, b2 = Ki − Kp, a1 = Kp − 2,
        // a2 = 1 − Kp + Ki. Åström's second-order sum (Introduction to Stochastic Control
        // Theory, 1970, ch. 5) Σg² = [(b1² + b2²)(1 + a2) − 2b1b2a1] / [(1 − a2)((1 + a2)² − a1²)]
        // simplifies to (2Kp² − 3KpKi + 2Ki + Ki²) / ((Kp − Ki)(4 − 2Kp + Ki)), which for small
        // gains is ωnT(ζ + 1/(4ζ)) = 2·B_L·T, the classical loop noise bandwidth.
        for (kp, ki) in [(0.0707, 0.0025), (0.2, 0.01), (0.5, 0.1), (1.0, 0.3)] {
            let g = type2_closed_loop(kp, ki, 0);
            let closed = (2.0 * kp * kp - 3.0 * kp * ki + 2.0 * ki + ki * ki)
                / ((kp - ki) * (4.0 - 2.0 * kp + ki));
            let sum = g.noise_gain().unwrap();
            assert!(
                (sum / closed - 1.0).abs() < 1e-10,
                "{kp},{ki}: {sum} vs {closed}"
            );
        }
    }

    #[test]
    fn frequency_measures_of_a_first_order_lowpass() {
        // H = (1 − a)/(1 − a z⁻¹): DC gain 1, no peaking, |H|² = (1−a)²/(1 − 2a cos ω + a²);
        // −3 dB where cos ω = 1 − (1 − a)²/(2a).
        let a = 0.9;
        let h = TransferFunction::new(Poly::constant(1.0 - a), Poly::new(vec![1.0, -a])).unwrap();
        let p = h.peak();
        assert!(
            p.gain_db.abs() < 1e-12 && p.omega_rad_per_sample < 1e-5,
            "{p:?}"
        );
        let bw = h.bandwidth_3db().unwrap();
        let want = (1.0 - (1.0 - a) * (1.0 - a) / (2.0 * a)).acos();
        assert!((bw - want).abs() < 1e-12, "{bw} vs {want}");
        assert!(TransferFunction::gain(1.0).bandwidth_3db().is_none());
    }

    #[test]
    fn peaking_of_a_sharp_resonance_is_found() {
        // Poles at 0.9999·e^{±j·1.234}: a resonance ~1e-4 rad wide, far below the uniform grid's
        // spacing; the pole-angle candidates catch it. Peak gain from the exact |H| at the
        // refined frequency matches a brute-force fine scan around the pole angle.
        let r: f64 = 0.9999;
        let th: f64 = 1.234;
        let den = Poly::new(vec![1.0, -2.0 * r * th.cos(), r * r]);
        let h = TransferFunction::new(Poly::constant(1.0 - r), den).unwrap();
        let p = h.peak();
        let brute = (0..200_001)
            .map(|i| th - 1e-3 + 2e-3 * i as f64 / 200_000.0)
            .map(|w| h.gain_db(w))
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(p.gain_db >= brute - 1e-9, "{p:?} vs {brute}");
        assert!((p.omega_rad_per_sample - th).abs() < 1e-3);
    }

    #[test]
    fn appendix_peaking_of_the_type2_tracker() {
        // notes/000 appendix [CALC]: 3.6 / 2.2 / 1.3 / 0.42 dB for ζ = 0.5 / 0.707 / 1 / 2 at
        // ωnT = 0.05, d = 0. Tolerance: half a unit of the note's last printed digit.
        let cases = [
            (0.5, 3.6, 0.05),
            (0.707, 2.2, 0.05),
            (1.0, 1.3, 0.05),
            (2.0, 0.42, 0.005),
        ];
        for (zeta, note, tol) in cases {
            let (kp, ki) = type2_gains(zeta, 0.05);
            let g = type2_closed_loop(kp, ki, 0);
            let p = g.peaking_db();
            println!("ζ = {zeta}: peaking {p:.4} dB (note {note} dB)");
            // Against a brute-force scan of 10⁶ points on [0, 0.5] rad/sample.
            let brute = (0..=1_000_000)
                .map(|i| g.gain_db(0.5 * i as f64 / 1e6))
                .fold(f64::NEG_INFINITY, f64::max);
            assert!(p >= brute - 1e-12 && p - brute < 1e-8, "{p} vs {brute}");
            assert!((p - note).abs() <= tol, "ζ = {zeta}: {p} vs {note}");
            assert!((g.dc_gain() - 1.0).abs() < 1e-12);
        }
        // "Latency increases it: 9–11 dB at d = 2 and ωnT = 0.2" (ζ not stated; 0.707 and 1).
        for zeta in [0.707, 1.0] {
            let (kp, ki) = type2_gains(zeta, 0.2);
            let p = type2_closed_loop(kp, ki, 2).peaking_db();
            println!("ζ = {zeta}, ωnT = 0.2, d = 2: peaking {p:.2} dB (note 9–11 dB)");
            assert!((8.5..=11.5).contains(&p), "ζ = {zeta}: {p}");
        }
    }

    #[test]
    fn margins_of_the_type2_open_loop() {
        // Gain margin: the only phase crossover is ω = π with L(−1) = (Ki − 2Kp)/4, so the
        // margin is 4/(2Kp − Ki) (the Jury condition 4 − 2Kp + Ki > 0 at the limit).
        let (kp, ki) = type2_gains(0.707, 0.05);
        let l = type2_open_loop(kp, ki);
        let gm = l.gain_margin().unwrap();
        assert!((gm.omega_rad_per_sample - PI).abs() < 1e-12);
        assert!((gm.factor - 4.0 / (2.0 * kp - ki)).abs() < 1e-9, "{gm:?}");
        // Phase margin close to the continuous-time type-2 PLL's atan(2ζ√x),
        // x = 2ζ² + √(4ζ⁴ + 1) (65.5° at ζ = 0.707), minus the discretization's ≈ ω_c/2 lag.
        let pm = l.phase_margin().unwrap();
        let x = 2.0 * 0.707f64.powi(2) + (4.0 * 0.707f64.powi(4) + 1.0).sqrt();
        let cont = (2.0 * 0.707 * x.sqrt()).atan();
        let wc = 0.05 * x.sqrt();
        assert!(
            (pm.omega_rad_per_sample - wc).abs() < 0.02 * wc,
            "{pm:?} vs {wc}"
        );
        assert!(
            (pm.phase_rad - cont).abs() < wc,
            "{} vs {cont}",
            pm.phase_rad
        );
        // Latency eats the phase margin at about d·ω_c per period of delay.
        let pm2 = l.with_delay(2).phase_margin().unwrap();
        assert!(pm2.phase_rad < pm.phase_rad - 1.5 * pm.omega_rad_per_sample);
        // With ωnT = 0.2, d = 2 the single hop is stable but its margins are small.
        let (kp, ki) = type2_gains(1.0, 0.2);
        let l2 = type2_open_loop(kp, ki).with_delay(2);
        let (gm, pm) = (l2.gain_margin().unwrap(), l2.phase_margin().unwrap());
        println!(
            "ζ=1, ωnT=0.2, d=2: GM {:.2} dB at {:.3}, PM {:.1}° at {:.3}",
            gm.db(),
            gm.omega_rad_per_sample,
            pm.phase_rad.to_degrees(),
            pm.omega_rad_per_sample
        );
        assert!(gm.db() > 0.0 && gm.db() < 6.0);
        assert!(pm.phase_rad > 0.0 && pm.phase_rad < 0.6);
        assert!(type2_closed_loop(kp, ki, 2).is_stable().unwrap());
        // Doubling the loop gain (the 2-node differential mode) exceeds a gain margin < 6 dB.
        // A pure gain has no crossovers.
        assert!(TransferFunction::gain(0.5).gain_margin().is_none());
        assert!(TransferFunction::gain(0.5).phase_margin().is_none());
    }

    /// The appendix's depth-accumulation table, (value, half a unit of its last printed digit).
    const APPENDIX_CASCADE: [(f64, [(f64, f64); 5]); 3] = [
        (
            0.707,
            [
                (1.9, 0.05),
                (4.9, 0.05),
                (26.0, 0.5),
                (984.0, 0.5),
                (2.5e6, 0.05e6),
            ],
        ),
        (
            1.0,
            [
                (1.7, 0.05),
                (3.4, 0.05),
                (9.5, 0.05),
                (70.0, 0.5),
                (5.9e3, 50.0),
            ],
        ),
        (
            2.0,
            [
                (1.6, 0.05),
                (2.5, 0.05),
                (4.2, 0.05),
                (8.7, 0.05),
                (30.0, 0.5),
            ],
        ),
    ];
    const APPENDIX_DEPTHS: [usize; 5] = [2, 4, 8, 16, 32];

    #[test]
    fn appendix_cascade_variance_is_reproduced_at_omega_n_t_0_05() {
        // notes/000 appendix [CALC]: variance at depth L relative to one hop. The appendix does
        // not state ωnT. ωnT = 0.05 (the value of its peaking line) reproduces every entry of the
        // table to the printed precision; ωnT = 0.2 does not (its loops have more peaking:
        // 2.07×, 6.0×, 49×, 4.9e3×, 8.6e7× at ζ = 0.707).
        for (zeta, note) in APPENDIX_CASCADE {
            let (kp, ki) = type2_gains(zeta, 0.05);
            let g = type2_closed_loop(kp, ki, 0);
            for (&l, (want, tol)) in APPENDIX_DEPTHS.iter().zip(note) {
                let v = cascade_variance_gain(&g, l).unwrap();
                println!("ωnT = 0.05, ζ = {zeta}, L = {l}: {v:.4} (note {want})");
                assert!(
                    (v - want).abs() <= tol,
                    "ζ = {zeta}, L = {l}: {v} vs {want}"
                );
            }
        }
        let (kp, ki) = type2_gains(0.707, 0.2);
        let g = type2_closed_loop(kp, ki, 0);
        let v16 = cascade_variance_gain(&g, 16).unwrap();
        println!("ωnT = 0.2, ζ = 0.707, L = 16: {v16:.1} (note 984)");
        assert!(v16 > 2.0 * 984.0, "{v16}");
        // G(1) = 1 and, without peaking, G(L) ≤ L: a first-order low-pass.
        let lp = TransferFunction::new(Poly::constant(0.1), Poly::new(vec![1.0, -0.9])).unwrap();
        assert!((cascade_variance_gain(&lp, 1).unwrap() - 1.0).abs() < 1e-12);
        for l in [2, 8, 32] {
            assert!(cascade_variance_gain(&lp, l).unwrap() <= l as f64);
        }
    }

    #[test]
    fn cascade_noise_gains_match_the_exact_cascade_realization() {
        // ζ = 0.707, ωnT = 0.05: the repeated filtering against a direct Lyapunov solve of the
        // series realization (state dimension 2l) for l up to 16.
        let (kp, ki) = type2_gains(0.707, 0.05);
        let g = type2_closed_loop(kp, ki, 0);
        let filtered = cascade_noise_gains(&g, 16).unwrap();
        for l in [1usize, 2, 4, 8, 16] {
            let exact = cascade_noise_gain_exact(&g, l).unwrap();
            let rel = filtered[l - 1] / exact - 1.0;
            assert!(rel.abs() < 1e-8, "l = {l}: {} vs {exact}", filtered[l - 1]);
        }
    }

    #[test]
    fn two_node_loop_poles() {
        // notes/000 appendix: zero latency → common-mode factor den − num = (z − 1)² for every
        // gain tried; d = 2, ωnT = 0.2 → |pole| 1.017 (ζ = 0.707), 1.100 (ζ = 1).
        for zeta in [0.5, 0.707, 1.0, 2.0] {
            for wnt in [0.05, 0.2] {
                let (kp, ki) = type2_gains(zeta, wnt);
                let g = type2_closed_loop(kp, ki, 0);
                let cm = ring_common_mode_poly(&g);
                let want = Poly::new(vec![1.0, -2.0, 1.0]);
                for k in 0..3 {
                    assert!((cm.coeff(k) - want.coeff(k)).abs() < 1e-14, "{cm:?}");
                }
                // With latency d the common mode is z^d·(z − 1)².
                let cm2 = ring_common_mode_poly(&type2_closed_loop(kp, ki, 2));
                let want2 = want.shift(2);
                assert_eq!(cm2.degree(), Some(4));
                for k in 0..5 {
                    assert!((cm2.coeff(k) - want2.coeff(k)).abs() < 1e-14, "{cm2:?}");
                }
                for nodes in [2, 3] {
                    let poles = ring_poles(&g, nodes).unwrap();
                    let near_one = poles.iter().filter(|p| (*p - 1.0).norm() < 1e-4).count();
                    assert_eq!(near_one, 2, "ζ={zeta} ωnT={wnt} n={nodes}: {poles:?}");
                    let others = poles.iter().filter(|p| (*p - 1.0).norm() >= 1e-4);
                    assert!(others.map(|p| p.norm()).fold(0.0, f64::max) < 1.0);
                }
            }
        }
        for (zeta, note) in [(0.707, 1.017), (1.0, 1.100)] {
            let (kp, ki) = type2_gains(zeta, 0.2);
            let g = type2_closed_loop(kp, ki, 2);
            let poles = ring_poles(&g, 2).unwrap();
            let rho = poles[0].norm();
            println!("ζ = {zeta}, d = 2: 2-node ring |pole| max {rho:.4} (note {note}); {poles:?}");
            assert!((rho - note).abs() < 0.0015, "{rho} vs {note}");
            // The same nodes as a chain from a fixed root are stable.
            assert!(chain_poles(&g).unwrap()[0].norm() < 1.0);
        }
    }
}

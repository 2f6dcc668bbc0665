//! Coherent macro-diversity of fog massive MIMO at N → ∞ (Bursalioglu et al., arXiv 1803.07614,
//! eqs. (13) and (23); notes/001 §2.8): user k, served by the RRHs S_k (all beamforming the same
//! packet with unit-norm ZF columns, so their contributions add coherently) and interfered by the
//! co-pilot RRHs T_k (where k's pilot group is trusted for another user), has
//!
//! SIR_k = S/I,   S = (Σ_{r∈S_k} β_{r,k})²,   I = Σ_{r∈T_k} β_{r,k}²,   β = d^{−α},
//!
//! and spectral efficiency log₂(1 + SIR_k). Distances are divided by `length_unit` before the
//! powers are taken (notes/001 §5.2: in metres β ≈ 3·10⁻⁸ at 100 m and β² ≈ 10⁻¹⁵; the SIR is
//! scale-invariant, so any unit near the RRH spacing keeps S and I well inside f64's range).
//!
//! **No interferer.** When T_k is empty, I = 0 and SIR = +∞ (a user whose group has no other
//! trusted RRH in the whole drop). Its SE is infinite, so averages must not include it silently:
//! the fog large-N drop counts such users separately and leaves them out of the SE mean (with a
//! window of tens of RRH spacings it practically never happens).

use crate::geometry::{Point, Window};

/// The signal and interference terms of (23) for one user.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MacroDiversitySir {
    /// S = (Σ_{S_k} β)² (in `length_unit`^{−2α}).
    pub signal: f64,
    /// I = Σ_{T_k} β².
    pub interference: f64,
}

impl MacroDiversitySir {
    /// S/I (+∞ when I = 0 and S > 0; NaN when both are 0).
    pub fn sir(&self) -> f64 {
        self.signal / self.interference
    }

    /// log₂(1 + S/I) in b/s/Hz (+∞ when I = 0 < S; 0 when S = 0 < I).
    pub fn se_bps_per_hz(&self) -> f64 {
        self.sir().ln_1p() / std::f64::consts::LN_2
    }
}

/// The terms of (23) for a user at `user`, served by the RRHs `serving` and interfered by
/// `interferers` (indices into `rrhs`); distances in `window`, divided by `length_unit`, path-loss
/// exponent `alpha`.
///
/// # Panics
/// If an index is out of range or `length_unit` is not positive.
pub fn macro_diversity_sir(
    window: &Window,
    rrhs: &[Point],
    user: Point,
    serving: impl IntoIterator<Item = usize>,
    interferers: impl IntoIterator<Item = usize>,
    alpha: f64,
    length_unit: f64,
) -> MacroDiversitySir {
    assert!(length_unit > 0.0, "length_unit must be positive");
    let scale2 = length_unit * length_unit;
    let half_alpha = 0.5 * alpha;
    let beta = |r: usize| (window.distance_sq(rrhs[r], user) / scale2).powf(-half_alpha);
    // folds from +0 (an empty `sum()` of f64 is −0, which would turn S/I into −∞)
    let sum = serving.into_iter().map(beta).fold(0.0, |a, b| a + b);
    let interference = interferers
        .into_iter()
        .map(|r| beta(r).powi(2))
        .fold(0.0, |a, b| a + b);
    MacroDiversitySir {
        signal: sum * sum,
        interference,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Boundary;

    #[test]
    fn hand_values_and_scale_invariance() {
        let window = Window::centered(1000.0, 1000.0, Boundary::Open).unwrap();
        let rrhs = [
            Point::new(1.0, 0.0),
            Point::new(0.0, 2.0),
            Point::new(-4.0, 0.0),
        ];
        let o = Point::new(0.0, 0.0);
        let a = 4.0;
        let s = macro_diversity_sir(&window, &rrhs, o, [0, 1], [2], a, 1.0);
        // S = (1 + 2^{−4})², I = 4^{−8}
        assert!((s.signal - (1.0 + 1.0 / 16.0f64).powi(2)).abs() < 1e-12);
        assert!((s.interference - 4f64.powi(-8)).abs() < 1e-18);
        let sir = s.sir();
        assert!((s.se_bps_per_hz() - (1.0 + sir).log2()).abs() < 1e-12);
        // in a unit 100 times larger the terms scale, the SIR does not
        let s100 = macro_diversity_sir(&window, &rrhs, o, [0, 1], [2], a, 0.01);
        assert!((s100.sir() / sir - 1.0).abs() < 1e-12);
        // no interferer: +∞, no server: 0 b/s/Hz
        let alone = macro_diversity_sir(&window, &rrhs, o, [0], [], a, 1.0);
        assert_eq!(alone.sir(), f64::INFINITY);
        assert_eq!(alone.se_bps_per_hz(), f64::INFINITY);
        let unserved = macro_diversity_sir(&window, &rrhs, o, [], [2], a, 1.0);
        assert_eq!(unserved.se_bps_per_hz(), 0.0);
    }
}

//! The distributed-MIMO impairment at symbol level (thesis eqs. 2.13–2.14, 4.1; notes/003 §1.7):
//!
//!   H̃(n, t) = Φ(n, t) · H(n) · Ψ(n, t)
//!
//! for M APs and K clients on subcarrier n at time t. Physically, AP i's carrier phase ϕ_i(t) and
//! timing offset τ_i rotate its signal, and client k's phase ψ_k(t) and timing offset δ_k rotate
//! what it receives, so the coefficient from AP i to client k becomes
//! e^{j(a_i − b_k)}·g_ki with a_i = ϕ_i(t) − 2π n Δf τ_i and b_k = ψ_k(t) − 2π n Δf δ_k
//! (a delay τ turns into the phase ramp −2π n Δf τ across subcarriers). In dmimo's y = Hᴴx
//! convention the coefficient is conj(H_ik), hence Φ = diag(e^{−j a_i}) and Ψ = diag(e^{+j b_k}).
//! Φ (transmit side) mixes the streams a precoder separated; Ψ (receive side) each client removes
//! as an ordinary coherent receiver does.

use crate::linalg::CMat;
use crate::units::{cis, C64};
use faer::{Mat, MatRef};
use std::f64::consts::PI;

/// Per-AP and per-client timing offsets and carrier phases at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Impairment {
    /// AP timing offsets τ_i (s), length M.
    pub ap_delay_s: Vec<f64>,
    /// AP carrier phases ϕ_i(t) (rad), length M.
    pub ap_phase_rad: Vec<f64>,
    /// Client timing offsets δ_k (s), length K.
    pub ue_delay_s: Vec<f64>,
    /// Client carrier phases ψ_k(t) (rad), length K.
    pub ue_phase_rad: Vec<f64>,
}

impl Impairment {
    /// No impairment for M APs and K clients.
    pub fn ideal(m: usize, k: usize) -> Self {
        Impairment {
            ap_delay_s: vec![0.0; m],
            ap_phase_rad: vec![0.0; m],
            ue_delay_s: vec![0.0; k],
            ue_phase_rad: vec![0.0; k],
        }
    }

    /// Φ's diagonal on subcarrier `n` (index relative to DC) with spacing `spacing_hz`.
    pub fn phi(&self, n: i32, spacing_hz: f64) -> Vec<C64> {
        self.ap_phase_rad
            .iter()
            .zip(&self.ap_delay_s)
            .map(|(p, t)| cis(-(p - 2.0 * PI * n as f64 * spacing_hz * t)))
            .collect()
    }

    /// Ψ's diagonal on subcarrier `n`.
    pub fn psi(&self, n: i32, spacing_hz: f64) -> Vec<C64> {
        self.ue_phase_rad
            .iter()
            .zip(&self.ue_delay_s)
            .map(|(p, t)| cis(p - 2.0 * PI * n as f64 * spacing_hz * t))
            .collect()
    }

    /// H̃ = Φ H Ψ for the M×K channel `h` of subcarrier `n`.
    ///
    /// # Panics
    /// If `h` is not M×K for this impairment's M and K.
    #[track_caller]
    pub fn apply(&self, h: MatRef<'_, C64>, n: i32, spacing_hz: f64) -> CMat {
        assert!(
            h.nrows() == self.ap_phase_rad.len() && h.ncols() == self.ue_phase_rad.len(),
            "impairment: H must be M×K"
        );
        let (phi, psi) = (self.phi(n, spacing_hz), self.psi(n, spacing_hz));
        Mat::from_fn(h.nrows(), h.ncols(), |i, k| phi[i] * h[(i, k)] * psi[k])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::complex_gaussian;
    use crate::precoding::{eval::coherent_sum_ratio, linear::zf};
    use crate::rng::SeedTree;
    use crate::units::deg_to_rad;

    /// Client-side rotations leave every ZF null intact; AP-side ones break them by 1 − cos θ.
    #[test]
    fn receive_side_is_harmless_transmit_side_is_not() {
        let h = complex_gaussian(2, 2, &mut SeedTree::new(1).rng());
        let v = zf(h.as_ref()).unwrap().v;
        let mut imp = Impairment::ideal(2, 2);
        imp.ue_phase_rad = vec![1.0, -2.0];
        imp.ue_delay_s = vec![1e-7, 3e-7];
        let ht = imp.apply(h.as_ref(), 7, 312.5e3);
        assert!(coherent_sum_ratio(ht.as_ref(), v.as_ref(), 0, 1) < 1e-20);
        let theta = deg_to_rad(5.0);
        imp.ap_phase_rad = vec![theta, 0.0];
        let ht = imp.apply(h.as_ref(), 7, 312.5e3);
        for (k, j) in [(0, 1), (1, 0)] {
            let l = coherent_sum_ratio(ht.as_ref(), v.as_ref(), k, j);
            assert!((l - (1.0 - theta.cos())).abs() < 1e-12, "{l}");
        }
    }

    /// A common AP delay is a common phase ramp; a differential one breaks nulls on every
    /// subcarrier but DC.
    #[test]
    fn timing_offsets_are_phase_ramps() {
        let h = complex_gaussian(2, 1, &mut SeedTree::new(2).rng());
        let mut imp = Impairment::ideal(2, 1);
        imp.ap_delay_s = vec![50e-9, 0.0];
        let (n, df) = (10, 312.5e3);
        let ht = imp.apply(h.as_ref(), n, df);
        let ratio = ht[(0, 0)] / h[(0, 0)];
        assert!((ratio - cis(2.0 * PI * n as f64 * df * 50e-9)).norm() < 1e-12);
        assert!((ht[(1, 0)] - h[(1, 0)]).norm() < 1e-15);
    }
}

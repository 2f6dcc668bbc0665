//! Tomlinson–Harashima precoding (thesis eqs. 2.5–2.10; notes/003 §1.4).
//!
//! With H = QR (Q M×K orthonormal, R K×K upper triangular with a real positive diagonal) and
//! x = Q û, the channel becomes y = Hᴴx + z = L û + z with L = Rᴴ lower triangular. User k sees its
//! own symbol through L_kk and the earlier users' through L_kj, j < k; the transmitter subtracts that
//! known interference sequentially and keeps the power bounded with a modulo of side τ:
//!
//!   û_k = √q_k · [ u_k − Σ_{j<k} L_kj û_j / (L_kk √q_k) ] mod τ          (2.8)
//!
//! Receiver k computes [ y_k / (L_kk √q_k) ] mod τ = [u_k + z_k/(L_kk √q_k)] mod τ (2.9).
//! û_k is uniform on a square of side τ√q_k, so E|û_k|² = τ² q_k / 6 = q_k for τ = √6. The rate
//! is Σ_k [log2(1 + L_kk² q_k) − log2(πe/6)]⁺ (2.10): the zero-forcing dirty-paper rate minus the
//! shaping loss of a uniform (square) input, 1.53 dB or 0.509 bit per stream.

use crate::linalg::{qr_positive, CMat};
use crate::units::C64;
use faer::MatRef;

/// Side of the modulo square, chosen so a uniform û_k has power q_k.
pub const TAU: f64 = 2.449_489_742_783_178; // √6

/// The shaping loss log2(πe/6) in bits per complex dimension.
pub fn shaping_loss_bits() -> f64 {
    (std::f64::consts::PI * std::f64::consts::E / 6.0).log2()
}

/// `[s] mod τ` = s − τ(n + jm) with n, m the integers nearest Re(s)/τ, Im(s)/τ, so the result lies in
/// the square [−τ/2, τ/2)².
pub fn modulo(s: C64, tau: f64) -> C64 {
    let f = |x: f64| x - tau * (x / tau + 0.5).floor();
    C64::new(f(s.re), f(s.im))
}

/// A THP precoder for one channel H (M×K, K ≤ M).
#[derive(Clone, Debug)]
pub struct Thp {
    /// Q, M×K with orthonormal columns: x = Q û.
    pub q: CMat,
    /// L = Rᴴ, K×K lower triangular with a real positive diagonal: y = L û + z.
    pub l: CMat,
}

impl Thp {
    /// Factors H = QR.
    ///
    /// # Panics
    /// If K > M.
    #[track_caller]
    pub fn new(h: MatRef<'_, C64>) -> Self {
        let (q, r) = qr_positive(h);
        let l = r.adjoint().to_owned();
        Thp { q, l }
    }

    /// |L_kk|²: the gain of stream k after interference pre-cancellation.
    pub fn gains(&self) -> Vec<f64> {
        (0..self.l.nrows())
            .map(|k| self.l[(k, k)].norm_sqr())
            .collect()
    }

    /// Precodes one symbol vector: `u` (K data symbols inside the modulo square), `powers` q_k;
    /// writes û (K) and the transmit vector x = Qû (M).
    ///
    /// # Panics
    /// On length mismatches.
    #[track_caller]
    pub fn precode(&self, u: &[C64], powers: &[f64], u_hat: &mut [C64], x: &mut [C64]) {
        let k = self.l.nrows();
        assert!(u.len() == k && powers.len() == k && u_hat.len() == k && x.len() == self.q.nrows());
        for i in 0..k {
            let s = powers[i].sqrt();
            if s == 0.0 {
                u_hat[i] = C64::new(0.0, 0.0);
                continue;
            }
            let lii = self.l[(i, i)].re;
            let interference: C64 = (0..i).map(|j| self.l[(i, j)] * u_hat[j]).sum();
            u_hat[i] = modulo(u[i] - interference / (lii * s), TAU) * s;
        }
        for (r, xr) in x.iter_mut().enumerate() {
            *xr = (0..k).map(|c| self.q[(r, c)] * u_hat[c]).sum();
        }
    }

    /// Receiver k's estimate of u_k from its observation y_k (eq. 2.9).
    pub fn receive(&self, k: usize, y_k: C64, power: f64) -> C64 {
        modulo(y_k / (self.l[(k, k)].re * power.sqrt()), TAU)
    }
}

/// The THP rate Σ_k [log2(1 + sinr_k) − log2(πe/6)]⁺ (eq. 2.10) for per-stream SINRs.
pub fn thp_rate_bps_per_hz(sinr: &[f64]) -> f64 {
    let loss = shaping_loss_bits();
    sinr.iter()
        .map(|s| ((1.0 + s).log2() - loss).max(0.0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::complex_gaussian;
    use crate::rng::SeedTree;
    use proptest::prelude::*;
    use rand::Rng;

    #[test]
    fn shaping_loss_value() {
        assert!((shaping_loss_bits() - 0.509229).abs() < 1e-6);
        assert!(
            (10.0 * (std::f64::consts::PI * std::f64::consts::E / 6.0).log10() - 1.533).abs()
                < 1e-3
        );
    }

    proptest! {
        /// The modulo lands in the square and only removes multiples of τ on each axis.
        #[test]
        fn modulo_round_trips(re in -1e3f64..1e3, im in -1e3f64..1e3, n in -50i32..50, m in -50i32..50) {
            let s = C64::new(re, im);
            let r = modulo(s, TAU);
            prop_assert!(r.re >= -TAU / 2.0 - 1e-9 && r.re < TAU / 2.0 + 1e-9);
            prop_assert!(r.im >= -TAU / 2.0 - 1e-9 && r.im < TAU / 2.0 + 1e-9);
            let k = (s - r) / TAU;
            prop_assert!((k.re - k.re.round()).abs() < 1e-6 && (k.im - k.im.round()).abs() < 1e-6);
            // a point inside the square plus lattice shifts comes back to itself
            let inside = C64::new(re.rem_euclid(TAU) - TAU / 2.0, im.rem_euclid(TAU) - TAU / 2.0) * 0.999;
            let shifted = inside + C64::new(n as f64, m as f64) * TAU;
            prop_assert!((modulo(shifted, TAU) - inside).norm() < 1e-9);
        }
    }

    #[test]
    fn noiseless_thp_delivers_every_symbol() {
        let mut rng = SeedTree::new(11).rng();
        for (m, k) in [(4, 4), (6, 3), (8, 8)] {
            let h = complex_gaussian(m, k, &mut rng);
            let thp = Thp::new(h.as_ref());
            let powers: Vec<f64> = (0..k).map(|_| rng.random_range(0.5..3.0)).collect();
            let mut u_hat = vec![C64::default(); k];
            let mut x = vec![C64::default(); m];
            for _ in 0..50 {
                let u: Vec<C64> = (0..k)
                    .map(|_| {
                        C64::new(rng.random_range(-0.49..0.49), rng.random_range(-0.49..0.49)) * TAU
                    })
                    .collect();
                thp.precode(&u, &powers, &mut u_hat, &mut x);
                for j in 0..k {
                    // y_j = h_jᴴ x
                    let y: C64 = (0..m).map(|i| h[(i, j)].conj() * x[i]).sum();
                    assert!((thp.receive(j, y, powers[j]) - u[j]).norm() < 1e-9);
                }
            }
        }
    }
}

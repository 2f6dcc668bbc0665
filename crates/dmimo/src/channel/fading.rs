//! Small-scale fading: Rayleigh and Rician coefficients, multi-tap exponential power-delay
//! profiles and their frequency responses on OFDM subcarriers.

use crate::linalg::cn01;
use crate::rng::SimRng;
use crate::units::{cis, C64};
use rand::Rng;
use std::f64::consts::PI;

/// A Rayleigh coefficient, CN(0, 1).
pub fn rayleigh(rng: &mut SimRng) -> C64 {
    cn01(rng)
}

/// A Rician coefficient with unit mean power and K-factor `k` (linear):
/// √(K/(K+1))·e^{jθ} + √(1/(K+1))·CN(0, 1) with the LOS phase θ uniform.
pub fn rician(k: f64, rng: &mut SimRng) -> C64 {
    let theta = rng.random_range(0.0..2.0 * PI);
    cis(theta) * (k / (k + 1.0)).sqrt() + cn01(rng) * (1.0 / (k + 1.0)).sqrt()
}

/// A tapped-delay-line power profile: tap l at delay `delays[l]` samples with mean power
/// `powers[l]`; powers sum to 1.
#[derive(Clone, Debug, PartialEq)]
pub struct PowerDelayProfile {
    pub delays: Vec<usize>,
    pub powers: Vec<f64>,
}

impl PowerDelayProfile {
    /// A single tap (flat fading).
    pub fn flat() -> Self {
        PowerDelayProfile {
            delays: vec![0],
            powers: vec![1.0],
        }
    }

    /// `n_taps` taps at consecutive samples with powers ∝ exp(−l/`decay_taps`), normalized to
    /// sum 1 (the thesis' Fig. 4.5 channel: 10 taps, exponentially decaying).
    pub fn exponential(n_taps: usize, decay_taps: f64) -> Self {
        assert!(n_taps > 0 && decay_taps > 0.0);
        let raw: Vec<f64> = (0..n_taps)
            .map(|l| (-(l as f64) / decay_taps).exp())
            .collect();
        let s: f64 = raw.iter().sum();
        PowerDelayProfile {
            delays: (0..n_taps).collect(),
            powers: raw.iter().map(|p| p / s).collect(),
        }
    }

    /// Draws Rayleigh tap gains √p_l·CN(0, 1).
    pub fn draw(&self, rng: &mut SimRng) -> Vec<C64> {
        self.powers.iter().map(|p| cn01(rng) * p.sqrt()).collect()
    }

    /// The taps drawn by [`PowerDelayProfile::draw`] placed at their delays: a whole-sample-spaced
    /// impulse response of length max delay + 1 (for [`crate::radio::link::Link`]).
    pub fn impulse_response(&self, taps: &[C64]) -> Vec<C64> {
        let len = self.delays.iter().max().map_or(0, |d| d + 1);
        let mut h = vec![C64::default(); len];
        for (&d, &t) in self.delays.iter().zip(taps) {
            h[d] += t;
        }
        h
    }

    /// Frequency response on subcarrier k of an N-point OFDM system:
    /// H(k) = Σ_l h_l e^{−j2π k d_l / N}.
    pub fn frequency_response(&self, taps: &[C64], n_fft: usize, subcarrier: i32) -> C64 {
        taps.iter()
            .zip(&self.delays)
            .map(|(h, &d)| h * cis(-2.0 * PI * subcarrier as f64 * d as f64 / n_fft as f64))
            .sum()
    }
}

/// An M×K multipath channel on OFDM subcarriers: every AP–user link draws its own Rayleigh taps
/// from `pdp`, and `H(n)[i, k]` is the conjugate of link (i → k)'s frequency response on
/// subcarrier `subcarriers[n]` (dmimo's y = Hᴴx convention: `conj(H[i,k])` is the physical
/// coefficient). Returns one M×K matrix per subcarrier.
pub fn mimo_ofdm_channel(
    m: usize,
    k: usize,
    pdp: &PowerDelayProfile,
    n_fft: usize,
    subcarriers: &[i32],
    rng: &mut SimRng,
) -> Vec<crate::linalg::CMat> {
    let links: Vec<Vec<C64>> = (0..m * k).map(|_| pdp.draw(rng)).collect();
    subcarriers
        .iter()
        .map(|&n| {
            faer::Mat::from_fn(m, k, |i, j| {
                pdp.frequency_response(&links[i * k + j], n_fft, n).conj()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;

    #[test]
    fn unit_mean_power() {
        let n = 20000;
        let mut rng = SeedTree::new(1).rng();
        let ray: f64 = (0..n).map(|_| rayleigh(&mut rng).norm_sqr()).sum::<f64>() / n as f64;
        let ric: f64 = (0..n)
            .map(|_| rician(5.0, &mut rng).norm_sqr())
            .sum::<f64>()
            / n as f64;
        // std of the mean of |h|² is ≤ 1/√n ≈ 0.007
        assert!(
            (ray - 1.0).abs() < 0.035 && (ric - 1.0).abs() < 0.035,
            "{ray} {ric}"
        );
    }

    #[test]
    fn pdp_frequency_response_has_unit_mean_power_and_is_correlated() {
        let pdp = PowerDelayProfile::exponential(10, 3.0);
        assert!((pdp.powers.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let mut rng = SeedTree::new(2).rng();
        let (mut p, mut corr) = (0.0, C64::default());
        let n = 5000;
        for _ in 0..n {
            let taps = pdp.draw(&mut rng);
            let a = pdp.frequency_response(&taps, 64, 5);
            let b = pdp.frequency_response(&taps, 64, 6);
            p += a.norm_sqr();
            corr += a * b.conj();
        }
        assert!((p / n as f64 - 1.0).abs() < 0.05);
        // adjacent subcarriers of a short channel are strongly correlated: E[H(k)H*(k+1)] = Σ p_l e^{j2πl/64}
        let want: C64 = pdp
            .powers
            .iter()
            .enumerate()
            .map(|(l, p)| cis(2.0 * PI * l as f64 / 64.0) * p)
            .sum();
        assert!((corr / n as f64 - want).norm() < 0.05);
    }
}

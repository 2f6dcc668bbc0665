//! Metrics: empirical CDFs and percentiles, means with confidence intervals, and the SINR of a
//! received constellation (how the thesis measured SINR: from the spread of received points).

use crate::units::C64;
use serde::Serialize;

/// An empirical CDF of finite samples (NaNs are rejected).
#[derive(Clone, Debug)]
pub struct Cdf {
    sorted: Vec<f64>,
}

impl Cdf {
    /// # Panics
    /// If `samples` is empty or holds a NaN.
    #[track_caller]
    pub fn new(mut samples: Vec<f64>) -> Self {
        assert!(!samples.is_empty(), "Cdf: no samples");
        assert!(samples.iter().all(|x| !x.is_nan()), "Cdf: NaN sample");
        samples.sort_by(f64::total_cmp);
        Cdf { sorted: samples }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Always false (a CDF has at least one sample).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The p-th percentile (p in [0, 100]) by linear interpolation between order statistics
    /// (the "linear" / type-7 definition used by NumPy's default).
    pub fn percentile(&self, p: f64) -> f64 {
        let n = self.sorted.len();
        let h = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        self.sorted[lo] + (h - lo as f64) * (self.sorted[hi] - self.sorted[lo])
    }

    /// P(X ≤ x).
    pub fn at(&self, x: f64) -> f64 {
        self.sorted.partition_point(|v| *v <= x) as f64 / self.sorted.len() as f64
    }

    /// Points (x, F(x)) of the staircase, thinned to at most `max_points` for plotting.
    pub fn points(&self, max_points: usize) -> Vec<(f64, f64)> {
        let n = self.sorted.len();
        let step = n.div_ceil(max_points.max(2)).max(1);
        let mut pts: Vec<(f64, f64)> = (0..n)
            .step_by(step)
            .map(|i| (self.sorted[i], (i + 1) as f64 / n as f64))
            .collect();
        if pts.last().map(|p| p.1) != Some(1.0) {
            pts.push((self.sorted[n - 1], 1.0));
        }
        pts
    }

    /// The sorted samples.
    pub fn samples(&self) -> &[f64] {
        &self.sorted
    }
}

/// A sample mean with its 95% confidence half-width (normal approximation, 1.96·s/√n).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MeanCi {
    pub mean: f64,
    pub half_width_95: f64,
    pub n: usize,
}

/// Mean and 95% confidence interval of the samples.
///
/// # Panics
/// If `x` is empty.
#[track_caller]
pub fn mean_ci95(x: &[f64]) -> MeanCi {
    assert!(!x.is_empty(), "mean_ci95: no samples");
    let n = x.len();
    let mean = x.iter().sum::<f64>() / n as f64;
    let half_width_95 = if n > 1 {
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        1.96 * (var / n as f64).sqrt()
    } else {
        f64::INFINITY
    };
    MeanCi {
        mean,
        half_width_95,
        n,
    }
}

/// The SINR of received symbols `y` against the sent ones `u`, as measured from the spread of a
/// constellation: fit y ≈ g·u (g = Σ y u* / Σ|u|²) and return |g|²·E|u|² / E|y − g u|².
///
/// # Panics
/// If the lengths differ or are < 2.
#[track_caller]
pub fn constellation_sinr(y: &[C64], u: &[C64]) -> f64 {
    assert!(y.len() == u.len() && y.len() >= 2);
    let pu: f64 = u.iter().map(|v| v.norm_sqr()).sum();
    let g: C64 = y.iter().zip(u).map(|(y, u)| y * u.conj()).sum::<C64>() / pu;
    let err: f64 = y.iter().zip(u).map(|(y, u)| (y - g * u).norm_sqr()).sum();
    g.norm_sqr() * pu / err
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::cn01;
    use crate::rng::SeedTree;

    #[test]
    fn percentiles_by_hand() {
        let c = Cdf::new(vec![4.0, 1.0, 3.0, 2.0, 5.0]);
        assert_eq!(c.percentile(0.0), 1.0);
        assert_eq!(c.percentile(50.0), 3.0);
        assert_eq!(c.percentile(100.0), 5.0);
        assert_eq!(c.percentile(25.0), 2.0);
        assert!((c.percentile(95.0) - 4.8).abs() < 1e-12);
        assert_eq!(c.at(3.0), 0.6);
        assert_eq!(c.points(100).last(), Some(&(5.0, 1.0)));
    }

    #[test]
    fn ci_covers_the_mean() {
        let mut rng = SeedTree::new(1).rng();
        let x: Vec<f64> = (0..10_000).map(|_| cn01(&mut rng).re).collect();
        let m = mean_ci95(&x);
        assert!(m.mean.abs() < 2.0 * m.half_width_95);
        assert!((m.half_width_95 - 1.96 * (0.5f64 / 1e4).sqrt()).abs() < 0.002);
    }

    #[test]
    fn constellation_sinr_recovers_the_snr() {
        let mut rng = SeedTree::new(2).rng();
        let u: Vec<C64> = (0..20_000).map(|_| cn01(&mut rng)).collect();
        let g = C64::new(0.3, -0.8);
        let snr = 100.0;
        let y: Vec<C64> = u
            .iter()
            .map(|u| g * u + cn01(&mut rng) * (g.norm_sqr() / snr).sqrt())
            .collect();
        let s = constellation_sinr(&y, &u);
        assert!((s / snr - 1.0).abs() < 0.05, "{s}");
    }
}

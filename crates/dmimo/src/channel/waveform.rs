//! Sample-level link helpers: integer and fractional delays, AWGN.

use crate::linalg::cn01;
use crate::rng::SimRng;
use crate::units::C64;
use std::f64::consts::PI;

/// Delays `x` by `d` whole samples (zeros shifted in); output has the same length.
pub fn delay_integer(x: &[C64], d: usize) -> Vec<C64> {
    let mut y = vec![C64::default(); x.len()];
    if d < x.len() {
        y[d..].copy_from_slice(&x[..x.len() - d]);
    }
    y
}

/// A fractional-delay FIR: a Blackman-windowed sinc of `2·half_len + 1` taps, delaying a band-limited
/// signal by `delay_samples` (integer + fraction). Accurate for |f| ≲ 0.4·f_s; the group delay is
/// exactly `delay_samples`.
#[derive(Clone, Debug)]
pub struct FractionalDelay {
    taps: Vec<f64>,
    /// Whole-sample part of the delay not covered by the filter centre.
    shift: i64,
}

impl FractionalDelay {
    /// # Panics
    /// If the delay is negative or not finite, or `half_len` is 0.
    #[track_caller]
    pub fn new(delay_samples: f64, half_len: usize) -> Self {
        assert!(delay_samples.is_finite() && delay_samples >= 0.0 && half_len > 0);
        let whole = delay_samples.floor();
        let frac = delay_samples - whole;
        let n = 2 * half_len + 1;
        let taps: Vec<f64> = (0..n)
            .map(|i| {
                let t = i as f64 - half_len as f64 - frac;
                let sinc = if t.abs() < 1e-12 {
                    1.0
                } else {
                    (PI * t).sin() / (PI * t)
                };
                // Blackman window centred on the fractional delay
                let w_arg = (i as f64 - frac) / (n - 1) as f64;
                let w = if (0.0..=1.0).contains(&w_arg) {
                    0.42 - 0.5 * (2.0 * PI * w_arg).cos() + 0.08 * (4.0 * PI * w_arg).cos()
                } else {
                    0.0
                };
                sinc * w
            })
            .collect();
        FractionalDelay {
            taps,
            shift: whole as i64 - half_len as i64,
        }
    }

    /// `y[n] = Σ_i taps[i]·x[n − i − shift]`, zero outside `x`; same length as `x`.
    pub fn apply(&self, x: &[C64]) -> Vec<C64> {
        (0..x.len()).map(|n| self.output(x, n)).collect()
    }

    /// One output sample `y[n]` of [`FractionalDelay::apply`] — for a delay that changes along
    /// the signal (a drifting sampling clock), use a filter per stretch and pick its outputs.
    pub fn output(&self, x: &[C64], n: usize) -> C64 {
        let len = x.len() as i64;
        self.taps
            .iter()
            .enumerate()
            .filter_map(|(i, &t)| {
                let m = n as i64 - i as i64 - self.shift;
                (0..len).contains(&m).then(|| x[m as usize] * t)
            })
            .sum()
    }
}

/// Adds CN(0, `noise_var`) noise to every sample.
pub fn add_awgn(x: &mut [C64], noise_var: f64, rng: &mut SimRng) {
    let s = noise_var.sqrt();
    for v in x {
        *v += cn01(rng) * s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;
    use crate::units::cis;

    #[test]
    fn integer_delay_shifts() {
        let x: Vec<C64> = (0..5).map(|i| C64::new(i as f64, 0.0)).collect();
        let y = delay_integer(&x, 2);
        assert_eq!(y[2], x[0]);
        assert_eq!(y[4], x[2]);
        assert_eq!(y[0], C64::default());
    }

    /// A tone delayed by d samples acquires the phase −2π f d.
    #[test]
    fn fractional_delay_of_a_tone() {
        for &d in &[0.0, 0.3, 2.5, 7.75] {
            for &f in &[0.01, 0.13, 0.3, -0.35] {
                let x: Vec<C64> = (0..400).map(|n| cis(2.0 * PI * f * n as f64)).collect();
                let y = FractionalDelay::new(d, 24).apply(&x);
                for (n, yn) in y.iter().enumerate().take(300).skip(100) {
                    let want = cis(2.0 * PI * f * (n as f64 - d));
                    assert!(
                        (yn - want).norm() < 2e-3,
                        "d={d} f={f} n={n}: {}",
                        (yn - want).norm()
                    );
                }
            }
        }
    }

    #[test]
    fn awgn_power() {
        let mut x = vec![C64::default(); 50_000];
        add_awgn(&mut x, 0.25, &mut SeedTree::new(1).rng());
        let p = x.iter().map(|v| v.norm_sqr()).sum::<f64>() / x.len() as f64;
        assert!((p - 0.25).abs() < 0.01);
    }
}

//! Slope and intercept of a channel's phase across subcarriers (thesis §4.3 "Efficient
//! estimation", eqs. 4.3–4.6 and 4.11; notes/003 §3.6).
//!
//! A timing offset and a carrier phase make the phase of h(c), c = 0..N_c−1 (consecutive
//! subcarriers), a line: ∠h(c) = φ + s·(c − c̄), c̄ = (N_c − 1)/2. Estimating s (rad per
//! subcarrier) and φ (rad, at the band centre) is the single-tone frequency/phase problem along the
//! subcarrier axis: [`tretter`] (least squares on the unwrapped phase) and [`kay`] (weighted phase
//! differences, no unwrapping) both reach the CRB ([`super::crb::slope`],
//! [`super::crb::intercept`]) at high SNR. Slopes are unambiguous in (−π, π) rad per subcarrier.
//! With the sequential unwrapping used here the two slope estimates coincide exactly (see
//! [`kay`]); the intercepts differ.

use crate::units::C64;
use std::f64::consts::PI;

/// Wraps a phase into (−π, π].
fn wrap_rad(x: f64) -> f64 {
    let w = x - 2.0 * PI * ((x + PI) / (2.0 * PI)).floor();
    if w <= -PI {
        w + 2.0 * PI
    } else {
        w
    }
}

#[track_caller]
fn check_len(h: &[C64], who: &str) {
    assert!(
        h.len() >= 2,
        "{who}: need at least 2 subcarriers, got {}",
        h.len()
    );
}

/// A line fitted to a phase across subcarriers: ∠h(c) ≈ `intercept_rad` + `slope_rad`·(c − c̄).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineFit {
    /// Slope s in rad per subcarrier, in (−π, π].
    pub slope_rad: f64,
    /// Intercept φ: the phase (rad, wrapped to (−π, π]) at the band centre c̄.
    pub intercept_rad: f64,
    /// The band centre c̄ = (N_c − 1)/2, in subcarrier index units (0-based position in the
    /// fitted vector).
    pub centre_index: f64,
}

impl LineFit {
    /// Fitted phase (rad, not wrapped) at subcarrier index `c` (0-based, may be fractional):
    /// φ + s·(c − c̄).
    pub fn phase_at(&self, c: f64) -> f64 {
        self.intercept_rad + self.slope_rad * (c - self.centre_index)
    }
}

/// Tretter's least-squares estimator (Tretter 1985 \[Tre85\]; thesis eqs. 4.3–4.4).
///
/// `h` holds N_c ≥ 2 channel values on consecutive subcarriers. Its phase is unwrapped along c
/// (each step wrapped to (−π, π]), giving θ(c), then
///
/// ŝ = 12/(N_c(N_c² − 1)) · Σ_c (c − c̄)·θ(c),  φ̂ = (1/N_c) Σ_c θ(c)  (wrapped to (−π, π]).
///
/// (Eq. 4.3's form 12/(N_c(N_c²−1)) Σ c θ − 6/(N_c(N_c+1)) Σ θ is the same slope.) At low SNR
/// or when |s| approaches π a noise-induced 2π slip in one phase step corrupts the fit (the
/// threshold effect); the slope equals [`kay`]'s exactly, so Kay's shares it.
///
/// # Panics
/// If `h.len() < 2`.
#[track_caller]
pub fn tretter(h: &[C64]) -> LineFit {
    check_len(h, "tretter");
    let n = h.len() as f64;
    let centre = (n - 1.0) / 2.0;
    let mut theta = h[0].arg();
    let mut prev = theta;
    let (mut sum_theta, mut sum_ctheta) = (0.0, 0.0);
    for (c, x) in h.iter().enumerate() {
        if c > 0 {
            let a = x.arg();
            theta += wrap_rad(a - prev);
            prev = a;
        }
        sum_theta += theta;
        sum_ctheta += (c as f64 - centre) * theta;
    }
    LineFit {
        slope_rad: 12.0 / (n * (n * n - 1.0)) * sum_ctheta,
        intercept_rad: wrap_rad(sum_theta / n),
        centre_index: centre,
    }
}

/// Kay's phase-difference weights (Kay 1989 \[Kay89\]; thesis eq. 4.6), c = 0..N_c−2:
///
/// w_c = (3/2)·N_c/(N_c² − 1) · [1 − ((c − (N_c/2 − 1))/(N_c/2))²]
///     = 6 (c + 1)(N_c − 1 − c) / (N_c (N_c² − 1)).
///
/// They sum to 1. Returns N_c − 1 weights.
///
/// # Panics
/// If `n_c < 2`.
#[track_caller]
pub fn kay_weights(n_c: usize) -> Vec<f64> {
    assert!(
        n_c >= 2,
        "kay_weights: need at least 2 subcarriers, got {n_c}"
    );
    let n = n_c as f64;
    let half = n / 2.0;
    (0..n_c - 1)
        .map(|c| {
            let u = (c as f64 - (half - 1.0)) / half;
            1.5 * n / (n * n - 1.0) * (1.0 - u * u)
        })
        .collect()
}

/// Kay's weighted phase-difference estimator (Kay 1989 \[Kay89\]; thesis eqs. 4.5–4.6), no
/// unwrapping needed:
///
/// ŝ = Σ_{c=0}^{N_c−2} w_c · ∠(conj(h(c))·h(c+1)),  φ̂ = ∠ Σ_c h(c)·e^{−j ŝ (c − c̄)}
///
/// with w_c from [`kay_weights`]. `h` holds N_c ≥ 2 values on consecutive subcarriers; the slope
/// is positive when the phase increases with c. (The conjugate placement in the thesis' eq. 4.5
/// is lost in extraction; this is the placement that matches eq. 4.3's sign.)
///
/// Note: summation by parts gives Σ_{c'>c} 12(c' − c̄)/(N_c(N_c²−1)) = w_c, so this slope is
/// *identical* (not only asymptotically) to [`tretter`]'s with its sequential unwrapping; the two
/// differ only in the intercept (complex average here, mean unwrapped phase there).
///
/// # Panics
/// If `h.len() < 2`.
#[track_caller]
pub fn kay(h: &[C64]) -> LineFit {
    check_len(h, "kay");
    let w = kay_weights(h.len());
    let slope_rad: f64 = h
        .windows(2)
        .zip(&w)
        .map(|(p, wc)| wc * (p[0].conj() * p[1]).arg())
        .sum();
    let centre = (h.len() as f64 - 1.0) / 2.0;
    let acc: C64 = h
        .iter()
        .enumerate()
        .map(|(c, x)| x * C64::from_polar(1.0, -slope_rad * (c as f64 - centre)))
        .sum();
    LineFit {
        slope_rad,
        intercept_rad: acc.arg(),
        centre_index: centre,
    }
}

/// Canonical form of a channel vector (thesis eq. 4.11): the fitted line removed,
///
/// C(h)(c) = h(c) · e^{−j·fit.phase_at(c)},  c = 0..len−1.
///
/// Output has the same length as `h`. For a channel with only a timing offset and a phase offset
/// it is constant (|h| on the real axis).
pub fn canonical_form(h: &[C64], fit: &LineFit) -> Vec<C64> {
    h.iter()
        .enumerate()
        .map(|(c, x)| x * C64::from_polar(1.0, -fit.phase_at(c as f64)))
        .collect()
}

/// Converts a phase slope (rad per subcarrier) into a delay (s), for an OFDM grid of `n_fft`
/// subcarriers at `sample_rate_hz` (subcarrier spacing Δf = f_s/N):
///
/// τ = −ŝ / (2π Δf) = −ŝ · N / (2π f_s).
///
/// Sign: a delay τ > 0 (signal arrives later), x(t − τ) ↔ X(f)·e^{−j2π f τ}, gives the slope
/// −2π τ Δf per subcarrier. The thesis' eq. 4.1 (signs partly lost in extraction) reads
/// +2π(τ_m − δ_k)n/(N T_s), i.e. its τ_m is a timing advance (−τ here). Only |ŝ| < π is
/// unambiguous, i.e. |τ| < N/(2 f_s).
///
/// # Panics
/// If `n_fft == 0` or `sample_rate_hz` is not positive and finite.
#[track_caller]
pub fn slope_to_delay_s(slope_rad: f64, n_fft: usize, sample_rate_hz: f64) -> f64 {
    assert!(n_fft > 0, "slope_to_delay_s: n_fft must be positive");
    assert!(
        sample_rate_hz > 0.0 && sample_rate_hz.is_finite(),
        "slope_to_delay_s: sample_rate_hz must be positive and finite, got {sample_rate_hz}"
    );
    -slope_rad * n_fft as f64 / (2.0 * PI * sample_rate_hz)
}

#[cfg(test)]
mod tests {
    use super::super::crb;
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha12Rng;
    use rand_distr::StandardNormal;

    /// Noiseless tolerance (rad): rounding in atan2 and sums over ≤ 64 terms, ~1e-14.
    const EXACT_TOL_RAD: f64 = 1e-10;
    /// Monte Carlo variance vs CRB: a variance estimated from n Gaussian samples has relative std
    /// √(2/n) (2.2% at n = 4000), so 10% is ≈ 4.5σ; at 30 dB the estimators' own excess over the
    /// bound is O(1/SNR) ≈ 0.1%.
    const VAR_REL_TOL: f64 = 0.10;
    const TRIALS: usize = 4000;

    fn line(n: usize, slope: f64, intercept: f64, amp: impl Fn(usize) -> f64) -> Vec<C64> {
        let centre = (n as f64 - 1.0) / 2.0;
        (0..n)
            .map(|c| C64::from_polar(amp(c), intercept + slope * (c as f64 - centre)))
            .collect()
    }

    #[test]
    fn kay_weights_sum_to_one_and_match_closed_form() {
        for n in 2..=130usize {
            let w = kay_weights(n);
            assert_eq!(w.len(), n - 1);
            let s: f64 = w.iter().sum();
            assert!((s - 1.0).abs() < 1e-12, "n = {n}: sum {s}");
            let nf = n as f64;
            for (c, wc) in w.iter().enumerate() {
                let alt = 6.0 * (c as f64 + 1.0) * (nf - 1.0 - c as f64) / (nf * (nf * nf - 1.0));
                assert!((wc - alt).abs() < 1e-14, "n = {n}, c = {c}");
                assert!((wc - w[n - 2 - c]).abs() < 1e-14, "symmetry");
            }
        }
    }

    #[test]
    fn noiseless_exact_recovery() {
        let mut rng = ChaCha12Rng::seed_from_u64(3);
        // Slopes across (−π, π), including ±π/2 (where unwrapping a noisy phase starts being
        // fragile) and up to ±0.95π; random amplitude per subcarrier.
        let mut slopes: Vec<f64> = (-19..=19).map(|i| 0.05 * PI * i as f64).collect();
        slopes.extend([PI / 2.0, -PI / 2.0, PI / 2.0 + 1e-3, -PI / 2.0 - 1e-3]);
        for n in [2usize, 3, 16, 17, 64] {
            for &s in &slopes {
                let phi = rng.random_range(-PI..PI);
                let amps: Vec<f64> = (0..n).map(|_| rng.random_range(0.2..2.0)).collect();
                let h = line(n, s, phi, |c| amps[c]);
                for (name, fit) in [("tretter", tretter(&h)), ("kay", kay(&h))] {
                    assert!(
                        (fit.slope_rad - s).abs() < EXACT_TOL_RAD,
                        "{name} n={n} s={s}: {fit:?}"
                    );
                    assert!(
                        wrap_rad(fit.intercept_rad - phi).abs() < EXACT_TOL_RAD,
                        "{name} n={n} phi={phi}: {fit:?}"
                    );
                    assert_eq!(fit.centre_index, (n as f64 - 1.0) / 2.0);
                }
            }
        }
    }

    #[test]
    fn kay_slope_equals_tretter_slope_even_at_low_snr() {
        // Both estimators use the wrapped phase steps ∠(conj(h(c)) h(c+1)); the LS weights summed
        // by parts are Kay's weights, so the slopes agree to rounding for any input.
        let mut rng = ChaCha12Rng::seed_from_u64(4);
        for n in [2usize, 5, 16, 64] {
            for _ in 0..200 {
                let h: Vec<C64> = (0..n)
                    .map(|_| C64::new(rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)))
                    .collect();
                let (t, k) = (tretter(&h), kay(&h));
                assert!(
                    (t.slope_rad - k.slope_rad).abs() < EXACT_TOL_RAD,
                    "{t:?} {k:?}"
                );
            }
        }
    }

    #[test]
    fn canonical_form_of_linear_phase_channel_is_constant() {
        let h = line(64, -0.7, 2.9, |_| 0.8);
        for fit in [tretter(&h), kay(&h)] {
            let cf = canonical_form(&h, &fit);
            assert_eq!(cf.len(), h.len());
            for x in cf {
                assert!((x - C64::new(0.8, 0.0)).norm() < EXACT_TOL_RAD, "{x}");
            }
        }
    }

    #[test]
    fn slope_to_delay_sign_and_scale() {
        // One sample of delay (50 ns at 20 MHz, N = 64) is a slope of −2π/64 per subcarrier.
        let tau = slope_to_delay_s(-2.0 * PI / 64.0, 64, 20e6);
        assert!((tau - 50e-9).abs() < 1e-20, "{tau}");
        // A physical 130 ns delay on subcarriers c·Δf: H(c) = e^{−j2π c Δf τ}.
        let (n, fs, tau) = (64usize, 20e6, 130e-9);
        let df = fs / n as f64;
        let h: Vec<C64> = (0..n)
            .map(|c| C64::from_polar(1.0, -2.0 * PI * c as f64 * df * tau))
            .collect();
        let est = slope_to_delay_s(kay(&h).slope_rad, n, fs);
        assert!((est - tau).abs() < 1e-18, "{est}");
    }

    /// (var/CRB, mean/stderr) of slope and intercept errors for one estimator.
    fn monte_carlo(n: usize, snr: f64, seed: u64, est: Estimator) -> [(f64, f64); 2] {
        let mut rng = ChaCha12Rng::seed_from_u64(seed);
        let sd = (1.0 / snr / 2.0).sqrt(); // per real component, A = 1
        let (mut es, mut ei) = (Vec::with_capacity(TRIALS), Vec::with_capacity(TRIALS));
        for _ in 0..TRIALS {
            let s = rng.random_range(-0.5..0.5);
            let phi = rng.random_range(-PI..PI);
            let mut h = line(n, s, phi, |_| 1.0);
            for x in &mut h {
                *x += C64::new(
                    sd * rng.sample::<f64, _>(StandardNormal),
                    sd * rng.sample::<f64, _>(StandardNormal),
                );
            }
            let fit = est(&h);
            es.push(fit.slope_rad - s);
            ei.push(wrap_rad(fit.intercept_rad - phi));
        }
        let stats = |x: &[f64], bound: f64| {
            let k = x.len() as f64;
            let m = x.iter().sum::<f64>() / k;
            let v = x.iter().map(|e| (e - m).powi(2)).sum::<f64>() / (k - 1.0);
            (v / bound, m / (bound / k).sqrt())
        };
        [
            stats(&es, crb::slope(n, snr)),
            stats(&ei, crb::intercept(n, snr)),
        ]
    }

    type Estimator = fn(&[C64]) -> LineFit;

    #[test]
    fn variances_meet_crb_at_30_db() {
        let snr = 1e3; // 30 dB
        let estimators: [(&str, Estimator); 2] = [("tretter", tretter), ("kay", kay)];
        for (n, seed) in [(64usize, 20u64), (16, 21)] {
            for (name, est) in estimators {
                let [(rs, zs), (ri, zi)] = monte_carlo(n, snr, seed, est);
                println!(
                    "{name} N_c={n}: slope var/CRB = {rs:.4} (bias {zs:+.2} se), \
                     intercept var/CRB = {ri:.4} (bias {zi:+.2} se)"
                );
                assert!((rs - 1.0).abs() < VAR_REL_TOL, "{name} N_c={n} slope {rs}");
                assert!(
                    (ri - 1.0).abs() < VAR_REL_TOL,
                    "{name} N_c={n} intercept {ri}"
                );
                // Unbiased: within 5 standard errors.
                assert!(
                    zs.abs() < 5.0 && zi.abs() < 5.0,
                    "{name} N_c={n} bias {zs} {zi}"
                );
            }
        }
    }

    #[test]
    #[should_panic(expected = "need at least 2 subcarriers")]
    fn tretter_rejects_single_subcarrier() {
        tretter(&[C64::new(1.0, 0.0)]);
    }

    #[test]
    #[should_panic(expected = "need at least 2 subcarriers")]
    fn kay_rejects_empty() {
        kay(&[]);
    }
}

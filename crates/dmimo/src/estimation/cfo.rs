//! Correlation CFO estimators: Schmidl–Cox and DistSync's modified large-spacing version
//! (thesis §4.3, pp. 56–57 and Fig. 4.4; notes/003 §3.4).
//!
//! A sequence transmitted twice, D samples apart (start to start), is received as
//! `r[k] = s[k]·e^{j2π f k T_s} + noise`. The correlation `P = Σ conj(r[k])·r[k+D]` has phase
//! 2π f D T_s, so f = ∠P/(2π D T_s), unambiguous only in ±1/(2 D T_s). A large D (other APs'
//! beacons interleaved between the two copies) makes the estimate precise
//! (Var ∝ 1/D², [`super::crb::cfo_repeated`]); a coarse estimate over a short spacing resolves the
//! resulting ambiguity ([`unwrap_with_coarse`], [`RepeatedBeacon`]).
//!
//! Sample times are T_s = 1/`sample_rate_hz`; frequencies are in Hz, phases in rad.

use crate::units::C64;
use std::f64::consts::PI;

#[track_caller]
fn check_rate(sample_rate_hz: f64) {
    assert!(
        sample_rate_hz > 0.0 && sample_rate_hz.is_finite(),
        "cfo: sample_rate_hz must be positive and finite, got {sample_rate_hz}"
    );
}

#[track_caller]
fn check_spacing(spacing: usize) {
    assert!(spacing >= 1, "cfo: spacing must be at least 1 sample");
}

/// Delayed autocorrelation of a repeated sequence (Schmidl–Cox, notes/003 §3.4):
///
/// P = Σ_{k=0}^{len−1} conj(r[start+k]) · r[start+k+spacing]
///
/// `r` is the received baseband buffer (one sample per T_s); the first copy occupies
/// `r[start..start+len]`, the second `r[start+spacing..start+spacing+len]`. For a CFO f,
/// ∠P = 2π f · spacing · T_s (see [`cfo_from_correlation`]).
///
/// # Panics
/// If `len == 0` ("empty correlation") or `start + spacing + len > r.len()` (spacing too large
/// for the buffer).
#[track_caller]
pub fn correlate_repeated(r: &[C64], start: usize, len: usize, spacing: usize) -> C64 {
    assert!(len > 0, "correlate_repeated: empty correlation (len == 0)");
    let end = start.saturating_add(spacing).saturating_add(len);
    assert!(
        end <= r.len(),
        "correlate_repeated: start + spacing + len = {end} exceeds the buffer length {}",
        r.len()
    );
    r[start..start + len]
        .iter()
        .zip(&r[start + spacing..start + spacing + len])
        .map(|(a, b)| a.conj() * b)
        .sum()
}

/// CFO (Hz) from a delayed correlation `p` over `spacing` = D samples:
///
/// f̂ = ∠P / (2π D T_s)
///
/// (Schmidl–Cox \[SC97\]; notes/003 §3.4). The result lies in (−1/(2 D T_s), 1/(2 D T_s)]; a true
/// CFO outside that range aliases by a multiple of [`ambiguity_hz`]. `p == 0` gives 0.
///
/// # Panics
/// If `spacing == 0` or `sample_rate_hz` is not positive and finite.
#[track_caller]
pub fn cfo_from_correlation(p: C64, spacing: usize, sample_rate_hz: f64) -> f64 {
    check_spacing(spacing);
    check_rate(sample_rate_hz);
    p.arg() * sample_rate_hz / (2.0 * PI * spacing as f64)
}

/// Ambiguity (Hz) of a correlation estimate over `spacing` = D samples: 1/(D T_s), the width of
/// its unambiguous interval ±1/(2 D T_s) (notes/003 §3.4).
///
/// # Panics
/// If `spacing == 0` or `sample_rate_hz` is not positive and finite.
#[track_caller]
pub fn ambiguity_hz(spacing: usize, sample_rate_hz: f64) -> f64 {
    check_spacing(spacing);
    check_rate(sample_rate_hz);
    sample_rate_hz / spacing as f64
}

/// Resolves the ambiguity of a fine CFO estimate (Hz) with a coarse one (Hz):
///
/// f̂ = f̂_fine + m/(D T_s),  m = round((f̂_coarse − f̂_fine)·D T_s)
///
/// i.e. the alias of `fine_hz` nearest `coarse_hz` (notes/003 §3.4). Correct whenever the coarse
/// error is below half the fine ambiguity, 1/(2 D T_s).
///
/// # Panics
/// If `spacing == 0` or `sample_rate_hz` is not positive and finite.
#[track_caller]
pub fn unwrap_with_coarse(
    fine_hz: f64,
    coarse_hz: f64,
    spacing: usize,
    sample_rate_hz: f64,
) -> f64 {
    let amb = ambiguity_hz(spacing, sample_rate_hz);
    let m = ((coarse_hz - fine_hz) / amb).round();
    fine_hz + m * amb
}

/// Result of [`RepeatedBeacon::estimate`]; all in Hz.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CfoEstimate {
    /// Coarse estimate from the half-sequence repetition (spacing `half_len`), unambiguous in
    /// ±1/(2·half_len·T_s).
    pub coarse_hz: f64,
    /// Fine estimate across the beacon spacing D before unwrapping, in ±1/(2 D T_s).
    pub fine_raw_hz: f64,
    /// Fine estimate unwrapped with the coarse one ([`unwrap_with_coarse`]).
    pub cfo_hz: f64,
}

/// DistSync's modified Schmidl–Cox beacon (thesis §4.3, Fig. 4.4; notes/003 §3.4).
///
/// A sequence of 2·`half_len` samples made of two identical halves is transmitted twice with
/// start-to-start distance `spacing` = D ≥ 2·`half_len` (typically D ≫ 2·`half_len`; other APs'
/// beacons may sit in between). The beacon therefore occupies `spacing + 2·half_len` samples:
///
/// ```text
/// | A A | … other beacons … | A A |
/// ^start                  ^start+D
/// ```
///
/// * Coarse: the half-correlations (spacing `half_len`, `half_len` terms) of both copies are
///   summed, P_c = P(start) + P(start + D), and f̂_c = ∠P_c/(2π·half_len·T_s).
/// * Fine: the whole 2·`half_len` sequence is correlated across D, f̂_f = ∠P_f/(2π D T_s).
/// * Result: f̂_f unwrapped to the alias nearest f̂_c.
///
/// Variances at high SNR ([`super::crb::cfo_repeated`]): coarse `cfo_repeated(2·half_len,
/// half_len, …)`, fine `cfo_repeated(2·half_len, spacing, …)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RepeatedBeacon {
    /// Length of one half of the sequence (samples); the sequence has 2·`half_len` samples.
    pub half_len: usize,
    /// Start-to-start distance D of the two copies (samples), at least 2·`half_len`.
    pub spacing: usize,
}

impl RepeatedBeacon {
    /// A beacon description.
    ///
    /// # Panics
    /// If `half_len == 0` or `spacing < 2·half_len` (the copies would overlap).
    #[track_caller]
    pub fn new(half_len: usize, spacing: usize) -> Self {
        let b = RepeatedBeacon { half_len, spacing };
        b.check();
        b
    }

    #[track_caller]
    fn check(&self) {
        assert!(
            self.half_len > 0,
            "RepeatedBeacon: half_len must be at least 1"
        );
        assert!(
            self.spacing >= 2 * self.half_len,
            "RepeatedBeacon: spacing {} is shorter than the sequence length 2·half_len = {}",
            self.spacing,
            2 * self.half_len
        );
    }

    /// Length of one copy of the sequence, 2·`half_len` samples.
    pub fn seq_len(&self) -> usize {
        2 * self.half_len
    }

    /// Samples spanned by the beacon from the start of the first copy to the end of the second:
    /// `spacing + 2·half_len`.
    pub fn span(&self) -> usize {
        self.spacing + self.seq_len()
    }

    /// Estimates the CFO (Hz) from the beacon whose first copy starts at `r[start]`.
    ///
    /// The coarse estimate is unambiguous in ±1/(2·half_len·T_s) (the overall capture range);
    /// the fine one has ambiguity 1/(D T_s) and is unwrapped with the coarse one.
    ///
    /// # Panics
    /// If the beacon is invalid (see [`RepeatedBeacon::new`]), `start + span() > r.len()`, or
    /// `sample_rate_hz` is not positive and finite.
    #[track_caller]
    pub fn estimate(&self, r: &[C64], start: usize, sample_rate_hz: f64) -> CfoEstimate {
        self.check();
        check_rate(sample_rate_hz);
        let end = start.saturating_add(self.span());
        assert!(
            end <= r.len(),
            "RepeatedBeacon::estimate: beacon end {end} exceeds the buffer length {}",
            r.len()
        );
        let h = self.half_len;
        let p_coarse =
            correlate_repeated(r, start, h, h) + correlate_repeated(r, start + self.spacing, h, h);
        let coarse_hz = cfo_from_correlation(p_coarse, h, sample_rate_hz);
        let p_fine = correlate_repeated(r, start, self.seq_len(), self.spacing);
        let fine_raw_hz = cfo_from_correlation(p_fine, self.spacing, sample_rate_hz);
        let cfo_hz = unwrap_with_coarse(fine_raw_hz, coarse_hz, self.spacing, sample_rate_hz);
        CfoEstimate {
            coarse_hz,
            fine_raw_hz,
            cfo_hz,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::crb;
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha12Rng;
    use rand_distr::StandardNormal;

    /// Noiseless recovery tolerance (Hz): only rounding in ∠P·f_s/(2πD), ~1e-15 rad · f_s/(2πD)
    /// ≈ 1e-11 Hz here; 1e-6 Hz leaves ample margin while still being "exact".
    const EXACT_TOL_HZ: f64 = 1e-6;
    /// Monte Carlo variance vs CRB: the relative std of a variance estimated from n Gaussian
    /// samples is √(2/n) (2.2% at n = 4000), so 10% is ≈ 4.5σ; the estimator's own excess over
    /// the bound at 30 dB is 1/(2·SNR) = 0.05%.
    const VAR_REL_TOL: f64 = 0.10;
    const TRIALS: usize = 4000;
    const FS_HZ: f64 = 20e6;

    fn cn(rng: &mut ChaCha12Rng, var: f64) -> C64 {
        let s = (var / 2.0).sqrt();
        C64::new(
            s * rng.sample::<f64, _>(StandardNormal),
            s * rng.sample::<f64, _>(StandardNormal),
        )
    }

    fn unit(rng: &mut ChaCha12Rng) -> C64 {
        C64::from_polar(1.0, rng.random_range(-PI..PI))
    }

    /// Received buffer with `beacon` (unit-modulus random halves) starting at `start`, other
    /// APs' unit-modulus samples in between and around it, CFO `cfo_hz` applied to our beacon
    /// at its absolute sample times, a random carrier phase, and CN(0, noise_var) noise.
    fn beacon_samples(
        rng: &mut ChaCha12Rng,
        beacon: &RepeatedBeacon,
        start: usize,
        cfo_hz: f64,
        noise_var: f64,
    ) -> Vec<C64> {
        let n = start + beacon.span() + 37;
        let mut r: Vec<C64> = (0..n).map(|_| unit(rng)).collect();
        let half: Vec<C64> = (0..beacon.half_len).map(|_| unit(rng)).collect();
        let phase0 = rng.random_range(-PI..PI);
        for copy in [start, start + beacon.spacing] {
            for k in 0..beacon.seq_len() {
                let idx = copy + k;
                let rot = C64::from_polar(1.0, phase0 + 2.0 * PI * cfo_hz * idx as f64 / FS_HZ);
                r[idx] = half[k % beacon.half_len] * rot;
            }
        }
        if noise_var > 0.0 {
            for x in &mut r {
                *x += cn(rng, noise_var);
            }
        }
        r
    }

    #[test]
    fn correlation_exact_inside_range_and_aliased_outside() {
        let mut rng = ChaCha12Rng::seed_from_u64(1);
        let (len, d) = (64, 1000);
        let amb = ambiguity_hz(d, FS_HZ);
        assert!((amb - 20e3).abs() < EXACT_TOL_HZ);
        let seq: Vec<C64> = (0..len).map(|_| unit(&mut rng)).collect();
        let received = |f: f64| -> Vec<C64> {
            let mut r = vec![C64::new(0.0, 0.0); d + len];
            for (k, s) in seq.iter().enumerate() {
                for idx in [k, k + d] {
                    r[idx] = s * C64::from_polar(1.0, 0.3 + 2.0 * PI * f * idx as f64 / FS_HZ);
                }
            }
            r
        };
        for i in -20..=20 {
            let f = 0.49 * amb * i as f64 / 20.0; // up to ±0.98 of the half-range ±amb/2
            let p = correlate_repeated(&received(f), 0, len, d);
            let est = cfo_from_correlation(p, d, FS_HZ);
            assert!((est - f).abs() < EXACT_TOL_HZ, "f = {f}: {est}");
            // Beyond the range the estimate aliases by whole multiples of 1/(D T_s).
            for m in [-2.0, -1.0, 1.0, 3.0] {
                let p = correlate_repeated(&received(f + m * amb), 0, len, d);
                let est = cfo_from_correlation(p, d, FS_HZ);
                assert!((est - f).abs() < EXACT_TOL_HZ, "f = {f} + {m}·amb: {est}");
            }
        }
    }

    #[test]
    fn unwrap_picks_alias_nearest_coarse() {
        // D = 1000 at 20 MHz: ambiguity 20 kHz.
        let u = |fine, coarse| unwrap_with_coarse(fine, coarse, 1000, FS_HZ);
        assert!((u(1000.0, 41_500.0) - 41_000.0).abs() < EXACT_TOL_HZ);
        assert!((u(1000.0, -18_000.0) + 19_000.0).abs() < EXACT_TOL_HZ);
        assert!((u(-9_000.0, 5_000.0) - 11_000.0).abs() < EXACT_TOL_HZ);
        assert!((u(500.0, 600.0) - 500.0).abs() < EXACT_TOL_HZ);
    }

    #[test]
    fn beacon_noiseless_unwraps_far_outside_fine_range() {
        let mut rng = ChaCha12Rng::seed_from_u64(2);
        let beacon = RepeatedBeacon::new(80, 5120);
        let coarse_half = ambiguity_hz(80, FS_HZ) / 2.0; // 125 kHz
        let fine_half = ambiguity_hz(5120, FS_HZ) / 2.0; // 1953.125 Hz
        let mut outside = 0;
        for i in -40..=40 {
            let f = 0.95 * coarse_half * i as f64 / 40.0;
            let r = beacon_samples(&mut rng, &beacon, 11, f, 0.0);
            let e = beacon.estimate(&r, 11, FS_HZ);
            assert!((e.coarse_hz - f).abs() < EXACT_TOL_HZ, "coarse {f}: {e:?}");
            assert!((e.cfo_hz - f).abs() < EXACT_TOL_HZ, "unwrapped {f}: {e:?}");
            assert!(e.fine_raw_hz.abs() <= fine_half + EXACT_TOL_HZ);
            if f.abs() > fine_half {
                outside += 1;
                assert!((e.fine_raw_hz - f).abs() > fine_half, "{e:?}");
            }
        }
        assert!(outside > 70);
        // Beyond the coarse range the whole estimator aliases by 1/(half_len T_s).
        let f = 1.2 * coarse_half;
        let r = beacon_samples(&mut rng, &beacon, 0, f, 0.0);
        let e = beacon.estimate(&r, 0, FS_HZ);
        assert!(
            (e.cfo_hz - (f - 2.0 * coarse_half)).abs() < EXACT_TOL_HZ,
            "{e:?}"
        );
    }

    struct McStats {
        var_coarse_hz2: f64,
        var_fine_hz2: f64,
        mean_coarse_hz: f64,
        mean_fine_hz: f64,
    }

    /// Monte Carlo errors of the coarse and unwrapped fine estimates at `snr` (A = 1), with a
    /// random CFO in ±20 kHz per trial (far outside the fine range for D ≥ 1000).
    fn monte_carlo(beacon: &RepeatedBeacon, snr: f64, seed: u64) -> McStats {
        let mut rng = ChaCha12Rng::seed_from_u64(seed);
        let fine_half = ambiguity_hz(beacon.spacing, FS_HZ) / 2.0;
        let (mut ec, mut ef) = (Vec::new(), Vec::new());
        for _ in 0..TRIALS {
            let f = rng.random_range(-20e3..20e3);
            let start = rng.random_range(0..50);
            let r = beacon_samples(&mut rng, beacon, start, f, 1.0 / snr);
            let e = beacon.estimate(&r, start, FS_HZ);
            assert!(
                (e.cfo_hz - f).abs() < fine_half,
                "unwrapping failed: f = {f}, {e:?}"
            );
            ec.push(e.coarse_hz - f);
            ef.push(e.cfo_hz - f);
        }
        let mv = |x: &[f64]| {
            let n = x.len() as f64;
            let m = x.iter().sum::<f64>() / n;
            (
                m,
                x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0),
            )
        };
        let (mean_coarse_hz, var_coarse_hz2) = mv(&ec);
        let (mean_fine_hz, var_fine_hz2) = mv(&ef);
        McStats {
            var_coarse_hz2,
            var_fine_hz2,
            mean_coarse_hz,
            mean_fine_hz,
        }
    }

    #[test]
    fn variances_meet_crb_at_30_db_and_fine_falls_as_inverse_d_squared() {
        let snr = 1e3; // 30 dB
        let half_len = 80; // a 160-sample sequence: two 802.11-like OFDM symbols with CP
        let mut fine_vars = Vec::new();
        for (d, seed) in [(1280usize, 10u64), (5120, 11)] {
            let beacon = RepeatedBeacon::new(half_len, d);
            let s = monte_carlo(&beacon, snr, seed);
            let crb_coarse = crb::cfo_repeated(2 * half_len, half_len, snr, FS_HZ);
            let crb_fine = crb::cfo_repeated(2 * half_len, d, snr, FS_HZ);
            let (rc, rf) = (s.var_coarse_hz2 / crb_coarse, s.var_fine_hz2 / crb_fine);
            println!("D = {d}: coarse var/CRB = {rc:.4}, fine var/CRB = {rf:.4}");
            assert!((rc - 1.0).abs() < VAR_REL_TOL, "coarse ratio {rc}");
            assert!((rf - 1.0).abs() < VAR_REL_TOL, "fine ratio {rf}");
            // Unbiased: |mean| within 5 standard errors.
            let n = TRIALS as f64;
            assert!(s.mean_coarse_hz.abs() < 5.0 * (crb_coarse / n).sqrt());
            assert!(s.mean_fine_hz.abs() < 5.0 * (crb_fine / n).sqrt());
            fine_vars.push(s.var_fine_hz2);
        }
        // Spacing ×4 → variance ÷16. The ratio of two independent variance estimates has relative
        // std ≈ √(2·2/n) = 3.2%, so 10% is ≈ 3σ.
        let ratio = fine_vars[0] / fine_vars[1];
        println!("fine variance ratio D=1280 / D=5120 = {ratio:.3} (expected 16)");
        assert!((ratio / 16.0 - 1.0).abs() < VAR_REL_TOL, "ratio {ratio}");
    }

    #[test]
    #[should_panic(expected = "exceeds the buffer length")]
    fn spacing_too_large_panics() {
        let r = vec![C64::new(1.0, 0.0); 100];
        correlate_repeated(&r, 0, 10, 91);
    }

    #[test]
    #[should_panic(expected = "empty correlation")]
    fn empty_correlation_panics() {
        correlate_repeated(&[], 0, 0, 1);
    }

    #[test]
    #[should_panic(expected = "beacon end")]
    fn beacon_too_long_for_buffer_panics() {
        let r = vec![C64::new(1.0, 0.0); 100];
        RepeatedBeacon::new(8, 90).estimate(&r, 0, FS_HZ);
    }

    #[test]
    #[should_panic(expected = "shorter than the sequence length")]
    fn overlapping_copies_panic() {
        RepeatedBeacon::new(8, 15);
    }
}

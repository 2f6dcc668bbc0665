//! Cramér–Rao bounds for the estimators in [`super::cfo`] and [`super::phase_slope`]
//! (thesis §4.3 eqs. 4.7–4.8; notes/003 §3.4 and §3.6).
//!
//! SNR is linear, |A|²/σ² with noise CN(0, σ²) per sample/subcarrier; the angle noise of one
//! sample at high SNR has variance 1/(2·SNR). All bounds are variances (rad² or Hz²).

use std::f64::consts::PI;

#[track_caller]
fn check_snr(snr: f64) {
    assert!(
        snr > 0.0 && snr.is_finite(),
        "crb: snr must be positive and finite, got {snr}"
    );
}

#[track_caller]
fn check_rate(sample_rate_hz: f64) {
    assert!(
        sample_rate_hz > 0.0 && sample_rate_hz.is_finite(),
        "crb: sample_rate_hz must be positive and finite, got {sample_rate_hz}"
    );
}

/// Bound on the variance of the phase slope across `n_c` equally spaced subcarriers, in
/// (rad per subcarrier)²:
///
/// Var(ŝ) ≥ 12 / (N_c (N_c² − 1)) · 1/(2·SNR)
///
/// (thesis eq. 4.7 as reconstructed in notes/003 §3.6; Rife–Boorstyn). With the phase
/// parameterized at the band centre the Fisher matrix is diagonal, so this is the exact CRB
/// (unknown slope, intercept and amplitude), not only a high-SNR approximation.
///
/// # Panics
/// If `n_c < 2` (the slope is not identifiable) or `snr` is not positive and finite.
#[track_caller]
pub fn slope(n_c: usize, snr: f64) -> f64 {
    assert!(
        n_c >= 2,
        "crb::slope: need at least 2 subcarriers, got {n_c}"
    );
    check_snr(snr);
    let n = n_c as f64;
    12.0 / (n * (n * n - 1.0)) / (2.0 * snr)
}

/// Bound on the variance of the phase intercept at the band centre c̄ = (N_c − 1)/2, in rad²:
///
/// Var(φ̂) ≥ 1/(N_c · 2·SNR)
///
/// (thesis eq. 4.8 as reconstructed in notes/003 §3.6).
///
/// # Panics
/// If `n_c == 0` or `snr` is not positive and finite.
#[track_caller]
pub fn intercept(n_c: usize, snr: f64) -> f64 {
    assert!(n_c >= 1, "crb::intercept: need at least 1 subcarrier");
    check_snr(snr);
    1.0 / (n_c as f64 * 2.0 * snr)
}

/// High-SNR bound on the variance (Hz²) of a frequency offset estimated from two copies of an
/// unknown sequence of `len` samples whose starts are `spacing` = D samples apart
/// (Schmidl–Cox and its large-spacing modification, notes/003 §3.4):
///
/// Var(f̂) ≥ 1 / ((2π D T_s)² · len · SNR),  T_s = 1/`sample_rate_hz`.
///
/// Derivation: the sequence is unknown, so only the phase rotation between the copies,
/// Δθ = 2π f D T_s, carries information about f. The phase of one copy (len samples of
/// amplitude A) is known to variance 1/(2·len·SNR); the two copies have independent noise, so the
/// difference has variance 1/(len·SNR); dividing by (2π D T_s)² converts rad² to Hz². The
/// correlation estimator [`super::cfo::cfo_from_correlation`] attains it up to a relative excess
/// 1/(2·SNR) from the noise×noise term.
///
/// The same formula with `len` = 2·half_len and `spacing` = half_len bounds the coarse estimator
/// of [`super::cfo::RepeatedBeacon`], which correlates the two halves of each of the two copies.
///
/// # Panics
/// If `len` or `spacing` is 0, or `snr`/`sample_rate_hz` are not positive and finite.
#[track_caller]
pub fn cfo_repeated(len: usize, spacing: usize, snr: f64, sample_rate_hz: f64) -> f64 {
    assert!(len >= 1, "crb::cfo_repeated: len must be at least 1");
    assert!(
        spacing >= 1,
        "crb::cfo_repeated: spacing must be at least 1"
    );
    check_snr(snr);
    check_rate(sample_rate_hz);
    let span_s = spacing as f64 / sample_rate_hz;
    let w = 2.0 * PI * span_s;
    1.0 / (w * w * len as f64 * snr)
}

/// Bound on the variance (Hz²) of the frequency of a single complex tone A·e^{j(2π f k T_s + φ)}
/// observed in `n` consecutive samples (amplitude and phase unknown):
///
/// Var(f̂) ≥ 6 f_s² / ((2π)² · SNR · n (n² − 1))
///
/// This is [`slope`]`(n, snr)` (rad/sample)² converted to Hz² by (f_s/2π)² (Rife–Boorstyn 1974
/// \[RB74\]; Kay 1989 \[Kay89\]). Note: the often-quoted "12 f_s²/((2π)² SNR n(n²−1))" is the same
/// bound with SNR defined as A²/(2σ²) (a real sinusoid, or σ² per real component); with this
/// crate's SNR = |A|²/σ² the constant is 6.
///
/// # Panics
/// If `n < 2` or `snr`/`sample_rate_hz` are not positive and finite.
#[track_caller]
pub fn tone_frequency(n: usize, snr: f64, sample_rate_hz: f64) -> f64 {
    assert!(
        n >= 2,
        "crb::tone_frequency: need at least 2 samples, got {n}"
    );
    check_rate(sample_rate_hz);
    let hz_per_rad = sample_rate_hz / (2.0 * PI);
    slope(n, snr) * hz_per_rad * hz_per_rad
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative tolerance for closed-form values: pure floating-point rounding.
    const REL_TOL: f64 = 1e-12;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= REL_TOL * b.abs()
    }

    #[test]
    fn slope_hand_values() {
        // N_c = 2, SNR = 1: 12/(2·3)/2 = 1.
        assert!(close(slope(2, 1.0), 1.0));
        // N_c = 64, SNR = 1000: 12/(64·4095)/2000 = 2.2893772893772894e-8.
        assert!(close(slope(64, 1000.0), 12.0 / (64.0 * 4095.0) / 2000.0));
        assert!(close(slope(64, 1000.0), 2.289_377_289_377_289_3e-8));
        // N_c = 16, SNR = 100: 12/(16·255)/200 = 1.4705882352941176e-5.
        assert!(close(slope(16, 100.0), 1.470_588_235_294_117_7e-5));
    }

    #[test]
    fn intercept_hand_values() {
        assert!(close(intercept(1, 0.5), 1.0));
        // N_c = 64, SNR = 1000: 1/128000.
        assert!(close(intercept(64, 1000.0), 7.8125e-6));
    }

    #[test]
    fn cfo_repeated_hand_values() {
        // D T_s = 1/(2π) s → (2π D T_s)² = 1; len·SNR = 10·10 → 0.01 Hz².
        let fs = 2.0 * PI;
        assert!(close(cfo_repeated(10, 1, 10.0, fs), 0.01));
        // 20 MHz, D = 1280 (64 µs), len = 160, SNR = 1000:
        // 1/((2π·64e-6)²·160·1000) = 38.65096... Hz².
        let v = cfo_repeated(160, 1280, 1000.0, 20e6);
        let w = 2.0 * PI * 64e-6;
        assert!(close(v, 1.0 / (w * w * 160.0 * 1000.0)));
        assert!((v - 38.650_964).abs() < 1e-5, "{v}");
        // ∝ 1/D².
        assert!(close(cfo_repeated(160, 2560, 1000.0, 20e6), v / 4.0));
    }

    #[test]
    fn tone_frequency_hand_values() {
        // f_s = 2π → (f_s/2π)² = 1, so it equals the slope bound: n = 2, SNR = 1 → 1 Hz².
        assert!(close(tone_frequency(2, 1.0, 2.0 * PI), 1.0));
        // n = 100, SNR = 100, f_s = 1 MHz: 6e12/((2π)²·100·100·9999) = 1519.97... Hz².
        let v = tone_frequency(100, 100.0, 1e6);
        let expect = 6.0 * 1e12 / ((2.0 * PI).powi(2) * 100.0 * 100.0 * 9999.0);
        assert!(close(v, expect));
        assert!((v - 1_519.969_75).abs() < 1e-5, "{v}");
    }

    #[test]
    #[should_panic(expected = "at least 2 subcarriers")]
    fn slope_needs_two_subcarriers() {
        slope(1, 10.0);
    }

    #[test]
    #[should_panic(expected = "snr must be positive")]
    fn rejects_zero_snr() {
        intercept(8, 0.0);
    }
}

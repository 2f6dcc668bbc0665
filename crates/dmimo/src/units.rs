//! Physical constants, the complex sample type, and conversions used at the edges (dB, dBm, ppm,
//! degrees). Everything inside dmimo is SI: Hz, s, m, W, rad.

use std::f64::consts::PI;

/// The complex number type used throughout (`num_complex::Complex<f64>`, the same type as `faer::c64`).
pub type C64 = num_complex::Complex<f64>;

/// Speed of light in vacuum (m/s).
pub const SPEED_OF_LIGHT_M_PER_S: f64 = 299_792_458.0;
/// Boltzmann constant (J/K).
pub const BOLTZMANN_J_PER_K: f64 = 1.380_649e-23;
/// Reference temperature for thermal noise (K).
pub const T0_K: f64 = 290.0;

/// Power ratio in dB → linear.
pub fn db_to_lin(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

/// Linear power ratio → dB (−∞ for 0).
pub fn lin_to_db(lin: f64) -> f64 {
    10.0 * lin.log10()
}

/// dBm → W.
pub fn dbm_to_w(dbm: f64) -> f64 {
    db_to_lin(dbm - 30.0)
}

/// W → dBm.
pub fn w_to_dbm(w: f64) -> f64 {
    lin_to_db(w) + 30.0
}

/// A frequency error in parts per million of a carrier, in Hz: `ppm · 1e-6 · carrier_hz`.
pub fn ppm_to_hz(ppm: f64, carrier_hz: f64) -> f64 {
    ppm * 1e-6 * carrier_hz
}

/// Degrees → radians.
pub fn deg_to_rad(deg: f64) -> f64 {
    deg * PI / 180.0
}

/// Radians → degrees.
pub fn rad_to_deg(rad: f64) -> f64 {
    rad * 180.0 / PI
}

/// Wraps a phase into (−π, π].
pub fn wrap_phase(rad: f64) -> f64 {
    let w = rad - 2.0 * PI * ((rad + PI) / (2.0 * PI)).floor();
    if w <= -PI {
        w + 2.0 * PI
    } else {
        w
    }
}

/// Thermal noise power k·T0·B·F in W for a bandwidth (Hz) and noise figure (dB).
pub fn thermal_noise_w(bandwidth_hz: f64, noise_figure_db: f64) -> f64 {
    BOLTZMANN_J_PER_K * T0_K * bandwidth_hz * db_to_lin(noise_figure_db)
}

/// Shannon rate log2(1 + sinr) in bit/s/Hz for a linear SINR.
pub fn shannon_bps_per_hz(sinr: f64) -> f64 {
    (1.0 + sinr).log2()
}

/// e^{jθ}.
pub fn cis(theta_rad: f64) -> C64 {
    C64::from_polar(1.0, theta_rad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_trip() {
        assert!((lin_to_db(db_to_lin(-38.2)) + 38.2).abs() < 1e-12);
        assert!((w_to_dbm(1.0) - 30.0).abs() < 1e-12);
        assert!((dbm_to_w(-30.0) - 1e-6).abs() < 1e-18);
        assert!((ppm_to_hz(1.5, 2.4e9) - 3600.0).abs() < 1e-9);
        assert!((rad_to_deg(deg_to_rad(2.37)) - 2.37).abs() < 1e-12);
    }

    #[test]
    fn thermal_noise_of_20_mhz_with_9_db_nf() {
        // notes/002 A9: σ² = −91.99 dBm for 20 MHz and a 9 dB noise figure, computed there with
        // the rounded −174 dBm/Hz; k·290 K is −173.975 dBm/Hz, hence −91.965 dBm here.
        let dbm = w_to_dbm(thermal_noise_w(20e6, 9.0));
        assert!((dbm + 91.965).abs() < 0.001, "{dbm}");
    }

    #[test]
    fn wrap_phase_range() {
        for k in -50..50 {
            let x = k as f64 * 0.37;
            let w = wrap_phase(x);
            assert!(w > -PI && w <= PI);
            assert!(
                ((x - w) / (2.0 * PI)).fract().abs() < 1e-9
                    || ((x - w) / (2.0 * PI)).fract().abs() > 1.0 - 1e-9
            );
        }
        assert_eq!(wrap_phase(PI), PI);
        assert_eq!(wrap_phase(-PI), PI);
    }
}

//! Path-loss models. `loss_db(d)` is the positive loss in dB at distance d (m); `gain(d)` the linear
//! power gain 10^(−loss/10).

use crate::units::{db_to_lin, SPEED_OF_LIGHT_M_PER_S};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A path-loss model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PathLoss {
    /// Friis free space: 20·log10(4π d f_c / c).
    FreeSpace { carrier_hz: f64 },
    /// d^−α power law: `ref_loss_db + 10 α log10(d / ref_distance_m)`.
    PowerLaw {
        exponent: f64,
        ref_distance_m: f64,
        ref_loss_db: f64,
    },
    /// The three-slope model of Ngo et al. (2017, eq. 52) with the Hata–COST231 constant, used by the
    /// cooperative-ISAC paper (notes/002, eq. 60): with d in km,
    /// loss = L + 35 log10 d (d > d1); L + 15 log10 d1 + 20 log10 d (d0 < d ≤ d1);
    /// L + 15 log10 d1 + 20 log10 d0 (d ≤ d0). Defaults L = 140.7 dB, d0 = 10 m, d1 = 50 m.
    ThreeSlope { l_db: f64, d0_m: f64, d1_m: f64 },
    /// WINNER-II B3 indoor hotspot (used by ACME, notes/004 §1.4):
    /// loss = A log10 d + B + C log10(f_c/5 GHz) + X. The LOS set is A = 13.9, B = 64.4, C = 20,
    /// X = 0 (no shadowing).
    WinnerB3 {
        a: f64,
        b: f64,
        c: f64,
        x_db: f64,
        carrier_hz: f64,
    },
}

impl PathLoss {
    /// The three-slope model with the cooperative-ISAC paper's constants (L = 140.7 dB, 10 m, 50 m).
    pub fn three_slope_isac() -> Self {
        PathLoss::ThreeSlope {
            l_db: 140.7,
            d0_m: 10.0,
            d1_m: 50.0,
        }
    }

    /// WINNER-II B3 LOS at a carrier (ACME uses 2.4 GHz).
    pub fn winner_b3_los(carrier_hz: f64) -> Self {
        PathLoss::WinnerB3 {
            a: 13.9,
            b: 64.4,
            c: 20.0,
            x_db: 0.0,
            carrier_hz,
        }
    }

    /// Loss in dB (positive) at distance `d_m` > 0.
    pub fn loss_db(&self, d_m: f64) -> f64 {
        match *self {
            PathLoss::FreeSpace { carrier_hz } => {
                20.0 * (4.0 * PI * d_m * carrier_hz / SPEED_OF_LIGHT_M_PER_S).log10()
            }
            PathLoss::PowerLaw {
                exponent,
                ref_distance_m,
                ref_loss_db,
            } => ref_loss_db + 10.0 * exponent * (d_m / ref_distance_m).log10(),
            PathLoss::ThreeSlope { l_db, d0_m, d1_m } => {
                let (d, d0, d1) = (d_m / 1e3, d0_m / 1e3, d1_m / 1e3);
                if d > d1 {
                    l_db + 35.0 * d.log10()
                } else if d > d0 {
                    l_db + 15.0 * d1.log10() + 20.0 * d.log10()
                } else {
                    l_db + 15.0 * d1.log10() + 20.0 * d0.log10()
                }
            }
            PathLoss::WinnerB3 {
                a,
                b,
                c,
                x_db,
                carrier_hz,
            } => a * d_m.log10() + b + c * (carrier_hz / 5e9).log10() + x_db,
        }
    }

    /// Linear power gain at distance `d_m`.
    pub fn gain(&self, d_m: f64) -> f64 {
        db_to_lin(-self.loss_db(d_m))
    }
}

/// The Hata–COST231 constant used by Ngo et al.: 46.3 + 33.9 log10 f − 13.82 log10 h_AP −
/// (1.1 log10 f − 0.7) h_UE + (1.56 log10 f − 0.8), f in MHz, heights in m.
pub fn hata_cost231_constant_db(carrier_mhz: f64, h_ap_m: f64, h_ue_m: f64) -> f64 {
    let lf = carrier_mhz.log10();
    46.3 + 33.9 * lf - 13.82 * h_ap_m.log10() - (1.1 * lf - 0.7) * h_ue_m + (1.56 * lf - 0.8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_slope_matches_the_isac_table() {
        // notes/002 A8: PL in dB (negative gains) at these distances
        let pl = PathLoss::three_slope_isac();
        for (d, want) in [
            (5.0, -81.18),
            (10.0, -81.18),
            (20.0, -87.21),
            (50.0, -95.16),
            (100.0, -105.70),
            (200.0, -116.24),
            (300.0, -122.40),
            (500.0, -130.16),
            (1000.0, -140.70),
        ] {
            assert!(
                (-pl.loss_db(d) - want).abs() < 0.01,
                "d = {d}: {} vs {want}",
                -pl.loss_db(d)
            );
        }
        assert!((hata_cost231_constant_db(1900.0, 15.0, 1.65) - 140.715).abs() < 1e-3);
    }

    #[test]
    fn winner_b3_and_free_space() {
        let b3 = PathLoss::winner_b3_los(2.4e9);
        // C-term at 2.4 GHz is −6.38 dB (notes/004 §1.4): at 10 m, 13.9 + 64.4 − 6.375
        assert!((b3.loss_db(10.0) - (13.9 + 64.4 + 20.0 * (0.48f64).log10())).abs() < 1e-9);
        assert!((20.0 * (0.48f64).log10() + 6.38).abs() < 0.01);
        let fs = PathLoss::FreeSpace { carrier_hz: 2.4e9 };
        assert!((fs.loss_db(1.0) - 40.05).abs() < 0.01);
        assert!((fs.loss_db(100.0) - fs.loss_db(10.0) - 20.0).abs() < 1e-9);
        let pw = PathLoss::PowerLaw {
            exponent: 3.5,
            ref_distance_m: 1.0,
            ref_loss_db: 30.0,
        };
        assert!((pw.loss_db(10.0) - 65.0).abs() < 1e-9);
        assert!((pw.gain(10.0) - 10f64.powf(-6.5)).abs() < 1e-15);
    }
}

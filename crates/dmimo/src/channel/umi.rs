//! 3GPP TR 38.901 (v14 and later) urban-micro street-canyon path loss (Table 7.4.1-1) and LOS probability
//! (Table 7.4.2-1): the small-cell propagation model of notes/000 §4.1.
//!
//! With f_c in GHz in the formulas, distances in m, d_3D = √(d_2D² + (h_BS − h_UT)²):
//!
//! - breakpoint d′_BP = 4 h′_BS h′_UT f_c / c, effective heights h′ = h − 1 m (h_E = 1 m in UMi),
//!   f_c in Hz and c = 3.0·10⁸ m/s as in the notes to Table 7.4.1-1;
//! - LOS: PL₁ = 32.4 + 21 log₁₀ d_3D + 20 log₁₀ f_c for 10 m ≤ d_2D ≤ d′_BP;
//!   PL₂ = 32.4 + 40 log₁₀ d_3D + 20 log₁₀ f_c − 9.5 log₁₀(d′_BP² + (h_BS − h_UT)²) for
//!   d′_BP ≤ d_2D ≤ 5 km (PL₁ = PL₂ exactly at d_2D = d′_BP); shadow-fading σ = 4 dB;
//! - NLOS: max(PL_LOS, PL′_NLOS), PL′_NLOS = 35.3 log₁₀ d_3D + 22.4 + 21.3 log₁₀ f_c
//!   − 0.3 (h_UT − 1.5); σ = 7.82 dB;
//! - LOS probability: 1 for d_2D ≤ 18 m, else 18/d_2D + exp(−d_2D/36)(1 − 18/d_2D).
//!
//! Applicability in the specification: h_BS = 10 m, 1.5 m ≤ h_UT ≤ 22.5 m, 0.5–100 GHz,
//! 10 m ≤ d_2D ≤ 5 km. Here h_BS is configurable (both ends of a link between two 10 m small cells
//! are "base stations": set h_bs_m = h_ut_m = 10, a documented extension); distances below 10 m
//! are evaluated at 10 m; distances beyond 5 km extrapolate the formulas. The shadow-fading σ and
//! decorrelation distances (Table 7.5-6: 10 m LOS, 13 m NLOS) are provided as constants to feed
//! [`crate::geometry::shadowing::Shadowing`].
//!
//! This will be folded into `channel::pathloss::PathLoss`; it stands alone for now.

use crate::geometry::{check_positive, GeometryError};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The speed of light as 38.901 writes it in the breakpoint distance (m/s).
const C_SPEC_M_PER_S: f64 = 3.0e8;

/// Which propagation condition [`UmiStreetCanyon::loss_db`] evaluates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UmiCondition {
    /// Line of sight on every link.
    Los,
    /// Non-line of sight on every link: max(PL_LOS, PL′_NLOS).
    #[default]
    Nlos,
    /// LOS with probability Pr_LOS(d_2D) (Table 7.4.2-1): [`UmiStreetCanyon::sample_loss_db`] draws
    /// the condition per call; [`UmiStreetCanyon::loss_db`] gives the loss of the mean power gain
    /// −10 log₁₀(p·10^(−PL_LOS/10) + (1 − p)·10^(−PL_NLOS/10)).
    LosProbability,
}

/// The propagation state of one link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkState {
    /// Line of sight.
    Los,
    /// Non-line of sight.
    Nlos,
}

/// UMi street-canyon path loss (configuration). Defaults h_BS = 10 m, h_UT = 1.5 m, NLOS.
///
/// ```
/// # use dmimo::channel::umi::{UmiCondition, UmiStreetCanyon};
/// // TOML: { h_bs_m = 10.0, h_ut_m = 10.0, condition = "los" }  (small cell to small cell)
/// let umi = UmiStreetCanyon { h_bs_m: 10.0, h_ut_m: 10.0, condition: UmiCondition::Los };
/// umi.validate().unwrap();
/// let pl = umi.loss_db(100.0, 2.6e9); // 32.4 + 21·2 + 20·log10(2.6) = 82.70 dB
/// assert!((pl - 82.699).abs() < 1e-3);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UmiStreetCanyon {
    /// Height of the transmitting end, h_BS (m); > 1 m (38.901: 10 m).
    #[serde(default = "default_h_bs_m")]
    pub h_bs_m: f64,
    /// Height of the receiving end, h_UT (m); in [1.5, 22.5] m.
    #[serde(default = "default_h_ut_m")]
    pub h_ut_m: f64,
    /// LOS, NLOS, or drawn per link.
    #[serde(default)]
    pub condition: UmiCondition,
}

fn default_h_bs_m() -> f64 {
    10.0
}

fn default_h_ut_m() -> f64 {
    1.5
}

impl Default for UmiStreetCanyon {
    fn default() -> Self {
        UmiStreetCanyon {
            h_bs_m: default_h_bs_m(),
            h_ut_m: default_h_ut_m(),
            condition: UmiCondition::default(),
        }
    }
}

impl UmiStreetCanyon {
    /// Shadow-fading std, LOS (dB), Table 7.4.1-1.
    pub const SIGMA_SF_LOS_DB: f64 = 4.0;
    /// Shadow-fading std, NLOS (dB), Table 7.4.1-1.
    pub const SIGMA_SF_NLOS_DB: f64 = 7.82;
    /// Shadow-fading decorrelation distance, LOS (m), Table 7.5-6 Part-1.
    pub const SF_DECORRELATION_LOS_M: f64 = 10.0;
    /// Shadow-fading decorrelation distance, NLOS (m), Table 7.5-6 Part-1.
    pub const SF_DECORRELATION_NLOS_M: f64 = 13.0;
    /// Carrier range of the model (Hz).
    pub const CARRIER_RANGE_HZ: (f64, f64) = (0.5e9, 100e9);
    /// Smallest 2-D distance of the model (m); shorter ones are evaluated here.
    pub const MIN_DISTANCE_M: f64 = 10.0;

    /// Checks the heights; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<(), GeometryError> {
        if !(self.h_bs_m.is_finite() && self.h_bs_m > 1.0) {
            return Err(GeometryError::invalid(
                "h_bs_m",
                self.h_bs_m,
                "finite and > 1 (the effective height h − 1 m must be positive)",
            ));
        }
        if !(1.5..=22.5).contains(&self.h_ut_m) {
            return Err(GeometryError::invalid(
                "h_ut_m",
                self.h_ut_m,
                "in [1.5, 22.5] (38.901 Table 7.4.1-1)",
            ));
        }
        Ok(())
    }

    /// Checks a carrier against the model's 0.5–100 GHz.
    pub fn check_carrier(carrier_hz: f64) -> Result<(), GeometryError> {
        check_positive("carrier_hz", carrier_hz)?;
        let (lo, hi) = Self::CARRIER_RANGE_HZ;
        if (lo..=hi).contains(&carrier_hz) {
            Ok(())
        } else {
            Err(GeometryError::invalid(
                "carrier_hz",
                carrier_hz,
                "in [0.5e9, 100e9] (38.901 Table 7.4.1-1)",
            ))
        }
    }

    /// The breakpoint distance d′_BP = 4 (h_BS − 1)(h_UT − 1) f_c / c (m).
    pub fn breakpoint_m(&self, carrier_hz: f64) -> f64 {
        4.0 * (self.h_bs_m - 1.0) * (self.h_ut_m - 1.0) * carrier_hz / C_SPEC_M_PER_S
    }

    /// (d_2D clamped to ≥ 10 m, d_3D, log₁₀ f_c[GHz]); panics on bad arguments.
    fn prepare(&self, d_2d_m: f64, carrier_hz: f64) -> (f64, f64, f64) {
        assert!(
            d_2d_m >= 0.0 && d_2d_m.is_finite(),
            "UMi: distance {d_2d_m} m must be finite and ≥ 0"
        );
        assert!(
            carrier_hz > 0.0 && carrier_hz.is_finite(),
            "UMi: carrier {carrier_hz} Hz must be finite and > 0"
        );
        let d2 = d_2d_m.max(Self::MIN_DISTANCE_M);
        let dh = self.h_bs_m - self.h_ut_m;
        (d2, (d2 * d2 + dh * dh).sqrt(), (carrier_hz / 1e9).log10())
    }

    /// LOS path loss PL_UMi-LOS (dB) at 2-D distance `d_2d_m` (m) and `carrier_hz`.
    ///
    /// # Panics
    /// If the distance is negative or not finite, or the carrier is not finite and > 0.
    pub fn los_loss_db(&self, d_2d_m: f64, carrier_hz: f64) -> f64 {
        let (d2, d3, lf) = self.prepare(d_2d_m, carrier_hz);
        let bp = self.breakpoint_m(carrier_hz);
        if d2 <= bp {
            32.4 + 21.0 * d3.log10() + 20.0 * lf
        } else {
            let dh = self.h_bs_m - self.h_ut_m;
            32.4 + 40.0 * d3.log10() + 20.0 * lf - 9.5 * (bp * bp + dh * dh).log10()
        }
    }

    /// NLOS path loss PL_UMi-NLOS = max(PL_LOS, PL′_NLOS) (dB). Panics as
    /// [`UmiStreetCanyon::los_loss_db`].
    pub fn nlos_loss_db(&self, d_2d_m: f64, carrier_hz: f64) -> f64 {
        let (_, d3, lf) = self.prepare(d_2d_m, carrier_hz);
        let nlos = 35.3 * d3.log10() + 22.4 + 21.3 * lf - 0.3 * (self.h_ut_m - 1.5);
        nlos.max(self.los_loss_db(d_2d_m, carrier_hz))
    }

    /// Pr_LOS(d_2D) of Table 7.4.2-1 (UMi street canyon, outdoor distance).
    pub fn los_probability(d_2d_m: f64) -> f64 {
        if d_2d_m <= 18.0 {
            1.0
        } else {
            18.0 / d_2d_m + (-d_2d_m / 36.0).exp() * (1.0 - 18.0 / d_2d_m)
        }
    }

    /// Path loss (dB, positive) at 2-D distance `d_2d_m` (m) and `carrier_hz` under the
    /// configured condition (for [`UmiCondition::LosProbability`], the loss of the mean gain).
    /// Panics as [`UmiStreetCanyon::los_loss_db`].
    pub fn loss_db(&self, d_2d_m: f64, carrier_hz: f64) -> f64 {
        match self.condition {
            UmiCondition::Los => self.los_loss_db(d_2d_m, carrier_hz),
            UmiCondition::Nlos => self.nlos_loss_db(d_2d_m, carrier_hz),
            UmiCondition::LosProbability => {
                let p = Self::los_probability(d_2d_m);
                let g = p * 10f64.powf(-self.los_loss_db(d_2d_m, carrier_hz) / 10.0)
                    + (1.0 - p) * 10f64.powf(-self.nlos_loss_db(d_2d_m, carrier_hz) / 10.0);
                -10.0 * g.log10()
            }
        }
    }

    /// (loss in dB, state) for one link: fixed for [`UmiCondition::Los`] / [`UmiCondition::Nlos`]
    /// (no draw); for [`UmiCondition::LosProbability`] LOS iff U < Pr_LOS(d_2D), one uniform drawn.
    /// For a symmetric link, draw once per link from the link's own stream.
    pub fn sample_loss_db<R: Rng + ?Sized>(
        &self,
        d_2d_m: f64,
        carrier_hz: f64,
        rng: &mut R,
    ) -> (f64, LinkState) {
        let state = match self.condition {
            UmiCondition::Los => LinkState::Los,
            UmiCondition::Nlos => LinkState::Nlos,
            UmiCondition::LosProbability => {
                if rng.random::<f64>() < Self::los_probability(d_2d_m) {
                    LinkState::Los
                } else {
                    LinkState::Nlos
                }
            }
        };
        (self.state_loss_db(d_2d_m, carrier_hz, state), state)
    }

    /// The loss (dB) of a link in a given state.
    pub fn state_loss_db(&self, d_2d_m: f64, carrier_hz: f64, state: LinkState) -> f64 {
        match state {
            LinkState::Los => self.los_loss_db(d_2d_m, carrier_hz),
            LinkState::Nlos => self.nlos_loss_db(d_2d_m, carrier_hz),
        }
    }

    /// The shadow-fading std (dB): 4 LOS, 7.82 NLOS (Table 7.4.1-1).
    pub fn shadow_fading_std_db(state: LinkState) -> f64 {
        match state {
            LinkState::Los => Self::SIGMA_SF_LOS_DB,
            LinkState::Nlos => Self::SIGMA_SF_NLOS_DB,
        }
    }

    /// The shadow-fading decorrelation distance (m): 10 LOS, 13 NLOS (Table 7.5-6 Part-1).
    pub fn shadow_fading_decorrelation_m(state: LinkState) -> f64 {
        match state {
            LinkState::Los => Self::SF_DECORRELATION_LOS_M,
            LinkState::Nlos => Self::SF_DECORRELATION_NLOS_M,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::test_de::{de, V};
    use crate::rng::SeedTree;

    // Hand values, f_c = 2.6 GHz, h_BS = 10 m, h_UT = 1.5 m (20 log10 2.6 = 8.29947,
    // 21.3 log10 2.6 = 8.83893):
    //   d'_BP = 4 · 9 · 0.5 · 2.6e9 / 3e8 = 156 m.
    //   d = 100 m: d_3D = √(100² + 8.5²) = 100.3606, log10 = 2.0015632
    //     LOS  = PL1 = 32.4 + 21 · 2.0015632 + 8.29947 = 82.7323 dB
    //     NLOS' = 35.3 · 2.0015632 + 22.4 + 8.83893 = 101.8941 dB → NLOS = 101.8941 dB
    //   d = 500 m: d_3D = 500.0722, log10 = 2.6990327
    //     LOS  = PL2 = 32.4 + 40 · 2.6990327 + 8.29947 − 9.5 · log10(156² + 8.5²)
    //          = 32.4 + 107.96131 + 8.29947 − 9.5 · 4.387537 = 106.9792 dB
    //     NLOS' = 35.3 · 2.6990327 + 31.23893 = 126.5148 dB → NLOS = 126.5148 dB
    //   Pr_LOS(100 m) = 0.18 + e^(−2.7778) · 0.82 = 0.18 + 0.062177 · 0.82 = 0.230985
    #[test]
    fn hand_computed_values_at_2_6_ghz() {
        let los = UmiStreetCanyon {
            condition: UmiCondition::Los,
            ..Default::default()
        };
        let nlos = UmiStreetCanyon::default();
        assert_eq!(nlos.condition, UmiCondition::Nlos);
        let fc = 2.6e9;
        assert!((los.breakpoint_m(fc) - 156.0).abs() < 1e-9);
        for (d, want_los, want_nlos) in [(100.0, 82.7323, 101.8941), (500.0, 106.9792, 126.5148)] {
            assert!(
                (los.loss_db(d, fc) - want_los).abs() < 1e-3,
                "LOS {d}: {}",
                los.loss_db(d, fc)
            );
            assert!(
                (nlos.loss_db(d, fc) - want_nlos).abs() < 1e-3,
                "NLOS {d}: {}",
                nlos.loss_db(d, fc)
            );
        }
        assert!((UmiStreetCanyon::los_probability(100.0) - 0.230985).abs() < 1e-6);
        assert_eq!(UmiStreetCanyon::los_probability(18.0), 1.0);
        assert_eq!(UmiStreetCanyon::los_probability(3.0), 1.0);
    }

    #[test]
    fn small_cell_to_small_cell_link() {
        // h_BS = h_UT = 10 m: d'_BP = 4 · 9 · 9 · 2.6e9 / 3e8 = 2808 m, d_3D = d_2D.
        // d = 100 m: LOS 32.4 + 42 + 8.29947 = 82.6995; NLOS' = 70.6 + 31.23893 − 0.3 · 8.5
        // = 99.2889 dB.
        let u = UmiStreetCanyon {
            h_bs_m: 10.0,
            h_ut_m: 10.0,
            condition: UmiCondition::Nlos,
        };
        assert!((u.breakpoint_m(2.6e9) - 2808.0).abs() < 1e-9);
        assert!((u.los_loss_db(100.0, 2.6e9) - 82.6995).abs() < 1e-3);
        assert!((u.loss_db(100.0, 2.6e9) - 99.2889).abs() < 1e-3);
    }

    #[test]
    fn los_is_continuous_at_the_breakpoint_and_nlos_is_the_max() {
        let u = UmiStreetCanyon::default();
        for fc in [0.9e9, 2.6e9, 3.5e9, 28e9] {
            let bp = u.breakpoint_m(fc);
            if bp <= 10.0 {
                continue;
            }
            // at d_2D = d'_BP, 40 log d_3D − 9.5 log(d_3D²) = 21 log d_3D: the two pieces agree
            let below = u.los_loss_db(bp, fc);
            let above = u.los_loss_db(bp * (1.0 + 1e-12), fc);
            assert!((below - above).abs() < 1e-6, "{fc}: {below} vs {above}");
            for d in [10.0, 30.0, 100.0, 1000.0, 5000.0, 2e6] {
                let (l, n) = (u.los_loss_db(d, fc), u.nlos_loss_db(d, fc));
                assert!(n >= l);
                // loss grows with distance
                assert!(u.nlos_loss_db(d * 1.1, fc) > n);
            }
        }
        // very far out (extrapolated) the LOS slope 40 overtakes NLOS' 35.3: the max binds
        let (l, n) = (u.los_loss_db(2e7, 0.5e9), u.nlos_loss_db(2e7, 0.5e9));
        assert_eq!(l, n);
        // below 10 m the model is evaluated at 10 m
        assert_eq!(u.loss_db(0.0, 2.6e9), u.loss_db(10.0, 2.6e9));
    }

    #[test]
    fn los_probability_mode() {
        let u = UmiStreetCanyon {
            condition: UmiCondition::LosProbability,
            ..Default::default()
        };
        let fc = 3.5e9;
        // within 18 m always LOS
        assert!((u.loss_db(15.0, fc) - u.los_loss_db(15.0, fc)).abs() < 1e-12);
        // mean gain lies between the two conditions
        let l = u.loss_db(100.0, fc);
        assert!(l > u.los_loss_db(100.0, fc) && l < u.nlos_loss_db(100.0, fc));
        let mut rng = SeedTree::new(1).child("los").rng();
        let n = 20_000;
        let mut los_count = 0;
        for _ in 0..n {
            let (loss, state) = u.sample_loss_db(100.0, fc, &mut rng);
            los_count += (state == LinkState::Los) as usize;
            let want = if state == LinkState::Los {
                u.los_loss_db(100.0, fc)
            } else {
                u.nlos_loss_db(100.0, fc)
            };
            assert_eq!(loss, want);
        }
        let p = UmiStreetCanyon::los_probability(100.0);
        let se = (p * (1.0 - p) / n as f64).sqrt();
        assert!((los_count as f64 / n as f64 - p).abs() < 4.5 * se);
        assert_eq!(UmiStreetCanyon::shadow_fading_std_db(LinkState::Nlos), 7.82);
        assert_eq!(
            UmiStreetCanyon::shadow_fading_decorrelation_m(LinkState::Los),
            10.0
        );
        // fixed conditions draw nothing
        let los = UmiStreetCanyon {
            condition: UmiCondition::Los,
            ..Default::default()
        };
        let mut a = SeedTree::new(3).rng();
        let (l, st) = los.sample_loss_db(100.0, fc, &mut a);
        assert_eq!((l, st), (los.los_loss_db(100.0, fc), LinkState::Los));
        assert_eq!(a.random::<u64>(), SeedTree::new(3).rng().random::<u64>());
    }

    #[test]
    fn validation_and_serde() {
        assert!(UmiStreetCanyon::default().validate().is_ok());
        let bad = UmiStreetCanyon {
            h_bs_m: 1.0,
            ..Default::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(GeometryError::InvalidParameter {
                field: "h_bs_m",
                ..
            })
        ));
        let bad = UmiStreetCanyon {
            h_ut_m: 30.0,
            ..Default::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(GeometryError::InvalidParameter {
                field: "h_ut_m",
                ..
            })
        ));
        assert!(UmiStreetCanyon::check_carrier(2.6e9).is_ok());
        assert!(UmiStreetCanyon::check_carrier(0.3e9).is_err());
        let u: UmiStreetCanyon = de(V::map([])).unwrap();
        assert_eq!(u, UmiStreetCanyon::default());
        let u: UmiStreetCanyon = de(V::map([
            ("h_ut_m", V::F(10.0)),
            ("condition", V::s("los-probability")),
        ]))
        .unwrap();
        assert_eq!(u.condition, UmiCondition::LosProbability);
        assert_eq!((u.h_bs_m, u.h_ut_m), (10.0, 10.0));
        assert!(de::<UmiStreetCanyon>(V::map([("h_ms_m", V::F(1.5))])).is_err());
        assert!(de::<UmiStreetCanyon>(V::map([("condition", V::s("nlos-only"))])).is_err());
    }
}

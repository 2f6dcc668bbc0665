//! Local oscillators: static offset, frequency random walk, Wiener phase noise, initial phase; and
//! the digital correction a node applies from its estimates (with holdover between estimates).
//!
//! Model (thesis eq. 2.14; notes/003 §1.7, §7.2 item 3): the carrier phase offset of a node relative
//! to the nominal carrier is
//!
//!   ϕ(t) = ϕ(0) + 2π ∫₀ᵗ (Δf + W(s)) ds + w(t)
//!
//! with Δf the static offset (Hz), W(t) a Brownian frequency walk with diffusion `freq_walk`
//! (Var W(t) = freq_walk·t, in Hz²/s: thermal wander, "tens of Hz per second", Fig. 4.1), and w(t)
//! Wiener phase noise with Var w(t) = `phase_noise`·t (rad²/s; a Lorentzian line of 3 dB
//! linewidth β has phase_noise = 2πβ). [`Oscillator::advance`] steps the three processes exactly
//! (no discretization error for any step size).

use crate::rng::SimRng;
use crate::scenario::{Check, FieldError};
use crate::units::{cis, ppm_to_hz, C64};
use rand::Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Parameters of one oscillator, in SI units.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OscillatorParams {
    /// Static frequency offset from the nominal carrier (Hz).
    pub offset_hz: f64,
    /// Diffusion of the frequency random walk (Hz²/s): after t seconds the walk has variance
    /// `freq_walk_hz2_per_s · t`.
    pub freq_walk_hz2_per_s: f64,
    /// Diffusion of the Wiener phase noise (rad²/s) = 2π × 3 dB linewidth.
    pub phase_noise_rad2_per_s: f64,
    /// Phase at t = 0 (rad).
    pub initial_phase_rad: f64,
}

impl OscillatorParams {
    /// An ideal oscillator with only a static offset.
    pub fn static_offset(offset_hz: f64) -> Self {
        OscillatorParams {
            offset_hz,
            freq_walk_hz2_per_s: 0.0,
            phase_noise_rad2_per_s: 0.0,
            initial_phase_rad: 0.0,
        }
    }
}

/// How a population of oscillators is drawn (one draw per node from its own random stream); the
/// `[config.oscillator]` table of every experiment with free-running oscillators.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OscillatorSpec {
    /// Static offsets are uniform in ±`max_offset_ppm` of the carrier.
    pub max_offset_ppm: f64,
    /// Frequency random-walk diffusion (Hz²/s).
    pub freq_walk_hz2_per_s: f64,
    /// 3 dB linewidth of the Wiener phase noise (Hz).
    pub linewidth_hz: f64,
}

impl OscillatorSpec {
    /// WARP-like boards, the default of every thesis experiment (Balan, PhD thesis, USC 2013):
    /// - static offset within ±1.5 ppm (§4.3, "1.5 ppm frequency stability");
    /// - frequency walk 130 Hz²/s per oscillator: two boards' relative walk then drifts
    ///   √(2·130·0.1 s) = 5.1 Hz rms, ≈ 10 Hz at the 95th percentile, per 100 ms refresh —
    ///   Table 4.1's 10 Hz precision against a 100 Hz/s drift — and wanders ≈ 26 Hz over 1 s, the
    ///   3740–3770 Hz band of Fig. 4.1;
    /// - Wiener phase noise of 0.01 Hz linewidth (0.45° rms per board over 1 ms): WARP's phase
    ///   noise is "quite small" (§2.2, Fig. 2.2), and a 40 MHz reference multiplied to 2.4 GHz
    ///   would give less.
    pub const WARP: OscillatorSpec = OscillatorSpec {
        max_offset_ppm: 1.5,
        freq_walk_hz2_per_s: 130.0,
        linewidth_hz: 0.01,
    };

    /// Range checks, naming fields `<prefix>.max_offset_ppm` etc.
    pub fn validate(&self, prefix: &str) -> Result<(), FieldError> {
        let c = Check { prefix };
        c.range("max_offset_ppm", self.max_offset_ppm, 0.0, 100.0, "ppm")?;
        c.range(
            "freq_walk_hz2_per_s",
            self.freq_walk_hz2_per_s,
            0.0,
            1e6,
            "Hz²/s",
        )?;
        c.range("linewidth_hz", self.linewidth_hz, 0.0, 1e3, "Hz")
    }

    /// LTE small cells (Chorus, notes/000 §4.2): static offset within the 3GPP local-area
    /// tolerance ±0.1 ppm; a TCXO-grade frequency walk of 0.2 Hz²/s at 2.6 GHz (random-walk FM
    /// with Allan deviation σ_y(τ) = √(q·τ/3)/f_c = 1e-10 at τ = 1 s); Wiener phase noise of
    /// 0.01 Hz linewidth as for [`OscillatorSpec::WARP`].
    pub const SMALL_CELL: OscillatorSpec = OscillatorSpec {
        max_offset_ppm: 0.1,
        freq_walk_hz2_per_s: 0.2,
        linewidth_hz: 0.01,
    };

    /// Draws one oscillator: offset uniform in ±max_offset_ppm·f_c, initial phase uniform in [0, 2π).
    pub fn draw(&self, carrier_hz: f64, rng: &mut SimRng) -> OscillatorParams {
        let max = ppm_to_hz(self.max_offset_ppm, carrier_hz);
        let offset_hz = if max > 0.0 {
            rng.random_range(-max..=max)
        } else {
            0.0
        };
        OscillatorParams {
            offset_hz,
            freq_walk_hz2_per_s: self.freq_walk_hz2_per_s,
            phase_noise_rad2_per_s: 2.0 * PI * self.linewidth_hz,
            initial_phase_rad: rng.random_range(0.0..2.0 * PI),
        }
    }
}

/// Where a node's sampling clock comes from (notes/003 §1.7, §3.2, §7.2 item 3).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SamplingClock {
    /// Every node samples exactly at the nominal rate.
    Ideal,
    /// Derived from the carrier oscillator (the "single-oscillator design", thesis §4.2): the
    /// relative sampling offset equals the relative carrier offset, SFO = CFO·f_s/f_c.
    Shared,
    /// A separate reference per node (WARP: a 20 MHz oscillator of ≈ 1 ppm, thesis §3.1), offset
    /// uniform within ±`max_ppm`, independent of the carrier.
    Separate { max_ppm: f64 },
}

impl SamplingClock {
    /// The relative sampling-rate offset ε of a receiver against a transmitter (dimensionless:
    /// the receiver takes its sample n at the transmitter's sample n·(1 + ε)), given the two
    /// carrier oscillators; draws from `rng` only for [`SamplingClock::Separate`].
    pub fn relative_offset(
        &self,
        tx: &OscillatorParams,
        rx: &OscillatorParams,
        carrier_hz: f64,
        rng: &mut SimRng,
    ) -> f64 {
        match *self {
            SamplingClock::Ideal => 0.0,
            SamplingClock::Shared => (rx.offset_hz - tx.offset_hz) / carrier_hz,
            SamplingClock::Separate { max_ppm } => {
                let mut draw = || {
                    if max_ppm > 0.0 {
                        rng.random_range(-max_ppm..=max_ppm) * 1e-6
                    } else {
                        0.0
                    }
                };
                draw() - draw()
            }
        }
    }
}

/// The state of one oscillator, advanced forward in time.
#[derive(Clone, Debug)]
pub struct Oscillator {
    params: OscillatorParams,
    t_s: f64,
    /// Accumulated (unwrapped) phase from offset, walk and initial phase, without phase noise.
    phase_rad: f64,
    /// Current value of the frequency walk W(t) (Hz).
    walk_hz: f64,
    /// Current phase noise w(t) (rad).
    noise_rad: f64,
}

impl Oscillator {
    /// An oscillator at t = 0.
    pub fn new(params: OscillatorParams) -> Self {
        Oscillator {
            params,
            t_s: 0.0,
            phase_rad: params.initial_phase_rad,
            walk_hz: 0.0,
            noise_rad: 0.0,
        }
    }

    /// Its parameters.
    pub fn params(&self) -> &OscillatorParams {
        &self.params
    }

    /// Current time (s).
    pub fn time_s(&self) -> f64 {
        self.t_s
    }

    /// Carrier phase offset ϕ(t) at the current time, unwrapped (rad).
    pub fn phase_rad(&self) -> f64 {
        self.phase_rad + self.noise_rad
    }

    /// Instantaneous frequency offset Δf + W(t) (Hz), without the phase-noise derivative.
    pub fn frequency_offset_hz(&self) -> f64 {
        self.params.offset_hz + self.walk_hz
    }

    /// Advances by `dt_s` ≥ 0, drawing the walk and the phase noise exactly: over a step dt the walk
    /// increment ΔW ~ N(0, q·dt) and its integral I = ∫(W(s) − W(0))ds have Var I = q·dt³/3 and
    /// Cov(I, ΔW) = q·dt²/2, sampled as I = ΔW·dt/2 + √(q·dt³/12)·z.
    pub fn advance(&mut self, dt_s: f64, rng: &mut SimRng) {
        debug_assert!(dt_s >= 0.0);
        let p = &self.params;
        let mut integral = 0.0;
        let mut dw = 0.0;
        if p.freq_walk_hz2_per_s > 0.0 {
            let z1: f64 = rng.sample(StandardNormal);
            let z2: f64 = rng.sample(StandardNormal);
            dw = (p.freq_walk_hz2_per_s * dt_s).sqrt() * z1;
            integral = dw * dt_s / 2.0 + (p.freq_walk_hz2_per_s * dt_s.powi(3) / 12.0).sqrt() * z2;
        }
        if p.phase_noise_rad2_per_s > 0.0 {
            let z: f64 = rng.sample(StandardNormal);
            self.noise_rad += (p.phase_noise_rad2_per_s * dt_s).sqrt() * z;
        }
        self.phase_rad += 2.0 * PI * ((p.offset_hz + self.walk_hz) * dt_s + integral);
        self.walk_hz += dw;
        self.t_s += dt_s;
    }

    /// Advances to the absolute time `t_s` (no-op if already there).
    ///
    /// # Panics
    /// If `t_s` is earlier than the current time.
    #[track_caller]
    pub fn advance_to(&mut self, t_s: f64, rng: &mut SimRng) {
        assert!(
            t_s >= self.t_s,
            "oscillator time runs forward: {} → {}",
            self.t_s,
            t_s
        );
        self.advance(t_s - self.t_s, rng);
    }
}

/// A node's digital correction of its own oscillator: its latest estimates of phase and frequency
/// at a reference time, extrapolated linearly — between estimates the node free-runs on the last
/// frequency estimate (holdover).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseCorrection {
    /// Estimated phase at `t_ref_s` (rad).
    pub phase_rad: f64,
    /// Estimated frequency offset (Hz).
    pub freq_hz: f64,
    /// Time of the estimate (s).
    pub t_ref_s: f64,
}

impl PhaseCorrection {
    /// The predicted oscillator phase at time t: ϕ̂ + 2π f̂ (t − t_ref).
    pub fn predicted_phase_rad(&self, t_s: f64) -> f64 {
        self.phase_rad + 2.0 * PI * self.freq_hz * (t_s - self.t_ref_s)
    }

    /// De-rotates a sample taken at time t by the predicted phase.
    pub fn apply(&self, sample: C64, t_s: f64) -> C64 {
        sample * cis(-self.predicted_phase_rad(t_s))
    }

    /// The residual phase error of an oscillator under this correction (rad, unwrapped).
    pub fn residual_rad(&self, osc: &Oscillator) -> f64 {
        osc.phase_rad() - self.predicted_phase_rad(osc.time_s())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;

    /// Relative standard error of a variance estimated from n Gaussian samples is √(2/n); 4.5σ.
    fn var_tolerance(n: usize) -> f64 {
        4.5 * (2.0 / n as f64).sqrt()
    }

    fn variance(x: &[f64]) -> f64 {
        let m = x.iter().sum::<f64>() / x.len() as f64;
        x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64
    }

    #[test]
    fn static_offset_gives_a_linear_phase() {
        let mut o = Oscillator::new(OscillatorParams {
            initial_phase_rad: 0.3,
            ..OscillatorParams::static_offset(3750.0)
        });
        let mut rng = SeedTree::new(1).rng();
        o.advance_to(1e-3, &mut rng);
        assert!((o.phase_rad() - (0.3 + 2.0 * PI * 3.75)).abs() < 1e-9);
        assert_eq!(o.frequency_offset_hz(), 3750.0);
    }

    /// Wiener phase noise: Var w(t) = c·t, growing linearly in time, whatever the step size.
    #[test]
    fn wiener_phase_variance_grows_linearly() {
        let c = 2.0 * PI * 50.0; // 50 Hz linewidth
        let n = 4000;
        let times = [1e-3, 2e-3, 4e-3, 8e-3];
        let mut samples = vec![Vec::with_capacity(n); times.len()];
        for i in 0..n {
            let mut rng = SeedTree::new(2).index(i as u64).rng();
            let mut o = Oscillator::new(OscillatorParams {
                phase_noise_rad2_per_s: c,
                ..OscillatorParams::static_offset(0.0)
            });
            for (s, &t) in samples.iter_mut().zip(&times) {
                // uneven steps: the exact discretization must not care
                while o.time_s() < t - 1e-12 {
                    o.advance((t - o.time_s()).min(0.37e-3), &mut rng);
                }
                s.push(o.phase_rad());
            }
        }
        for (s, &t) in samples.iter().zip(&times) {
            let ratio = variance(s) / (c * t);
            assert!(
                (ratio - 1.0).abs() < var_tolerance(n),
                "t = {t}: Var/(c t) = {ratio}"
            );
        }
    }

    /// Frequency walk: Var W(t) = q·t and the phase it integrates has Var = (2π)² q t³/3.
    #[test]
    fn frequency_walk_statistics() {
        let q = 1e4; // (100 Hz)²/s
        let n = 4000;
        let t = 0.1;
        let (mut f, mut ph) = (Vec::new(), Vec::new());
        for i in 0..n {
            let mut rng = SeedTree::new(3).index(i as u64).rng();
            let mut o = Oscillator::new(OscillatorParams {
                freq_walk_hz2_per_s: q,
                ..OscillatorParams::static_offset(0.0)
            });
            for _ in 0..7 {
                o.advance(t / 7.0, &mut rng);
            }
            f.push(o.frequency_offset_hz());
            ph.push(o.phase_rad());
        }
        let tol = var_tolerance(n);
        assert!((variance(&f) / (q * t) - 1.0).abs() < tol);
        assert!((variance(&ph) / ((2.0 * PI).powi(2) * q * t.powi(3) / 3.0) - 1.0).abs() < tol);
    }

    /// Holdover: with a frequency estimate off by δf the residual grows as 2π δf t.
    #[test]
    fn holdover_residual_grows_with_the_frequency_error() {
        let mut o = Oscillator::new(OscillatorParams::static_offset(1000.0));
        let corr = PhaseCorrection {
            phase_rad: 0.0,
            freq_hz: 990.0,
            t_ref_s: 0.0,
        };
        let mut rng = SeedTree::new(4).rng();
        o.advance_to(1e-3, &mut rng);
        assert!((corr.residual_rad(&o) - 2.0 * PI * 10.0 * 1e-3).abs() < 1e-9);
        // applying the correction to a sample carrying the oscillator phase leaves the residual
        let y = corr.apply(cis(o.phase_rad()), o.time_s());
        assert!((y.arg() - 2.0 * PI * 0.01).abs() < 1e-9);
    }

    #[test]
    fn sampling_clock_offsets() {
        let tx = OscillatorParams::static_offset(1200.0);
        let rx = OscillatorParams::static_offset(-2400.0);
        let mut rng = SeedTree::new(6).rng();
        assert_eq!(
            SamplingClock::Ideal.relative_offset(&tx, &rx, 2.4e9, &mut rng),
            0.0
        );
        let shared = SamplingClock::Shared.relative_offset(&tx, &rx, 2.4e9, &mut rng);
        assert!((shared + 1.5e-6).abs() < 1e-15, "{shared}");
        for _ in 0..100 {
            let e =
                SamplingClock::Separate { max_ppm: 1.0 }.relative_offset(&tx, &rx, 2.4e9, &mut rng);
            assert!(e.abs() <= 2e-6);
        }
    }

    #[test]
    fn spec_draws_within_bounds() {
        let spec = OscillatorSpec {
            max_offset_ppm: 1.5,
            freq_walk_hz2_per_s: 0.0,
            linewidth_hz: 1.0,
        };
        for i in 0..200 {
            let p = spec.draw(2.4e9, &mut SeedTree::new(5).index(i).rng());
            assert!(p.offset_hz.abs() <= 3600.0 && (0.0..2.0 * PI).contains(&p.initial_phase_rad));
        }
    }
}

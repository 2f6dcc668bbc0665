//! `airsync.phase-error` (thesis Fig. 3.4; notes/003 §2, §6 target 3): how closely an AirSync
//! secondary follows the master's carrier phase, simulated at SAMPLE level.
//!
//! Per frame: the master sends a PN preamble, a probe and `frame_symbols` data symbols with two
//! reference tones at ±7.5 MHz ([`ToneLayout::airsync_default`]). The link to the secondary has a
//! 3-tap Rayleigh channel, a fractional delay, the two APs' oscillators (WARP-like: static offset
//! within ±1.5 ppm of 2.4 GHz, thermal frequency walk, Wiener phase noise), AWGN at the pilot SNR
//! (per tone, per FFT bin), the secondary's own transmission leaking into its receiver
//! `self_interference_db` above the tones once it transmits, sampling clocks that slide against
//! each other (WARP: separate ≈ 1 ppm references), and a 14-bit ADC. The pilot SNR is the
//! received one, on each frame's channel (the thesis quotes it as measured at the secondary). The secondary acquires timing from the preamble, calibrates on the probe, measures
//! the tones' common phase in every symbol from the `track_start`-th on (Fig. 3.3), and predicts
//! the drift `lookahead` symbols ahead with AirSync's 4-symbol sliding slope; a Kalman tracker is
//! fed the same measurements. The phase error is the prediction minus the true master-minus-
//! secondary phase drift at the symbol the correction is applied to — what the thesis measured
//! over a wired loop at the secondary's output.
//!
//! The fidelity ladder: every frame is also run at symbol level ([`SymbolSecondary`]: the same
//! oscillators, the tone phase drawn as truth plus noise of its CRB) and the two phase-error stds
//! are compared at every pilot SNR (`sample_to_symbol_level_std_ratio`); the joint-transmission
//! experiments run at symbol level.

use super::super::{key, par_indexed, Context, ExperimentConfig, Outcome, RunError};
use crate::channel::fading::PowerDelayProfile;
use crate::channel::waveform::add_awgn;
use crate::estimation::crb;
use crate::estimation::timing::acquire;
use crate::estimation::tracking::{
    Extrapolation, KalmanParams, KalmanTracker, PhaseTracker, SlidingSlope,
};
use crate::metrics::Cdf;
use crate::radio::frontend::Adc;
use crate::radio::link::{CarrierPath, Link};
use crate::radio::ofdm::OfdmModem;
use crate::radio::oscillator::{Oscillator, OscillatorSpec, SamplingClock};
use crate::report::{Figure, Origin, Style, Table};
use crate::rng::SeedTree;
use crate::scenario::{Check, FieldError};
use crate::sync::reference_tone::{SymbolSecondary, ToneLayout, ToneSecondary};
use crate::units::{cis, db_to_lin, rad_to_deg, wrap_phase, C64};
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::f64::consts::{FRAC_1_SQRT_2, TAU};

/// Configuration of `airsync.phase-error`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Pilot SNR at the secondary: received tone power per FFT bin over the noise per bin,
    /// averaged over the tones, on the frame's own channel (dB); thesis: ≈ 28.5 dB.
    pub pilot_snr_db: f64,
    /// Further pilot SNRs for the sweep (dB).
    pub snr_sweep_db: Vec<f64>,
    /// Data symbols per frame after the preamble and the probe.
    pub frame_symbols: usize,
    /// 1-based symbol of the frame at which tracking starts (thesis Fig. 3.3: the 10th).
    pub track_start: usize,
    /// Pipeline delay between measurement and air, in OFDM symbols ("a few"; our choice: 3).
    pub lookahead_symbols: f64,
    /// AirSync's smoothing window (symbols): "a sliding window smoothing filter over four samples".
    pub window: usize,
    /// The secondary's own transmission at its receiver, above the total tone power (dB);
    /// thesis: 30–42 dB for ρ = 32–128.
    pub self_interference_db: f64,
    /// Delay of the secondary's own symbols relative to the master's at its receiver (samples);
    /// within the CP they stay orthogonal to the receive window.
    pub self_timing_offset: usize,
    /// The receiver places its FFT window this many samples before the acquired timing, inside
    /// the CP, so the channel's pre-cursor (a fractional delay's sinc tails) does not leak the
    /// next symbol into the window (samples).
    pub timing_backoff: usize,
    /// ADC resolution (bits per component); thesis: 14.
    pub adc_bits: u32,
    /// ADC full scale above the composite signal's RMS (dB).
    pub adc_backoff_db: f64,
    /// Carrier (Hz).
    pub carrier_hz: f64,
    /// Both APs' oscillators; default [`OscillatorSpec::WARP`] (thesis: ≈ 1.5 ppm).
    pub oscillator: OscillatorSpec,
    /// The sampling clocks: WARP derives them from a separate 20 MHz reference of ≈ 1 ppm
    /// (thesis §3.1). A relative offset ε makes the secondary's samples slide against the
    /// master's by ε per sample, a phase ramp across subcarriers that grows over the frame.
    pub sampling_clock: SamplingClock,
    /// Frames per SNR point (each with its own oscillators, channel and noise).
    pub frames: usize,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            pilot_snr_db: 28.5,
            snr_sweep_db: vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0],
            frame_symbols: 40,
            track_start: 10,
            lookahead_symbols: 3.0,
            window: 4,
            self_interference_db: 36.0,
            self_timing_offset: 16,
            timing_backoff: 16,
            adc_bits: 14,
            adc_backoff_db: 15.0,
            carrier_hz: 2.4e9,
            oscillator: OscillatorSpec::WARP,
            sampling_clock: SamplingClock::Separate { max_ppm: 1.0 },
            frames: 300,
        }
    }

    fn quick() -> Self {
        Config {
            frames: 40,
            snr_sweep_db: vec![10.0, 20.0, 30.0],
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.range("pilot_snr_db", self.pilot_snr_db, -10.0, 80.0, "dB")?;
        c.each("snr_sweep_db", &self.snr_sweep_db, 0, -10.0, 80.0, "dB")?;
        c.count("frame_symbols", self.frame_symbols, 4, 10_000)?;
        c.count("track_start", self.track_start, 3, self.frame_symbols + 1)?;
        c.range(
            "lookahead_symbols",
            self.lookahead_symbols,
            0.0,
            100.0,
            "symbols",
        )?;
        c.count("window", self.window, 1, 64)?;
        c.range(
            "self_interference_db",
            self.self_interference_db,
            -100.0,
            80.0,
            "dB",
        )?;
        c.count("self_timing_offset", self.self_timing_offset, 0, 255)?;
        c.count("timing_backoff", self.timing_backoff, 0, 63)?;
        c.count("adc_bits", self.adc_bits as usize, 2, 24)?;
        c.range("adc_backoff_db", self.adc_backoff_db, 0.0, 40.0, "dB")?;
        c.range("carrier_hz", self.carrier_hz, 1e6, 1e11, "Hz")?;
        self.oscillator.validate("config.oscillator")?;
        if let SamplingClock::Separate { max_ppm } = self.sampling_clock {
            c.range("sampling_clock.max_ppm", max_ppm, 0.0, 100.0, "ppm")?;
        }
        c.count("frames", self.frames, 1, 1_000_000)
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let cases: Vec<f64> = std::iter::once(self.pilot_snr_db)
            .chain(self.snr_sweep_db.iter().copied())
            .collect();
        ctx.progress
            .begin("frames", (cases.len() * self.frames) as u64);
        let results: Vec<CaseErrors> = cases
            .iter()
            .enumerate()
            .map(|(ci, &snr)| {
                let frames = par_indexed(self.frames, ctx.progress, |f| {
                    self.frame(ctx.seeds.child("frame").index(f as u64), ci, snr)
                });
                let mut all = CaseErrors::default();
                for fe in frames {
                    all.sliding.extend(fe.sliding);
                    all.kalman.extend(fe.kalman);
                    all.symbol.extend(fe.symbol);
                    all.timing_failures += fe.timing_failures;
                }
                all
            })
            .collect();

        let mut out = Outcome::default();
        let main = &results[0];
        let (sl, ka) = (
            Cdf::new(main.sliding.clone()),
            Cdf::new(main.kalman.clone()),
        );
        let m = &mut out.metrics;
        m.insert("phase_error_std_deg".into(), std(&main.sliding));
        m.insert("phase_error_p95_deg".into(), sl.percentile(95.0));
        m.insert(
            "phase_error_p95_abs_deg".into(),
            Cdf::new(main.sliding.iter().map(|e| e.abs()).collect()).percentile(95.0),
        );
        m.insert("kalman_phase_error_std_deg".into(), std(&main.kalman));
        m.insert(
            "kalman_phase_error_p95_abs_deg".into(),
            Cdf::new(main.kalman.iter().map(|e| e.abs()).collect()).percentile(95.0),
        );
        m.insert(
            "kalman_to_sliding_std_ratio".into(),
            std(&main.kalman) / std(&main.sliding),
        );
        let symbol_std = std(&main.symbol);
        m.insert("symbol_level_std_deg".into(), symbol_std);
        m.insert(
            "sample_to_symbol_level_std_ratio".into(),
            std(&main.sliding) / symbol_std,
        );
        m.insert(
            "timing_failures".into(),
            results.iter().map(|r| r.timing_failures as f64).sum(),
        );
        let mut rows = Vec::new();
        let (mut sl_pts, mut ka_pts, mut sy_pts) = (Vec::new(), Vec::new(), Vec::new());
        let mut sweep: Vec<(f64, &CaseErrors)> = self
            .snr_sweep_db
            .iter()
            .copied()
            .zip(&results[1..])
            .collect();
        sweep.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (snr, r) in sweep {
            let (s, k, y) = (std(&r.sliding), std(&r.kalman), std(&r.symbol));
            m.insert(key("phase_error_std_deg_snr", snr, "db"), s);
            m.insert(key("kalman_phase_error_std_deg_snr", snr, "db"), k);
            m.insert(key("symbol_level_std_deg_snr", snr, "db"), y);
            rows.push(vec![snr, s, k, y, r.timing_failures as f64]);
            sl_pts.push((snr, s));
            ka_pts.push((snr, k));
            sy_pts.push((snr, y));
        }
        out.tables.push(Table {
            name: "phase_error_vs_snr".into(),
            columns: vec![
                "pilot_snr_db".into(),
                "sliding_std_deg".into(),
                "kalman_std_deg".into(),
                "symbol_level_std_deg".into(),
                "timing_failures".into(),
            ],
            rows,
        });
        out.tables.push(Table {
            name: "phase_error_cdf".into(),
            columns: vec![
                "percentile".into(),
                "sliding_error_deg".into(),
                "kalman_error_deg".into(),
            ],
            rows: (0..=100)
                .map(|p| vec![p as f64, sl.percentile(p as f64), ka.percentile(p as f64)])
                .collect(),
        });
        let gauss: Vec<(f64, f64)> = (-100..=100)
            .map(|i| {
                let x = i as f64 * 0.1;
                (x, 0.5 * (1.0 + erf(x / (2.37 * std::f64::consts::SQRT_2))))
            })
            .collect();
        out.figures.push(
            Figure::new(
                "phase_error_cdf",
                &format!(
                    "AirSync secondary-vs-master phase error at {} dB pilot SNR",
                    self.pilot_snr_db
                ),
                "phase error (degrees)",
                "CDF",
            )
            .line(
                &format!(
                    "sliding slope (w = {}), d = {}",
                    self.window, self.lookahead_symbols
                ),
                Origin::Measured,
                Style::Step,
                sl.points(400),
            )
            .line(
                "Kalman (phase, frequency)",
                Origin::Measured,
                Style::Step,
                ka.points(400),
            )
            .line(
                "thesis: Gaussian with std 2.37°",
                Origin::Paper,
                Style::Line,
                gauss,
            )
            .line(
                "thesis: 95th percentile ≤ 4.5°",
                Origin::Paper,
                Style::Markers,
                vec![(4.5, 0.95)],
            )
            .x_range(-10.0, 10.0),
        );
        if !sl_pts.is_empty() {
            out.figures.push(
                Figure::new(
                    "phase_error_vs_snr",
                    "Phase-error std vs pilot SNR",
                    "pilot SNR per tone (dB)",
                    "phase-error std (degrees)",
                )
                .line(
                    "sliding slope (AirSync)",
                    Origin::Measured,
                    Style::LineMarkers,
                    sl_pts,
                )
                .line("Kalman", Origin::Measured, Style::LineMarkers, ka_pts)
                .line(
                    "sliding slope at symbol level (CRB tone noise)",
                    Origin::Measured,
                    Style::Line,
                    sy_pts,
                )
                .line(
                    "thesis: 2.37° at 28.5 dB",
                    Origin::Paper,
                    Style::Markers,
                    vec![(28.5, 2.37)],
                ),
            );
        }
        Ok(out)
    }
}

#[derive(Default)]
struct CaseErrors {
    /// Prediction errors (degrees) of the sliding-slope tracker.
    sliding: Vec<f64>,
    /// Prediction errors (degrees) of the Kalman tracker, on the same measurements.
    kalman: Vec<f64>,
    /// Residuals (degrees) of the symbol-level secondary ([`SymbolSecondary`]) on the same
    /// oscillators: the fidelity ladder's rung below.
    symbol: Vec<f64>,
    timing_failures: usize,
}

impl Config {
    /// One frame at one pilot SNR: the sample-level link, then the secondary. The frame's
    /// oscillators, channel and data come from `seeds` (shared by every SNR: common random
    /// numbers); the noise stream differs per SNR case.
    fn frame(&self, seeds: SeedTree, case: usize, snr_db: f64) -> CaseErrors {
        let layout = ToneLayout::airsync_default();
        let num = layout.numerology.clone();
        let (n, cp, sl, ts) = (
            num.n_fft,
            num.cp_len(0),
            layout.symbol_len(),
            num.sample_period_s(),
        );
        let mut modem = OfdmModem::new(&num);
        let mut rng = seeds.child("frame-content").rng();
        let qpsk = |r: &mut crate::rng::SimRng| {
            C64::new(
                if r.random() {
                    FRAC_1_SQRT_2
                } else {
                    -FRAC_1_SQRT_2
                },
                if r.random() {
                    FRAC_1_SQRT_2
                } else {
                    -FRAC_1_SQRT_2
                },
            )
        };
        let data: Vec<Vec<C64>> = (0..self.frame_symbols)
            .map(|_| (0..num.n_used()).map(|_| qpsk(&mut rng)).collect())
            .collect();
        let tx = layout.master_frame(&mut modem, &data);
        let n_sym = tx.len() / sl;

        // master → secondary channel: 3 Rayleigh taps, then a fractional delay of 4–5 samples
        let pdp = PowerDelayProfile::exponential(3, 1.0);
        let taps = pdp.draw(&mut rng);
        let delay = 4.0 + rng.random_range(0.0..1.0);
        // oscillators: relative phase ψ = ϕ_master − ϕ_secondary, linear within a symbol
        let spec = self.oscillator;
        let mut osc_rng: Vec<_> = (0..2)
            .map(|i| seeds.child("oscillator").index(i).rng())
            .collect();
        let mut oscs: Vec<Oscillator> = (0..2)
            .map(|i| Oscillator::new(spec.draw(self.carrier_hz, &mut osc_rng[i])))
            .collect();
        // the propagation delay slides by ε per sample with the sampling clocks
        let link = Link {
            taps,
            delay_samples: delay,
            clock_offset: self.sampling_clock.relative_offset(
                oscs[0].params(),
                oscs[1].params(),
                self.carrier_hz,
                &mut seeds.child("sampling-clock").rng(),
            ),
            block_len: sl,
            interp_half_len: 16,
        };
        let mut y = link.propagate(&tx, tx.len() + 64);
        let horizon = n_sym + self.lookahead_symbols.ceil() as usize + 2;
        let [master, secondary] = &mut oscs[..] else {
            unreachable!("two oscillators")
        };
        let [master_rng, secondary_rng] = &mut osc_rng[..] else {
            unreachable!("two streams")
        };
        let carrier = CarrierPath::record(
            (master, master_rng),
            (secondary, secondary_rng),
            0.0,
            horizon,
            sl,
            ts,
        );
        carrier.rotate(&mut y);
        // the receiver listens for `lead` samples before the frame arrives
        let lead = 2 * cp;
        y.splice(0..0, std::iter::repeat_n(C64::default(), lead));
        // the true drift at each symbol's FFT-window centre
        let psi_centre: Vec<f64> = (0..horizon)
            .map(|s| carrier.phase_at((s * sl + cp + n / 2) as f64))
            .collect();

        // noise at the pilot SNR as the secondary measures it: the received tone power (mean over
        // the tones of |H(k)|²·P_tone) over the noise per FFT bin — the thesis' "pilot SNR at the
        // secondary", a property of its fixed link, not an average over fading
        let tone_rx_power = layout.tone_power
            * layout
                .tones
                .iter()
                .map(|&k| pdp.frequency_response(&link.taps, n, k).norm_sqr())
                .sum::<f64>()
            / layout.tones.len() as f64;
        let noise_var = tone_rx_power / db_to_lin(snr_db);
        let per_bin_self =
            db_to_lin(self.self_interference_db) * tone_rx_power * layout.tones.len() as f64
                / num.n_used() as f64;
        let self_phase = cis(rng.random_range(0.0..TAU));
        // the secondary's own data symbols (data band only), as its receiver sees them
        let mut own_tx = vec![C64::default(); (n_sym + 1) * sl];
        let mut bins = vec![C64::default(); n];
        for sym in own_tx.chunks_mut(sl) {
            for &k in &num.used {
                bins[num.bin(k)] = qpsk(&mut rng) * per_bin_self.sqrt() * self_phase;
            }
            modem.modulate_bins(&bins, cp, sym);
        }
        // it transmits only once it tracks (from symbol `track_start` on): the preamble and the
        // probe arrive while it listens
        let own_from = lead + (self.track_start - 1) * sl + self.self_timing_offset;
        for (i, v) in y.iter_mut().enumerate().skip(own_from) {
            if let Some(o) = own_tx.get(i - lead - self.self_timing_offset) {
                *v += o;
            }
        }
        add_awgn(
            &mut y,
            noise_var,
            &mut seeds.child("noise").index(case as u64).rng(),
        );
        let power = y.iter().map(|v| v.norm_sqr()).sum::<f64>() / y.len() as f64;
        Adc::with_backoff(self.adc_bits, power, self.adc_backoff_db).quantize(&mut y);

        // the secondary
        let timing = acquire(&y, &layout.preamble_samples(&mut modem), lead, 2 * cp);
        let true_start = lead + (delay.round() as usize) + cp; // preamble's useful part, first tap
        let mut errs = CaseErrors::default();
        if timing.start.abs_diff(true_start) > cp / 2 {
            errs.timing_failures = 1;
            return errs;
        }
        let start = timing.start - cp - self.timing_backoff;
        let sliding = SlidingSlope::new(self.window, Extrapolation::FromLatest);
        let mut sec = ToneSecondary::new(layout.clone(), Box::new(sliding), self.lookahead_symbols);
        sec.calibrate(&y[start + sl..start + 2 * sl]);
        let step_s = sl as f64 * ts;
        let r = 1.0 / (2.0 * db_to_lin(snr_db) * layout.tones.len() as f64);
        let mut kalman = KalmanTracker::new(KalmanParams::new(
            step_s,
            2.0 * TAU * self.oscillator.linewidth_hz,
            2.0 * self.oscillator.freq_walk_hz2_per_s,
            r,
        ));
        let mut measured = 0;
        for s in (self.track_start - 1)..n_sym {
            let phase = sec.measure(&y[start + s * sl..start + (s + 1) * sl]);
            kalman.update(phase);
            measured += 1;
            if measured > self.window {
                let target = s as f64 + self.lookahead_symbols;
                let (lo, frac) = (target.floor() as usize, target.fract());
                let truth =
                    psi_centre[lo] + frac * (psi_centre[lo + 1] - psi_centre[lo]) - psi_centre[1];
                errs.sliding
                    .push(rad_to_deg(wrap_phase(sec.predicted_drift_rad() - truth)));
                errs.kalman.push(rad_to_deg(wrap_phase(
                    kalman.predict(self.lookahead_symbols) - truth,
                )));
            }
        }
        errs.symbol = self.symbol_level(seeds, case, snr_db, n_sym);
        errs
    }

    /// The same frame at symbol level: the same two oscillators (redrawn from the same streams),
    /// the tones' measurement drawn as the true phase plus noise of their CRB, the same window and
    /// look-ahead; residuals (degrees) at the symbols the sample level scores (probe = symbol 0).
    fn symbol_level(&self, seeds: SeedTree, case: usize, snr_db: f64, n_sym: usize) -> Vec<f64> {
        let layout = ToneLayout::airsync_default();
        let t_sym = layout.symbol_len() as f64 * layout.numerology.sample_period_s();
        let osc = |i: u64| {
            let mut rng = seeds.child("oscillator").index(i).rng();
            let o = Oscillator::new(self.oscillator.draw(self.carrier_hz, &mut rng));
            (o, rng)
        };
        let d = self.lookahead_symbols.round() as usize;
        let r = crb::intercept(layout.tones.len(), db_to_lin(snr_db));
        let mut sec = SymbolSecondary::new(osc(0), osc(1), self.window, d, r);
        // the sample level scores targets from (track_start − 1 + window) + d in frame symbols,
        // i.e. one less counted from the probe
        let first = self.track_start - 2 + self.window + d;
        let n = n_sym - 1;
        if first >= n {
            return Vec::new();
        }
        let mut rng = seeds.child("symbol-noise").index(case as u64).rng();
        sec.packet(t_sym, t_sym, n, first, &mut rng)[first..]
            .iter()
            .map(|e| rad_to_deg(*e))
            .collect()
    }
}

fn std(x: &[f64]) -> f64 {
    let m = x.iter().sum::<f64>() / x.len() as f64;
    (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1).max(1) as f64).sqrt()
}

/// The error function (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7), for the Gaussian overlay.
fn erf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-x * x).exp();
    y.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_values() {
        assert!((erf(0.0)).abs() < 1e-7);
        assert!((erf(1.0) - 0.842_700_79).abs() < 2e-7);
        assert!((erf(-2.0) + 0.995_322_27).abs() < 2e-7);
    }
}

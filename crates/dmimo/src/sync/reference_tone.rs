//! Reference-tone synchronization: AirSync (Balan, PhD thesis, USC 2013, Ch. 3; notes/003 §2).
//!
//! **Who transmits when.** A master AP sends, in every OFDM symbol of a packet, reference tones
//! outside the data band (about ±7.5 MHz around a 5 MHz data band), and at the head of a packet a
//! PN preamble and a channel-probing symbol ([`ToneLayout::master_frame`]).
//!
//! **What is estimated.** A secondary AP dedicates a receive chain to the master's signal and, per
//! packet: acquires symbol timing from the preamble ([`crate::estimation::timing::acquire`]),
//! takes each tone's phase from the probe as its reference ([`ToneSecondary::calibrate`]), then
//! measures, symbol by symbol, the common phase of the tones relative to that reference — the
//! master's carrier phase relative to its own, since one LO drives its TX and RX chains
//! ([`ToneSecondary::measure`]) — and feeds it to a [`PhaseTracker`] (AirSync: a 4-symbol sliding
//! slope; or a Kalman tracker).
//!
//! **How it is corrected.** The tracker extrapolates the drift `lookahead` symbols ahead — the
//! pipeline delay between deciding a correction and its reaching the air — and the secondary
//! rotates its frequency-domain data by that phase before the IFFT ([`ToneSecondary::transmit`]),
//! so its signal carries the master's phase when it leaves the antenna.
//!
//! Choices the thesis leaves open (notes/003 §8 items 1–3), here configurable: the numerology
//! ([`ToneLayout::airsync_default`]: 20 Msps, N = 256, CP 64, data on the central 64 bins = 5 MHz,
//! tones on bins ±96 = ±7.5 MHz); how tones combine (one common phase, Σ_k Y_k·conj(ref_k), which
//! weights each tone by its received amplitude); the tracker and the look-ahead.
//!
//! Two fidelity levels (DESIGN "fidelity ladder"): [`ToneSecondary`] works on received samples;
//! [`SymbolSecondary`] draws each symbol's tone measurement as the true phase plus Gaussian noise
//! of the tones' CRB, for experiments that need many APs and packets. `airsync.phase-error` runs
//! both on the same oscillators and reports how well they agree.

use crate::estimation::tracking::{Extrapolation, PhaseTracker, SlidingSlope};
use crate::radio::ofdm::{Numerology, OfdmModem};
use crate::radio::oscillator::Oscillator;
use crate::radio::qam::pilot_sequence;
use crate::rng::SimRng;
use crate::units::{cis, wrap_phase, C64};
use rand::Rng;
use rand_distr::StandardNormal;

/// Where the data and the reference tones sit.
#[derive(Clone, Debug, PartialEq)]
pub struct ToneLayout {
    /// The numerology; `used` are the data subcarriers.
    pub numerology: Numerology,
    /// Reference-tone subcarriers (relative to DC), outside the data band.
    pub tones: Vec<i32>,
    /// Power of each tone relative to one data subcarrier (linear).
    pub tone_power: f64,
}

impl ToneLayout {
    /// AirSync-like layout (notes/003 §7.2 item 2, our assumption): 20 Msps, N = 256
    /// (78.125 kHz spacing), CP 64 (3.2 µs), data on ±1..±32 (5 MHz), tones on ±96 (±7.5 MHz)
    /// at the power of a data subcarrier.
    pub fn airsync_default() -> Self {
        ToneLayout {
            numerology: Numerology::custom(256, 64, 20e6, 64).expect("valid numerology"),
            tones: vec![-96, 96],
            tone_power: 1.0,
        }
    }

    /// Samples per OFDM symbol (CP + N).
    pub fn symbol_len(&self) -> usize {
        self.numerology.symbol_len(0)
    }

    /// The PN preamble's and the probe's bins: BPSK on data and tone subcarriers (tones at their
    /// power).
    fn known_bins(&self, seed: usize) -> Vec<C64> {
        let n = self.numerology.n_fft;
        let mut bins = vec![C64::default(); n];
        let pn = pilot_sequence(self.numerology.used.len() + self.tones.len() + seed);
        for (i, &k) in self.numerology.used.iter().enumerate() {
            bins[self.numerology.bin(k)] = pn[i + seed];
        }
        for (i, &k) in self.tones.iter().enumerate() {
            bins[self.numerology.bin(k)] =
                pn[self.numerology.used.len() + i + seed] * self.tone_power.sqrt();
        }
        bins
    }

    /// The tone values the master sends in every symbol.
    pub fn tone_values(&self) -> Vec<C64> {
        self.tones
            .iter()
            .map(|_| C64::new(self.tone_power.sqrt(), 0.0))
            .collect()
    }

    /// The master's packet head and body as time samples: symbol 0 the PN preamble, symbol 1 the
    /// probe, then `data.len()` symbols each carrying `data[s]` (one value per data subcarrier)
    /// and the reference tones.
    pub fn master_frame(&self, modem: &mut OfdmModem, data: &[Vec<C64>]) -> Vec<C64> {
        let (n, sl, cp) = (
            self.numerology.n_fft,
            self.symbol_len(),
            self.numerology.cp_len(0),
        );
        let mut out = vec![C64::default(); sl * (2 + data.len())];
        for (s, bins) in [self.known_bins(0), self.known_bins(7)].iter().enumerate() {
            modem.modulate_bins(bins, cp, &mut out[s * sl..(s + 1) * sl]);
        }
        let mut bins = vec![C64::default(); n];
        let tones = self.tone_values();
        for (s, d) in data.iter().enumerate() {
            bins.iter_mut().for_each(|b| *b = C64::default());
            for (&k, v) in self.numerology.used.iter().zip(d) {
                bins[self.numerology.bin(k)] = *v;
            }
            for (&k, v) in self.tones.iter().zip(&tones) {
                bins[self.numerology.bin(k)] = *v;
            }
            modem.modulate_bins(&bins, cp, &mut out[(s + 2) * sl..(s + 3) * sl]);
        }
        out
    }

    /// The preamble's useful part (N samples, no CP) in time, for timing acquisition.
    pub fn preamble_samples(&self, modem: &mut OfdmModem) -> Vec<C64> {
        let (n, cp) = (self.numerology.n_fft, self.numerology.cp_len(0));
        let mut sym = vec![C64::default(); n + cp];
        modem.modulate_bins(&self.known_bins(0), cp, &mut sym);
        sym[cp..].to_vec()
    }

    /// The probe's tone values (what [`ToneSecondary::calibrate`] compares against).
    pub fn probe_tone_values(&self) -> Vec<C64> {
        let bins = self.known_bins(7);
        self.tones
            .iter()
            .map(|&k| bins[self.numerology.bin(k)])
            .collect()
    }
}

/// A secondary AP's tone tracker and transmitter (see the module doc).
pub struct ToneSecondary {
    layout: ToneLayout,
    modem: OfdmModem,
    bins: Vec<C64>,
    tone_bins: Vec<usize>,
    /// The values the master puts on the tones in every symbol.
    tone_values: Vec<C64>,
    /// Per tone: conj(Y_probe / X_probe), so Σ Y_k·reference_k has phase 0 at the probe.
    reference: Vec<C64>,
    tracker: Box<dyn PhaseTracker + Send>,
    lookahead: f64,
}

impl ToneSecondary {
    /// A secondary with a tracker and a look-ahead (symbols between measurement and air).
    pub fn new(layout: ToneLayout, tracker: Box<dyn PhaseTracker + Send>, lookahead: f64) -> Self {
        let modem = OfdmModem::new(&layout.numerology);
        let tone_bins = layout
            .tones
            .iter()
            .map(|&k| layout.numerology.bin(k))
            .collect();
        let n = layout.numerology.n_fft;
        let k = layout.tones.len();
        let tone_values = layout.tone_values();
        ToneSecondary {
            layout,
            modem,
            bins: vec![C64::default(); n],
            tone_bins,
            tone_values,
            reference: vec![C64::new(1.0, 0.0); k],
            tracker,
            lookahead,
        }
    }

    /// The layout.
    pub fn layout(&self) -> &ToneLayout {
        &self.layout
    }

    /// Takes each tone's reference from the probe symbol (CP + N samples at the acquired timing):
    /// reference_k = conj(Y_k / X_k), so the combination Σ_k (Y_k/t_k)·reference_k has phase 0 at
    /// the probe and weights each tone by its received power (maximal-ratio combining).
    pub fn calibrate(&mut self, probe_symbol: &[C64]) {
        let cp = self.layout.numerology.cp_len(0);
        self.modem.demodulate_bins(probe_symbol, cp, &mut self.bins);
        let x = self.layout.probe_tone_values();
        for ((r, &b), xk) in self.reference.iter_mut().zip(&self.tone_bins).zip(&x) {
            *r = (self.bins[b] / xk).conj();
        }
    }

    /// Measures the tones' common phase in one received symbol relative to the probe (wrapped,
    /// rad), feeds it to the tracker and returns it.
    pub fn measure(&mut self, symbol: &[C64]) -> f64 {
        let cp = self.layout.numerology.cp_len(0);
        self.modem.demodulate_bins(symbol, cp, &mut self.bins);
        let z: C64 = self
            .tone_bins
            .iter()
            .zip(&self.reference)
            .zip(&self.tone_values)
            .map(|((&b, r), t)| self.bins[b] / t * r)
            .sum();
        let phase = z.arg();
        self.tracker.update(phase);
        phase
    }

    /// The master-minus-own phase drift since the probe, predicted `lookahead` symbols after the
    /// latest measurement (rad, unwrapped in the tracker's frame).
    pub fn predicted_drift_rad(&self) -> f64 {
        self.tracker.predict(self.lookahead)
    }

    /// Builds one transmit symbol: data (one value per data subcarrier) rotated by the predicted
    /// drift, IFFT, CP (the secondary's TX chain then adds its own LO phase, which the rotation
    /// compensates).
    pub fn transmit(&mut self, data: &[C64], out: &mut [C64]) {
        let rot = cis(self.predicted_drift_rad());
        let cp = self.layout.numerology.cp_len(0);
        self.bins.iter_mut().for_each(|b| *b = C64::default());
        for (&k, v) in self.layout.numerology.used.iter().zip(data) {
            self.bins[self.layout.numerology.bin(k)] = v * rot;
        }
        self.modem.modulate_bins(&self.bins, cp, out);
    }
}

/// AirSync's secondary at symbol level: the master's and the secondary's oscillators keep running
/// across packets; per packet (symbol 0 = the probe, symbols `t_sym_s` apart), with ψ(t) the
/// master's carrier phase minus the secondary's:
///
/// * the tones' common phase is measured as z_t = wrap(ψ(t) + e_t), e_t ~ N(0, r) — r the CRB of
///   the tones' intercept, [`crate::estimation::crb::intercept`]`(tones, SNR)` = 1/(2·tones·SNR);
/// * the correction of the symbol on air at t is decided from z_0 … z_{t−d} by a
///   [`SlidingSlope`] of `window` symbols predicting d symbols ahead, relative to the probe's
///   z_0 (the anchor);
/// * its residual is p̂(t) − z_0 − (ψ(t) − ψ(0)), the quantity [`ToneSecondary`]'s prediction
///   error measures at sample level.
pub struct SymbolSecondary {
    master: (Oscillator, SimRng),
    secondary: (Oscillator, SimRng),
    window: usize,
    lookahead_symbols: usize,
    measurement_var_rad2: f64,
}

impl SymbolSecondary {
    /// A secondary tracking `master`; each oscillator advances on its own stream.
    ///
    /// # Panics
    /// If `window` is 0 or `measurement_var_rad2` is negative.
    #[track_caller]
    pub fn new(
        master: (Oscillator, SimRng),
        secondary: (Oscillator, SimRng),
        window: usize,
        lookahead_symbols: usize,
        measurement_var_rad2: f64,
    ) -> Self {
        assert!(window > 0 && measurement_var_rad2 >= 0.0);
        SymbolSecondary {
            master,
            secondary,
            window,
            lookahead_symbols,
            measurement_var_rad2,
        }
    }

    /// One packet of `n_sym` symbols from `t_start_s` (the probe): the residual phase (rad,
    /// wrapped) of every symbol from `first_tx_symbol` on (earlier entries 0; `first_tx_symbol`
    /// must be ≥ the look-ahead). `rng` draws the measurement noise.
    ///
    /// # Panics
    /// If `first_tx_symbol` < the look-ahead, or an oscillator is already past `t_start_s`.
    #[track_caller]
    pub fn packet(
        &mut self,
        t_start_s: f64,
        t_sym_s: f64,
        n_sym: usize,
        first_tx_symbol: usize,
        rng: &mut SimRng,
    ) -> Vec<f64> {
        let d = self.lookahead_symbols;
        assert!(
            first_tx_symbol >= d,
            "SymbolSecondary::packet: first_tx_symbol < look-ahead"
        );
        let sigma = self.measurement_var_rad2.sqrt();
        let (mut psi, mut z) = (Vec::with_capacity(n_sym), Vec::with_capacity(n_sym));
        for s in 0..n_sym {
            let t = t_start_s + s as f64 * t_sym_s;
            let (m, rm) = &mut self.master;
            let (o, ro) = &mut self.secondary;
            m.advance_to(t, rm);
            o.advance_to(t, ro);
            let p = m.phase_rad() - o.phase_rad();
            psi.push(p);
            let e: f64 = rng.sample(StandardNormal);
            z.push(wrap_phase(p + sigma * e));
        }
        let mut tracker = SlidingSlope::new(self.window, Extrapolation::FromLatest);
        let mut residual = vec![0.0; n_sym];
        let mut fed = 0;
        for (s, r) in residual.iter_mut().enumerate().skip(first_tx_symbol) {
            while fed <= s - d {
                tracker.update(z[fed]);
                fed += 1;
            }
            *r = wrap_phase(tracker.predict(d as f64) - z[0] - (psi[s] - psi[0]));
        }
        residual
    }

    /// The master's frequency offset minus the secondary's at the current time (Hz).
    pub fn relative_frequency_hz(&self) -> f64 {
        self.master.0.frequency_offset_hz() - self.secondary.0.frequency_offset_hz()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::estimation::timing::acquire;
    use crate::estimation::tracking::StepNoise;
    use crate::radio::oscillator::OscillatorParams;
    use crate::rng::SeedTree;
    use std::f64::consts::TAU;

    /// With static oscillators (a constant relative CFO) and white measurement noise, the
    /// residual's variance is the sliding slope's prediction variance plus the anchor's r
    /// ([`SlidingSlope::steady_state_prediction_var`]); noiseless, the residual is 0.
    #[test]
    fn symbol_secondary_residual_variance() {
        let osc = |hz: f64, i: u64| {
            (
                Oscillator::new(OscillatorParams::static_offset(hz)),
                SeedTree::new(5).index(i).rng(),
            )
        };
        let (w, d, r) = (4, 3, 1e-3);
        let mut noiseless = SymbolSecondary::new(osc(1500.0, 0), osc(-700.0, 1), w, d, 0.0);
        let res = noiseless.packet(0.0, 16e-6, 40, 8, &mut SeedTree::new(1).rng());
        assert!(res.iter().all(|e| e.abs() < 1e-9), "{res:?}");
        let mut sec = SymbolSecondary::new(osc(1500.0, 0), osc(-700.0, 1), w, d, r);
        let mut rng = SeedTree::new(2).rng();
        let (mut sum2, mut n) = (0.0, 0);
        for p in 0..2000 {
            for e in sec
                .packet(p as f64 * 1e-3, 16e-6, 20, 10, &mut rng)
                .iter()
                .skip(10)
            {
                sum2 += e * e;
                n += 1;
            }
        }
        let noise = StepNoise {
            measurement_rad2: r,
            ..StepNoise::default()
        };
        let want = SlidingSlope::steady_state_prediction_var(w, d as f64, noise) + r;
        let got = sum2 / n as f64;
        // 20,000 correlated samples (2,000 independent anchors): ±10% is > 3σ
        assert!((got / want - 1.0).abs() < 0.1, "{got} vs {want}");
    }

    /// Noiseless: a master whose phase runs ahead at a constant CFO is tracked, and the prediction
    /// d symbols ahead matches the drift, up to the CFO's inter-carrier interference (ε = 0.048
    /// bin): the data band is left empty (an all-ones band would leak ~0.03 rad coherently), but
    /// the probe's 64 BPSK data bins still leak ≲ √64·sin(πε)/(π·64) ≈ 6e-3 rad into the tones.
    /// Any error in the chain (timing, sign, symbol count) would show as ≥ 0.38 rad.
    const ICI_TOL: f64 = 6e-3;

    #[test]
    fn noiseless_constant_cfo_is_tracked() {
        let layout = ToneLayout::airsync_default();
        let mut modem = OfdmModem::new(&layout.numerology);
        let data: Vec<Vec<C64>> = (0..30).map(|_| vec![C64::default(); 64]).collect();
        let tx = layout.master_frame(&mut modem, &data);
        let (sl, ts) = (layout.symbol_len(), layout.numerology.sample_period_s());
        let cfo = 3750.0;
        // channel: 10-sample delay and a fixed phase; CFO rotation sample by sample
        let mut rx = vec![C64::default(); tx.len() + 40];
        for (i, x) in tx.iter().enumerate() {
            rx[i + 10] = x * cis(0.4 + TAU * cfo * (i as f64) * ts);
        }
        let t = acquire(&rx, &layout.preamble_samples(&mut modem), 0, 120);
        assert_eq!(t.start, 10 + layout.numerology.cp_len(0));
        let start = t.start - layout.numerology.cp_len(0);
        let mut sec = ToneSecondary::new(
            layout.clone(),
            Box::new(SlidingSlope::airsync(Extrapolation::FromLatest)),
            3.0,
        );
        sec.calibrate(&rx[start + sl..start + 2 * sl]);
        let per_symbol = TAU * cfo * sl as f64 * ts;
        for s in 0..30 {
            let sym = &rx[start + (s + 2) * sl..start + (s + 3) * sl];
            let m = sec.measure(sym);
            assert!(
                wrap_phase(m - per_symbol * (s + 1) as f64).abs() < ICI_TOL,
                "symbol {s}: {m}"
            );
            if s >= 5 {
                let want = per_symbol * (s + 1 + 3) as f64;
                assert!(wrap_phase(sec.predicted_drift_rad() - want).abs() < 2.0 * ICI_TOL);
            }
        }
    }
}

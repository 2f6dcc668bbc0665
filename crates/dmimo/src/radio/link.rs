//! Sample-level links: what one node's transmitted samples become at another node's receiver.
//!
//! A [`Link`] is the propagation part — integer-spaced multipath taps (path gain included) and a
//! fractional propagation delay that slides with the two nodes' relative sampling clock. The
//! carrier part is the relative phase ψ(t) = ϕ_tx(t) − ϕ_rx(t) of the two oscillators (one LO
//! drives each node's TX and RX chains): [`rotate_linear`] for a stretch over which ψ is linear,
//! [`CarrierPath`] for a long signal, recorded once per block from two [`Oscillator`]s. Noise and
//! the front end ([`crate::radio::frontend::Adc`], [`crate::channel::waveform::add_awgn`]) are the
//! receiver's. Times are receiver samples: a node only ever sees its own clock.
//!
//! Used by the AirSync secondary (`airsync.phase-error`) and DistSync's beacon slot
//! ([`crate::sync::pairwise_beacons`]).

use crate::channel::waveform::FractionalDelay;
use crate::radio::oscillator::Oscillator;
use crate::rng::SimRng;
use crate::units::{cis, C64};
use std::f64::consts::TAU;

/// The propagation from one node's DAC to another's ADC, in receiver samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Link {
    /// Multipath taps at whole-sample spacing (complex amplitude, path gain included);
    /// `[1]` is a flat unit channel.
    pub taps: Vec<C64>,
    /// Propagation delay of the first tap at the start of the signal (receiver samples, ≥ 0).
    pub delay_samples: f64,
    /// Relative sampling-clock offset ε: the receiver's samples slide against the transmitter's by
    /// ε per sample, so the delay at receiver sample i is `delay_samples − ε·i`
    /// ([`crate::radio::oscillator::SamplingClock::relative_offset`]).
    pub clock_offset: f64,
    /// The sliding delay is held constant over blocks of this many samples (evaluated at the
    /// block's centre); the slide within a block of 320 samples at ε = 2·10⁻⁶ is 6·10⁻⁴ sample.
    pub block_len: usize,
    /// Half length of the windowed-sinc interpolator ([`FractionalDelay`]).
    pub interp_half_len: usize,
}

impl Link {
    /// A flat unit channel with a fixed delay (samples).
    pub fn flat(delay_samples: f64) -> Self {
        Link {
            taps: vec![C64::new(1.0, 0.0)],
            delay_samples,
            clock_offset: 0.0,
            block_len: 256,
            interp_half_len: 16,
        }
    }

    /// Whether the link is a pure whole-sample delay of a unit tap (nothing to filter).
    fn is_identity(&self) -> bool {
        self.taps == [C64::new(1.0, 0.0)]
            && self.clock_offset == 0.0
            && self.delay_samples.fract() == 0.0
    }

    /// The first `out_len` receiver samples of the transmitted samples `tx` after the link:
    /// `y[i] = Σ_l h_l · x(i − l − τ(i))`, τ(i) = `delay_samples` − ε·i held per block, x
    /// band-limited-interpolated between samples and zero outside `tx`.
    ///
    /// # Panics
    /// If the delay becomes negative within `out_len` samples, or `block_len` is 0.
    #[track_caller]
    pub fn propagate(&self, tx: &[C64], out_len: usize) -> Vec<C64> {
        assert!(self.block_len > 0, "Link::propagate: block_len must be > 0");
        let mut y: Vec<C64> = (0..out_len)
            .map(|i| {
                self.taps
                    .iter()
                    .enumerate()
                    .filter(|(l, _)| i >= *l && i - l < tx.len())
                    .map(|(l, h)| tx[i - l] * h)
                    .sum()
            })
            .collect();
        if self.is_identity() {
            let d = self.delay_samples as usize;
            y.rotate_right(d.min(out_len));
            y[..d.min(out_len)].fill(C64::default());
            return y;
        }
        let b = self.block_len;
        let filters: Vec<FractionalDelay> = (0..out_len.div_ceil(b))
            .map(|k| {
                FractionalDelay::new(
                    self.delay_samples - self.clock_offset * (k * b + b / 2) as f64,
                    self.interp_half_len,
                )
            })
            .collect();
        (0..out_len).map(|i| filters[i / b].output(&y, i)).collect()
    }
}

/// Multiplies `y` by the carrier rotation e^{j(ψ₀ + 2π·f·i/f_s)}, i = 0, 1, … (a relative phase
/// ψ₀ rad at the first sample and a relative frequency `freq_hz`), by a phasor recursion
/// renormalized every 1024 samples.
pub fn rotate_linear(y: &mut [C64], phase_rad: f64, freq_hz: f64, sample_rate_hz: f64) {
    let step = cis(TAU * freq_hz / sample_rate_hz);
    let mut rot = cis(phase_rad);
    for (i, v) in y.iter_mut().enumerate() {
        *v *= rot;
        rot *= step;
        if i % 1024 == 1023 {
            rot /= rot.norm();
        }
    }
}

/// The relative carrier phase ψ = ϕ_tx − ϕ_rx of a link, recorded at the start of every block of
/// `block_len` receiver samples and taken linear within a block (phase noise and frequency walk
/// within one OFDM symbol are ~10⁻³ rad at WARP-like levels).
#[derive(Clone, Debug)]
pub struct CarrierPath {
    block_len: usize,
    sample_period_s: f64,
    /// ψ at each block's first sample (rad, unwrapped).
    phase_rad: Vec<f64>,
    /// f_tx − f_rx over each block (Hz).
    freq_hz: Vec<f64>,
}

impl CarrierPath {
    /// Advances both oscillators block by block from their current time (the first block starts
    /// at `t0_s`) and records their phase and frequency difference; each oscillator draws its
    /// increments from its own stream.
    ///
    /// # Panics
    /// If `blocks` or `block_len` is 0, or an oscillator is already past `t0_s`.
    #[track_caller]
    pub fn record(
        tx: (&mut Oscillator, &mut SimRng),
        rx: (&mut Oscillator, &mut SimRng),
        t0_s: f64,
        blocks: usize,
        block_len: usize,
        sample_period_s: f64,
    ) -> Self {
        assert!(blocks > 0 && block_len > 0, "CarrierPath: empty");
        let (mut phase_rad, mut freq_hz) = (Vec::with_capacity(blocks), Vec::with_capacity(blocks));
        for k in 0..blocks {
            let t = t0_s + (k * block_len) as f64 * sample_period_s;
            tx.0.advance_to(t, tx.1);
            rx.0.advance_to(t, rx.1);
            phase_rad.push(tx.0.phase_rad() - rx.0.phase_rad());
            freq_hz.push(tx.0.frequency_offset_hz() - rx.0.frequency_offset_hz());
        }
        CarrierPath {
            block_len,
            sample_period_s,
            phase_rad,
            freq_hz,
        }
    }

    /// Number of samples covered.
    pub fn len(&self) -> usize {
        self.phase_rad.len() * self.block_len
    }

    /// Whether no sample is covered (never, by construction).
    pub fn is_empty(&self) -> bool {
        self.phase_rad.is_empty()
    }

    /// ψ at receiver sample position `sample` (fractional), linear within its block; beyond the
    /// last block the last block's frequency is extrapolated.
    pub fn phase_at(&self, sample: f64) -> f64 {
        let k = ((sample / self.block_len as f64).floor().max(0.0) as usize)
            .min(self.phase_rad.len() - 1);
        let dt = (sample - (k * self.block_len) as f64) * self.sample_period_s;
        self.phase_rad[k] + TAU * self.freq_hz[k] * dt
    }

    /// Multiplies `y[i]` by e^{jψ(i)}, block by block ([`rotate_linear`] within each block);
    /// samples beyond the recorded blocks continue the last block's frequency.
    pub fn rotate(&self, y: &mut [C64]) {
        let fs = 1.0 / self.sample_period_s;
        let last = self.phase_rad.len() - 1;
        for (k, chunk) in y.chunks_mut(self.block_len).enumerate() {
            if k < last {
                rotate_linear(chunk, self.phase_rad[k], self.freq_hz[k], fs);
            } else {
                let start = (k * self.block_len) as f64;
                let rest = &mut y[k * self.block_len..];
                rotate_linear(rest, self.phase_at(start), self.freq_hz[last], fs);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radio::oscillator::OscillatorParams;
    use crate::rng::SeedTree;

    fn chirp(n: usize) -> Vec<C64> {
        (0..n)
            .map(|i| cis(0.002 * (i * i) as f64 + 0.3 * i as f64) * 0.5)
            .collect()
    }

    #[test]
    fn flat_integer_link_is_a_shift() {
        let x = chirp(50);
        let y = Link::flat(7.0).propagate(&x, 60);
        assert!(y[..7].iter().all(|v| v.norm() == 0.0));
        assert_eq!(&y[7..57], &x[..50]);
    }

    #[test]
    fn multipath_is_a_convolution() {
        let x = chirp(40);
        let link = Link {
            taps: vec![C64::new(0.8, 0.1), C64::new(-0.3, 0.4)],
            ..Link::flat(0.0)
        };
        let y = link.propagate(&x, 41);
        for i in 0..41 {
            let want = x.get(i).map_or(C64::default(), |v| v * link.taps[0])
                + if i >= 1 {
                    x[i - 1] * link.taps[1]
                } else {
                    C64::default()
                };
            assert!((y[i] - want).norm() < 1e-12, "sample {i}");
        }
    }

    #[test]
    fn fractional_delay_of_a_slow_tone_shifts_its_phase() {
        // a tone at 0.05 cycles/sample delayed by 3.4 samples: phase lag 2π·0.05·3.4
        let f = 0.05;
        let x: Vec<C64> = (0..400).map(|i| cis(TAU * f * i as f64)).collect();
        let y = Link::flat(3.4).propagate(&x, 400);
        for (i, v) in y.iter().enumerate().take(350).skip(50) {
            let want = cis(TAU * f * (i as f64 - 3.4));
            assert!((v - want).norm() < 1e-3, "sample {i}: {v}");
        }
    }

    #[test]
    fn sliding_clock_moves_the_delay() {
        // ε = 1e-4 over 20,000 samples slides the delay from 5 to 3 samples
        let f = 0.02;
        let x: Vec<C64> = (0..20_000).map(|i| cis(TAU * f * i as f64)).collect();
        let link = Link {
            clock_offset: 1e-4,
            block_len: 100,
            ..Link::flat(5.0)
        };
        let y = link.propagate(&x, 20_000);
        for &i in &[1_000usize, 10_000, 19_000] {
            let tau = 5.0 - 1e-4 * ((i / 100) * 100 + 50) as f64;
            let want = cis(TAU * f * (i as f64 - tau));
            assert!((y[i] - want).norm() < 1e-3, "sample {i}");
        }
    }

    #[test]
    fn rotate_linear_matches_cis() {
        let mut y = vec![C64::new(1.0, 0.0); 5000];
        rotate_linear(&mut y, 0.7, 1234.5, 20e6);
        for (i, v) in y.iter().enumerate() {
            let want = cis(0.7 + TAU * 1234.5 * i as f64 / 20e6);
            assert!((v - want).norm() < 1e-9, "sample {i}");
        }
    }

    #[test]
    fn carrier_path_follows_two_static_oscillators() {
        let p = |ppm: f64| OscillatorParams::static_offset(ppm * 2.4e3);
        let (mut a, mut b) = (Oscillator::new(p(1.0)), Oscillator::new(p(-0.5)));
        let (mut ra, mut rb) = (SeedTree::new(1).rng(), SeedTree::new(2).rng());
        let ts = 1.0 / 20e6;
        let path = CarrierPath::record((&mut a, &mut ra), (&mut b, &mut rb), 0.0, 10, 320, ts);
        assert_eq!(path.len(), 3200);
        let df = 1.5 * 2.4e3;
        for &s in &[0.0, 100.5, 1500.0, 3199.0, 4000.0] {
            assert!((path.phase_at(s) - TAU * df * s * ts).abs() < 1e-9, "{s}");
        }
        let mut y = vec![C64::new(1.0, 0.0); 4000];
        path.rotate(&mut y);
        for (i, v) in y.iter().enumerate().step_by(97) {
            assert!((v - cis(TAU * df * i as f64 * ts)).norm() < 1e-9, "{i}");
        }
    }
}

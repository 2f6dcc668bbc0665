//! OFDM numerologies and a modulator/demodulator.
//!
//! Conventions used throughout:
//! - Subcarrier `k` (an `i32`, relative to DC) sits at baseband frequency
//!   `k · Δf`, with `Δf = sample_rate_hz / n_fft`, and lives in FFT bin
//!   `k mod n_fft` (natural FFT order: DC first, negative frequencies in the
//!   upper half).
//! - Both transforms are **unitary**: time sample
//!   `x[n] = 1/√N · Σ_k X[k] · e^{+j2πkn/N}` and `X[k] = 1/√N · Σ_n x[n] · e^{−j2πkn/N}`,
//!   so the energy of the N useful time samples equals the energy of the N bins
//!   (Parseval). A cyclic prefix adds `cp_len` samples on top of that.
//! - One OFDM symbol in the time domain is `cp_len + n_fft` samples: the last
//!   `cp_len` samples of the IFFT output, then the whole IFFT output.

use std::sync::Arc;

use crate::units::C64;
use rustfft::{Fft, FftPlanner};

/// A parameter of a [`Numerology`] is outside its allowed range.
///
/// `param` names the offending field or constructor argument, `value` shows
/// what was given, and `allowed` describes the accepted values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid OFDM numerology: `{param}` = {value}; allowed: {allowed}")]
pub struct NumerologyError {
    /// Name of the offending parameter (e.g. `"n_fft"`, `"cp_len"`, `"used"`).
    pub param: &'static str,
    /// The rejected value, formatted for display.
    pub value: String,
    /// Human-readable description of the allowed values.
    pub allowed: String,
}

impl NumerologyError {
    fn new(param: &'static str, value: impl std::fmt::Display, allowed: impl Into<String>) -> Self {
        Self {
            param,
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }
}

/// OFDM numerology: FFT size, sample rate, cyclic-prefix pattern and
/// subcarrier allocation.
///
/// Fields are public for flexibility; [`Numerology::validate`] checks a
/// hand-built value (the named constructors always produce valid ones).
#[derive(Clone, Debug, PartialEq)]
pub struct Numerology {
    /// FFT size N (samples per useful symbol part).
    pub n_fft: usize,
    /// Complex baseband sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Cyclic-prefix length of each symbol of a slot, in samples; symbol `l`
    /// uses `cp_lens[l % cp_lens.len()]`. Non-empty.
    pub cp_lens: Vec<usize>,
    /// Occupied subcarrier indices relative to DC, strictly ascending, DC (0)
    /// excluded, each in `-(N/2) ..= (N-1)/2`.
    pub used: Vec<i32>,
    /// Pilot subcarriers: an ascending subset of `used`.
    pub pilots: Vec<i32>,
}

impl Numerology {
    /// 802.11a/g-like 20 MHz numerology: N = 64, 20 Msps (Δf = 312.5 kHz),
    /// CP = 16 samples (0.8 µs; 4 µs symbols), 52 used subcarriers ±1..=±26,
    /// pilots at ±7 and ±21.
    pub fn wifi20() -> Self {
        Self {
            n_fft: 64,
            sample_rate_hz: 20e6,
            cp_lens: vec![16],
            used: symmetric_used(52),
            pilots: vec![-21, -7, 7, 21],
        }
    }

    /// LTE 20 MHz numerology: N = 2048, 30.72 Msps (Δf = 15 kHz), normal CP
    /// `[160, 144, 144, 144, 144, 144, 144]` (a 0.5 ms slot of 7 symbols is
    /// exactly 15360 samples), 1200 used subcarriers ±1..=±600.
    ///
    /// Pilots: every subcarrier whose index is a multiple of 6 (±6, ±12, …,
    /// ±600; 200 pilots, i.e. every 6th used subcarrier, the CRS frequency
    /// spacing). This is a simplification: LTE's cell-specific reference
    /// signal pattern (which depends on symbol, antenna port and cell ID) is
    /// not modelled: here the same pilots are in every symbol.
    pub fn lte20() -> Self {
        let used = symmetric_used(1200);
        let pilots = used.iter().copied().filter(|k| k % 6 == 0).collect();
        Self {
            n_fft: 2048,
            sample_rate_hz: 30.72e6,
            cp_lens: vec![160, 144, 144, 144, 144, 144, 144],
            used,
            pilots,
        }
    }

    /// A custom numerology with a single CP length and `n_used` subcarriers
    /// split symmetrically around DC (±1..=±n_used/2), no pilots.
    ///
    /// # Errors
    /// Returns a [`NumerologyError`] naming the parameter if `n_fft < 2`,
    /// `cp_len >= n_fft`, `sample_rate_hz` is not finite and > 0, or `n_used`
    /// is odd, zero or `>= n_fft`.
    pub fn custom(
        n_fft: usize,
        cp_len: usize,
        sample_rate_hz: f64,
        n_used: usize,
    ) -> Result<Self, NumerologyError> {
        if n_fft < 2 {
            return Err(NumerologyError::new("n_fft", n_fft, "n_fft >= 2"));
        }
        if cp_len >= n_fft {
            return Err(NumerologyError::new(
                "cp_len",
                cp_len,
                format!("0 <= cp_len < n_fft = {n_fft}"),
            ));
        }
        if !(sample_rate_hz.is_finite() && sample_rate_hz > 0.0) {
            return Err(NumerologyError::new(
                "sample_rate_hz",
                sample_rate_hz,
                "finite and > 0",
            ));
        }
        if n_used == 0 || !n_used.is_multiple_of(2) || n_used >= n_fft {
            return Err(NumerologyError::new(
                "n_used",
                n_used,
                format!("even, 0 < n_used < n_fft = {n_fft}"),
            ));
        }
        Ok(Self {
            n_fft,
            sample_rate_hz,
            cp_lens: vec![cp_len],
            used: symmetric_used(n_used),
            pilots: Vec::new(),
        })
    }

    /// Checks the invariants documented on the fields.
    ///
    /// # Errors
    /// A [`NumerologyError`] naming the first field that violates them.
    pub fn validate(&self) -> Result<(), NumerologyError> {
        let n = self.n_fft;
        if n < 2 || n > i32::MAX as usize {
            return Err(NumerologyError::new("n_fft", n, "2 <= n_fft <= i32::MAX"));
        }
        if !(self.sample_rate_hz.is_finite() && self.sample_rate_hz > 0.0) {
            return Err(NumerologyError::new(
                "sample_rate_hz",
                self.sample_rate_hz,
                "finite and > 0",
            ));
        }
        if self.cp_lens.is_empty() || self.cp_lens.iter().any(|&c| c >= n) {
            return Err(NumerologyError::new(
                "cp_lens",
                format!("{:?}", self.cp_lens),
                format!("non-empty, each < n_fft = {n}"),
            ));
        }
        let (lo, hi) = (-((n / 2) as i32), ((n - 1) / 2) as i32);
        let used_ok = !self.used.is_empty()
            && self.used.windows(2).all(|w| w[0] < w[1])
            && self.used.iter().all(|&k| k != 0 && (lo..=hi).contains(&k));
        if !used_ok {
            return Err(NumerologyError::new(
                "used",
                format!("{} subcarriers", self.used.len()),
                format!("non-empty, strictly ascending, nonzero, each in {lo}..={hi}"),
            ));
        }
        let pilots_ok = self.pilots.windows(2).all(|w| w[0] < w[1])
            && self
                .pilots
                .iter()
                .all(|k| self.used.binary_search(k).is_ok());
        if !pilots_ok {
            return Err(NumerologyError::new(
                "pilots",
                format!("{:?}", self.pilots),
                "strictly ascending subset of `used`",
            ));
        }
        Ok(())
    }

    /// Subcarrier spacing Δf = `sample_rate_hz / n_fft`, Hz.
    pub fn subcarrier_spacing_hz(&self) -> f64 {
        self.sample_rate_hz / self.n_fft as f64
    }

    /// Sample period `1 / sample_rate_hz`, s.
    pub fn sample_period_s(&self) -> f64 {
        1.0 / self.sample_rate_hz
    }

    /// Cyclic-prefix length of symbol `l` of a slot, samples (`cp_lens` cycled).
    pub fn cp_len(&self, l: usize) -> usize {
        self.cp_lens[l % self.cp_lens.len()]
    }

    /// Total length of symbol `l` (N + CP), samples.
    pub fn symbol_len(&self, l: usize) -> usize {
        self.n_fft + self.cp_len(l)
    }

    /// Duration of symbol `l` including its CP, s.
    pub fn symbol_duration_s(&self, l: usize) -> f64 {
        self.symbol_len(l) as f64 * self.sample_period_s()
    }

    /// Number of symbols in one slot (`cp_lens.len()`).
    pub fn symbols_per_slot(&self) -> usize {
        self.cp_lens.len()
    }

    /// Length of one slot (sum of its symbol lengths), samples.
    pub fn slot_len(&self) -> usize {
        self.cp_lens.iter().map(|c| c + self.n_fft).sum()
    }

    /// FFT bin of subcarrier `k` in natural FFT order: `k mod n_fft`, in `0..n_fft`.
    pub fn bin(&self, k: i32) -> usize {
        (k as i64).rem_euclid(self.n_fft as i64) as usize
    }

    /// Used subcarriers that are not pilots, ascending.
    pub fn data_subcarriers(&self) -> Vec<i32> {
        self.used
            .iter()
            .copied()
            .filter(|k| self.pilots.binary_search(k).is_err())
            .collect()
    }

    /// Number of used (occupied) subcarriers.
    pub fn n_used(&self) -> usize {
        self.used.len()
    }
}

/// `-(n/2)..=-1, 1..=n/2` for even `n`.
fn symmetric_used(n_used: usize) -> Vec<i32> {
    let h = (n_used / 2) as i32;
    (-h..=h).filter(|&k| k != 0).collect()
}

/// OFDM modulator/demodulator for one [`Numerology`].
///
/// Plans the forward and inverse FFTs once and owns all scratch space, so
/// [`modulate`](Self::modulate) / [`demodulate`](Self::demodulate) do not
/// allocate. Transforms are unitary (1/√N on both directions; see the module
/// docs), with the scaling fused into the subcarrier mapping/extraction pass.
pub struct OfdmModem {
    numerology: Numerology,
    /// Number of used subcarriers.
    n_used: usize,
    /// The used subcarriers as runs of consecutive FFT bins, sorted by bin,
    /// so mapping/extraction are contiguous (vectorizable) copies.
    runs: Vec<Run>,
    scale: f64,
    fft: Arc<dyn Fft<f64>>,
    ifft: Arc<dyn Fft<f64>>,
    /// Length-N frequency-domain work buffer.
    freq: Vec<C64>,
    /// FFT scratch, long enough for every transform call made here.
    scratch: Vec<C64>,
}

impl std::fmt::Debug for OfdmModem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfdmModem")
            .field("numerology", &self.numerology)
            .finish_non_exhaustive()
    }
}

impl OfdmModem {
    /// Plans the FFTs and allocates scratch for `numerology`.
    ///
    /// # Panics
    /// If `numerology` fails [`Numerology::validate`] (message
    /// `"OfdmModem::new: invalid OFDM numerology: ..."`). Numerologies from
    /// the named constructors are always valid.
    #[track_caller]
    pub fn new(numerology: &Numerology) -> Self {
        if let Err(e) = numerology.validate() {
            panic!("OfdmModem::new: {e}");
        }
        let n = numerology.n_fft;
        let mut planner = FftPlanner::<f64>::new();
        let fft = planner.plan_fft_forward(n);
        let ifft = planner.plan_fft_inverse(n);
        let scratch_len = [
            fft.get_inplace_scratch_len(),
            fft.get_outofplace_scratch_len(),
            fft.get_immutable_scratch_len(),
            ifft.get_inplace_scratch_len(),
            ifft.get_outofplace_scratch_len(),
            ifft.get_immutable_scratch_len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        Self {
            n_used: numerology.used.len(),
            runs: bin_runs(numerology),
            scale: 1.0 / (n as f64).sqrt(),
            numerology: numerology.clone(),
            fft,
            ifft,
            freq: vec![C64::new(0.0, 0.0); n],
            scratch: vec![C64::new(0.0, 0.0); scratch_len],
        }
    }

    /// The numerology this modem was built for.
    pub fn numerology(&self) -> &Numerology {
        &self.numerology
    }

    /// FFT size N.
    pub fn n_fft(&self) -> usize {
        self.numerology.n_fft
    }

    /// Modulates one OFDM symbol.
    ///
    /// Places `used_values[i]` on subcarrier `numerology.used[i]` (all other
    /// bins zero), applies the unitary IFFT and prepends a cyclic prefix of
    /// the last `cp_len` samples. `out` receives `cp_len + N` samples.
    ///
    /// # Panics
    /// If `used_values.len() != n_used`, `cp_len > N` or
    /// `out.len() != N + cp_len`.
    #[track_caller]
    pub fn modulate(&mut self, used_values: &[C64], cp_len: usize, out: &mut [C64]) {
        let n = self.numerology.n_fft;
        assert_eq!(
            used_values.len(),
            self.n_used,
            "OfdmModem::modulate: used_values.len() must equal the number of used subcarriers"
        );
        check_symbol_len("OfdmModem::modulate", n, cp_len, out.len());
        let s = self.scale;
        let body = &mut out[cp_len..];
        // One pass over the N bins: zero the gaps, scale-copy the runs.
        let mut next = 0;
        for r in &self.runs {
            body[next..r.bin].fill(C64::new(0.0, 0.0));
            let dst = &mut body[r.bin..r.bin + r.len];
            for (o, &v) in dst.iter_mut().zip(&used_values[r.idx..r.idx + r.len]) {
                *o = v * s;
            }
            next = r.bin + r.len;
        }
        body[next..].fill(C64::new(0.0, 0.0));
        self.ifft.process_with_scratch(body, &mut self.scratch);
        out.copy_within(n..n + cp_len, 0);
    }

    /// Modulates one OFDM symbol from a full bin array.
    ///
    /// `bins` holds all N bins in natural FFT order (bin `k mod N` for
    /// subcarrier `k`); the output is the unitary IFFT with a cyclic prefix of
    /// `cp_len` samples prepended, `cp_len + N` samples in total.
    ///
    /// # Panics
    /// If `bins.len() != N`, `cp_len > N` or `out.len() != N + cp_len`.
    #[track_caller]
    pub fn modulate_bins(&mut self, bins: &[C64], cp_len: usize, out: &mut [C64]) {
        let n = self.numerology.n_fft;
        assert_eq!(
            bins.len(),
            n,
            "OfdmModem::modulate_bins: bins.len() must equal n_fft"
        );
        check_symbol_len("OfdmModem::modulate_bins", n, cp_len, out.len());
        let s = self.scale;
        let body = &mut out[cp_len..];
        for (o, &v) in body.iter_mut().zip(bins) {
            *o = v * s;
        }
        self.ifft.process_with_scratch(body, &mut self.scratch);
        out.copy_within(n..n + cp_len, 0);
    }

    /// Demodulates one OFDM symbol.
    ///
    /// Drops the first `cp_len` samples of `samples` (`cp_len + N` long),
    /// applies the unitary FFT and writes subcarrier `numerology.used[i]` to
    /// `used_out[i]`.
    ///
    /// # Panics
    /// If `samples.len() != N + cp_len`, `cp_len > N` or
    /// `used_out.len() != n_used`.
    #[track_caller]
    pub fn demodulate(&mut self, samples: &[C64], cp_len: usize, used_out: &mut [C64]) {
        let n = self.numerology.n_fft;
        check_symbol_len("OfdmModem::demodulate", n, cp_len, samples.len());
        assert_eq!(
            used_out.len(),
            self.n_used,
            "OfdmModem::demodulate: used_out.len() must equal the number of used subcarriers"
        );
        self.fft.process_immutable_with_scratch(
            &samples[cp_len..],
            &mut self.freq,
            &mut self.scratch,
        );
        let s = self.scale;
        for r in &self.runs {
            let src = &self.freq[r.bin..r.bin + r.len];
            for (o, &v) in used_out[r.idx..r.idx + r.len].iter_mut().zip(src) {
                *o = v * s;
            }
        }
    }

    /// Demodulates one OFDM symbol into a full bin array.
    ///
    /// Drops the first `cp_len` samples of `samples` (`cp_len + N` long) and
    /// writes the unitary FFT, all N bins in natural FFT order, to `bins_out`.
    ///
    /// # Panics
    /// If `samples.len() != N + cp_len`, `cp_len > N` or
    /// `bins_out.len() != N`.
    #[track_caller]
    pub fn demodulate_bins(&mut self, samples: &[C64], cp_len: usize, bins_out: &mut [C64]) {
        let n = self.numerology.n_fft;
        check_symbol_len("OfdmModem::demodulate_bins", n, cp_len, samples.len());
        assert_eq!(
            bins_out.len(),
            n,
            "OfdmModem::demodulate_bins: bins_out.len() must equal n_fft"
        );
        self.fft
            .process_immutable_with_scratch(&samples[cp_len..], bins_out, &mut self.scratch);
        let s = self.scale;
        for v in bins_out.iter_mut() {
            *v *= s;
        }
    }
}

/// A run of `len` used subcarriers occupying FFT bins `bin..bin + len` and
/// positions `idx..idx + len` of the `used` list.
#[derive(Clone, Copy, Debug)]
struct Run {
    bin: usize,
    idx: usize,
    len: usize,
}

/// Splits a (valid) numerology's used subcarriers into runs of consecutive
/// bins, sorted by bin.
fn bin_runs(num: &Numerology) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (idx, &k) in num.used.iter().enumerate() {
        let bin = num.bin(k);
        match runs.last_mut() {
            Some(r) if r.bin + r.len == bin => r.len += 1,
            _ => runs.push(Run { bin, idx, len: 1 }),
        }
    }
    runs.sort_unstable_by_key(|r| r.bin);
    runs
}

#[track_caller]
fn check_symbol_len(what: &str, n: usize, cp_len: usize, len: usize) {
    assert!(
        cp_len <= n,
        "{what}: cp_len ({cp_len}) must be <= n_fft ({n})"
    );
    assert_eq!(
        len,
        n + cp_len,
        "{what}: time buffer length must be n_fft + cp_len"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radio::qam::Qam;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha12Rng;

    fn random_qam(rng: &mut ChaCha12Rng, n: usize) -> Vec<C64> {
        let q = Qam::new(16).unwrap();
        (0..n).map(|_| q.map(rng.random_range(0..16))).collect()
    }

    fn energy(x: &[C64]) -> f64 {
        x.iter().map(|v| v.norm_sqr()).sum()
    }

    fn max_err(a: &[C64], b: &[C64]) -> f64 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).norm())
            .fold(0.0, f64::max)
    }

    fn numerologies() -> Vec<Numerology> {
        vec![
            Numerology::wifi20(),
            Numerology::lte20(),
            Numerology::custom(48, 12, 1e6, 40).unwrap(),
        ]
    }

    #[test]
    fn round_trip_is_exact() {
        let mut rng = ChaCha12Rng::seed_from_u64(1);
        for num in numerologies() {
            num.validate().unwrap();
            let mut m = OfdmModem::new(&num);
            for l in 0..num.symbols_per_slot() + 1 {
                let cp = num.cp_len(l);
                let x = random_qam(&mut rng, num.n_used());
                let mut t = vec![C64::default(); num.symbol_len(l)];
                m.modulate(&x, cp, &mut t);
                let mut y = vec![C64::default(); num.n_used()];
                m.demodulate(&t, cp, &mut y);
                let e = max_err(&x, &y);
                assert!(e < 1e-12, "N = {}: error {e}", num.n_fft);
            }
        }
    }

    #[test]
    fn bins_round_trip_is_exact() {
        let mut rng = ChaCha12Rng::seed_from_u64(2);
        for num in numerologies() {
            let mut m = OfdmModem::new(&num);
            let n = num.n_fft;
            let x = random_qam(&mut rng, n);
            let mut t = vec![C64::default(); n + 5];
            m.modulate_bins(&x, 5, &mut t);
            let mut y = vec![C64::default(); n];
            m.demodulate_bins(&t, 5, &mut y);
            assert!(max_err(&x, &y) < 1e-12);
        }
    }

    /// x[n] = 1/√N Σ_k X[bin(k)] e^{+j2πkn/N}, O(N²).
    fn naive_idft(bins: &[C64]) -> Vec<C64> {
        let n = bins.len();
        let s = 1.0 / (n as f64).sqrt();
        (0..n)
            .map(|t| {
                bins.iter()
                    .enumerate()
                    .map(|(k, &x)| {
                        let ph = 2.0 * std::f64::consts::PI * ((k * t) % n) as f64 / n as f64;
                        x * C64::from_polar(1.0, ph)
                    })
                    .sum::<C64>()
                    * s
            })
            .collect()
    }

    #[test]
    fn modulate_matches_naive_dft() {
        let mut rng = ChaCha12Rng::seed_from_u64(3);
        for num in [
            Numerology::wifi20(),
            Numerology::custom(48, 12, 1e6, 40).unwrap(),
            Numerology::custom(30, 3, 1e6, 20).unwrap(),
        ] {
            let n = num.n_fft;
            let cp = num.cp_len(0);
            let x = random_qam(&mut rng, num.n_used());
            let mut bins = vec![C64::default(); n];
            for (&k, &v) in num.used.iter().zip(&x) {
                bins[num.bin(k)] = v;
            }
            let want = naive_idft(&bins);
            let mut m = OfdmModem::new(&num);
            let mut t = vec![C64::default(); n + cp];
            m.modulate(&x, cp, &mut t);
            assert!(max_err(&t[cp..], &want) < 1e-12, "N = {n}");
            // The subcarrier sign convention: k = +1 rotates counter-clockwise.
            let mut one = vec![C64::default(); num.n_used()];
            let i1 = num.used.iter().position(|&k| k == 1).unwrap();
            one[i1] = C64::new(1.0, 0.0);
            m.modulate(&one, cp, &mut t);
            let s = 1.0 / (n as f64).sqrt();
            let want1 = C64::from_polar(s, 2.0 * std::f64::consts::PI / n as f64);
            assert!((t[cp + 1] - want1).norm() < 1e-14);
        }
    }

    #[test]
    fn irregular_allocation_matches_naive_dft() {
        // Gaps, single-bin runs and a run touching the Nyquist bin.
        let num = Numerology {
            n_fft: 16,
            sample_rate_hz: 1.6e6,
            cp_lens: vec![4, 3],
            used: vec![-8, -7, -5, -3, -2, 2, 3, 7],
            pilots: vec![-5, 7],
        };
        num.validate().unwrap();
        assert_eq!(num.data_subcarriers(), vec![-8, -7, -3, -2, 2, 3]);
        let mut rng = ChaCha12Rng::seed_from_u64(6);
        let x = random_qam(&mut rng, num.n_used());
        let mut bins = vec![C64::default(); 16];
        for (&k, &v) in num.used.iter().zip(&x) {
            bins[num.bin(k)] = v;
        }
        let want = naive_idft(&bins);
        let mut m = OfdmModem::new(&num);
        let mut t = vec![C64::new(9.0, 9.0); 16 + 3];
        m.modulate(&x, 3, &mut t);
        assert!(max_err(&t[3..], &want) < 1e-12);
        assert!(max_err(&t[..3], &want[13..]) < 1e-12);
        let mut y = vec![C64::default(); num.n_used()];
        m.demodulate(&t, 3, &mut y);
        assert!(max_err(&x, &y) < 1e-12);
    }

    #[test]
    fn cyclic_prefix_is_symbol_tail() {
        let mut rng = ChaCha12Rng::seed_from_u64(4);
        let num = Numerology::lte20();
        let mut m = OfdmModem::new(&num);
        for l in 0..2 {
            let cp = num.cp_len(l);
            let x = random_qam(&mut rng, num.n_used());
            let mut t = vec![C64::default(); num.symbol_len(l)];
            m.modulate(&x, cp, &mut t);
            let n = num.n_fft;
            assert_eq!(&t[..cp], &t[n..n + cp]);
        }
    }

    #[test]
    fn parseval_energy_preserved() {
        let mut rng = ChaCha12Rng::seed_from_u64(5);
        for num in numerologies() {
            let mut m = OfdmModem::new(&num);
            let cp = num.cp_len(0);
            let x = random_qam(&mut rng, num.n_used());
            let mut t = vec![C64::default(); num.symbol_len(0)];
            m.modulate(&x, cp, &mut t);
            let (ef, et) = (energy(&x), energy(&t[cp..]));
            assert!((ef - et).abs() < 1e-9 * ef, "{ef} vs {et}");
            // Forward direction too, on arbitrary (not band-limited) samples.
            let r: Vec<C64> = (0..num.n_fft + cp)
                .map(|_| C64::new(rng.random::<f64>() - 0.5, rng.random::<f64>() - 0.5))
                .collect();
            let mut bins = vec![C64::default(); num.n_fft];
            m.demodulate_bins(&r, cp, &mut bins);
            let (et, ef) = (energy(&r[cp..]), energy(&bins));
            assert!((ef - et).abs() < 1e-9 * et, "{ef} vs {et}");
        }
    }

    #[test]
    fn lte20_timing() {
        let num = Numerology::lte20();
        assert_eq!(num.n_used(), 1200);
        assert_eq!(num.pilots.len(), 200);
        assert_eq!(num.data_subcarriers().len(), 1000);
        assert_eq!(num.slot_len(), 15360);
        assert_eq!((0..7).map(|l| num.symbol_len(l)).sum::<usize>(), 15360);
        assert_eq!(num.symbol_len(7), num.symbol_len(0));
        assert!((num.subcarrier_spacing_hz() - 15e3).abs() < 1e-9);
        let slot_s: f64 = (0..7).map(|l| num.symbol_duration_s(l)).sum();
        assert!((slot_s - 0.5e-3).abs() < 1e-15);
    }

    #[test]
    fn wifi20_timing() {
        let num = Numerology::wifi20();
        assert_eq!(num.n_used(), 52);
        assert_eq!(num.data_subcarriers().len(), 48);
        assert_eq!(num.used.first(), Some(&-26));
        assert_eq!(num.used.last(), Some(&26));
        assert!(!num.used.contains(&0));
        assert!((num.subcarrier_spacing_hz() - 312.5e3).abs() < 1e-9);
        assert!((num.symbol_duration_s(0) - 4e-6).abs() < 1e-18);
        assert!((num.sample_period_s() - 50e-9).abs() < 1e-21);
        assert_eq!(num.bin(-1), 63);
        assert_eq!(num.bin(-26), 38);
        assert_eq!(num.bin(26), 26);
    }

    #[test]
    fn custom_rejects_bad_parameters() {
        let param = |r: Result<Numerology, NumerologyError>| r.unwrap_err().param;
        assert_eq!(param(Numerology::custom(1, 0, 1e6, 0)), "n_fft");
        assert_eq!(param(Numerology::custom(64, 64, 1e6, 52)), "cp_len");
        assert_eq!(param(Numerology::custom(64, 16, 0.0, 52)), "sample_rate_hz");
        assert_eq!(
            param(Numerology::custom(64, 16, -1.0, 52)),
            "sample_rate_hz"
        );
        assert_eq!(
            param(Numerology::custom(64, 16, f64::NAN, 52)),
            "sample_rate_hz"
        );
        assert_eq!(
            param(Numerology::custom(64, 16, f64::INFINITY, 52)),
            "sample_rate_hz"
        );
        assert_eq!(param(Numerology::custom(64, 16, 1e6, 0)), "n_used");
        assert_eq!(param(Numerology::custom(64, 16, 1e6, 51)), "n_used");
        assert_eq!(param(Numerology::custom(64, 16, 1e6, 64)), "n_used");
        let e = Numerology::custom(64, 16, 1e6, 51).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("n_used") && msg.contains("51") && msg.contains("even"),
            "{msg}"
        );
        let ok = Numerology::custom(64, 0, 1e6, 62).unwrap();
        assert_eq!(ok.used.len(), 62);
        assert_eq!(ok.used[0], -31);
        ok.validate().unwrap();
    }

    #[test]
    fn validate_rejects_bad_fields() {
        let mut n = Numerology::wifi20();
        n.used.push(0);
        assert_eq!(n.validate().unwrap_err().param, "used");
        let mut n = Numerology::wifi20();
        n.used = vec![-32, 31, 32];
        assert_eq!(n.validate().unwrap_err().param, "used");
        let mut n = Numerology::wifi20();
        n.pilots = vec![30];
        assert_eq!(n.validate().unwrap_err().param, "pilots");
        let mut n = Numerology::wifi20();
        n.cp_lens.clear();
        assert_eq!(n.validate().unwrap_err().param, "cp_lens");
    }

    #[test]
    #[should_panic(expected = "time buffer length must be n_fft + cp_len")]
    fn modulate_panics_on_wrong_out_len() {
        let num = Numerology::wifi20();
        let mut m = OfdmModem::new(&num);
        let mut out = vec![C64::default(); 64];
        m.modulate(&vec![C64::default(); 52], 16, &mut out);
    }

    #[test]
    #[should_panic(expected = "used_values.len() must equal")]
    fn modulate_panics_on_wrong_used_len() {
        let num = Numerology::wifi20();
        let mut m = OfdmModem::new(&num);
        let mut out = vec![C64::default(); 80];
        m.modulate(&vec![C64::default(); 48], 16, &mut out);
    }

    #[test]
    #[should_panic(expected = "time buffer length must be n_fft + cp_len")]
    fn demodulate_panics_on_wrong_len() {
        let num = Numerology::wifi20();
        let mut m = OfdmModem::new(&num);
        let mut out = vec![C64::default(); 52];
        m.demodulate(&vec![C64::default(); 79], 16, &mut out);
    }
}

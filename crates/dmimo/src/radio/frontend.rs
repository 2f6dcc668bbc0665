//! Receiver front-end effects at sample level: the ADC.

use crate::units::C64;

/// A uniform I/Q ADC with `bits` per component and clipping at ±`full_scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adc {
    pub bits: u32,
    /// Amplitude of each component that maps to the largest code.
    pub full_scale: f64,
}

impl Adc {
    /// An ADC whose full scale sits `backoff_db` above the RMS amplitude of a signal of mean power
    /// `signal_power` (per complex sample): full scale = √(P/2)·10^(backoff/20) per component.
    pub fn with_backoff(bits: u32, signal_power: f64, backoff_db: f64) -> Self {
        Adc {
            bits,
            full_scale: (signal_power / 2.0).sqrt() * 10f64.powf(backoff_db / 20.0),
        }
    }

    /// The quantization step (LSB).
    pub fn step(&self) -> f64 {
        2.0 * self.full_scale / (1u64 << self.bits) as f64
    }

    /// Quantizes every sample in place: mid-rise uniform quantizer on I and Q, clipped to the
    /// 2^bits codes. The quantization noise of an unclipped signal is step²/6 per complex sample.
    pub fn quantize(&self, x: &mut [C64]) {
        let step = self.step();
        let max_code = (1i64 << (self.bits - 1)) as f64;
        let q = |v: f64| ((v / step).floor().clamp(-max_code, max_code - 1.0) + 0.5) * step;
        for s in x {
            *s = C64::new(q(s.re), q(s.im));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::cn01;
    use crate::rng::SeedTree;

    #[test]
    fn quantization_noise_is_step_squared_over_six() {
        let mut rng = SeedTree::new(1).rng();
        let x: Vec<C64> = (0..100_000).map(|_| cn01(&mut rng)).collect();
        // 20 dB backoff: Gaussian samples essentially never clip (at 12 dB, clipping noise is
        // already as large as the quantization noise)
        let adc = Adc::with_backoff(10, 1.0, 20.0);
        let mut y = x.clone();
        adc.quantize(&mut y);
        let noise = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).norm_sqr())
            .sum::<f64>()
            / x.len() as f64;
        let want = adc.step().powi(2) / 6.0;
        assert!((noise / want - 1.0).abs() < 0.05, "{noise} vs {want}");
    }

    #[test]
    fn clips_at_full_scale() {
        let adc = Adc {
            bits: 4,
            full_scale: 1.0,
        };
        let mut x = vec![C64::new(10.0, -10.0)];
        adc.quantize(&mut x);
        assert!(x[0].re < 1.0 && x[0].re > 0.8 && x[0].im > -1.0 && x[0].im < -0.8);
    }
}

//! Timing acquisition by correlation with a known preamble (PN-based timing, thesis §3.1 and §4.2
//! \[TEF99\]; notes/003 §2.8 step 1).

use crate::units::C64;

/// A timing estimate: where the preamble starts in the buffer and how strongly it correlated.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimingEstimate {
    /// Index of the first preamble sample in the searched buffer.
    pub start: usize,
    /// Normalized correlation at the peak, |Σ r·p*|² / (Σ|r|²·Σ|p|²) in [0, 1].
    pub metric: f64,
}

/// Slides the known `preamble` over `rx[search_from .. search_from + search_len + preamble.len()]`
/// and returns the offset of the normalized-correlation peak.
///
/// # Panics
/// If the preamble is empty or the search window runs past the buffer.
#[track_caller]
pub fn acquire(
    rx: &[C64],
    preamble: &[C64],
    search_from: usize,
    search_len: usize,
) -> TimingEstimate {
    assert!(!preamble.is_empty(), "timing::acquire: empty preamble");
    assert!(
        search_from + search_len + preamble.len() <= rx.len(),
        "timing::acquire: search window [{search_from}, {}) runs past the buffer ({})",
        search_from + search_len + preamble.len(),
        rx.len()
    );
    let ep: f64 = preamble.iter().map(|p| p.norm_sqr()).sum();
    let mut best = TimingEstimate {
        start: search_from,
        metric: -1.0,
    };
    for start in search_from..=search_from + search_len {
        let w = &rx[start..start + preamble.len()];
        let c: C64 = w.iter().zip(preamble).map(|(r, p)| r * p.conj()).sum();
        let er: f64 = w.iter().map(|r| r.norm_sqr()).sum();
        let metric = if er > 0.0 {
            c.norm_sqr() / (er * ep)
        } else {
            0.0
        };
        if metric > best.metric {
            best = TimingEstimate { start, metric };
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::waveform::add_awgn;
    use crate::linalg::cn01;
    use crate::rng::SeedTree;

    #[test]
    fn finds_a_noisy_rotated_preamble() {
        let mut rng = SeedTree::new(1).rng();
        let pre: Vec<C64> = (0..128).map(|_| cn01(&mut rng)).collect();
        let mut rx: Vec<C64> = (0..1000).map(|_| cn01(&mut rng) * 0.1).collect();
        for (i, p) in pre.iter().enumerate() {
            rx[333 + i] += p * C64::from_polar(0.7, 2.1);
        }
        add_awgn(&mut rx, 0.3, &mut rng);
        let t = acquire(&rx, &pre, 200, 400);
        assert_eq!(t.start, 333);
        assert!(t.metric > 0.5 && t.metric <= 1.0);
    }
}

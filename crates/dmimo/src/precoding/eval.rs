//! Evaluation of a precoder on a channel: per-stream SINR and null leakage.

use crate::units::C64;
use faer::MatRef;

/// Per-stream SINR of a linear precoder V (M×K) with stream powers p_k on the channel H (M×K),
/// noise variance `noise_var` at every user: with G = HᴴV (the effective K×K channel),
/// SINR_k = p_k|G_kk|² / (N0 + Σ_{j≠k} p_j|G_kj|²).
///
/// H may be an impaired channel H̃ = ΦHΨ while V was computed from the unimpaired or estimated
/// one: the SINR then includes the leakage the impairment causes.
///
/// # Panics
/// On shape mismatches.
#[track_caller]
pub fn sinr_linear(
    h: MatRef<'_, C64>,
    v: MatRef<'_, C64>,
    powers: &[f64],
    noise_var: f64,
) -> Vec<f64> {
    assert!(h.nrows() == v.nrows() && powers.len() == v.ncols() && h.ncols() <= v.ncols());
    let g = h.adjoint() * v;
    (0..h.ncols())
        .map(|k| {
            let mut interference = noise_var;
            for j in 0..v.ncols() {
                if j != k {
                    interference += powers[j] * g[(k, j)].norm_sqr();
                }
            }
            powers[k] * g[(k, k)].norm_sqr() / interference
        })
        .collect()
}

/// How coherently the APs' contributions to stream j add up at user k: with c_i = conj(H_ik)·V_ij
/// the part of AP i's signal for stream j that reaches user k, the ratio |Σ_i c_i|² / Σ_i |c_i|².
///
/// - For an unintended user (k ≠ j) it is the **null leakage** relative to the power of the
///   individual contributions: a perfect null gives 0; two equal contributions with relative phase
///   error θ give 1 − cos θ (notes/003 §1.8) — the thesis' Fig. 3.5 quantity ("of the total
///   transmitted power").
/// - For the intended user with equal contributions it is the **coherent beamforming gain** over
///   an incoherent sum: M for perfect alignment, 1 + cos θ for two APs (3.01 dB at θ = 0).
pub fn coherent_sum_ratio(h: MatRef<'_, C64>, v: MatRef<'_, C64>, k: usize, j: usize) -> f64 {
    let (mut sum, mut power) = (C64::default(), 0.0);
    for i in 0..h.nrows() {
        let c = h[(i, k)].conj() * v[(i, j)];
        sum += c;
        power += c.norm_sqr();
    }
    sum.norm_sqr() / power
}

//! Linear precoders: maximal ratio (conjugate), zero forcing, regularized zero forcing.

use crate::linalg::{col_norm, gram, gram_inverse, CMat, LinalgError};
use crate::units::C64;
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, MatRef, Side};

/// Maximal-ratio (conjugate) precoder: v_k = h_k/‖h_k‖ (M×K, unit-norm columns). Interference
/// limited unless M ≫ K (thesis §3.1 discussion; notes/003 §1.6).
pub fn mr(h: MatRef<'_, C64>) -> CMat {
    let mut v = h.to_owned();
    normalize_columns(&mut v);
    v
}

/// A zero-forcing precoder and its per-stream gains.
#[derive(Clone, Debug)]
pub struct Zf {
    /// V = H(HᴴH)⁻¹Λ^½, M×K with unit-norm columns.
    pub v: CMat,
    /// λ_k = 1/[(HᴴH)⁻¹]_kk: user k receives √λ_k·u_k (HᴴV = Λ^½), so its SNR is λ_k q_k/N0.
    pub lambda: Vec<f64>,
}

/// Zero-forcing beamforming with unit-norm columns, thesis eq. (2.3)–(2.4):
/// V = H (HᴴH)⁻¹ Λ^½ with λ_k = 1/[(HᴴH)⁻¹]_kk, so that HᴴV = Λ^½ (every unintended user is
/// nulled) and ‖v_k‖ = 1.
///
/// Fails with [`LinalgError::SingularGram`] when the user channels are linearly dependent.
pub fn zf(h: MatRef<'_, C64>) -> Result<Zf, LinalgError> {
    let ginv = gram_inverse(h)?;
    let k = h.ncols();
    let lambda: Vec<f64> = (0..k).map(|j| 1.0 / ginv[(j, j)].re).collect();
    let mut v = h * &ginv;
    for (j, l) in lambda.iter().enumerate() {
        let s = l.sqrt();
        v.col_mut(j).iter_mut().for_each(|x| *x *= s);
    }
    Ok(Zf { v, lambda })
}

/// Regularized ZF: V ∝ H (HᴴH + αI)⁻¹ with unit-norm columns. α = K·N0/P is the MMSE-optimal
/// choice for equal power; α → 0 gives ZF and α → ∞ gives MR.
pub fn rzf(h: MatRef<'_, C64>, alpha: f64) -> Result<CMat, LinalgError> {
    assert!(
        alpha >= 0.0 && alpha.is_finite(),
        "rzf: alpha must be finite and ≥ 0"
    );
    let k = h.ncols();
    let mut g = gram(h);
    for j in 0..k {
        g[(j, j)] += C64::new(alpha, 0.0);
    }
    let llt = g
        .llt(Side::Lower)
        .map_err(|_| LinalgError::SingularGram { k })?;
    let mut v = h * llt.inverse();
    normalize_columns(&mut v);
    Ok(v)
}

/// Scales every column to unit norm (zero columns stay zero).
pub fn normalize_columns(v: &mut Mat<C64>) {
    for j in 0..v.ncols() {
        let n = col_norm(v.as_ref(), j);
        if n > 0.0 {
            v.col_mut(j).iter_mut().for_each(|x| *x /= n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::{complex_gaussian, max_abs_diff, pinv};
    use crate::rng::SeedTree;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// ZF nulls every unintended user: HᴴV = Λ^½ (diagonal, real, positive), and ‖v_k‖ = 1.
        #[test]
        fn zf_nulls_every_unintended_user(seed in any::<u64>(), m in 1usize..24, extra in 0usize..8) {
            let k = m.saturating_sub(extra).max(1);
            let h = complex_gaussian(m, k, &mut SeedTree::new(seed).rng());
            let zf = zf(h.as_ref()).unwrap();
            let g = h.adjoint() * &zf.v;
            for i in 0..k {
                prop_assert!((col_norm(zf.v.as_ref(), i) - 1.0).abs() < 1e-9);
                for j in 0..k {
                    let want = if i == j { zf.lambda[i].sqrt() } else { 0.0 };
                    // relative to the channel scale; ill-conditioned draws lose a few digits
                    prop_assert!((g[(i, j)] - want).norm() < 1e-7 * (1.0 + zf.lambda[i].sqrt()),
                        "G[{i},{j}] = {} want {want}", g[(i, j)]);
                }
            }
        }
    }

    #[test]
    fn zf_matches_normalized_pseudo_inverse() {
        let h = complex_gaussian(8, 4, &mut SeedTree::new(5).rng());
        let zf = zf(h.as_ref()).unwrap();
        let mut p = pinv(h.as_ref()).adjoint().to_owned(); // (H⁺)ᴴ = H(HᴴH)⁻¹
        normalize_columns(&mut p);
        assert!(max_abs_diff(zf.v.as_ref(), p.as_ref()) < 1e-10);
    }

    #[test]
    fn rzf_limits() {
        let h = complex_gaussian(6, 3, &mut SeedTree::new(6).rng());
        let z = zf(h.as_ref()).unwrap().v;
        let r0 = rzf(h.as_ref(), 1e-12).unwrap();
        assert!(max_abs_diff(z.as_ref(), r0.as_ref()) < 1e-8);
        let rinf = rzf(h.as_ref(), 1e12).unwrap();
        assert!(max_abs_diff(mr(h.as_ref()).as_ref(), rinf.as_ref()) < 1e-8);
    }

    #[test]
    fn zf_reports_singular_channels() {
        let a = complex_gaussian(4, 1, &mut SeedTree::new(7).rng());
        let h = Mat::from_fn(4, 2, |i, _| a[(i, 0)]);
        assert_eq!(
            zf(h.as_ref()).unwrap_err(),
            LinalgError::SingularGram { k: 2 }
        );
    }
}

//! Thin helpers over faer for the small dense complex matrices of precoding (M ≤ a few hundred).
//!
//! Channel convention (thesis eq. 2.2, used everywhere in dmimo): **y = Hᴴx + z**, where H is
//! **M×K** (M transmit antennas, K single-antenna users) and column k is user k's channel. The
//! physical coefficient from antenna i to user k is therefore `conj(H[i,k])`. Code that meets the
//! transposed convention (K×M, y = Gx) converts at its boundary with [`from_rows_convention`].

use crate::units::C64;
use faer::linalg::solvers::DenseSolveCore;
use faer::{Mat, MatRef, Side};
use rand::Rng;
use rand_distr::StandardNormal;

/// A dense complex matrix.
pub type CMat = Mat<C64>;

/// Numerical failures of the helpers below.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinalgError {
    /// The Gram matrix HᴴH is not positive definite: the K user channels are linearly dependent
    /// (or K > M).
    #[error("Gram matrix HᴴH ({k}×{k}) is singular: the user channels are linearly dependent")]
    SingularGram { k: usize },
}

/// A matrix with i.i.d. CN(0, 1) entries (real and imaginary parts N(0, ½)).
pub fn complex_gaussian(rows: usize, cols: usize, rng: &mut impl Rng) -> CMat {
    Mat::from_fn(rows, cols, |_, _| cn01(rng))
}

/// One CN(0, 1) draw.
pub fn cn01(rng: &mut impl Rng) -> C64 {
    let re: f64 = rng.sample(StandardNormal);
    let im: f64 = rng.sample(StandardNormal);
    C64::new(re, im) * std::f64::consts::FRAC_1_SQRT_2
}

/// G = HᴴH (K×K, Hermitian positive semidefinite).
pub fn gram(h: MatRef<'_, C64>) -> CMat {
    h.adjoint() * h
}

/// (HᴴH)⁻¹ through a Cholesky factorization.
pub fn gram_inverse(h: MatRef<'_, C64>) -> Result<CMat, LinalgError> {
    let g = gram(h);
    let llt = g
        .llt(Side::Lower)
        .map_err(|_| LinalgError::SingularGram { k: h.ncols() })?;
    Ok(llt.inverse())
}

/// Moore–Penrose pseudo-inverse H⁺ (K×M for an M×K H), through the thin SVD, so it is defined
/// for rank-deficient H too (singular values below `1e-12·σ_max` are treated as zero).
pub fn pinv(h: MatRef<'_, C64>) -> CMat {
    let svd = h.thin_svd().expect("SVD of a finite matrix converges");
    let s = svd.S().column_vector();
    let smax = (0..s.nrows()).map(|i| s[i].re).fold(0.0, f64::max);
    let tol = 1e-12 * smax;
    let (u, v) = (svd.U(), svd.V());
    Mat::from_fn(h.ncols(), h.nrows(), |r, c| {
        (0..s.nrows())
            .filter(|&i| s[i].re > tol)
            .map(|i| v[(r, i)] * u[(c, i)].conj() / s[i].re)
            .sum()
    })
}

/// Thin QR with a real, non-negative diagonal of R: H = Q R with Q M×K (QᴴQ = I) and R K×K upper
/// triangular. faer's Householder QR may leave complex diagonal entries; their phases are moved
/// into Q (column j of Q times e^{jθ_j}, row j of R times e^{−jθ_j}).
///
/// # Panics
/// If K > M.
#[track_caller]
pub fn qr_positive(h: MatRef<'_, C64>) -> (CMat, CMat) {
    let (m, k) = h.shape();
    assert!(k <= m, "qr_positive: need K ≤ M, got {m}×{k}");
    let qr = h.qr();
    let mut q = qr.compute_thin_Q();
    let mut r: CMat = qr.thin_R().to_owned();
    for j in 0..k {
        let d = r[(j, j)];
        let a = d.norm();
        if a > 0.0 {
            let ph = d / a;
            for i in 0..m {
                q[(i, j)] *= ph;
            }
            for c in 0..k {
                r[(j, c)] *= ph.conj();
            }
            r[(j, j)] = C64::new(a, 0.0);
        }
    }
    (q, r)
}

/// Converts a channel given in the row convention (K×M, y = G x) to dmimo's M×K H with y = Hᴴx:
/// H = Gᴴ.
pub fn from_rows_convention(g: MatRef<'_, C64>) -> CMat {
    g.adjoint().to_owned()
}

/// Euclidean norm of column j.
pub fn col_norm(a: MatRef<'_, C64>, j: usize) -> f64 {
    (0..a.nrows())
        .map(|i| a[(i, j)].norm_sqr())
        .sum::<f64>()
        .sqrt()
}

/// Max-abs entry difference, for tests.
pub fn max_abs_diff(a: MatRef<'_, C64>, b: MatRef<'_, C64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    let mut m = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            m = m.max((a[(i, j)] - b[(i, j)]).norm());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;

    #[test]
    fn pinv_is_left_inverse_of_tall_full_rank() {
        let mut rng = SeedTree::new(1).rng();
        let h = complex_gaussian(6, 3, &mut rng);
        let p = pinv(h.as_ref());
        let i = &p * &h;
        assert!(max_abs_diff(i.as_ref(), Mat::<C64>::identity(3, 3).as_ref()) < 1e-10);
        // agrees with the normal-equations form (HᴴH)⁻¹Hᴴ
        let ne = gram_inverse(h.as_ref()).unwrap() * h.adjoint();
        assert!(max_abs_diff(p.as_ref(), ne.as_ref()) < 1e-10);
    }

    #[test]
    fn pinv_of_rank_deficient() {
        let mut rng = SeedTree::new(2).rng();
        let a = complex_gaussian(4, 1, &mut rng);
        let b = complex_gaussian(1, 3, &mut rng);
        let h = &a * &b; // rank 1
        let p = pinv(h.as_ref());
        // Penrose condition H H⁺ H = H
        let r = &h * &p * &h;
        assert!(max_abs_diff(r.as_ref(), h.as_ref()) < 1e-9);
        assert!(gram_inverse(h.as_ref()).is_err());
    }

    #[test]
    fn qr_positive_reconstructs() {
        let mut rng = SeedTree::new(3).rng();
        let h = complex_gaussian(5, 4, &mut rng);
        let (q, r) = qr_positive(h.as_ref());
        assert!(max_abs_diff((&q * &r).as_ref(), h.as_ref()) < 1e-10);
        assert!(
            max_abs_diff(
                (q.adjoint() * &q).as_ref(),
                Mat::<C64>::identity(4, 4).as_ref()
            ) < 1e-10
        );
        for j in 0..4 {
            assert!(r[(j, j)].im == 0.0 && r[(j, j)].re > 0.0);
            for i in j + 1..4 {
                assert!(r[(i, j)].norm() < 1e-12);
            }
        }
    }
}

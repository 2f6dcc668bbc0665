//! Finite-N downlink of fog massive MIMO: per-RRH zero forcing on the trusted LS estimates with
//! unit-norm columns, and its achievable rate (Bursalioglu et al., arXiv 1803.07614 §II-C–D,
//! eqs. (9)–(12), Prop. 1, Appendix A; notes/001 §2.6–2.8, §2.11).
//!
//! Shapes: RRH r has N antennas and serves its active set A_r (|A_r| ≤ T users, one per trusted
//! group); Ĥ_r = [ĥ_r^{(t)} : t trusted at r] is N×|A_r|, W_r = Ĥ_r(Ĥ_rᴴĤ_r)⁻¹ and
//! v_{r,k} = w_{r,k}/‖w_{r,k}‖ ([`unit_norm_zf`]). Each stream gets the per-stream power ρ; noise
//! σ². Gains β are dimensionless (see [`crate::pilots::trusted_detection::PathGain`]).
//!
//! * [`Prop1`]: the closed-form SINR (11) of user k with the MMSE coefficient (12)
//!   α_{r,k} = β_{r,k}/D_r^{(t)}, D_r^{(t)} = Σ_{j∈t} β_{r,j} + σ_p²:
//!   numerator (Σ_{r∈S_k} √((N−|A_r|+1) α_{r,k} β_{r,k}))², denominator
//!   Σ_{S_k∪T_k} |A_r| β(1−α) + Σ_{U_k} |A_r| β + (co-pilot term) + σ²/ρ. The co-pilot term is the
//!   paper's per-RRH sum Σ_{r∈T_k} (N−|A_r|+1) α β ([`CopilotTerm::PerRrh`], default) or the exact
//!   coherent sum per co-pilot user j, Σ_j (Σ_{r∈T_k serving j} √((N−|A_r|+1) α β))²
//!   ([`CopilotTerm::CoherentGrouped`]; notes/001 §5.4 item 8).
//! * [`empirical_sinr`]: the bound (10) itself, estimated over fading draws with the real
//!   precoders: |E g_kk|² / (Var g_kk + Σ_{j≠k} E|g_kj|² + σ²/ρ), g_kj = Σ_{r: j∈A_r} h_{r,k}ᴴ v_{r,j}.
//!   It validates Prop. 1 (whose only approximation is E√X ≈ √E X, X ~ Gamma(N−|A_r|+1)).
//! * The cellular counterpart (notes/001 §2.11) is the same [`Prop1`] on a [`FogAssociation`] built
//!   from the cells: |S_k| = 1, T_k = the other BSs using k's pilot, |A_b| = min(K_b, Q).

use crate::analysis::fog_coverage::ln_gamma;
use crate::linalg::{cn01, gram_inverse, CMat, LinalgError};
use crate::precoding::linear::normalize_columns;
use crate::scheduling::fog_association::FogAssociation;
use crate::units::C64;
use faer::{Mat, MatRef};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// How Prop. 1 counts co-pilot (coherent) interference from T_k.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopilotTerm {
    /// One term per RRH of T_k, as the paper's (49) (default).
    #[default]
    PerRrh,
    /// Coherent sum over the RRHs of T_k serving the same co-pilot user (the exact bound (10)).
    CoherentGrouped,
}

/// How Prop. 1 treats the ZF gain √X_r, X_r ~ Gamma(N − |A_r| + 1, 1), of (42).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hardening {
    /// The paper's (45)–(46): E√X ≈ √E X in the mean and no Var √X in the variance (default).
    #[default]
    Paper,
    /// Exact moments: E√X = Γ(n + ½)/Γ(n) and Var √X = n − (E√X)² (≈ ¼) added to the useful
    /// variance (46) of every serving RRH; then Prop. 1 is the bound (10) itself.
    Exact,
}

/// Unit-norm ZF precoder W = Ĥ(ĤᴴĤ)⁻¹ with normalized columns (N×|A|).
pub fn unit_norm_zf(h_hat: MatRef<'_, C64>) -> Result<CMat, LinalgError> {
    let mut w = h_hat * gram_inverse(h_hat)?;
    normalize_columns(&mut w);
    Ok(w)
}

/// Prop. 1 on one slot's sets.
pub struct Prop1<'a> {
    /// N.
    pub antennas: usize,
    /// A_r, S_k and the trusted pairs per group.
    pub assoc: &'a FogAssociation,
    /// Pilot group of each served user (any value for unserved users).
    pub group: &'a [usize],
    /// σ²/ρ.
    pub noise_over_rho: f64,
    pub copilot: CopilotTerm,
    /// Treatment of the ZF gain (default: the paper's).
    pub hardening: Hardening,
    active: Vec<usize>,
}

impl<'a> Prop1<'a> {
    /// # Panics
    /// If an RRH serves more than N users (ZF needs N ≥ |A_r|).
    pub fn new(
        antennas: usize,
        assoc: &'a FogAssociation,
        group: &'a [usize],
        noise_over_rho: f64,
        copilot: CopilotTerm,
    ) -> Self {
        let active: Vec<usize> = (0..assoc.active.len())
            .filter(|&r| !assoc.active[r].is_empty())
            .collect();
        for &r in &active {
            assert!(
                assoc.active[r].len() <= antennas,
                "RRH {r} serves {} users with N = {antennas}",
                assoc.active[r].len()
            );
        }
        Prop1 {
            antennas,
            assoc,
            group,
            noise_over_rho,
            copilot,
            hardening: Hardening::Paper,
            active,
        }
    }

    /// The RRHs with a non-empty active set.
    pub fn active_rrhs(&self) -> &[usize] {
        &self.active
    }

    /// SINR (11) of served user `k`; `beta(r, k)` is β_{r,k} and `denominator(r, t)` is
    /// D_r^{(t)} = Σ_{j∈t} β_{r,j} + σ_p² (called only for groups trusted at r). `None` if k is
    /// not served.
    pub fn sinr(
        &self,
        k: usize,
        beta: &dyn Fn(usize, usize) -> f64,
        denominator: &dyn Fn(usize, usize) -> f64,
    ) -> Option<f64> {
        let serving = &self.assoc.serving[k];
        if serving.is_empty() {
            return None;
        }
        let t = self.group[k];
        let size = |r: usize| self.assoc.active[r].len() as f64;
        let dof = |r: usize| (self.antennas + 1) as f64 - size(r);
        // all active RRHs, as if in U_k; S_k and T_k are corrected below
        let mut den: f64 = self.active.iter().map(|&r| size(r) * beta(r, k)).sum();
        den += self.noise_over_rho;
        let mut amp = 0.0;
        for &r in serving {
            let b = beta(r, k);
            let a = b / denominator(r, t);
            match self.hardening {
                Hardening::Paper => amp += (dof(r) * a * b).sqrt(),
                Hardening::Exact => {
                    let n = dof(r);
                    let mean_sqrt = (ln_gamma(n + 0.5) - ln_gamma(n)).exp();
                    amp += mean_sqrt * (a * b).sqrt();
                    den += (n - mean_sqrt * mean_sqrt) * a * b;
                }
            }
            den -= size(r) * b * a;
        }
        let mut per_user: Vec<(usize, f64)> = Vec::new();
        for &(r, j) in &self.assoc.trusted_in_group[t] {
            if j == k {
                continue;
            }
            let b = beta(r, k);
            let a = b / denominator(r, t);
            den -= size(r) * b * a;
            match self.copilot {
                CopilotTerm::PerRrh => den += dof(r) * a * b,
                CopilotTerm::CoherentGrouped => {
                    let s = (dof(r) * a * b).sqrt();
                    match per_user.iter_mut().find(|(u, _)| *u == j) {
                        Some((_, acc)) => *acc += s,
                        None => per_user.push((j, s)),
                    }
                }
            }
        }
        den += per_user.iter().map(|(_, s)| s * s).sum::<f64>();
        Some(amp * amp / den)
    }
}

/// The bound (10) estimated over `draws` fading realizations with the real unit-norm ZF
/// precoders, for every served user (ascending user index): `(user, SINR)`.
///
/// `beta[r][k]` is β_{r,k} for every RRH and user of the (small) drop; every user transmits its
/// pilot (group `group[k]`); ĥ_r^{(t)} = Σ_{j∈t} h_{r,j} + CN(0, σ_p²) (eq. 3). The decisions in
/// `assoc` are held fixed, as Prop. 1 does.
///
/// # Panics
/// If `beta` is not RRHs × users, or an active set is larger than N.
#[allow(clippy::too_many_arguments)]
pub fn empirical_sinr(
    antennas: usize,
    assoc: &FogAssociation,
    group: &[usize],
    beta: &[Vec<f64>],
    sigma_p2: f64,
    noise_over_rho: f64,
    draws: usize,
    rng: &mut impl Rng,
) -> Result<Vec<(usize, f64)>, LinalgError> {
    let users = group.len();
    assert_eq!(beta.len(), assoc.active.len(), "beta: one row per RRH");
    let served: Vec<usize> = (0..users)
        .filter(|&k| !assoc.serving[k].is_empty())
        .collect();
    let mut slot = vec![usize::MAX; users];
    for (i, &k) in served.iter().enumerate() {
        slot[k] = i;
    }
    let s = served.len();
    let mut mean = vec![C64::new(0.0, 0.0); s * s]; // victim × stream
    let mut power = vec![0.0; s * s];
    let sp = sigma_p2.sqrt();
    for _ in 0..draws {
        let mut g = vec![C64::new(0.0, 0.0); s * s];
        for (r, a) in assoc.active.iter().enumerate() {
            if a.is_empty() {
                continue;
            }
            assert_eq!(beta[r].len(), users, "beta: one column per user");
            assert!(a.len() <= antennas, "RRH {r}: |A_r| > N");
            let raw = Mat::from_fn(antennas, users, |_, _| cn01(rng));
            let h = Mat::from_fn(antennas, users, |i, k| raw[(i, k)] * beta[r][k].sqrt());
            let h_hat = Mat::from_fn(antennas, a.len(), |i, c| {
                let t = group[a[c]];
                let mut x = C64::new(0.0, 0.0);
                for (k, &gk) in group.iter().enumerate() {
                    if gk == t {
                        x += h[(i, k)];
                    }
                }
                x
            });
            let noise = Mat::from_fn(antennas, a.len(), |_, _| cn01(rng) * sp);
            let v = unit_norm_zf((h_hat + noise).as_ref())?;
            // hᴴ_{r,k} v_{r,j} for every served victim k and stream j ∈ A_r
            let hv = h.adjoint() * &v; // users × |A_r|
            for &k in &served {
                for (c, &j) in a.iter().enumerate() {
                    g[slot[k] * s + slot[j]] += hv[(k, c)];
                }
            }
        }
        for (i, x) in g.iter().enumerate() {
            mean[i] += *x;
            power[i] += x.norm_sqr();
        }
    }
    let n = draws as f64;
    Ok(served
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let m = mean[i * s + i] / n;
            let useful = m.norm_sqr();
            let var = power[i * s + i] / n - useful;
            let interference: f64 = (0..s)
                .filter(|&j| j != i)
                .map(|j| power[i * s + j] / n)
                .sum();
            (k, useful / (var + interference + noise_over_rho))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{Boundary, Deployment, Window};
    use crate::pilots::trusted_detection::detect_geometric;
    use crate::pilots::trusted_detection::PathGain;
    use crate::rng::SeedTree;

    #[test]
    fn unit_norm_zf_nulls_the_other_estimates() {
        let mut rng = SeedTree::new(4).rng();
        let h = crate::linalg::complex_gaussian(16, 4, &mut rng);
        let w = unit_norm_zf(h.as_ref()).unwrap();
        let p = h.adjoint() * &w;
        for j in 0..4 {
            assert!((crate::linalg::col_norm(w.as_ref(), j) - 1.0).abs() < 1e-12);
            for i in 0..4 {
                if i == j {
                    assert!(p[(i, j)].re > 0.0 && p[(i, j)].im.abs() < 1e-10);
                } else {
                    assert!(p[(i, j)].norm() < 1e-10);
                }
            }
        }
    }

    /// Prop. 1 against the empirical bound (10) on a small torus drop at N = 64. Tolerances fixed
    /// before the first run: the coherent-grouped form was expected exact up to E√X ≈ √E X plus
    /// the Monte Carlo error of 400 draws, so within 3% in rate per user on average; the paper's
    /// per-RRH form 5% (notes: 1–2% apart). The first run missed (3.7%, SINRs 5–28% above the
    /// empirical bound): √E X also drops Var √X ≈ ¼ (times αβ, comparable to σ²/ρ for strong
    /// users) from the useful variance (46). The 3%/5% tolerances now apply to
    /// [`Hardening::Exact`]; the paper's form is checked to overestimate every user.
    #[test]
    fn prop1_agrees_with_the_empirical_bound() {
        let w = Window::centered(600.0, 600.0, Boundary::Torus).unwrap();
        let seeds = SeedTree::new(3);
        let lambda = 1.0 / (std::f64::consts::PI * 1e4);
        let rrhs = Deployment::Poisson {
            density_per_m2: lambda,
        }
        .generate(&w, &mut seeds.child("rrh").rng());
        let users = Deployment::Poisson {
            density_per_m2: 4.0 * lambda,
        }
        .generate(&w, &mut seeds.child("users").rng());
        let t_groups = 4;
        let mut rng = seeds.child("groups").rng();
        let group: Vec<usize> = users
            .iter()
            .map(|_| rng.random_range(0..t_groups))
            .collect();
        let d = detect_geometric(&rrhs, &users, &group, t_groups, &w, 120.0, 120.0);
        let assoc = FogAssociation::new(&d, &group);
        let gain = PathGain {
            alpha: 3.75,
            ref_distance_m: 100.0,
            min_distance_m: 1.0,
        };
        let beta: Vec<Vec<f64>> = rrhs
            .iter()
            .map(|&x| users.iter().map(|&y| gain.gain(w.distance(x, y))).collect())
            .collect();
        let sigma_p2 = 1.0 / (10.0 * t_groups as f64);
        let den = |r: usize, t: usize| -> f64 {
            (0..users.len())
                .filter(|&j| group[j] == t)
                .map(|j| beta[r][j])
                .sum::<f64>()
                + sigma_p2
        };
        let b = |r: usize, k: usize| beta[r][k];
        let n = 64;
        let emp = empirical_sinr(n, &assoc, &group, &beta, sigma_p2, 1.0, 400, &mut rng).unwrap();
        assert!(emp.len() >= 3, "the drop must serve users ({})", emp.len());
        let error = |copilot, hardening| {
            let mut p = Prop1::new(n, &assoc, &group, 1.0, copilot);
            p.hardening = hardening;
            let mut err = 0.0;
            let mut above = 0;
            for &(k, s) in &emp {
                let th = p.sinr(k, &b, &den).unwrap();
                err += ((1.0 + th).log2() / (1.0 + s).log2() - 1.0).abs();
                above += (th > s) as usize;
            }
            (err / emp.len() as f64, above)
        };
        for (copilot, tol) in [
            (CopilotTerm::CoherentGrouped, 0.03),
            (CopilotTerm::PerRrh, 0.05),
        ] {
            let (err, _) = error(copilot, Hardening::Exact);
            assert!(
                err <= tol,
                "{copilot:?}, exact: mean relative rate error {err}"
            );
        }
        // the paper's hardening drops Var √X ≈ ¼ from (46): it overestimates every user
        let (err, above) = error(CopilotTerm::CoherentGrouped, Hardening::Paper);
        assert_eq!(above, emp.len(), "paper form: rate error {err}");
    }

    #[test]
    fn single_rrh_single_user_without_noise_has_full_array_gain() {
        // one RRH serving one user, nothing else: SINR = N α β/(β(1 − α) + σ²/ρ)
        let mut d = crate::pilots::trusted_detection::TrustDecisions::untrusted(1, 1);
        d.set(0, 0, Some(0));
        let group = [0];
        let assoc = FogAssociation::new(&d, &group);
        let p = Prop1::new(32, &assoc, &group, 0.5, CopilotTerm::PerRrh);
        let (b, sp) = (2.0, 0.1);
        let a = b / (b + sp);
        let s = p.sinr(0, &|_, _| b, &|_, _| b + sp).unwrap();
        let want = 32.0 * a * b / (b * (1.0 - a) + 0.5);
        assert!((s - want).abs() < 1e-9 * want);
    }
}

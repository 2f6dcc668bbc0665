//! Stochastic-geometry analysis of the ideal cellular massive-MIMO baseline of fog massive MIMO
//! (Bursalioglu et al., arXiv 1803.07614, §IV and App. C, eqs. (35)–(40), (56)–(64);
//! notes/001 §2.11), in the large-N (N → ∞) limit where only pilot contamination remains.
//!
//! Model: base stations form a PPP of density λ_b, users a PPP of density λ_u; each user is
//! served by its nearest BS; a BS with K users serves min(K, Q) of them on distinct pilots drawn
//! uniformly from τ_p orthogonal ones, independently across cells.
//!
//! * **Users per cell** (60)–(64): the Voronoi cell area is modelled as Gamma(shape κ = 3.5,
//!   scale 1/(κλ_b)), so K is negative binomial:
//!   P(K = k) = Γ(k + κ)/(Γ(κ) k!) · x^k (1 + x)^{−(k+κ)}, x = λ_u/(κλ_b)
//!   ([`users_per_cell_pmf`]), and E[min(K, Q)] = Σ_{k<Q} k P(k) + Q·P(K ≥ Q)
//!   ([`mean_served_per_cell`]).
//! * **Pilot usage** (35): p = E[min(K, Q)]/τ_p; the BSs using a given pilot are a PPP of
//!   density pλ_b ([`pilot_usage_probability`]).
//! * **Large-N SIR** (36)–(37): a user at distance r from its BS, with r₁ > r the distance to the
//!   nearest co-pilot BS and the farther ones replaced by their Campbell mean:
//!   SIR = r^{−2α} / (r₁^{−2α} + πpλ_b r₁^{2−2α}/(α − 1)).
//! * **Mean SE** (38)–(39): R̄_c = ∬_{0<r<r₁} log₂(1 + SIR) f(r, r₁), with
//!   f(r, r₁) = 4π²pλ_b² r r₁ exp(−πλ_b(1 − p)r² − πpλ_b r₁²).
//! * **ASE** (40): ASE_c = λ_b E[min(K, Q)] R̄_c; unserved fraction 1 − λ_b E[min(K, Q)]/λ_u.
//!
//! **Quadrature.** With u = πλ_b r² and v = πλ_b r₁² = u + w/p the density factors into
//! e^{−u}·e^{−w} (u, w > 0 independent unit exponentials) and the SIR is scale-free:
//! SIR = (v/u)^α / (1 + p v/(α − 1)). So R̄_c = E[log₂(1 + SIR(U, U + W/p))] with U, W ~ Exp(1),
//! which [`mean_se`] integrates by the trapezoidal rule in log coordinates (u = e^s, w = e^t):
//! the integrands then decay doubly exponentially at +∞ and exponentially at −∞, the
//! logarithmic singularity of the SIR at u → 0 disappears, and the rule converges
//! geometrically in the step (a test halves it; another checks against a naive midpoint rule
//! in the paper's (r, r₁) coordinates). Written in-house: a 1-D rule on a fixed grid, no
//! adaptive-quadrature dependency needed.
//!
//! ```
//! use dmimo::analysis::cellular::{analyse, CellularParams};
//! // Table I of the paper, Q = 40: R̄_c = 9.60 b/s/Hz, ASE_c = 3056.9 b/s/Hz/km²
//! let bs_density_per_m2 = 1.0 / (std::f64::consts::PI * 100.0 * 100.0);
//! let a = analyse(&CellularParams::table1(40), bs_density_per_m2).unwrap();
//! assert!((a.se_bps_per_hz - 9.60).abs() < 0.01);
//! assert!((a.ase_bps_per_hz_per_km2 / 3056.9 - 1.0).abs() < 0.005);
//! ```

use serde::{Deserialize, Serialize};
use std::f64::consts::LN_2;

/// An invalid parameter of the cellular analysis.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CellularError {
    /// A parameter outside its allowed range.
    #[error("field `{field}` = {value}: must be {allowed}")]
    InvalidParameter {
        field: &'static str,
        value: f64,
        allowed: &'static str,
    },
}

fn invalid(field: &'static str, value: f64, allowed: &'static str) -> CellularError {
    CellularError::InvalidParameter {
        field,
        value,
        allowed,
    }
}

/// The parameters of the cellular baseline (densities enter only through their ratio and, for
/// the ASE, through λ_b).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellularParams {
    /// Path-loss exponent α (> 1 for the Campbell mean; the paper's 3.75 is reconstructed).
    pub alpha: f64,
    /// Users per BS, λ_u/λ_b (> 0).
    pub users_per_bs: f64,
    /// Orthogonal pilots τ_p (≥ 1).
    pub tau_p: usize,
    /// Pilots used per cell Q (1 ≤ Q ≤ τ_p).
    pub q: usize,
    /// Shape κ of the Gamma model of the Voronoi cell area (3.5, ref. \[32\] of the paper).
    pub voronoi_shape: f64,
}

impl CellularParams {
    /// Table I's setting (notes/001 §2.11, reconstructed and verified): α = 3.75,
    /// λ_u/λ_b = 10, τ_p = 40, κ = 3.5, and the given Q.
    pub fn table1(q: usize) -> Self {
        CellularParams {
            alpha: 3.75,
            users_per_bs: 10.0,
            tau_p: 40,
            q,
            voronoi_shape: 3.5,
        }
    }

    /// Range checks.
    pub fn validate(&self) -> Result<(), CellularError> {
        if !(self.alpha.is_finite() && self.alpha > 1.0) {
            return Err(invalid("alpha", self.alpha, "finite and > 1"));
        }
        if !(self.users_per_bs.is_finite() && self.users_per_bs > 0.0) {
            return Err(invalid("users_per_bs", self.users_per_bs, "finite and > 0"));
        }
        if !(self.voronoi_shape.is_finite() && self.voronoi_shape > 0.0) {
            return Err(invalid(
                "voronoi_shape",
                self.voronoi_shape,
                "finite and > 0",
            ));
        }
        if self.tau_p == 0 {
            return Err(invalid("tau_p", 0.0, "an integer ≥ 1"));
        }
        if self.q == 0 || self.q > self.tau_p {
            return Err(invalid("q", self.q as f64, "an integer from 1 to tau_p"));
        }
        Ok(())
    }
}

/// P(K = k) for k = 0..=k_max, the negative binomial of (60)–(64): mean `users_per_bs`,
/// Gamma-area shape `shape`.
pub fn users_per_cell_pmf(users_per_bs: f64, shape: f64, k_max: usize) -> Vec<f64> {
    let x = users_per_bs / shape;
    let q = x / (1.0 + x);
    let mut pmf = Vec::with_capacity(k_max + 1);
    // P(0) = (1 + x)^{−κ}; P(k) = P(k − 1)·(k − 1 + κ)/k·x/(1 + x)
    let mut p = (-shape * x.ln_1p()).exp();
    for k in 0..=k_max {
        if k > 0 {
            p *= (k as f64 - 1.0 + shape) / k as f64 * q;
        }
        pmf.push(p);
    }
    pmf
}

/// E[min(K, Q)] under the negative-binomial users-per-cell model.
pub fn mean_served_per_cell(users_per_bs: f64, shape: f64, q: usize) -> f64 {
    let pmf = users_per_cell_pmf(users_per_bs, shape, q);
    let below: f64 = pmf[..q].iter().sum();
    let partial: f64 = pmf[..q].iter().enumerate().map(|(k, p)| k as f64 * p).sum();
    partial + q as f64 * (1.0 - below).max(0.0)
}

/// p = E[min(K, Q)]/τ_p, eq. (35).
pub fn pilot_usage_probability(mean_served: f64, tau_p: usize) -> f64 {
    mean_served / tau_p as f64
}

/// ln SIR of (37) in the normalized coordinates u = πλ_b r², v = πλ_b r₁² (v ≥ u):
/// SIR = (v/u)^α / (1 + p v/(α − 1)).
pub fn ln_sir_campbell(u: f64, v: f64, alpha: f64, p: f64) -> f64 {
    alpha * (v.ln() - u.ln()) - (p * v / (alpha - 1.0)).ln_1p()
}

/// log₂(1 + e^l) without overflow.
pub fn log2_1p_exp(l: f64) -> f64 {
    if l > 0.0 {
        (l + (-l).exp().ln_1p()) / LN_2
    } else {
        l.exp().ln_1p() / LN_2
    }
}

/// The trapezoidal rule in log coordinates for the cellular SE integral.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogTrapezoid {
    /// Step in ln u and ln w.
    pub step: f64,
    /// Lower end of ln u and ln w (the integrand is O(e^{lo}·|lo|) there).
    pub ln_lo: f64,
    /// Upper end of ln u and ln w (the integrand is O(e^{−e^{hi}}) there).
    pub ln_hi: f64,
}

impl Default for LogTrapezoid {
    /// Step 1/16 over ln u ∈ [−36, 4.5]: truncation below 10⁻¹³, discretization below 10⁻¹⁰.
    fn default() -> Self {
        LogTrapezoid {
            step: 1.0 / 16.0,
            ln_lo: -36.0,
            ln_hi: 4.5,
        }
    }
}

impl LogTrapezoid {
    /// Nodes x = e^s and weights h·e^s·e^{−x} of ∫₀^∞ e^{−x} g(x) dx ≈ Σ w g(x).
    fn exp_nodes(&self) -> Vec<(f64, f64)> {
        let n = ((self.ln_hi - self.ln_lo) / self.step).ceil() as usize;
        (0..=n)
            .map(|i| {
                let s = self.ln_lo + i as f64 * self.step;
                let x = s.exp();
                (x, self.step * x * (-x).exp())
            })
            .filter(|&(_, w)| w > 0.0)
            .collect()
    }
}

/// R̄_c of (38)–(39) (b/s/Hz per served user) for path-loss exponent `alpha` and pilot-usage
/// probability `p` ∈ (0, 1]: E[log₂(1 + SIR(U, U + W/p))] with U, W ~ Exp(1).
///
/// # Panics
/// If α ≤ 1 or p ∉ (0, 1].
pub fn mean_se(alpha: f64, p: f64, rule: &LogTrapezoid) -> f64 {
    assert!(alpha > 1.0, "alpha must exceed 1 (got {alpha})");
    assert!(p > 0.0 && p <= 1.0, "p must lie in (0, 1] (got {p})");
    let nodes = rule.exp_nodes();
    nodes
        .iter()
        .map(|&(u, wu)| {
            let inner: f64 = nodes
                .iter()
                .map(|&(w, ww)| ww * log2_1p_exp(ln_sir_campbell(u, u + w / p, alpha, p)))
                .sum();
            wu * inner
        })
        .sum()
}

/// The cellular baseline's analytic quantities.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CellularAnalysis {
    /// E[min(K, Q)]: served users per BS.
    pub mean_served_per_cell: f64,
    /// p = E[min(K, Q)]/τ_p.
    pub pilot_usage_probability: f64,
    /// R̄_c (b/s/Hz per served user), eq. (38).
    pub se_bps_per_hz: f64,
    /// ASE_c = λ_b E[min(K, Q)] R̄_c (b/s/Hz/km²), eq. (40).
    pub ase_bps_per_hz_per_km2: f64,
    /// 1 − λ_b E[min(K, Q)]/λ_u.
    pub unserved_fraction: f64,
}

/// Evaluates (35)–(40) with the default quadrature; `bs_density_per_m2` = λ_b only scales the
/// ASE.
pub fn analyse(
    params: &CellularParams,
    bs_density_per_m2: f64,
) -> Result<CellularAnalysis, CellularError> {
    params.validate()?;
    if !(bs_density_per_m2.is_finite() && bs_density_per_m2 > 0.0) {
        return Err(invalid(
            "bs_density_per_m2",
            bs_density_per_m2,
            "finite and > 0",
        ));
    }
    let served = mean_served_per_cell(params.users_per_bs, params.voronoi_shape, params.q);
    let p = pilot_usage_probability(served, params.tau_p);
    let se = mean_se(params.alpha, p, &LogTrapezoid::default());
    Ok(CellularAnalysis {
        mean_served_per_cell: served,
        pilot_usage_probability: p,
        se_bps_per_hz: se,
        ase_bps_per_hz_per_km2: bs_density_per_m2 * 1e6 * served * se,
        unserved_fraction: 1.0 - served / params.users_per_bs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;
    use rand::Rng;
    use std::f64::consts::PI;

    const LAMBDA_B: f64 = 1.0 / (PI * 100.0 * 100.0);

    #[test]
    fn pmf_sums_to_one_with_the_right_mean() {
        let pmf = users_per_cell_pmf(10.0, 3.5, 400);
        let total: f64 = pmf.iter().sum();
        let mean: f64 = pmf.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
        let var: f64 = pmf
            .iter()
            .enumerate()
            .map(|(k, p)| (k as f64 - mean).powi(2) * p)
            .sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!((mean - 10.0).abs() < 1e-10);
        // negative binomial: var = m(1 + m/κ)
        assert!((var - 10.0 * (1.0 + 10.0 / 3.5)).abs() < 1e-8);
        // Q ≥ any plausible K: min(K, Q) = K
        assert!((mean_served_per_cell(10.0, 3.5, 400) - 10.0).abs() < 1e-10);
    }

    #[test]
    fn t3_mean_served_and_pilot_usage_match_the_notes() {
        // notes/001 §4 T3 [CALC]
        let expect = [
            (10, 7.5857, 0.18964),
            (20, 9.6690, 0.24172),
            (30, 9.9658, 0.24915),
            (40, 9.9970, 0.24993),
        ];
        for (q, m, p) in expect {
            let got = mean_served_per_cell(10.0, 3.5, q);
            assert!((got - m).abs() < 5e-5, "Q = {q}: {got} vs {m}");
            let gp = pilot_usage_probability(got, 40);
            assert!((gp - p).abs() < 5e-6, "Q = {q}: p = {gp} vs {p}");
        }
    }

    #[test]
    fn t1_table_one_analysis() {
        // paper Table I (analytical) and notes/001 §4 T1 [CALC]
        let rows = [
            (10, 10.69, 10.702, 2587.9, 2584.2),
            (20, 9.73, 9.736, 2998.2, 2996.4),
            (30, 9.62, 9.618, 3051.5, 3051.2),
            (40, 9.60, 9.606, 3056.9, 3056.9),
        ];
        for (q, se_paper, se_calc, ase_paper, ase_calc) in rows {
            let a = analyse(&CellularParams::table1(q), LAMBDA_B).unwrap();
            assert!((a.se_bps_per_hz - se_calc).abs() < 1.5e-3, "{q}: {a:?}");
            assert!((a.ase_bps_per_hz_per_km2 / ase_calc - 1.0).abs() < 5e-4);
            assert!((a.se_bps_per_hz / se_paper - 1.0).abs() < 5e-3);
            assert!((a.ase_bps_per_hz_per_km2 / ase_paper - 1.0).abs() < 5e-3);
        }
    }

    #[test]
    fn t4_load_sweep_matches_the_notes() {
        // notes/001 §4 T4 [CALC], Q = τ_p = 40
        for (load, se, ase, unserved) in [
            (2.0, 16.66, 1060.0, 0.0),
            (10.0, 9.61, 3057.0, 0.0),
            (20.0, 7.21, 4466.0, 0.026),
            (40.0, 5.73, 5711.0, 0.217),
        ] {
            let params = CellularParams {
                users_per_bs: load,
                ..CellularParams::table1(40)
            };
            let a = analyse(&params, LAMBDA_B).unwrap();
            assert!((a.se_bps_per_hz - se).abs() < 0.006, "{load}: {a:?}");
            assert!(
                (a.ase_bps_per_hz_per_km2 / ase - 1.0).abs() < 1e-3,
                "{load}"
            );
            assert!((a.unserved_fraction - unserved).abs() < 6e-4, "{load}");
        }
    }

    #[test]
    fn quadrature_has_converged() {
        let coarse = mean_se(3.75, 0.2, &LogTrapezoid::default());
        let fine = mean_se(
            3.75,
            0.2,
            &LogTrapezoid {
                step: 1.0 / 32.0,
                ln_lo: -45.0,
                ln_hi: 5.0,
            },
        );
        assert!((coarse - fine).abs() < 1e-9, "{coarse} vs {fine}");
    }

    #[test]
    fn log_coordinates_agree_with_a_naive_rule_in_the_papers_coordinates() {
        // (38)–(39) at λ_b = 1 by the midpoint rule over 0 < r < r₁ (r ≤ 3, r₁ ≤ 5: the
        // density beyond is below e^{−πp·25})
        let (alpha, p): (f64, f64) = (3.75, 0.25);
        let n = 1500;
        let (hr, hr1) = (3.0 / n as f64, 5.0 / n as f64);
        let mut total = 0.0;
        for i in 0..n {
            let r = (i as f64 + 0.5) * hr;
            for j in 0..n {
                let r1 = (j as f64 + 0.5) * hr1;
                if r1 <= r {
                    continue;
                }
                let sir = r.powf(-2.0 * alpha)
                    / (r1.powf(-2.0 * alpha) + PI * p * r1.powf(2.0 - 2.0 * alpha) / (alpha - 1.0));
                let f =
                    4.0 * PI * PI * p * r * r1 * (-PI * (1.0 - p) * r * r - PI * p * r1 * r1).exp();
                total += (1.0 + sir).log2() * f * hr * hr1;
            }
        }
        let fast = mean_se(alpha, p, &LogTrapezoid::default());
        assert!((total / fast - 1.0).abs() < 2e-3, "naive {total} vs {fast}");
    }

    #[test]
    fn integral_matches_monte_carlo_of_the_exponential_representation() {
        let (alpha, p) = (3.75, 0.19);
        let mut rng = SeedTree::new(5).child("cellular-mc").rng();
        let n = 200_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let u: f64 = -(1.0 - rng.random::<f64>()).ln();
            let w: f64 = -(1.0 - rng.random::<f64>()).ln();
            sum += log2_1p_exp(ln_sir_campbell(u, u + w / p, alpha, p));
        }
        let mc = sum / n as f64;
        let exact = mean_se(alpha, p, &LogTrapezoid::default());
        // the SE's standard deviation is ≈ 5 b/s/Hz: standard error ≈ 0.011
        assert!((mc - exact).abs() < 0.05, "mc {mc} vs {exact}");
    }

    #[test]
    fn invalid_parameters_name_the_field() {
        let bad = |f: &dyn Fn(&mut CellularParams)| {
            let mut p = CellularParams::table1(10);
            f(&mut p);
            analyse(&p, LAMBDA_B).unwrap_err().to_string()
        };
        assert!(bad(&|p| p.alpha = 1.0).contains("alpha"));
        assert!(bad(&|p| p.q = 41).contains("`q`"));
        assert!(bad(&|p| p.q = 0).contains("`q`"));
        assert!(bad(&|p| p.tau_p = 0).contains("tau_p"));
        assert!(bad(&|p| p.users_per_bs = -1.0).contains("users_per_bs"));
        assert!(bad(&|p| p.voronoi_shape = f64::NAN).contains("voronoi_shape"));
        assert!(analyse(&CellularParams::table1(10), 0.0)
            .unwrap_err()
            .to_string()
            .contains("bs_density_per_m2"));
    }
}

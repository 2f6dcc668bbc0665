//! Stochastic-geometry identities of fog massive MIMO's analysis (Bursalioglu et al., arXiv
//! 1803.07614, §III and App. B; notes/001 §2.9, targets T5), for one pilot group: co-pilot users
//! form a PPP of density λ, RRHs with coverage radius R_c and protection radius R_p ≥ R_c.
//!
//! * [`mean_uncovered_fraction`]: E\[U\] = e^{−λπR_p²} (52), U the fraction of B(o, R_c) outside
//!   every other co-pilot user's protection disk.
//! * [`prob_fully_uncovered`]: P(U = 1) = e^{−λπ(R_c + R_p)²} (55).
//! * [`interference_laplace`]: L_I(z) = E[e^{−zI}] of I = Σ x^{−2α} over a PPP of active RRHs of
//!   density λ_a outside B(o, R_p) (31):
//!   L_I(z) = exp(−πλ_a [z^{1/α} γ(1 − 1/α, z R_p^{−2α}) − R_p²(1 − e^{−z R_p^{−2α}})]).
//! * [`active_probability`]: P(an RRH is active for a pilot group) = λπR_c²·e^{−λπR_p²}
//!   (exactly one co-pilot user within R_c, none in the annulus up to R_p), so the active-RRH
//!   density is λ_r^(a) = λ_r·λπR_c²·e^{−λπR_p²} (19)–(20) and, over T groups,
//!   E|A_r| = T·λπR_c²·e^{−λπR_p²} (21).
//! * [`mean_order_distance`]: E\[d_(i)\] of the i-th nearest of n points uniform in B(o, R_c)
//!   (33)–(34): R_c·Γ(i + ½)Γ(n + 1)/(Γ(i)Γ(n + 3/2)), since (d_(i)/R_c)² ~ Beta(i, n − i + 1).
//! * [`hamdi_mean_log2`]: Hamdi's lemma (27)–(28) for independent S ≥ 0 and I > 0,
//!   E[log₂(1 + S/I)] = (1/ln 2) ∫₀^∞ (1 − L_S(z)) L_I(z) dz/z, integrated by the trapezoidal
//!   rule in ln z.
//!
//! Special functions ([`ln_gamma`], [`lower_gamma`]) are in-house (Lanczos; series and
//! Lentz continued fraction): two short, well-known routines, no dependency for them.

use std::f64::consts::{LN_2, PI};

/// E\[U\] = e^{−λπR_p²}, eq. (52) (`lambda` per m², `r_p_m` in m).
pub fn mean_uncovered_fraction(lambda: f64, r_p_m: f64) -> f64 {
    (-lambda * PI * r_p_m * r_p_m).exp()
}

/// P(U = 1) = e^{−λπ(R_c + R_p)²}, eq. (55).
pub fn prob_fully_uncovered(lambda: f64, r_c_m: f64, r_p_m: f64) -> f64 {
    (-lambda * PI * (r_c_m + r_p_m).powi(2)).exp()
}

/// λπR_c²·e^{−λπR_p²}: the probability that an RRH is active for one pilot group of co-pilot
/// user density `lambda` (eqs. (19)–(20) divided by λ_r; times T it is E|A_r| of eq. (21)).
pub fn active_probability(lambda: f64, r_c: f64, r_p: f64) -> f64 {
    lambda * PI * r_c * r_c * (-lambda * PI * r_p * r_p).exp()
}

/// E\[d_(i)\] (same unit as `r_c`) of the i-th nearest (1 ≤ i ≤ n) of n points uniform in a disk
/// of radius `r_c`, eq. (34).
///
/// # Panics
/// If i = 0 or i > n.
pub fn mean_order_distance(i: usize, n: usize, r_c: f64) -> f64 {
    assert!((1..=n).contains(&i), "need 1 ≤ i ≤ n (i = {i}, n = {n})");
    let (i, n) = (i as f64, n as f64);
    r_c * (ln_gamma(i + 0.5) + ln_gamma(n + 1.0) - ln_gamma(i) - ln_gamma(n + 1.5)).exp()
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error ≈ 1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // reflection
        return (PI / (PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The lower incomplete gamma function γ(s, x) = ∫₀^x t^{s−1} e^{−t} dt for s > 0, x ≥ 0
/// (series for x < s + 1, continued fraction for the complement above).
pub fn lower_gamma(s: f64, x: f64) -> f64 {
    assert!(s > 0.0 && x >= 0.0, "lower_gamma needs s > 0, x ≥ 0");
    if x == 0.0 {
        return 0.0;
    }
    let ln_pref = s * x.ln() - x;
    if x < s + 1.0 {
        let (mut term, mut sum, mut a) = (1.0 / s, 1.0 / s, s);
        for _ in 0..1000 {
            a += 1.0;
            term *= x / a;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        sum * ln_pref.exp()
    } else {
        // Γ(s, x) by the modified Lentz continued fraction
        let tiny = 1e-300;
        let mut b = x + 1.0 - s;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..1000 {
            let an = -(i as f64) * (i as f64 - s);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        ln_gamma(s).exp() - ln_pref.exp() * h
    }
}

/// L_I(z) of eq. (31): the Laplace transform of I = Σ_{x ∈ Φ_a, ‖x‖ > R_p} ‖x‖^{−2α} for a PPP
/// Φ_a of density `lambda_a` (lengths in any unit, consistently).
pub fn interference_laplace(z: f64, lambda_a: f64, r_p: f64, alpha: f64) -> f64 {
    assert!(alpha > 1.0 && z >= 0.0 && r_p > 0.0);
    let y = z * r_p.powf(-2.0 * alpha);
    let inner = z.powf(1.0 / alpha) * lower_gamma(1.0 - 1.0 / alpha, y) + r_p * r_p * (-y).exp_m1();
    (-PI * lambda_a * inner).exp()
}

/// E[log₂(1 + S/I)] by Hamdi's lemma for independent S and I with Laplace transforms
/// `laplace_s` and `laplace_i`: (1/ln 2) ∫ (1 − L_S(z)) L_I(z) dz/z, trapezoidal in ln z over
/// [`ln_z_lo`, `ln_z_hi`] with `steps` intervals (choose the range around the scale 1/S…1/I).
pub fn hamdi_mean_log2(
    laplace_s: impl Fn(f64) -> f64,
    laplace_i: impl Fn(f64) -> f64,
    ln_z_lo: f64,
    ln_z_hi: f64,
    steps: usize,
) -> f64 {
    let h = (ln_z_hi - ln_z_lo) / steps as f64;
    let total: f64 = (0..=steps)
        .map(|i| {
            let z = (ln_z_lo + i as f64 * h).exp();
            let w = if i == 0 || i == steps { 0.5 } else { 1.0 };
            w * (1.0 - laplace_s(z)) * laplace_i(z)
        })
        .sum();
    total * h / LN_2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;
    use rand::Rng;
    use rand_distr::{Distribution, Poisson};

    /// Points of a PPP of density λ in the disk B(o, r) (polar sampling).
    fn ppp_disk<R: Rng>(lambda: f64, r: f64, rng: &mut R) -> Vec<(f64, f64)> {
        let n = Poisson::new(lambda * PI * r * r).unwrap().sample(rng) as usize;
        (0..n)
            .map(|_| {
                let rho = r * rng.random::<f64>().sqrt();
                let th = 2.0 * PI * rng.random::<f64>();
                (rho * th.cos(), rho * th.sin())
            })
            .collect()
    }

    #[test]
    fn special_functions_against_known_values() {
        assert!((ln_gamma(0.5) - PI.sqrt().ln()).abs() < 1e-13);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(3.5) - (3.323_350_970_447_842_6f64).ln()).abs() < 1e-13);
        // γ(1, x) = 1 − e^{−x}; γ(1/2, x) = √π erf(√x)
        for x in [0.01, 0.5, 1.0, 3.0, 10.0, 40.0] {
            assert!(
                (lower_gamma(1.0, x) - (1.0 - (-x).exp())).abs() < 1e-13,
                "{x}"
            );
        }
        // erf(1) = 0.8427007929497149
        assert!((lower_gamma(0.5, 1.0) - PI.sqrt() * 0.842_700_792_949_714_9).abs() < 1e-13);
        // both branches agree at the switch
        let s = 1.0 - 1.0 / 3.75;
        let a = lower_gamma(s, s + 1.0 - 1e-9);
        let b = lower_gamma(s, s + 1.0 + 1e-9);
        assert!((a - b).abs() < 1e-8);
    }

    #[test]
    fn t5_mean_and_atom_of_the_uncovered_fraction_match_monte_carlo() {
        // normalized units: λ = 1, R_c = 0.5, R_p = 0.6; U measured on a polar grid of B(o, R_c)
        let (lambda, rc, rp) = (1.0, 0.5, 0.6);
        let grid: Vec<(f64, f64)> = (0..24)
            .flat_map(|i| {
                let r = rc * ((i as f64 + 0.5) / 24.0).sqrt(); // equal-area rings
                (0..48).map(move |j| {
                    let th = 2.0 * PI * (j as f64 + 0.5 * (i % 2) as f64) / 48.0;
                    (r * th.cos(), r * th.sin())
                })
            })
            .collect();
        let mut rng = SeedTree::new(11).child("boolean").rng();
        let runs = 20_000;
        let (mut sum_u, mut ones) = (0.0, 0usize);
        for _ in 0..runs {
            let users = ppp_disk(lambda, rc + rp, &mut rng);
            let uncovered = grid
                .iter()
                .filter(|(x, y)| {
                    users
                        .iter()
                        .all(|(ux, uy)| (x - ux).powi(2) + (y - uy).powi(2) > rp * rp)
                })
                .count();
            let u = uncovered as f64 / grid.len() as f64;
            sum_u += u;
            if uncovered == grid.len() {
                ones += 1;
            }
        }
        let mean = sum_u / runs as f64;
        let exact = mean_uncovered_fraction(lambda, rp);
        assert!((mean - exact).abs() < 0.01, "E[U] {mean} vs {exact}");
        let p1 = ones as f64 / runs as f64;
        let exact1 = prob_fully_uncovered(lambda, rc, rp);
        // binomial standard error √(p(1−p)/n) ≈ 0.001, plus ≈ 0.0008 from the grid's outer
        // ring lying 0.005 inside R_c
        assert!((p1 - exact1).abs() < 0.004, "P(U=1) {p1} vs {exact1}");
    }

    #[test]
    fn t5_interference_laplace_transform_matches_the_notes_and_monte_carlo() {
        let (lambda, rp, alpha) = (0.3, 1.0, 3.75);
        // notes/001 §4 T5 [CALC]: L_I(1) = 0.7534, L_I(10) = 0.2919
        assert!((interference_laplace(1.0, lambda, rp, alpha) - 0.7534).abs() < 1e-4);
        assert!((interference_laplace(10.0, lambda, rp, alpha) - 0.2919).abs() < 1e-4);
        // Monte Carlo: PPP in the annulus R_p < ‖x‖ < 15 (the rest adds ≈ 1e-7 to I)
        let mut rng = SeedTree::new(12).child("laplace").rng();
        let runs = 20_000;
        let samples: Vec<f64> = (0..runs)
            .map(|_| {
                ppp_disk(lambda, 15.0, &mut rng)
                    .iter()
                    .map(|(x, y)| x * x + y * y)
                    .filter(|&d2| d2 > rp * rp)
                    .map(|d2| d2.powf(-alpha))
                    .sum::<f64>()
            })
            .collect();
        for z in [0.3, 1.0, 3.0, 10.0] {
            let mc = samples.iter().map(|i| (-z * i).exp()).sum::<f64>() / runs as f64;
            let exact = interference_laplace(z, lambda, rp, alpha);
            assert!((mc - exact).abs() < 0.01, "z = {z}: {mc} vs {exact}");
        }
    }

    #[test]
    fn t5_active_probability_matches_monte_carlo() {
        // RRH at the origin, co-pilot users PPP(λ) in B(o, R_p): active iff exactly one user
        // within R_c and none in R_c < d ≤ R_p
        let mut rng = SeedTree::new(15).child("active").rng();
        for (lambda, rc, rp) in [(1.0, 0.5, 0.5), (0.5, 0.6, 0.9)] {
            let runs = 100_000;
            let active = (0..runs)
                .filter(|_| {
                    let users = ppp_disk(lambda, rp, &mut rng);
                    users.len() == 1 && users[0].0.hypot(users[0].1) <= rc
                })
                .count();
            let mc = active as f64 / runs as f64;
            let exact = active_probability(lambda, rc, rp);
            // binomial standard error ≤ 0.0016
            assert!(
                (mc - exact).abs() < 0.006,
                "{lambda} {rc} {rp}: {mc} vs {exact}"
            );
        }
        // notes/001 §4 T5 [CALC]: T = 20, λπR_c² = 0.5 (λ_u = 10λ_r, R = 100 m): E|A_r| = 6.065
        let lambda = 0.5 / (PI * 100.0 * 100.0);
        assert!((20.0 * active_probability(lambda, 100.0, 100.0) - 6.065).abs() < 1e-3);
    }

    #[test]
    fn t5_ordered_distances_match_the_notes_and_monte_carlo() {
        // notes/001 §2.9(g) [CALC], n = 3: 0.4571, 0.6857, 0.8571 (R_c = 1)
        for (i, e) in [(1, 0.4571), (2, 0.6857), (3, 0.8571)] {
            assert!((mean_order_distance(i, 3, 1.0) - e).abs() < 1e-4, "i = {i}");
        }
        let n = 5;
        let mut rng = SeedTree::new(14).child("order").rng();
        let runs = 40_000;
        let mut sums = vec![0.0; n];
        for _ in 0..runs {
            let mut d: Vec<f64> = (0..n).map(|_| rng.random::<f64>().sqrt()).collect();
            d.sort_by(|a, b| a.partial_cmp(b).unwrap());
            for (s, x) in sums.iter_mut().zip(&d) {
                *s += x;
            }
        }
        for (k, s) in sums.iter().enumerate() {
            let mc = s / runs as f64;
            let exact = mean_order_distance(k + 1, n, 1.0);
            // per-sample std ≤ 0.25: standard error ≤ 0.0013
            assert!((mc - exact).abs() < 0.005, "i = {}: {mc} vs {exact}", k + 1);
        }
    }

    #[test]
    fn t5_hamdi_integral_matches_a_direct_monte_carlo() {
        // deterministic S = 4 (L_S = e^{−4z}); I from the PPP of the previous test
        let (lambda, rp, alpha, s) = (0.3, 1.0, 3.75, 4.0);
        let analytic = hamdi_mean_log2(
            |z| (-z * s).exp(),
            |z| interference_laplace(z, lambda, rp, alpha),
            -30.0,
            30.0,
            6000,
        );
        let mut rng = SeedTree::new(13).child("hamdi").rng();
        let runs = 40_000;
        let mc = (0..runs)
            .map(|_| {
                let i: f64 = ppp_disk(lambda, 15.0, &mut rng)
                    .iter()
                    .map(|(x, y)| x * x + y * y)
                    .filter(|&d2| d2 > rp * rp)
                    .map(|d2| d2.powf(-alpha))
                    .sum();
                (1.0 + s / i).log2()
            })
            .sum::<f64>()
            / runs as f64;
        assert!((mc / analytic - 1.0).abs() < 0.01, "mc {mc} vs {analytic}");
        // and the rule has converged in its range and step
        let wider = hamdi_mean_log2(
            |z| (-z * s).exp(),
            |z| interference_laplace(z, lambda, rp, alpha),
            -40.0,
            40.0,
            16000,
        );
        assert!((wider - analytic).abs() < 1e-6);
    }
}

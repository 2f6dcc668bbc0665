//! One Monte Carlo drop of fog massive MIMO at N → ∞, shared by `fog.fig3`–`fog.fig6`
//! (notes/001 §2.8 "decoupling", §4 T6–T9): in the large-N limit the pilot groups decouple, so one
//! group suffices — co-pilot users a PPP of density λ_u^{(t)}, RRHs a PPP of density λ_r, in a
//! square window that is a torus or an open window grown by a guard zone (only users and RRHs of
//! the inner window are counted; all take part). Per drop:
//!
//! 1. codewords unique in the group (L-bit, drawn without replacement), needed by the large-N
//!    detector only;
//! 2. trusted-pilot detection, [`Detection::Geometric`] (the analysis model: R_c/R_p disks) or
//!    [`Detection::LargeN`] (the rule (8) on Σβc, aggregates included);
//! 3. association ([`FogAssociation`]): S_k, and T_k = the RRHs trusted for another co-pilot user;
//! 4. the SIR (23) ([`macro_diversity_sir`]) of every counted served user, with lengths in RRH
//!    spacings 1/√λ_r.
//!
//! A user with no co-pilot interferer at all has SIR = ∞; it is counted in `infinite_sir` and
//! left out of the SE sums (see [`crate::precoding::macro_diversity`]).

use super::table1::Edge;
use crate::geometry::{generate_with_guard, Boundary, Deployment, Point, Window};
use crate::pilots::coded_pilots::{CodedPilotBook, CodewordDraw, FirstField};
use crate::pilots::trusted_detection::{
    detect_geometric, detect_large_n, LargeNThresholds, PathGain,
};
use crate::precoding::macro_diversity::macro_diversity_sir;
use crate::rng::SeedTree;
use crate::scheduling::fog_association::FogAssociation;
use serde::{Deserialize, Serialize};

/// Which trusted-pilot detector a drop uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detection {
    /// Disks: the only co-pilot user within R_p, and within R_c (the analysis model).
    Geometric,
    /// The one-bit rule (8) on the N → ∞ statistic (7), η₁ = R_c^{−α}, η₂ = R_p^{−α}.
    LargeN,
}

/// Parameters of one drop (lengths in one unit, densities per unit area).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropParams {
    pub lambda_r: f64,
    /// Co-pilot user density λ_u^{(t)} of the simulated group.
    pub lambda_u_group: f64,
    pub r_c: f64,
    pub r_p: f64,
    pub alpha: f64,
    /// Side of the counted window.
    pub window_side: f64,
    pub edge: Edge,
    /// Guard width (ignored on a torus).
    pub guard: f64,
    pub detection: Detection,
    /// Code length L (large-N detection).
    pub code_length: u32,
    /// Truncation radius of the large-N sum in units of R_p.
    pub truncation_factor: f64,
}

/// Counts and sums of one drop over the counted (inner) users and RRHs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DropStats {
    pub users: usize,
    pub served: usize,
    /// Served users with SIR = ∞ (no co-pilot interferer anywhere).
    pub infinite_sir: usize,
    /// Σ log₂(1 + SIR) over served users with finite SIR.
    pub se_sum: f64,
    /// Σ |S_k| over served users.
    pub serving_sum: usize,
    pub rrhs: usize,
    /// Counted RRHs where the group is trusted.
    pub active_rrhs: usize,
    /// Area of the counted window.
    pub area: f64,
}

impl DropStats {
    /// Adds another drop's counts.
    pub fn add(&mut self, o: &DropStats) {
        self.users += o.users;
        self.served += o.served;
        self.infinite_sir += o.infinite_sir;
        self.se_sum += o.se_sum;
        self.serving_sum += o.serving_sum;
        self.rrhs += o.rrhs;
        self.active_rrhs += o.active_rrhs;
        self.area += o.area;
    }

    /// Served fraction P_a (= 1 − outage).
    pub fn served_fraction(&self) -> f64 {
        self.served as f64 / self.users as f64
    }

    /// λ_a: served users per unit area.
    pub fn lambda_a(&self) -> f64 {
        self.served as f64 / self.area
    }

    /// Mean SE over served users with finite SIR (b/s/Hz).
    pub fn se_served(&self) -> f64 {
        self.se_sum / (self.served - self.infinite_sir) as f64
    }

    /// Mean SE over all users, unserved at 0 (users with infinite SIR left out) (b/s/Hz).
    pub fn se_all(&self) -> f64 {
        self.se_sum / (self.users - self.infinite_sir) as f64
    }

    /// ASE per pilot A = λ_a·R̄_served (b/s/Hz per unit area).
    pub fn ase_per_pilot(&self) -> f64 {
        self.lambda_a() * self.se_served()
    }

    /// E[|S_k| | served].
    pub fn mean_serving(&self) -> f64 {
        self.serving_sum as f64 / self.served as f64
    }

    /// Fraction of RRHs active for the group (its E|A_r|; times T for all groups).
    pub fn active_fraction(&self) -> f64 {
        self.active_rrhs as f64 / self.rrhs as f64
    }
}

/// Simulates one drop from `seeds` (children "rrh", "users", "codewords").
///
/// # Panics
/// On parameters the experiments' validation excludes (non-positive sizes, R_c > R_p).
pub fn simulate(p: &DropParams, seeds: &SeedTree) -> DropStats {
    let inner = Window::centered(
        p.window_side,
        p.window_side,
        match p.edge {
            Edge::Torus => Boundary::Torus,
            Edge::Guard => Boundary::Open,
        },
    )
    .expect("validated window");
    let rrh_ppp = Deployment::Poisson {
        density_per_m2: p.lambda_r,
    };
    let user_ppp = Deployment::Poisson {
        density_per_m2: p.lambda_u_group,
    };
    let (window, rrhs, rrh_in, users, user_in): (Window, Vec<Point>, Vec<bool>, Vec<Point>, _) =
        match p.edge {
            Edge::Torus => {
                let r = rrh_ppp.generate(&inner, &mut seeds.child("rrh").rng());
                let u = user_ppp.generate(&inner, &mut seeds.child("users").rng());
                let (nr, nu) = (r.len(), u.len());
                (inner, r, vec![true; nr], u, vec![true; nu])
            }
            Edge::Guard => {
                let r =
                    generate_with_guard(&rrh_ppp, &inner, p.guard, &mut seeds.child("rrh").rng())
                        .expect("validated window");
                let u = generate_with_guard(
                    &user_ppp,
                    &inner,
                    p.guard,
                    &mut seeds.child("users").rng(),
                )
                .expect("validated window");
                (u.outer, r.points, r.in_inner, u.points, u.in_inner)
            }
        };
    let group = vec![0usize; users.len()];
    let decisions = match p.detection {
        Detection::Geometric => detect_geometric(&rrhs, &users, &group, 1, &window, p.r_c, p.r_p),
        Detection::LargeN => {
            let book = CodedPilotBook::new(1, p.code_length, FirstField::Identity)
                .expect("validated code length");
            let ids = book
                .assign(
                    users.len(),
                    CodewordDraw::UniqueInGroup,
                    &mut seeds.child("codewords").rng(),
                )
                .expect("validated: fewer users than codewords");
            let words: Vec<u64> = ids
                .iter()
                .map(|id| book.code().unrank(id.codeword_rank).expect("rank in range"))
                .collect();
            let th = LargeNThresholds::from_radii(
                p.r_c,
                p.r_p,
                PathGain::power_law(p.alpha),
                p.truncation_factor,
            );
            detect_large_n(
                &rrhs,
                &users,
                &group,
                &words,
                1,
                p.code_length as usize,
                &window,
                &th,
            )
        }
    };
    let assoc = FogAssociation::new(&decisions, &group);
    let spacing = 1.0 / p.lambda_r.sqrt();
    let mut st = DropStats {
        area: inner.area(),
        ..DropStats::default()
    };
    for (r, a) in assoc.active.iter().enumerate() {
        if rrh_in[r] {
            st.rrhs += 1;
            st.active_rrhs += usize::from(!a.is_empty());
        }
    }
    for (k, s) in assoc.serving.iter().enumerate() {
        if !user_in[k] {
            continue;
        }
        st.users += 1;
        if s.is_empty() {
            continue;
        }
        st.served += 1;
        st.serving_sum += s.len();
        let sir = macro_diversity_sir(
            &window,
            &rrhs,
            users[k],
            s.iter().copied(),
            assoc.copilot_interferers(k, 0),
            p.alpha,
            spacing,
        );
        let se = sir.se_bps_per_hz();
        if se.is_finite() {
            st.se_sum += se;
        } else {
            st.infinite_sir += 1;
        }
    }
    st
}

/// Runs `drops` drops on the rayon pool, drop d from `seeds.index(d)`, and sums them in drop
/// order (thread-count independent).
pub fn run_drops(
    p: &DropParams,
    drops: usize,
    seeds: &SeedTree,
    progress: &dyn crate::experiments::Progress,
) -> DropStats {
    let per =
        crate::experiments::par_indexed(drops, progress, |d| simulate(p, &seeds.index(d as u64)));
    let mut total = DropStats::default();
    for s in &per {
        total.add(s);
    }
    total
}

/// The Monte Carlo settings every large-N fog experiment shares (its config's `mc` table).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McSettings {
    /// Drops per sweep point (guess; 0 skips the Monte Carlo).
    pub drops: usize,
    /// Side of the counted window in RRH spacings 1/√λ_r (guess; the notes use 50).
    pub window_spacings: f64,
    /// Edge handling (guess).
    pub edge: Edge,
    /// Guard zone beyond R_c + R_p, in RRH spacings, for `edge = "guard"` (guess).
    pub guard_spacings: f64,
    /// Trusted-pilot detector.
    pub detection: Detection,
    /// Code length L for large-N detection (guess: 20, |C| = 184,756).
    pub code_length: u32,
    /// Truncation radius of the large-N sum, in protection radii.
    pub truncation_factor: f64,
}

impl McSettings {
    /// 20 drops of a 50-spacing torus, geometric detection, L = 20, truncation 10·R_p.
    pub fn full() -> Self {
        McSettings {
            drops: 20,
            window_spacings: 50.0,
            edge: Edge::Torus,
            guard_spacings: 3.0,
            detection: Detection::Geometric,
            code_length: 20,
            truncation_factor: LargeNThresholds::DEFAULT_TRUNCATION_FACTOR,
        }
    }

    /// Validation with field names under `prefix` (e.g. `config.mc`); `max_radius_spacings` is
    /// the largest R_p of the sweep in RRH spacings, `users_per_rrh` the largest λ_u^{(t)}/λ_r.
    pub fn validate(
        &self,
        prefix: &str,
        max_radius_spacings: f64,
        users_per_rrh: f64,
    ) -> Result<(), crate::scenario::FieldError> {
        use crate::scenario::{Check, FieldError};
        let c = Check { prefix };
        c.count("drops", self.drops, 0, 100_000)?;
        c.range("window_spacings", self.window_spacings, 4.0, 400.0, "")?;
        c.range("guard_spacings", self.guard_spacings, 0.0, 100.0, "")?;
        c.range("truncation_factor", self.truncation_factor, 1.0, 100.0, "")?;
        if crate::pilots::coded_pilots::EqualWeightCode::new(self.code_length).is_err()
            || self.code_length > 32
        {
            return Err(FieldError::new(
                format!("{prefix}.code_length"),
                format!(
                    "got {}; allowed: an even integer from 2 to 32",
                    self.code_length
                ),
            ));
        }
        let reach = match self.detection {
            Detection::Geometric => max_radius_spacings,
            Detection::LargeN => self.truncation_factor * max_radius_spacings,
        };
        if self.edge == Edge::Torus && 2.0 * reach >= self.window_spacings {
            return Err(FieldError::new(
                format!("{prefix}.window_spacings"),
                format!(
                    "got {}; allowed on a torus: more than twice the detection reach ({reach:.2} spacings)",
                    self.window_spacings
                ),
            ));
        }
        let outer = self.window_spacings + 2.0 * (self.guard_spacings + 2.0 * reach);
        let nodes = outer * outer * (1.0 + users_per_rrh);
        if nodes > 5e6 {
            return Err(FieldError::new(
                format!("{prefix}.window_spacings"),
                format!("gives {nodes:.0} nodes per drop; allowed: at most 5,000,000"),
            ));
        }
        if self.detection == Detection::LargeN {
            let code = crate::pilots::coded_pilots::EqualWeightCode::new(self.code_length)
                .expect("checked above");
            let users = outer * outer * users_per_rrh;
            if users * 3.0 > code.size() as f64 {
                return Err(FieldError::new(
                    format!("{prefix}.code_length"),
                    format!(
                        "|C| = {} is too small for ≈{users:.0} co-pilot users per drop; allowed: |C| ≥ 3× the users (raise L)",
                        code.size()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The drop parameters at one sweep point (lengths in the caller's unit).
    pub fn drop_params(
        &self,
        lambda_r: f64,
        lambda_u_group: f64,
        r_c: f64,
        r_p: f64,
        alpha: f64,
    ) -> DropParams {
        let spacing = 1.0 / lambda_r.sqrt();
        DropParams {
            lambda_r,
            lambda_u_group,
            r_c,
            r_p,
            alpha,
            window_side: self.window_spacings * spacing,
            edge: self.edge,
            guard: self.guard_spacings * spacing
                + r_c
                + match self.detection {
                    Detection::Geometric => r_p,
                    Detection::LargeN => self.truncation_factor * r_p,
                },
            detection: self.detection,
            code_length: self.code_length,
            truncation_factor: self.truncation_factor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::fog_coverage::active_probability;
    use std::f64::consts::PI;

    fn params(detection: Detection, edge: Edge) -> DropParams {
        DropParams {
            lambda_r: 1.0,
            lambda_u_group: 1.0,
            r_c: 0.5,
            r_p: 0.5,
            alpha: 3.75,
            window_side: 30.0,
            edge,
            guard: 4.0,
            detection,
            code_length: 20,
            truncation_factor: 10.0,
        }
    }

    #[test]
    fn geometric_drops_match_the_exact_active_rrh_density_and_notes_t6() {
        let mut total = DropStats::default();
        for d in 0..4 {
            let s = simulate(
                &params(Detection::Geometric, Edge::Torus),
                &SeedTree::new(3).child("drop").index(d),
            );
            total.add(&s);
        }
        // (20): P(active) = λπR_c²e^{−λπR_p²} = 0.3581; ≈ 3,600 RRHs: σ ≈ 0.008
        let exact = active_probability(1.0, 0.5, 0.5);
        assert!(
            (total.active_fraction() - exact).abs() < 0.025,
            "{} vs {exact}",
            total.active_fraction()
        );
        // notes T6 full MC at λ_r = 1, R_c = 0.5: λ_a = 0.2810 (σ ≈ 0.01 here)
        assert!(
            (total.lambda_a() - 0.281).abs() < 0.03,
            "{}",
            total.lambda_a()
        );
        // λ_r^(a) = λ_a E|S| (a counting identity up to edge effects: none on the torus)
        let lhs = total.active_rrhs as f64 / total.area;
        assert!((lhs / (total.lambda_a() * total.mean_serving()) - 1.0).abs() < 1e-9);
        assert!(total.se_served() > 0.0 && total.se_all() < total.se_served());
        assert_eq!(total.infinite_sir, 0);
        let _ = PI;
    }

    #[test]
    fn large_n_detection_rejects_aggregates_and_matches_geometric_when_sparse() {
        let seeds = SeedTree::new(4).child("drop");
        // λπR_p² = 0.785: the mean aggregate of the users beyond R_p on one code position is
        // λπR_p²/(α − 2)·η₂ = 0.45η₂, so it often crosses η₂ and the large-N rule rejects
        // pilots the geometric rule trusts
        let g = simulate(&params(Detection::Geometric, Edge::Guard), &seeds);
        let l = simulate(&params(Detection::LargeN, Edge::Guard), &seeds);
        assert_eq!(g.users, l.users);
        assert!(
            l.served < g.served && 2 * l.served > g.served,
            "{} vs {}",
            l.served,
            g.served
        );
        // sparse co-pilot users (λπR_p² = 0.08, mean aggregate 0.045η₂): nearly the same
        let sparse = |d| DropParams {
            lambda_u_group: 0.1,
            ..params(d, Edge::Torus)
        };
        let g = simulate(&sparse(Detection::Geometric), &seeds);
        let l = simulate(&sparse(Detection::LargeN), &seeds);
        let diff = (g.served as f64 - l.served as f64).abs() / g.served as f64;
        assert!(
            diff < 0.05,
            "geometric {} vs large-N {}",
            g.served,
            l.served
        );
    }
}

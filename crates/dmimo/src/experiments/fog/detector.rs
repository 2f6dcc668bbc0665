//! `fog.detector` (fog massive MIMO §II-B, eqs. (2)–(8); notes/001 §2.2–2.5, §4 T11): how often
//! the finite-N signal-level detector ([`crate::pilots::signal_detection`]) decides differently from
//! the large-N β-threshold rule (the one-bit rule on Σ_{k∈t} β_k c_k, which the statistic tends to
//! as N → ∞) and from the geometric rule of the analysis ([`detect_geometric`]), for N antennas
//! and code lengths L.
//!
//! One drop: RRH and user PPPs in an open window of `window_spacings`/√λ_r per side grown by a
//! guard of `guard_spacings`/√λ_r (at least the detector's truncation radius, so every counted
//! RRH sees all its non-negligible users); only the RRHs of the inner window are detected and
//! counted. Pilots: T groups × the length-L equal-weight code, drawn per L. A **mismatch** is an
//! (RRH, group) pair whose decisions (trusted user or none) differ; the **mismatch rate** divides
//! the mismatches by the pairs trusted by at least one of the two rules (the pairs untrusted by
//! both, ≈ 70% of all, would only dilute it). Positions are common to every N and L; channels and
//! noise come from per-(drop, N, L, RRH) seed streams.
//!
//! Inputs: α = 3.75, λ_r = 1/(π·100²) m⁻² (reconstructed); λ_u = 10λ_r, T = 20, R_c = R_p = 100 m,
//! the reference distance 100 m with a 1 m clamp and the 10 dB pilot SNR at 100 m are guesses
//! (notes/001 §1.5, §4 T10). Codewords are drawn i.i.d. by default: unique-in-group draws are
//! impossible for L = 8 (70 words for ≈ 200 users per group in the window). The detector's wall
//! time per window goes to `wall_time.csv`.

use super::super::{Context, ExperimentConfig, Outcome, RunError};
use crate::geometry::{generate_with_guard, Deployment, Window};
use crate::pilots::coded_pilots::{CodedPilotBook, CodewordDraw, FirstField};
use crate::pilots::signal_detection::SignalDetector;
use crate::pilots::trusted_detection::{
    detect_geometric, detect_large_n, LargeNThresholds, PathGain, TrustDecisions,
};
use crate::report::{Figure, Origin, Style, Table};
use crate::scenario::{Check, FieldError};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;
use std::time::Instant;

/// Configuration of `fog.detector`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Antennas per RRH, N (notes T11: 32, 64, 128, 256, 1024).
    pub antennas: Vec<usize>,
    /// Code lengths L, even (notes T11: 8, 16, 20).
    pub code_lengths: Vec<u32>,
    /// Pilot groups T (guess: 20).
    pub groups: usize,
    /// First-field sequences.
    pub first_field: FirstField,
    /// Codeword draw inside a group.
    pub codeword_draw: CodewordDraw,
    /// Path-loss exponent α (reconstructed: 3.75).
    pub alpha: f64,
    /// RRH density as the radius of the mean cell, λ_r = 1/(π R²) (reconstructed: 100 m).
    pub rrh_cell_radius_m: f64,
    /// Users per RRH λ_u/λ_r (guess: 10).
    pub users_per_rrh: f64,
    /// Coverage radius R_c (m): η₁ = β(R_c) (guess: 100).
    pub r_c_m: f64,
    /// Protection radius R_p ≥ R_c (m): η₂ = β(R_p) (§V: R_p = R_c).
    pub r_p_m: f64,
    /// Reference distance of β = 1 (m) (guess: 100).
    pub ref_distance_m: f64,
    /// Distance clamp (m) (notes §5.2: 1).
    pub min_distance_m: f64,
    /// Pilot SNR per dimension of a user at the reference distance (dB) (guess: 10).
    pub pilot_snr_db: f64,
    /// Users with β below this fraction of η₂ act as noise (0.01).
    pub truncation: f64,
    /// Drops.
    pub drops: usize,
    /// Side of the counted window in RRH spacings 1/√λ_r.
    pub window_spacings: f64,
    /// Guard zone in RRH spacings.
    pub guard_spacings: f64,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            antennas: vec![32, 64, 128, 256, 1024],
            code_lengths: vec![8, 16, 20],
            groups: 20,
            first_field: FirstField::Dft,
            codeword_draw: CodewordDraw::Iid,
            alpha: 3.75,
            rrh_cell_radius_m: 100.0,
            users_per_rrh: 10.0,
            r_c_m: 100.0,
            r_p_m: 100.0,
            ref_distance_m: 100.0,
            min_distance_m: 1.0,
            pilot_snr_db: 10.0,
            truncation: 0.01,
            drops: 3,
            window_spacings: 16.0,
            guard_spacings: 2.5,
        }
    }

    fn quick() -> Self {
        Config {
            antennas: vec![32, 1024],
            code_lengths: vec![20],
            drops: 1,
            window_spacings: 6.0,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        if self.antennas.is_empty() {
            return Err(FieldError::new(
                "config.antennas",
                "is empty; allowed: at least one integer from 1 to 4096",
            ));
        }
        for (i, &n) in self.antennas.iter().enumerate() {
            c.count(&format!("antennas[{i}]"), n, 1, 4096)?;
        }
        if self.code_lengths.is_empty() {
            return Err(FieldError::new(
                "config.code_lengths",
                "is empty; allowed: at least one even integer from 2 to 62",
            ));
        }
        for (i, &l) in self.code_lengths.iter().enumerate() {
            if !(2..=62).contains(&l) || l % 2 == 1 {
                return Err(FieldError::new(
                    format!("config.code_lengths[{i}]"),
                    format!("got {l}; allowed: an even integer from 2 to 62"),
                ));
            }
        }
        c.count("groups", self.groups, 1, 1000)?;
        c.range("alpha", self.alpha, 2.01, 10.0, "")?;
        c.range("rrh_cell_radius_m", self.rrh_cell_radius_m, 1.0, 1e5, "m")?;
        c.range("users_per_rrh", self.users_per_rrh, 1e-3, 200.0, "")?;
        c.range("r_c_m", self.r_c_m, 1.0, 1e5, "m")?;
        c.range("r_p_m", self.r_p_m, self.r_c_m, 1e5, "m (at least r_c_m)")?;
        c.range("ref_distance_m", self.ref_distance_m, 1e-3, 1e5, "m")?;
        c.range("min_distance_m", self.min_distance_m, 1e-3, self.r_c_m, "m")?;
        c.range("pilot_snr_db", self.pilot_snr_db, -50.0, 80.0, "dB")?;
        c.range("truncation", self.truncation, 1e-6, 1.0, "")?;
        c.count("drops", self.drops, 1, 10_000)?;
        c.range("window_spacings", self.window_spacings, 1.0, 100.0, "")?;
        let need = self.detector(self.antennas[0], self.code_lengths[0]);
        let need = need.map_err(|e| FieldError::new("config.code_lengths", e))?;
        let min_guard = need.truncation_radius_m() / self.spacing_m();
        c.range(
            "guard_spacings",
            self.guard_spacings,
            min_guard,
            100.0,
            " RRH spacings; at least the truncation radius",
        )?;
        let side = self.window_spacings + 2.0 * self.guard_spacings;
        let users = side * side * self.users_per_rrh;
        if users > 2e6 {
            return Err(FieldError::new(
                "config.window_spacings",
                format!("gives {users:.0} users per drop; allowed: at most 2,000,000"),
            ));
        }
        Ok(())
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let mut out = Outcome::default();
        for (name, value, prov) in [
            ("alpha", self.alpha, "reconstructed"),
            ("rrh_cell_radius_m", self.rrh_cell_radius_m, "reconstructed"),
            ("groups", self.groups as f64, "guess"),
            ("users_per_rrh", self.users_per_rrh, "guess"),
            ("r_c_m", self.r_c_m, "guess"),
            ("r_p_m", self.r_p_m, "reconstructed"),
            ("ref_distance_m", self.ref_distance_m, "guess"),
            ("min_distance_m", self.min_distance_m, "guess"),
            ("pilot_snr_db", self.pilot_snr_db, "guess"),
            ("drops", self.drops as f64, "guess"),
            (
                "window_side_m",
                self.window_spacings * self.spacing_m(),
                "guess",
            ),
        ] {
            out.metrics.insert(format!("input_{name}_{prov}"), value);
        }
        let lambda_r = 1.0 / self.spacing_m().powi(2);
        let spacing = self.spacing_m();
        let inner = Window::centered(
            self.window_spacings * spacing,
            self.window_spacings * spacing,
            crate::geometry::Boundary::Open,
        )
        .map_err(|e| RunError::Numerical(e.to_string()))?;
        let guard = self.guard_spacings * spacing;
        let (nn, nl) = (self.antennas.len(), self.code_lengths.len());
        // per (N, L): [signal≠β, pairs, signal≠geo, pairs]; per L: [β≠geo, pairs]; seconds
        let mut acc = vec![[0usize; 4]; nn * nl];
        let mut acc_geo = vec![[0usize; 2]; nl];
        let mut seconds = vec![0.0; nn * nl];
        let mut rrh_count = 0usize;
        ctx.progress
            .begin("detections", (self.drops * nn * nl) as u64);
        for d in 0..self.drops {
            let drop = ctx.seeds.child("drop").index(d as u64);
            let rrhs = generate_with_guard(
                &Deployment::Poisson {
                    density_per_m2: lambda_r,
                },
                &inner,
                guard,
                &mut drop.child("rrh").rng(),
            )
            .map_err(|e| RunError::Numerical(e.to_string()))?;
            let users = generate_with_guard(
                &Deployment::Poisson {
                    density_per_m2: lambda_r * self.users_per_rrh,
                },
                &inner,
                guard,
                &mut drop.child("users").rng(),
            )
            .map_err(|e| RunError::Numerical(e.to_string()))?;
            let counted: Vec<_> = rrhs
                .inner_indices()
                .into_iter()
                .map(|i| rrhs.points[i])
                .collect();
            rrh_count += counted.len();
            let window = users.outer;
            for (li, &l) in self.code_lengths.iter().enumerate() {
                let det0 = self
                    .detector(self.antennas[0], l)
                    .map_err(RunError::Numerical)?;
                let pilots = det0
                    .book
                    .assign(
                        users.points.len(),
                        self.codeword_draw,
                        &mut drop.child("pilots").index(l as u64).rng(),
                    )
                    .map_err(|e| RunError::Numerical(e.to_string()))?;
                let group: Vec<usize> = pilots.iter().map(|p| p.group).collect();
                let words: Vec<u64> = pilots
                    .iter()
                    .map(|p| det0.book.code().unrank(p.codeword_rank))
                    .collect::<Result<_, _>>()
                    .map_err(|e| RunError::Numerical(e.to_string()))?;
                let beta = detect_large_n(
                    &counted,
                    &users.points,
                    &group,
                    &words,
                    self.groups,
                    l as usize,
                    &window,
                    &LargeNThresholds::from_radii(
                        self.r_c_m,
                        self.r_p_m,
                        det0.gain,
                        LargeNThresholds::DEFAULT_TRUNCATION_FACTOR,
                    ),
                );
                let geo = detect_geometric(
                    &counted,
                    &users.points,
                    &group,
                    self.groups,
                    &window,
                    self.r_c_m,
                    self.r_p_m,
                );
                add(&mut acc_geo[li], 0, &beta, &geo);
                for (ni, &n) in self.antennas.iter().enumerate() {
                    let det = self.detector(n, l).map_err(RunError::Numerical)?;
                    let start = Instant::now();
                    let sig = det.detect(
                        &counted,
                        &users.points,
                        &pilots,
                        &window,
                        &drop.child("detect").index(n as u64).index(l as u64),
                        false,
                    );
                    seconds[ni * nl + li] += start.elapsed().as_secs_f64();
                    add(&mut acc[ni * nl + li], 0, &sig.decisions, &beta);
                    add(&mut acc[ni * nl + li], 2, &sig.decisions, &geo);
                    ctx.progress.advance(1);
                }
            }
        }
        let rate = |m: usize, p: usize| m as f64 / p.max(1) as f64;
        let mut rows = Vec::new();
        for (li, &l) in self.code_lengths.iter().enumerate() {
            let g = acc_geo[li];
            out.metrics
                .insert(format!("mismatch_beta_vs_geo_l{l}"), rate(g[0], g[1]));
            for (ni, &n) in self.antennas.iter().enumerate() {
                let a = acc[ni * nl + li];
                let (mb, mg) = (rate(a[0], a[1]), rate(a[2], a[3]));
                out.metrics.insert(format!("mismatch_beta_n{n}_l{l}"), mb);
                out.metrics.insert(format!("mismatch_geo_n{n}_l{l}"), mg);
                rows.push(vec![
                    n as f64,
                    l as f64,
                    mb,
                    mg,
                    rate(g[0], g[1]),
                    a[1] as f64,
                    seconds[ni * nl + li] / self.drops as f64,
                ]);
            }
            let first = out.metrics[&format!("mismatch_beta_n{}_l{l}", self.antennas[0])];
            let last = out.metrics[&format!("mismatch_beta_n{}_l{l}", self.antennas[nn - 1])];
            out.metrics
                .insert(format!("mismatch_beta_ratio_l{l}"), last / first);
        }
        out.metrics.insert(
            "rrhs_per_window".into(),
            rrh_count as f64 / self.drops as f64,
        );
        out.tables.push(Table {
            name: "mismatch".into(),
            columns: [
                "antennas",
                "code_length",
                "mismatch_vs_beta_rule",
                "mismatch_vs_geometric",
                "beta_rule_vs_geometric",
                "pairs_trusted_by_signal_or_beta",
                "detector_s_per_window",
            ]
            .map(String::from)
            .to_vec(),
            rows: rows.clone(),
        });
        out.tables.push(Table {
            name: "wall_time".into(),
            columns: [
                "antennas",
                "groups",
                "code_length",
                "rrhs_per_window",
                "detector_s_per_window",
            ]
            .map(String::from)
            .to_vec(),
            rows: rows
                .iter()
                .map(|r| {
                    vec![
                        r[0],
                        self.groups as f64,
                        r[1],
                        rrh_count as f64 / self.drops as f64,
                        r[6],
                    ]
                })
                .collect(),
        });
        let mut fig = Figure::new(
            "mismatch_vs_n",
            &format!(
                "Signal-level detector vs the large-N rules (T = {}, R_c = {} m, R_p = {} m, pilot SNR {} dB at {} m)",
                self.groups, self.r_c_m, self.r_p_m, self.pilot_snr_db, self.ref_distance_m
            ),
            "antennas per RRH N",
            "mismatch rate (of pairs trusted by either rule)",
        );
        for &l in &self.code_lengths {
            let pts = |c: usize| -> Vec<(f64, f64)> {
                rows.iter()
                    .filter(|r| r[1] == l as f64)
                    .map(|r| (r[0], r[c]))
                    .collect()
            };
            fig = fig
                .line(
                    &format!("vs β-threshold rule, L = {l}"),
                    Origin::Measured,
                    Style::LineMarkers,
                    pts(2),
                )
                .line(
                    &format!("vs geometric rule, L = {l}"),
                    Origin::Measured,
                    Style::Markers,
                    pts(3),
                );
        }
        fig.x_scale = crate::report::Scale::Log10;
        out.figures.push(fig);
        Ok(out)
    }
}

/// Adds the mismatches of `a` against `b` and the pairs trusted by either to `acc[at..at + 2]`.
fn add(acc: &mut [usize], at: usize, a: &TrustDecisions, b: &TrustDecisions) {
    acc[at] += a.mismatches(b);
    acc[at + 1] += (0..a.rrhs())
        .flat_map(|r| (0..a.groups()).map(move |t| (r, t)))
        .filter(|&(r, t)| a.get(r, t).is_some() || b.get(r, t).is_some())
        .count();
}

impl Config {
    fn spacing_m(&self) -> f64 {
        self.rrh_cell_radius_m * PI.sqrt()
    }

    fn detector(&self, n: usize, l: u32) -> Result<SignalDetector, String> {
        Ok(SignalDetector {
            book: CodedPilotBook::new(self.groups, l, self.first_field)
                .map_err(|e| e.to_string())?,
            antennas: n,
            gain: PathGain {
                alpha: self.alpha,
                ref_distance_m: self.ref_distance_m,
                min_distance_m: self.min_distance_m,
            },
            pilot_snr: 10f64.powf(self.pilot_snr_db / 10.0),
            r_c_m: self.r_c_m,
            r_p_m: self.r_p_m,
            truncation: self.truncation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::invalid_field;

    #[test]
    fn both_sizes_validate_and_bad_fields_are_named() {
        Config::full().validate().unwrap();
        Config::quick().validate().unwrap();
        let field = invalid_field::<Config>;
        assert_eq!(
            field(&|c| c.code_lengths = vec![20, 9]),
            "config.code_lengths[1]"
        );
        assert_eq!(field(&|c| c.antennas.clear()), "config.antennas");
        assert_eq!(field(&|c| c.r_p_m = 50.0), "config.r_p_m");
        assert_eq!(field(&|c| c.guard_spacings = 0.5), "config.guard_spacings");
        assert_eq!(field(&|c| c.alpha = 2.0), "config.alpha");
    }
}

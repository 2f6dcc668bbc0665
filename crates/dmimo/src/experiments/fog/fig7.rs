//! `fog.fig7` (fog massive MIMO §V Example 6, Fig. 7; notes/001 §2.6–2.8, §2.11, §4 T10): finite
//! N, fog (all T pilot groups jointly) against ideal cellular massive MIMO at matched average
//! transmit power — served-user spectral efficiency and area spectral efficiency against the load
//! λ_u/λ_r, for a few coverage radii R_c (R_p = R_c).
//!
//! Per drop and load: RRH and user PPPs in an open window grown by a guard zone (everything in
//! the guard takes part; statistics over the inner window only). The cellular BSs sit at the RRH
//! positions (λ_b = λ_r, common random numbers).
//!
//! * **Fog:** pilots from the coded book (T groups); trust decisions by the **geometric rule**
//!   (default, the analysis model) or the signal-level detector (`detection = "signal"`,
//!   [`crate::pilots::signal_detection`]); sets A_r, S_k, T_k ([`FogAssociation`]); SINR from
//!   Prop. 1 ([`Prop1`], eqs. (11)–(12)) with D_r^{(t)} over every group-t user of the drop and
//!   σ_p² = σ²/(p_ul T). Per-stream power ρ (DL SNR at the reference distance).
//! * **Cellular:** nearest BS, min(K, Q) users per cell on random distinct pilots out of τ_p
//!   ([`simulate_drop`]); Prop. 1 with |S_k| = 1, T_k = the other BSs on k's pilot, |A_b| =
//!   min(K_b, Q), σ_p² = σ²/(p_ul τ_p); per-stream power ρ_c = P̄/E[min(K, Q)] with P̄ = ρ E|A_r|
//!   of the fog system at the same load and R_c (both means over the inner window of the same
//!   drop), so there is one cellular curve per R_c.
//!
//! Prop. 1 uses the paper's hardening step by default (√E X for the ZF gain; `hardening =
//! "exact"` adds Var √X, see [`Hardening`]) and the same form for both systems.
//!
//! Inputs: α = 3.75, λ_r = 1/(π·100²) m⁻², τ_p = Q = 40 (reconstructed); N = 100, T = 20, L = 20,
//! the loads, the radii, 0 dB DL per-stream SNR and 10 dB pilot SNR at 100 m, the 1 m clamp, the
//! window and the drops are guesses (notes/001 §1.5, §5.4 item 6). The notes' T10 illustration
//! (fog, λ_u = 10λ_r, R_c = 100 m; their own Prop. 1 prototype, not the paper) is recomputed at
//! N ∈ `reference_antennas` on the same drops (with `detection = "signal"` the decisions there are
//! those of the N = `antennas` detector, so the comparison is meaningful only for the geometric
//! rule the notes used).

use super::super::{par_indexed, Context, ExperimentConfig, Outcome, RunError};
use crate::geometry::{generate_with_guard, Boundary, Deployment, GuardedPoints, Window};
use crate::pilots::coded_pilots::{CodedPilotBook, CodewordDraw, FirstField};
use crate::pilots::signal_detection::SignalDetector;
use crate::pilots::trusted_detection::PathGain;
use crate::pilots::trusted_detection::{detect_geometric, TrustDecisions};
use crate::precoding::unit_norm_zf::{CopilotTerm, Hardening, Prop1};
use crate::report::{Figure, Origin, Style, Table};
use crate::scenario::{Check, FieldError};
use crate::scheduling::cellular_reuse::simulate_drop;
use crate::scheduling::fog_association::FogAssociation;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::f64::consts::PI;
use std::time::Instant;

/// Which trust decisions the fog system uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detection {
    /// The geometric rule of the analysis (R_c/R_p disks).
    Geometric,
    /// The finite-N signal-level detector (eqs. (2)–(8)).
    Signal,
}

/// Configuration of `fog.fig7`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Antennas per RRH and per BS, N (guess: 100, "up to 100 antennas").
    pub antennas: usize,
    /// Pilot groups T (guess: 20).
    pub groups: usize,
    /// Code length L (guess: 20).
    pub code_length: u32,
    /// Path-loss exponent α (reconstructed: 3.75).
    pub alpha: f64,
    /// RRH (= BS) density as the radius of the mean cell (reconstructed: 100 m).
    pub rrh_cell_radius_m: f64,
    /// Loads λ_u/λ_r (guess).
    pub loads: Vec<f64>,
    /// Coverage radii R_c (m) (guess).
    pub coverage_radii_m: Vec<f64>,
    /// R_p/R_c (§V: 1).
    pub protection_ratio: f64,
    /// Reference distance of β = 1 (m) (guess: 100).
    pub ref_distance_m: f64,
    /// Distance clamp (m).
    pub min_distance_m: f64,
    /// Fog DL per-stream SNR ρ/σ² at the reference distance (dB) (guess: 0).
    pub dl_snr_db: f64,
    /// Pilot SNR per dimension at the reference distance (dB) (guess: 10).
    pub pilot_snr_db: f64,
    /// Cellular orthogonal pilots τ_p (reconstructed: 40).
    pub cellular_tau_p: usize,
    /// Cellular pilots per cell Q (§V: Q = τ_p).
    pub cellular_q: usize,
    /// Fog trust decisions (default geometric).
    pub detection: Detection,
    /// Co-pilot term of Prop. 1 (default per RRH, as the paper).
    pub copilot: CopilotTerm,
    /// ZF-gain moments in Prop. 1 (default the paper's √E X; `exact` adds Var √X).
    pub hardening: Hardening,
    /// Truncation of the signal-level detector (fraction of η₂).
    pub truncation: f64,
    /// Drops per load.
    pub drops: usize,
    /// Side of the counted window in RRH spacings 1/√λ_r.
    pub window_spacings: f64,
    /// Guard zone in RRH spacings.
    pub guard_spacings: f64,
    /// N of the notes' T10 illustration (recomputed at `reference_load`, `reference_r_c_m`).
    pub reference_antennas: Vec<usize>,
    /// Load of the T10 illustration (10; must be one of `loads`).
    pub reference_load: f64,
    /// R_c of the T10 illustration (100 m; must be one of `coverage_radii_m`).
    pub reference_r_c_m: f64,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            antennas: 100,
            groups: 20,
            code_length: 20,
            alpha: 3.75,
            rrh_cell_radius_m: 100.0,
            loads: vec![5.0, 10.0, 20.0, 30.0, 40.0],
            coverage_radii_m: vec![100.0, 70.0, 50.0],
            protection_ratio: 1.0,
            ref_distance_m: 100.0,
            min_distance_m: 1.0,
            dl_snr_db: 0.0,
            pilot_snr_db: 10.0,
            cellular_tau_p: 40,
            cellular_q: 40,
            detection: Detection::Geometric,
            copilot: CopilotTerm::PerRrh,
            hardening: Hardening::Paper,
            truncation: 0.01,
            drops: 4,
            window_spacings: 12.0,
            guard_spacings: 3.0,
            reference_antennas: vec![64, 100, 256, 1024],
            reference_load: 10.0,
            reference_r_c_m: 100.0,
        }
    }

    fn quick() -> Self {
        Config {
            loads: vec![10.0, 40.0],
            coverage_radii_m: vec![100.0, 50.0],
            drops: 2,
            window_spacings: 6.0,
            guard_spacings: 2.5,
            ..Self::full()
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.count("groups", self.groups, 1, 1000)?;
        c.count("cellular_tau_p", self.cellular_tau_p, 1, 10_000)?;
        c.count("cellular_q", self.cellular_q, 1, self.cellular_tau_p)?;
        let need = self.groups.max(self.cellular_q);
        c.count("antennas", self.antennas, need, 100_000)
            .map_err(|e| {
                FieldError::new(
                    e.field,
                    format!("{} (ZF needs N ≥ max(T, Q) = {need})", e.message),
                )
            })?;
        if !(2..=62).contains(&self.code_length) || self.code_length % 2 == 1 {
            return Err(FieldError::new(
                "config.code_length",
                format!(
                    "got {}; allowed: an even integer from 2 to 62",
                    self.code_length
                ),
            ));
        }
        c.range("alpha", self.alpha, 2.01, 10.0, "")?;
        c.range("rrh_cell_radius_m", self.rrh_cell_radius_m, 1.0, 1e5, "m")?;
        c.each("loads", &self.loads, 1, 0.01, 200.0, "users per RRH")?;
        c.each("coverage_radii_m", &self.coverage_radii_m, 1, 1.0, 1e4, "m")?;
        c.range("protection_ratio", self.protection_ratio, 1.0, 10.0, "")?;
        c.range("ref_distance_m", self.ref_distance_m, 1e-3, 1e5, "m")?;
        c.range("min_distance_m", self.min_distance_m, 1e-3, 1e3, "m")?;
        c.range("dl_snr_db", self.dl_snr_db, -50.0, 80.0, "dB")?;
        c.range("pilot_snr_db", self.pilot_snr_db, -50.0, 80.0, "dB")?;
        c.range("truncation", self.truncation, 1e-6, 1.0, "")?;
        c.count("drops", self.drops, 1, 10_000)?;
        c.range("window_spacings", self.window_spacings, 1.0, 100.0, "")?;
        c.range("guard_spacings", self.guard_spacings, 0.0, 100.0, "")?;
        for (i, &n) in self.reference_antennas.iter().enumerate() {
            c.count(&format!("reference_antennas[{i}]"), n, need, 100_000)?;
        }
        if !self.loads.contains(&self.reference_load) {
            return Err(FieldError::new(
                "config.reference_load",
                format!(
                    "got {}; allowed: one of loads {:?}",
                    self.reference_load, self.loads
                ),
            ));
        }
        if !self.coverage_radii_m.contains(&self.reference_r_c_m) {
            return Err(FieldError::new(
                "config.reference_r_c_m",
                format!(
                    "got {}; allowed: one of coverage_radii_m {:?}",
                    self.reference_r_c_m, self.coverage_radii_m
                ),
            ));
        }
        let side = self.window_spacings + 2.0 * self.guard_spacings;
        let max_load = self.loads.iter().copied().fold(0.0, f64::max);
        let users = side * side * max_load;
        if users > 1e6 {
            return Err(FieldError::new(
                "config.window_spacings",
                format!("gives {users:.0} users per drop at the largest load; allowed: at most 1,000,000"),
            ));
        }
        Ok(())
    }

    fn run(&self, ctx: &Context) -> Result<Outcome, RunError> {
        let mut out = Outcome::default();
        for (name, value, prov) in [
            ("alpha", self.alpha, "reconstructed"),
            ("rrh_cell_radius_m", self.rrh_cell_radius_m, "reconstructed"),
            (
                "cellular_tau_p",
                self.cellular_tau_p as f64,
                "reconstructed",
            ),
            ("cellular_q", self.cellular_q as f64, "reconstructed"),
            ("protection_ratio", self.protection_ratio, "reconstructed"),
            ("antennas", self.antennas as f64, "guess"),
            ("groups", self.groups as f64, "guess"),
            ("code_length", self.code_length as f64, "guess"),
            ("ref_distance_m", self.ref_distance_m, "guess"),
            ("min_distance_m", self.min_distance_m, "guess"),
            ("dl_snr_db", self.dl_snr_db, "guess"),
            ("pilot_snr_db", self.pilot_snr_db, "guess"),
            ("drops", self.drops as f64, "guess"),
            (
                "window_side_m",
                self.window_spacings * self.spacing_m(),
                "guess",
            ),
            (
                "detection_signal",
                (self.detection == Detection::Signal) as u8 as f64,
                "guess",
            ),
        ] {
            out.metrics.insert(format!("input_{name}_{prov}"), value);
        }
        for (i, r) in self.coverage_radii_m.iter().enumerate() {
            out.metrics
                .insert(format!("input_coverage_radius_{i}_m_guess"), *r);
        }
        for (i, l) in self.loads.iter().enumerate() {
            out.metrics.insert(format!("input_load_{i}_guess"), *l);
        }
        let start = Instant::now();
        let (nl, nr) = (self.loads.len(), self.coverage_radii_m.len());
        ctx.progress
            .begin("drops × loads", (self.drops * nl) as u64);
        let items = par_indexed(self.drops * nl, ctx.progress, |i| {
            self.one(ctx, i / nl, self.loads[i % nl])
        });
        let mut sums = vec![Sums::default(); nl * nr];
        let mut refs = vec![[0.0; 2]; self.reference_antennas.len()];
        for (i, item) in items.into_iter().enumerate() {
            let (per_rc, r) = item?;
            for (j, s) in per_rc.into_iter().enumerate() {
                sums[(i % nl) * nr + j].add(&s);
            }
            for (a, b) in refs.iter_mut().zip(r) {
                a[0] += b[0];
                a[1] += b[1];
            }
        }
        let elapsed = start.elapsed().as_secs_f64();
        let area_km2 = (self.window_spacings * self.spacing_m()).powi(2) * 1e-6 * self.drops as f64;
        let mut rows = Vec::new();
        let mut se_ratio_min = f64::INFINITY;
        let mut ase_ratio_max: f64 = 0.0;
        for (li, &load) in self.loads.iter().enumerate() {
            let mut best_se_ratio: f64 = 0.0;
            for (ri, &r_c) in self.coverage_radii_m.iter().enumerate() {
                let s = &sums[li * nr + ri];
                let fog_se = s.fog_se / s.fog_served.max(1.0);
                let cell_se = s.cell_se / s.cell_served.max(1.0);
                let fog_ase = s.fog_se / area_km2;
                let cell_ase = s.cell_se / area_km2;
                let outage = 1.0 - s.fog_served / s.users.max(1.0);
                let mean_active = s.active / s.rrhs.max(1.0);
                let tag = format!("load{load}_rc{r_c}m");
                out.metrics.insert(format!("fog_se_{tag}"), fog_se);
                out.metrics.insert(format!("fog_ase_{tag}"), fog_ase);
                out.metrics.insert(format!("fog_outage_{tag}"), outage);
                out.metrics
                    .insert(format!("fog_mean_active_{tag}"), mean_active);
                out.metrics.insert(format!("cell_se_{tag}"), cell_se);
                out.metrics.insert(format!("cell_ase_{tag}"), cell_ase);
                best_se_ratio = best_se_ratio.max(fog_se / cell_se);
                ase_ratio_max = ase_ratio_max.max(fog_ase / cell_ase);
                rows.push(vec![
                    load,
                    r_c,
                    fog_se,
                    cell_se,
                    fog_ase,
                    cell_ase,
                    outage,
                    1.0 - s.cell_served / s.users.max(1.0),
                    mean_active,
                    s.cell_streams / s.rrhs.max(1.0),
                ]);
            }
            se_ratio_min = se_ratio_min.min(best_se_ratio);
        }
        out.metrics
            .insert("fog_over_cell_se_min_over_loads".into(), se_ratio_min);
        out.metrics
            .insert("fog_over_cell_ase_max".into(), ase_ratio_max);
        for (&n, r) in self.reference_antennas.iter().zip(&refs) {
            out.metrics
                .insert(format!("reference_fog_se_n{n}"), r[0] / r[1].max(1.0));
        }
        out.tables.push(Table {
            name: "fig7".into(),
            columns: [
                "load_users_per_rrh",
                "r_c_m",
                "fog_se_served_bps_per_hz",
                "cell_se_served_bps_per_hz",
                "fog_ase_bps_per_hz_per_km2",
                "cell_ase_bps_per_hz_per_km2",
                "fog_outage",
                "cell_unserved",
                "fog_mean_streams_per_rrh",
                "cell_mean_streams_per_bs",
            ]
            .map(String::from)
            .to_vec(),
            rows: rows.clone(),
        });
        out.tables.push(Table {
            name: "reference_t10".into(),
            columns: [
                "antennas",
                "fog_se_served_bps_per_hz",
                "notes_calc_bps_per_hz",
            ]
            .map(String::from)
            .to_vec(),
            rows: self
                .reference_antennas
                .iter()
                .zip(&refs)
                .map(|(&n, r)| vec![n as f64, r[0] / r[1].max(1.0), notes_t10(n)])
                .collect(),
        });
        let pts = |f: &dyn Fn(usize, &[f64; 2]) -> f64| -> Vec<(f64, f64)> {
            self.reference_antennas
                .iter()
                .zip(&refs)
                .map(|(&n, r)| (n as f64, f(n, r)))
                .filter(|p| p.1.is_finite())
                .collect()
        };
        let mut fig = Figure::new(
            "reference_se_vs_antennas",
            &format!(
                "Fog served-user SE vs N (load {}, R_c = {} m; notes/001 T10 illustration)",
                self.reference_load, self.reference_r_c_m
            ),
            "antennas per RRH N",
            "mean SE per served user (b/s/Hz)",
        )
        .line(
            "dmimo, Prop. 1",
            Origin::Measured,
            Style::LineMarkers,
            pts(&|_, r| r[0] / r[1].max(1.0)),
        )
        .line(
            "notes/001 [CALC] (derived, not paper)",
            Origin::Theory,
            Style::Markers,
            pts(&|n, _| notes_t10(n)),
        );
        fig.x_scale = crate::report::Scale::Log10;
        out.figures.push(fig);
        out.tables.push(Table {
            name: "wall_time".into(),
            columns: vec!["total_s".into()],
            rows: vec![vec![elapsed]],
        });
        let what = format!(
            "N = {}, T = {}, DL SNR {} dB, pilot SNR {} dB at {} m, τ_p = Q = {}",
            self.antennas,
            self.groups,
            self.dl_snr_db,
            self.pilot_snr_db,
            self.ref_distance_m,
            self.cellular_q
        );
        for (name, title, y, fog_col, cell_col) in [
            ("ase_vs_load", "(a) ASE", "ASE (b/s/Hz/km²)", 4, 5),
            (
                "se_vs_load",
                "(b) Served-user SE",
                "mean SE per served user (b/s/Hz)",
                2,
                3,
            ),
        ] {
            let mut fig = Figure::new(
                name,
                &format!("{title}, fog vs cellular at matched power ({what})"),
                "load λ_u/λ_r (users per RRH)",
                y,
            );
            for &r_c in &self.coverage_radii_m {
                let pts = |c: usize| -> Vec<(f64, f64)> {
                    rows.iter()
                        .filter(|r| r[1] == r_c)
                        .map(|r| (r[0], r[c]))
                        .collect()
                };
                fig = fig
                    .line(
                        &format!("fog, R_c = {r_c} m"),
                        Origin::Measured,
                        Style::LineMarkers,
                        pts(fog_col),
                    )
                    .line(
                        &format!("cellular, power matched to R_c = {r_c} m"),
                        Origin::Measured,
                        Style::Line,
                        pts(cell_col),
                    );
            }
            out.figures.push(fig);
        }
        Ok(out)
    }
}

/// The notes' T10 illustration (derived, not paper), or NaN.
fn notes_t10(n: usize) -> f64 {
    match n {
        64 => 5.2,
        100 => 5.8,
        256 => 7.0,
        1024 => 8.6,
        _ => f64::NAN,
    }
}

/// Sums over the inner window of one (drop, load, R_c).
#[derive(Clone, Default)]
struct Sums {
    users: f64,
    rrhs: f64,
    active: f64,
    fog_served: f64,
    fog_se: f64,
    cell_served: f64,
    cell_se: f64,
    cell_streams: f64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        self.users += o.users;
        self.rrhs += o.rrhs;
        self.active += o.active;
        self.fog_served += o.fog_served;
        self.fog_se += o.fog_se;
        self.cell_served += o.cell_served;
        self.cell_se += o.cell_se;
        self.cell_streams += o.cell_streams;
    }
}

type OneResult = Result<(Vec<Sums>, Vec<[f64; 2]>), RunError>;

impl Config {
    fn spacing_m(&self) -> f64 {
        self.rrh_cell_radius_m * PI.sqrt()
    }

    fn gain(&self) -> PathGain {
        PathGain {
            alpha: self.alpha,
            ref_distance_m: self.ref_distance_m,
            min_distance_m: self.min_distance_m,
        }
    }

    /// One drop at one load: per R_c the sums, and the reference (Σ SE, served) per N.
    fn one(&self, ctx: &Context, d: usize, load: f64) -> OneResult {
        let num = |e: &dyn std::fmt::Display| RunError::Numerical(e.to_string());
        let spacing = self.spacing_m();
        let lambda_r = 1.0 / (spacing * spacing);
        let side = self.window_spacings * spacing;
        let inner = Window::centered(side, side, Boundary::Open).map_err(|e| num(&e))?;
        let guard = self.guard_spacings * spacing;
        let drop = ctx.seeds.child("drop").index(d as u64);
        let ppp = |density: f64, label: &str| -> Result<GuardedPoints, RunError> {
            generate_with_guard(
                &Deployment::Poisson {
                    density_per_m2: density,
                },
                &inner,
                guard,
                &mut drop.child(label).rng(),
            )
            .map_err(|e| num(&e))
        };
        let rrh = ppp(lambda_r, "rrh")?;
        let load_seeds = drop.child("load").index(load.to_bits());
        let users = generate_with_guard(
            &Deployment::Poisson {
                density_per_m2: lambda_r * load,
            },
            &inner,
            guard,
            &mut load_seeds.child("users").rng(),
        )
        .map_err(|e| num(&e))?;
        let window = users.outer;
        let (xs, ys) = (&rrh.points, &users.points);
        let gain = self.gain();
        let beta = |r: usize, k: usize| gain.gain_sq(window.distance_sq(xs[r], ys[k]));
        let p_ul = 10f64.powf(self.pilot_snr_db / 10.0);
        let rho = 10f64.powf(self.dl_snr_db / 10.0);
        let book = CodedPilotBook::new(self.groups, self.code_length, FirstField::Dft)
            .map_err(|e| num(&e))?;
        let draw = if (ys.len() as u64) < book.code().size() {
            CodewordDraw::UniqueInGroup
        } else {
            CodewordDraw::Iid
        };
        let pilots = book
            .assign(ys.len(), draw, &mut load_seeds.child("pilots").rng())
            .map_err(|e| num(&e))?;
        let group: Vec<usize> = pilots.iter().map(|p| p.group).collect();
        let mut members = vec![Vec::new(); self.groups];
        for (k, &t) in group.iter().enumerate() {
            members[t].push(k);
        }
        let inner_rrhs = rrh.inner_indices();
        let inner_users = users.inner_indices();

        // ---- cellular drop (independent of R_c) ----
        let cell = simulate_drop(
            xs,
            ys,
            &window,
            self.cellular_q,
            self.cellular_tau_p,
            self.alpha,
            &mut load_seeds.child("cellular").rng(),
        );
        let mut cell_dec = TrustDecisions::untrusted(xs.len(), self.cellular_tau_p);
        let mut cell_group = vec![0usize; ys.len()];
        let mut on_pilot = vec![Vec::new(); self.cellular_tau_p];
        for s in &cell.served {
            cell_dec.set(s.bs, s.pilot, Some(s.user));
            cell_group[s.user] = s.pilot;
            on_pilot[s.pilot].push(s.user);
        }
        let cell_assoc = FogAssociation::new(&cell_dec, &cell_group);
        let sp_cell = 1.0 / (p_ul * self.cellular_tau_p as f64);
        let mut cell_den: HashMap<(usize, usize), f64> = HashMap::new();
        for (t, pairs) in cell_assoc.trusted_in_group.iter().enumerate() {
            for &(b, _) in pairs {
                let s: f64 = on_pilot[t].iter().map(|&j| beta(b, j)).sum();
                cell_den.insert((b, t), s + sp_cell);
            }
        }
        let cell_streams: f64 = inner_rrhs
            .iter()
            .map(|&b| cell_assoc.active[b].len() as f64)
            .sum();
        let mean_cell_streams = cell_streams / inner_rrhs.len().max(1) as f64;

        let sp_fog = 1.0 / (p_ul * self.groups as f64);
        let mut per_rc = Vec::new();
        let mut refs = vec![[0.0; 2]; self.reference_antennas.len()];
        for (ri, &r_c) in self.coverage_radii_m.iter().enumerate() {
            let r_p = r_c * self.protection_ratio;
            let dec = match self.detection {
                Detection::Geometric => {
                    detect_geometric(xs, ys, &group, self.groups, &window, r_c, r_p)
                }
                Detection::Signal => {
                    SignalDetector {
                        book,
                        antennas: self.antennas,
                        gain,
                        pilot_snr: p_ul,
                        r_c_m: r_c,
                        r_p_m: r_p,
                        truncation: self.truncation,
                    }
                    .detect(
                        xs,
                        ys,
                        &pilots,
                        &window,
                        &load_seeds.child("detect").index(ri as u64),
                        false,
                    )
                    .decisions
                }
            };
            let assoc = FogAssociation::new(&dec, &group);
            let mut den: HashMap<(usize, usize), f64> = HashMap::new();
            for (t, pairs) in assoc.trusted_in_group.iter().enumerate() {
                for &(r, _) in pairs {
                    let s: f64 = members[t].iter().map(|&j| beta(r, j)).sum();
                    den.insert((r, t), s + sp_fog);
                }
            }
            let active: f64 = inner_rrhs
                .iter()
                .map(|&r| assoc.active[r].len() as f64)
                .sum();
            let mean_active = active / inner_rrhs.len().max(1) as f64;
            let fog_se = |n: usize| -> (f64, f64) {
                let mut p = Prop1::new(n, &assoc, &group, 1.0 / rho, self.copilot);
                p.hardening = self.hardening;
                let (mut se, mut served) = (0.0, 0.0);
                for &k in &inner_users {
                    if let Some(s) = p.sinr(k, &beta, &|r, t| den[&(r, t)]) {
                        se += s.log2_1p();
                        served += 1.0;
                    }
                }
                (se, served)
            };
            let (se, served) = fog_se(self.antennas);
            // cellular at matched average power: ρ_c = ρ E|A_r| / E[min(K, Q)]
            let rho_c = rho * mean_active / mean_cell_streams.max(f64::MIN_POSITIVE);
            let (mut cse, mut cserved) = (0.0, 0.0);
            if rho_c > 0.0 {
                let mut p = Prop1::new(
                    self.antennas,
                    &cell_assoc,
                    &cell_group,
                    1.0 / rho_c,
                    self.copilot,
                );
                p.hardening = self.hardening;
                for &k in &inner_users {
                    if let Some(s) = p.sinr(k, &beta, &|b, t| cell_den[&(b, t)]) {
                        cse += s.log2_1p();
                        cserved += 1.0;
                    }
                }
            }
            if load == self.reference_load && r_c == self.reference_r_c_m {
                for (a, &n) in refs.iter_mut().zip(&self.reference_antennas) {
                    let (s, c) = fog_se(n);
                    *a = [s, c];
                }
            }
            per_rc.push(Sums {
                users: inner_users.len() as f64,
                rrhs: inner_rrhs.len() as f64,
                active,
                fog_served: served,
                fog_se: se,
                cell_served: cserved,
                cell_se: cse,
                cell_streams,
            });
        }
        Ok((per_rc, refs))
    }
}

/// log₂(1 + x).
trait Log2OnePlus {
    fn log2_1p(self) -> f64;
}

impl Log2OnePlus for f64 {
    fn log2_1p(self) -> f64 {
        self.ln_1p() / std::f64::consts::LN_2
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
        assert_eq!(field(&|c| c.antennas = 30), "config.antennas");
        assert_eq!(field(&|c| c.code_length = 7), "config.code_length");
        assert_eq!(field(&|c| c.reference_load = 3.0), "config.reference_load");
        assert_eq!(
            field(&|c| c.coverage_radii_m = vec![0.0]),
            "config.coverage_radii_m[0]"
        );
        assert_eq!(field(&|c| c.cellular_q = 41), "config.cellular_q");
    }
}

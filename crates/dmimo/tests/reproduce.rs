//! Reproduction tests: every experiment at its quick size, judged by its targets (with the quick
//! tolerances of its targets.toml), and the same run on 1 and 2 threads giving identical metrics.

use dmimo::experiments::{self, Report, Request, Silent};
use dmimo::scenario::Size;

/// Targets that dmimo misses on purpose, with the reason; everything else must pass.
const KNOWN_MISSES: &[(&str, &str)] = &[
    (
        "max_leakage_db_residual_10hz",
        "a fixed 10 Hz residual turns the phase by 3.6° over 1 ms: 1 − cos 3.6° = −27 dB > −30 dB at the slot end",
    ),
    (
        "change_miss_rate_at_5pct_false_alarm",
        "noiseless canonical forms are exactly offset-invariant, so every changed channel is detected",
    ),
    (
        "mean_gain_over_sweep",
        "distsync.sum-rate-4x4: with one pilot symbol at the swept power (the prototype's downlink sounding) the per-subcarrier estimate is as noisy as the data link, so ZF leaves ~3 noise powers of interference and the gain falls to ~1.1 at the low end of the sweep (3.1 at the top; mean ≈ 1.96, ratio of mean rates 2.56)",
    ),
    (
        "bf_mean_gain_db",
        "airsync.bf-gain: gain + null leakage = 2 for the same errors, so the thesis' 2.98 dB needs a mean leakage of −18.6 dB while its own −24.46 dB gives 3.0025 dB; dmimo's model (leakage ≈ −21.4 dB as a linear mean) gives 2.995 dB",
    ),
    (
        "null_leakage_p90_db",
        "airsync.null-leakage: Rayleigh-faded subcarriers estimated at 30 dB per link leave a tail above −20 dB (90th percentile ≈ −19.5 dB; mean of dB −25.3, within the target)",
    ),
    (
        "zf_sinr_median_db",
        "airsync.zf-2x2: over random drops of equal-mean Rayleigh links the median user gets ≈ 21 dB (25 dB without impairments); the thesis' 29/26 dB placement sits at dmimo's 96th/84th percentile",
    ),
    (
        "zf_sum_rate_bps_per_hz",
        "airsync.zf-2x2: follows from the median SINR ≈ 21 dB (13.2 bps/Hz; the thesis' 18.27 is at the top of dmimo's drops)",
    ),
    (
        "zf_gain_over_p2p",
        "airsync.zf-2x2: ≈ 1.39 over the measured best link (9.5 bps/Hz, on target) for the same reason",
    ),
    (
        "thp_sinr_median_db",
        "airsync.thp-4x4: dmimo's users spread from 27 dB (first in the THP order) to 11 dB (last), median ≈ 22 dB, 0.4 dB above the tolerance of the thesis' 16.8–21.4 dB; sum rate and gain are on target",
    ),
    (
        "thp_gain_over_tdma",
        "airsync.vs-tdma: THP's SINR follows TDMA's within 1–2 dB as the thesis says, but the impairment ceiling (≈ 23 dB) and the shaping loss hold the gain to ≈ +39% on average (+46% at 15 dB down to +30% at 30 dB); +85% needs THP at TDMA's SINR up to 30 dB",
    ),
    (
        "robust_threshold_snr_db",
        "chorus.phase-vs-snr at quick size (3 runs per point): no join locks to a 200 Hz alias at −6 dB, so θ* ≈ −5.8 dB, just below the notes' guessed −5…+5 dB range; at full size (16 runs) one alias lock at −3 dB (the coarse stage's residual exceeds ±100 Hz) puts θ* at 0 dB, inside it",
    ),
    (
        "ratio_vs_single_leader_largest",
        "chorus.throughput-vs-leader: 1.38 at quick size (1.40 ± 0.015 at full size) against the abstract's 2.7×: with coherence regions of ≈8 nodes the ratio over a single leader is capped by joint ZF's gain over single-cell transmission (≈1.42); it reaches 2.0 only with 64-node regions (diagnostic sweep) — the paper's conditions are unknown",
    ),
    (
        "r1_max_disturbance_deg",
        "chorus.failures R1 (17.7° quick, 18.4° full, vs 10°): the statistic's noise floor — once a fault changes what a node tracks, its noise decorrelates from its twin's and max |e − e_twin| over a few hundred samples is ≈ 3 × √2 × the 3.4° steady RMS ≈ 15° without any fault effect",
    ),
    (
        "r2_cascade_over_bound",
        "chorus.failures R2: orphans rejoin through a longer path (one join dwell per new layer): 15 periods against depth × (D + dwell) = 14",
    ),
    (
        "r3_kill_a_max_disturbance_deg",
        "chorus.failures R3 kill A (16.5° quick, 18.3° full): as R1",
    ),
    (
        "r3_kill_b_max_disturbance_deg",
        "chorus.failures R3 kill B (10.8° quick, 17.5° full): as R1",
    ),
    (
        "r4_max_disturbance_deg",
        "chorus.failures R4 (17.3° quick, 19.7° full): the protocol holds; nodes with 2–3 equal parents lose one: as R1",
    ),
    (
        "r5_losses",
        "chorus.failures R5: existing nodes move up to the layer the added node opens (upgrade rule) and orphan their children",
    ),
    (
        "r5_max_disturbance_deg",
        "chorus.failures R5 (14.2° quick, 22.8° full): the added node and the upgrades change composites: as R1",
    ),
    (
        "r5_recovery_periods",
        "chorus.failures R5 at quick size (115 periods; 14 at full size): a late excursion of the error pooled over 4 runs",
    ),
    (
        "r6_recovery_periods",
        "chorus.failures R6 at quick size (284 periods after the clearing; 0 at full size): a late excursion of the error pooled over 4 runs",
    ),
    (
        "mismatch_beta_n1024_l20",
        "fog.detector (0.45 quick, 0.48 full, vs ≤ 0.10): the MRC residual of (7) at a group-t RRH is ≈ √(β_s Σ β/(2N)), the sum over the users of all T groups in the second field; at λ_u = 10λ_r that sum is hundreds of η₁ (users within tens of metres), so edge users' bits flip until N ≫ 10⁴ — the mismatch falls only as ≈ 1/√N (0.93 → 0.48 from N = 32 to 1024; 0.27 at 4096)",
    ),
    (
        "fog_over_cell_ase_max",
        "fog.fig7 (0.70 quick, 0.77 full, vs ≥ 0.95): with T = 20 pilot groups (a guess) the fog outage is 50–89% and fog's ASE stays below cellular's at every load and R_c; fog's served-user SE is 1.5–3.5× cellular's as the paper says. The ratio depends strongly on the unknown T, R_c and powers (notes/001 T9)",
    ),
    (
        "crossover_users",
        "the thesis' K > 5 contradicts its own 160 Mbps and 20 Mbps/user (K = 9)",
    ),
];

fn run(id: &str, threads: usize) -> Report {
    let entry = experiments::find(id).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        experiments::run(
            entry,
            &Request {
                seed: 1,
                size: Size::Quick,
                overrides: None,
                progress: &Silent,
            },
        )
        .unwrap()
    })
}

#[test]
fn every_experiment_meets_its_targets_at_quick_size() {
    for e in experiments::all() {
        let report = run(e.id, 2);
        assert!(!report.targets.is_empty(), "{}: no targets", e.id);
        for t in &report.targets {
            let known_miss = KNOWN_MISSES.iter().any(|(m, _)| *m == t.metric);
            assert_eq!(
                t.pass, !known_miss,
                "{}: {} = {} (paper {}, tol {}): {}",
                e.id, t.metric, t.measured, t.paper, t.tolerance, t.note
            );
        }
        assert!(!report.figures.is_empty() && !report.tables.is_empty());
        for table in &report.tables {
            assert!(
                table.rows.iter().all(|r| r.len() == table.columns.len()),
                "{}: ragged table {}",
                e.id,
                table.name
            );
        }
    }
}

#[test]
fn metrics_do_not_depend_on_the_thread_count() {
    for e in experiments::all() {
        let (a, b) = (run(e.id, 1), run(e.id, 2));
        // bit-identical, NaN-aware
        let bits = |r: &Report| {
            r.metrics
                .iter()
                .map(|(k, v)| (k.clone(), v.to_bits()))
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&a), bits(&b), "{}", e.id);
    }
}

#[test]
fn a_different_seed_gives_different_noise() {
    let entry = experiments::find("thesis.precoder-rates").unwrap();
    let req = |seed| Request {
        seed,
        size: Size::Quick,
        overrides: None,
        progress: &Silent,
    };
    let a = experiments::run(entry, &req(1)).unwrap();
    let b = experiments::run(entry, &req(2)).unwrap();
    assert!(a.metrics.contains_key("sum_rate_zf_bps_per_hz_snr_20db"));
    assert_ne!(
        a.metrics.get("sum_rate_zf_bps_per_hz_snr_20db"),
        b.metrics.get("sum_rate_zf_bps_per_hz_snr_20db")
    );
}

//! `distsync.backhaul`: the wired-backhaul and overhead accounting of AirSync and DistSync as a
//! calculator (thesis §3.1, §3.7, §4.4; notes/003 §2.5, §3.7, §8 item 6), built on
//! [`crate::sync::backhaul`].
//!
//! For the configured system: the CSI one link feeds back, the feedback per user, the coefficient
//! message per AP, the server's collect → compute → return turnaround over one shared link, and
//! the per-AP backhaul of centralized precoding (I/Q of the precoded symbols) against
//! decentralized precoding (every user's data stream to every AP), with the number of users at
//! which decentralized needs more.

use super::super::{Context, ExperimentConfig, Outcome, RunError};
use crate::report::{Figure, Origin, Style, Table};
use crate::scenario::{Check, FieldError};
use crate::sync::backhaul::{
    centralized_iq_rate_bps, coefficient_bytes_per_ap, crossover_users, csi_bytes_per_link,
    decentralized_rate_bps, feedback_bytes_per_user, server_turnaround, stream_rate_bps,
};
use serde::{Deserialize, Serialize};

/// Configuration of `distsync.backhaul`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Subcarriers per channel vector (thesis: 64).
    pub subcarriers: usize,
    /// Bits per I or Q component (thesis: 16).
    pub bits: u32,
    /// APs and users of the system accounted (thesis testbed: 2 × 2).
    pub aps: usize,
    pub users: usize,
    /// The server link (thesis: one gigabit Ethernet link behind a switch), bit/s.
    pub link_bps: f64,
    /// Server computation per slot (s). Ours, not the thesis': 64 subcarriers × ≈ 1 µs per 4×4 ZF
    /// (the `zf` benchmark) rounded up to 100 µs.
    pub compute_s: f64,
    /// Switch + NIC + stack latency, each way (s); an assumption (the thesis tuned interrupt
    /// coalescing to shorten it).
    pub one_way_latency_s: f64,
    /// Data bandwidth (Hz; AirSync: 5 MHz) and per-user spectral efficiency (bit/s/Hz; the thesis'
    /// example: 4) for the centralized-vs-decentralized comparison.
    pub bandwidth_hz: f64,
    pub spectral_efficiency_bps_per_hz: f64,
    /// Largest number of users in the sweeps (M = K).
    pub max_users: usize,
}

impl ExperimentConfig for Config {
    fn full() -> Self {
        Config {
            subcarriers: 64,
            bits: 16,
            aps: 2,
            users: 2,
            link_bps: 1e9,
            compute_s: 100e-6,
            one_way_latency_s: 20e-6,
            bandwidth_hz: 5e6,
            spectral_efficiency_bps_per_hz: 4.0,
            max_users: 32,
        }
    }

    fn quick() -> Self {
        Self::full()
    }

    fn validate(&self) -> Result<(), FieldError> {
        let c = Check { prefix: "config" };
        c.count("subcarriers", self.subcarriers, 1, 1 << 16)?;
        c.count("bits", self.bits as usize, 1, 64)?;
        c.count("aps", self.aps, 1, 100_000)?;
        c.count("users", self.users, 1, 100_000)?;
        c.range("link_bps", self.link_bps, 1e3, 1e13, "bit/s")?;
        c.range("compute_s", self.compute_s, 0.0, 10.0, "s")?;
        c.range("one_way_latency_s", self.one_way_latency_s, 0.0, 10.0, "s")?;
        c.range("bandwidth_hz", self.bandwidth_hz, 1.0, 1e11, "Hz")?;
        c.range(
            "spectral_efficiency_bps_per_hz",
            self.spectral_efficiency_bps_per_hz,
            0.0,
            100.0,
            "bit/s/Hz",
        )?;
        c.count("max_users", self.max_users, 1, 10_000)
    }

    fn run(&self, _ctx: &Context) -> Result<Outcome, RunError> {
        let (sub, b) = (self.subcarriers, self.bits);
        let turnaround = |m: usize, k: usize| {
            server_turnaround(
                k * feedback_bytes_per_user(m, sub, b),
                m * coefficient_bytes_per_ap(k, sub, b),
                self.link_bps,
                self.compute_s,
                self.one_way_latency_s,
            )
        };
        let t = turnaround(self.aps, self.users);
        let central = centralized_iq_rate_bps(self.bandwidth_hz, b);
        let per_user = stream_rate_bps(self.spectral_efficiency_bps_per_hz, self.bandwidth_hz);
        let mut out = Outcome::default();
        let m = &mut out.metrics;
        m.insert(
            "csi_bytes_per_link".into(),
            csi_bytes_per_link(sub, b) as f64,
        );
        m.insert(
            "feedback_bytes_per_user".into(),
            feedback_bytes_per_user(self.aps, sub, b) as f64,
        );
        m.insert(
            "coefficient_bytes_per_ap".into(),
            coefficient_bytes_per_ap(self.users, sub, b) as f64,
        );
        m.insert("turnaround_us".into(), t.total_s() * 1e6);
        m.insert("turnaround_collect_us".into(), t.collect_s * 1e6);
        m.insert("turnaround_return_us".into(), t.return_s * 1e6);
        m.insert("centralized_mbps_per_ap".into(), central / 1e6);
        m.insert(
            "decentralized_mbps_per_ap".into(),
            decentralized_rate_bps(self.users, per_user) / 1e6,
        );
        m.insert(
            "crossover_users".into(),
            crossover_users(central, per_user) as f64,
        );

        let ks: Vec<usize> = (1..=self.max_users).collect();
        let rows: Vec<Vec<f64>> = ks
            .iter()
            .map(|&k| {
                vec![
                    k as f64,
                    central / 1e6,
                    decentralized_rate_bps(k, per_user) / 1e6,
                    turnaround(k, k).total_s() * 1e6,
                ]
            })
            .collect();
        let col = |i: usize| rows.iter().map(|r| (r[0], r[i])).collect::<Vec<_>>();
        out.figures.push(
            Figure::new(
                "backhaul_per_ap",
                "Backhaul per AP: centralized vs decentralized precoding",
                "users K",
                "rate per AP (Mbit/s)",
            )
            .line(
                "centralized: I/Q of the precoded symbols, 2bW",
                Origin::Measured,
                Style::Line,
                col(1),
            )
            .line(
                "decentralized: every user's stream to every AP",
                Origin::Measured,
                Style::Line,
                col(2),
            )
            .line(
                "thesis: 160 Mbit/s centralized",
                Origin::Paper,
                Style::Markers,
                vec![(1.0, 160.0)],
            ),
        );
        out.figures.push(
            Figure::new(
                "turnaround",
                "Server turnaround per slot (M = K), one shared link",
                "APs = users",
                "turnaround (µs)",
            )
            .line(
                "collect CSI + compute + return coefficients",
                Origin::Measured,
                Style::LineMarkers,
                col(3),
            )
            .line(
                "thesis: well under 1 ms",
                Origin::Paper,
                Style::Line,
                vec![(1.0, 1000.0), (self.max_users as f64, 1000.0)],
            ),
        );
        out.tables.push(Table {
            name: "backhaul_vs_users".into(),
            columns: vec![
                "users".into(),
                "centralized_mbps_per_ap".into(),
                "decentralized_mbps_per_ap".into(),
                "turnaround_us".into(),
            ],
            rows,
        });
        Ok(out)
    }
}

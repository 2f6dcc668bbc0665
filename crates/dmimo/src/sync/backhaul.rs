//! Wired-backhaul and overhead accounting for centrally coordinated distributed MIMO: how many
//! bytes the CSI feedback and precoding coefficients take, what rate each AP's backhaul must
//! carry under centralized or decentralized precoding, and how long the server's collect →
//! compute → return turnaround takes.
//!
//! Source: H. V. Balan, PhD thesis, USC 2013 — AirSync backhaul §3.1 (notes/003 §2.5) and
//! DistSync implementation §4.2/§4.4 (notes/003 §3.7). Each function's doc gives the statement
//! it reproduces, as the notes record it (text in quotation marks is quoted there). Sizes are payload only: Ethernet/IP/UDP headers, preamble and inter-frame gaps
//! are not counted (a 512 B message in one UDP datagram adds 66 B on the wire, ≈ 13%).
//!
//! ```
//! use dmimo::sync::backhaul::*;
//! // DistSync 2×2: 64 subcarriers, 16-bit I and Q.
//! assert_eq!(csi_bytes_per_link(64, 16), 256);
//! assert_eq!(feedback_bytes_per_user(2, 64, 16), 512);
//! assert_eq!(coefficient_bytes_per_ap(2, 64, 16), 512);
//! // AirSync: centralized I/Q 2bW vs decentralized K·R per AP.
//! let central = centralized_iq_rate_bps(5e6, 16);
//! assert_eq!(central, 160e6);
//! let per_user = stream_rate_bps(4.0, 5e6);
//! assert_eq!(crossover_users(central, per_user), 9); // 20K > 160 ⇔ K > 8
//! ```

/// Gigabit Ethernet line rate (bit/s): the single link between the DistSync switch and server.
pub const GIGABIT_ETHERNET_BPS: f64 = 1e9;

/// Bytes of one quantized channel vector: `n_subcarriers` complex coefficients with
/// `bits_per_component` bits for each of I and Q, packed, rounded up to whole bytes:
/// ⌈n_sub·2·b/8⌉.
///
/// Thesis §4.4 (notes/003 §3.7 item 2): the clients send their channel coefficients to the
/// server, 64 subcarriers × 16-bit I and 16-bit Q = **256 bytes per link**.
pub fn csi_bytes_per_link(n_subcarriers: usize, bits_per_component: u32) -> usize {
    (n_subcarriers * 2 * bits_per_component as usize).div_ceil(8)
}

/// CSI feedback one user sends to the server: one channel vector per AP, n_aps·⌈n_sub·2·b/8⌉.
///
/// Thesis §4.4 (notes/003 §3.7 item 2): with 2 APs, **512 bytes per user**.
pub fn feedback_bytes_per_user(
    n_aps: usize,
    n_subcarriers: usize,
    bits_per_component: u32,
) -> usize {
    n_aps * csi_bytes_per_link(n_subcarriers, bits_per_component)
}

/// The precoding-coefficient message the server sends one AP: that AP's row of V(n) — one
/// complex coefficient per user per subcarrier — n_users·⌈n_sub·2·b/8⌉.
///
/// Thesis §4.4 (notes/003 §3.7 item 3): the server computes ZF and sends each AP a
/// **512-byte** message (2 users × 64 subcarriers × 16-bit I/Q).
pub fn coefficient_bytes_per_ap(
    n_users: usize,
    n_subcarriers: usize,
    bits_per_component: u32,
) -> usize {
    n_users * csi_bytes_per_link(n_subcarriers, bits_per_component)
}

/// Backhaul rate each AP needs under **centralized** precoding, where the server sends every AP
/// the I/Q samples of its precoded frequency-domain symbols: 2·b·W bit/s (W complex samples per
/// second, I and Q at b bits each).
///
/// Thesis §3.1 (notes/003 §2.5): centralized precoding sends each AP the I/Q of its
/// frequency-domain precoded symbols, ≈ 2bW bit/s with b = 16 bits and W = 5 MHz: **160 Mbps**.
pub fn centralized_iq_rate_bps(bandwidth_hz: f64, bits_per_component: u32) -> f64 {
    2.0 * bits_per_component as f64 * bandwidth_hz
}

/// One user stream's information rate: spectral efficiency × bandwidth (bit/s).
///
/// Thesis §3.1 (notes/003 §2.5): K clients at 4 b/s/Hz, i.e. **20 Mbps each** at W = 5 MHz.
pub fn stream_rate_bps(spectral_efficiency_bps_per_hz: f64, bandwidth_hz: f64) -> f64 {
    spectral_efficiency_bps_per_hz * bandwidth_hz
}

/// Backhaul rate each AP needs under **decentralized** precoding (each AP computes its own
/// conjugate beamformer, so every user's stream must reach every AP): K·R bit/s.
///
/// Thesis §3.1 (notes/003 §2.5): decentralized precoding must send all client streams to all
/// APs, **20K Mbps** for K clients at 20 Mbps.
pub fn decentralized_rate_bps(n_users: usize, per_user_rate_bps: f64) -> f64 {
    n_users as f64 * per_user_rate_bps
}

/// The smallest number of users K for which decentralized precoding needs more backhaul than
/// centralized, K·R > C (so centralized is the cheaper choice from K on): ⌊C/R⌋ + 1.
///
/// With C = 2bW = 160 Mbps (b = 16, W = 5 MHz) and R = 20 Mbps this is **K = 9** (20K > 160 ⇔
/// K > 8). The thesis (§3.1, as quoted in notes/003 §2.5) instead writes "while in the case of
/// centralized processing, with b = 16
/// bits of quantization, we need only **325 Mbps**. Here, for **K > 5**, centralized processing
/// is convenient": neither number follows from its own 2bW = 160 Mbps, and 325 Mbps would give
/// K > 16 (this function returns 17), not K > 5 (notes/003 §8 item 6). Reproductions should
/// report 2bW and this crossover, and note the discrepancy.
///
/// # Panics
/// If `per_user_rate_bps` is not finite and > 0, or `centralized_bps` is not finite and ≥ 0.
#[track_caller]
pub fn crossover_users(centralized_bps: f64, per_user_rate_bps: f64) -> usize {
    assert!(
        per_user_rate_bps.is_finite() && per_user_rate_bps > 0.0,
        "crossover_users: per_user_rate_bps must be finite and > 0, got {per_user_rate_bps}"
    );
    assert!(
        centralized_bps.is_finite() && centralized_bps >= 0.0,
        "crossover_users: centralized_bps must be finite and ≥ 0, got {centralized_bps}"
    );
    let mut k = (centralized_bps / per_user_rate_bps).floor() as usize + 1;
    // Guard the floor against rounding of the quotient.
    while k > 1 && decentralized_rate_bps(k - 1, per_user_rate_bps) > centralized_bps {
        k -= 1;
    }
    while decentralized_rate_bps(k, per_user_rate_bps) <= centralized_bps {
        k += 1;
    }
    k
}

/// Serialization time of `bytes` over a link of `link_bps` bit/s: 8·bytes/link_bps (s). Payload
/// only; no propagation, switching or protocol overhead.
///
/// # Panics
/// If `link_bps` is not finite and > 0.
#[track_caller]
pub fn link_time_s(bytes: usize, link_bps: f64) -> f64 {
    assert!(
        link_bps.is_finite() && link_bps > 0.0,
        "link_time_s: link_bps must be finite and > 0, got {link_bps}"
    );
    8.0 * bytes as f64 / link_bps
}

/// The server's per-slot turnaround in DistSync, split into its parts (all in s).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Turnaround {
    /// Serializing all users' CSI over the server link, plus one one-way latency.
    pub collect_s: f64,
    /// Computing the precoders (ZF on every subcarrier), as given.
    pub compute_s: f64,
    /// Serializing all APs' coefficient messages over the server link, plus one one-way latency.
    pub return_s: f64,
}

impl Turnaround {
    /// collect + compute + return.
    pub fn total_s(&self) -> f64 {
        self.collect_s + self.compute_s + self.return_s
    }
}

/// DistSync's collect → compute → return budget for one data slot (thesis §4.2/§4.4, notes/003
/// §3.1 and §3.7): the APs go through a switch and then a single gigabit Ethernet link to the
/// server, a UDP server that returns precoding coefficients "typically well under a
/// millisecond"; data goes out "up to one millisecond later" than the estimation.
///
/// Every byte crosses the one server link, so the CSI of all users arrives in sequence
/// (`csi_bytes_total`, e.g. K·[`feedback_bytes_per_user`]) and the coefficient messages leave in
/// sequence (`coefficient_bytes_total`, e.g. M·[`coefficient_bytes_per_ap`]).
/// `one_way_latency_s` (switch, NIC, stack; the thesis tuned interrupt coalescing to cut it) is
/// added once each way; `compute_s` is the server's computation time.
///
/// # Panics
/// If `link_bps` is not finite and > 0, or a time is negative or not finite.
#[track_caller]
pub fn server_turnaround(
    csi_bytes_total: usize,
    coefficient_bytes_total: usize,
    link_bps: f64,
    compute_s: f64,
    one_way_latency_s: f64,
) -> Turnaround {
    assert!(
        compute_s.is_finite() && compute_s >= 0.0,
        "server_turnaround: compute_s must be finite and ≥ 0, got {compute_s}"
    );
    assert!(
        one_way_latency_s.is_finite() && one_way_latency_s >= 0.0,
        "server_turnaround: one_way_latency_s must be finite and ≥ 0, got {one_way_latency_s}"
    );
    Turnaround {
        collect_s: link_time_s(csi_bytes_total, link_bps) + one_way_latency_s,
        compute_s,
        return_s: link_time_s(coefficient_bytes_total, link_bps) + one_way_latency_s,
    }
}

/// The total of [`server_turnaround`] (s).
#[track_caller]
pub fn server_turnaround_s(
    csi_bytes_total: usize,
    coefficient_bytes_total: usize,
    link_bps: f64,
    compute_s: f64,
    one_way_latency_s: f64,
) -> f64 {
    server_turnaround(
        csi_bytes_total,
        coefficient_bytes_total,
        link_bps,
        compute_s,
        one_way_latency_s,
    )
    .total_s()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distsync_message_sizes() {
        assert_eq!(csi_bytes_per_link(64, 16), 256);
        assert_eq!(feedback_bytes_per_user(2, 64, 16), 512);
        assert_eq!(coefficient_bytes_per_ap(2, 64, 16), 512);
        // 4×4: four links per user, four users per AP
        assert_eq!(feedback_bytes_per_user(4, 64, 16), 1024);
        assert_eq!(coefficient_bytes_per_ap(4, 64, 16), 1024);
        // packing rounds up to whole bytes
        assert_eq!(csi_bytes_per_link(1, 10), 3);
        assert_eq!(csi_bytes_per_link(0, 16), 0);
    }

    #[test]
    fn airsync_backhaul_rates() {
        let central = centralized_iq_rate_bps(5e6, 16);
        assert_eq!(central, 160e6);
        let r = stream_rate_bps(4.0, 5e6);
        assert_eq!(r, 20e6);
        assert_eq!(decentralized_rate_bps(1, r), 20e6);
        assert_eq!(decentralized_rate_bps(8, r), 160e6);
        // 20K > 160 ⇔ K > 8: K = 8 ties, K = 9 is the first where centralized is cheaper.
        assert_eq!(crossover_users(central, r), 9);
        // The thesis' 325 Mbps would need K > 16, not its stated K > 5 (notes/003 §8.6).
        assert_eq!(crossover_users(325e6, r), 17);
        assert_eq!(crossover_users(0.0, r), 1);
        assert_eq!(crossover_users(1.0, 3.0), 1);
    }

    #[test]
    fn crossover_is_smallest_k() {
        for c in [1.0, 7.0, 99.5, 160e6, 1e9 / 3.0] {
            for r in [0.1, 1.0, 3.0, 7.7e6] {
                let k = crossover_users(c, r);
                assert!(decentralized_rate_bps(k, r) > c);
                assert!(k == 1 || decentralized_rate_bps(k - 1, r) <= c);
            }
        }
    }

    #[test]
    fn distsync_turnaround_is_well_under_a_millisecond() {
        assert_eq!(link_time_s(256, GIGABIT_ETHERNET_BPS), 2.048e-6);
        // 2×2: 2 users × 512 B in, 2 APs × 512 B out.
        let (m, k) = (2, 2);
        let t = server_turnaround(
            k * feedback_bytes_per_user(m, 64, 16),
            m * coefficient_bytes_per_ap(k, 64, 16),
            GIGABIT_ETHERNET_BPS,
            50e-6,
            20e-6,
        );
        assert!((t.collect_s - (8.192e-6 + 20e-6)).abs() < 1e-15);
        assert!((t.return_s - (8.192e-6 + 20e-6)).abs() < 1e-15);
        assert!((t.total_s() - 106.384e-6).abs() < 1e-12);
        // 4×4: 4096 B each way, 32.8 µs each.
        let total = server_turnaround_s(
            4 * feedback_bytes_per_user(4, 64, 16),
            4 * coefficient_bytes_per_ap(4, 64, 16),
            GIGABIT_ETHERNET_BPS,
            100e-6,
            20e-6,
        );
        assert!((total - (2.0 * 32.768e-6 + 100e-6 + 40e-6)).abs() < 1e-12);
        assert!(total < 1e-3);
    }
}

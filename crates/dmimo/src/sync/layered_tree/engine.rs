//! The layered tree at control level (DESIGN "abstract" rung; notes/000 §4.1 item 1(i)): one
//! phase measurement per node per sync period, with the analytic noise of the RE-level estimator.
//!
//! **Who transmits when.** Every period T every live node sends the sync signal of each layer it
//! holds ([`NodeProtocol::tx_layers`]) with phase θ_m = ϕ_m + c_m: its oscillator
//! ([`crate::radio::oscillator`]) plus its NCO correction.
//!
//! **What is estimated.** Node n hears the transmitters of its [`Topology`] list: link m → n has
//! per-RE SNR s_nm at full power and a channel phase β_nm(t) that wanders slowly (a Wiener
//! process, knots every `link_knot_periods` periods joined linearly) — a node cannot tell its
//! parent link's drift from its parent's oscillator (notes/000 §4.4 item 12). Per layer ℓ it sees
//! the power P_ℓ = Σ s_nm over the transmitters of ℓ, and the SINR of ℓ is P_ℓ over noise plus the
//! power of the other layers on ℓ's frequency set (each layer has its own code, so reuse
//! interference is noise). With [`HalfDuplex::TimeMultiplexed`] a node
//! cannot hear its own transmit set. The composite of the layer it tracks is
//! C_n = Σ √s_nm·e^{j(θ_m + β_nm)} (a flat-channel composite: a parent's death steps its phase by
//! the full amount; frequency-selective channels soften the step, see the RE level). The node
//! measures e = wrap(∠C_n − θ_n − b_n) + v, v ~ N(0, 1/(2·M·SINR)), b_n the baseline set when
//! it locked (a constant offset is absorbed by the users' CSI).
//!
//! **How it is corrected.** The [`NodeProtocol`] steps on the per-layer SINRs. A node that locks
//! (joins, moves, or a candidate that hears its reference) first acquires frequency coarsely
//! (notes/000 §2.4.A: 5 ms samples resolve only ±100 Hz; an intra-subframe estimate is
//! unambiguous to kHz) with a residual of `coarse_cfo_std_hz`, sets its baseline, and starts a
//! fresh [`PhaseController`]; a tracking node feeds e to its controller each period, others feed
//! nothing (holdover).
//!
//! Each node draws from its own streams, and a period's measurements use only the previous
//! state, so results do not depend on the thread count.

use super::protocol::{Event, Layer, NodeProtocol, NodeState, Observation, ProtocolParams, Role};
use crate::estimation::phase_control::{
    ControllerParams, MeasurementUse, PhaseControlError, PhaseController, Robust, RobustDesign,
};
use crate::radio::oscillator::{Oscillator, OscillatorSpec};
use crate::rng::{SeedTree, SimRng};
use crate::units::{cis, wrap_phase, C64};
use rand::Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::f64::consts::TAU;

/// A transmitter a node can hear.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Audible {
    /// The transmitting node.
    pub from: u32,
    /// Per-RE SNR of its sync signal at this receiver (linear), at full power.
    pub snr: f64,
}

/// Who hears whom: per receiving node its audible transmitters (any order).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Topology {
    pub audible: Vec<Vec<Audible>>,
}

impl Topology {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.audible.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.audible.is_empty()
    }
}

/// Whether a node can listen while it transmits (notes/000 §2.4.A, §4.1 item 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HalfDuplex {
    /// Separate TX and RX chains with enough isolation (the prototype's SDRs).
    SeparateChains,
    /// The sets sit in different OFDM symbols and a node mutes its downlink in the symbols it
    /// listens to; it cannot hear its own transmit set.
    TimeMultiplexed,
}

/// Everything but the topology and the roles.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineParams {
    /// The layering protocol.
    pub protocol: ProtocolParams,
    /// REs of one set per period M (notes/000 §4.2: 150 = one symbol, comb 8).
    pub res_per_set: usize,
    /// Listening while transmitting.
    pub half_duplex: HalfDuplex,
    /// Carrier (Hz).
    pub carrier_hz: f64,
    /// Every node's oscillator.
    pub oscillator: OscillatorSpec,
    /// Diffusion of every link's channel phase (rad²/s): slow motion in the environment.
    pub link_phase_rad2_per_s: f64,
    /// Periods between knots of the link-phase walk (linear in between).
    pub link_knot_periods: u32,
    /// Residual frequency error of the coarse acquisition at lock (Hz, std).
    pub coarse_cfo_std_hz: f64,
    /// The phase controller (its period is the sync period).
    pub controller: ControllerParams,
}

impl EngineParams {
    /// Chorus defaults (notes/000 §4.2) with the [`Robust`] controller designed for a per-RE SNR
    /// of `design_snr_db`: 5 ms period, S = 8, M = 150, separate chains, 2.6 GHz,
    /// [`OscillatorSpec::SMALL_CELL`], link phases wandering 0.01 rad²/s (0.1 rad rms per
    /// second), knots every 20 periods, coarse acquisition to 1 Hz.
    ///
    /// # Errors
    /// The robust design's errors (an SNR outside −30…60 dB).
    ///
    /// [`Robust`]: crate::estimation::phase_control::Robust
    pub fn chorus(design_snr_db: f64) -> Result<Self, PhaseControlError> {
        let osc = OscillatorSpec::SMALL_CELL;
        let period_s = 5e-3;
        let design = RobustDesign {
            period_s,
            snr_db: design_snr_db,
            m_res: 150,
            // two oscillators' diffusions add
            phase_noise_rad2_per_s: 2.0 * TAU * osc.linewidth_hz,
            freq_walk_hz2_per_s: 2.0 * osc.freq_walk_hz2_per_s,
            latency_periods: 0,
            peaking_target_db: 0.1,
        };
        Ok(EngineParams {
            protocol: ProtocolParams::default(),
            res_per_set: 150,
            half_duplex: HalfDuplex::SeparateChains,
            carrier_hz: 2.6e9,
            oscillator: osc,
            link_phase_rad2_per_s: 0.01,
            link_knot_periods: 20,
            coarse_cfo_std_hz: 1.0,
            controller: ControllerParams::Robust(Robust::design(&design)?),
        })
    }
}

/// One node's state.
struct Node {
    proto: NodeProtocol,
    osc: Oscillator,
    osc_rng: SimRng,
    rng: SimRng,
    ctrl: Box<dyn PhaseController>,
    /// Frequency (rad/s) and phase (rad) of the coarse NCO stage, set at lock.
    coarse_rad_per_s: f64,
    coarse_rad: f64,
    /// The baseline b_n (rad).
    baseline_rad: f64,
    /// Whether the controller has been fed since the last lock.
    engaged: bool,
    stats: ControllerStats,
}

/// What a node's controller did with its measurements (since construction).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ControllerStats {
    pub used: u64,
    /// Innovations outside the gate, not followed.
    pub gated: u64,
    /// Steps absorbed into the baseline.
    pub rebaselined: u64,
    /// Losses of lock (re-acquisition).
    pub lock_lost: u64,
}

impl ControllerStats {
    fn count(&mut self, u: MeasurementUse) {
        match u {
            MeasurementUse::Used => self.used += 1,
            MeasurementUse::Gated => self.gated += 1,
            MeasurementUse::Rebaselined { .. } => self.rebaselined += 1,
            MeasurementUse::LockLost => self.lock_lost += 1,
            MeasurementUse::Missing => {}
        }
    }
}

/// A link's channel phase: a Wiener walk with knots `knot` periods apart, linear in between.
#[derive(Clone, Copy, Debug)]
struct LinkPhase {
    phasor: C64,
    step: C64,
}

/// The network at control level.
pub struct Engine {
    params: EngineParams,
    topology: Topology,
    nodes: Vec<Node>,
    links: Vec<Vec<LinkPhase>>,
    /// Link gain factors (1 = nominal) per receiver and audible index, for blockage and dips.
    link_factor: Vec<Vec<f64>>,
    period: u64,
    period_s: f64,
    /// Per node this period: transmitted phase θ, phasor and frequency (rad/s).
    theta: Vec<f64>,
    phasor: Vec<C64>,
    freq: Vec<f64>,
    /// Per node: the layers it transmits now (copied for the parallel pass).
    tx: Vec<Vec<Layer>>,
    events: Vec<(u32, Event)>,
    seeds: SeedTree,
}

/// What one receiver saw in a period.
struct Heard {
    obs: Observation,
    /// Per heard layer (sorted as `obs`): the flat composite Σ √s·e^{j(θ+β)} and the
    /// power-weighted mean frequency of its transmitters (rad/s) — a node that locks this period
    /// acquires on the layer it has just chosen.
    composites: Vec<(Layer, C64, f64)>,
}

impl Heard {
    fn composite(&self, layer: Layer) -> (C64, f64) {
        self.composites
            .iter()
            .find(|c| c.0 == layer)
            .map_or((C64::default(), 0.0), |c| (c.1, c.2))
    }
}

impl Engine {
    /// A network: `roles[i]` for node i; every node starts alive. Streams come from `seeds`
    /// (per node: `node/i/...`, per link: `link/i`).
    ///
    /// # Errors
    /// The controller's parameter errors.
    ///
    /// # Panics
    /// If `roles` and the topology differ in length, or an audible index is out of range.
    pub fn new(
        params: EngineParams,
        topology: Topology,
        roles: Vec<Role>,
        seeds: &SeedTree,
    ) -> Result<Self, PhaseControlError> {
        let n = topology.len();
        assert_eq!(roles.len(), n, "Engine::new: one role per node");
        assert!(
            topology
                .audible
                .iter()
                .flatten()
                .all(|a| (a.from as usize) < n),
            "Engine::new: audible transmitter out of range"
        );
        let period_s = controller_period_s(&params.controller);
        let mut nodes = Vec::with_capacity(n);
        for (i, role) in roles.into_iter().enumerate() {
            let s = seeds.child("node").index(i as u64);
            let mut osc_rng = s.child("oscillator").rng();
            let osc = Oscillator::new(params.oscillator.draw(params.carrier_hz, &mut osc_rng));
            nodes.push(Node {
                proto: NodeProtocol::new(role),
                osc,
                osc_rng,
                rng: s.child("measurement").rng(),
                ctrl: params.controller.build()?,
                coarse_rad_per_s: 0.0,
                coarse_rad: 0.0,
                baseline_rad: 0.0,
                engaged: false,
                stats: ControllerStats::default(),
            });
        }
        let knot = params.link_knot_periods.max(1) as f64;
        let links: Vec<Vec<LinkPhase>> = topology
            .audible
            .iter()
            .enumerate()
            .map(|(i, list)| {
                let mut rng = seeds.child("link").index(i as u64).rng();
                list.iter()
                    .map(|_| {
                        let phase0 = rng.random_range(0.0..TAU);
                        let inc = (params.link_phase_rad2_per_s * knot * period_s).sqrt()
                            * rng.sample::<f64, _>(StandardNormal);
                        LinkPhase {
                            phasor: cis(phase0),
                            step: cis(inc / knot),
                        }
                    })
                    .collect()
            })
            .collect();
        let link_factor = topology
            .audible
            .iter()
            .map(|l| vec![1.0; l.len()])
            .collect();
        let mut e = Engine {
            params,
            topology,
            nodes,
            links,
            link_factor,
            period: 0,
            period_s,
            theta: vec![0.0; n],
            phasor: vec![C64::default(); n],
            freq: vec![0.0; n],
            tx: vec![Vec::new(); n],
            events: Vec::new(),
            seeds: *seeds,
        };
        e.refresh_transmitters();
        Ok(e)
    }

    /// The sync period (s).
    pub fn period_s(&self) -> f64 {
        self.period_s
    }

    /// Periods simulated so far.
    pub fn periods(&self) -> u64 {
        self.period
    }

    /// The network time (s).
    pub fn time_s(&self) -> f64 {
        self.period as f64 * self.period_s
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Transmitted phase θ_n of every node at the current period (rad, unwrapped).
    pub fn phases(&self) -> &[f64] {
        &self.theta
    }

    /// Transmitted frequency of every node (Hz, offset from the nominal carrier).
    pub fn frequencies_hz(&self) -> impl Iterator<Item = f64> + '_ {
        self.freq.iter().map(|f| f / TAU)
    }

    /// The per-layer SINRs node `i` observes in the current state (None when off).
    pub fn observation(&self, i: usize) -> Option<Observation> {
        self.hear(i).map(|h| h.obs)
    }

    /// What node `i`'s controllers did with their measurements.
    pub fn controller_stats(&self, i: usize) -> ControllerStats {
        self.nodes[i].stats
    }

    /// The protocol state of node `i`.
    pub fn protocol(&self, i: usize) -> &NodeProtocol {
        &self.nodes[i].proto
    }

    /// Layer of every node (None: scanning or off).
    pub fn layers(&self) -> Vec<Option<Layer>> {
        self.nodes.iter().map(|n| n.proto.layer()).collect()
    }

    /// The events of the latest period (node, event), in node order.
    pub fn events(&self) -> &[(u32, Event)] {
        &self.events
    }

    /// The topology.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// Kills node `i` (it stops transmitting and listening).
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].proto.kill();
        self.tx[i].clear();
    }

    /// Revives or adds node `i`: it scans (regular) or resumes its root role, with its
    /// oscillator still running.
    pub fn revive(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.proto.revive();
        node.engaged = false;
        self.tx[i] = node.proto.tx_layers().to_vec();
    }

    /// Scales the power of link `from` → `to` by `factor` (0 = blocked, 1 = nominal); returns
    /// false if `to` cannot hear `from`.
    pub fn set_link_factor(&mut self, from: usize, to: usize, factor: f64) -> bool {
        match self.topology.audible[to]
            .iter()
            .position(|a| a.from as usize == from)
        {
            Some(k) => {
                self.link_factor[to][k] = factor;
                true
            }
            None => false,
        }
    }

    /// The listens-to edges (parent, child) of the current period: every live transmitter of
    /// the layer a node tracks that it hears with a non-zero gain.
    pub fn listens_to(&self) -> Vec<(u32, u32)> {
        let mut edges = Vec::new();
        for (c, node) in self.nodes.iter().enumerate() {
            if let Some(l) = node.proto.tracks() {
                for (k, a) in self.topology.audible[c].iter().enumerate() {
                    if self.link_factor[c][k] > 0.0 && self.tx[a.from as usize].contains(&l) {
                        edges.push((a.from, c as u32));
                    }
                }
            }
        }
        edges
    }

    fn refresh_transmitters(&mut self) {
        let t = self.time_s();
        for (i, node) in self.nodes.iter_mut().enumerate() {
            node.osc.advance_to(t, &mut node.osc_rng);
            let c = node.ctrl.correction_at(self.period_s) + node.coarse_rad;
            self.theta[i] = node.osc.phase_rad() + c;
            self.phasor[i] = cis(self.theta[i]);
            self.freq[i] = TAU * node.osc.frequency_offset_hz()
                + node.ctrl.frequency_rad_per_s()
                + node.coarse_rad_per_s;
            self.tx[i] = node.proto.tx_layers().to_vec();
        }
    }

    /// What node `i` hears this period (None when off).
    fn hear(&self, i: usize) -> Option<Heard> {
        let node = &self.nodes[i];
        if !node.proto.is_on() {
            return None;
        }
        let p = &self.params.protocol;
        let own_set = node
            .proto
            .layer()
            .filter(|_| self.params.half_duplex == HalfDuplex::TimeMultiplexed)
            .map(|l| p.tx_set(l));
        // per layer: (layer, power, composite, Σ s·f)
        let mut power: Vec<(Layer, f64, C64, f64)> = Vec::new();
        for (k, a) in self.topology.audible[i].iter().enumerate() {
            let m = a.from as usize;
            let f = self.link_factor[i][k];
            if f <= 0.0 || self.tx[m].is_empty() {
                continue;
            }
            let snr = a.snr * f;
            for &l in &self.tx[m] {
                if own_set == Some(p.tx_set(l)) {
                    continue;
                }
                let c = self.phasor[m] * self.links[i][k].phasor * snr.sqrt();
                match power.iter_mut().find(|e| e.0 == l) {
                    Some(e) => {
                        e.1 += snr;
                        e.2 += c;
                        e.3 += snr * self.freq[m];
                    }
                    None => power.push((l, snr, c, snr * self.freq[m])),
                }
            }
        }
        power.sort_unstable_by_key(|a| a.0);
        let obs = Observation {
            layers: power
                .iter()
                .map(|&(l, s, ..)| {
                    let set = p.tx_set(l);
                    let reuse: f64 = power
                        .iter()
                        .filter(|e| e.0 != l && p.tx_set(e.0) == set)
                        .map(|e| e.1)
                        .sum();
                    (l, s / (1.0 + reuse))
                })
                .collect(),
        };
        Some(Heard {
            obs,
            composites: power.iter().map(|&(l, s, c, f)| (l, c, f / s)).collect(),
        })
    }

    /// Simulates one sync period: measurements on the current state, protocol steps, controller
    /// updates, then every oscillator, NCO and link advances to the next period.
    pub fn step(&mut self) {
        let heard: Vec<Option<Heard>> = (0..self.nodes.len())
            .into_par_iter()
            .map(|i| self.hear(i))
            .collect();
        let m_res = self.params.res_per_set as f64;
        let coarse_std = self.params.coarse_cfo_std_hz;
        let proto = self.params.protocol;
        let theta = &self.theta;
        let freq = &self.freq;
        let controller = self.params.controller;
        let period_s = self.period_s;
        let events: Vec<Event> = self
            .nodes
            .par_iter_mut()
            .zip(heard.into_par_iter())
            .enumerate()
            .map(|(i, (node, h))| {
                let Some(h) = h else {
                    return Event::None;
                };
                let before = node.proto.tracks();
                let ev = node.proto.step(&h.obs, &proto);
                let lock = matches!(ev, Event::Joined(_) | Event::Moved(..) | Event::Locked);
                let tracks = node.proto.tracks();
                let (composite, composite_freq) =
                    tracks.map_or((C64::default(), 0.0), |l| h.composite(l));
                match tracks {
                    Some(l) if !lock && before == Some(l) && composite.norm() > 0.0 => {
                        let sinr = h.obs.sinr(l).max(1e-12);
                        let sigma = (1.0 / (2.0 * m_res * sinr)).sqrt();
                        let v: f64 = node.rng.sample(StandardNormal);
                        let e =
                            wrap_phase(composite.arg() - theta[i] - node.baseline_rad) + sigma * v;
                        let u = node.ctrl.update(Some(e));
                        node.stats.count(u.used);
                        node.engaged = true;
                    }
                    Some(_) if lock => {
                        // the old controller's correction moves into the coarse stage (the
                        // phase stays continuous), then the coarse acquisition matches the
                        // tracked composite's frequency
                        node.coarse_rad += node.ctrl.correction_at(period_s);
                        node.coarse_rad_per_s += node.ctrl.holdover_frequency_rad_per_s();
                        let err: f64 = node.rng.sample(StandardNormal);
                        node.coarse_rad_per_s += composite_freq
                            - (freq[i] - node.ctrl.frequency_rad_per_s()
                                + node.ctrl.holdover_frequency_rad_per_s())
                            + TAU * coarse_std * err;
                        node.ctrl = controller
                            .build()
                            .expect("controller parameters validated at construction");
                        node.ctrl.update(None);
                        node.baseline_rad = wrap_phase(composite.arg() - theta[i]);
                        node.engaged = false;
                    }
                    _ => {
                        node.ctrl.update(None);
                    }
                }
                ev
            })
            .collect();
        self.events = events
            .into_iter()
            .enumerate()
            .filter(|(_, e)| *e != Event::None)
            .map(|(i, e)| (i as u32, e))
            .collect();
        // the coarse stage's phase ramps with its frequency
        for node in &mut self.nodes {
            node.coarse_rad += node.coarse_rad_per_s * self.period_s;
        }
        self.advance_links();
        self.period += 1;
        self.refresh_transmitters();
    }

    fn advance_links(&mut self) {
        let knot = self.params.link_knot_periods.max(1) as u64;
        let renew = (self.period + 1).is_multiple_of(knot);
        let sd = (self.params.link_phase_rad2_per_s * knot as f64 * self.period_s).sqrt();
        for (i, list) in self.links.iter_mut().enumerate() {
            let mut rng = None;
            for lp in list.iter_mut() {
                lp.phasor *= lp.step;
                if renew && sd > 0.0 {
                    let r = rng.get_or_insert_with(|| {
                        self.seeds
                            .child("link-knot")
                            .index(self.period)
                            .index(i as u64)
                            .rng()
                    });
                    let inc: f64 = sd * r.sample::<f64, _>(StandardNormal);
                    lp.step = cis(inc / knot as f64);
                    lp.phasor /= lp.phasor.norm();
                }
            }
        }
    }
}

/// Checks the sync graph of `engine`: every listens-to edge goes from a transmitter of layer
/// L − 1 to a node of layer L that tracks L − 1, and the graph has no directed cycle.
///
/// # Errors
/// A description of the first violation.
pub fn check_tree(engine: &Engine) -> Result<(), String> {
    let edges = engine.listens_to();
    let n = engine.len();
    for &(p, c) in &edges {
        let child = engine.protocol(c as usize);
        let tracked = child
            .tracks()
            .ok_or_else(|| format!("node {c} has a parent but tracks nothing"))?;
        if !engine.tx[p as usize].contains(&tracked) {
            return Err(format!(
                "edge {p}→{c}: parent does not transmit layer {tracked}"
            ));
        }
        if let NodeState::Joined { layer, .. } = child.state {
            if layer != tracked + 1 {
                return Err(format!(
                    "edge {p}→{c}: child in layer {layer} tracks layer {tracked}"
                ));
            }
        }
    }
    // Kahn's algorithm on a compressed adjacency: a cycle leaves nodes with positive in-degree
    let mut indeg = vec![0u32; n];
    let mut start = vec![0usize; n + 1];
    for &(p, c) in &edges {
        if p == c {
            return Err(format!("node {p} listens to itself"));
        }
        indeg[c as usize] += 1;
        start[p as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut out = vec![0u32; edges.len()];
    for &(p, c) in &edges {
        out[fill[p as usize]] = c;
        fill[p as usize] += 1;
    }
    let mut queue: Vec<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
    let mut seen = 0;
    while let Some(v) = queue.pop() {
        seen += 1;
        for &c in &out[start[v]..start[v + 1]] {
            indeg[c as usize] -= 1;
            if indeg[c as usize] == 0 {
                queue.push(c as usize);
            }
        }
    }
    if seen != n {
        return Err(format!(
            "the listens-to graph has a cycle ({} nodes on it or below)",
            n - seen
        ));
    }
    Ok(())
}

/// The sync period a controller was designed for (s).
fn controller_period_s(c: &ControllerParams) -> f64 {
    match c {
        ControllerParams::Pi(p) => p.period_s,
        ControllerParams::Kalman(p) => p.period_s,
        ControllerParams::Robust(p) => p.period_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{db_to_lin, rad_to_deg};

    /// A chain 0 – 1 – … – n−1 where each node hears its neighbours at `snr_db` per RE.
    fn chain(n: usize, snr_db: f64) -> Topology {
        let s = db_to_lin(snr_db);
        Topology {
            audible: (0..n)
                .map(|i| {
                    [i.checked_sub(1), (i + 1 < n).then_some(i + 1)]
                        .into_iter()
                        .flatten()
                        .map(|j| Audible {
                            from: j as u32,
                            snr: s,
                        })
                        .collect()
                })
                .collect(),
        }
    }

    fn roles(n: usize) -> Vec<Role> {
        std::iter::once(Role::Root { tx_layers: vec![0] })
            .chain(std::iter::repeat_n(Role::Regular, n - 1))
            .collect()
    }

    #[test]
    fn a_chain_layers_by_depth_and_tracks_the_root() {
        let n = 5;
        let mut e = Engine::new(
            EngineParams::chorus(10.0).unwrap(),
            chain(n, 10.0),
            roles(n),
            &SeedTree::new(3),
        )
        .unwrap();
        // each hop joins after the 4-period dwell
        for _ in 0..40 {
            e.step();
            check_tree(&e).unwrap();
        }
        let want: Vec<Option<Layer>> = (0..n as u32).map(Some).collect();
        assert_eq!(e.layers(), want);
        // converge, then measure the change of every node's phase relative to the root over
        // 20 ms (the coherence error of notes/000 §4.3)
        for _ in 0..2000 {
            e.step();
        }
        // frequency lock (P2): every node within 1 Hz of the root, not on a 200 Hz alias
        let f: Vec<f64> = e.frequencies_hz().collect();
        for (i, fi) in f.iter().enumerate() {
            assert!(
                (fi - f[0]).abs() < 1.0,
                "node {i}: {fi} Hz vs root {} Hz",
                f[0]
            );
        }
        let lag = 4;
        let mut hist: Vec<Vec<f64>> = Vec::new();
        for _ in 0..1000 {
            e.step();
            let th = e.phases();
            hist.push((1..n).map(|i| th[i] - th[0]).collect());
        }
        for d in 0..n - 1 {
            let errs: Vec<f64> = (lag..hist.len())
                .map(|k| wrap_phase(hist[k][d] - hist[k - lag][d]))
                .collect();
            let rms =
                rad_to_deg((errs.iter().map(|x| x * x).sum::<f64>() / errs.len() as f64).sqrt());
            // one hop at 10 dB per RE over 150 REs: 1/√(2·150·10) = 1.0° per measurement;
            // a few hops of loop-filtered noise stay well below 5°
            assert!(rms < 5.0, "depth {}: {rms}°", d + 1);
        }
    }

    #[test]
    fn killing_the_only_parent_orphans_the_subtree_which_rejoins_elsewhere() {
        // 0 – 1 – 2 – 3, plus node 4 hearing 0 and 3 weakly… here: 4 hears 3 only; kill 1
        let n = 4;
        let mut topo = chain(n, 10.0);
        // a second path: node 3 also hears the root at 6 dB
        topo.audible[3].push(Audible {
            from: 0,
            snr: db_to_lin(6.0),
        });
        topo.audible[0].push(Audible {
            from: 3,
            snr: db_to_lin(6.0),
        });
        let mut e = Engine::new(
            EngineParams::chorus(10.0).unwrap(),
            topo,
            roles(n),
            &SeedTree::new(4),
        )
        .unwrap();
        for _ in 0..60 {
            e.step();
        }
        // node 3 hears layer 0 directly: it is in layer 1, node 2 in layer 2 (via 1 or 3)
        assert_eq!(e.layers()[..2], [Some(0), Some(1)]);
        assert_eq!(e.layers()[3], Some(1));
        e.kill(1);
        for _ in 0..60 {
            e.step();
            check_tree(&e).unwrap();
        }
        assert_eq!(e.layers(), vec![Some(0), None, Some(2), Some(1)]);
    }
}

//! The layering protocol of one node (Chorus §5.1–5.2; notes/000 §1.5–1.6, §4.4 items 4–6, 8).
//!
//! Every sync period a live node observes, for each layer it can separate (the sync sequence is
//! chosen by layer), the composite SINR of that layer's transmitters: the
//! wanted layer's power over noise plus the power of the other layers on the same frequency set
//! (reuse interference). [`NodeProtocol::step`] turns that observation into its next state:
//!
//! * **Scanning** → **Joined(L)**: the lowest layer ℓ whose SINR is ≥ θ for `join_dwell`
//!   consecutive periods (the same ℓ each time) makes the node join layer L = ℓ + 1. It listens
//!   on ℓ's set and transmits on L's.
//! * **Joined(L)** → **LossSuspected(L)** when its parent layer's SINR falls below θ − H; back to
//!   Joined when it recovers; → **Scanning** after `loss_periods` bad periods in a row (it stops
//!   transmitting, so its children lose it in turn: the cascade of §5.2).
//! * **Joined(L)** → **Joined(ℓ + 1)**, ℓ + 1 < L, when a lower layer ℓ stays ≥ θ + H for
//!   `upgrade_dwell` periods ("changes in channel quality"; the hysteresis H keeps a node from
//!   flapping between layers).
//! * **Root** (the administrator's choice) transmits on its layers and listens to nothing. A
//!   **RootCandidate** (Fig. 2: B, C) listens on a fixed layer and transmits on fixed layers; when
//!   its reference is lost it free-runs (holdover) and keeps transmitting, so it "becomes the
//!   root automatically".
//!
//! Every listens-to edge goes from layer L − 1 to layer L, so the sync graph has no loop (§1.5).

use serde::{Deserialize, Serialize};

/// Layer index (0 = root).
pub type Layer = u32;

/// Thresholds and timers of the protocol (periods are sync periods, 5 ms by default).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolParams {
    /// Join threshold θ on a layer's composite SINR per RE (dB): the lowest SINR at which the
    /// phase controller meets its target (Chorus §11.2, not found; `chorus.phase-vs-snr`
    /// measures it).
    pub threshold_db: f64,
    /// Hysteresis H (dB): loss below θ − H, upgrade above θ + H.
    pub hysteresis_db: f64,
    /// Periods a candidate layer must stay above θ before joining (notes/000 §3 T2: 4 = 20 ms).
    pub join_dwell: u32,
    /// Bad periods in a row before a joined node gives its layer up (notes/000 §4.2: 3).
    pub loss_periods: u32,
    /// Periods a lower layer must stay above θ + H before a joined node moves up to it.
    pub upgrade_dwell: u32,
    /// Frequency sets S: layer i transmits on set i mod S, listens on (i − 1) mod S (§5.1: 8).
    pub n_sets: u32,
    /// Deepest layer a node may join.
    pub max_layer: Layer,
    /// The lowest layer a regular node may listen to (so it joins layer ≥ this + 1): 0 in a
    /// single-root network; f for the root chain of Fig. 2 that tolerates f root failures, whose
    /// layers 0 … f − 1 carry only the chain's internal references (A → B, B → C) and the chain
    /// hands the network its layer f. Without it a regular node that hears A's layer 0 above θ
    /// joins layer 1 under A alone and is orphaned when A dies — not the "system runs as usual"
    /// of Fig. 2(a). (Reconstruction: the fragment does not say how the other nodes are kept off the
    /// chain's lower layers; "cost: one extra layer at the root only" suggests they are reserved.)
    #[serde(default)]
    pub min_parent_layer: Layer,
}

impl Default for ProtocolParams {
    fn default() -> Self {
        ProtocolParams {
            threshold_db: 0.0,
            hysteresis_db: 3.0,
            join_dwell: 4,
            loss_periods: 3,
            upgrade_dwell: 20,
            n_sets: 8,
            max_layer: 64,
            min_parent_layer: 0,
        }
    }
}

impl ProtocolParams {
    /// The set layer `layer` transmits on.
    pub fn tx_set(&self, layer: Layer) -> u32 {
        layer % self.n_sets
    }

    /// The set layer `layer` listens on (none for the root layer).
    pub fn rx_set(&self, layer: Layer) -> Option<u32> {
        (layer > 0).then(|| (layer - 1) % self.n_sets)
    }

    /// The thresholds in linear units.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            join: crate::units::db_to_lin(self.threshold_db),
            loss: crate::units::db_to_lin(self.threshold_db - self.hysteresis_db),
            upgrade: crate::units::db_to_lin(self.threshold_db + self.hysteresis_db),
        }
    }

    /// Range checks, naming fields `<prefix>.<field>`.
    pub fn validate(&self, prefix: &str) -> Result<(), crate::scenario::FieldError> {
        let c = crate::scenario::Check { prefix };
        c.range("threshold_db", self.threshold_db, -30.0, 60.0, "dB")?;
        c.range("hysteresis_db", self.hysteresis_db, 0.0, 30.0, "dB")?;
        c.count("join_dwell", self.join_dwell as usize, 1, 10_000)?;
        c.count("loss_periods", self.loss_periods as usize, 1, 10_000)?;
        c.count("upgrade_dwell", self.upgrade_dwell as usize, 1, 100_000)?;
        c.count("n_sets", self.n_sets as usize, 2, 64)?;
        c.count("max_layer", self.max_layer as usize, 1, 10_000)?;
        c.count(
            "min_parent_layer",
            self.min_parent_layer as usize,
            0,
            self.max_layer as usize - 1,
        )
    }
}

/// The SINR thresholds of [`ProtocolParams`], linear: θ, θ − H and θ + H.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    pub join: f64,
    pub loss: f64,
    pub upgrade: f64,
}

/// What the administrator made a node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Role {
    /// Joins by the protocol.
    Regular,
    /// Free-running root, transmitting on `tx_layers` (Fig. 2(a): A on layers 0 and 1).
    Root { tx_layers: Vec<Layer> },
    /// Listens on `listen` and transmits on `tx_layers` whatever happens; free-runs when its
    /// reference is lost (Fig. 2: B listens on 0 and transmits on 1).
    RootCandidate {
        listen: Layer,
        tx_layers: Vec<Layer>,
    },
}

/// The state of one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// Dead (killed, or not yet added).
    Off,
    /// Looking for a layer; `candidate` is the lowest good layer seen and for how many periods.
    Scanning { candidate: Option<(Layer, u32)> },
    /// In layer `layer`, locked to layer − 1; `upgrade` counts periods a lower layer was good.
    Joined {
        layer: Layer,
        upgrade: Option<(Layer, u32)>,
    },
    /// In layer `layer`, its parent layer below θ − H for `bad` periods (holdover).
    LossSuspected { layer: Layer, bad: u32 },
    /// A root or root candidate: `locked` when a candidate hears its reference layer.
    Rooted { locked: bool },
}

/// One period's observation: the composite SINR (linear, per RE) of every layer the node can
/// separate, sorted by layer; layers absent are not heard.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    pub layers: Vec<(Layer, f64)>,
}

impl Observation {
    /// The SINR of `layer` (0 if not heard).
    pub fn sinr(&self, layer: Layer) -> f64 {
        self.layers
            .binary_search_by_key(&layer, |&(l, _)| l)
            .map_or(0.0, |i| self.layers[i].1)
    }

    /// The lowest layer with SINR ≥ `min` (linear).
    pub fn lowest_above(&self, min: f64) -> Option<Layer> {
        self.layers.iter().find(|(_, s)| *s >= min).map(|&(l, _)| l)
    }
}

/// What changed in a step (for logs and metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    None,
    Joined(Layer),
    /// Moved from the first layer to the second (up or, after a loss, anywhere).
    Moved(Layer, Layer),
    LossSuspected,
    Recovered,
    /// Gave its layer up and scans again.
    Lost(Layer),
    /// A root candidate lost its reference and free-runs.
    Holdover,
    /// A root candidate locked (again) to its reference.
    Locked,
}

/// One node's protocol: role, state, and the thresholds (linear).
#[derive(Clone, Debug)]
pub struct NodeProtocol {
    pub role: Role,
    pub state: NodeState,
    /// Layer held before the last loss (to report moves).
    last_layer: Option<Layer>,
}

impl NodeProtocol {
    /// A live node of a role: regular nodes start scanning, roots and candidates rooted (a
    /// candidate starts unlocked and locks once it hears its reference).
    pub fn new(role: Role) -> Self {
        let state = match role {
            Role::Regular => NodeState::Scanning { candidate: None },
            Role::Root { .. } => NodeState::Rooted { locked: false },
            Role::RootCandidate { .. } => NodeState::Rooted { locked: false },
        };
        NodeProtocol {
            role,
            state,
            last_layer: None,
        }
    }

    /// Whether the node is alive.
    pub fn is_on(&self) -> bool {
        self.state != NodeState::Off
    }

    /// Kills the node.
    pub fn kill(&mut self) {
        self.state = NodeState::Off;
    }

    /// Revives (or adds) a dead node: it starts as [`NodeProtocol::new`] does.
    pub fn revive(&mut self) {
        if !self.is_on() {
            *self = NodeProtocol::new(self.role.clone());
        }
    }

    /// The layers it transmits on now (empty when scanning or off).
    pub fn tx_layers(&self) -> &[Layer] {
        match (&self.state, &self.role) {
            (NodeState::Joined { layer, .. } | NodeState::LossSuspected { layer, .. }, _) => {
                std::slice::from_ref(layer)
            }
            (NodeState::Rooted { .. }, Role::Root { tx_layers })
            | (NodeState::Rooted { .. }, Role::RootCandidate { tx_layers, .. }) => tx_layers,
            _ => &[],
        }
    }

    /// Its own layer: the lowest it transmits on (None when scanning or off).
    pub fn layer(&self) -> Option<Layer> {
        self.tx_layers().iter().copied().min()
    }

    /// The layer whose composite it tracks this period, if any (a joined node's parent layer; a
    /// locked candidate's reference; a node in loss holdover tracks nothing).
    pub fn tracks(&self) -> Option<Layer> {
        match (&self.state, &self.role) {
            (NodeState::Joined { layer, .. }, _) => Some(layer - 1),
            (NodeState::Rooted { locked: true }, Role::RootCandidate { listen, .. }) => {
                Some(*listen)
            }
            _ => None,
        }
    }

    /// Advances one period on `obs` with the thresholds of `p`.
    pub fn step(&mut self, obs: &Observation, p: &ProtocolParams) -> Event {
        self.step_with(obs, p, &p.thresholds())
    }

    /// [`NodeProtocol::step`] with `p`'s thresholds already converted (`p.thresholds()`).
    pub fn step_with(&mut self, obs: &Observation, p: &ProtocolParams, t: &Thresholds) -> Event {
        let (theta, low, high) = (t.join, t.loss, t.upgrade);
        // the layers a regular node may listen to: from min_parent_layer, below max_layer
        let usable = |l: Layer| l >= p.min_parent_layer && l < p.max_layer;
        match self.state {
            NodeState::Off => Event::None,
            NodeState::Scanning { candidate } => {
                let best = obs
                    .layers
                    .iter()
                    .find(|&&(l, s)| s >= theta && usable(l))
                    .map(|&(l, _)| l);
                let next = match (best, candidate) {
                    (Some(l), Some((c, n))) if l == c => Some((l, n + 1)),
                    (Some(l), _) => Some((l, 1)),
                    (None, _) => None,
                };
                match next {
                    Some((l, n)) if n >= p.join_dwell => {
                        let layer = l + 1;
                        self.state = NodeState::Joined {
                            layer,
                            upgrade: None,
                        };
                        match self.last_layer.replace(layer) {
                            Some(old) if old != layer => Event::Moved(old, layer),
                            _ => Event::Joined(layer),
                        }
                    }
                    _ => {
                        self.state = NodeState::Scanning { candidate: next };
                        Event::None
                    }
                }
            }
            NodeState::Joined { layer, upgrade } => {
                if obs.sinr(layer - 1) < low {
                    self.state = NodeState::LossSuspected { layer, bad: 1 };
                    if p.loss_periods <= 1 {
                        return self.lose(layer);
                    }
                    return Event::LossSuspected;
                }
                let better = obs
                    .layers
                    .iter()
                    .find(|&&(l, s)| l + 1 < layer && s >= high && usable(l))
                    .map(|&(l, _)| l);
                let next = match (better, upgrade) {
                    (Some(l), Some((c, n))) if l == c => Some((l, n + 1)),
                    (Some(l), _) => Some((l, 1)),
                    (None, _) => None,
                };
                match next {
                    Some((l, n)) if n >= p.upgrade_dwell => {
                        let to = l + 1;
                        self.state = NodeState::Joined {
                            layer: to,
                            upgrade: None,
                        };
                        self.last_layer = Some(to);
                        Event::Moved(layer, to)
                    }
                    _ => {
                        self.state = NodeState::Joined {
                            layer,
                            upgrade: next,
                        };
                        Event::None
                    }
                }
            }
            NodeState::LossSuspected { layer, bad } => {
                if obs.sinr(layer - 1) >= low {
                    self.state = NodeState::Joined {
                        layer,
                        upgrade: None,
                    };
                    Event::Recovered
                } else if bad + 1 >= p.loss_periods {
                    self.lose(layer)
                } else {
                    self.state = NodeState::LossSuspected {
                        layer,
                        bad: bad + 1,
                    };
                    Event::None
                }
            }
            NodeState::Rooted { locked } => match &self.role {
                Role::RootCandidate { listen, .. } => {
                    let s = obs.sinr(*listen);
                    match (locked, s >= theta, s < low) {
                        (false, true, _) => {
                            self.state = NodeState::Rooted { locked: true };
                            Event::Locked
                        }
                        (true, _, true) => {
                            self.state = NodeState::Rooted { locked: false };
                            Event::Holdover
                        }
                        _ => Event::None,
                    }
                }
                _ => Event::None,
            },
        }
    }

    fn lose(&mut self, layer: Layer) -> Event {
        self.state = NodeState::Scanning { candidate: None };
        self.last_layer = Some(layer);
        Event::Lost(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(v: &[(Layer, f64)]) -> Observation {
        Observation {
            layers: v
                .iter()
                .map(|&(l, db)| (l, crate::units::db_to_lin(db)))
                .collect(),
        }
    }

    #[test]
    fn rule_table() {
        let p = ProtocolParams::default();
        assert_eq!(p.rx_set(0), None);
        assert_eq!(p.tx_set(0), 0);
        for i in 1..=20u32 {
            assert_eq!(p.rx_set(i), Some((i - 1) % 8), "layer {i}");
            assert_eq!(p.tx_set(i), i % 8, "layer {i}");
        }
        // the table of notes/000 §1.5
        assert_eq!((p.rx_set(8), p.tx_set(8)), (Some(7), 0));
        assert_eq!((p.rx_set(9), p.tx_set(9)), (Some(0), 1));
        assert_eq!((p.rx_set(16), p.tx_set(16)), (Some(7), 0));
    }

    #[test]
    fn joins_the_lowest_good_layer_after_the_dwell() {
        let p = ProtocolParams::default();
        let mut n = NodeProtocol::new(Role::Regular);
        let o = obs(&[(0, -5.0), (1, 4.0), (2, 12.0)]);
        for _ in 0..3 {
            assert_eq!(n.step(&o, &p), Event::None);
            assert_eq!(n.tx_layers(), &[] as &[Layer]);
        }
        assert_eq!(n.step(&o, &p), Event::Joined(2));
        assert_eq!(n.layer(), Some(2));
        assert_eq!(n.tracks(), Some(1));
        assert_eq!(p.rx_set(2), Some(1));
    }

    #[test]
    fn a_changing_candidate_restarts_the_dwell() {
        let p = ProtocolParams::default();
        let mut n = NodeProtocol::new(Role::Regular);
        for _ in 0..3 {
            n.step(&obs(&[(1, 4.0)]), &p);
        }
        // layer 0 appears: the dwell restarts on it
        for _ in 0..3 {
            assert_eq!(n.step(&obs(&[(0, 4.0), (1, 4.0)]), &p), Event::None);
        }
        assert_eq!(n.step(&obs(&[(0, 4.0), (1, 4.0)]), &p), Event::Joined(1));
    }

    #[test]
    fn loss_with_hysteresis_then_rejoin_elsewhere() {
        let p = ProtocolParams::default();
        let mut n = NodeProtocol::new(Role::Regular);
        for _ in 0..4 {
            n.step(&obs(&[(1, 5.0)]), &p);
        }
        assert_eq!(n.layer(), Some(2));
        // 1 dB below θ is inside the hysteresis: nothing happens
        assert_eq!(n.step(&obs(&[(1, -1.0)]), &p), Event::None);
        // below θ − H: suspected, still transmitting (holdover), not tracking
        assert_eq!(n.step(&obs(&[(1, -4.0)]), &p), Event::LossSuspected);
        assert_eq!(n.tx_layers(), &[2]);
        assert_eq!(n.tracks(), None);
        assert_eq!(n.step(&obs(&[(1, -4.0)]), &p), Event::None);
        assert_eq!(n.step(&obs(&[(1, -4.0), (3, 6.0)]), &p), Event::Lost(2));
        assert_eq!(n.tx_layers(), &[] as &[Layer]);
        for _ in 0..3 {
            n.step(&obs(&[(3, 6.0)]), &p);
        }
        assert_eq!(n.step(&obs(&[(3, 6.0)]), &p), Event::Moved(2, 4));
    }

    #[test]
    fn recovers_from_a_short_dip() {
        let p = ProtocolParams::default();
        let mut n = NodeProtocol::new(Role::Regular);
        for _ in 0..4 {
            n.step(&obs(&[(0, 5.0)]), &p);
        }
        assert_eq!(n.step(&obs(&[(0, -10.0)]), &p), Event::LossSuspected);
        assert_eq!(n.step(&obs(&[(0, 1.0)]), &p), Event::Recovered);
        assert_eq!(n.layer(), Some(1));
    }

    #[test]
    fn moves_up_when_a_lower_layer_stays_good() {
        let p = ProtocolParams {
            upgrade_dwell: 5,
            ..ProtocolParams::default()
        };
        let mut n = NodeProtocol::new(Role::Regular);
        for _ in 0..4 {
            n.step(&obs(&[(3, 5.0)]), &p);
        }
        assert_eq!(n.layer(), Some(4));
        // layer 1 at θ + 2 dB (inside the hysteresis) never triggers a move
        for _ in 0..20 {
            assert_eq!(n.step(&obs(&[(1, 2.0), (3, 5.0)]), &p), Event::None);
        }
        for _ in 0..4 {
            assert_eq!(n.step(&obs(&[(1, 4.0), (3, 5.0)]), &p), Event::None);
        }
        assert_eq!(n.step(&obs(&[(1, 4.0), (3, 5.0)]), &p), Event::Moved(4, 2));
    }

    #[test]
    fn root_candidate_free_runs_and_relocks() {
        let p = ProtocolParams::default();
        let mut b = NodeProtocol::new(Role::RootCandidate {
            listen: 0,
            tx_layers: vec![1],
        });
        assert_eq!(b.tx_layers(), &[1]);
        assert_eq!(b.step(&obs(&[(0, 10.0)]), &p), Event::Locked);
        assert_eq!(b.tracks(), Some(0));
        assert_eq!(b.step(&obs(&[]), &p), Event::Holdover);
        assert_eq!(b.tracks(), None);
        assert_eq!(b.tx_layers(), &[1]);
        assert_eq!(b.step(&obs(&[(0, 10.0)]), &p), Event::Locked);
    }

    #[test]
    fn reserved_root_layers_are_not_joined() {
        // Fig. 2(a): A transmits layers 0 and 1; a regular node hearing both joins layer 2
        let p = ProtocolParams {
            min_parent_layer: 1,
            ..ProtocolParams::default()
        };
        let mut n = NodeProtocol::new(Role::Regular);
        let o = obs(&[(0, 10.0), (1, 13.0)]);
        for _ in 0..4 {
            n.step(&o, &p);
        }
        assert_eq!(n.layer(), Some(2));
        // layer 0 stays strong: no upgrade to layer 1
        for _ in 0..50 {
            assert_eq!(n.step(&o, &p), Event::None);
        }
        assert_eq!(n.layer(), Some(2));
        assert!(ProtocolParams {
            min_parent_layer: 64,
            ..ProtocolParams::default()
        }
        .validate("p")
        .is_err());
    }

    #[test]
    fn kill_and_revive() {
        let p = ProtocolParams::default();
        let mut n = NodeProtocol::new(Role::Regular);
        for _ in 0..4 {
            n.step(&obs(&[(0, 5.0)]), &p);
        }
        n.kill();
        assert!(!n.is_on());
        assert_eq!(n.tx_layers(), &[] as &[Layer]);
        assert_eq!(n.step(&obs(&[(0, 5.0)]), &p), Event::None);
        n.revive();
        assert_eq!(n.state, NodeState::Scanning { candidate: None });
    }
}

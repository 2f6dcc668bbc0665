//! Fault schedules for the layered tree (notes/000 §4.1 item 8, §3 R1–R6): timed node kills and
//! revivals, root failures, link blockages, SNR dips over an area or a node's links, and node
//! additions, applied to an [`Engine`] as simulation time passes.
//!
//! A schedule is plain data, written in a scenario file's `[config]` as an array of tables:
//!
//! ```toml
//! [[config.faults]]
//! kind = "kill"            # kill | revive | kill-root | blockage | snr-dip | add
//! at_s = 3.0               # when (s from the start of the run)
//! node = 12
//!
//! [[config.faults]]
//! kind = "blockage"        # link from → to (the receiver `to` hears `from`)
//! at_s = 4.0
//! from = 3
//! to = 7
//! factor = 0.0             # power factor while blocked: 0 = cut, 0.1 = −10 dB (default 0)
//! duration_s = 1.0         # optional: cleared after this long (default: for good)
//! two_way = true           # optional: the reverse link too (default true)
//!
//! [[config.faults]]
//! kind = "snr-dip"         # every link of a node, or every link with an end in a disc
//! at_s = 5.0
//! dip_db = 10.0
//! area = { x_m = 0.0, y_m = 200.0, radius_m = 150.0 }   # or: node = 4
//! duration_s = 0.5
//!
//! [[config.faults]]
//! kind = "add"             # node 9 is off from the start and joins at 6 s
//! at_s = 6.0
//! node = 9
//! ```
//!
//! **Timing.** An event at `at_s` is applied before the first sync period that starts at or
//! after `at_s` (period k starts at k·T), so it is seen by that period's measurements. A
//! `duration_s` ends the same way at `at_s + duration_s` (at least one period later).
//!
//! **Semantics.** `kill` silences a node (it neither transmits nor listens); `revive` brings a
//! dead node back (a regular node scans again, a root resumes its role, its oscillator has kept
//! running); `add` is a `revive` of a node that is off from the start of the run. `kill-root`
//! kills the current root: the live rooted nodes ([`Role::Root`], or a [`Role::RootCandidate`]
//! that free-runs or is locked) holding the lowest layer among them — A of Fig. 2, then B once A
//! is gone. Link faults scale the link's per-RE SNR by a power factor (blockage: `factor`; dip:
//! 10^(−dip_db/10)); overlapping link faults multiply, and a link goes back to the product of
//! the faults still active when one ends.
//!
//! **Checks.** [`validate_faults`] checks the values alone (times, factors, exactly one of
//! `node`/`area`), naming the field as `<prefix>[i].<field>`; [`FaultRunner::new`] checks them
//! against the network (node indices, existing links, positions for areas).

use super::engine::Engine;
use super::protocol::{NodeState, Role};
use crate::geometry::Point;
use crate::scenario::{Check, FieldError};
use crate::units::db_to_lin;
use serde::{Deserialize, Serialize};

/// A disc in the deployment's coordinates (m; the window is centred on the origin).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    pub x_m: f64,
    pub y_m: f64,
    pub radius_m: f64,
}

fn default_two_way() -> bool {
    true
}

/// One timed fault (TOML: a table with `kind`, see the module doc).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// Node `node` dies.
    Kill { at_s: f64, node: usize },
    /// Dead node `node` comes back.
    Revive { at_s: f64, node: usize },
    /// The current root dies (see the module doc).
    KillRoot { at_s: f64 },
    /// The link `from` → `to` is scaled by `factor` (power), for `duration_s` or for good;
    /// `two_way` also scales `to` → `from`.
    Blockage {
        at_s: f64,
        from: usize,
        to: usize,
        #[serde(default)]
        factor: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_s: Option<f64>,
        #[serde(default = "default_two_way")]
        two_way: bool,
    },
    /// Every link to and from `node`, or with an end inside `area`, loses `dip_db`.
    SnrDip {
        at_s: f64,
        dip_db: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_s: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<usize>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        area: Option<Area>,
    },
    /// Node `node` is off from the start of the run and joins at `at_s`.
    Add { at_s: f64, node: usize },
}

impl Fault {
    /// When it happens (s).
    pub fn at_s(&self) -> f64 {
        match self {
            Fault::Kill { at_s, .. }
            | Fault::Revive { at_s, .. }
            | Fault::KillRoot { at_s }
            | Fault::Blockage { at_s, .. }
            | Fault::SnrDip { at_s, .. }
            | Fault::Add { at_s, .. } => *at_s,
        }
    }

    /// The same fault at another time.
    pub fn at(mut self, t_s: f64) -> Self {
        match &mut self {
            Fault::Kill { at_s, .. }
            | Fault::Revive { at_s, .. }
            | Fault::KillRoot { at_s }
            | Fault::Blockage { at_s, .. }
            | Fault::SnrDip { at_s, .. }
            | Fault::Add { at_s, .. } => *at_s = t_s,
        }
        self
    }

    /// The kind as written in TOML.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Kill { .. } => "kill",
            Fault::Revive { .. } => "revive",
            Fault::KillRoot { .. } => "kill-root",
            Fault::Blockage { .. } => "blockage",
            Fault::SnrDip { .. } => "snr-dip",
            Fault::Add { .. } => "add",
        }
    }

    fn duration_s(&self) -> Option<f64> {
        match self {
            Fault::Blockage { duration_s, .. } | Fault::SnrDip { duration_s, .. } => *duration_s,
            _ => None,
        }
    }
}

/// Checks the values of a schedule on their own (not against a network): every `at_s` finite
/// and in 0…`horizon_s`, durations > 0, blockage factors in 0…1000, dips in 0…200 dB, an SNR
/// dip with exactly one of `node` and `area`, a disc of positive radius. Fields are named
/// `<prefix>[i].<field>`.
///
/// # Errors
/// The first offending field.
pub fn validate_faults(faults: &[Fault], prefix: &str, horizon_s: f64) -> Result<(), FieldError> {
    for (i, f) in faults.iter().enumerate() {
        let p = format!("{prefix}[{i}]");
        let c = Check { prefix: &p };
        c.range("at_s", f.at_s(), 0.0, horizon_s, "s")?;
        if let Some(d) = f.duration_s() {
            c.range("duration_s", d, 1e-6, 1e6, "s")?;
        }
        match f {
            Fault::Blockage {
                factor, from, to, ..
            } => {
                c.range("factor", *factor, 0.0, 1000.0, "(linear power factor)")?;
                if from == to {
                    return Err(FieldError::new(
                        format!("{p}.to"),
                        format!("a link joins two different nodes; got from = to = {to}"),
                    ));
                }
            }
            Fault::SnrDip {
                dip_db, node, area, ..
            } => {
                c.range("dip_db", *dip_db, 0.0, 200.0, "dB")?;
                match (node, area) {
                    (Some(_), Some(_)) | (None, None) => {
                        return Err(FieldError::new(
                            p,
                            "an snr-dip needs exactly one of `node` (its links) or `area` \
                             (links with an end in the disc)",
                        ))
                    }
                    (None, Some(a)) => {
                        c.range("area.x_m", a.x_m, -1e7, 1e7, "m")?;
                        c.range("area.y_m", a.y_m, -1e7, 1e7, "m")?;
                        c.range("area.radius_m", a.radius_m, 1e-3, 1e7, "m")?;
                    }
                    (Some(_), None) => {}
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The first period starting at or after `t_s`.
fn period_at(t_s: f64, period_s: f64) -> u64 {
    (t_s / period_s - 1e-9).ceil().max(0.0) as u64
}

/// An active link fault.
#[derive(Clone, Debug)]
struct Attenuation {
    /// Index of the fault in the schedule.
    index: usize,
    /// Links (from, to) it scales.
    links: Vec<(usize, usize)>,
    factor: f64,
    /// The period before which it ends (None: never).
    until: Option<u64>,
}

/// What [`FaultRunner::apply_due`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// Index of the fault in the schedule.
    pub index: usize,
    /// The period it was applied before.
    pub period: u64,
    /// Whether a link fault ended (rather than a fault starting).
    pub ended: bool,
    /// The nodes it killed, revived or added, or the receivers of the links it scaled (sorted,
    /// deduplicated; empty when it changed nothing, e.g. killing a dead node).
    pub nodes: Vec<usize>,
}

/// Applies a schedule to an engine period by period: call [`FaultRunner::apply_due`] before
/// every [`Engine::step`].
#[derive(Clone, Debug)]
pub struct FaultRunner {
    faults: Vec<Fault>,
    /// (period, index) of every fault, in order.
    order: Vec<(u64, usize)>,
    next: usize,
    active: Vec<Attenuation>,
    /// Per fault, its links (for link faults, resolved at construction).
    links: Vec<Vec<(usize, usize)>>,
    period_s: f64,
}

impl FaultRunner {
    /// Checks `faults` against the engine's network and prepares them; every node with an `add`
    /// event is switched off now. `positions` (one per node) are needed for area dips. Fields in
    /// errors are named `<prefix>[i].<field>`.
    ///
    /// # Errors
    /// [`validate_faults`]'s errors (with an unbounded horizon), a node index outside the
    /// network, a blockage of a link that does not exist, an area dip without positions.
    pub fn new(
        faults: &[Fault],
        engine: &mut Engine,
        positions: Option<&[Point]>,
        prefix: &str,
    ) -> Result<Self, FieldError> {
        validate_faults(faults, prefix, 1e9)?;
        let n = engine.len();
        let topo = engine.topology();
        let hears =
            |to: usize, from: usize| topo.audible[to].iter().any(|a| a.from as usize == from);
        let node_ok = |i: usize, field: &str, node: usize| -> Result<(), FieldError> {
            if node < n {
                Ok(())
            } else {
                Err(FieldError::new(
                    format!("{prefix}[{i}].{field}"),
                    format!(
                        "node {node} is not in the network; allowed: 0 to {} ({n} nodes)",
                        n.saturating_sub(1)
                    ),
                ))
            }
        };
        let mut links = Vec::with_capacity(faults.len());
        for (i, f) in faults.iter().enumerate() {
            let mut l = Vec::new();
            match f {
                Fault::Kill { node, .. } | Fault::Revive { node, .. } | Fault::Add { node, .. } => {
                    node_ok(i, "node", *node)?
                }
                Fault::KillRoot { .. } => {}
                Fault::Blockage {
                    from, to, two_way, ..
                } => {
                    node_ok(i, "from", *from)?;
                    node_ok(i, "to", *to)?;
                    if hears(*to, *from) {
                        l.push((*from, *to));
                    }
                    if *two_way && hears(*from, *to) {
                        l.push((*to, *from));
                    }
                    if l.is_empty() {
                        return Err(FieldError::new(
                            format!("{prefix}[{i}]"),
                            format!(
                                "node {to} does not hear node {from}{}: there is no such link",
                                if *two_way { " (nor the reverse)" } else { "" }
                            ),
                        ));
                    }
                }
                Fault::SnrDip { node, area, .. } => {
                    let inside: Vec<bool> = match (node, area) {
                        (Some(v), _) => {
                            node_ok(i, "node", *v)?;
                            (0..n).map(|j| j == *v).collect()
                        }
                        (None, Some(a)) => {
                            let pts = positions.filter(|p| p.len() == n).ok_or_else(|| {
                                FieldError::new(
                                    format!("{prefix}[{i}].area"),
                                    "this network has no node positions; give `node` instead",
                                )
                            })?;
                            pts.iter()
                                .map(|p| {
                                    (p.x - a.x_m).powi(2) + (p.y - a.y_m).powi(2)
                                        <= a.radius_m * a.radius_m
                                })
                                .collect()
                        }
                        (None, None) => unreachable!("validated"),
                    };
                    for (to, list) in topo.audible.iter().enumerate() {
                        for a in list {
                            let from = a.from as usize;
                            if inside[to] || inside[from] {
                                l.push((from, to));
                            }
                        }
                    }
                }
            }
            links.push(l);
        }
        let period_s = engine.period_s();
        let mut order: Vec<(u64, usize)> = faults
            .iter()
            .enumerate()
            .map(|(i, f)| (period_at(f.at_s(), period_s), i))
            .collect();
        order.sort_unstable();
        for f in faults {
            if let Fault::Add { node, .. } = f {
                engine.kill(*node);
            }
        }
        Ok(FaultRunner {
            faults: faults.to_vec(),
            order,
            next: 0,
            active: Vec::new(),
            links,
            period_s,
        })
    }

    /// The schedule.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// The period before which fault `index` is applied.
    pub fn period_of(&self, index: usize) -> u64 {
        period_at(self.faults[index].at_s(), self.period_s)
    }

    /// Whether every fault has been applied and every link fault has ended.
    pub fn is_done(&self) -> bool {
        self.next == self.order.len() && self.active.iter().all(|a| a.until.is_none())
    }

    /// The product of the active link faults' factors on link `from` → `to` (1 if none).
    pub fn link_factor(&self, from: usize, to: usize) -> f64 {
        self.active
            .iter()
            .filter(|a| a.links.contains(&(from, to)))
            .map(|a| a.factor)
            .product()
    }

    /// Ends the link faults that are over and applies the faults due at the engine's current
    /// period (in schedule order within a period). Call before every [`Engine::step`].
    pub fn apply_due(&mut self, engine: &mut Engine) -> Vec<Applied> {
        let now = engine.periods();
        let mut out = Vec::new();
        // endings first: a fault that ends and one that starts in the same period compose
        let (ended, kept): (Vec<Attenuation>, Vec<Attenuation>) = std::mem::take(&mut self.active)
            .into_iter()
            .partition(|a| a.until.is_some_and(|u| u <= now));
        self.active = kept;
        for a in ended {
            self.refresh(engine, &a.links);
            out.push(Applied {
                index: a.index,
                period: now,
                ended: true,
                nodes: receivers(&a.links),
            });
        }
        while let Some(&(p, i)) = self.order.get(self.next) {
            if p > now {
                break;
            }
            self.next += 1;
            let nodes = self.apply(engine, i, now);
            out.push(Applied {
                index: i,
                period: now,
                ended: false,
                nodes,
            });
        }
        out
    }

    fn apply(&mut self, engine: &mut Engine, i: usize, now: u64) -> Vec<usize> {
        let until = self.faults[i]
            .duration_s()
            .map(|d| period_at(self.faults[i].at_s() + d, self.period_s).max(now + 1));
        match self.faults[i] {
            Fault::Kill { node, .. } => {
                if engine.protocol(node).is_on() {
                    engine.kill(node);
                    vec![node]
                } else {
                    vec![]
                }
            }
            Fault::Revive { node, .. } | Fault::Add { node, .. } => {
                if engine.protocol(node).is_on() {
                    vec![]
                } else {
                    engine.revive(node);
                    vec![node]
                }
            }
            Fault::KillRoot { .. } => {
                let roots = current_roots(engine);
                for &r in &roots {
                    engine.kill(r);
                }
                roots
            }
            Fault::Blockage { factor, .. } => self.attenuate(engine, i, factor, until),
            Fault::SnrDip { dip_db, .. } => self.attenuate(engine, i, db_to_lin(-dip_db), until),
        }
    }

    fn attenuate(
        &mut self,
        engine: &mut Engine,
        index: usize,
        factor: f64,
        until: Option<u64>,
    ) -> Vec<usize> {
        let links = self.links[index].clone();
        self.active.push(Attenuation {
            index,
            links: links.clone(),
            factor,
            until,
        });
        self.refresh(engine, &links);
        receivers(&links)
    }

    fn refresh(&self, engine: &mut Engine, links: &[(usize, usize)]) {
        for &(from, to) in links {
            let f = self.link_factor(from, to);
            let found = engine.set_link_factor(from, to, f);
            debug_assert!(found, "links are resolved against the topology");
        }
    }
}

fn receivers(links: &[(usize, usize)]) -> Vec<usize> {
    let mut v: Vec<usize> = links.iter().map(|l| l.1).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The current root(s): the live rooted nodes (roots, and candidates whether locked or free-
/// running) holding the lowest layer among them.
pub fn current_roots(engine: &Engine) -> Vec<usize> {
    let rooted: Vec<(usize, u32)> = (0..engine.len())
        .filter_map(|i| {
            let p = engine.protocol(i);
            let is_root_role = matches!(p.role, Role::Root { .. } | Role::RootCandidate { .. });
            (is_root_role && matches!(p.state, NodeState::Rooted { .. }))
                .then(|| p.layer().map(|l| (i, l)))
                .flatten()
        })
        .collect();
    let Some(min) = rooted.iter().map(|r| r.1).min() else {
        return Vec::new();
    };
    rooted
        .into_iter()
        .filter(|r| r.1 == min)
        .map(|r| r.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;
    use crate::sync::layered_tree::engine::{
        check_tree, Audible, EngineParams, Fidelity, Topology,
    };

    fn parse(text: &str) -> Result<Vec<Fault>, String> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct F {
            faults: Vec<Fault>,
        }
        toml::from_str::<F>(text)
            .map(|f| f.faults)
            .map_err(|e| e.message().to_string())
    }

    /// A star: root 0 heard by 1…n−1 at 10 dB, and each leaf heard by the root.
    fn star(n: usize) -> Engine {
        let s = db_to_lin(10.0);
        let audible = (0..n)
            .map(|i| {
                if i == 0 {
                    (1..n)
                        .map(|j| Audible {
                            from: j as u32,
                            snr: s,
                        })
                        .collect()
                } else {
                    vec![Audible { from: 0, snr: s }]
                }
            })
            .collect();
        let roles = std::iter::once(Role::Root { tx_layers: vec![0] })
            .chain(std::iter::repeat_n(Role::Regular, n - 1))
            .collect();
        Engine::new(
            EngineParams::chorus(10.0).unwrap(),
            Topology { audible },
            roles,
            &SeedTree::new(9),
        )
        .unwrap()
    }

    #[test]
    fn parses_every_kind_and_rejects_unknown_fields() {
        let f = parse(
            r#"
            faults = [
              { kind = "kill", at_s = 1.0, node = 2 },
              { kind = "revive", at_s = 2.0, node = 2 },
              { kind = "kill-root", at_s = 3.0 },
              { kind = "blockage", at_s = 4.0, from = 0, to = 1, duration_s = 0.5 },
              { kind = "snr-dip", at_s = 5.0, dip_db = 6.0, area = { x_m = 0.0, y_m = 0.0, radius_m = 10.0 } },
              { kind = "add", at_s = 6.0, node = 3 },
            ]"#,
        )
        .unwrap();
        assert_eq!(f.len(), 6);
        assert_eq!(
            f[3],
            Fault::Blockage {
                at_s: 4.0,
                from: 0,
                to: 1,
                factor: 0.0,
                duration_s: Some(0.5),
                two_way: true
            }
        );
        assert!(validate_faults(&f, "config.faults", 10.0).is_ok());
        let e = parse(r#"faults = [{ kind = "kill", at_s = 1.0, node = 2, nod = 3 }]"#);
        assert!(e.unwrap_err().contains("nod"));
        let e = parse(r#"faults = [{ kind = "explode", at_s = 1.0 }]"#);
        assert!(e.unwrap_err().contains("explode"));
        let e = parse(r#"faults = [{ kind = "kill-root", at_s = 1.0, node = 1 }]"#);
        assert!(e.is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let bad = [
            (
                Fault::Kill {
                    at_s: -1.0,
                    node: 0,
                },
                "config.faults[0].at_s",
            ),
            (
                Fault::Blockage {
                    at_s: 1.0,
                    from: 0,
                    to: 1,
                    factor: -0.5,
                    duration_s: None,
                    two_way: true,
                },
                "config.faults[0].factor",
            ),
            (
                Fault::SnrDip {
                    at_s: 1.0,
                    dip_db: 3.0,
                    duration_s: Some(0.0),
                    node: Some(1),
                    area: None,
                },
                "config.faults[0].duration_s",
            ),
            (
                Fault::SnrDip {
                    at_s: 1.0,
                    dip_db: 3.0,
                    duration_s: None,
                    node: None,
                    area: None,
                },
                "config.faults[0]",
            ),
        ];
        for (f, field) in bad {
            let e = validate_faults(&[f], "config.faults", 10.0).unwrap_err();
            assert_eq!(e.field, field, "{}", e.message);
        }
        // against the network
        let mut e = star(4);
        let err = FaultRunner::new(
            &[Fault::Kill { at_s: 0.0, node: 4 }],
            &mut e,
            None,
            "config.faults",
        )
        .unwrap_err();
        assert_eq!(err.field, "config.faults[0].node");
        assert!(err.message.contains("0 to 3"), "{}", err.message);
        let no_link = Fault::Blockage {
            at_s: 0.0,
            from: 1,
            to: 2,
            factor: 0.0,
            duration_s: None,
            two_way: true,
        };
        let err = FaultRunner::new(&[no_link], &mut e, None, "f").unwrap_err();
        assert!(err.message.contains("no such link"), "{}", err.message);
        let area = Fault::SnrDip {
            at_s: 0.0,
            dip_db: 3.0,
            duration_s: None,
            node: None,
            area: Some(Area {
                x_m: 0.0,
                y_m: 0.0,
                radius_m: 1.0,
            }),
        };
        let err = FaultRunner::new(&[area], &mut e, None, "f").unwrap_err();
        assert_eq!(err.field, "f[0].area");
    }

    #[test]
    fn applies_events_at_their_periods_and_composes_link_factors() {
        let mut e = star(4);
        let faults = vec![
            Fault::Add { at_s: 0.1, node: 3 },
            Fault::Kill { at_s: 0.2, node: 1 },
            Fault::Blockage {
                at_s: 0.3,
                from: 0,
                to: 2,
                factor: 0.5,
                duration_s: Some(0.1),
                two_way: false,
            },
            Fault::SnrDip {
                at_s: 0.32,
                dip_db: 10.0,
                duration_s: None,
                node: Some(2),
                area: None,
            },
            Fault::Revive { at_s: 0.5, node: 1 },
            Fault::KillRoot { at_s: 0.6 },
        ];
        let mut r = FaultRunner::new(&faults, &mut e, None, "f").unwrap();
        assert!(!e.protocol(3).is_on());
        assert_eq!(r.period_of(0), 20);
        assert_eq!(r.period_of(3), 64);
        let mut log = Vec::new();
        for _ in 0..200 {
            for a in r.apply_due(&mut e) {
                log.push(a);
            }
            if e.periods() == 70 {
                // blockage × dip on 0 → 2; the dip alone on 2 → 0
                assert!((r.link_factor(0, 2) - 0.05).abs() < 1e-12);
                assert!((r.link_factor(2, 0) - 0.1).abs() < 1e-12);
            }
            if e.periods() == 90 {
                assert!((r.link_factor(0, 2) - 0.1).abs() < 1e-12);
            }
            e.step();
            check_tree(&e).unwrap();
        }
        assert!(r.is_done());
        let at: Vec<(usize, u64, bool, Vec<usize>)> = log
            .into_iter()
            .map(|a| (a.index, a.period, a.ended, a.nodes))
            .collect();
        assert_eq!(
            at,
            vec![
                (0, 20, false, vec![3]),
                (1, 40, false, vec![1]),
                (2, 60, false, vec![2]),
                (3, 64, false, vec![0, 2]),
                (2, 80, true, vec![2]),
                (4, 100, false, vec![1]),
                (5, 120, false, vec![0]),
            ]
        );
        assert!(!e.protocol(0).is_on());
        // the leaves lose the root and scan
        assert_eq!(e.layers(), vec![None; 4]);
    }

    #[test]
    fn kill_root_follows_the_root_chain() {
        // Fig. 2(a): A (0) on layers 0, 1; B (1) listens on 0 and transmits on 1
        let s = db_to_lin(15.0);
        let topo = Topology {
            audible: vec![
                vec![Audible { from: 1, snr: s }],
                vec![Audible { from: 0, snr: s }],
            ],
        };
        let mut e = Engine::new(
            EngineParams::chorus(15.0).unwrap(),
            topo,
            vec![
                Role::Root {
                    tx_layers: vec![0, 1],
                },
                Role::RootCandidate {
                    listen: 0,
                    tx_layers: vec![1],
                },
            ],
            &SeedTree::new(1),
        )
        .unwrap();
        assert_eq!(current_roots(&e), vec![0]);
        let mut r = FaultRunner::new(
            &[
                Fault::KillRoot { at_s: 0.05 },
                Fault::KillRoot { at_s: 0.1 },
                Fault::KillRoot { at_s: 0.15 },
            ],
            &mut e,
            None,
            "f",
        )
        .unwrap();
        let mut killed = Vec::new();
        for _ in 0..40 {
            killed.extend(r.apply_due(&mut e).into_iter().map(|a| a.nodes));
            e.step();
        }
        assert_eq!(killed, vec![vec![0], vec![1], vec![]]);
    }

    mod invariants {
        use super::*;
        use crate::geometry::shadowing::Shadowing;
        use crate::geometry::Deployment;
        use crate::sync::layered_tree::network::NetworkSpec;
        use crate::sync::layered_tree::protocol::{Layer, ProtocolParams};
        use proptest::prelude::*;
        use rand::Rng;

        /// A random network: a small-cell drop (UMi, i.i.d. shadowing) or a random directed
        /// graph with random per-RE SNRs (asymmetric links, any degree).
        fn network(n: usize, seed: u64, side_m: f64, cells: bool) -> (Topology, Vec<Point>) {
            let seeds = SeedTree::new(seed);
            if cells {
                let spec = NetworkSpec {
                    deployment: Deployment::Binomial { count: n },
                    shadowing: Shadowing::Iid { sigma_db: 7.82 },
                    ..NetworkSpec::small_cells(1.0, side_m, side_m)
                };
                let net = spec.build(&seeds).unwrap();
                (net.topology, net.points)
            } else {
                let mut rng = seeds.child("graph").rng();
                let p_link = rng.random_range(0.05..0.4);
                let mut audible: Vec<Vec<Audible>> = vec![Vec::new(); n];
                for (i, list) in audible.iter_mut().enumerate() {
                    for j in 0..n {
                        if j != i && rng.random_bool(p_link) {
                            list.push(Audible {
                                from: j as u32,
                                snr: db_to_lin(rng.random_range(-10.0..25.0)),
                            });
                        }
                    }
                }
                let points = (0..n)
                    .map(|_| {
                        Point::new(
                            rng.random_range(-side_m / 2.0..side_m / 2.0),
                            rng.random_range(-side_m / 2.0..side_m / 2.0),
                        )
                    })
                    .collect();
                (Topology { audible }, points)
            }
        }

        /// Raw fault draws: (period, kind selector, a, b, value).
        type Raw = (u32, u8, usize, usize, f64);

        /// Turns raw draws into a valid schedule for `topo`.
        fn schedule(raw: &[Raw], topo: &Topology, side_m: f64, period_s: f64) -> Vec<Fault> {
            let n = topo.len();
            let links: Vec<(usize, usize)> = topo
                .audible
                .iter()
                .enumerate()
                .flat_map(|(to, l)| l.iter().map(move |a| (a.from as usize, to)))
                .collect();
            raw.iter()
                .map(|&(p, k, a, b, v)| {
                    let at_s = p as f64 * period_s;
                    let node = a % n;
                    let dur = (b % 3 > 0).then_some((1 + b % 60) as f64 * period_s);
                    match k % 7 {
                        0 | 1 => Fault::Kill { at_s, node },
                        2 => Fault::Revive { at_s, node },
                        3 => Fault::KillRoot { at_s },
                        4 if !links.is_empty() => {
                            let (from, to) = links[b % links.len()];
                            Fault::Blockage {
                                at_s,
                                from,
                                to,
                                factor: if v < 0.5 { 0.0 } else { v },
                                duration_s: dur,
                                two_way: a % 2 == 0,
                            }
                        }
                        5 => Fault::SnrDip {
                            at_s,
                            dip_db: 30.0 * v,
                            duration_s: dur,
                            node: (b % 2 == 0).then_some(node),
                            area: (b % 2 == 1).then_some(Area {
                                x_m: (v - 0.5) * side_m,
                                y_m: (0.5 - v) * side_m / 2.0,
                                radius_m: side_m * (0.05 + 0.3 * v),
                            }),
                        },
                        _ => Fault::Add { at_s, node },
                    }
                })
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(32))]

            /// T3 (notes/000 §3): whatever the network and the faults, at every step every
            /// listens-to edge goes from layer L − 1 to layer L and the graph has no loop.
            #[test]
            fn the_sync_graph_stays_a_layered_tree_under_random_faults(
                n in 10usize..=60,
                seed in any::<u64>(),
                side_m in 300.0f64..2000.0,
                cells in any::<bool>(),
                // 0: one root; 1: Fig. 2(a) chain; 2: Fig. 2(b) chain
                chain in 0usize..3,
                raw in proptest::collection::vec(
                    (0u32..300, any::<u8>(), any::<usize>(), any::<usize>(), 0.0f64..1.0),
                    0..12,
                ),
            ) {
                let (topo, points) = network(n, seed, side_m, cells);
                let top = chain as Layer + 1;
                let roles: Vec<Role> = (0..n)
                    .map(|i| {
                        if i == 0 {
                            Role::Root { tx_layers: (0..top).collect() }
                        } else if i <= chain {
                            Role::RootCandidate {
                                listen: i as Layer - 1,
                                tx_layers: (i as Layer..top).collect(),
                            }
                        } else {
                            Role::Regular
                        }
                    })
                    .collect();
                let mut params = EngineParams::chorus(10.0).unwrap();
                // flat links: the RE grid fixes S = 8, and this test varies it
                params.fidelity = Fidelity::Control;
                params.protocol = ProtocolParams {
                    min_parent_layer: chain as Layer,
                    // small reuse so that layers alias on the frequency sets
                    n_sets: if seed % 2 == 0 { 8 } else { 3 },
                    ..params.protocol
                };
                let mut e = Engine::new(params, topo.clone(), roles, &SeedTree::new(seed ^ 1))
                    .unwrap();
                let max_layer = ProtocolParams::default().max_layer;
                let faults = schedule(&raw, &topo, side_m, e.period_s());
                let mut runner = FaultRunner::new(&faults, &mut e, Some(&points), "f").unwrap();
                for p in 0..320 {
                    runner.apply_due(&mut e);
                    if let Err(m) = check_tree(&e) {
                        return Err(TestCaseError::fail(format!("after the faults of period {p}: {m}")));
                    }
                    e.step();
                    if let Err(m) = check_tree(&e) {
                        return Err(TestCaseError::fail(format!("after step {p}: {m}")));
                    }
                    // every joined node is within the allowed layers
                    // regular nodes join below the reserved root layers, above max_layer never
                    for (i, l) in e.layers().into_iter().enumerate().skip(chain + 1) {
                        if let Some(l) = l {
                            prop_assert!(
                                l > chain as Layer && l <= max_layer,
                                "node {} in layer {} (chain {})", i, l, chain
                            );
                        }
                    }
                }
            }
        }
    }
}

//! Leader-based synchronization at one hop: the nodes a leader's reference reaches directly, and
//! networks of several such leaders whose clusters are mutually incoherent — MegaMIMO/JMB,
//! AirSync and AirShare (one lead AP whose sync header or reference tone every slave hears;
//! notes/000 §2.2), the "traditional leader-based systems" Chorus's abstract compares with
//! (notes/000 §2.4.D, §3 S2, §4.1 item 10).
//!
//! * **Who transmits when.** Every sync period each leader sends its reference; followers do not
//!   relay it (one hop). Different leaders' references are orthogonal (their own channels or
//!   codes), so a follower hears only its own leader.
//! * **What is estimated.** A follower measures its phase against its leader's reference alone.
//! * **How it is corrected.** By the same per-node phase controller as the layered tree: a
//!   cluster is a star — the leader a free-running root, each follower hearing only the leader
//!   ([`Clusters::star_topology`], [`Clusters::roles`]) — so the control-level
//!   [`Engine`](super::layered_tree::engine::Engine) runs a leader network unchanged, with the same
//!   oscillators and link models as the layered tree.
//!
//! **Coverage rule.** Node n *hears* node m when m is in n's audible list ([`Topology`]) with
//! per-RE SNR ≥ θ, the same threshold at which the layered tree joins a layer (the SNR at which
//! the controller meets its phase target). A follower is synchronized iff it hears its leader.
//!
//! * [`Clusters::single_leader`]: one leader (the administrator's choice, e.g. the central node);
//!   the nodes that hear it follow it; the rest are unsynchronized.
//! * [`Clusters::greedy`]: as many leaders as needed for every node to hear one, chosen by the
//!   greedy dominating-set rule — repeatedly make leader the node that the most not-yet-covered
//!   nodes hear (counting itself if uncovered; ties to the lower index), until every node is
//!   covered. This is the classic ln Δ-approximation of the minimum dominating set: an operator's
//!   best effort to cover a network with few leaders (fewer clusters, fewer cluster borders).
//!   Then every non-leader follows the **strongest** leader it hears (ties to the lower index),
//!   which need not be the one that covered it. Clusters are mutually incoherent: each leader
//!   free-runs on its own oscillator.
//!
//! Nothing here is from the Chorus paper, whose baseline for the 2.7× is not in the fragment
//! (notes/000 §4.4 item 11); the rules are our reconstruction, labelled so in the experiment.

use super::layered_tree::engine::{Audible, Topology};
use super::layered_tree::protocol::Role;
use crate::units::db_to_lin;

/// An assignment of nodes to leaders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Clusters {
    /// Per node: the leader it is synchronized to (a leader is its own), None if it hears none.
    pub leader_of: Vec<Option<u32>>,
    /// The leaders, in the order they were chosen.
    pub leaders: Vec<u32>,
}

/// For every node, the nodes it hears at SNR ≥ `min` (linear), with the SNR.
fn heard_lists(topology: &Topology, min: f64) -> Vec<Vec<Audible>> {
    topology
        .audible
        .iter()
        .map(|l| l.iter().copied().filter(|a| a.snr >= min).collect())
        .collect()
}

impl Clusters {
    /// One leader: node `leader` and the nodes that hear it at per-RE SNR ≥ `threshold_db`.
    ///
    /// # Panics
    /// If `leader` is out of range.
    #[track_caller]
    pub fn single_leader(topology: &Topology, leader: usize, threshold_db: f64) -> Self {
        assert!(
            leader < topology.len(),
            "Clusters::single_leader: leader out of range"
        );
        let min = db_to_lin(threshold_db);
        let leader_of = topology
            .audible
            .iter()
            .enumerate()
            .map(|(n, list)| {
                (n == leader
                    || list
                        .iter()
                        .any(|a| a.from as usize == leader && a.snr >= min))
                .then_some(leader as u32)
            })
            .collect();
        Clusters {
            leader_of,
            leaders: vec![leader as u32],
        }
    }

    /// Leaders by the greedy dominating-set rule (module doc), every node following the
    /// strongest leader it hears at per-RE SNR ≥ `threshold_db`. Every node ends up in a cluster
    /// (an isolated node leads its own).
    pub fn greedy(topology: &Topology, threshold_db: f64) -> Self {
        let n = topology.len();
        let heard = heard_lists(topology, db_to_lin(threshold_db));
        // who hears m: the nodes m would cover as a leader
        let mut hearers: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (r, list) in heard.iter().enumerate() {
            for a in list {
                hearers[a.from as usize].push(r as u32);
            }
        }
        let mut covered = vec![false; n];
        let mut is_leader = vec![false; n];
        let mut left = n;
        let mut leaders = Vec::new();
        while left > 0 {
            let gain = |m: usize| {
                usize::from(!covered[m])
                    + hearers[m].iter().filter(|&&r| !covered[r as usize]).count()
            };
            // the first maximum: ties to the lower index
            let mut best = (0, 0);
            for m in (0..n).filter(|&m| !is_leader[m]) {
                let g = gain(m);
                if g > best.1 {
                    best = (m, g);
                }
            }
            let m = best.0;
            is_leader[m] = true;
            leaders.push(m as u32);
            for &r in std::iter::once(&(m as u32)).chain(&hearers[m]) {
                if !covered[r as usize] {
                    covered[r as usize] = true;
                    left -= 1;
                }
            }
        }
        let leader_of = (0..n)
            .map(|i| {
                if is_leader[i] {
                    return Some(i as u32);
                }
                heard[i]
                    .iter()
                    .filter(|a| is_leader[a.from as usize])
                    .max_by(|a, b| a.snr.total_cmp(&b.snr).then(b.from.cmp(&a.from)))
                    .map(|a| a.from)
            })
            .collect();
        Clusters { leader_of, leaders }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.leader_of.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.leader_of.is_empty()
    }

    /// Fraction of nodes synchronized (leaders included) — notes/000 §4.3 "sync coverage".
    pub fn coverage(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.leader_of.iter().filter(|l| l.is_some()).count() as f64 / self.len() as f64
    }

    /// Per node: the index into [`Clusters::leaders`] of its cluster (None: unsynchronized).
    pub fn cluster_index(&self) -> Vec<Option<u32>> {
        let mut index = vec![u32::MAX; self.len()];
        for (k, &l) in self.leaders.iter().enumerate() {
            index[l as usize] = k as u32;
        }
        self.leader_of
            .iter()
            .map(|l| l.map(|l| index[l as usize]))
            .collect()
    }

    /// The topology the engine runs a leader network on: every synchronized follower hears its
    /// leader only (at the SNR of `topology`), leaders and unsynchronized nodes hear nothing.
    ///
    /// # Panics
    /// If `topology` has another number of nodes.
    #[track_caller]
    pub fn star_topology(&self, topology: &Topology) -> Topology {
        assert_eq!(
            topology.len(),
            self.len(),
            "Clusters::star_topology: node count"
        );
        Topology {
            audible: topology
                .audible
                .iter()
                .enumerate()
                .map(|(i, list)| match self.leader_of[i] {
                    Some(l) if l as usize != i => list
                        .iter()
                        .copied()
                        .filter(|a| a.from == l)
                        .take(1)
                        .collect(),
                    _ => Vec::new(),
                })
                .collect(),
        }
    }

    /// Engine roles: leaders are roots transmitting layer 0, everyone else regular.
    pub fn roles(&self) -> Vec<Role> {
        let mut roles = vec![Role::Regular; self.len()];
        for &l in &self.leaders {
            roles[l as usize] = Role::Root { tx_layers: vec![0] };
        }
        roles
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;
    use crate::sync::layered_tree::network::NetworkSpec;
    use crate::units::lin_to_db;
    use proptest::prelude::*;

    /// A topology from a symmetric SNR table in dB (NaN: not audible).
    fn topo(snr_db: &[&[f64]]) -> Topology {
        Topology {
            audible: snr_db
                .iter()
                .enumerate()
                .map(|(r, row)| {
                    row.iter()
                        .enumerate()
                        .filter(|&(m, s)| m != r && s.is_finite())
                        .map(|(m, &s)| Audible {
                            from: m as u32,
                            snr: db_to_lin(s),
                        })
                        .collect()
                })
                .collect(),
        }
    }

    const X: f64 = f64::NAN;

    #[test]
    fn single_leader_covers_exactly_the_nodes_that_hear_it_at_threshold() {
        // 1 hears 0 at 5 dB, 2 at −1 dB, 3 at exactly 0 dB, 4 only through 1
        let t = topo(&[
            &[X, 5.0, -1.0, 0.0, X],
            &[5.0, X, X, X, 9.0],
            &[-1.0, X, X, X, X],
            &[0.0, X, X, X, X],
            &[X, 9.0, X, X, X],
        ]);
        let c = Clusters::single_leader(&t, 0, 0.0);
        assert_eq!(c.leader_of, vec![Some(0), Some(0), None, Some(0), None]);
        assert_eq!(c.leaders, vec![0]);
        assert!((c.coverage() - 0.6).abs() < 1e-12);
        // the star: followers hear the leader only, nobody else hears anything
        let s = c.star_topology(&t);
        assert_eq!(s.audible[1].len(), 1);
        assert_eq!(s.audible[1][0].from, 0);
        assert!((lin_to_db(s.audible[1][0].snr) - 5.0).abs() < 1e-9);
        assert!(s.audible[0].is_empty() && s.audible[2].is_empty() && s.audible[4].is_empty());
        assert_eq!(c.roles()[0], Role::Root { tx_layers: vec![0] });
        assert_eq!(c.roles()[1], Role::Regular);
    }

    #[test]
    fn greedy_picks_the_best_cover_first() {
        // a path 0 – 1 – … – 6 with 10 dB links. Gains (itself + uncovered hearers): 1…5 tie at
        // 3, so 1 leads ({0, 1, 2}); then 4 and 5 tie at 3 → 4 ({3, 4, 5}); then 5 and 6 tie at
        // 1 (6 is left) → 5, which 6 follows
        let mut rows = vec![vec![X; 7]; 7];
        for i in 0..6 {
            rows[i][i + 1] = 10.0;
            rows[i + 1][i] = 10.0;
        }
        let refs: Vec<&[f64]> = rows.iter().map(|r| r.as_slice()).collect();
        let t = topo(&refs);
        let c = Clusters::greedy(&t, 0.0);
        assert_eq!(c.leaders, vec![1, 4, 5]);
        assert_eq!(
            c.leader_of,
            vec![
                Some(1),
                Some(1),
                Some(1),
                Some(4),
                Some(4),
                Some(5),
                Some(5)
            ]
        );
        assert_eq!(
            c.cluster_index(),
            vec![
                Some(0),
                Some(0),
                Some(0),
                Some(1),
                Some(1),
                Some(2),
                Some(2)
            ]
        );
        assert_eq!(c.coverage(), 1.0);
        // raising θ above every link leaves every node its own leader
        let c = Clusters::greedy(&t, 20.0);
        assert_eq!(c.leaders.len(), 7);
        assert!(c
            .leader_of
            .iter()
            .enumerate()
            .all(|(i, l)| *l == Some(i as u32)));
    }

    #[test]
    fn nodes_follow_the_strongest_leader_not_the_one_that_covered_them() {
        // 0 is heard by 1, 2, 3 (gain 4) and leads first; then 4 (itself and 5) leads; 3 hears
        // 0 at 5 dB and 4 at 12 dB, so it follows 4
        let t = topo(&[
            &[X, 5.0, 5.0, 5.0, X, X],
            &[5.0, X, X, X, X, X],
            &[5.0, X, X, X, X, X],
            &[5.0, X, X, X, 12.0, X],
            &[X, X, X, 12.0, X, 6.0],
            &[X, X, X, X, 6.0, X],
        ]);
        let c = Clusters::greedy(&t, 0.0);
        assert_eq!(c.leaders, vec![0, 4]);
        assert_eq!(
            c.leader_of,
            vec![Some(0), Some(0), Some(0), Some(4), Some(4), Some(4)]
        );
    }

    /// On the control-level engine a leader network's stars join exactly the covered nodes, in
    /// layer 1 (leaders in layer 0), and each follower tracks its own leader.
    #[test]
    fn the_engine_runs_the_stars_and_joins_exactly_the_covered_nodes() {
        use crate::sync::layered_tree::engine::{Engine, EngineParams};
        let net = NetworkSpec::small_cells(100.0, 1200.0, 1200.0)
            .build(&SeedTree::new(9))
            .unwrap();
        let t = &net.topology;
        for c in [
            Clusters::single_leader(t, net.central_node().unwrap(), 0.0),
            Clusters::greedy(t, 0.0),
        ] {
            let mut e = Engine::new(
                EngineParams::chorus(0.0).unwrap(),
                c.star_topology(t),
                c.roles(),
                &SeedTree::new(10),
            )
            .unwrap();
            for _ in 0..30 {
                e.step();
            }
            for (i, l) in e.layers().iter().enumerate() {
                let want = match c.leader_of[i] {
                    Some(x) if x as usize == i => Some(0),
                    Some(_) => Some(1),
                    None => None,
                };
                assert_eq!(*l, want, "node {i}");
            }
            for (p, ch) in e.listens_to() {
                assert_eq!(c.leader_of[ch as usize], Some(p));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        /// On small-cell networks: every node hears its greedy leader at ≥ θ (or is one), no
        /// leader follows another, and no leader it hears is stronger; the single leader's
        /// coverage is exactly the set hearing it.
        #[test]
        fn cluster_rules_hold_on_random_networks(seed in any::<u64>(), theta in -5.0f64..10.0) {
            let spec = NetworkSpec::small_cells(100.0, 900.0, 900.0);
            let net = spec.build(&SeedTree::new(seed)).unwrap();
            let t = &net.topology;
            let min = db_to_lin(theta);
            let c = Clusters::greedy(t, theta);
            prop_assert_eq!(c.coverage(), 1.0);
            for (i, l) in c.leader_of.iter().enumerate() {
                let l = l.unwrap() as usize;
                if l == i {
                    prop_assert!(c.leaders.contains(&(i as u32)));
                    continue;
                }
                prop_assert!(!c.leaders.contains(&(i as u32)));
                let snr = t.audible[i].iter().find(|a| a.from as usize == l).unwrap().snr;
                prop_assert!(snr >= min);
                for a in &t.audible[i] {
                    if c.leaders.contains(&a.from) && a.snr >= min {
                        prop_assert!(a.snr <= snr);
                    }
                }
            }
            let root = net.central_node().unwrap();
            let s = Clusters::single_leader(t, root, theta);
            for (i, l) in s.leader_of.iter().enumerate() {
                let hears = t.audible[i].iter().any(|a| a.from as usize == root && a.snr >= min);
                prop_assert_eq!(l.is_some(), i == root || hears);
            }
        }
    }
}

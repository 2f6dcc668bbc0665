//! Beacon rounds for pairwise synchronization: which APs beacon together, and where each AP's
//! two identical sequences go (DistSync, H. V. Balan, PhD thesis, USC 2013, §4.2–4.3 and
//! Fig. 4.4; notes/003 §3.3, §3.4, §3.8).
//!
//! # Rounds by graph colouring
//!
//! Every AP beacons so that its neighbours can measure their CFO (and timing) relative to it;
//! ideally each beacon is received without interference. The thesis notes that covering every
//! link in the fewest slots is a classic ad hoc scheduling problem, solvable centrally over the
//! wired control plane by **colouring the interference graph**, and that with a small chromatic
//! number the whole estimation fits in one packet time, < 1 ms (notes/003 §3.3). Here:
//!
//! * [`InterferenceGraph`]: nodes = APs, an edge = two APs that must not beacon at the same time.
//!   [`InterferenceGraph::from_hears`] links APs that hear each other; that forbids a node to
//!   beacon while a neighbour does (half duplex) but lets a common neighbour of two
//!   simultaneous beacons receive both superposed. [`InterferenceGraph::two_hop`] also links
//!   APs with a common neighbour, so that every neighbour receives every beacon alone (distance-2
//!   colouring); which one to colour is the caller's choice.
//! * [`colour`]: a proper colouring by DSatur; [`rounds`]: the nodes of each colour. Nodes of one
//!   round may beacon simultaneously; no two neighbours share a round.
//!
//! # Interleaved sequence pairs
//!
//! The CFO estimator correlates two copies of a sequence D samples apart; its variance falls as
//! 1/D² and its unambiguous range 1/(D·T_s) shrinks ([`crate::estimation::cfo`]). Fig. 4.4
//! interleaves the beacons of different APs, A1 B1 C1 … A2 B2 C2 …, so each AP's two copies are
//! separated by the others' at no extra airtime. With T turns, sequences of L samples and a guard
//! of g samples after each, turn t sends its first copy at t·(L+g) and its second at (T+t)·(L+g),
//! so every node gets the same spacing **D = T·(L+g)** ([`pair_spacing_samples`]) and the period
//! lasts 2·T·(L+g) samples ([`beacon_period_samples`]).
//!
//! * [`interleave`]: the listed nodes take one turn each (T = number of nodes), exactly Fig. 4.4.
//!   Use it for nodes that must not overlap, e.g. APs that all hear each other.
//! * [`interleave_rounds`]: the rounds take turns (T = number of rounds = colours) and all nodes
//!   of a round send together: the sync slot of notes/003 §3.8, as long as the colouring's
//!   rounds, with D the same for all APs. On a clique both coincide.
//!
//! The thesis' prototype used a single beacon source, so this protocol is a reconstruction
//! (notes/003 §8 item 9).

use std::collections::BTreeSet;

/// An adjacency list that is not a simple undirected graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A neighbour index is not a node.
    #[error("node {node} lists neighbour {neighbour}, but there are only {n_nodes} nodes")]
    NeighbourOutOfRange {
        /// The listing node.
        node: usize,
        /// The bad neighbour index.
        neighbour: usize,
        /// The number of nodes.
        n_nodes: usize,
    },
    /// A node lists itself.
    #[error("node {node} lists itself as a neighbour")]
    SelfLoop {
        /// The node.
        node: usize,
    },
    /// `a` lists `b` but `b` does not list `a`.
    #[error("node {a} lists {b} as a neighbour but {b} does not list {a}")]
    Asymmetric {
        /// The listing node.
        a: usize,
        /// The node that does not list it back.
        b: usize,
    },
}

/// An undirected simple graph over nodes 0..N: an edge joins two APs that must not beacon in the
/// same round. Neighbour lists are sorted and free of duplicates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterferenceGraph {
    adjacency: Vec<Vec<usize>>,
}

impl InterferenceGraph {
    /// From an adjacency list (`adjacency[i]` = neighbours of node i, N = its length). The list
    /// must be symmetric, in range and free of self-loops; duplicates are merged.
    ///
    /// # Errors
    /// [`GraphError`] naming the first offending entry.
    pub fn from_adjacency(mut adjacency: Vec<Vec<usize>>) -> Result<Self, GraphError> {
        let n_nodes = adjacency.len();
        for (node, list) in adjacency.iter_mut().enumerate() {
            for &neighbour in list.iter() {
                if neighbour >= n_nodes {
                    return Err(GraphError::NeighbourOutOfRange {
                        node,
                        neighbour,
                        n_nodes,
                    });
                }
                if neighbour == node {
                    return Err(GraphError::SelfLoop { node });
                }
            }
            list.sort_unstable();
            list.dedup();
        }
        for a in 0..n_nodes {
            for &b in &adjacency[a] {
                if adjacency[b].binary_search(&a).is_err() {
                    return Err(GraphError::Asymmetric { a, b });
                }
            }
        }
        Ok(InterferenceGraph { adjacency })
    }

    /// From an edge list over `n_nodes` nodes; each (a, b) links both ways, duplicates merge.
    ///
    /// # Errors
    /// [`GraphError::NeighbourOutOfRange`] or [`GraphError::SelfLoop`].
    pub fn from_edges(n_nodes: usize, edges: &[(usize, usize)]) -> Result<Self, GraphError> {
        let mut adjacency = vec![Vec::new(); n_nodes];
        for &(a, b) in edges {
            let bad = if a >= n_nodes { (b, a) } else { (a, b) };
            if bad.1 >= n_nodes {
                return Err(GraphError::NeighbourOutOfRange {
                    node: bad.0,
                    neighbour: bad.1,
                    n_nodes,
                });
            }
            if a == b {
                return Err(GraphError::SelfLoop { node: a });
            }
            adjacency[a].push(b);
            adjacency[b].push(a);
        }
        Self::from_adjacency(adjacency)
    }

    /// Links every pair of the `n_nodes` nodes for which `hears(a, b)` (node a receives node b's
    /// beacon, e.g. SNR above a threshold). The predicate should be symmetric; it is evaluated in
    /// both orders and an edge is made if either holds (the conservative closure).
    pub fn from_hears(n_nodes: usize, mut hears: impl FnMut(usize, usize) -> bool) -> Self {
        let mut adjacency = vec![Vec::new(); n_nodes];
        for a in 0..n_nodes {
            for b in a + 1..n_nodes {
                if hears(a, b) || hears(b, a) {
                    adjacency[a].push(b);
                    adjacency[b].push(a);
                }
            }
        }
        InterferenceGraph { adjacency }
    }

    /// The distance-2 graph: a and b are linked if they are adjacent here or share a neighbour.
    /// Colouring it gives rounds in which every node hears at most one beacon at a time.
    pub fn two_hop(&self) -> Self {
        let adjacency = (0..self.n_nodes())
            .map(|a| {
                let mut set = BTreeSet::new();
                for &b in &self.adjacency[a] {
                    set.insert(b);
                    set.extend(self.adjacency[b].iter().copied().filter(|&c| c != a));
                }
                set.into_iter().collect()
            })
            .collect();
        InterferenceGraph { adjacency }
    }

    /// N.
    pub fn n_nodes(&self) -> usize {
        self.adjacency.len()
    }

    /// The sorted neighbours of `node`.
    ///
    /// # Panics
    /// If `node >= N`.
    pub fn neighbours(&self, node: usize) -> &[usize] {
        &self.adjacency[node]
    }

    /// The number of neighbours of `node`.
    pub fn degree(&self, node: usize) -> usize {
        self.adjacency[node].len()
    }

    /// Whether a and b are linked.
    pub fn are_adjacent(&self, a: usize, b: usize) -> bool {
        self.adjacency[a].binary_search(&b).is_ok()
    }

    /// The edges (a, b) with a < b, in increasing order.
    pub fn edges(&self) -> Vec<(usize, usize)> {
        (0..self.n_nodes())
            .flat_map(|a| {
                self.adjacency[a]
                    .iter()
                    .filter(move |&&b| b > a)
                    .map(move |&b| (a, b))
            })
            .collect()
    }
}

/// A proper vertex colouring by DSatur (Brélaz, "New methods to color the vertices of a graph",
/// CACM 1979): colours are 0..C, `colours[i]` is node i's, and no edge joins two nodes of one
/// colour. The number of colours C is the number of beacon rounds.
///
/// Repeatedly colour the uncoloured node with the most distinct colours among its neighbours
/// (saturation), ties broken by the most uncoloured neighbours, then the lowest index
/// (deterministic), with the smallest colour no neighbour uses.
///
/// Why DSatur: minimum colouring is NP-hard, and C sets the length of the sync slot, so a good
/// heuristic matters more than speed at AP-network sizes (O(N²) here). DSatur is exact on
/// bipartite graphs (paths, even cycles, trees, grids — common AP layouts), on cycles and
/// wheels, and on random graphs usually uses fewer colours than plain greedy in index order, whose
/// result depends on the arbitrary node numbering.
pub fn colour(graph: &InterferenceGraph) -> Vec<usize> {
    let n = graph.n_nodes();
    let mut colours = vec![usize::MAX; n];
    let mut saturation: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut uncoloured_degree: Vec<usize> = (0..n).map(|i| graph.degree(i)).collect();
    for _ in 0..n {
        let next = (0..n)
            .filter(|&i| colours[i] == usize::MAX)
            .max_by(|&i, &j| {
                (saturation[i].len(), uncoloured_degree[i])
                    .cmp(&(saturation[j].len(), uncoloured_degree[j]))
                    .then(j.cmp(&i)) // lower index wins ties
            })
            .expect("an uncoloured node remains");
        let used = &saturation[next];
        let c = (0..).find(|c| !used.contains(c)).expect("a free colour");
        colours[next] = c;
        for &nb in graph.neighbours(next) {
            saturation[nb].insert(c);
            uncoloured_degree[nb] -= 1;
        }
    }
    colours
}

/// Whether no edge joins two nodes of the same colour.
///
/// # Panics
/// If `colours.len() != graph.n_nodes()`.
#[track_caller]
pub fn is_proper_colouring(graph: &InterferenceGraph, colours: &[usize]) -> bool {
    assert_eq!(
        colours.len(),
        graph.n_nodes(),
        "is_proper_colouring: one colour per node"
    );
    graph.edges().iter().all(|&(a, b)| colours[a] != colours[b])
}

/// The beacon rounds of a colouring: `rounds[c]` = the nodes of colour c, ascending; there are
/// max(colour)+1 rounds (none for no nodes). A colour that no node uses gives an empty round
/// (never the case for [`colour`]'s output).
pub fn rounds(colours: &[usize]) -> Vec<Vec<usize>> {
    let n_rounds = colours.iter().max().map_or(0, |&c| c + 1);
    let mut rounds = vec![Vec::new(); n_rounds];
    for (node, &c) in colours.iter().enumerate() {
        rounds[c].push(node);
    }
    rounds
}

/// Where one node's two identical beacon sequences start, in samples from the start of the
/// beacon period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BeaconSlot {
    /// The beaconing node.
    pub node: usize,
    /// First sample of the first copy.
    pub first_start: usize,
    /// First sample of the second copy; `second_start − first_start` is the correlation spacing D
    /// ([`pair_spacing_samples`]).
    pub second_start: usize,
}

/// The spacing D = T·(L + g) samples between a node's two copies when T turns of L-sample
/// sequences, each followed by a g-sample guard, are interleaved (module doc).
pub fn pair_spacing_samples(n_turns: usize, seq_len: usize, gap: usize) -> usize {
    n_turns * (seq_len + gap)
}

/// The length 2·T·(L + g) samples of an interleaved beacon period (including the last guard).
pub fn beacon_period_samples(n_turns: usize, seq_len: usize, gap: usize) -> usize {
    2 * pair_spacing_samples(n_turns, seq_len, gap)
}

/// Interleaves the nodes of `round` one at a time, in the given order, as A1 B1 C1 … A2 B2 C2 …
/// (thesis Fig. 4.4): node t of T starts its first copy at t·(L+g) and its second at
/// (T+t)·(L+g), so every node's spacing is D = T·(L+g) and no two sequences overlap. Slots are
/// returned in the order of `round`.
///
/// # Panics
/// If `seq_len == 0` or a node is listed twice.
#[track_caller]
pub fn interleave(round: &[usize], seq_len: usize, gap: usize) -> Vec<BeaconSlot> {
    let turns: Vec<Vec<usize>> = round.iter().map(|&node| vec![node]).collect();
    interleave_rounds(&turns, seq_len, gap)
}

/// Interleaves whole rounds: every node of round t starts its first copy at t·(L+g) and its
/// second at (T+t)·(L+g), T = `rounds.len()`, so nodes of one round send simultaneously and every
/// node's spacing is D = T·(L+g). Slots are returned round by round, in each round's order.
///
/// # Panics
/// If `seq_len == 0` or a node appears more than once.
#[track_caller]
pub fn interleave_rounds(rounds: &[Vec<usize>], seq_len: usize, gap: usize) -> Vec<BeaconSlot> {
    assert!(seq_len > 0, "interleave: seq_len must be > 0");
    let step = seq_len + gap;
    let spacing = pair_spacing_samples(rounds.len(), seq_len, gap);
    let mut seen = BTreeSet::new();
    let mut slots = Vec::new();
    for (t, round) in rounds.iter().enumerate() {
        for &node in round {
            assert!(seen.insert(node), "interleave: node {node} listed twice");
            slots.push(BeaconSlot {
                node,
                first_start: t * step,
                second_start: t * step + spacing,
            });
        }
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SeedTree;
    use proptest::prelude::*;
    use rand::Rng;

    fn complete(n: usize) -> InterferenceGraph {
        InterferenceGraph::from_hears(n, |a, b| a != b)
    }

    fn cycle(n: usize) -> InterferenceGraph {
        let edges: Vec<_> = (0..n).map(|i| (i, (i + 1) % n)).collect();
        InterferenceGraph::from_edges(n, &edges).unwrap()
    }

    fn n_colours(c: &[usize]) -> usize {
        c.iter().max().map_or(0, |m| m + 1)
    }

    /// Random graphs as (n, edge list) with the given edge probability range.
    fn random_graph() -> impl Strategy<Value = InterferenceGraph> {
        (1usize..30, 0.0f64..1.0).prop_flat_map(|(n, p)| {
            proptest::collection::vec(proptest::bool::weighted(p.clamp(0.01, 0.99)), n * n)
                .prop_map(move |bits| {
                    InterferenceGraph::from_hears(n, |a, b| a < b && bits[a * n + b])
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// DSatur's colouring is proper and uses contiguous colours 0..C, C ≤ Δ + 1.
        #[test]
        fn colouring_is_proper(g in random_graph()) {
            let c = colour(&g);
            prop_assert!(is_proper_colouring(&g, &c));
            for &(a, b) in &g.edges() {
                prop_assert_ne!(c[a], c[b]);
            }
            let max_degree = (0..g.n_nodes()).map(|i| g.degree(i)).max().unwrap_or(0);
            prop_assert!(n_colours(&c) <= max_degree + 1);
            let r = rounds(&c);
            prop_assert!(r.iter().all(|round| !round.is_empty()));
            prop_assert_eq!(r.iter().map(Vec::len).sum::<usize>(), g.n_nodes());
            // no two neighbours share a round
            for round in &r {
                for (i, &a) in round.iter().enumerate() {
                    for &b in &round[i + 1..] {
                        prop_assert!(!g.are_adjacent(a, b));
                    }
                }
            }
        }

        /// DSatur is exact on bipartite graphs: random bipartite graphs need at most 2 colours.
        #[test]
        fn bipartite_needs_two((n, side, bits) in (2usize..30).prop_flat_map(|n| (
            Just(n),
            proptest::collection::vec(any::<bool>(), n),
            proptest::collection::vec(any::<bool>(), n * n),
        ))) {
            let g = InterferenceGraph::from_hears(n, |a, b| side[a] != side[b] && bits[a * n + b]);
            let c = colour(&g);
            prop_assert!(is_proper_colouring(&g, &c));
            prop_assert!(n_colours(&c) <= 2);
            if !g.edges().is_empty() {
                prop_assert_eq!(n_colours(&c), 2);
            }
        }

        /// The two-hop graph contains the graph, and a colouring of it separates every pair with
        /// a common neighbour.
        #[test]
        fn two_hop_separates_common_neighbours(g in random_graph()) {
            let g2 = g.two_hop();
            for &(a, b) in &g.edges() {
                prop_assert!(g2.are_adjacent(a, b));
            }
            let c = colour(&g2);
            for v in 0..g.n_nodes() {
                let nb = g.neighbours(v);
                for (i, &a) in nb.iter().enumerate() {
                    for &b in &nb[i + 1..] {
                        prop_assert_ne!(c[a], c[b]);
                    }
                    prop_assert_ne!(c[a], c[v]);
                }
            }
        }
    }

    #[test]
    fn complete_graph_needs_n_colours() {
        for n in 1..12 {
            let c = colour(&complete(n));
            assert_eq!(n_colours(&c), n);
            let mut sorted = c.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn paths_and_even_cycles_need_two_odd_cycles_three() {
        for n in 2..20 {
            let path: Vec<_> = (0..n - 1).map(|i| (i, i + 1)).collect();
            let g = InterferenceGraph::from_edges(n, &path).unwrap();
            assert_eq!(n_colours(&colour(&g)), 2, "path of {n}");
        }
        for n in 3..20 {
            let c = colour(&cycle(n));
            assert!(is_proper_colouring(&cycle(n), &c));
            assert_eq!(n_colours(&c), if n % 2 == 0 { 2 } else { 3 }, "cycle {n}");
        }
        // a 5×6 grid (a typical AP layout) is bipartite
        let (w, h) = (5, 6);
        let g = InterferenceGraph::from_hears(w * h, |a, b| {
            let (ax, ay, bx, by) = (a % w, a / w, b % w, b / w);
            ax.abs_diff(bx) + ay.abs_diff(by) == 1
        });
        assert_eq!(n_colours(&colour(&g)), 2);
    }

    #[test]
    fn empty_and_edgeless_graphs() {
        let g = InterferenceGraph::from_adjacency(vec![]).unwrap();
        assert!(colour(&g).is_empty());
        assert!(rounds(&[]).is_empty());
        let g = InterferenceGraph::from_edges(4, &[]).unwrap();
        assert_eq!(colour(&g), vec![0; 4]);
        assert_eq!(rounds(&colour(&g)), vec![vec![0, 1, 2, 3]]);
    }

    #[test]
    fn dsatur_beats_index_order_greedy_on_crown() {
        // The crown graph (K_{4,4} minus a perfect matching) numbered a0 b0 a1 b1 …: greedy in
        // index order needs 4 colours, DSatur finds the bipartition.
        let n = 8;
        let g = InterferenceGraph::from_hears(n, |x, y| x % 2 != y % 2 && x / 2 != y / 2);
        let mut greedy = vec![usize::MAX; n];
        for v in 0..n {
            greedy[v] = (0..)
                .find(|c| g.neighbours(v).iter().all(|&u| greedy[u] != *c))
                .unwrap();
        }
        assert_eq!(n_colours(&greedy), 4);
        assert_eq!(n_colours(&colour(&g)), 2);
    }

    #[test]
    fn random_geometric_layout_is_properly_coloured() {
        // APs uniform in a 200 m square, hearing each other within 60 m.
        let mut rng = SeedTree::new(9).child("beacons").rng();
        let pos: Vec<(f64, f64)> = (0..60)
            .map(|_| (rng.random_range(0.0..200.0), rng.random_range(0.0..200.0)))
            .collect();
        let g = InterferenceGraph::from_hears(pos.len(), |a, b| {
            let (dx, dy) = (pos[a].0 - pos[b].0, pos[a].1 - pos[b].1);
            (dx * dx + dy * dy).sqrt() < 60.0
        });
        for graph in [g.clone(), g.two_hop()] {
            let c = colour(&graph);
            assert!(is_proper_colouring(&graph, &c));
        }
    }

    #[test]
    fn adjacency_validation() {
        assert_eq!(
            InterferenceGraph::from_adjacency(vec![vec![1], vec![]]),
            Err(GraphError::Asymmetric { a: 0, b: 1 })
        );
        assert_eq!(
            InterferenceGraph::from_adjacency(vec![vec![0]]),
            Err(GraphError::SelfLoop { node: 0 })
        );
        assert_eq!(
            InterferenceGraph::from_adjacency(vec![vec![2], vec![]]),
            Err(GraphError::NeighbourOutOfRange {
                node: 0,
                neighbour: 2,
                n_nodes: 2
            })
        );
        assert_eq!(
            InterferenceGraph::from_edges(2, &[(5, 0)]),
            Err(GraphError::NeighbourOutOfRange {
                node: 0,
                neighbour: 5,
                n_nodes: 2
            })
        );
        let g = InterferenceGraph::from_adjacency(vec![vec![2, 1, 1], vec![0], vec![0]]).unwrap();
        assert_eq!(g.neighbours(0), &[1, 2]);
        assert_eq!(g.edges(), vec![(0, 1), (0, 2)]);
        assert_eq!(
            g,
            InterferenceGraph::from_edges(3, &[(1, 0), (0, 2), (0, 1)]).unwrap()
        );
    }

    /// All sequences of a schedule as half-open sample intervals [start, start + L).
    fn intervals(slots: &[BeaconSlot], seq_len: usize) -> Vec<(usize, usize, usize)> {
        let mut v: Vec<_> = slots
            .iter()
            .flat_map(|s| {
                [
                    (s.first_start, s.first_start + seq_len, s.node),
                    (s.second_start, s.second_start + seq_len, s.node),
                ]
            })
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn interleaving_gives_equal_spacing_and_no_overlap() {
        for (n, seq_len, gap) in [(1, 160, 0), (3, 160, 16), (7, 64, 0), (5, 80, 40)] {
            let round: Vec<usize> = (0..n).map(|i| 10 + 3 * i).collect();
            let slots = interleave(&round, seq_len, gap);
            let d = pair_spacing_samples(n, seq_len, gap);
            assert_eq!(d, n * (seq_len + gap));
            assert_eq!(slots.len(), n);
            for (t, s) in slots.iter().enumerate() {
                assert_eq!(s.node, round[t]);
                assert_eq!(s.second_start - s.first_start, d);
                assert_eq!(s.first_start, t * (seq_len + gap));
            }
            let iv = intervals(&slots, seq_len);
            for w in iv.windows(2) {
                assert!(w[0].1 <= w[1].0, "overlap {w:?}");
            }
            // order A1 B1 C1 … A2 B2 C2 …
            let order: Vec<usize> = iv.iter().map(|x| x.2).collect();
            assert_eq!(order, [round.clone(), round.clone()].concat());
            assert!(iv.last().unwrap().1 + gap <= beacon_period_samples(n, seq_len, gap));
        }
        assert!(interleave(&[], 10, 0).is_empty());
    }

    #[test]
    fn interleaved_rounds_share_turns() {
        let g = cycle(6);
        let r = rounds(&colour(&g));
        assert_eq!(r.len(), 2);
        let (seq_len, gap) = (160, 16);
        let slots = interleave_rounds(&r, seq_len, gap);
        assert_eq!(slots.len(), 6);
        let d = pair_spacing_samples(2, seq_len, gap);
        for s in &slots {
            assert_eq!(s.second_start - s.first_start, d);
        }
        // nodes of one round start together; sequences of neighbours never overlap
        for a in &slots {
            for b in &slots {
                let same_round = r.iter().any(|x| x.contains(&a.node) && x.contains(&b.node));
                assert_eq!(a.first_start == b.first_start, same_round);
                if g.are_adjacent(a.node, b.node) {
                    for sa in [a.first_start, a.second_start] {
                        for sb in [b.first_start, b.second_start] {
                            assert!(sa + seq_len <= sb || sb + seq_len <= sa);
                        }
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "listed twice")]
    fn duplicate_node_panics() {
        let _ = interleave(&[1, 2, 1], 10, 0);
    }
}

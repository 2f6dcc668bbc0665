//! Combining pairwise offset measurements into one offset per node by weighted least squares:
//! DistSync's "constrained least squares" (H. V. Balan, PhD thesis, USC 2013, §4.2–4.3;
//! notes/003 §3.4, §3.8 and §8 item 9).
//!
//! # Model
//!
//! N nodes (APs) carry unknown offsets x (length N) of one kind: CFO in Hz, timing in s, …,
//! relative to an arbitrary common origin. E measurements are taken between pairs of neighbours
//! (node b listening to node a's beacon):
//!
//! ```text
//! m_e = x_a − x_b + n_e,   n_e ~ N(0, σ_e²) independent,   e = 1..E
//! ```
//!
//! Only differences are observed, so x is determined up to a common shift; a gauge constraint
//! picks one solution. The weighted least-squares estimate minimizes
//!
//! ```text
//! J(x) = Σ_e (x_a − x_b − m_e)² / σ_e²
//! ```
//!
//! whose normal equations are **L x = b**, with L (N×N) the graph Laplacian weighted by
//! w_e = 1/σ_e² — L = Σ_e w_e (u_a − u_b)(u_a − u_b)ᵀ — and b = Σ_e w_e m_e (u_a − u_b).
//!
//! * [`combine`] fixes **x_ref = 0**: delete row and column `ref`, then solve the reduced system
//!   L_r x_r = b_r ((N−1)×(N−1), positive definite exactly when every node has a measurement path
//!   to `ref`) by Cholesky. The estimate's covariance is L_r⁻¹, the inverse Fisher information
//!   of the reduced model, so for Gaussian noise this estimator is efficient: its variances
//!   *are* the Cramér–Rao bound.
//! * [`combine_zero_mean`] fixes **Σ_a x_a = 0**: x = L⁺ b (the minimum-norm solution), computed
//!   as the reference solution minus its mean. Its covariance is P C P, P = I − 11ᵀ/N, C the
//!   reference covariance padded with a zero row and column, which equals L⁺ (the constrained
//!   CRB of Stoica & Ng for the same constraint).
//!
//! Both gauges give the same estimate of every difference x_a − x_b; they differ in what the
//! offsets are relative to.
//!
//! # Which gauge
//!
//! * **Reference** ([`combine`]) when one node is the time/frequency master that is not retuned
//!   (an anchor, the AP next to the server, a GPS-disciplined unit), and every correction is
//!   applied to the others. Variances then grow with a node's graph distance from the reference:
//!   they are the error *relative to the reference*.
//! * **Zero mean** ([`combine_zero_mean`]) when no node is special. The corrections −x̂ sum to
//!   zero, so the network keeps its average frequency (for independent, zero-mean oscillator
//!   errors the average is a better estimate of nominal than any single oscillator, and the total
//!   retuning is smallest), and the variances are relative to the network mean: smaller and
//!   more uniform than those of a reference far from the graph's centre.
//!
//! What a client sees depends only on differences between the APs in its range (notes/003
//! §3.1), which both gauges estimate identically.
//!
//! # Provenance and limits
//!
//! The thesis says only that the controller "solves a constrained least squares optimization
//! problem in order to combine them into a uniform view" (quoted in notes/003 §3.4), optimal if
//! the measurements are linear in the offsets, reasonable for small oscillator errors; the
//! constraint, weights and the anchor-first ordering are in a reference the thesis cites
//! (\[RBP+\], unavailable). This module is the natural formulation reconstructed in notes/003
//! §3.4 (marked \[R\] there): inverse-variance weights and either gauge.
//! Measurements must already be unwrapped (fine CFO placed in its bin by the coarse one,
//! notes/003 §3.4). The anchor-first ordering matters for *taking* measurements (coarse sync makes
//! the regular nodes' beacons decodable); a joint solve over all measurements needs no ordering.
//!
//! The solve is dense: O(N³) time and O(N²) memory (variances need the diagonal of L_r⁻¹),
//! comfortable up to a few thousand nodes; a larger network would switch to a sparse Cholesky.

use faer::linalg::solvers::{DenseSolveCore, Solve};
use faer::{Mat, Side};
use std::collections::VecDeque;

/// One pairwise measurement of x_a − x_b (CFO in Hz, timing in s, …) and its noise variance (in
/// the value's unit squared).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairMeasurement {
    /// First node (the one whose offset enters with +).
    pub a: usize,
    /// Second node (enters with −); must differ from `a`.
    pub b: usize,
    /// The measured x_a − x_b.
    pub value: f64,
    /// Noise variance of `value`, finite and > 0; the measurement's weight is 1/variance.
    pub variance: f64,
}

impl PairMeasurement {
    /// A measurement of x_a − x_b = `value` with noise variance `variance`.
    pub fn new(a: usize, b: usize, value: f64, variance: f64) -> Self {
        PairMeasurement {
            a,
            b,
            value,
            variance,
        }
    }
}

/// Per-node offsets combined from pairwise measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct Combined {
    /// x̂ (length N), in the measurements' unit; x̂_ref = 0 for [`combine`], Σ x̂ = 0 for
    /// [`combine_zero_mean`].
    pub offsets: Vec<f64>,
    /// Var(x̂_a) (length N, unit squared): the diagonal of L_r⁻¹ (0 at the reference) or of L⁺.
    /// For Gaussian noise this equals the Cramér–Rao bound; it assumes the given variances are
    /// right (see `chi_square` for a check).
    pub variances: Vec<f64>,
    /// √(mean_e r_e²) with r_e = x̂_a − x̂_b − m_e (unweighted, in the measurements' unit); 0 when
    /// the graph is a tree (no redundancy) or there are no measurements.
    pub residual_rms: f64,
    /// Σ_e r_e²/σ_e²: χ² with `degrees_of_freedom` degrees of freedom when the noise is Gaussian
    /// with the stated variances, so χ²/dof ≫ 1 flags an outlier or understated variances.
    pub chi_square: f64,
    /// E − (N − 1): the number of redundant measurements.
    pub degrees_of_freedom: usize,
}

/// What is wrong with one measurement.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum MeasurementDefect {
    /// An endpoint is not a node.
    #[error("node index {node} is out of range (n_nodes = {n_nodes})")]
    NodeOutOfRange {
        /// The offending endpoint.
        node: usize,
        /// The number of nodes.
        n_nodes: usize,
    },
    /// Both endpoints are the same node.
    #[error("both ends are node {node}")]
    SelfPair {
        /// The node.
        node: usize,
    },
    /// The variance is zero, negative, NaN or infinite.
    #[error("variance {variance} must be finite and > 0")]
    BadVariance {
        /// The rejected variance.
        variance: f64,
    },
    /// The value is NaN or infinite.
    #[error("value {value} is not finite")]
    NonFiniteValue {
        /// The rejected value.
        value: f64,
    },
}

/// Failures of [`combine`] and [`combine_zero_mean`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SyncError {
    /// Some nodes have no measurement path to the reference (node 0 for
    /// [`combine_zero_mean`]), so their offsets relative to it are unobservable.
    #[error(
        "measurement graph is disconnected: nodes {unreachable:?} have no measurement path to node {reference}"
    )]
    Disconnected {
        /// The node the others must be connected to.
        reference: usize,
        /// The nodes without a path to it, ascending.
        unreachable: Vec<usize>,
    },
    /// A measurement names a bad node, pairs a node with itself, or has a non-finite value or a
    /// non-positive/non-finite variance.
    #[error("measurement {index} is invalid: {reason}")]
    InvalidMeasurement {
        /// Its position in the slice.
        index: usize,
        /// What is wrong with it.
        reason: MeasurementDefect,
    },
    /// The Cholesky factorization of the reduced Laplacian failed although the graph is
    /// connected: the weights span too many orders of magnitude for double precision.
    #[error(
        "reduced Laplacian ({size}×{size}) is numerically not positive definite: the measurement variances span too many orders of magnitude"
    )]
    IllConditioned {
        /// N − 1.
        size: usize,
    },
}

/// Weighted least-squares offsets with x_ref = 0 (module doc: model, equations, when to use).
///
/// `measurements` may contain several measurements of one pair, in either orientation; each adds
/// its weight. Returns [`SyncError::InvalidMeasurement`] for the first bad measurement and
/// [`SyncError::Disconnected`] naming every node without a measurement path to `reference`.
///
/// # Panics
/// If `reference >= n_nodes` (which includes `n_nodes == 0`).
#[track_caller]
pub fn combine(
    n_nodes: usize,
    measurements: &[PairMeasurement],
    reference: usize,
) -> Result<Combined, SyncError> {
    assert!(
        reference < n_nodes,
        "combine: reference {reference} out of range for {n_nodes} nodes"
    );
    validate(n_nodes, measurements)?;
    check_connected(n_nodes, measurements, reference)?;
    let (offsets, cov) = reference_solution(n_nodes, measurements, reference)?;
    let variances = (0..n_nodes).map(|i| cov[(i, i)]).collect();
    Ok(finish(n_nodes, measurements, offsets, variances))
}

/// Weighted least-squares offsets with Σ_a x_a = 0, i.e. x = L⁺ b (module doc: when to use).
///
/// Same input rules as [`combine`]; a disconnected graph is reported relative to node 0.
///
/// # Panics
/// If `n_nodes == 0`.
#[track_caller]
pub fn combine_zero_mean(
    n_nodes: usize,
    measurements: &[PairMeasurement],
) -> Result<Combined, SyncError> {
    assert!(n_nodes > 0, "combine_zero_mean: need at least one node");
    validate(n_nodes, measurements)?;
    check_connected(n_nodes, measurements, 0)?;
    let (mut offsets, cov) = reference_solution(n_nodes, measurements, 0)?;
    let n = n_nodes as f64;
    let mean = offsets.iter().sum::<f64>() / n;
    offsets.iter_mut().for_each(|x| *x -= mean);
    // diag(P C P) with P = I − 11ᵀ/N: C_ii − 2·rowmean_i + grand mean.
    let row_mean: Vec<f64> = (0..n_nodes)
        .map(|i| (0..n_nodes).map(|j| cov[(i, j)]).sum::<f64>() / n)
        .collect();
    let grand_mean = row_mean.iter().sum::<f64>() / n;
    let variances = (0..n_nodes)
        .map(|i| (cov[(i, i)] - 2.0 * row_mean[i] + grand_mean).max(0.0))
        .collect();
    Ok(finish(n_nodes, measurements, offsets, variances))
}

fn validate(n_nodes: usize, measurements: &[PairMeasurement]) -> Result<(), SyncError> {
    for (index, m) in measurements.iter().enumerate() {
        let defect = if m.a >= n_nodes {
            Some(MeasurementDefect::NodeOutOfRange { node: m.a, n_nodes })
        } else if m.b >= n_nodes {
            Some(MeasurementDefect::NodeOutOfRange { node: m.b, n_nodes })
        } else if m.a == m.b {
            Some(MeasurementDefect::SelfPair { node: m.a })
        } else if !(m.variance.is_finite() && m.variance > 0.0) {
            Some(MeasurementDefect::BadVariance {
                variance: m.variance,
            })
        } else if !m.value.is_finite() {
            Some(MeasurementDefect::NonFiniteValue { value: m.value })
        } else {
            None
        };
        if let Some(reason) = defect {
            return Err(SyncError::InvalidMeasurement { index, reason });
        }
    }
    Ok(())
}

/// Breadth-first search from `reference` over the measurement graph.
fn check_connected(
    n_nodes: usize,
    measurements: &[PairMeasurement],
    reference: usize,
) -> Result<(), SyncError> {
    let mut adjacency = vec![Vec::new(); n_nodes];
    for m in measurements {
        adjacency[m.a].push(m.b);
        adjacency[m.b].push(m.a);
    }
    let mut reached = vec![false; n_nodes];
    reached[reference] = true;
    let mut queue = VecDeque::from([reference]);
    while let Some(u) = queue.pop_front() {
        for &v in &adjacency[u] {
            if !reached[v] {
                reached[v] = true;
                queue.push_back(v);
            }
        }
    }
    let unreachable: Vec<usize> = (0..n_nodes).filter(|&i| !reached[i]).collect();
    if unreachable.is_empty() {
        Ok(())
    } else {
        Err(SyncError::Disconnected {
            reference,
            unreachable,
        })
    }
}

/// Solves L_r x_r = b_r for a validated, connected graph. Returns x (length N, x_ref = 0) and the
/// covariance L_r⁻¹ padded to N×N with a zero row and column at `reference`.
fn reference_solution(
    n_nodes: usize,
    measurements: &[PairMeasurement],
    reference: usize,
) -> Result<(Vec<f64>, Mat<f64>), SyncError> {
    let size = n_nodes - 1;
    if size == 0 {
        return Ok((vec![0.0], Mat::zeros(1, 1)));
    }
    // Reduced index: node i ↦ i (i < ref) or i − 1 (i > ref); the reference has none.
    let reduced = |i: usize| match i.cmp(&reference) {
        std::cmp::Ordering::Less => Some(i),
        std::cmp::Ordering::Equal => None,
        std::cmp::Ordering::Greater => Some(i - 1),
    };
    let mut l_r = Mat::<f64>::zeros(size, size);
    let mut b_r = Mat::<f64>::zeros(size, 1);
    for m in measurements {
        let w = 1.0 / m.variance;
        let (ra, rb) = (reduced(m.a), reduced(m.b));
        if let Some(i) = ra {
            l_r[(i, i)] += w;
            b_r[(i, 0)] += w * m.value;
        }
        if let Some(j) = rb {
            l_r[(j, j)] += w;
            b_r[(j, 0)] -= w * m.value;
        }
        if let (Some(i), Some(j)) = (ra, rb) {
            l_r[(i, j)] -= w;
            l_r[(j, i)] -= w;
        }
    }
    let llt = l_r
        .llt(Side::Lower)
        .map_err(|_| SyncError::IllConditioned { size })?;
    let mut x_r = llt.solve(&b_r);
    // One step of iterative refinement: cheap, and keeps noiseless recovery at rounding level
    // when the weights are spread.
    let correction = llt.solve(&b_r - &l_r * &x_r);
    x_r += &correction;
    let inv = llt.inverse();

    let full = |i: usize| reduced(i);
    let offsets = (0..n_nodes)
        .map(|i| full(i).map_or(0.0, |r| x_r[(r, 0)]))
        .collect();
    let cov = Mat::from_fn(n_nodes, n_nodes, |i, j| match (full(i), full(j)) {
        (Some(r), Some(c)) => inv[(r, c)],
        _ => 0.0,
    });
    Ok((offsets, cov))
}

fn finish(
    n_nodes: usize,
    measurements: &[PairMeasurement],
    offsets: Vec<f64>,
    variances: Vec<f64>,
) -> Combined {
    let (mut sum_sq, mut chi_square) = (0.0, 0.0);
    for m in measurements {
        let r = offsets[m.a] - offsets[m.b] - m.value;
        sum_sq += r * r;
        chi_square += r * r / m.variance;
    }
    let residual_rms = if measurements.is_empty() {
        0.0
    } else {
        (sum_sq / measurements.len() as f64).sqrt()
    };
    Combined {
        offsets,
        variances,
        residual_rms,
        chi_square,
        degrees_of_freedom: measurements.len() + 1 - n_nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SeedTree, SimRng};
    use proptest::prelude::*;
    use rand::Rng;
    use rand_distr::StandardNormal;

    /// A random connected graph: a random spanning tree (node i hangs from a uniform j < i) plus
    /// `extra` random chords, each edge randomly oriented, variances uniform in [0.5, 50].
    fn random_connected(n: usize, extra: usize, rng: &mut SimRng) -> Vec<(usize, usize, f64)> {
        let mut edges = Vec::new();
        let mut push = |a: usize, b: usize, rng: &mut SimRng| {
            let var = rng.random_range(0.5..50.0);
            if rng.random_bool(0.5) {
                edges.push((a, b, var));
            } else {
                edges.push((b, a, var));
            }
        };
        for i in 1..n {
            let j = rng.random_range(0..i);
            push(i, j, rng);
        }
        for _ in 0..extra {
            let a = rng.random_range(0..n);
            let b = (a + rng.random_range(1..n)) % n;
            push(a, b, rng);
        }
        edges
    }

    fn noiseless(edges: &[(usize, usize, f64)], x: &[f64]) -> Vec<PairMeasurement> {
        edges
            .iter()
            .map(|&(a, b, v)| PairMeasurement::new(a, b, x[a] - x[b], v))
            .collect()
    }

    fn max_abs_err(a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn noiseless_recovery_on_random_connected_graph() {
        let mut rng = SeedTree::new(1).child("pairwise-ls").rng();
        for (n, extra) in [(2, 0), (5, 3), (12, 20), (30, 40)] {
            let edges = random_connected(n, extra, &mut rng);
            let x: Vec<f64> = (0..n).map(|_| rng.random_range(-4e3..4e3)).collect();
            let meas = noiseless(&edges, &x);
            for reference in [0, n - 1] {
                let c = combine(n, &meas, reference).unwrap();
                let truth: Vec<f64> = x.iter().map(|v| v - x[reference]).collect();
                assert!(max_abs_err(&c.offsets, &truth) < 1e-9, "n = {n}");
                assert_eq!(c.offsets[reference], 0.0);
                assert_eq!(c.variances[reference], 0.0);
                assert!(c.residual_rms < 1e-9 && c.chi_square < 1e-12);
                assert_eq!(c.degrees_of_freedom, extra);
            }
            let z = combine_zero_mean(n, &meas).unwrap();
            let mean = x.iter().sum::<f64>() / n as f64;
            let truth: Vec<f64> = x.iter().map(|v| v - mean).collect();
            assert!(max_abs_err(&z.offsets, &truth) < 1e-9);
        }
    }

    /// On a tree there is no redundancy: each offset is the signed sum of the (noisy)
    /// measurements along its path from the reference, and its variance is the sum of their
    /// variances.
    #[test]
    fn tree_offsets_are_path_sums() {
        let mut rng = SeedTree::new(2).child("pairwise-ls").rng();
        let n = 15;
        let edges = random_connected(n, 0, &mut rng);
        let meas: Vec<PairMeasurement> = edges
            .iter()
            .map(|&(a, b, v)| PairMeasurement::new(a, b, rng.random_range(-100.0..100.0), v))
            .collect();
        let reference = 3;
        // Path sums by depth-first search from the reference.
        let mut path = vec![None::<(f64, f64)>; n];
        path[reference] = Some((0.0, 0.0));
        let mut stack = vec![reference];
        while let Some(u) = stack.pop() {
            let (xu, vu) = path[u].unwrap();
            for m in &meas {
                // m = x_a − x_b: from a to b subtract, from b to a add.
                let next = if m.a == u {
                    Some((m.b, xu - m.value))
                } else if m.b == u {
                    Some((m.a, xu + m.value))
                } else {
                    None
                };
                if let Some((v, xv)) = next {
                    if path[v].is_none() {
                        path[v] = Some((xv, vu + m.variance));
                        stack.push(v);
                    }
                }
            }
        }
        let c = combine(n, &meas, reference).unwrap();
        for (i, p) in path.iter().enumerate() {
            let (x, v) = p.unwrap();
            assert!((c.offsets[i] - x).abs() < 1e-9, "node {i}");
            assert!((c.variances[i] - v).abs() < 1e-9 * (1.0 + v), "node {i}");
        }
        assert!(c.residual_rms < 1e-9);
        assert_eq!(c.degrees_of_freedom, 0);
    }

    /// The empirical error variance over T independent noise draws matches `variances`. With
    /// the true offsets known, s² = mean(e²) is unbiased and, for Gaussian e, T·s²/σ² ~ χ²_T, so
    /// s²/σ² has standard deviation √(2/T) ≈ 0.010 for T = 20 000; we allow ±5% (≈ 5σ, and the
    /// seed is fixed). The same holds for the zero-mean gauge and for χ² (mean dof).
    #[test]
    fn monte_carlo_variances_match_crb() {
        let tree = SeedTree::new(3).child("pairwise-ls-mc");
        let mut rng = tree.child("graph").rng();
        let n = 7;
        let edges = random_connected(n, 6, &mut rng);
        let x: Vec<f64> = (0..n).map(|_| rng.random_range(-4e3..4e3)).collect();
        let reference = 2;
        let clean = noiseless(&edges, &x);
        let predicted = combine(n, &clean, reference).unwrap().variances;
        let predicted_zm = combine_zero_mean(n, &clean).unwrap().variances;
        let mean_x = x.iter().sum::<f64>() / n as f64;

        let trials = 20_000;
        let mut noise = tree.child("noise").rng();
        let (mut sq, mut sq_zm, mut err_sum) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let mut chi_sum = 0.0;
        for _ in 0..trials {
            let meas: Vec<PairMeasurement> = clean
                .iter()
                .map(|m| {
                    let z: f64 = noise.sample(StandardNormal);
                    PairMeasurement {
                        value: m.value + m.variance.sqrt() * z,
                        ..*m
                    }
                })
                .collect();
            let c = combine(n, &meas, reference).unwrap();
            let zm = combine_zero_mean(n, &meas).unwrap();
            chi_sum += c.chi_square;
            for i in 0..n {
                let e = c.offsets[i] - (x[i] - x[reference]);
                err_sum[i] += e;
                sq[i] += e * e;
                let e_zm = zm.offsets[i] - (x[i] - mean_x);
                sq_zm[i] += e_zm * e_zm;
            }
        }
        let t = trials as f64;
        for i in 0..n {
            if i == reference {
                assert_eq!(sq[i], 0.0);
            } else {
                let ratio = sq[i] / t / predicted[i];
                eprintln!("node {i}: reference gauge empirical/predicted variance = {ratio:.4}");
                assert!((ratio - 1.0).abs() < 0.05, "node {i}: ratio {ratio}");
                // unbiased: |mean error| < 5 standard errors
                assert!((err_sum[i] / t).abs() < 5.0 * (predicted[i] / t).sqrt());
            }
            let ratio_zm = sq_zm[i] / t / predicted_zm[i];
            eprintln!("node {i}: zero-mean gauge empirical/predicted variance = {ratio_zm:.4}");
            assert!((ratio_zm - 1.0).abs() < 0.05, "node {i}: ratio {ratio_zm}");
        }
        let chi_ratio = chi_sum / t / 6.0;
        eprintln!("mean chi-square / dof = {chi_ratio:.4}");
        assert!((chi_ratio - 1.0).abs() < 0.03);
    }

    /// diag(L⁺) from the zero-mean gauge agrees with the identity L⁺ = (L + J/N)⁻¹ − J/N
    /// (J = 11ᵀ, connected graph), computed independently.
    #[test]
    fn zero_mean_variances_are_laplacian_pseudo_inverse() {
        let mut rng = SeedTree::new(4).child("pairwise-ls").rng();
        let n = 9;
        let edges = random_connected(n, 8, &mut rng);
        let x = vec![0.0; n];
        let meas = noiseless(&edges, &x);
        let nf = n as f64;
        let mut l = Mat::<f64>::from_fn(n, n, |_, _| 1.0 / nf);
        for &(a, b, v) in &edges {
            let w = 1.0 / v;
            l[(a, a)] += w;
            l[(b, b)] += w;
            l[(a, b)] -= w;
            l[(b, a)] -= w;
        }
        let inv = l.llt(Side::Lower).unwrap().inverse();
        let z = combine_zero_mean(n, &meas).unwrap();
        for i in 0..n {
            let pinv_ii = inv[(i, i)] - 1.0 / nf;
            assert!((z.variances[i] - pinv_ii).abs() < 1e-10 * (1.0 + pinv_ii));
        }
    }

    #[test]
    fn gauges_agree_on_differences() {
        let mut rng = SeedTree::new(5).child("pairwise-ls").rng();
        let n = 10;
        let edges = random_connected(n, 10, &mut rng);
        let meas: Vec<PairMeasurement> = edges
            .iter()
            .map(|&(a, b, v)| PairMeasurement::new(a, b, rng.random_range(-50.0..50.0), v))
            .collect();
        let r = combine(n, &meas, 4).unwrap();
        let z = combine_zero_mean(n, &meas).unwrap();
        assert!(z.offsets.iter().sum::<f64>().abs() < 1e-9);
        for a in 0..n {
            for b in 0..n {
                let dr = r.offsets[a] - r.offsets[b];
                let dz = z.offsets[a] - z.offsets[b];
                assert!((dr - dz).abs() < 1e-9);
            }
        }
        assert!((r.chi_square - z.chi_square).abs() < 1e-9 * (1.0 + r.chi_square));
    }

    #[test]
    fn redundant_measurement_never_increases_variance() {
        let mut rng = SeedTree::new(6).child("pairwise-ls").rng();
        for _ in 0..50 {
            let n = rng.random_range(2..12);
            let edges = random_connected(n, rng.random_range(0..6), &mut rng);
            let mut meas = noiseless(&edges, &vec![0.0; n]);
            let reference = rng.random_range(0..n);
            let before = combine(n, &meas, reference).unwrap();
            let before_zm = combine_zero_mean(n, &meas).unwrap();
            let a = rng.random_range(0..n);
            let b = (a + rng.random_range(1..n)) % n;
            meas.push(PairMeasurement::new(
                a,
                b,
                0.0,
                rng.random_range(0.1..100.0),
            ));
            let after = combine(n, &meas, reference).unwrap();
            let after_zm = combine_zero_mean(n, &meas).unwrap();
            for i in 0..n {
                assert!(after.variances[i] <= before.variances[i] * (1.0 + 1e-12) + 1e-15);
                assert!(after_zm.variances[i] <= before_zm.variances[i] * (1.0 + 1e-12) + 1e-15);
            }
        }
    }

    #[test]
    fn disconnected_graph_names_unreachable_nodes() {
        // Components {0, 1, 2}, {3, 5}, {4} (isolated), {6, 7}.
        let meas = [
            PairMeasurement::new(0, 1, 1.0, 1.0),
            PairMeasurement::new(2, 1, 1.0, 1.0),
            PairMeasurement::new(5, 3, 1.0, 1.0),
            PairMeasurement::new(6, 7, 1.0, 1.0),
        ];
        assert_eq!(
            combine(8, &meas, 1),
            Err(SyncError::Disconnected {
                reference: 1,
                unreachable: vec![3, 4, 5, 6, 7]
            })
        );
        assert_eq!(
            combine(8, &meas, 5),
            Err(SyncError::Disconnected {
                reference: 5,
                unreachable: vec![0, 1, 2, 4, 6, 7]
            })
        );
        assert_eq!(
            combine_zero_mean(8, &meas),
            Err(SyncError::Disconnected {
                reference: 0,
                unreachable: vec![3, 4, 5, 6, 7]
            })
        );
        // No measurements at all: every other node is unreachable.
        assert_eq!(
            combine(3, &[], 0),
            Err(SyncError::Disconnected {
                reference: 0,
                unreachable: vec![1, 2]
            })
        );
    }

    #[test]
    fn invalid_measurements_are_reported() {
        let ok = PairMeasurement::new(0, 1, 1.0, 1.0);
        let cases = [
            (
                PairMeasurement::new(0, 3, 1.0, 1.0),
                MeasurementDefect::NodeOutOfRange {
                    node: 3,
                    n_nodes: 3,
                },
            ),
            (
                PairMeasurement::new(2, 2, 1.0, 1.0),
                MeasurementDefect::SelfPair { node: 2 },
            ),
            (
                PairMeasurement::new(1, 2, 1.0, 0.0),
                MeasurementDefect::BadVariance { variance: 0.0 },
            ),
            (
                PairMeasurement::new(1, 2, 1.0, -1.0),
                MeasurementDefect::BadVariance { variance: -1.0 },
            ),
            (
                PairMeasurement::new(1, 2, 1.0, f64::INFINITY),
                MeasurementDefect::BadVariance {
                    variance: f64::INFINITY,
                },
            ),
            (
                PairMeasurement::new(1, 2, f64::INFINITY, 1.0),
                MeasurementDefect::NonFiniteValue {
                    value: f64::INFINITY,
                },
            ),
        ];
        for (bad, reason) in cases {
            let err = combine(3, &[ok, bad], 0).unwrap_err();
            assert_eq!(err, SyncError::InvalidMeasurement { index: 1, reason });
            assert!(err.to_string().starts_with("measurement 1 is invalid"));
        }
        let nan = combine(3, &[PairMeasurement::new(1, 2, 1.0, f64::NAN)], 0).unwrap_err();
        assert!(matches!(
            nan,
            SyncError::InvalidMeasurement {
                index: 0,
                reason: MeasurementDefect::BadVariance { .. }
            }
        ));
    }

    #[test]
    fn single_node_and_parallel_measurements() {
        let c = combine(1, &[], 0).unwrap();
        assert_eq!(c.offsets, vec![0.0]);
        assert_eq!(c.variances, vec![0.0]);
        // Two measurements of one pair, opposite orientation: inverse-variance weighted mean.
        let meas = [
            PairMeasurement::new(1, 0, 10.0, 1.0),
            PairMeasurement::new(0, 1, -13.0, 2.0),
        ];
        let c = combine(2, &meas, 0).unwrap();
        let expected = (10.0 / 1.0 + 13.0 / 2.0) / (1.0 + 0.5);
        assert!((c.offsets[1] - expected).abs() < 1e-12);
        assert!((c.variances[1] - 1.0 / 1.5).abs() < 1e-12);
        assert_eq!(c.degrees_of_freedom, 1);
    }

    #[test]
    #[should_panic(expected = "reference 3 out of range")]
    fn reference_out_of_range_panics() {
        let _ = combine(3, &[], 3);
    }

    /// A random connected graph as proptest values: parents of a spanning tree, chords, true
    /// offsets and variances.
    fn graph_strategy() -> impl Strategy<Value = (usize, Vec<PairMeasurement>, Vec<f64>, usize)> {
        (2usize..16).prop_flat_map(|n| {
            (
                Just(n),
                proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>()), n - 1),
                proptest::collection::vec(
                    (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
                    0..20,
                ),
                proptest::collection::vec(-5e3f64..5e3, n),
                proptest::collection::vec(1e-2f64..1e2, n - 1 + 20),
                0..n,
            )
                .prop_map(|(n, parents, chords, x, vars, reference)| {
                    let mut pairs = Vec::new();
                    for (i, (p, flip)) in parents.iter().enumerate() {
                        let (child, parent) = (i + 1, p.index(i + 1));
                        pairs.push(if *flip {
                            (child, parent)
                        } else {
                            (parent, child)
                        });
                    }
                    for (a, b) in chords {
                        let a = a.index(n);
                        let b = (a + 1 + b.index(n - 1)) % n;
                        pairs.push((a, b));
                    }
                    let meas = pairs
                        .iter()
                        .zip(&vars)
                        .map(|(&(a, b), &v)| PairMeasurement::new(a, b, x[a] - x[b], v))
                        .collect();
                    (n, meas, x, reference)
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Noiseless measurements on any connected graph give the true offsets (relative to the
        /// reference, or to the mean) up to rounding, whatever the weights: the error is relative
        /// to the offsets' scale (ε·κ(L), with κ up to ~10⁴·n² for the weight spread drawn here;
        /// seen: ≤ 2e-12 relative at n = 15).
        #[test]
        fn noiseless_recovery_is_exact((n, meas, x, reference) in graph_strategy()) {
            let tol = 1e-10 * (1.0 + x.iter().fold(0.0f64, |m, v| m.max(v.abs())));
            let c = combine(n, &meas, reference).unwrap();
            for (xi, ci) in x.iter().zip(&c.offsets) {
                prop_assert!((ci - (xi - x[reference])).abs() < tol);
            }
            let z = combine_zero_mean(n, &meas).unwrap();
            let mean = x.iter().sum::<f64>() / n as f64;
            for (xi, zi) in x.iter().zip(&z.offsets) {
                prop_assert!((zi - (xi - mean)).abs() < tol);
            }
        }
    }
}

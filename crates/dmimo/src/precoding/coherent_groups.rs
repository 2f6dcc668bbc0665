//! The downlink of a network of single-antenna nodes that transmit in **coherent groups**: the
//! nodes of a group are phase-synchronized with each other and precode jointly (ZF) to the users
//! they serve; different groups transmit at the same time on the same frequency and interfere.
//! This is the throughput model of notes/000 §3 S1–S2 and §4.1 item 9 ("ZF MU-MIMO over selected
//! node groups, with phase errors injected").
//!
//! Shapes: N nodes, U users, H **N×U** in dmimo's convention y = Hᴴx ([`crate::linalg`]): the
//! physical coefficient from node n to user u is conj(H\[n, u\]). Powers are relative to a
//! node's maximum power P = `node_power`; the noise variance is per user.
//!
//! * **Groups** ([`Group`]): a set of mutually coherent nodes and the users it serves this slot
//!   (at most one stream per user, no user in two groups, |users| ≤ |nodes|). A node that is in
//!   no coherent set is a group of one: it serves its user alone (single-cell transmission), and
//!   the same formulas apply with a 1×1 "ZF" (its precoder is the channel's phase).
//!   [`tile_groups`] forms groups geometrically: the nodes of one coherent set that lie in one
//!   square tile of a grid (a coherence region of about G nodes).
//! * **Precoder** ([`precode`]): ZF from the CSI H restricted to the group, V = H_g(H_gᴴH_g)⁻¹Λ^½
//!   with unit-norm columns ([`zf`]), equal power p per stream, p set by a [`PowerRule`].
//!   The CSI is perfect and unimpaired: it was measured when the nodes' phases were ψ_n(t);
//!   constant offsets are absorbed in it.
//! * **Phase errors**: by the time the precoder is used the nodes' phases have moved by ε_n
//!   (the coherence error over the CSI interval, notes/000 §4.3), so the signal goes out over
//!   H̃ = diag(e^{−jε}) H ([`Impairment`]'s Φ). A common ε within a group changes nothing; the
//!   differences break the nulls. For small i.i.d. ε_n of std σ the leakage of a stream at a
//!   user it should miss is ≈ σ² of the power of the individual contributions (notes/000 §3 S1):
//!   E|Σ_n c_n e^{jε_n}|² = (1 − e^{−σ²})·Σ_n|c_n|² when Σ_n c_n = 0.
//! * **SINR** ([`sinrs`]): user u of group g, stream k,
//!   SINR_u = p_g |h̃_{g,u}ᴴ v_k|² / (N0 + Σ_{(g′,k′) ≠ (g,k)} p_{g′} |h̃_{g′,u}ᴴ v_{k′}|²),
//!   every other stream of every group counted (its own group's through the broken nulls, the
//!   others' in full: groups are not coordinated). Rates are log2(1 + SINR) (Shannon).

use super::linear::zf;
use crate::channel::impairment::Impairment;
use crate::geometry::{Point, Window};
use crate::linalg::{CMat, LinalgError};
use crate::units::C64;
use faer::{Mat, MatRef};
use serde::{Deserialize, Serialize};

/// How a group's stream power is set under each node's power limit P.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PowerRule {
    /// Equal stream powers, scaled so that the busiest node transmits exactly P:
    /// p = P / max_n Σ_k |V_nk|² (the ZF directions are kept; every node respects its limit).
    PerNodeScaled,
    /// Equal stream powers under a sum constraint |nodes|·P per group: p = |nodes|·P / K
    /// (single nodes may exceed P; an upper bound on ZF's power efficiency).
    GroupSum,
}

/// A set of mutually coherent nodes and the users it serves (indices into H's rows and columns).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub nodes: Vec<usize>,
    pub users: Vec<usize>,
}

/// A group's precoder.
#[derive(Clone, Debug)]
pub struct GroupPrecoder {
    /// Its nodes (rows of V) and users (columns of V, one stream each).
    pub nodes: Vec<usize>,
    pub users: Vec<usize>,
    /// V, |nodes|×|users|, unit-norm columns.
    pub v: CMat,
    /// Power per stream p (relative to P).
    pub power: f64,
}

/// The group's ZF precoder from the CSI `h` (N×U) under `rule` with node power limit
/// `node_power`. A group without users transmits nothing (power 0, empty V).
///
/// # Errors
/// [`LinalgError::SingularGram`] when the group's user channels are linearly dependent.
///
/// # Panics
/// If the group has more users than nodes, or an index is out of range.
#[track_caller]
pub fn precode(
    h: MatRef<'_, C64>,
    group: &Group,
    rule: PowerRule,
    node_power: f64,
) -> Result<GroupPrecoder, LinalgError> {
    let (m, k) = (group.nodes.len(), group.users.len());
    assert!(k <= m, "precode: {k} users for {m} nodes");
    if k == 0 {
        return Ok(GroupPrecoder {
            nodes: group.nodes.clone(),
            users: Vec::new(),
            v: Mat::zeros(m, 0),
            power: 0.0,
        });
    }
    let hg = Mat::from_fn(m, k, |i, j| h[(group.nodes[i], group.users[j])]);
    let v = zf(hg.as_ref())?.v;
    let power = match rule {
        PowerRule::PerNodeScaled => {
            let busiest = (0..m)
                .map(|i| (0..k).map(|j| v[(i, j)].norm_sqr()).sum::<f64>())
                .fold(0.0, f64::max);
            node_power / busiest
        }
        PowerRule::GroupSum => m as f64 * node_power / k as f64,
    };
    Ok(GroupPrecoder {
        nodes: group.nodes.clone(),
        users: group.users.clone(),
        v,
        power,
    })
}

/// The channel the signal meets when the nodes' phases have moved by `eps` (rad, one per node)
/// since the CSI was measured: H̃ = diag(e^{−jε}) H ([`Impairment`]'s transmit side).
///
/// # Panics
/// If `eps` has not one entry per row of `h`.
#[track_caller]
pub fn phase_rotated(h: MatRef<'_, C64>, eps: &[f64]) -> CMat {
    assert_eq!(eps.len(), h.nrows(), "phase_rotated: one phase per node");
    let mut imp = Impairment::ideal(h.nrows(), h.ncols());
    imp.ap_phase_rad = eps.to_vec();
    imp.apply(h, 0, 0.0)
}

/// Per served user (in the order of `precoders` and their users): (user, SINR) on the actual
/// channel `h_actual` (N×U) with noise variance `noise_var` (module doc).
///
/// # Panics
/// On index out of range.
pub fn sinrs(
    h_actual: MatRef<'_, C64>,
    precoders: &[GroupPrecoder],
    noise_var: f64,
) -> Vec<(usize, f64)> {
    // received power of every stream at user u
    let stream_powers = |u: usize, out: &mut Vec<f64>| {
        out.clear();
        for g in precoders {
            for k in 0..g.users.len() {
                let mut a = C64::default();
                for (i, &n) in g.nodes.iter().enumerate() {
                    a += h_actual[(n, u)].conj() * g.v[(i, k)];
                }
                out.push(g.power * a.norm_sqr());
            }
        }
    };
    let mut out = Vec::new();
    let mut p = Vec::new();
    let mut base = 0;
    for g in precoders {
        for (k, &u) in g.users.iter().enumerate() {
            stream_powers(u, &mut p);
            let own = base + k;
            let interference: f64 = p
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != own)
                .map(|(_, x)| x)
                .sum();
            out.push((u, p[own] / (noise_var + interference)));
        }
        base += g.users.len();
    }
    out
}

/// Groups of the nodes at `points` by coherent set and tile: nodes with the same `set[n]` =
/// Some(s) in the same square tile of side `tile_m` (tiles from the window's lower-left corner)
/// form one group; a node with `set[n]` = None is a group of its own. Groups are ordered by
/// their lowest node, nodes within a group ascending; no users are attached.
///
/// # Panics
/// If the lengths differ or `tile_m` is not positive.
#[track_caller]
pub fn tile_groups(
    points: &[Point],
    window: &Window,
    set: &[Option<u32>],
    tile_m: f64,
) -> Vec<Group> {
    assert_eq!(points.len(), set.len(), "tile_groups: one set per node");
    assert!(
        tile_m > 0.0 && tile_m.is_finite(),
        "tile_groups: tile side must be > 0"
    );
    let origin = window.min();
    let mut keys: Vec<(u64, usize)> = points
        .iter()
        .zip(set)
        .enumerate()
        .map(|(n, (p, s))| {
            let key = match s {
                Some(s) => {
                    let tx = ((p.x - origin.x) / tile_m).floor().max(0.0) as u64;
                    let ty = ((p.y - origin.y) / tile_m).floor().max(0.0) as u64;
                    // set in the high bits, tile in the low ones: distinct for distinct pairs
                    ((*s as u64) << 40) | (tx << 20) | ty
                }
                None => u64::MAX - n as u64,
            };
            (key, n)
        })
        .collect();
    keys.sort_unstable();
    let mut groups: Vec<Group> = Vec::new();
    let mut last = None;
    for (key, n) in keys {
        if last == Some(key) {
            groups.last_mut().expect("a group is open").nodes.push(n);
        } else {
            groups.push(Group {
                nodes: vec![n],
                users: Vec::new(),
            });
            last = Some(key);
        }
    }
    groups.sort_unstable_by_key(|g| g.nodes[0]);
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Boundary;
    use crate::linalg::complex_gaussian;
    use crate::rng::SeedTree;
    use crate::units::{deg_to_rad, lin_to_db};
    use rand::Rng;
    use rand_distr::StandardNormal;

    fn group(m: usize, k: usize) -> Group {
        Group {
            nodes: (0..m).collect(),
            users: (0..k).collect(),
        }
    }

    /// Without phase errors ZF nulls every co-group stream: the SINR is the SNR λ_k·p/N0.
    #[test]
    fn zf_without_phase_error_is_noise_limited() {
        let h = complex_gaussian(6, 4, &mut SeedTree::new(1).rng());
        for rule in [PowerRule::PerNodeScaled, PowerRule::GroupSum] {
            let g = precode(h.as_ref(), &group(6, 4), rule, 1.0).unwrap();
            let lambda = zf(h.as_ref()).unwrap().lambda;
            let noise = 0.01;
            let s = sinrs(h.as_ref(), std::slice::from_ref(&g), noise);
            for (k, &(u, sinr)) in s.iter().enumerate() {
                assert_eq!(u, k);
                let want = g.power * lambda[k] / noise;
                assert!((sinr / want - 1.0).abs() < 1e-9, "{sinr} vs {want}");
            }
        }
    }

    #[test]
    fn power_rules() {
        let h = complex_gaussian(5, 3, &mut SeedTree::new(2).rng());
        let g = precode(h.as_ref(), &group(5, 3), PowerRule::PerNodeScaled, 2.0).unwrap();
        let node_power: Vec<f64> = (0..5)
            .map(|i| (0..3).map(|j| g.power * g.v[(i, j)].norm_sqr()).sum())
            .collect();
        let max = node_power.iter().cloned().fold(0.0, f64::max);
        assert!((max - 2.0).abs() < 1e-12 && node_power.iter().all(|&p| p <= 2.0 + 1e-12));
        let g = precode(h.as_ref(), &group(5, 3), PowerRule::GroupSum, 2.0).unwrap();
        assert!((g.power * 3.0 - 10.0).abs() < 1e-12);
        // a node alone transmits at full power along its channel's phase
        let one = Group {
            nodes: vec![3],
            users: vec![1],
        };
        let g = precode(h.as_ref(), &one, PowerRule::PerNodeScaled, 1.0).unwrap();
        assert!((g.power - 1.0).abs() < 1e-12);
        let s = sinrs(h.as_ref(), &[g], 0.5);
        assert!((s[0].1 - h[(3, 1)].norm_sqr() / 0.5).abs() < 1e-12);
        // no users: silent
        let idle = precode(
            h.as_ref(),
            &Group {
                nodes: vec![0, 1],
                users: vec![],
            },
            PowerRule::PerNodeScaled,
            1.0,
        )
        .unwrap();
        assert_eq!((idle.power, idle.v.ncols()), (0.0, 0));
    }

    /// Another group's streams arrive in full; a common phase of a group changes nothing.
    #[test]
    fn other_groups_interfere_and_common_phase_is_harmless() {
        let h = complex_gaussian(6, 4, &mut SeedTree::new(3).rng());
        let ga = Group {
            nodes: vec![0, 1, 2],
            users: vec![0, 1],
        };
        let gb = Group {
            nodes: vec![3, 4, 5],
            users: vec![2, 3],
        };
        let pre: Vec<_> = [&ga, &gb]
            .iter()
            .map(|g| precode(h.as_ref(), g, PowerRule::PerNodeScaled, 1.0).unwrap())
            .collect();
        let s = sinrs(h.as_ref(), &pre, 1.0);
        // user 0: own stream over noise + both of group b's streams
        let a = &pre[0];
        let sig = a.power
            * (0..3)
                .map(|i| h[(ga.nodes[i], 0)].conj() * a.v[(i, 0)])
                .sum::<C64>()
                .norm_sqr();
        let b = &pre[1];
        let intf: f64 = (0..2)
            .map(|k| {
                b.power
                    * (0..3)
                        .map(|i| h[(gb.nodes[i], 0)].conj() * b.v[(i, k)])
                        .sum::<C64>()
                        .norm_sqr()
            })
            .sum();
        assert!((s[0].1 - sig / (1.0 + intf)).abs() < 1e-9 * s[0].1);
        // rotating group a by a common phase and group b by another leaves every SINR
        let eps = [0.7, 0.7, 0.7, -2.0, -2.0, -2.0];
        let ht = phase_rotated(h.as_ref(), &eps);
        let s2 = sinrs(ht.as_ref(), &pre, 1.0);
        for (x, y) in s.iter().zip(&s2) {
            assert!((x.1 - y.1).abs() < 1e-9 * x.1);
        }
    }

    /// notes/000 §3 S1: per-node phase errors of std σ leak ≈ σ² of the individual
    /// contributions' power per interfering stream (exactly 1 − e^{−σ²} in expectation), and the
    /// interference in the SINR follows, within 1 dB for small σ.
    #[test]
    fn leakage_is_sigma_squared_per_interfering_stream() {
        let (m, k) = (8, 4);
        let mut rng = SeedTree::new(4).rng();
        let g = group(m, k);
        for sigma_deg in [2.0, 5.0, 10.0] {
            let sigma = deg_to_rad(sigma_deg);
            let (mut leak, mut leak_pred, mut sinr_meas, mut sinr_pred) = (0.0, 0.0, 0.0, 0.0);
            let trials = 400;
            for _ in 0..trials {
                let h = complex_gaussian(m, k, &mut rng);
                let pre = precode(h.as_ref(), &g, PowerRule::PerNodeScaled, 1.0).unwrap();
                let eps: Vec<f64> = (0..m)
                    .map(|_| sigma * rng.sample::<f64, _>(StandardNormal))
                    .collect();
                let ht = phase_rotated(h.as_ref(), &eps);
                // leakage of stream 1 at user 0, relative to the individual contributions
                let c: Vec<C64> = (0..m).map(|i| h[(i, 0)].conj() * pre.v[(i, 1)]).collect();
                let ct: Vec<C64> = (0..m).map(|i| ht[(i, 0)].conj() * pre.v[(i, 1)]).collect();
                leak += ct.iter().sum::<C64>().norm_sqr();
                leak_pred += sigma * sigma * c.iter().map(|x| x.norm_sqr()).sum::<f64>();
                // the interference term of user 0's SINR (no noise), against σ²·Σ_j p Σ_n|c_nj|²
                let s = sinrs(ht.as_ref(), std::slice::from_ref(&pre), 1e-30)[0].1;
                let signal = pre.power
                    * (0..m)
                        .map(|i| ht[(i, 0)].conj() * pre.v[(i, 0)])
                        .sum::<C64>()
                        .norm_sqr();
                sinr_meas += signal / s;
                sinr_pred += (1..k)
                    .map(|j| {
                        pre.power
                            * sigma
                            * sigma
                            * (0..m)
                                .map(|i| (h[(i, 0)].conj() * pre.v[(i, j)]).norm_sqr())
                                .sum::<f64>()
                    })
                    .sum::<f64>();
            }
            let d_leak = lin_to_db(leak / leak_pred);
            let d_int = lin_to_db(sinr_meas / sinr_pred);
            assert!(
                d_leak.abs() < 1.0,
                "σ = {sigma_deg}°: leakage off by {d_leak} dB"
            );
            assert!(
                d_int.abs() < 1.0,
                "σ = {sigma_deg}°: interference off by {d_int} dB"
            );
            // the absolute rule: ≈ −21 dB at 5° (relative to the individual contributions)
            if sigma_deg == 5.0 {
                assert!((lin_to_db(sigma * sigma) + 21.2).abs() < 0.1);
            }
        }
    }

    #[test]
    fn tiles_group_by_set_and_region() {
        let w = Window::centered(400.0, 400.0, Boundary::Open).unwrap();
        // tiles of 200 m: lower-left quadrant, lower-right, upper-left …
        let pts = [
            Point::new(-150.0, -150.0), // tile (0,0)
            Point::new(-50.0, -120.0),  // tile (0,0)
            Point::new(50.0, -120.0),   // tile (1,0)
            Point::new(-100.0, 100.0),  // tile (0,1)
            Point::new(-90.0, -90.0),   // tile (0,0), other set
            Point::new(-80.0, -80.0),   // tile (0,0), unsynchronized
            Point::new(-70.0, -70.0),   // tile (0,0), unsynchronized
        ];
        let set = [Some(0), Some(0), Some(0), Some(0), Some(1), None, None];
        let g = tile_groups(&pts, &w, &set, 200.0);
        let nodes: Vec<Vec<usize>> = g.iter().map(|g| g.nodes.clone()).collect();
        assert_eq!(
            nodes,
            vec![vec![0, 1], vec![2], vec![3], vec![4], vec![5], vec![6]]
        );
        // one set, one huge tile: everyone synchronized is one group
        let g = tile_groups(&pts, &w, &[Some(3); 7], 1e4);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].nodes, (0..7).collect::<Vec<_>>());
    }
}

//! Cellular massive MIMO with random per-cell pilot reuse: nearest-BS association, per-cell
//! selection of the served users and their pilots, and the large-N pilot-contamination SIR.
//!
//! This is the "ideal cellular" baseline of fog massive MIMO (Bursalioglu et al., arXiv
//! 1803.07614, §IV; notes/001 §2.11, target T2), simulated on one drop of positions:
//!
//! 1. every user is associated with its nearest BS ([`SpatialIndex::nearest`], so a torus window
//!    uses minimum-image distances);
//! 2. a BS with K users serves min(K, Q) of them, chosen uniformly at random, on min(K, Q)
//!    distinct pilots drawn uniformly from the τ_p orthogonal ones, independently across cells
//!    (no inter-cell coordination; the unchosen users are unserved);
//! 3. as N → ∞ with MR/ZF on contaminated estimates, only pilot contamination remains: a served
//!    user k at distance d₀ from its BS, with pilot t, has
//!    SIR_k = d₀^{−2α} / Σ_{b' ≠ b uses t} d_{b',k}^{−2α}
//!    (pure d^{−α} path loss, no clamp: the SIR is scale-invariant).
//!
//! BSs and users are processed in index order with one generator, so a drop is a deterministic
//! function of its positions and the generator's state.

use crate::geometry::{Point, SpatialIndex, Window};
use rand::Rng;

/// One served user.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ServedUser {
    /// Index into the user slice.
    pub user: usize,
    /// Index of its (nearest) BS.
    pub bs: usize,
    /// Its pilot in [0, τ_p).
    pub pilot: usize,
    /// The large-N SIR (linear; +∞ when no other BS uses the pilot).
    pub sir: f64,
}

/// The outcome of one drop.
#[derive(Clone, Debug, PartialEq)]
pub struct CellularDrop {
    /// `serving_bs[k]`: user k's nearest BS (`None` only if there are no BSs).
    pub serving_bs: Vec<Option<usize>>,
    /// Users per BS, K_b.
    pub users_per_bs: Vec<usize>,
    /// The served users, in order of BS index, then selection order.
    pub served: Vec<ServedUser>,
}

/// Simulates one drop: association, selection with `q` pilots per cell out of `tau_p`, SIR with
/// path-loss exponent `alpha`. Distances are measured in `window` (torus or open).
///
/// # Panics
/// If q = 0, q > τ_p or α ≤ 0 (contract violations; configurations are validated upstream).
pub fn simulate_drop<R: Rng + ?Sized>(
    bs: &[Point],
    users: &[Point],
    window: &Window,
    q: usize,
    tau_p: usize,
    alpha: f64,
    rng: &mut R,
) -> CellularDrop {
    assert!(
        (1..=tau_p).contains(&q),
        "need 1 ≤ q ≤ tau_p (q = {q}, tau_p = {tau_p})"
    );
    assert!(alpha > 0.0, "alpha must be > 0 (got {alpha})");
    let index = SpatialIndex::new(bs, window);
    let serving_bs: Vec<Option<usize>> = users
        .iter()
        .map(|&y| index.nearest(y).map(|n| n.index))
        .collect();
    let mut cells: Vec<Vec<usize>> = vec![Vec::new(); bs.len()];
    for (k, b) in serving_bs.iter().enumerate() {
        if let Some(b) = b {
            cells[*b].push(k);
        }
    }
    // selection and pilots, BS by BS
    let mut served = Vec::new();
    let mut pilot_users: Vec<Vec<usize>> = vec![Vec::new(); tau_p]; // BSs per pilot
    for (b, members) in cells.iter().enumerate() {
        let m = members.len().min(q);
        if m == 0 {
            continue;
        }
        let chosen = rand::seq::index::sample(rng, members.len(), m);
        let pilots = rand::seq::index::sample(rng, tau_p, m);
        for (c, t) in chosen.iter().zip(pilots.iter()) {
            pilot_users[t].push(b);
            served.push(ServedUser {
                user: members[c],
                bs: b,
                pilot: t,
                sir: f64::NAN,
            });
        }
    }
    let half_exp = -alpha; // (d²)^{−α} = d^{−2α}
    for s in &mut served {
        let y = users[s.user];
        let signal = window.distance_sq(bs[s.bs], y).powf(half_exp);
        let interference: f64 = pilot_users[s.pilot]
            .iter()
            .filter(|&&b| b != s.bs)
            .map(|&b| window.distance_sq(bs[b], y).powf(half_exp))
            .sum();
        s.sir = signal / interference;
    }
    CellularDrop {
        serving_bs,
        users_per_bs: cells.iter().map(Vec::len).collect(),
        served,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{Boundary, Deployment};
    use crate::rng::SeedTree;

    fn pt(x: f64, y: f64) -> Point {
        Point { x, y }
    }

    #[test]
    fn hand_example() {
        // two BSs 10 m apart, one user each; τ_p = 1 forces pilot reuse
        let w = Window::centered(100.0, 100.0, Boundary::Open).unwrap();
        let bs = [pt(0.0, 0.0), pt(10.0, 0.0)];
        let users = [pt(1.0, 0.0), pt(8.0, 0.0)];
        let d = simulate_drop(
            &bs,
            &users,
            &w,
            1,
            1,
            2.0,
            &mut SeedTree::new(1).child("x").rng(),
        );
        assert_eq!(d.serving_bs, vec![Some(0), Some(1)]);
        assert_eq!(d.users_per_bs, vec![1, 1]);
        let sir0 = d.served.iter().find(|s| s.user == 0).unwrap().sir;
        let sir1 = d.served.iter().find(|s| s.user == 1).unwrap().sir;
        assert!((sir0 - 9f64.powi(4)).abs() < 1e-6); // (1/1⁴)/(1/9⁴)
        assert!((sir1 - 256.0).abs() < 1e-9); // (8/2)⁴
    }

    #[test]
    fn cells_serve_min_k_q_users_on_distinct_pilots() {
        let w = Window::centered(2000.0, 2000.0, Boundary::Torus).unwrap();
        let seeds = SeedTree::new(3);
        let bs = Deployment::Poisson {
            density_per_m2: 1e-5,
        }
        .generate(&w, &mut seeds.child("bs").rng());
        let users = Deployment::Poisson {
            density_per_m2: 1e-4,
        }
        .generate(&w, &mut seeds.child("users").rng());
        let (q, tau) = (6, 9);
        let d = simulate_drop(&bs, &users, &w, q, tau, 3.75, &mut seeds.child("s").rng());
        // association is to the nearest BS (brute force)
        for (k, &y) in users.iter().enumerate() {
            let best = (0..bs.len())
                .min_by(|&a, &b| {
                    w.distance_sq(bs[a], y)
                        .partial_cmp(&w.distance_sq(bs[b], y))
                        .unwrap()
                })
                .unwrap();
            assert_eq!(d.serving_bs[k], Some(best));
        }
        for (b, &k) in d.users_per_bs.iter().enumerate() {
            let here: Vec<&ServedUser> = d.served.iter().filter(|s| s.bs == b).collect();
            assert_eq!(here.len(), k.min(q));
            let mut pilots: Vec<usize> = here.iter().map(|s| s.pilot).collect();
            pilots.sort_unstable();
            pilots.dedup();
            assert_eq!(pilots.len(), here.len());
            assert!(pilots.iter().all(|&t| t < tau));
            assert!(here.iter().all(|s| d.serving_bs[s.user] == Some(b)));
        }
        assert!(d.served.iter().all(|s| s.sir > 0.0));
    }
}

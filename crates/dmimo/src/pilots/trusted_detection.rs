//! Trusted-pilot detection of fog massive MIMO (Bursalioglu et al., arXiv 1803.07614 §II-B,
//! eq. (8); notes/001 §2.3–2.5): every RRH decides, per slot and per pilot group t, whether its
//! group-t channel estimate is dominated by exactly one user (the pilot is *trusted*) and, if so,
//! which user that is. An untrusted estimate is discarded: the RRH sends nothing to group t.
//!
//! Every detection mode produces the same [`TrustDecisions`] (RRH × group → user or none):
//!
//! * **geometric** ([`detect_geometric`]), the analysis model (notes/001 §2.5): group t is trusted
//!   at RRH r for user k iff k is the only group-t user within the protection radius R_p of r and
//!   k lies within the coverage radius R_c ≤ R_p;
//! * the threshold modes apply the **one-bit rule** (8) ([`one_bit_rule`]) to the second-field
//!   statistic q ∈ ℝᴸ of group t: b = 1{q > η₁} must have weight L/2 (a codeword) and every
//!   position outside b must have q ≤ η₂ ≤ η₁;
//! * **large N** ([`detect_large_n`]): the rule (8) on the N → ∞ statistic (7),
//!   q_r^{(t)} = Σ_{k ∈ group t} β_{r,k} c_k with β = d^{−α}, so that several weak co-pilot users
//!   can add up above η₂ (or η₁) — the aggregate effects the geometric model ignores. With
//!   η₁ = R_c^{−α} and η₂ = R_p^{−α} ([`LargeNThresholds::from_radii`]) it agrees with the
//!   geometric mode whenever every RRH has at most one group-t user in reach.

use crate::geometry::{Point, SpatialIndex, Window};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Marks "no trusted user" in [`TrustDecisions`].
const NO_USER: u32 = u32::MAX;

/// The decisions of all RRHs for all pilot groups in one slot: for RRH r and group t, the user
/// (index into the drop's user list) the group is trusted for, or none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustDecisions {
    groups: usize,
    user: Vec<u32>,
}

impl TrustDecisions {
    /// All `groups` groups untrusted at all `rrhs` RRHs.
    pub fn untrusted(rrhs: usize, groups: usize) -> Self {
        TrustDecisions {
            groups,
            user: vec![NO_USER; rrhs * groups],
        }
    }

    /// Number of RRHs.
    pub fn rrhs(&self) -> usize {
        self.user.len().checked_div(self.groups).unwrap_or(0)
    }

    /// Number of pilot groups T.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// The user group `t` is trusted for at RRH `r`, if any.
    ///
    /// # Panics
    /// If r or t is out of range.
    pub fn get(&self, r: usize, t: usize) -> Option<usize> {
        assert!(
            t < self.groups,
            "group {t} out of range (T = {})",
            self.groups
        );
        match self.user[r * self.groups + t] {
            NO_USER => None,
            k => Some(k as usize),
        }
    }

    /// Records the decision of RRH `r` for group `t`.
    ///
    /// # Panics
    /// If r or t is out of range, or the user index does not fit in 32 bits.
    pub fn set(&mut self, r: usize, t: usize, user: Option<usize>) {
        assert!(
            t < self.groups,
            "group {t} out of range (T = {})",
            self.groups
        );
        self.user[r * self.groups + t] = match user {
            None => NO_USER,
            Some(k) => u32::try_from(k)
                .ok()
                .filter(|&k| k != NO_USER)
                .expect("user index must fit in u32"),
        };
    }

    /// The trusted (group, user) pairs of RRH `r`, by ascending group.
    pub fn trusted(&self, r: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.user[r * self.groups..(r + 1) * self.groups]
            .iter()
            .enumerate()
            .filter(|(_, &k)| k != NO_USER)
            .map(|(t, &k)| (t, k as usize))
    }

    /// Number of (RRH, group) decisions that differ from `other`'s.
    ///
    /// # Panics
    /// If the two cover different numbers of RRHs or groups.
    pub fn mismatches(&self, other: &TrustDecisions) -> usize {
        assert!(
            self.groups == other.groups && self.user.len() == other.user.len(),
            "decisions of different shapes"
        );
        self.user
            .iter()
            .zip(&other.user)
            .filter(|(a, b)| a != b)
            .count()
    }
}

/// The one-bit rule (8) on the second-field statistic `q` (length L, even, ≤ 64): the codeword
/// b = 1{q > η₁} (bit i = position i) if it has weight L/2 and q_i ≤ η₂ at every position with
/// b_i = 0; `None` (untrusted) otherwise. With η₂ = η₁ the second condition always holds.
///
/// # Panics
/// If L is odd or above 64, or η₂ > η₁ (contract violations).
pub fn one_bit_rule(q: &[f64], eta1: f64, eta2: f64) -> Option<u64> {
    let l = q.len();
    assert!(
        l.is_multiple_of(2) && l <= 64,
        "code length {l} must be even and ≤ 64"
    );
    assert!(eta2 <= eta1, "need η₂ ≤ η₁ (η₁ = {eta1}, η₂ = {eta2})");
    let mut b = 0u64;
    for (i, &x) in q.iter().enumerate() {
        if x > eta1 {
            b |= 1 << i;
        } else if x > eta2 {
            return None; // a "barely below η₁" co-pilot user: condition 2 fails
        }
    }
    (b.count_ones() as usize == l / 2).then_some(b)
}

/// Geometric detection (notes/001 §2.5): group t is trusted at RRH r for user k iff k is the only
/// user of group t within `r_p_m` of r and it lies within `r_c_m` (both inclusive). `group[k]` is
/// user k's pilot group in [0, `groups`); distances are measured in `window` (torus or open).
///
/// # Panics
/// If `group` and `users` differ in length, a group is out of range, or not 0 < R_c ≤ R_p.
pub fn detect_geometric(
    rrhs: &[Point],
    users: &[Point],
    group: &[usize],
    groups: usize,
    window: &Window,
    r_c_m: f64,
    r_p_m: f64,
) -> TrustDecisions {
    assert_eq!(users.len(), group.len(), "one group per user");
    assert!(
        r_c_m > 0.0 && r_c_m <= r_p_m,
        "need 0 < R_c ≤ R_p (R_c = {r_c_m}, R_p = {r_p_m})"
    );
    let index = SpatialIndex::new(users, window);
    let mut out = TrustDecisions::untrusted(rrhs.len(), groups);
    let mut near = Vec::new();
    let mut count = vec![0u32; groups]; // per group: users within R_p of this RRH
    for (r, &x) in rrhs.iter().enumerate() {
        index.within_into(x, r_p_m, &mut near);
        for &k in &near {
            let t = group[k];
            assert!(
                t < groups,
                "user {k}: group {t} out of range (T = {groups})"
            );
            count[t] += 1;
        }
        for &k in &near {
            let t = group[k];
            if count[t] == 1 && window.distance(x, users[k]) <= r_c_m {
                out.set(r, t, Some(k));
            }
        }
        for &k in &near {
            count[group[k]] = 0;
        }
    }
    out
}

/// Distance-based large-scale gain β(d) = (max(d, d_min)/d_ref)^{−α} (dimensionless, 1 at d_ref).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathGain {
    /// Path-loss exponent α (notes/001: 3.75).
    pub alpha: f64,
    /// Reference distance d_ref (m) where β = 1.
    pub ref_distance_m: f64,
    /// Clamp d_min (m): closer users see β(d_min).
    pub min_distance_m: f64,
}

impl PathGain {
    /// β = d^{−α} (d in the positions' unit, no clamp): the paper's gain, for SIR-only work.
    pub fn power_law(alpha: f64) -> Self {
        PathGain {
            alpha,
            ref_distance_m: 1.0,
            min_distance_m: 0.0,
        }
    }

    /// β at distance `d_m`.
    pub fn gain(&self, d_m: f64) -> f64 {
        (d_m.max(self.min_distance_m) / self.ref_distance_m).powf(-self.alpha)
    }

    /// β at squared distance `d2_m2` (saves a square root).
    pub fn gain_sq(&self, d2_m2: f64) -> f64 {
        let m = self.min_distance_m * self.min_distance_m;
        (d2_m2.max(m) / (self.ref_distance_m * self.ref_distance_m)).powf(-0.5 * self.alpha)
    }

    /// The distance at which β falls to `gain` (the inverse of [`Self::gain`] above d_min).
    pub fn radius(&self, gain: f64) -> f64 {
        self.ref_distance_m * gain.powf(-1.0 / self.alpha)
    }
}

/// Of `candidates`, the user nearest to `x` (lowest index on ties): among users holding the
/// same pilot (i.i.d. codeword draws), the one whose pilot dominates the statistic.
pub(crate) fn nearest(
    candidates: impl Iterator<Item = usize>,
    x: Point,
    users: &[Point],
    window: &Window,
) -> Option<usize> {
    candidates.min_by(|&i, &j| {
        window
            .distance_sq(x, users[i])
            .total_cmp(&window.distance_sq(x, users[j]))
            .then(i.cmp(&j))
    })
}

/// Thresholds and truncation of [`detect_large_n`] (lengths in the unit of the positions).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LargeNThresholds {
    /// η₁, the coverage threshold on β-weighted codeword sums (β's unit).
    pub eta1: f64,
    /// η₂ ≤ η₁, the protection ("rise over thermal") threshold.
    pub eta2: f64,
    /// The large-scale gain β(d).
    pub gain: PathGain,
    /// Users farther than this from an RRH are left out of its sum (7). Choose it where β is
    /// negligible against η₂: see [`LargeNThresholds::truncation_tail_over_eta2`].
    pub truncation_radius: f64,
}

impl LargeNThresholds {
    /// Default truncation: 10 protection radii, where one user's β is 10^{−α} ≈ 1.8·10^{−4}·η₂
    /// (α = 3.75) and the mean neglected aggregate per code position is
    /// ≈ 0.010·λπR_p²·η₂ (see [`Self::truncation_tail_over_eta2`]).
    pub const DEFAULT_TRUNCATION_FACTOR: f64 = 10.0;

    /// η₁ = β(R_c), η₂ = β(R_p) (notes/001 §2.5; R_c^{−α}, R_p^{−α} with
    /// [`PathGain::power_law`]), truncation at `truncation_factor`·R_p.
    ///
    /// # Panics
    /// If not 0 < R_c ≤ R_p, α ≤ 0 or the factor is below 1.
    pub fn from_radii(r_c: f64, r_p: f64, gain: PathGain, truncation_factor: f64) -> Self {
        assert!(
            r_c > 0.0 && r_c <= r_p && gain.alpha > 0.0 && truncation_factor >= 1.0,
            "need 0 < R_c ≤ R_p, α > 0 and a truncation factor ≥ 1"
        );
        LargeNThresholds {
            eta1: gain.gain(r_c),
            eta2: gain.gain(r_p),
            gain,
            truncation_radius: truncation_factor * r_p,
        }
    }

    /// The mean of what truncation leaves out of one code position of q, relative to η₂, for
    /// co-pilot users of density `lambda` (a PPP; half of them have a one at any position):
    /// (λ/2)·∫_{R}^∞ β(x) 2πx dx / η₂ = πλ·β(R)·R²/((α − 2)η₂), for α > 2 (R above the clamp;
    /// R^{2−α}πλ/((α − 2)η₂) for d^{−α}).
    pub fn truncation_tail_over_eta2(&self, lambda: f64) -> f64 {
        let alpha = self.gain.alpha;
        assert!(alpha > 2.0, "the tail is finite only for α > 2");
        let r = self.truncation_radius;
        PI * lambda * self.gain.gain(r) * r * r / ((alpha - 2.0) * self.eta2)
    }
}

/// Large-N threshold detection: for every RRH r and group t, the statistic (7) at N → ∞,
/// q_r^{(t)} = Σ_{k ∈ group t, d_{r,k} ≤ R_trunc} β(d_{r,k}) c_k ∈ ℝᴸ, then [`one_bit_rule`]
/// with η₁, η₂. The trusted user is the group-t user whose codeword is b (with i.i.d. codeword
/// draws several may hold it: the nearest is taken, as at signal level); if no user of the group
/// within the truncation radius has it, the group stays untrusted. `codeword[k]` is user k's word (bit i = position i,
/// weight L/2, from [`crate::pilots::coded_pilots::EqualWeightCode::unrank`]); `code_length` is
/// L. Without a clamp a user at distance 0 has β = ∞ and makes every position of its word
/// infinite.
///
/// # Panics
/// If the slices differ in length, a group is out of range, or L is odd or above 64.
#[allow(clippy::too_many_arguments)]
pub fn detect_large_n(
    rrhs: &[Point],
    users: &[Point],
    group: &[usize],
    codeword: &[u64],
    groups: usize,
    code_length: usize,
    window: &Window,
    thresholds: &LargeNThresholds,
) -> TrustDecisions {
    assert_eq!(users.len(), group.len(), "one group per user");
    assert_eq!(users.len(), codeword.len(), "one codeword per user");
    assert!(
        code_length.is_multiple_of(2) && code_length <= 64,
        "code length {code_length} must be even and ≤ 64"
    );
    let index = SpatialIndex::new(users, window);
    let mut out = TrustDecisions::untrusted(rrhs.len(), groups);
    let mut near = Vec::new();
    let mut q = vec![0.0; groups * code_length];
    let mut touched = vec![false; groups];
    for (r, &x) in rrhs.iter().enumerate() {
        index.within_into(x, thresholds.truncation_radius, &mut near);
        for &k in &near {
            let t = group[k];
            assert!(
                t < groups,
                "user {k}: group {t} out of range (T = {groups})"
            );
            touched[t] = true;
            let beta = thresholds.gain.gain_sq(window.distance_sq(x, users[k]));
            let row = &mut q[t * code_length..(t + 1) * code_length];
            let mut w = codeword[k];
            while w != 0 {
                row[w.trailing_zeros() as usize] += beta;
                w &= w - 1;
            }
        }
        for t in 0..groups {
            if !touched[t] {
                continue;
            }
            let row = &mut q[t * code_length..(t + 1) * code_length];
            if let Some(b) = one_bit_rule(row, thresholds.eta1, thresholds.eta2) {
                let holders = near.iter().filter(|&&k| group[k] == t && codeword[k] == b);
                out.set(r, t, nearest(holders.copied(), x, users, window));
            }
            row.fill(0.0);
            touched[t] = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Boundary;

    #[test]
    fn one_bit_rule_follows_fig2() {
        // one strong user (codeword 0b0011) and weak co-pilot users below η₂
        assert_eq!(one_bit_rule(&[5.0, 4.0, 0.1, 0.2], 1.0, 0.5), Some(0b0011));
        // two strong users: the OR of two codewords has weight > L/2
        assert_eq!(one_bit_rule(&[5.0, 4.0, 3.0, 0.2], 1.0, 0.5), None);
        // no strong user: weight < L/2
        assert_eq!(one_bit_rule(&[0.1, 4.0, 0.1, 0.2], 1.0, 1.0), None);
        // a co-pilot user between η₂ and η₁ in a zero position
        assert_eq!(one_bit_rule(&[5.0, 4.0, 0.7, 0.2], 1.0, 0.5), None);
        // ... which η₂ = η₁ lets through
        assert_eq!(one_bit_rule(&[5.0, 4.0, 0.7, 0.2], 1.0, 1.0), Some(0b0011));
    }

    #[test]
    fn geometric_detection_on_a_line() {
        let window = Window::centered(1000.0, 1000.0, Boundary::Open).expect("window");
        let rrhs = [Point::new(0.0, 0.0), Point::new(300.0, 0.0)];
        // group 0: user 0 near RRH 0, user 1 in RRH 1's protection annulus; group 1: user 2 near
        // RRH 1 only
        let users = [
            Point::new(10.0, 0.0),
            Point::new(300.0, 80.0),
            Point::new(290.0, 0.0),
        ];
        let d = detect_geometric(&rrhs, &users, &[0, 0, 1], 2, &window, 50.0, 100.0);
        assert_eq!(d.get(0, 0), Some(0));
        assert_eq!(d.get(0, 1), None);
        assert_eq!(d.get(1, 0), None, "user 1 is in the annulus, outside R_c");
        assert_eq!(d.get(1, 1), Some(2));
        assert_eq!(d.trusted(1).collect::<Vec<_>>(), vec![(1, 2)]);
        // with R_p = R_c = 100 m user 1 is covered by RRH 1
        let d2 = detect_geometric(&rrhs, &users, &[0, 0, 1], 2, &window, 100.0, 100.0);
        assert_eq!(d2.get(1, 0), Some(1));
        assert_eq!(d.mismatches(&d2), 1);
    }

    /// A user at distance d = β^{−1/α} from the origin, on the x axis (or y for `vertical`).
    fn at_gain(beta: f64, alpha: f64, angle: f64) -> Point {
        let d = beta.powf(-1.0 / alpha);
        Point::new(d * angle.cos(), d * angle.sin())
    }

    #[test]
    fn large_n_agrees_with_geometric_when_every_rrh_sees_at_most_one_user() {
        use crate::geometry::Deployment;
        use crate::pilots::coded_pilots::EqualWeightCode;
        use crate::rng::SeedTree;
        use rand::Rng;
        // normalized units; sparse users so that many RRHs see ≤ 1 user of a group within the
        // truncation radius 2·R_p, others see several (those are not compared)
        let window = Window::centered(40.0, 40.0, Boundary::Torus).expect("window");
        let seeds = SeedTree::new(21).child("large-n-vs-geometric");
        let rrhs = Deployment::Poisson {
            density_per_m2: 1.0,
        }
        .generate(&window, &mut seeds.child("r").rng());
        let users = Deployment::Poisson {
            density_per_m2: 0.08,
        }
        .generate(&window, &mut seeds.child("u").rng());
        let code = EqualWeightCode::new(8).unwrap();
        let mut rng = seeds.child("c").rng();
        let groups = 2;
        let group: Vec<usize> = users.iter().map(|_| rng.random_range(0..groups)).collect();
        let codeword: Vec<u64> = users
            .iter()
            .map(|_| code.unrank(rng.random_range(0..code.size())).unwrap())
            .collect();
        let (rc, rp, alpha) = (0.8, 1.0, 3.75);
        let th = LargeNThresholds::from_radii(rc, rp, PathGain::power_law(alpha), 2.0);
        let geo = detect_geometric(&rrhs, &users, &group, groups, &window, rc, rp);
        let big = detect_large_n(&rrhs, &users, &group, &codeword, groups, 8, &window, &th);
        let index = SpatialIndex::new(&users, &window);
        let (mut compared, mut trusted, mut skipped) = (0, 0, 0);
        for (r, &x) in rrhs.iter().enumerate() {
            let near = index.within(x, th.truncation_radius);
            for t in 0..groups {
                if near.iter().filter(|&&k| group[k] == t).count() <= 1 {
                    compared += 1;
                    trusted += usize::from(geo.get(r, t).is_some());
                    assert_eq!(geo.get(r, t), big.get(r, t), "RRH {r}, group {t}");
                } else {
                    skipped += 1;
                }
            }
        }
        assert!(
            compared > 2000 && trusted > 100 && skipped > 100,
            "{compared} {trusted} {skipped}"
        );
    }

    #[test]
    fn large_n_sees_aggregates_the_geometric_rule_ignores() {
        let window = Window::centered(100.0, 100.0, Boundary::Open).expect("window");
        let alpha = 3.75;
        let rrh = [Point::new(0.0, 0.0)];
        // (a) a strong user (β = 4η₁) and two weak co-pilot users just outside R_p (β = 0.6η₂
        // each) sharing a one where the strong user has a zero: geometric trusts, large N does not
        let th = LargeNThresholds::from_radii(1.0, 1.5, PathGain::power_law(alpha), 10.0);
        let eta2 = th.eta2;
        let users = [
            at_gain(4.0, alpha, 0.0),
            at_gain(0.6 * eta2, alpha, 2.0),
            at_gain(0.6 * eta2, alpha, 4.0),
        ];
        let words = [0b0011, 0b0110, 0b1100];
        let geo = detect_geometric(&rrh, &users, &[0; 3], 1, &window, 1.0, 1.5);
        let big = detect_large_n(&rrh, &users, &[0; 3], &words, 1, 4, &window, &th);
        assert_eq!(geo.get(0, 0), Some(0));
        assert_eq!(big.get(0, 0), None, "0.6η₂ + 0.6η₂ > η₂ at position 2");
        // ... each alone stays below η₂: large N trusts as well
        let big1 = detect_large_n(&rrh, &users[..2], &[0; 2], &words[..2], 1, 4, &window, &th);
        assert_eq!(big1.get(0, 0), Some(0));
        // (b) a user just outside R_c (β = 0.95η₁) lifted above η₁ on both its ones by two weak
        // users outside R_p (β = 0.1η₁ each, their shared position at 0.2η₁ ≤ η₂ = η₁):
        // large N trusts, geometric does not
        let th = LargeNThresholds::from_radii(1.0, 1.0, PathGain::power_law(alpha), 10.0);
        let users = [
            at_gain(0.95, alpha, 0.0),
            at_gain(0.1, alpha, 2.0),
            at_gain(0.1, alpha, 4.0),
        ];
        let words = [0b0011, 0b0101, 0b0110];
        let geo = detect_geometric(&rrh, &users, &[0; 3], 1, &window, 1.0, 1.0);
        let big = detect_large_n(&rrh, &users, &[0; 3], &words, 1, 4, &window, &th);
        assert_eq!(geo.get(0, 0), None);
        assert_eq!(big.get(0, 0), Some(0));
        // (c) two strong users: both modes reject
        let users = [at_gain(4.0, alpha, 0.0), at_gain(2.0, alpha, 3.0)];
        let words = [0b0011, 0b0110];
        let big = detect_large_n(&rrh, &users, &[0; 2], &words, 1, 4, &window, &th);
        assert_eq!(big.get(0, 0), None);
        assert_eq!(
            detect_geometric(&rrh, &users, &[0; 2], 1, &window, 1.0, 1.0).get(0, 0),
            None
        );
    }

    #[test]
    fn truncation_tail_is_small_at_the_default_factor() {
        let th = LargeNThresholds::from_radii(
            1.0,
            1.0,
            PathGain::power_law(3.75),
            LargeNThresholds::DEFAULT_TRUNCATION_FACTOR,
        );
        // λπR_p² = 1: ≈ 1% of η₂ on average per position
        let tail = th.truncation_tail_over_eta2(1.0 / PI);
        assert!((tail - 0.0102).abs() < 5e-4, "{tail}");
    }
}

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
//!   position outside b must have q ≤ η₂ ≤ η₁.

use crate::geometry::{Point, SpatialIndex, Window};

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
}

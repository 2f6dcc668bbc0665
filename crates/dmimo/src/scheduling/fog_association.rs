//! Who serves whom in fog massive MIMO (Bursalioglu et al., arXiv 1803.07614 §II-C; notes/001
//! §2.6–2.7), from one slot's [`TrustDecisions`]:
//!
//! * the **active set** A_r of RRH r: the users its trusted groups identify (every RRH holds a
//!   packet for every user it detects: full buffer), |A_r| ≤ T;
//! * the **serving set** S_k of user k: the RRHs whose active set holds k (|S_k| ≥ 2 is
//!   macro-diversity; S_k = ∅ is outage);
//! * the **co-pilot interferers** T_k: the RRHs where k's group is trusted for another user.
//!   They are kept per group ([`FogAssociation::trusted_in_group`]) rather than per user, since
//!   every user of a group shares them; the remaining RRHs U_k are those where k's group is
//!   untrusted.

use crate::pilots::trusted_detection::TrustDecisions;

/// The active, serving and per-group trusted sets of one slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FogAssociation {
    /// A_r per RRH: the served users, by ascending group.
    pub active: Vec<Vec<usize>>,
    /// S_k per user: its serving RRHs, ascending.
    pub serving: Vec<Vec<usize>>,
    /// Per group t: the (RRH, user) pairs with t trusted at the RRH for the user, by RRH.
    pub trusted_in_group: Vec<Vec<(usize, usize)>>,
}

impl FogAssociation {
    /// Builds the sets; `group[k]` is user k's pilot group.
    ///
    /// # Panics
    /// If a decision names a user outside `group` or of another group than the decision's.
    pub fn new(decisions: &TrustDecisions, group: &[usize]) -> Self {
        let mut active = vec![Vec::new(); decisions.rrhs()];
        let mut serving = vec![Vec::new(); group.len()];
        let mut trusted_in_group = vec![Vec::new(); decisions.groups()];
        for (r, a) in active.iter_mut().enumerate() {
            for (t, k) in decisions.trusted(r) {
                assert!(
                    group.get(k) == Some(&t),
                    "RRH {r}: group {t} trusted for user {k} of another group"
                );
                a.push(k);
                serving[k].push(r);
                trusted_in_group[t].push((r, k));
            }
        }
        FogAssociation {
            active,
            serving,
            trusted_in_group,
        }
    }

    /// T_k: the RRHs where user `k` (of group `t`) is a co-pilot interferer's victim, i.e. group
    /// t is trusted for another user.
    pub fn copilot_interferers(&self, k: usize, t: usize) -> impl Iterator<Item = usize> + '_ {
        self.trusted_in_group[t]
            .iter()
            .filter(move |&&(_, j)| j != k)
            .map(|&(r, _)| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_follow_the_decisions() {
        // 3 RRHs, 2 groups; users 0, 1 in group 0, user 2 in group 1
        let group = [0, 0, 1];
        let mut d = TrustDecisions::untrusted(3, 2);
        d.set(0, 0, Some(0));
        d.set(0, 1, Some(2));
        d.set(1, 0, Some(0)); // macro-diversity for user 0
        d.set(2, 0, Some(1)); // co-pilot interferer of user 0
        let a = FogAssociation::new(&d, &group);
        assert_eq!(a.active, vec![vec![0, 2], vec![0], vec![1]]);
        assert_eq!(a.serving, vec![vec![0, 1], vec![2], vec![0]]);
        assert_eq!(a.copilot_interferers(0, 0).collect::<Vec<_>>(), vec![2]);
        assert_eq!(a.copilot_interferers(1, 0).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(a.copilot_interferers(2, 1).count(), 0);
    }
}

//! Who sits where, and with which deal: seat rotation, duplicate deals and the seeds derived
//! from the run seed.

/// A seed derived from the run seed and a few indices (SplitMix64 over them), so that episode
/// deals and agents' generators are independent and reproducible.
pub(crate) fn derive(seed: u64, parts: &[u64]) -> u64 {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15;
    for p in parts {
        x = x.wrapping_add(p.wrapping_mul(0xBF58_476D_1CE4_E5B9) ^ 0x94D0_49BB_1331_11EB);
        x ^= x >> 30;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 27;
        x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^= x >> 31;
    }
    x
}

/// The seating of one episode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seating {
    /// The deal: episodes with the same deal get the same environment seed.
    pub deal: u64,
    /// The environment's seed.
    pub env_seed: u64,
    /// `agent_at[seat]`: the agent (spec index) in each seat.
    pub agent_at: Vec<usize>,
}

impl Seating {
    /// The seat of `agent`.
    pub fn seat_of(&self, agent: usize) -> usize {
        self.agent_at.iter().position(|&a| a == agent).unwrap_or(0)
    }
}

/// The seating of episode `e` with `seats` seats. Duplicate: episodes come in groups of
/// `seats`, one deal per group, the agents rotated through every seat; otherwise one deal per
/// episode, rotated when `swap` is set.
pub(crate) fn seating(seed: u64, e: u64, seats: usize, swap: bool, duplicate: bool) -> Seating {
    let n = seats.max(1) as u64;
    let (deal, rotation) = if duplicate {
        (e / n, (e % n) as usize)
    } else if swap {
        (e, (e % n) as usize)
    } else {
        (e, 0)
    };
    Seating {
        deal,
        env_seed: derive(seed, &[1, deal]),
        agent_at: (0..seats).map(|s| (s + rotation) % seats).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_deals_repeat_with_the_seats_exchanged() {
        let a = seating(7, 4, 2, false, true);
        let b = seating(7, 5, 2, false, true);
        assert_eq!(a.env_seed, b.env_seed);
        assert_eq!(
            (a.agent_at.clone(), b.agent_at.clone()),
            (vec![0, 1], vec![1, 0])
        );
        assert_ne!(seating(7, 6, 2, false, true).env_seed, a.env_seed);
        assert_eq!(b.seat_of(0), 1);
    }

    #[test]
    fn swapping_rotates_with_fresh_deals() {
        let a = seating(1, 0, 3, true, false);
        let b = seating(1, 1, 3, true, false);
        assert_ne!(a.env_seed, b.env_seed);
        assert_eq!(b.agent_at, vec![1, 2, 0]);
        assert_eq!(seating(1, 1, 3, false, false).agent_at, vec![0, 1, 2]);
    }
}

//! Results of an episode run: each agent's return per episode, and the summary per agent (mean
//! return with a 95 % interval over deals: with duplicate deals the unit is the deal, whose
//! rotations' returns are averaged first, so the luck of the cards cancels).

use std::collections::BTreeMap;

use assay_sdk::{Column, Table};

/// (episode, deal, agent, seat, return, faults)
type Row = (u64, u64, usize, usize, f64, u64);

/// Every agent's return in every finished episode.
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    rows: Vec<Row>,
}

impl Tally {
    pub fn add(
        &mut self,
        episode: u64,
        deal: u64,
        agent: usize,
        seat: usize,
        ret: f64,
        faults: u64,
    ) {
        self.rows.push((episode, deal, agent, seat, ret, faults));
    }

    /// The rows as bytes, for checkpoints (six little-endian 8-byte words per row).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.rows.len() * 48);
        for r in &self.rows {
            for w in [r.0, r.1, r.2 as u64, r.3 as u64, r.4.to_bits(), r.5] {
                out.extend(w.to_le_bytes());
            }
        }
        out
    }

    /// Reads what [`Tally::to_bytes`] wrote; `None` if the length is not whole rows.
    pub fn from_bytes(b: &[u8]) -> Option<Tally> {
        if !b.len().is_multiple_of(48) {
            return None;
        }
        let word = |c: &[u8], i: usize| -> Option<u64> {
            Some(u64::from_le_bytes(
                c.get(i * 8..i * 8 + 8)?.try_into().ok()?,
            ))
        };
        let mut rows = Vec::new();
        for c in b.chunks(48) {
            rows.push((
                word(c, 0)?,
                word(c, 1)?,
                word(c, 2)? as usize,
                word(c, 3)? as usize,
                f64::from_bits(word(c, 4)?),
                word(c, 5)?,
            ));
        }
        Some(Tally { rows })
    }

    /// The rows of episodes `from..to`, as table `episode_results` (rows are added in episode
    /// order, so the range is found by binary search).
    pub fn episode_table(&self, from: u64, to: u64, labels: &[String]) -> Table {
        let lo = self.rows.partition_point(|r| r.0 < from);
        let hi = self.rows.partition_point(|r| r.0 < to);
        let rows = &self.rows[lo..hi];
        let int = |f: &dyn Fn(&Row) -> i64| Column::I64(rows.iter().map(|r| Some(f(r))).collect());
        Table::new("episode_results")
            .column("episode", int(&|r| r.0 as i64))
            .column("deal", int(&|r| r.1 as i64))
            .column(
                "agent",
                Column::Str(rows.iter().map(|r| Some(labels[r.2].clone())).collect()),
            )
            .column("agent_index", int(&|r| r.2 as i64))
            .column("seat", int(&|r| r.3 as i64))
            .column(
                "return",
                Column::F64(rows.iter().map(|r| Some(r.4)).collect()),
            )
            .column("faults", int(&|r| r.5 as i64))
    }

    /// Per agent: episodes, deals, mean return, standard error over deals, 95 % interval,
    /// faults.
    pub fn summary(&self, labels: &[String]) -> Vec<Summary> {
        (0..labels.len())
            .map(|a| {
                let mine: Vec<_> = self.rows.iter().filter(|r| r.2 == a).collect();
                let mut by_deal: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
                for r in &mine {
                    let e = by_deal.entry(r.1).or_default();
                    e.0 += r.4;
                    e.1 += 1.0;
                }
                let xs: Vec<f64> = by_deal.values().map(|(s, n)| s / n).collect();
                let n = xs.len() as f64;
                let mean = if n > 0.0 {
                    xs.iter().sum::<f64>() / n
                } else {
                    f64::NAN
                };
                let se = if n > 1.0 {
                    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
                    (var / n).sqrt()
                } else {
                    f64::NAN
                };
                Summary {
                    agent: a,
                    episodes: mine.len() as u64,
                    deals: xs.len() as u64,
                    mean,
                    se,
                    faults: mine.iter().map(|r| r.5).sum(),
                }
            })
            .collect()
    }
}

/// One agent's results.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub agent: usize,
    pub episodes: u64,
    pub deals: u64,
    pub mean: f64,
    pub se: f64,
    pub faults: u64,
}

/// Table `agent_results`.
pub(crate) fn summary_table(rows: &[Summary], labels: &[String], plugins: &[String]) -> Table {
    let f = |g: &dyn Fn(&Summary) -> f64| Column::F64(rows.iter().map(|r| Some(g(r))).collect());
    Table::new("agent_results")
        .column(
            "agent",
            Column::Str(rows.iter().map(|r| Some(labels[r.agent].clone())).collect()),
        )
        .column(
            "agent_index",
            Column::I64(rows.iter().map(|r| Some(r.agent as i64)).collect()),
        )
        .column(
            "plugin",
            Column::Str(
                rows.iter()
                    .map(|r| Some(plugins[r.agent].clone()))
                    .collect(),
            ),
        )
        .column(
            "episodes",
            Column::I64(rows.iter().map(|r| Some(r.episodes as i64)).collect()),
        )
        .column(
            "deals",
            Column::I64(rows.iter().map(|r| Some(r.deals as i64)).collect()),
        )
        .column("mean_return", f(&|r| r.mean))
        .column("se", f(&|r| r.se))
        .column("ci95_lo", f(&|r| r.mean - 1.96 * r.se))
        .column("ci95_hi", f(&|r| r.mean + 1.96 * r.se))
        .column(
            "faults",
            Column::I64(rows.iter().map(|r| Some(r.faults as i64)).collect()),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_deals_are_averaged_before_the_error() {
        let mut t = Tally::default();
        // Deal 0: agent 0 wins 3 then loses 1 with the seats exchanged; deal 1: +1, +1.
        t.add(0, 0, 0, 0, 3.0, 0);
        t.add(1, 0, 0, 1, -1.0, 0);
        t.add(2, 1, 0, 0, 1.0, 1);
        t.add(3, 1, 0, 1, 1.0, 0);
        let back = Tally::from_bytes(&t.to_bytes()).unwrap();
        assert_eq!(back.rows, t.rows);
        let s = &t.summary(&["a".into()])[0];
        assert_eq!((s.episodes, s.deals, s.faults), (4, 2, 1));
        assert_eq!(s.mean, 1.0);
        assert_eq!(s.se, 0.0);
    }
}

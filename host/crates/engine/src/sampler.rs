//! Which examples each training step sees.

use std::collections::HashMap;

use assay_sdk::init;

/// The batch indices of training step `step` (1-based): consecutive slices of per-epoch
/// permutations drawn from the run seed, so any step's batch is known without replaying the
/// ones before it.
pub(crate) struct Sampler {
    seed: u64,
    n: usize,
    batch: usize,
    cache: HashMap<u64, Vec<usize>>,
}

impl Sampler {
    pub fn new(seed: u64, n: usize, batch: usize) -> Self {
        let batch = if batch == 0 || batch > n { n } else { batch };
        Sampler {
            seed,
            n,
            batch,
            cache: HashMap::new(),
        }
    }

    pub fn full_batch(&self) -> bool {
        self.batch == self.n
    }

    fn permutation(&mut self, epoch: u64) -> &[usize] {
        if !self.cache.contains_key(&epoch) {
            use assay_sdk::rand::seq::SliceRandom;
            let mut p: Vec<usize> = (0..self.n).collect();
            p.shuffle(&mut init::rng(self.seed, &format!("batches/{epoch}")));
            self.cache.retain(|e, _| *e + 1 >= epoch);
            self.cache.insert(epoch, p);
        }
        &self.cache[&epoch]
    }

    pub fn indices(&mut self, step: u64) -> Vec<usize> {
        if self.full_batch() {
            return (0..self.n).collect();
        }
        let start = (step - 1) * self.batch as u64;
        (start..start + self.batch as u64)
            .map(|k| {
                let (epoch, i) = (k / self.n as u64, (k % self.n as u64) as usize);
                self.permutation(epoch)[i]
            })
            .collect()
    }
}

//! Python's `random` module, bit for bit: the Mersenne Twister (MT19937) seeded as
//! `random.seed(n)` seeds it for a non-negative integer, and the calls the paper's scramblers
//! make (`random()`, `getrandbits`, `_randbelow`, `sample`, `choice`).
//!
//! The paper's `process.py` draws every scramble from Python's global generator, reseeded
//! (default seed 10) before each pass over the corpus; reproducing its draws needs its generator.
//! `tests/python_random.json` holds values printed by CPython 3.11 for these calls, which the
//! tests compare against.

/// Words of state.
const N: usize = 624;
/// The twist's offset.
const M: usize = 397;

/// A Mersenne Twister seeded and read as CPython's `random.Random` is.
#[derive(Clone)]
pub struct PyRandom {
    state: [u32; N],
    index: usize,
}

impl std::fmt::Debug for PyRandom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyRandom")
            .field("index", &self.index)
            .finish()
    }
}

impl PyRandom {
    /// The generator after `random.seed(seed)`: `init_by_array` over the 32-bit words of the
    /// seed, least significant first (`[0]` for zero).
    pub fn new(seed: u64) -> Self {
        let lo = seed as u32;
        let hi = (seed >> 32) as u32;
        let key: Vec<u32> = if hi == 0 { vec![lo] } else { vec![lo, hi] };
        let mut r = PyRandom {
            state: [0; N],
            index: N,
        };
        r.init_genrand(19_650_218);
        let mt = &mut r.state;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = mt[i - 1] ^ (mt[i - 1] >> 30);
            mt[i] = (mt[i] ^ prev.wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        r
    }

    fn init_genrand(&mut self, s: u32) {
        self.state[0] = s;
        for i in 1..N {
            let prev = self.state[i - 1];
            self.state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn twist(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        let mag = |y: u32| if y & 1 == 1 { 0x9908_b0df } else { 0 };
        let mt = &mut self.state;
        for k in 0..N {
            let y = (mt[k] & UPPER) | (mt[(k + 1) % N] & LOWER);
            mt[k] = mt[(k + M) % N] ^ (y >> 1) ^ mag(y);
        }
        self.index = 0;
    }

    /// The next 32 random bits (`genrand_uint32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random.random()`: a float in [0, 1) with 53 random bits.
    pub fn random(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `random.getrandbits(k)` for `k <= 64`: 32-bit words, least significant first, the last
    /// one shifted down to the bits still wanted.
    pub fn getrandbits(&mut self, k: u32) -> u64 {
        let mut out = 0u64;
        let mut left = k.min(64);
        let mut shift = 0;
        while left > 0 {
            let mut word = self.next_u32();
            if left < 32 {
                word >>= 32 - left;
            }
            out |= u64::from(word) << shift;
            shift += 32;
            left = left.saturating_sub(32);
        }
        out
    }

    /// `random._randbelow(n)`: rejection sampling over `n.bit_length()` bits; 0 when `n` is 0.
    pub fn randbelow(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        let k = usize::BITS - n.leading_zeros();
        loop {
            let r = self.getrandbits(k) as usize;
            if r < n {
                return r;
            }
        }
    }

    /// `random.sample(population, k)` (CPython 3.11's algorithm: a pool for small populations,
    /// a set of chosen indices for large ones); `k` is capped at the population's size.
    pub fn sample<T: Clone>(&mut self, population: &[T], k: usize) -> Vec<T> {
        let n = population.len();
        let k = k.min(n);
        let mut setsize = 21usize;
        if k > 5 {
            let exponent = ((k as f64 * 3.0).ln() / 4f64.ln()).ceil() as u32;
            setsize += 4usize.saturating_pow(exponent);
        }
        let mut out = Vec::with_capacity(k);
        if n <= setsize {
            let mut pool = population.to_vec();
            for i in 0..k {
                let j = self.randbelow(n - i);
                out.push(pool[j].clone());
                pool[j] = pool[n - i - 1].clone();
            }
        } else {
            let mut chosen = std::collections::HashSet::with_capacity(k);
            for _ in 0..k {
                let mut j = self.randbelow(n);
                while chosen.contains(&j) {
                    j = self.randbelow(n);
                }
                chosen.insert(j);
                out.push(population[j].clone());
            }
        }
        out
    }

    /// `random.choice(seq)`; `None` for an empty slice.
    pub fn choice<'a, T>(&mut self, seq: &'a [T]) -> Option<&'a T> {
        if seq.is_empty() {
            return None;
        }
        let i = self.randbelow(seq.len());
        seq.get(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What CPython printed for the same calls (`tests/python_random.py`).
    fn fixture() -> serde_json::Value {
        serde_json::from_str(include_str!("../tests/python_random.json")).expect("fixture")
    }

    fn ints(v: &serde_json::Value) -> Vec<u64> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_u64().expect("integer"))
            .collect()
    }

    #[test]
    fn draws_equal_cpythons_for_the_same_seed() {
        let f = fixture();
        for case in f["cases"].as_array().expect("cases") {
            let seed = case["seed"].as_u64().expect("seed");
            let mut r = PyRandom::new(seed);
            let floats: Vec<u64> = (0..5).map(|_| r.random().to_bits()).collect();
            assert_eq!(floats, ints(&case["random"]), "random() for seed {seed}");
            let bits: Vec<u64> = [1, 7, 31, 32, 33, 64]
                .iter()
                .map(|&k| r.getrandbits(k))
                .collect();
            assert_eq!(bits, ints(&case["getrandbits"]), "seed {seed}");
            let below: Vec<u64> = [1usize, 2, 3, 10, 51, 1000, 70_000]
                .iter()
                .map(|&n| r.randbelow(n) as u64)
                .collect();
            assert_eq!(below, ints(&case["randbelow"]), "seed {seed}");
            let small: Vec<usize> = (0..10).collect();
            let s1: Vec<u64> = r.sample(&small, 4).iter().map(|&x| x as u64).collect();
            assert_eq!(s1, ints(&case["sample_small"]), "seed {seed}");
            let large: Vec<usize> = (0..500).collect();
            let s2: Vec<u64> = r.sample(&large, 30).iter().map(|&x| x as u64).collect();
            assert_eq!(s2, ints(&case["sample_large"]), "seed {seed}");
            let all: Vec<u64> = r.sample(&small, 10).iter().map(|&x| x as u64).collect();
            assert_eq!(all, ints(&case["sample_all"]), "seed {seed}");
            let letters: Vec<char> = "abcdefghijklmnopqrstuvwxyz".chars().collect();
            let chosen: String = (0..8).filter_map(|_| r.choice(&letters)).collect();
            assert_eq!(
                chosen,
                case["choice"].as_str().expect("choice"),
                "seed {seed}"
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_stream_and_another_seed_another() {
        let a: Vec<u32> = {
            let mut r = PyRandom::new(10);
            (0..1000).map(|_| r.next_u32()).collect()
        };
        let b: Vec<u32> = {
            let mut r = PyRandom::new(10);
            (0..1000).map(|_| r.next_u32()).collect()
        };
        let c: Vec<u32> = {
            let mut r = PyRandom::new(11);
            (0..1000).map(|_| r.next_u32()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut r = PyRandom::new(3);
        assert!((0..1000).all(|_| r.randbelow(7) < 7));
        assert_eq!(r.randbelow(0), 0);
        assert!(r.choice::<u8>(&[]).is_none());
        assert_eq!(r.sample(&[1, 2, 3], 9).len(), 3);
    }
}

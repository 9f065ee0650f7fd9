//! A small, fixed pseudo-random generator, written out here so that "same seed, same bytes"
//! holds forever: no dependency update can change the stream.
//!
//! SplitMix64 derives seeds; xoshiro256** draws the numbers. Every household, village and
//! township gets its own stream, derived from (seed, purpose, index), so that one part of
//! the register never shifts another: the clean data of a seed is the same whatever the
//! error rate, and any household can be regenerated on its own.
//!
//! Only integer arithmetic and plain IEEE comparisons are used — no `ln`/`exp`, whose last
//! bits may differ between platforms' math libraries.

/// The SplitMix64 finaliser: a strong 64-bit mixing function.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64 (Steele, Lea, Flood 2014), used to expand one word into a xoshiro state.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }
}

/// Purposes of streams; distinct constants keep streams of different kinds apart.
#[derive(Clone, Copy)]
#[repr(u64)]
pub enum Purpose {
    Township = 0x7A3B_0001,
    Village = 0x7A3B_0002,
    Household = 0x7A3B_0003,
    Injection = 0x7A3B_0004,
}

/// xoshiro256** (Blackman, Vigna 2018).
#[derive(Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator seeded from one word.
    pub fn new(seed: u64) -> Rng {
        let mut sm = SplitMix64::new(seed);
        let s = [sm.next_u64(), sm.next_u64(), sm.next_u64(), sm.next_u64()];
        Rng { s }
    }

    /// The independent stream for (seed, purpose, index).
    pub fn stream(seed: u64, purpose: Purpose, index: u64) -> Rng {
        let p = purpose as u64;
        Rng::new(mix64(
            seed ^ mix64(p.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ mix64(index)),
        ))
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in 0..n (n > 0), by the multiply-shift method; the bias (< n / 2^64) is
    /// far below anything that matters here.
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in lo..=hi.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        debug_assert!(lo <= hi);
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `per_10k` / 10,000.
    pub fn chance(&mut self, per_10k: u32) -> bool {
        self.below(10_000) < u64::from(per_10k)
    }

    /// Uniform in [0, 1) with 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// An index into `weights`, chosen with probability proportional to its weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u32 = weights.iter().sum();
        let mut x = self.below(u64::from(total)) as u32;
        for (i, &w) in weights.iter().enumerate() {
            if x < w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// One of `items`, with weights.
    pub fn pick<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.below(u64::from(total)) as u32;
        for &(item, w) in items {
            if x < w {
                return item;
            }
            x -= w;
        }
        items[items.len() - 1].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // First outputs of SplitMix64 seeded with 0 (reference implementation).
        let mut sm = SplitMix64::new(0);
        assert_eq!(sm.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(sm.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn streams_are_fixed_and_distinct() {
        let a = Rng::stream(42, Purpose::Household, 7).next_u64();
        let b = Rng::stream(42, Purpose::Household, 8).next_u64();
        let c = Rng::stream(42, Purpose::Village, 7).next_u64();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, Rng::stream(42, Purpose::Household, 7).next_u64());
    }

    #[test]
    fn below_and_weighted_stay_in_range() {
        let mut r = Rng::new(1);
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            assert!(r.below(10) < 10);
            counts[r.weighted(&[1, 2, 7])] += 1;
        }
        assert!(counts[2] > counts[1] && counts[1] > counts[0]);
        let u = r.unit();
        assert!((0.0..1.0).contains(&u));
    }
}

//! Near-duplicate detection: MinHash signatures over token n-gram shingles of `python`
//! ([`warpsmith_ast::text::shingles`]), locality-sensitive hashing (LSH) with banding to find candidate pairs,
//! exact Jaccard similarity to confirm them, and union-find to group confirmed pairs into clusters.
//!
//! Method: Broder, "On the resemblance and containment of documents" (1997) for MinHash; Leskovec, Rajaraman
//! and Ullman, *Mining of Massive Datasets*, ch. 3.4, for banding. A pair with Jaccard `s` becomes a candidate
//! with probability `1 - (1 - s^r)^b` for `b` bands of `r` rows. [`Lsh::new`] picks the largest `r` (at most 8,
//! with `b = 128 / r`) whose probability at the threshold is at least 0.995, so at most 0.5% of pairs exactly at
//! the threshold are missed, fewer above it (default 0.8: `r = 6`, `b = 21`, 99.8% at 0.8, 99.99% at 0.9).
//! Candidates are confirmed with the exact Jaccard of the shingle sets, so there are no false positives.
//!
//! Memory: the shingle sets are kept (about 8 bytes per distinct shingle, a few KB per kernel).

use std::collections::HashMap;

use warpsmith_ast::text::{jaccard, shingles};

/// The default Jaccard threshold over token 5-grams (issue 5).
pub const DEFAULT_THRESHOLD: f64 = 0.8;
/// The default shingle length, tokens.
pub const DEFAULT_NGRAM: usize = 5;
/// MinHash permutations available to the bands.
const PERMUTATIONS: usize = 128;

/// An LSH index over shingle sets that answers "which indexed items have Jaccard ≥ threshold with this one".
pub struct Lsh {
    threshold: f64,
    ngram: usize,
    rows: usize,
    bands: Vec<HashMap<u64, Vec<u32>>>,
    sets: Vec<Vec<u64>>,
}

/// SplitMix64 finaliser (Steele, Lea and Flood, 2014): a bijective 64-bit mix used as the i-th hash function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Lsh {
    /// An empty index for Jaccard `threshold` (in (0, 1]) over `ngram`-token shingles.
    pub fn new(threshold: f64, ngram: usize) -> Self {
        let t = threshold.clamp(1e-3, 1.0);
        let rows = (1..=8)
            .rev()
            .find(|&r| 1.0 - (1.0 - t.powi(r as i32)).powi((PERMUTATIONS / r) as i32) >= 0.995)
            .unwrap_or(1);
        let nbands = PERMUTATIONS / rows;
        Lsh { threshold, ngram: ngram.max(1), rows, bands: vec![HashMap::new(); nbands], sets: Vec::new() }
    }

    /// Rows per band and bands, as chosen by [`Lsh::new`].
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.bands.len())
    }

    /// The shingle set of a text, as this index computes it.
    pub fn shingle(&self, text: &str) -> Vec<u64> {
        shingles(text, self.ngram)
    }

    fn band_keys(&self, set: &[u64]) -> Vec<u64> {
        let mut sig = vec![u64::MAX; self.rows * self.bands.len()];
        for &x in set {
            for (i, s) in sig.iter_mut().enumerate() {
                let h = mix(x ^ mix(i as u64 + 1));
                if h < *s {
                    *s = h;
                }
            }
        }
        sig.chunks(self.rows).enumerate().map(|(b, rows)| rows.iter().fold(mix(b as u64), |k, &v| mix(k ^ v))).collect()
    }

    /// Indexed items whose exact Jaccard with `set` is at least the threshold, ascending, each with its
    /// similarity.
    pub fn neighbours(&self, set: &[u64]) -> Vec<(usize, f64)> {
        let mut candidates: Vec<u32> = Vec::new();
        for (band, key) in self.bands.iter().zip(self.band_keys(set)) {
            if let Some(items) = band.get(&key) {
                candidates.extend_from_slice(items);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .map(|i| (i as usize, jaccard(set, &self.sets[i as usize])))
            .filter(|&(_, j)| j >= self.threshold)
            .collect()
    }

    /// Adds a shingle set; returns its index (0, 1, 2, ... in insertion order).
    pub fn insert(&mut self, set: Vec<u64>) -> usize {
        let i = self.sets.len();
        let keys = self.band_keys(&set);
        for (band, key) in self.bands.iter_mut().zip(keys) {
            band.entry(key).or_default().push(i as u32);
        }
        self.sets.push(set);
        i
    }
}

/// Groups `texts` into near-duplicate clusters: items `i` and `j` are joined when the exact Jaccard of their
/// shingle sets is at least `threshold` (transitively, by union-find). Returns, for each item, the index of its
/// cluster's representative: the smallest index in the cluster. Deterministic in the order of `texts`.
pub fn clusters(texts: &[&str], threshold: f64, ngram: usize) -> Vec<usize> {
    let mut lsh = Lsh::new(threshold, ngram);
    let mut parent: Vec<usize> = (0..texts.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (i, text) in texts.iter().enumerate() {
        let set = lsh.shingle(text);
        for (j, _) in lsh.neighbours(&set) {
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            // the smaller index becomes the root, so the root is the cluster's first item
            let (lo, hi) = (a.min(b), a.max(b));
            parent[hi] = lo;
        }
        lsh.insert(set);
    }
    (0..texts.len()).map(|i| root(&mut parent, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kernel(body: &str) -> String {
        format!("import warp as wp\n\n@wp.kernel\ndef k(a: wp.array(dtype=wp.float32)):\n    tid = wp.tid()\n{body}")
    }

    #[test]
    fn banding_reaches_the_documented_recall() {
        let (r, b) = Lsh::new(0.8, 5).shape();
        assert_eq!((r, b), (6, 21));
        assert!(1.0 - (1.0 - 0.8f64.powi(6)).powi(21) > 0.998);
        let (r, _) = Lsh::new(0.5, 5).shape();
        assert!(r < 6);
    }

    #[test]
    fn clusters_join_near_copies_transitively_and_keep_the_first_as_representative() {
        let lines: String = (0..12).map(|i| format!("    x{i} = a[tid] * {i}.5 + wp.sin(a[tid])\n")).collect();
        let base = kernel(&lines);
        let near = base.replace("11.5", "17.25");
        let nearer = near.replace("10.5", "19.75");
        let other = kernel("    for i in range(4):\n        a[tid] = wp.cos(a[tid]) / 3.0\n");
        let texts = [other.as_str(), base.as_str(), near.as_str(), nearer.as_str()];
        assert_eq!(clusters(&texts, 0.8, 5), vec![0, 1, 1, 1]);
        // at threshold 1.0 only exact shingle-set copies join
        assert_eq!(clusters(&texts, 1.0, 5), vec![0, 1, 2, 3]);
    }

    #[test]
    fn recall_at_the_threshold_on_random_sets() {
        // sets with a known Jaccard of 0.82: 82 shared of 100 in the union
        let mut missed = 0;
        for trial in 0..400u64 {
            let shared: Vec<u64> = (0..82).map(|i| mix(trial * 1000 + i)).collect();
            let mut a = shared.clone();
            a.extend((0..9).map(|i| mix(trial * 1000 + 500 + i)));
            let mut b = shared;
            b.extend((0..9).map(|i| mix(trial * 1000 + 700 + i)));
            a.sort_unstable();
            b.sort_unstable();
            let mut lsh = Lsh::new(0.8, 5);
            lsh.insert(a);
            if lsh.neighbours(&b).is_empty() {
                missed += 1;
            }
        }
        assert!(missed <= 4, "missed {missed} of 400 pairs at Jaccard 0.82");
    }

    proptest! {
        #[test]
        fn a_representative_is_its_own_and_the_smallest_member(n in 1usize..12, seed in 0u64..1000) {
            let texts: Vec<String> = (0..n).map(|i| kernel(&format!("    a[tid] = {}.0\n", mix(seed + (i % 3) as u64) % 4))).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let reps = clusters(&refs, 0.8, 5);
            for (i, &r) in reps.iter().enumerate() {
                prop_assert!(r <= i);
                prop_assert_eq!(reps[r], r);
                for j in 0..i {
                    // identical texts always share a cluster
                    if texts[j] == texts[i] {
                        prop_assert_eq!(reps[j], r);
                    }
                }
            }
        }
    }
}

//! Near-duplicate detection: MinHash signatures over token n-gram shingles of `python`
//! ([`warpsmith_ast::text::shingles`]), locality-sensitive hashing (LSH) with banding to find candidate pairs,
//! the Jaccard similarity estimated from the signatures to confirm them, and union-find to group confirmed
//! pairs into clusters.
//!
//! Method: Broder, "On the resemblance and containment of documents" (1997) for MinHash; Leskovec, Rajaraman
//! and Ullman, *Mining of Massive Datasets*, ch. 3.3-3.4, for the estimate and for banding. A pair with Jaccard
//! `s` becomes a candidate with probability `1 - (1 - s^r)^b` for `b` bands of `r` rows. [`Lsh::new`] picks the
//! largest `r` (at most 8, with `b = 128 / r`) whose probability at the threshold is at least 0.995 (default
//! 0.8: `r = 6`, `b = 21`, 99.8% at 0.8, 99.99% at 0.9).
//!
//! The rule: two texts are near-duplicates when the fraction of their 128 MinHash values that agree is at least
//! the threshold. That fraction estimates the Jaccard similarity with a standard deviation of
//! `sqrt(s(1-s)/128)` (0.035 at 0.8), so pairs within a few hundredths of the threshold may fall either side;
//! pairs at 0.9 and above are found, pairs at 0.7 and below are not. The estimate is what the generator,
//! `validate` and `stats` all compute, so they agree exactly.
//!
//! Memory: one [`Signature`] (512 bytes) and 21 band entries per indexed text, whatever the text's length, so
//! the index of committed records of a long run stays small.

use std::collections::HashMap;

use warpsmith_ast::text::shingles;

/// The default Jaccard threshold over token 5-grams (issue 5).
pub const DEFAULT_THRESHOLD: f64 = 0.8;
/// The default shingle length, tokens.
pub const DEFAULT_NGRAM: usize = 5;
/// MinHash permutations: the length of a [`Signature`].
pub const PERMUTATIONS: usize = 128;

/// The MinHash signature of a text: for each of [`PERMUTATIONS`] hash functions, the low 32 bits of the
/// smallest hash over the text's shingles (`u32::MAX` for a text without shingles).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Signature(pub Vec<u32>);

impl Signature {
    /// The estimated Jaccard similarity: the fraction of positions where the two signatures agree.
    pub fn similarity(&self, other: &Signature) -> f64 {
        let same = self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count();
        same as f64 / self.0.len().max(1) as f64
    }
}

/// An LSH index over MinHash signatures that answers "which indexed items are near-duplicates of this one".
pub struct Lsh {
    threshold: f64,
    ngram: usize,
    rows: usize,
    bands: Vec<HashMap<u64, Vec<u32>>>,
    sigs: Vec<Signature>,
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
        Lsh { threshold, ngram: ngram.max(1), rows, bands: vec![HashMap::new(); nbands], sigs: Vec::new() }
    }

    /// Rows per band and bands, as chosen by [`Lsh::new`].
    pub fn shape(&self) -> (usize, usize) {
        (self.rows, self.bands.len())
    }

    /// Items indexed so far.
    pub fn len(&self) -> usize {
        self.sigs.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.sigs.is_empty()
    }

    /// The signature of a text, as this index computes it.
    pub fn signature(&self, text: &str) -> Signature {
        self.signature_of(&shingles(text, self.ngram))
    }

    /// The signature of a shingle set.
    pub fn signature_of(&self, set: &[u64]) -> Signature {
        let mut sig = vec![u64::MAX; PERMUTATIONS];
        for &x in set {
            for (i, s) in sig.iter_mut().enumerate() {
                let h = mix(x ^ mix(i as u64 + 1));
                if h < *s {
                    *s = h;
                }
            }
        }
        Signature(sig.into_iter().map(|v| v as u32).collect())
    }

    fn band_keys(&self, sig: &Signature) -> Vec<u64> {
        sig.0
            .chunks(self.rows)
            .take(self.bands.len())
            .enumerate()
            .map(|(b, rows)| rows.iter().fold(mix(b as u64), |k, &v| mix(k ^ u64::from(v))))
            .collect()
    }

    /// Indexed items whose estimated Jaccard with `sig` is at least the threshold, ascending, each with its
    /// similarity.
    pub fn neighbours(&self, sig: &Signature) -> Vec<(usize, f64)> {
        let mut candidates: Vec<u32> = Vec::new();
        for (band, key) in self.bands.iter().zip(self.band_keys(sig)) {
            if let Some(items) = band.get(&key) {
                candidates.extend_from_slice(items);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .map(|i| (i as usize, sig.similarity(&self.sigs[i as usize])))
            .filter(|&(_, j)| j >= self.threshold)
            .collect()
    }

    /// Adds a signature; returns its index (0, 1, 2, ... in insertion order).
    pub fn insert(&mut self, sig: Signature) -> usize {
        let i = self.sigs.len();
        let keys = self.band_keys(&sig);
        for (band, key) in self.bands.iter_mut().zip(keys) {
            band.entry(key).or_default().push(i as u32);
        }
        self.sigs.push(sig);
        i
    }
}

/// Groups `texts` into near-duplicate clusters: items `i` and `j` are joined when they are near-duplicates
/// under the module's rule (transitively, by union-find). Returns, for each item, the index of its cluster's
/// representative: the smallest index in the cluster. Deterministic in the order of `texts`.
pub fn clusters(texts: &[&str], threshold: f64, ngram: usize) -> Vec<usize> {
    let lsh = Lsh::new(threshold, ngram);
    let sigs: Vec<Signature> = texts.iter().map(|t| lsh.signature(t)).collect();
    clusters_of(sigs, threshold, ngram)
}

/// [`clusters`] over signatures already computed (in item order) with the same `ngram`.
pub fn clusters_of(sigs: impl IntoIterator<Item = Signature>, threshold: f64, ngram: usize) -> Vec<usize> {
    let mut lsh = Lsh::new(threshold, ngram);
    let mut parent: Vec<usize> = Vec::new();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for sig in sigs {
        let i = parent.len();
        parent.push(i);
        for (j, _) in lsh.neighbours(&sig) {
            let (a, b) = (root(&mut parent, i), root(&mut parent, j));
            // the smaller index becomes the root, so the root is the cluster's first item
            let (lo, hi) = (a.min(b), a.max(b));
            parent[hi] = lo;
        }
        lsh.insert(sig);
    }
    (0..parent.len()).map(|i| root(&mut parent, i)).collect()
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
    fn recall_and_precision_away_from_the_threshold_on_random_sets() {
        // sets with a known Jaccard: `shared` of 100 in the union; the estimate's sd is 0.027 at 0.9
        let pair = |trial: u64, shared: u64| {
            let common: Vec<u64> = (0..shared).map(|i| mix(trial * 1000 + i)).collect();
            let extra = (100 - shared) / 2;
            let mut a = common.clone();
            a.extend((0..extra).map(|i| mix(trial * 1000 + 500 + i)));
            let mut b = common;
            b.extend((0..100 - shared - extra).map(|i| mix(trial * 1000 + 700 + i)));
            (a, b)
        };
        let (mut missed, mut false_hits) = (0, 0);
        for trial in 0..400u64 {
            let mut lsh = Lsh::new(0.8, 5);
            let (a, b) = pair(trial, 90);
            lsh.insert(lsh.signature_of(&a));
            missed += usize::from(lsh.neighbours(&lsh.signature_of(&b)).is_empty());
            let mut lsh = Lsh::new(0.8, 5);
            let (a, b) = pair(trial + 10_000, 65);
            lsh.insert(lsh.signature_of(&a));
            false_hits += usize::from(!lsh.neighbours(&lsh.signature_of(&b)).is_empty());
        }
        assert!(missed <= 4, "missed {missed} of 400 pairs at Jaccard 0.9");
        assert!(false_hits <= 4, "{false_hits} of 400 pairs at Jaccard 0.65 taken for near-duplicates");
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

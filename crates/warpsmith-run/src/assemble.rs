//! The final dataset, assembled from the committed blocks into the staging area: near-duplicate clusters and
//! splits over every record (from the blocks' signatures), shards of at most `shard_rows` rows per split
//! written one block at a time, the failures and findings of every block, the manifest and the card.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use warpsmith_dataset::{FileEntry, Manifest, Record, RunInfo, SPLITS, ShardWriter, split_of};
use warpsmith_report::StatsBuilder;

use crate::journal::Journal;
use crate::outdir::OutDir;
use crate::{RunError, Settings, fault, index};

fn io(path: &Path, e: std::io::Error) -> RunError {
    RunError::Dataset(warpsmith_dataset::DatasetError::Io { action: "write", path: path.to_path_buf(), source: e })
}

/// The shards of one split: `data/{split}-NNNNN-of-MMMMM.parquet`, a new file every `shard_rows` rows.
struct SplitFiles {
    split: &'static str,
    shards: usize,
    shard_rows: usize,
    next: usize,
    current: Option<(String, ShardWriter)>,
    files: Vec<FileEntry>,
}

impl SplitFiles {
    fn push(&mut self, root: &Path, mut rows: &[&Record]) -> Result<(), RunError> {
        while !rows.is_empty() {
            if self.current.is_none() {
                let rel = format!("data/{}-{:05}-of-{:05}.parquet", self.split, self.next, self.shards);
                self.current = Some((rel.clone(), ShardWriter::create(&root.join(&rel))?));
                self.next += 1;
            }
            let Some((_, w)) = self.current.as_mut() else { break };
            let room = self.shard_rows - w.rows();
            let (now, later) = rows.split_at(room.min(rows.len()));
            w.write(now)?;
            rows = later;
            if w.rows() == self.shard_rows {
                self.close(root)?;
            }
        }
        Ok(())
    }

    fn close(&mut self, root: &Path) -> Result<(), RunError> {
        let Some((rel, w)) = self.current.take() else { return Ok(()) };
        let rows = w.close()?;
        let path = root.join(&rel);
        let hash = std::fs::File::open(&path)
            .and_then(|f| blake3::Hasher::new().update_reader(f).map(|h| h.finalize().to_hex().to_string()))
            .map_err(|e| io(&path, e))?;
        let bytes = std::fs::metadata(&path).map_err(|e| io(&path, e))?.len();
        self.files.push(FileEntry { path: rel, split: self.split.into(), rows, bytes, blake3: hash });
        Ok(())
    }
}

/// Copies every file of `from` (if it exists) into `to`.
pub(crate) fn copy_dir(from: &Path, to: &Path) -> Result<(), RunError> {
    let Ok(entries) = std::fs::read_dir(from) else { return Ok(()) };
    std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
    for e in entries.flatten() {
        let dest = to.join(e.file_name());
        std::fs::copy(e.path(), &dest).map_err(|err| io(&dest, err))?;
    }
    Ok(())
}

/// Writes the finished dataset into the staging area; returns its manifest.
pub(crate) fn assemble(
    out: &OutDir,
    journal: &Journal,
    _index: &index::Index,
    s: &Settings,
    info: RunInfo,
) -> Result<Manifest, RunError> {
    let root: PathBuf = out.staging();
    if root.exists() {
        std::fs::remove_dir_all(&root).map_err(|e| io(&root, e))?;
    }
    std::fs::create_dir_all(root.join("data")).map_err(|e| io(&root, e))?;
    // clusters over every record, in block then slot order, from the committed signatures
    let mut ids = Vec::new();
    let mut sigs = Vec::new();
    for b in &journal.blocks {
        for e in index::read_entries(out, b.index)? {
            ids.push(e.id);
            sigs.push(e.signature);
        }
    }
    let reps: Vec<usize> = if s.near_dup.keep {
        warpsmith_dataset::near_dup::clusters_of(sigs, s.near_dup.threshold, s.near_dup.ngram)
    } else {
        // near-duplicates were regenerated: every record is its own cluster
        drop(sigs);
        (0..ids.len()).collect()
    };
    let cluster_of = |i: usize| ids[reps[i]].clone();
    let mut per_split: BTreeMap<&str, usize> = SPLITS.iter().map(|s| (*s, 0)).collect();
    for i in 0..ids.len() {
        *per_split.entry(split_of(&ids[reps[i]])).or_insert(0) += 1;
    }
    let shard_rows = usize::try_from(s.shard_rows.max(1)).unwrap_or(usize::MAX);
    let mut files: Vec<SplitFiles> = SPLITS
        .iter()
        .map(|split| SplitFiles {
            split,
            shards: per_split[split].div_ceil(shard_rows),
            shard_rows,
            next: 0,
            current: None,
            files: Vec::new(),
        })
        .collect();
    let mut stats = StatsBuilder::new();
    let mut categories: BTreeMap<String, usize> = BTreeMap::new();
    let mut i = 0usize;
    // records stream from each block's shard into the split files, 64 at a time
    let mut pending: Vec<Vec<Record>> = vec![Vec::new(); files.len()];
    let mut mismatch = None;
    for b in &journal.blocks {
        let dir = out.block_dir(b.index);
        let mut failed: Result<(), RunError> = Ok(());
        warpsmith_dataset::for_each_record(&dir.join("records.parquet"), &mut |mut r| {
            if failed.is_err() {
                return;
            }
            if ids.get(i) != Some(&r.id) {
                mismatch.get_or_insert(b.index);
                return;
            }
            r.cluster = cluster_of(i);
            r.split = split_of(&r.cluster).to_string();
            stats.add(&r);
            *categories.entry(r.category.clone()).or_insert(0) += 1;
            i += 1;
            let k = SPLITS.iter().position(|s| *s == r.split).unwrap_or(0);
            pending[k].push(r);
            if pending[k].len() >= 64 {
                let rows: Vec<&Record> = pending[k].iter().collect();
                failed = files[k].push(&root, &rows);
                pending[k].clear();
            }
        })?;
        failed?;
        if let Some(block) = mismatch {
            return Err(RunError::Corrupt(format!("block {block} does not match its index.json")));
        }
        fault::point("assemble");
        copy_dir(&dir.join("failures"), &root.join("failures"))?;
        copy_dir(&dir.join("findings"), &root.join("findings"))?;
    }
    for (f, rows) in files.iter_mut().zip(&mut pending) {
        let refs: Vec<&Record> = rows.iter().collect();
        f.push(&root, &refs)?;
        rows.clear();
    }
    let mut entries = Vec::new();
    for f in &mut files {
        f.close(&root)?;
        entries.append(&mut f.files);
    }
    let splits: BTreeMap<String, usize> = per_split.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let statistics = warpsmith_report::card_section(&stats.finish(Some(&info)));
    let manifest = Manifest { format: 2, run: info, records: i, splits, categories, files: entries };
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| RunError::Corrupt(e.to_string()))?;
    warpsmith_dataset::atomic_write(
        &root.join("README.md"),
        warpsmith_dataset::dataset_card(&manifest, &statistics).as_bytes(),
    )?;
    warpsmith_dataset::atomic_write(&root.join("manifest.json"), &json)?;
    Ok(manifest)
}

//! The output directory: what may be written into, the lock, the run state under `DIR/.warpsmith`, and the
//! swap that puts a finished dataset in place.
//!
//! ```text
//! DIR/.warpsmith/lock                    held (flock) by the run; holds its PID
//! DIR/.warpsmith/journal.json            identity and committed blocks (journal.rs)
//! DIR/.warpsmith/part.json               a part's identity and computed blocks instead (parts.rs)
//! DIR/.warpsmith/blocks/NNNNN/           records.parquet, index.json, failures/, findings/ of block NNNNN
//! DIR/.warpsmith/tmp/                    scratch of workers and compilers (emptied at every start)
//! DIR/.warpsmith/staging/                the finished dataset before the swap
//! DIR/.warpsmith/swap.json, old/         during the swap only
//! ```
//! Everything else in `DIR` is the previous dataset (if any), untouched until the swap.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use warpsmith_dataset::{Manifest, RunIdentity};

use crate::RunError;
use crate::journal::Journal;

/// The run state directory's name inside `DIR`.
pub const STATE: &str = ".warpsmith";

/// The entries of `DIR` that a dataset consists of; the swap replaces exactly these (a replaced dataset's
/// `stats/` and `export/` are removed with it, since they describe the old records).
pub const ENTRIES: [&str; 7] = ["data", "failures", "findings", "stats", "export", "README.md", "manifest.json"];

/// An output directory, locked for this run.
pub struct OutDir {
    dir: PathBuf,
    state: PathBuf,
    _lock: File,
}

fn refused(m: String) -> RunError {
    RunError::Refused(m)
}

fn io(action: &str, path: &Path, e: std::io::Error) -> RunError {
    RunError::Dataset(warpsmith_dataset::DatasetError::Io {
        action: match action {
            "remove" => "remove",
            "rename" => "rename",
            "create" => "create",
            "read" => "read",
            _ => "write",
        },
        path: path.to_path_buf(),
        source: e,
    })
}

/// Removes `path` (file or directory) if it is there.
fn remove(path: &Path) -> Result<(), RunError> {
    match std::fs::symlink_metadata(path) {
        Err(_) => Ok(()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).map_err(|e| io("remove", path, e)),
        Ok(_) => std::fs::remove_file(path).map_err(|e| io("remove", path, e)),
    }
}

fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

impl OutDir {
    /// Opens `dir` for a run: creates it if missing; refuses (before any work) a directory that is neither
    /// empty nor a warpsmith dataset or run unless `force`, one it cannot write, and one another run holds;
    /// finishes a swap an earlier run was interrupted in.
    ///
    /// # Errors
    /// [`RunError::Refused`] naming the problem; nothing in `dir` was changed.
    pub fn open(dir: &Path, force: bool) -> Result<OutDir, RunError> {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| refused(format!("cannot create {}: {e}", dir.display())))?;
        }
        if !dir.is_dir() {
            return Err(refused(format!("{} is not a directory", dir.display())));
        }
        let state = dir.join(STATE);
        let ours = exists(&state.join("journal.json"))
            || exists(&state.join("part.json"))
            || exists(&state.join("swap.json"))
            || warpsmith_dataset::read_manifest(dir).is_ok();
        if !ours && !force {
            let entries = std::fs::read_dir(dir).map_err(|e| refused(format!("cannot read {}: {e}", dir.display())))?;
            let others: Vec<String> =
                entries.flatten().map(|e| e.file_name().to_string_lossy().to_string()).filter(|n| n != STATE).collect();
            if !others.is_empty() {
                return Err(refused(format!(
                    "{} is not empty and holds no warpsmith dataset or run (no manifest.json, no {STATE}/journal.json); \
                     choose a new or empty --out, or pass --force to write into it (its {} would be replaced)",
                    dir.display(),
                    ENTRIES.join(", ")
                )));
            }
        }
        std::fs::create_dir_all(&state).map_err(|e| refused(format!("cannot write to {}: {e}", dir.display())))?;
        let lock_path = state.join("lock");
        let mut lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| refused(format!("cannot write to {}: {e}", dir.display())))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = lock.read_to_string(&mut holder);
                return Err(refused(format!(
                    "another warpsmith run (PID {}) is writing {}; wait for it or stop it",
                    holder.trim(),
                    dir.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(refused(format!("cannot lock {}: {e}", lock_path.display())));
            }
        }
        let pid = std::process::id().to_string();
        lock.set_len(0)
            .and_then(|_| lock.rewind())
            .and_then(|_| lock.write_all(pid.as_bytes()))
            .map_err(|e| refused(format!("cannot write to {}: {e}", lock_path.display())))?;
        let out = OutDir { dir: dir.to_path_buf(), state, _lock: lock };
        if exists(&out.state.join("swap.json")) {
            // an earlier run finished its staging area and was stopped while swapping it in
            out.roll_forward()?;
            out.clear_run_state()?;
        }
        Ok(out)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// If `DIR` holds a finished dataset of exactly `identity` (no unfinished run, every listed file present
    /// with its size), its record count.
    pub fn finished_with(&self, identity: &RunIdentity) -> Option<u64> {
        if exists(&self.state.join("journal.json")) {
            return None;
        }
        let m: Manifest = warpsmith_dataset::read_manifest(&self.dir).ok()?;
        if m.run.identity.as_ref() != Some(identity) {
            return None;
        }
        let complete =
            m.files.iter().all(|f| std::fs::metadata(self.dir.join(&f.path)).is_ok_and(|md| md.len() == f.bytes));
        complete.then_some(m.records as u64)
    }

    fn journal_path(&self) -> PathBuf {
        self.state.join("journal.json")
    }

    /// The journal of the unfinished run in `DIR` if it has this identity (counted as a resume), else a new
    /// one (written at once, so the directory is recognised as a run). Block directories the journal does not
    /// list (work of an interrupted block) are removed.
    ///
    /// # Errors
    /// [`RunError::Refused`] when `DIR` holds an unfinished run of another identity and not `force`, naming the
    /// differences; [`RunError::Corrupt`] for a journal that does not parse (without `force`).
    pub fn journal(&self, identity: &RunIdentity, force: bool) -> Result<Journal, RunError> {
        let path = self.journal_path();
        let mut journal = match std::fs::read(&path) {
            Err(_) => None,
            Ok(bytes) => match serde_json::from_slice::<Journal>(&bytes) {
                Ok(j) => Some(j),
                Err(_) if force => None,
                Err(e) => {
                    return Err(RunError::Corrupt(format!(
                        "{} is not a warpsmith journal ({e}); pass --force to discard the unfinished run",
                        path.display()
                    )));
                }
            },
        };
        if let Some(j) = &journal
            && j.identity != *identity
        {
            if !force {
                let diffs = j.identity.differences(identity);
                return Err(refused(format!(
                    "{} holds an unfinished run with other settings (journal vs this command):\n  {}\n\
                     run the earlier command again to resume it, or pass --force to discard it",
                    self.dir.display(),
                    diffs.join("\n  ")
                )));
            }
            journal = None;
        }
        let journal = match journal {
            Some(mut j) => {
                j.resumes += 1;
                j
            }
            None => Journal::new(identity.clone()),
        };
        // block directories that the journal does not list are an interrupted block's work
        let blocks = self.state.join("blocks");
        if let Ok(entries) = std::fs::read_dir(&blocks) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let listed = name.parse::<u64>().is_ok_and(|b| journal.blocks.iter().any(|x| x.index == b));
                if !listed {
                    remove(&e.path())?;
                }
            }
        }
        for stale in ["staging", "old"] {
            remove(&self.state.join(stale))?;
        }
        self.write_journal(&journal)?;
        Ok(journal)
    }

    /// Replaces the journal atomically.
    ///
    /// # Errors
    /// [`RunError::Dataset`] naming the file.
    pub fn write_journal(&self, j: &Journal) -> Result<(), RunError> {
        let bytes = serde_json::to_vec_pretty(j).map_err(|e| RunError::Corrupt(e.to_string()))?;
        warpsmith_dataset::atomic_write(&self.journal_path(), &bytes)?;
        Ok(())
    }

    /// An empty scratch directory for workers and compilers (`DIR/.warpsmith/tmp`): what a killed run left
    /// there is removed first.
    ///
    /// # Errors
    /// [`RunError::Dataset`] naming the directory.
    pub fn scratch(&self) -> Result<PathBuf, RunError> {
        let tmp = self.state.join("tmp");
        remove(&tmp)?;
        std::fs::create_dir_all(&tmp).map_err(|e| io("create", &tmp, e))?;
        Ok(tmp)
    }

    /// The directory of block `b` (not created).
    pub fn block_dir(&self, b: u64) -> PathBuf {
        self.state.join("blocks").join(format!("{b:05}"))
    }

    /// The staging area.
    pub fn staging(&self) -> PathBuf {
        self.state.join("staging")
    }

    /// Swaps the staging area into `DIR`: the previous dataset's entries ([`ENTRIES`]) move out, the new ones
    /// in, then the old ones are deleted. A run stopped in the middle is finished by the next run in `DIR`.
    ///
    /// # Errors
    /// [`RunError::Dataset`] naming the entry that could not be moved.
    pub fn swap(&self) -> Result<(), RunError> {
        let staged: Vec<&str> = ENTRIES.iter().copied().filter(|e| exists(&self.staging().join(e))).collect();
        let plan = serde_json::json!({ "new": staged }).to_string();
        warpsmith_dataset::atomic_write(&self.state.join("swap.json"), plan.as_bytes())?;
        self.roll_forward()
    }

    /// Carries out `swap.json`; idempotent, so it can be repeated after an interruption at any point.
    fn roll_forward(&self) -> Result<(), RunError> {
        let plan_path = self.state.join("swap.json");
        let plan: serde_json::Value = std::fs::read(&plan_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| RunError::Corrupt(format!("{} cannot be read", plan_path.display())))?;
        let new: Vec<String> = plan["new"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let old = self.state.join("old");
        std::fs::create_dir_all(&old).map_err(|e| io("create", &old, e))?;
        for e in ENTRIES {
            let (cur, staged, kept) = (self.dir.join(e), self.staging().join(e), old.join(e));
            let is_new = new.iter().any(|n| n == e);
            // an entry still in staging, or one the new dataset lacks, is the previous dataset's
            if exists(&cur) && !exists(&kept) && (!is_new || exists(&staged)) {
                std::fs::rename(&cur, &kept).map_err(|err| io("rename", &cur, err))?;
                crate::fault::point("swap-entry");
            }
        }
        for e in &new {
            let (cur, staged) = (self.dir.join(e), self.staging().join(e));
            if exists(&staged) {
                std::fs::rename(&staged, &cur).map_err(|err| io("rename", &staged, err))?;
                crate::fault::point("swap-entry");
            }
        }
        if let Ok(d) = File::open(&self.dir) {
            // make the renames durable before the old dataset is deleted
            let _ = d.sync_all();
        }
        remove(&plan_path)?;
        remove(&old)?;
        remove(&self.staging())?;
        Ok(())
    }

    fn clear_run_state(&self) -> Result<(), RunError> {
        for e in ["journal.json", "blocks", "tmp", "staging", "old"] {
            remove(&self.state.join(e))?;
        }
        Ok(())
    }

    /// Ends a part's run (`generate --blocks`): its scratch directory is removed, its computed blocks and
    /// `part.json` stay for `merge`, and the lock is released.
    ///
    /// # Errors
    /// [`RunError::Dataset`] naming what could not be removed.
    pub fn finish_part(self) -> Result<(), RunError> {
        remove(&self.state.join("tmp"))
    }

    /// Removes the run state after a completed swap (the lock goes with it).
    ///
    /// # Errors
    /// [`RunError::Dataset`] naming what could not be removed.
    pub fn finish(self) -> Result<(), RunError> {
        self.clear_run_state()?;
        remove(&self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn read(path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }

    /// An old dataset in `dir` (with stats) and a complete staging area, `swap.json` written.
    fn half_swapped(dir: &Path) {
        write(&dir.join("data/train-00000-of-00001.parquet"), "old shard");
        write(&dir.join("manifest.json"), "old manifest");
        write(&dir.join("README.md"), "old card");
        write(&dir.join("stats/report.md"), "old report");
        write(&dir.join("notes.txt"), "the user's");
        let staging = dir.join(STATE).join("staging");
        write(&staging.join("data/train-00000-of-00001.parquet"), "new shard");
        write(&staging.join("manifest.json"), "new manifest");
        write(&staging.join("README.md"), "new card");
        write(&dir.join(STATE).join("swap.json"), r#"{"new": ["data", "README.md", "manifest.json"]}"#);
    }

    fn assert_swapped(dir: &Path) {
        assert_eq!(read(&dir.join("data/train-00000-of-00001.parquet")).as_deref(), Some("new shard"));
        assert_eq!(read(&dir.join("manifest.json")).as_deref(), Some("new manifest"));
        assert_eq!(read(&dir.join("README.md")).as_deref(), Some("new card"));
        assert!(!dir.join("stats").exists(), "the replaced dataset's stats go with it");
        assert_eq!(read(&dir.join("notes.txt")).as_deref(), Some("the user's"), "other files stay");
        assert!(!dir.join(STATE).join("swap.json").exists() && !dir.join(STATE).join("old").exists());
    }

    #[test]
    fn an_interrupted_swap_is_finished_from_any_step() {
        // stopped before any rename, after the old entries moved out, and after one new entry moved in
        for moved in 0..3 {
            let t = tempfile::tempdir().expect("tempdir");
            let dir = t.path();
            half_swapped(dir);
            let old = dir.join(STATE).join("old");
            if moved >= 1 {
                std::fs::create_dir_all(&old).expect("mkdir");
                for e in ["data", "README.md", "manifest.json", "stats"] {
                    std::fs::rename(dir.join(e), old.join(e)).expect("move out");
                }
            }
            if moved >= 2 {
                std::fs::rename(dir.join(STATE).join("staging/data"), dir.join("data")).expect("move in");
            }
            let out = OutDir::open(dir, false).expect("open finishes the swap");
            assert_swapped(dir);
            drop(out);
        }
    }

    #[test]
    fn foreign_directories_are_refused_and_a_held_lock_names_its_holder() {
        let t = tempfile::tempdir().expect("tempdir");
        write(&t.path().join("foreign/thesis.tex"), "mine");
        let err = OutDir::open(&t.path().join("foreign"), false).err().expect("refused");
        assert!(matches!(&err, RunError::Refused(m) if m.contains("not empty")), "{err}");
        assert!(!t.path().join("foreign").join(STATE).exists(), "nothing written into a refused directory");
        assert!(OutDir::open(&t.path().join("foreign"), true).is_ok(), "--force writes into it");

        let first = OutDir::open(&t.path().join("new"), false).expect("a new directory");
        let err = OutDir::open(&t.path().join("new"), false).err().expect("locked");
        let pid = std::process::id().to_string();
        assert!(matches!(&err, RunError::Refused(m) if m.contains(&format!("PID {pid}"))), "{err}");
        drop(first);
        assert!(OutDir::open(&t.path().join("new"), false).is_ok(), "free again once the holder is gone");
    }
}

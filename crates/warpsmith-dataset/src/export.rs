//! Exports for trainers: chat-format JSONL for supervised fine-tuning (one task per export), and the raw
//! records as JSONL. Both keep the splits: one file per split.
//!
//! SFT rows have the record's `id` and a `messages` column, a list of `{role, content}` with the roles `system`, `user` and
//! `assistant`: the conversational format that Hugging Face `datasets` loads with the `json` builder and that
//! TRL's `SFTTrainer` accepts as is. Prompt templates are [`SYSTEM_PROMPT`] and [`Task::instruction`]; code
//! is fenced in Markdown (```python, ```cpp, ```cuda) in both the prompt and the answer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{DatasetError, Record, SPLITS, io_err, read_records};

/// The system message of every SFT row.
pub const SYSTEM_PROMPT: &str = "You are an expert in NVIDIA Warp, C++ and CUDA. You translate Warp kernels \
written in Python into the code requested, exactly and completely, and answer with one fenced code block.";

/// What an SFT export teaches: Warp's Python kernel in, one code column out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Task {
    /// Python → the CUDA forward kernel function Warp emits (`cuda_forward`).
    PythonToCuda,
    /// Python → the CPU (C++) forward kernel function Warp emits (`cpu_forward`).
    PythonToCpp,
    /// Python → the CUDA adjoint (backward) kernel function Warp emits (`cuda_backward`).
    PythonToAdjoint,
    /// Python → warpsmith's standalone CUDA translation (`cuda_standalone`).
    PythonToStandaloneCuda,
}

impl Task {
    /// The user-message template; `{warp_version}` is replaced by the record's Warp version, and the Python
    /// module follows it in a fenced block.
    pub fn instruction(self) -> &'static str {
        match self {
            Task::PythonToCuda => {
                "Write the CUDA forward kernel function that NVIDIA Warp {warp_version} generates for this kernel \
                 (target sm_80)."
            }
            Task::PythonToCpp => {
                "Write the C++ CPU forward kernel function that NVIDIA Warp {warp_version} generates for this \
                 kernel."
            }
            Task::PythonToAdjoint => {
                "Write the CUDA adjoint (backward) kernel function that NVIDIA Warp {warp_version} generates for \
                 this kernel (target sm_80)."
            }
            Task::PythonToStandaloneCuda => {
                "Translate this NVIDIA Warp kernel into a self-contained CUDA C++ file without Warp headers: the \
                 kernel as a __global__ function, a host launcher, and a main() that runs it on the given test \
                 inputs and checks the outputs."
            }
        }
    }

    /// The answer: the record's column for this task and its fence language.
    pub fn target(self, r: &Record) -> (&str, &'static str) {
        match self {
            Task::PythonToCuda => (&r.cuda_forward, "cuda"),
            Task::PythonToCpp => (&r.cpu_forward, "cpp"),
            Task::PythonToAdjoint => (&r.cuda_backward, "cuda"),
            Task::PythonToStandaloneCuda => (&r.cuda_standalone, "cuda"),
        }
    }
}

/// One chat message.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// One SFT row.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct SftRow {
    /// The record's id: what `warpsmith eval` and the GRPO reward (`python/warpsmith_reward.py`) match a model's
    /// answer to. Trainers that read `messages` ignore it.
    pub id: String,
    /// System, user and assistant messages, in that order.
    pub messages: Vec<Message>,
}

/// The SFT row of `r` for `task`; `None` when the record has no such column (e.g. an empty
/// `cuda_standalone`).
pub fn sft_row(r: &Record, task: Task) -> Option<SftRow> {
    let (target, lang) = task.target(r);
    if target.trim().is_empty() {
        return None;
    }
    let user = format!(
        "{}\n\n```python\n{}\n```",
        task.instruction().replace("{warp_version}", &r.warp_version),
        r.python.trim_end()
    );
    let msg = |role: &str, content: String| Message { role: role.into(), content };
    Some(SftRow {
        id: r.id.clone(),
        messages: vec![
            msg("system", SYSTEM_PROMPT.into()),
            msg("user", user),
            msg("assistant", format!("```{lang}\n{}\n```", target.trim_end())),
        ],
    })
}

/// What to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Chat-format rows for one task.
    Sft(Task),
    /// The records themselves, every column.
    Jsonl,
}

/// The shards of `dir` by split (`data/<split>-NNNNN-of-MMMMM.parquet`), in file order.
///
/// # Errors
/// [`DatasetError::Io`] if `dir/data` cannot be listed.
pub fn shards(dir: &Path) -> Result<BTreeMap<String, Vec<PathBuf>>, DatasetError> {
    let data = dir.join("data");
    let mut out: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for entry in std::fs::read_dir(&data).map_err(io_err("list", &data))? {
        let p = entry.map_err(io_err("list", &data))?.path();
        let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if let Some(split) = SPLITS.iter().find(|s| name.starts_with(&format!("{s}-")) && name.ends_with(".parquet")) {
            out.entry(split.to_string()).or_default().push(p);
        }
    }
    out.values_mut().for_each(|v| v.sort());
    Ok(out)
}

/// Rows written per split, and records skipped because they lack the task's column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// `(split, rows, path)` for each file written.
    pub files: Vec<(String, usize, PathBuf)>,
    /// Records without the task's target column.
    pub skipped: usize,
}

/// Writes `out/<split>.jsonl` for each of the three splits of the dataset in `dir` (empty for a split without
/// rows).
///
/// # Errors
/// [`DatasetError`] for an unreadable shard or an unwritable output file.
pub fn export(dir: &Path, out: &Path, format: Format) -> Result<ExportSummary, DatasetError> {
    std::fs::create_dir_all(out).map_err(io_err("create", out))?;
    let mut summary = ExportSummary::default();
    let mut by_split = shards(dir)?;
    // every split gets its file, empty when the dataset has no rows there
    for split in SPLITS {
        let files = by_split.remove(split).unwrap_or_default();
        let split = split.to_string();
        let mut text = String::new();
        let mut rows = 0;
        for f in files {
            for r in read_records(&f)? {
                let line = match format {
                    Format::Jsonl => serde_json::to_string(&r),
                    Format::Sft(task) => match sft_row(&r, task) {
                        Some(row) => serde_json::to_string(&row),
                        None => {
                            summary.skipped += 1;
                            continue;
                        }
                    },
                }
                .map_err(|e| DatasetError::Io {
                    action: "serialise",
                    path: f.clone(),
                    source: e.into(),
                })?;
                text.push_str(&line);
                text.push('\n');
                rows += 1;
            }
        }
        let path = out.join(format!("{split}.jsonl"));
        crate::atomic_write(&path, text.as_bytes())?;
        summary.files.push((split, rows, path));
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        let mut r = crate::tests::record("ab", "import warp as wp\n");
        r.cpu_forward = "void k_cpu_kernel_forward() {}".into();
        r.cuda_backward = "__global__ b".into();
        r
    }

    #[test]
    fn sft_rows_carry_the_instruction_the_python_and_the_tasks_column() {
        let r = record();
        let row = sft_row(&r, Task::PythonToCpp).expect("row");
        assert_eq!(row.id, r.id);
        let roles: Vec<&str> = row.messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant"]);
        assert!(row.messages[1].content.contains("Warp 1.19.0") && row.messages[1].content.contains("```python"));
        assert_eq!(row.messages[2].content, "```cpp\nvoid k_cpu_kernel_forward() {}\n```");
        assert_eq!(sft_row(&r, Task::PythonToAdjoint).expect("row").messages[2].content, "```cuda\n__global__ b\n```");
        // an empty target column gives no row rather than an empty answer
        assert!(sft_row(&r, Task::PythonToStandaloneCuda).is_none());
    }
}

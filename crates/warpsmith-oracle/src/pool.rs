//! The supervised worker pool.

use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};

use crate::worker::{Worker, WorkerCommand};
use crate::{Failure, FailureReason, Job, OracleError, Outcome};

/// Pool settings.
#[derive(Clone, Debug)]
pub struct PoolOptions {
    /// Worker processes (one thread each), at least 1.
    pub workers: usize,
    /// Longest wait for one kernel's answer before the worker is killed.
    pub timeout: Duration,
    /// Longest wait for a new worker's hello (importing Warp takes about a second).
    pub startup_timeout: Duration,
    /// Kernels a worker serves before it is replaced (Warp keeps every module in memory).
    pub recycle_after: u32,
    /// Kernels sent to a worker in one request (executed kernels share one compiled module).
    pub batch: usize,
    /// Compile each batch's CUDA module to PTX with NVRTC.
    pub ptx: bool,
    /// Also compile each kernel's own CUDA module with NVRTC and return the PTX text.
    pub store_ptx: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            workers: 1,
            timeout: Duration::from_secs(60),
            startup_timeout: Duration::from_secs(120),
            recycle_after: 500,
            batch: 1,
            ptx: false,
            store_ptx: false,
        }
    }
}

/// A pool of supervised workers. Submit jobs with [`Pool::submit`]; read `(index, Outcome)` pairs from
/// [`Pool::results`] in completion order; [`Pool::finish`] closes the queue and joins the threads.
pub struct Pool {
    jobs: Option<Sender<(usize, Job)>>,
    results: Receiver<(usize, Outcome)>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `opts.workers` slots. The first worker is started and handshaken here, so a broken
    /// environment (no Warp, wrong version, a program that does not exist) is an error before any work.
    ///
    /// # Errors
    /// [`OracleError`] from the first worker's start.
    pub fn start(cmd: WorkerCommand, opts: PoolOptions) -> Result<Pool, OracleError> {
        let first = Worker::start(&cmd, opts.startup_timeout)?;
        let (job_tx, job_rx) = unbounded::<(usize, Job)>();
        let (res_tx, results) = unbounded();
        let mut first = Some(first);
        let threads = (0..opts.workers.max(1))
            .map(|_| {
                let (cmd, opts, jobs, out) = (cmd.clone(), opts.clone(), job_rx.clone(), res_tx.clone());
                let w = first.take();
                std::thread::spawn(move || slot(cmd, opts, w, jobs, out))
            })
            .collect();
        Ok(Pool { jobs: Some(job_tx), results, threads })
    }

    /// Queues a job; its outcome arrives on [`Pool::results`] tagged with `index`.
    pub fn submit(&self, index: usize, job: Job) {
        if let Some(tx) = &self.jobs {
            // the receivers live as long as the slot threads, which live until finish()
            let _ = tx.send((index, job));
        }
    }

    /// Outcomes, in completion order.
    pub fn results(&self) -> &Receiver<(usize, Outcome)> {
        &self.results
    }

    /// Closes the queue, lets the workers drain it, shuts them down and joins their threads.
    pub fn finish(mut self) {
        self.jobs.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// One slot: owns at most one worker at a time; restarts it on crash, hang or garbage; retries a batch once.
fn slot(
    cmd: WorkerCommand,
    opts: PoolOptions,
    mut worker: Option<Worker>,
    jobs: Receiver<(usize, Job)>,
    out: Sender<(usize, Outcome)>,
) {
    let mut served = 0u32;
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < opts.batch.max(1) {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let items: Vec<Job> = batch.iter().map(|(_, j)| j.clone()).collect();
        let timeout = opts.timeout * u32::try_from(items.len()).unwrap_or(u32::MAX);
        let mut attempts = 0;
        let outcomes: Vec<Outcome> = loop {
            attempts += 1;
            let mut w = match worker.take() {
                Some(w) => w,
                None => match Worker::start(&cmd, opts.startup_timeout) {
                    Ok(w) => {
                        served = 0;
                        w
                    }
                    Err(e) if attempts < 2 => {
                        let _ = e;
                        continue;
                    }
                    Err(e) => {
                        let f = Failure {
                            reason: FailureReason::WorkerCrash,
                            message: format!("worker could not be restarted: {e}"),
                            traceback: String::new(),
                            stderr_tail: String::new(),
                            attempts,
                        };
                        break vec![Outcome::Failed(f); items.len()];
                    }
                },
            };
            match w.process(&items, opts.ptx, opts.store_ptx, timeout) {
                Ok(results) => {
                    served += u32::try_from(items.len()).unwrap_or(u32::MAX);
                    let needs_tail = results.iter().any(|r| r.is_err());
                    let stderr_tail = if needs_tail { w.stderr_tail() } else { String::new() };
                    worker = Some(w);
                    break results
                        .into_iter()
                        .map(|r| match r {
                            Ok(m) => Outcome::Ok(Box::new(m)),
                            Err((reason, message, traceback)) => Outcome::Failed(Failure {
                                reason,
                                message,
                                traceback,
                                stderr_tail: stderr_tail.clone(),
                                attempts,
                            }),
                        })
                        .collect();
                }
                Err(e) => {
                    let stderr_tail = w.stderr_tail();
                    drop(w);
                    if attempts < 2 {
                        continue;
                    }
                    let f =
                        Failure { reason: e.reason, message: e.message, traceback: e.traceback, stderr_tail, attempts };
                    break vec![Outcome::Failed(f); items.len()];
                }
            }
        };
        if served >= opts.recycle_after
            && let Some(w) = worker.take()
        {
            w.shutdown();
        }
        for ((index, _), outcome) in batch.into_iter().zip(outcomes) {
            if out.send((index, outcome)).is_err() {
                return;
            }
        }
    }
    if let Some(w) = worker.take() {
        w.shutdown();
    }
}

//! The supervised worker pool.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, unbounded};
use serde::{Deserialize, Serialize};

use crate::worker::{RequestError, StageSeconds, Worker, WorkerCommand};
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
    /// Check each executed kernel's own CUDA module with NVRTC (front end, or a full PTX compile where its
    /// [`crate::CheckRequest::full_ptx`] says so) once it has passed the CPU checks.
    pub ptx: bool,
    /// Also compile each kernel's own CUDA module to PTX with NVRTC and return the PTX text (which then also
    /// serves as its check: each kernel is compiled once).
    pub store_ptx: bool,
    /// Tries of one kernel alone after its batch failed by a crash, a hang or garbage, before it is recorded
    /// as a failure; at least 1.
    pub attempts: u32,
    /// Wait before the first retry of a kernel alone; doubled before each further one. An infrastructure
    /// fault (a worker killed from outside, memory pressure) passes while the pool waits, so it does not
    /// change the dataset; a kernel that crashes Warp every time still ends as a failure.
    pub backoff: Duration,
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
            attempts: 3,
            backoff: Duration::from_secs(1),
        }
    }
}

/// What the supervisor had to do, counted over the pool's life (for the run summary and the manifest).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolCounters {
    /// Workers started after the first (after a crash, a hang, garbage or recycling).
    pub restarts: u64,
    /// Requests that ran past the timeout (the worker was killed).
    pub timeouts: u64,
    /// Requests whose worker died or printed a non-protocol line.
    pub crashes: u64,
    /// Requests sent again after one of those.
    pub retries: u64,
}

#[derive(Default)]
struct Counters {
    restarts: AtomicU64,
    timeouts: AtomicU64,
    crashes: AtomicU64,
    retries: AtomicU64,
    /// Worker stage seconds, plus `worker_start` (spawning a worker and waiting for its hello).
    stages: Mutex<StageSeconds>,
}

impl Counters {
    fn add_stages(&self, times: &StageSeconds) {
        // a poisoned lock only means another slot panicked while adding; the sums stay usable
        let mut all = self.stages.lock().unwrap_or_else(|e| e.into_inner());
        for (stage, secs) in times {
            *all.entry(stage.clone()).or_insert(0.0) += secs;
        }
    }
}

type Reply = Sender<(usize, Outcome)>;

/// A pool of supervised workers. Submit jobs with [`Pool::submit`] (outcomes on [`Pool::results`]) or
/// [`Pool::submit_to`] (outcomes on the caller's channel), in completion order; [`Pool::finish`] closes the
/// queue and joins the threads.
pub struct Pool {
    jobs: Option<Sender<(usize, Job, Reply)>>,
    results_tx: Reply,
    results: Receiver<(usize, Outcome)>,
    threads: Vec<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl Pool {
    /// Starts `opts.workers` slots. The first worker is started and handshaken here, so a broken
    /// environment (no Warp, wrong version, a program that does not exist) is an error before any work.
    ///
    /// # Errors
    /// [`OracleError`] from the first worker's start.
    pub fn start(mut cmd: WorkerCommand, opts: PoolOptions) -> Result<Pool, OracleError> {
        if opts.ptx || opts.store_ptx {
            // workers load NVRTC at start-up and refuse to start without the pinned one
            cmd.env.push(("WARPSMITH_NVRTC".into(), "1".into()));
        }
        let t0 = std::time::Instant::now();
        let first = Worker::start(&cmd, opts.startup_timeout)?;
        let (job_tx, job_rx) = unbounded::<(usize, Job, Reply)>();
        let (results_tx, results) = unbounded();
        let counters = Arc::new(Counters::default());
        counters.add_stages(&StageSeconds::from([("worker_start".into(), t0.elapsed().as_secs_f64())]));
        let mut first = Some(first);
        let threads = (0..opts.workers.max(1))
            .map(|_| {
                let (cmd, opts, jobs) = (cmd.clone(), opts.clone(), job_rx.clone());
                let counters = Arc::clone(&counters);
                let w = first.take();
                std::thread::spawn(move || {
                    Slot { cmd, opts, counters, had_worker: w.is_some(), worker: w, served: 0 }.serve(jobs)
                })
            })
            .collect();
        Ok(Pool { jobs: Some(job_tx), results_tx, results, threads, counters })
    }

    /// Queues a job; its outcome arrives on [`Pool::results`] tagged with `index`.
    pub fn submit(&self, index: usize, job: Job) {
        self.submit_to(index, job, &self.results_tx);
    }

    /// Queues a job whose outcome, tagged with `index`, is sent to `reply` (so several clients can share
    /// the workers). An outcome whose receiver is gone is dropped.
    pub fn submit_to(&self, index: usize, job: Job, reply: &Sender<(usize, Outcome)>) {
        if let Some(tx) = &self.jobs {
            // the receivers live as long as the slot threads, which live until finish()
            let _ = tx.send((index, job, reply.clone()));
        }
    }

    /// Outcomes of [`Pool::submit`], in completion order.
    pub fn results(&self) -> &Receiver<(usize, Outcome)> {
        &self.results
    }

    /// What the supervisor has done so far.
    pub fn counters(&self) -> PoolCounters {
        let c = &self.counters;
        PoolCounters {
            restarts: c.restarts.load(Ordering::Relaxed),
            timeouts: c.timeouts.load(Ordering::Relaxed),
            crashes: c.crashes.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
        }
    }

    /// Seconds the workers spent per stage so far, summed over workers: CPU seconds of each worker process,
    /// and wall-clock seconds for `worker_start` (spawn to hello). For `warpsmith bench` and the run summary,
    /// never for a record.
    pub fn stage_seconds(&self) -> StageSeconds {
        self.counters.stages.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Closes the queue, lets the workers drain it, shuts them down and joins their threads.
    pub fn finish(mut self) {
        self.jobs.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// One slot: owns at most one worker at a time; restarts it on crash, hang or garbage.
struct Slot {
    cmd: WorkerCommand,
    opts: PoolOptions,
    counters: Arc<Counters>,
    worker: Option<Worker>,
    served: u32,
    /// Whether this slot has had a worker before (a later start is a restart).
    had_worker: bool,
}

impl Slot {
    fn serve(mut self, jobs: Receiver<(usize, Job, Reply)>) {
        while let Ok(first) = jobs.recv() {
            let mut batch = vec![first];
            // an even share of what is queued, so that a short queue (the last candidates of a round) keeps
            // every worker busy instead of filling one worker's batch
            let share = (1 + jobs.len()).div_ceil(self.opts.workers.max(1));
            while batch.len() < self.opts.batch.max(1).min(share.max(1)) {
                match jobs.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
            let items: Vec<Job> = batch.iter().map(|(_, j, _)| j.clone()).collect();
            let outcomes = match self.attempt(&items) {
                Ok(o) => o,
                Err(first_error) => {
                    // a crash, hang or garbage: each kernel alone, with backoff, so one bad kernel or a passing
                    // fault does not take the batch with it
                    let mut out = Vec::with_capacity(items.len());
                    for item in &items {
                        out.push(self.alone(item, &first_error));
                    }
                    out
                }
            };
            if self.served >= self.opts.recycle_after
                && let Some(w) = self.worker.take()
            {
                w.shutdown();
            }
            for ((index, _, reply), outcome) in batch.into_iter().zip(outcomes) {
                // a client that went away no longer wants its outcome
                let _ = reply.send((index, outcome));
            }
        }
        if let Some(w) = self.worker.take() {
            w.shutdown();
        }
    }

    /// One kernel by itself, up to `opts.attempts` times with doubling waits between tries.
    fn alone(&mut self, item: &Job, first_error: &(RequestError, String)) -> Outcome {
        let mut last = (first_error.0.reason, first_error.0.message.clone(), first_error.0.traceback.clone());
        let mut stderr_tail = first_error.1.clone();
        let mut wait = self.opts.backoff;
        for attempt in 1..=self.opts.attempts.max(1) {
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            if attempt > 1 {
                std::thread::sleep(wait);
                wait = wait.saturating_mul(2);
            }
            match self.attempt(std::slice::from_ref(item)) {
                Ok(mut o) => return o.pop().unwrap_or_else(|| internal("no outcome for the kernel")),
                Err((e, tail)) => {
                    last = (e.reason, e.message, e.traceback);
                    stderr_tail = tail;
                }
            }
        }
        Outcome::Failed(Failure {
            reason: last.0,
            message: last.1,
            traceback: last.2,
            stderr_tail,
            // the batch's try, then the tries alone
            attempts: self.opts.attempts.max(1) + 1,
        })
    }

    /// One request on the current worker (started if there is none). `Err`: the worker crashed, hung or
    /// printed garbage and was dropped; with its stderr tail.
    fn attempt(&mut self, items: &[Job]) -> Result<Vec<Outcome>, (RequestError, String)> {
        let timeout = self.opts.timeout * u32::try_from(items.len()).unwrap_or(u32::MAX);
        let mut w = match self.worker.take() {
            Some(w) => w,
            None => {
                let t0 = std::time::Instant::now();
                let started = Worker::start(&self.cmd, self.opts.startup_timeout)
                    .or_else(|_| Worker::start(&self.cmd, self.opts.startup_timeout));
                self.counters.add_stages(&StageSeconds::from([("worker_start".into(), t0.elapsed().as_secs_f64())]));
                if self.had_worker {
                    self.counters.restarts.fetch_add(1, Ordering::Relaxed);
                }
                self.had_worker = true;
                match started {
                    Ok(w) => {
                        self.served = 0;
                        w
                    }
                    Err(e) => {
                        let f = Failure {
                            reason: FailureReason::WorkerCrash,
                            message: format!("worker could not be restarted: {e}"),
                            traceback: String::new(),
                            stderr_tail: String::new(),
                            attempts: 1,
                        };
                        return Ok(vec![Outcome::Failed(f); items.len()]);
                    }
                }
            }
        };
        match w.process(items, self.opts.ptx, self.opts.store_ptx, timeout) {
            Ok((results, times)) => {
                self.counters.add_stages(&times);
                self.served += u32::try_from(items.len()).unwrap_or(u32::MAX);
                let needs_tail = results.iter().any(|r| r.is_err());
                let stderr_tail = if needs_tail { w.stderr_tail() } else { String::new() };
                self.worker = Some(w);
                Ok(results
                    .into_iter()
                    .map(|r| match r {
                        Ok(m) => Outcome::Ok(Box::new(m)),
                        Err((reason, message, traceback)) => Outcome::Failed(Failure {
                            reason,
                            message,
                            traceback,
                            stderr_tail: stderr_tail.clone(),
                            attempts: 1,
                        }),
                    })
                    .collect())
            }
            Err(e) => {
                let counter =
                    if e.reason == FailureReason::Timeout { &self.counters.timeouts } else { &self.counters.crashes };
                counter.fetch_add(1, Ordering::Relaxed);
                let stderr_tail = w.stderr_tail();
                drop(w);
                Err((e, stderr_tail))
            }
        }
    }
}

fn internal(message: &str) -> Outcome {
    Outcome::Failed(Failure {
        reason: FailureReason::Internal,
        message: message.into(),
        traceback: String::new(),
        stderr_tail: String::new(),
        attempts: 1,
    })
}

//! The load generator: pre-signed transactions sent over JSON-RPC (`eth_sendRawTransaction`, one
//! HTTP keep-alive connection per worker), either as fast as the node answers (closed loop, for
//! peak throughput) or at a fixed rate (open loop, for latency at a given load).
//!
//! Every sender's transactions go in nonce order, each only after the previous one was answered
//! (the node refuses a nonce gap), so a worker owns a fixed set of senders. In open loop a
//! transaction's latency runs from its scheduled send time, not from when the worker got to it:
//! a worker that falls behind shows as latency instead of silently lowering the load.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use alloy::primitives::{B256, Bytes};
use serde::{Deserialize, Serialize};

use crate::BenchError;

/// One pre-signed transaction of a workload.
#[derive(Debug, Clone)]
pub struct Signed {
    /// Index of the sending account (transactions of one sender go in order).
    pub sender: usize,
    /// EIP-2718 bytes.
    pub raw: Bytes,
    /// Transaction hash.
    pub hash: B256,
}

/// How to send a workload.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Which backend (for messages).
    pub backend: &'static str,
    /// JSON-RPC URL.
    pub url: String,
    /// Workers (HTTP connections), each owning `sender % workers == worker`.
    pub workers: usize,
    /// Open loop at this many transactions per second; `None` sends as fast as answered.
    pub rate: Option<f64>,
}

/// What a run of the load generator saw, per transaction in workload order.
#[derive(Debug, Clone)]
pub struct LoadRun {
    /// When the run started (the first send, or the first scheduled send).
    pub started: Instant,
    /// Seconds from `started` to the last answer.
    pub seconds: f64,
    /// Per transaction: seconds from `started` to its answer.
    pub answered_at: Vec<f64>,
    /// Per transaction: milliseconds from its send (scheduled send in open loop) to its answer.
    pub latency_ms: Vec<f64>,
}

impl LoadRun {
    /// Transactions answered per second over the whole run.
    pub fn tx_per_sec(&self) -> f64 {
        self.answered_at.len() as f64 / self.seconds.max(f64::EPSILON)
    }

    /// Latency percentiles of the run.
    pub fn latency(&self) -> Latency {
        Latency::of(&self.latency_ms)
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Maximum.
    pub max_ms: f64,
}

impl Latency {
    /// Percentiles of `samples` (any order).
    pub fn of(samples: &[f64]) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        Self {
            p50_ms: percentile(&sorted, 0.50),
            p99_ms: percentile(&sorted, 0.99),
            max_ms: sorted.last().copied().unwrap_or_default(),
        }
    }
}

/// The `p` quantile of sorted samples (nearest rank).
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The JSON-RPC request body of `eth_sendRawTransaction` for `raw`, built before the clock starts.
fn request_body(id: usize, raw: &Bytes) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_sendRawTransaction","params":["{raw}"]}}"#)
}

#[derive(Deserialize)]
struct RpcAnswer {
    result: Option<B256>,
    error: Option<RpcAnswerError>,
}

#[derive(Deserialize)]
struct RpcAnswerError {
    code: i64,
    message: String,
}

/// Sends `work` as `plan` says and returns when every transaction was answered. Any refusal fails
/// the run (a benchmark that counts refused transactions as throughput would lie), except
/// "already known" for a retried send.
pub async fn run(plan: &LoadPlan, work: &[Signed]) -> Result<LoadRun, BenchError> {
    let backend = plan.backend;
    let setup = |reason: String| BenchError::Setup { backend, reason };
    let workers = plan.workers.max(1);
    let total = work.len();
    let answered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(workers);
    // Everything a worker sends is prepared before the clock starts.
    let mut queues: Vec<Vec<(usize, String, B256)>> = vec![Vec::new(); workers];
    for (i, w) in work.iter().enumerate() {
        queues[w.sender % workers].push((i, request_body(i, &w.raw), w.hash));
    }
    let started = Instant::now() + Duration::from_millis(20);
    for queue in queues {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            // A node that stops answering fails the run with a clear error instead of hanging.
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| setup(e.to_string()))?;
        let url = plan.url.clone();
        let rate = plan.rate;
        let answered = answered.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(queue.len());
            tokio::time::sleep_until(started.into()).await;
            for (index, body, hash) in queue {
                let due = match rate {
                    Some(rate) => {
                        let due = started + Duration::from_secs_f64(index as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                        due
                    }
                    None => Instant::now(),
                };
                send_one(&client, &url, body, hash, backend, index).await?;
                let now = Instant::now();
                out.push((
                    index,
                    (now - started).as_secs_f64(),
                    (now - due).as_secs_f64() * 1000.0,
                ));
                let n = answered.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of((total / 10).max(1)) {
                    tracing::info!(target: "loft::bench", backend, answered = n, total, elapsed_ms = (now - started).as_millis() as u64, "sending");
                }
            }
            Ok::<_, BenchError>(out)
        }));
    }
    let mut answered_at = vec![0.0; total];
    let mut latency_ms = vec![0.0; total];
    for t in tasks {
        for (i, at, latency) in t.await.map_err(|e| setup(e.to_string()))?? {
            answered_at[i] = at;
            latency_ms[i] = latency;
        }
    }
    let seconds = answered_at.iter().copied().fold(0.0, f64::max);
    Ok(LoadRun {
        started,
        seconds,
        answered_at,
        latency_ms,
    })
}

async fn send_one(
    client: &reqwest::Client,
    url: &str,
    body: String,
    hash: B256,
    backend: &'static str,
    index: usize,
) -> Result<(), BenchError> {
    let failed = |reason: String| BenchError::Workload {
        backend,
        index,
        reason,
    };
    let mut attempts = 0;
    loop {
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        let text = match sent {
            Ok(response) => response.text().await,
            Err(e) => Err(e),
        };
        match text {
            Ok(text) => {
                let answer: RpcAnswer = serde_json::from_str(&text)
                    .map_err(|e| failed(format!("unreadable answer {text:?}: {e}")))?;
                return match (answer.result, answer.error) {
                    (Some(h), _) if h == hash => Ok(()),
                    (Some(h), _) => Err(failed(format!("answered hash {h}, expected {hash}"))),
                    // A retried send whose first attempt did land.
                    (None, Some(e)) if attempts > 0 && e.message.contains("already known") => {
                        Ok(())
                    }
                    (None, Some(e)) => Err(failed(format!("refused ({}): {}", e.code, e.message))),
                    (None, None) => Err(failed(format!("answer without result: {text}"))),
                };
            }
            // A dropped connection is retried: the same signed bytes are idempotent.
            Err(e) if attempts < 5 => {
                attempts += 1;
                tracing::warn!(target: "loft::bench", backend, index, error = %e, "send failed, retrying");
            }
            Err(e) => return Err(failed(e.to_string())),
        }
    }
}

/// One interval of a run's timeline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Bucket {
    /// Seconds from the start of the run to the start of the interval.
    pub at_secs: f64,
    /// Transactions answered per second in the interval.
    pub tx_per_sec: f64,
    /// Latency of the transactions answered in the interval.
    pub latency: Latency,
}

/// The run cut into intervals of `width` seconds, offset by `offset` seconds (so runs one after
/// the other share one time axis).
pub fn timeline(run: &LoadRun, width: f64, offset: f64) -> Vec<Bucket> {
    let count = (run.seconds / width).ceil().max(1.0) as usize;
    let mut per: Vec<Vec<f64>> = vec![Vec::new(); count];
    for (at, latency) in run.answered_at.iter().zip(&run.latency_ms) {
        let b = ((at / width) as usize).min(count - 1);
        per[b].push(*latency);
    }
    per.into_iter()
        .enumerate()
        .map(|(b, samples)| Bucket {
            at_secs: offset + b as f64 * width,
            tx_per_sec: samples.len() as f64 / width,
            latency: Latency::of(&samples),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let l = Latency::of(&samples);
        assert_eq!(l.p50_ms, 51.0);
        assert_eq!(l.p99_ms, 99.0);
        assert_eq!(l.max_ms, 100.0);
        assert_eq!(Latency::of(&[]), Latency::default());
    }

    #[test]
    fn the_timeline_counts_every_answer_once() {
        let run = LoadRun {
            started: Instant::now(),
            seconds: 1.0,
            answered_at: vec![0.05, 0.15, 0.16, 0.99, 1.0],
            latency_ms: vec![1.0, 2.0, 3.0, 4.0, 5.0],
        };
        let t = timeline(&run, 0.1, 2.0);
        assert_eq!(t.len(), 10);
        assert_eq!(t[0].at_secs, 2.0);
        let total: f64 = t.iter().map(|b| b.tx_per_sec * 0.1).sum();
        assert!((total - 5.0).abs() < 1e-9);
        assert!((t[1].tx_per_sec - 20.0).abs() < 1e-9);
        assert_eq!(t[9].latency.max_ms, 5.0);
    }
}

//! Background virus scanning. Every new file is `pending` with a job in `scan_jobs`; a worker
//! leases jobs, streams each file's plaintext through the [`Scanner`](crate::server::scanner::Scanner), and records `clean`,
//! `infected` or `error`. Scanning fails closed: any failure is `error` (retried with backoff,
//! downloads refused), never `clean`. Jobs survive restarts because they live in the database.

use std::time::Duration;

use futures::StreamExt;

use crate::{
    model::ScanStatus,
    server::{
        db,
        error::Error,
        metrics,
        scanner::{ScanError, Verdict},
        service::{
            audit::{action, Event},
            files, RequestMeta,
        },
        state::AppState,
    },
};

/// How long a lease lasts: enough to read the whole file slowly (10 MB/s) plus five minutes.
/// A worker that dies leaves its job leased until then; another instance's worker takes it after.
fn lease_secs(size: i64) -> i64 {
    300 + size / 10_000_000
}

/// Seconds before attempt `attempts + 1`: 30 s doubling, at most an hour.
pub fn retry_delay_secs(attempts: i64) -> i64 {
    (30_i64 << (attempts.clamp(1, 8) - 1)).min(3600)
}

/// Runs jobs until the task is aborted. Wakes on new jobs, and at least every 30 seconds for
/// retries and for jobs queued by other instances.
pub async fn run_worker(state: AppState) {
    loop {
        match run_next(&state).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e.chain(), "scan worker: could not read the queue"),
        }
        let wait = match db::scan_jobs::next_due(&state.db().pool).await {
            Ok(Some(due)) => (due - state.now()).clamp(1, 30),
            _ => 30,
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(wait as u64),
            state.scan_queue().job_waiting(),
        )
        .await;
    }
}

/// Leases and runs one due job; false when none was due.
pub async fn run_next(state: &AppState) -> Result<bool, Error> {
    let pool = &state.db().pool;
    let now = state.now();
    // A first lease assumes a small file; the real one is set once the row is read.
    let Some(job) = db::scan_jobs::lease_next(state.db(), now, now + lease_secs(0)).await? else {
        return Ok(false);
    };
    let Some(file) = db::files::find(pool, &job.file_id).await? else {
        return Ok(true); // deleted meanwhile; its job went with it
    };
    if !db::scan_jobs::extend_lease(pool, &job, now + lease_secs(file.size)).await? {
        return Ok(true); // re-queued meanwhile: the next lease scans it
    }
    let scanner = state.scanner();
    let outcome = match files::plaintext(state, &file, None).await {
        Ok(stream) => {
            let content = stream
                .map(|chunk| chunk.map_err(|e| ScanError::retry(e.to_string())))
                .boxed();
            scanner.scan(content).await
        }
        Err(e) => Err(ScanError::retry(e.to_string())),
    };
    let held = match &outcome {
        Ok(Verdict::Clean) => db::scan_jobs::complete(pool, &job, ScanStatus::Clean, None).await?,
        // Audit first: whoever sees the status change also finds the entry.
        Ok(Verdict::Infected(name)) => {
            tracing::warn!(file = %file.id, %name, scanner = scanner.name(), "scan: infected");
            Event::new(action::FILE_INFECTED)
                .on(&file.id)
                .detail(format!("scanner={} signature={name}", scanner.name()))
                .record(state, &RequestMeta::default())
                .await;
            db::scan_jobs::complete(pool, &job, ScanStatus::Infected, Some(name)).await?
        }
        Err(e) if !e.retry => {
            db::scan_jobs::complete(pool, &job, ScanStatus::Error, Some(&e.reason)).await?
        }
        Err(e) => {
            let delay = retry_delay_secs(job.attempts);
            db::scan_jobs::fail(pool, &job, &e.reason, state.now() + delay).await?
        }
    };
    if !held {
        tracing::info!(file = %file.id, "scan: the job was re-queued while it ran; this verdict is dropped");
        return Ok(true);
    }
    metrics::scan_verdict(match &outcome {
        Ok(Verdict::Clean) => "clean",
        Ok(Verdict::Infected(_)) => "infected",
        Err(_) => "error",
    });
    match outcome {
        Ok(Verdict::Clean) => {
            tracing::info!(file = %file.id, scanner = scanner.name(), "scan: clean");
            Event::new(action::FILE_CLEAN)
                .on(&file.id)
                .detail(format!("scanner={}", scanner.name()))
                .record(state, &RequestMeta::default())
                .await;
        }
        Ok(Verdict::Infected(_)) => {}
        Err(ScanError { reason, retry }) => {
            let next = if retry {
                format!("retry_in={}s", retry_delay_secs(job.attempts))
            } else {
                "retry=no (rescan once fixed)".to_owned()
            };
            tracing::warn!(file = %file.id, attempts = job.attempts, %reason, %next, "scan failed");
            Event::new(action::FILE_SCAN_FAILED)
                .on(&file.id)
                .detail(format!("attempt={} {next} reason={reason}", job.attempts))
                .record(state, &RequestMeta::default())
                .await;
        }
    }
    Ok(true)
}

/// What the scanner says about itself at start-up: logged, so an operator sees at once whether
/// clamd answers and which signatures it has.
pub async fn log_scanner(state: AppState) {
    let scanner = state.scanner();
    match scanner.check().await {
        Ok(version) => tracing::info!(scanner = scanner.name(), %version, "scanner ready"),
        Err(e) => tracing::error!(
            scanner = scanner.name(),
            error = %e,
            "scanner unavailable: uploads stay pending (downloads refused) until it answers"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(retry_delay_secs(1), 30);
        assert_eq!(retry_delay_secs(2), 60);
        assert_eq!(retry_delay_secs(3), 120);
        assert_eq!(retry_delay_secs(50), 3600);
    }
}

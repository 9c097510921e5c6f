//! Where log lines go: stderr, in batches. Writing each line with its own `write(2)` under the
//! stderr lock was a large part of the cached path's cost (one access-log line per request;
//! BENCHMARKS.md has the measurements); appending to a buffer costs a short lock and a copy. A background thread writes the
//! buffer every [`FLUSH_EVERY`], or sooner once it holds [`HIGH_WATER`] bytes; `flush_now`
//! (after every warning or error, and at exit) writes what is waiting at once.
//!
//! Every line is appended whole, so lines never interleave. If stderr cannot keep up and
//! [`MAX_PENDING`] bytes are waiting, new lines are dropped and counted, and the count is written
//! when the buffer drains: logging must never hold up an answer or grow without bound.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

const FLUSH_EVERY: Duration = Duration::from_millis(50);
const HIGH_WATER: usize = 64 * 1024;
const MAX_PENDING: usize = 8 * 1024 * 1024;

/// The batching writer: one buffer and one writer thread, owned by the logger.
pub(crate) struct Sink {
    shared: Arc<Shared>,
    /// No writer thread could be started: each line is written at once, as before batching.
    direct: bool,
}

struct Shared {
    pending: Mutex<Vec<u8>>,
    wake: Condvar,
    dropped: AtomicU64,
}

impl Sink {
    /// Starts the writer thread. Falls back to writing each line directly if the thread cannot
    /// be started.
    pub(crate) fn start() -> Sink {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Vec::with_capacity(HIGH_WATER)),
            wake: Condvar::new(),
            dropped: AtomicU64::new(0),
        });
        let writer = shared.clone();
        let started = std::thread::Builder::new()
            .name("igauth-log".into())
            .spawn(move || loop {
                let batch = {
                    let pending = writer
                        .pending
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    let (mut pending, _) = writer
                        .wake
                        .wait_timeout(pending, FLUSH_EVERY)
                        .unwrap_or_else(PoisonError::into_inner);
                    std::mem::replace(&mut *pending, Vec::with_capacity(HIGH_WATER))
                };
                writer.write_out(&batch);
            });
        Sink {
            shared,
            direct: started.is_err(),
        }
    }

    /// Appends one whole line (newline included) to the batch.
    pub(crate) fn send(&self, line: &[u8]) {
        if self.direct {
            self.shared.write_out(line);
            return;
        }
        let mut pending = self
            .shared
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if pending.len() + line.len() > MAX_PENDING {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            pending.extend_from_slice(line);
            if pending.len() >= HIGH_WATER {
                self.shared.wake.notify_one();
            }
        }
    }

    /// Writes everything buffered now (at exit, or when a line must be seen at once).
    pub(crate) fn flush_now(&self) {
        let batch = std::mem::take(
            &mut *self
                .shared
                .pending
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        self.shared.write_out(&batch);
    }
}

impl Shared {
    fn write_out(&self, batch: &[u8]) {
        let mut stderr = io::stderr().lock();
        if !batch.is_empty() {
            let _ = stderr.write_all(batch);
        }
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let _ = writeln!(
                stderr,
                "igauth: {dropped} log lines were dropped because stderr could not keep up"
            );
        }
        let _ = stderr.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_buffered_whole_and_bounded() {
        let sink = Sink {
            shared: Arc::new(Shared {
                pending: Mutex::new(Vec::new()),
                wake: Condvar::new(),
                dropped: AtomicU64::new(0),
            }),
            direct: false,
        };
        sink.send(b"one line\n");
        sink.send(b"two line\n");
        assert_eq!(
            &*sink.shared.pending.lock().unwrap(),
            b"one line\ntwo line\n"
        );
        let big = vec![b'x'; MAX_PENDING];
        sink.send(&big);
        assert_eq!(
            sink.shared.dropped.load(Ordering::Relaxed),
            1,
            "over the bound: dropped"
        );
        assert_eq!(sink.shared.pending.lock().unwrap().len(), 18);
    }
}

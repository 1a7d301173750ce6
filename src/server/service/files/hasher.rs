//! Hashing an upload beside its encryption.

use sha2::{Digest, Sha256};

/// SHA-256 of an upload (or of a request's bytes), computed on the upload's own task as each
/// body chunk passes, before the chunk is sealed. A task of its own, fed 64 KiB copies through a
/// queue, let hashing run on another core but held up to three batches per upload. Measured
/// together with the sealed queue going from two segments to one (`upload::WRITE_QUEUE_SEGMENTS`),
/// each concurrent upload past the first added 0.87–1.03 MiB to the server's peak before and
/// 0.40–0.83 MiB after, for about a tenth less speed on a lone upload (`scripts/bench.sh`, part
/// "concurrent", alternating runs; SHA-256 uses the CPU's SHA extensions where it has them).
pub(super) struct Hasher(Sha256);

impl Hasher {
    pub(super) fn start() -> Self {
        Self::resume(Sha256::new())
    }

    /// Carries on from a hash of the bytes before (a resumable upload's earlier requests).
    pub(super) fn resume(hash: Sha256) -> Self {
        Self(hash)
    }

    pub(super) fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The hash of everything given, to finalize or to keep for later.
    pub(super) fn finish(self) -> Sha256 {
        self.0
    }
}

//! The built-in scanner: the EICAR test signature anywhere in a file, and a block list of
//! SHA-256 digests of whole files (`COFFER_SCAN_BLOCKLIST`). What runs when `CLAMD_ADDR` is unset.

use std::collections::HashSet;

use futures::StreamExt;
use sha2::{Digest, Sha256};

use super::{Content, ScanError, Scanner, Verdict, EICAR};
use crate::server::pace::Pace;

/// The built-in scanner: the EICAR signature anywhere in the content, and a block list of
/// SHA-256 digests of whole files.
pub struct BuiltinScanner {
    blocklist: HashSet<[u8; 32]>,
}

impl BuiltinScanner {
    pub fn new(blocklist: impl IntoIterator<Item = [u8; 32]>) -> Self {
        Self {
            blocklist: blocklist.into_iter().collect(),
        }
    }
}

#[async_trait::async_trait]
impl Scanner for BuiltinScanner {
    fn name(&self) -> &'static str {
        "builtin"
    }

    async fn check(&self) -> Result<String, ScanError> {
        Ok(format!(
            "built-in: EICAR test signature and {} blocklisted SHA-256 digests",
            self.blocklist.len()
        ))
    }

    async fn scan(&self, mut content: Content) -> Result<Verdict, ScanError> {
        let finder = memchr::memmem::Finder::new(EICAR);
        let mut hash = Sha256::new();
        // The last bytes of the stream so far, so a signature split across chunks (however
        // small) is still found.
        let overlap = EICAR.len() - 1;
        let mut tail: Vec<u8> = Vec::with_capacity(2 * overlap);
        let mut found = false;
        let mut pace = Pace::default();
        while let Some(chunk) = content.next().await {
            let chunk = chunk?;
            hash.update(&chunk);
            pace.processed(chunk.len()).await;
            if found {
                continue;
            }
            let mut joined = tail.clone();
            joined.extend_from_slice(&chunk[..chunk.len().min(overlap)]);
            found = finder.find(&joined).is_some() || finder.find(&chunk).is_some();
            tail.extend_from_slice(&chunk[chunk.len().saturating_sub(overlap)..]);
            if tail.len() > overlap {
                tail.drain(..tail.len() - overlap);
            }
        }
        if found {
            return Ok(Verdict::Infected("EICAR-Test-Signature".into()));
        }
        let digest: [u8; 32] = hash.finalize().into();
        if self.blocklist.contains(&digest) {
            return Ok(Verdict::Infected(format!(
                "Blocklisted-SHA256-{}",
                &hex::encode(digest)[..16]
            )));
        }
        Ok(Verdict::Clean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn content(chunks: Vec<Vec<u8>>) -> Content {
        futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from(c)))).boxed()
    }

    async fn verdict(scanner: &BuiltinScanner, chunks: Vec<Vec<u8>>) -> Verdict {
        scanner.scan(content(chunks)).await.unwrap()
    }

    #[tokio::test]
    async fn eicar_is_found_anywhere_even_split_across_chunks() {
        let scanner = BuiltinScanner::new([]);
        assert_eq!(
            verdict(&scanner, vec![b"harmless".to_vec()]).await,
            Verdict::Clean
        );
        assert!(matches!(
            verdict(&scanner, vec![EICAR.to_vec()]).await,
            Verdict::Infected(_)
        ));
        let mut big = vec![b'a'; 100_000];
        big.extend_from_slice(EICAR);
        big.extend(vec![b'b'; 50_000]);
        for split in [1, 10, 100_000 + 30, 100_000 + EICAR.len() - 1] {
            let (a, b) = big.split_at(split);
            assert!(
                matches!(
                    verdict(&scanner, vec![a.to_vec(), b.to_vec()]).await,
                    Verdict::Infected(_)
                ),
                "split at {split}"
            );
        }
        // One byte per chunk: the window carries the signature across every boundary.
        let bytes: Vec<Vec<u8>> = EICAR.iter().map(|b| vec![*b]).collect();
        assert!(matches!(
            verdict(&scanner, bytes).await,
            Verdict::Infected(_)
        ));
    }

    #[tokio::test]
    async fn blocklisted_digests_are_infected() {
        let data = b"a known bad file".to_vec();
        let digest: [u8; 32] = Sha256::digest(&data).into();
        let scanner = BuiltinScanner::new([digest]);
        assert!(matches!(
            verdict(&scanner, vec![data[..5].to_vec(), data[5..].to_vec()]).await,
            Verdict::Infected(name) if name.starts_with("Blocklisted")
        ));
    }

    #[tokio::test]
    async fn a_failing_stream_is_an_error_not_clean() {
        let scanner = BuiltinScanner::new([]);
        let failing = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"start")),
            Err(ScanError::retry("integrity")),
        ])
        .boxed();
        assert!(scanner.scan(failing).await.is_err());
    }
}

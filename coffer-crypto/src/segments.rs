//! A file's content, sealed in fixed-size AES-256-GCM segments.
//!
//! The plaintext is cut into [`SEGMENT_LEN`]-byte segments (the last one shorter, possibly
//! empty: an empty file is one empty segment). Segment `i` is sealed with the file's own
//! [`DataKey`] under the nonce `prefix (7 bytes) ‖ i (32-bit big endian) ‖ last (1 byte)`, the
//! STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár, as implemented by
//! `aead_stream::StreamBE32`. The sealed blob is the segments back to back, each followed by
//! its 16-byte tag; nothing else is stored in it.
//!
//! What that guarantees, given the plaintext length recorded beside the wrapped key:
//! - a flipped bit anywhere fails the tag of its segment;
//! - reordered or duplicated segments fail, because the index is in the nonce;
//! - a truncated blob fails: a missing tail leaves a short segment or a missing one, and a cut
//!   at a segment boundary turns a non-last segment into the last, whose flag differs;
//! - a segment taken from another file fails, because every file has its own key and prefix.
//!
//! A segment's plaintext is released only after its tag verified, so a corrupted blob never
//! yields a byte of wrong plaintext; the segments before the damage are genuine.

use aead_stream::{NewStream, StreamBE32, StreamPrimitive};
use aes_gcm::{
    aead::{self, KeyInit},
    Aes256Gcm,
};
use bytes::{Bytes, BytesMut};
use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::CryptoError;

/// Plaintext bytes per segment.
pub const SEGMENT_LEN: usize = 64 * 1024;
/// The GCM tag after each segment.
pub const TAG_LEN: usize = 16;
/// Bytes a full segment takes in the blob.
pub const SEALED_SEGMENT_LEN: usize = SEGMENT_LEN + TAG_LEN;
/// Length of the random per-file nonce prefix.
pub const NONCE_PREFIX_LEN: usize = 7;

const SEGMENT: u64 = SEGMENT_LEN as u64;
const SEALED: u64 = SEALED_SEGMENT_LEN as u64;

/// A file's own random 256-bit key. Wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(key)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub(super) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The random part of every segment nonce of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoncePrefix([u8; NONCE_PREFIX_LEN]);

impl NoncePrefix {
    pub fn generate() -> Self {
        let mut prefix = [0u8; NONCE_PREFIX_LEN];
        rand::rngs::OsRng.fill_bytes(&mut prefix);
        Self(prefix)
    }

    /// A stored prefix; anything but exactly 7 bytes is an integrity failure.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| CryptoError::Integrity)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Where the segments of a file lie, from its plaintext length alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    plain_len: u64,
}

/// The segments that cover a plaintext byte range, and where they are in the blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentSpan {
    /// Index of the first and last segment to decrypt.
    pub segments: std::ops::RangeInclusive<u64>,
    /// The sealed bytes to read: `start..end` in the blob.
    pub sealed: std::ops::Range<u64>,
    /// Plaintext bytes to drop from the front of the first segment.
    pub skip: u64,
}

impl Layout {
    pub fn new(plain_len: u64) -> Self {
        Self { plain_len }
    }

    /// Number of segments (at least one: an empty file is one empty segment).
    pub fn segment_count(&self) -> u64 {
        self.plain_len.div_ceil(SEGMENT).max(1)
    }

    /// Size of the sealed blob.
    pub fn sealed_len(&self) -> u64 {
        self.plain_len + self.segment_count() * TAG_LEN as u64
    }

    /// Plaintext length of segment `index`.
    fn plain_len_of(&self, index: u64) -> u64 {
        (self.plain_len - (index * SEGMENT).min(self.plain_len)).min(SEGMENT)
    }

    /// The segments covering plaintext bytes `start..=end` (which the caller has checked lie
    /// inside the file).
    pub fn span(&self, start: u64, end: u64) -> SegmentSpan {
        debug_assert!(start <= end && end < self.plain_len.max(1));
        let (first, last) = (start / SEGMENT, end / SEGMENT);
        SegmentSpan {
            segments: first..=last,
            sealed: first * SEALED..((last + 1) * SEALED).min(self.sealed_len()),
            skip: start - first * SEGMENT,
        }
    }
}

/// The STREAM instance of one file.
struct SegmentCipher(StreamBE32<Aes256Gcm>);

impl SegmentCipher {
    fn new(key: &DataKey, prefix: &NoncePrefix) -> Self {
        let aead = Aes256Gcm::new(key.as_bytes().into());
        Self(StreamBE32::from_aead(aead, &prefix.0.into()))
    }

    fn seal(&self, index: u64, last: bool, segment: &mut Vec<u8>) -> Result<(), CryptoError> {
        let index = u32::try_from(index).map_err(|_| CryptoError::TooLarge)?;
        self.0
            .encrypt_in_place(index, last, &[], segment)
            .map_err(|_| CryptoError::TooLarge)
    }

    fn open(
        &self,
        index: u64,
        last: bool,
        segment: &mut dyn aead::Buffer,
    ) -> Result<(), CryptoError> {
        let index = u32::try_from(index).map_err(|_| CryptoError::Integrity)?;
        self.0
            .decrypt_in_place(index, last, &[], segment)
            .map_err(|_| CryptoError::Integrity)
    }
}

/// Seals plaintext as it arrives, one segment at a time. Holds at most one segment.
pub struct SegmentEncryptor {
    cipher: SegmentCipher,
    next_index: u64,
    pending: Vec<u8>,
}

impl SegmentEncryptor {
    pub fn new(key: &DataKey, prefix: &NoncePrefix) -> Self {
        Self {
            cipher: SegmentCipher::new(key, prefix),
            next_index: 0,
            pending: Vec::with_capacity(SEALED_SEGMENT_LEN),
        }
    }

    /// Takes more plaintext; returns the segments it completed, sealed. A full segment is kept
    /// back until more data (or [`finish`](Self::finish)) tells whether it is the last.
    pub fn update(&mut self, mut data: &[u8]) -> Result<Vec<Bytes>, CryptoError> {
        let mut sealed = Vec::new();
        while !data.is_empty() {
            if self.pending.len() == SEGMENT_LEN {
                sealed.push(self.seal_pending(false)?);
            }
            let take = (SEGMENT_LEN - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(sealed)
    }

    /// Carries on sealing a file whose first `next_index` segments are already sealed (a
    /// resumable upload's next request), starting from no plaintext.
    pub fn resume(key: &DataKey, prefix: &NoncePrefix, next_index: u64) -> Self {
        Self {
            next_index,
            ..Self::new(key, prefix)
        }
    }

    /// Index of the next segment this encryptor will seal.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Seals what is left as the last segment.
    pub fn finish(mut self) -> Result<Bytes, CryptoError> {
        self.seal_pending(true)
    }

    /// Stops before the end of the plaintext, when more is known to follow (a resumable upload
    /// between requests). A full held-back segment is sealed (it is not the last); the partial
    /// segment's plaintext is handed back, to be kept sealed elsewhere (see [`crate::aside`])
    /// and fed to [`resume`](Self::resume)'s encryptor first.
    pub fn pause(mut self) -> Result<(Option<Bytes>, Zeroizing<Vec<u8>>), CryptoError> {
        if self.pending.len() == SEGMENT_LEN {
            return Ok((Some(self.seal_pending(false)?), Zeroizing::new(Vec::new())));
        }
        Ok((None, Zeroizing::new(std::mem::take(&mut self.pending))))
    }

    fn seal_pending(&mut self, last: bool) -> Result<Bytes, CryptoError> {
        let mut segment =
            std::mem::replace(&mut self.pending, Vec::with_capacity(SEALED_SEGMENT_LEN));
        self.cipher.seal(self.next_index, last, &mut segment)?;
        self.next_index += 1;
        Ok(Bytes::from(segment))
    }
}

/// Opens sealed segments as they arrive and releases each one's plaintext only once its tag
/// verified. The plaintext of the segments opened so far stays in one buffer, back to back, with
/// the sealed bytes of the segment being received after it, until [`take_opened`]
/// (Self::take_opened) hands it over: a caller can send several segments as one frame without
/// copying them together. Each segment is copied once, from the sealed input into that buffer,
/// and decrypted where it lies.
pub struct SegmentDecryptor {
    cipher: SegmentCipher,
    layout: Layout,
    next_index: u64,
    end_index: u64,
    /// `opened` bytes of verified plaintext, then the sealed bytes of segment `next_index`.
    buf: BytesMut,
    opened: usize,
    /// Whole segments of plaintext gathered before the caller takes them as one frame.
    frame_segments: usize,
}

impl SegmentDecryptor {
    /// Decrypts segments `segments` of a file whose plaintext is `plain_len` bytes: the whole
    /// file is `0..=layout.segment_count() - 1`; a Range request takes a [`SegmentSpan`].
    pub fn new(
        key: &DataKey,
        prefix: &NoncePrefix,
        plain_len: u64,
        segments: std::ops::RangeInclusive<u64>,
    ) -> Self {
        Self {
            cipher: SegmentCipher::new(key, prefix),
            layout: Layout::new(plain_len),
            next_index: *segments.start(),
            end_index: *segments.end(),
            buf: BytesMut::with_capacity(SEALED_SEGMENT_LEN),
            opened: 0,
            frame_segments: 1,
        }
    }

    /// Gathers `segments` whole segments of plaintext into a frame (see
    /// [`frame_full`](Self::frame_full)), in a buffer sized so that it never grows (nor copies
    /// what it holds) while the frame fills.
    pub fn with_frame_segments(mut self, segments: usize) -> Self {
        self.frame_segments = segments.max(1);
        self.buf = BytesMut::with_capacity(self.frame_capacity());
        self
    }

    /// Decrypts the whole file.
    pub fn whole(key: &DataKey, prefix: &NoncePrefix, plain_len: u64) -> Self {
        let last = Layout::new(plain_len).segment_count() - 1;
        Self::new(key, prefix, plain_len, 0..=last)
    }

    /// Takes more sealed bytes and opens the segments they complete. Bytes past the last
    /// expected segment, or a segment that fails its tag, are an integrity error, and the
    /// decryptor then holds no plaintext: what it had opened and not handed over is dropped,
    /// so a caller that stops at the error has released nothing after the damage.
    pub fn update(&mut self, mut data: &[u8]) -> Result<(), CryptoError> {
        while !data.is_empty() {
            let outcome = self.feed(&mut data);
            if outcome.is_err() {
                self.buf.as_mut().zeroize();
                self.buf.clear();
                self.opened = 0;
                return outcome;
            }
        }
        Ok(())
    }

    /// Sealed bytes still missing from the segment being received (0 once all expected
    /// segments are in): a caller feeding exactly that much completes it.
    pub fn wants(&self) -> usize {
        if self.next_index > self.end_index {
            return 0;
        }
        self.sealed_len_of(self.next_index) - (self.buf.len() - self.opened)
    }

    /// Bytes of verified plaintext waiting to be taken.
    pub fn opened(&self) -> usize {
        self.opened
    }

    /// Whether the plaintext waiting makes a whole frame, to take now.
    pub fn frame_full(&self) -> bool {
        self.opened >= self.frame_segments * SEGMENT_LEN
    }

    /// A frame's plaintext and the next segment's tag: the most the buffer holds when frames
    /// are taken as soon as they are full.
    fn frame_capacity(&self) -> usize {
        self.frame_segments * SEALED_SEGMENT_LEN
    }

    /// Hands over the verified plaintext opened so far, as one piece.
    pub fn take_opened(&mut self) -> Bytes {
        let opened = self.buf.split_to(self.opened);
        self.opened = 0;
        // A fresh frame; what moves is at most the part of a segment received so far.
        self.buf.reserve(self.frame_capacity());
        opened.freeze()
    }

    /// Checks that every expected segment arrived whole: a blob cut short fails here. An empty
    /// file's only segment is 16 bytes of tag, so it, too, must have arrived.
    pub fn finish(self) -> Result<(), CryptoError> {
        if self.next_index > self.end_index && self.buf.len() == self.opened {
            Ok(())
        } else {
            Err(CryptoError::Integrity)
        }
    }

    fn sealed_len_of(&self, index: u64) -> usize {
        (self.layout.plain_len_of(index) + TAG_LEN as u64) as usize
    }

    /// Moves sealed bytes from `data` into the buffer, up to the end of the current segment,
    /// and opens it if that completed it.
    fn feed(&mut self, data: &mut &[u8]) -> Result<(), CryptoError> {
        if self.next_index > self.end_index {
            return Err(CryptoError::Integrity);
        }
        let want = self.wants();
        let take = want.min(data.len());
        // Room for the whole segment at once (a frame taken in time always has it).
        self.buf.reserve(want);
        self.buf.extend_from_slice(&data[..take]);
        *data = &data[take..];
        if take < want {
            return Ok(());
        }
        let last = self.next_index == self.layout.segment_count() - 1;
        let mut segment = Tail {
            buf: &mut self.buf,
            start: self.opened,
        };
        self.cipher.open(self.next_index, last, &mut segment)?;
        self.opened = self.buf.len();
        self.next_index += 1;
        Ok(())
    }
}

/// The end of a buffer from `start` on, as the buffer a segment is opened in: the tag comes
/// off its end, and the plaintext before `start` is not touched.
struct Tail<'a> {
    buf: &'a mut BytesMut,
    start: usize,
}

impl AsRef<[u8]> for Tail<'_> {
    fn as_ref(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

impl AsMut<[u8]> for Tail<'_> {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..]
    }
}

impl aead::Buffer for Tail<'_> {
    fn extend_from_slice(&mut self, other: &[u8]) -> aead::Result<()> {
        self.buf.extend_from_slice(other);
        Ok(())
    }

    fn truncate(&mut self, len: usize) {
        self.buf.truncate(self.start + len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DataKey {
        DataKey::from_bytes(std::array::from_fn(|i| i as u8))
    }

    fn prefix() -> NoncePrefix {
        NoncePrefix::from_slice(&[100, 101, 102, 103, 104, 105, 106]).unwrap()
    }

    fn plaintext(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Seals `data` fed in `chunk`-byte pieces; returns the segments as the blob holds them.
    fn seal(key: &DataKey, prefix: &NoncePrefix, data: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        let mut enc = SegmentEncryptor::new(key, prefix);
        let mut out: Vec<Vec<u8>> = Vec::new();
        for piece in data.chunks(chunk.max(1)) {
            out.extend(enc.update(piece).unwrap().into_iter().map(|b| b.to_vec()));
        }
        out.push(enc.finish().unwrap().to_vec());
        out
    }

    /// Opens a blob fed in `chunk`-byte pieces: the plaintext released before any error, and
    /// the outcome.
    fn open(blob: &[u8], plain_len: u64, chunk: usize) -> (Vec<u8>, Result<(), CryptoError>) {
        open_segments(blob, plain_len, None, chunk)
    }

    fn open_segments(
        blob: &[u8],
        plain_len: u64,
        segments: Option<std::ops::RangeInclusive<u64>>,
        chunk: usize,
    ) -> (Vec<u8>, Result<(), CryptoError>) {
        let mut dec = match segments {
            Some(s) => SegmentDecryptor::new(&key(), &prefix(), plain_len, s),
            None => SegmentDecryptor::whole(&key(), &prefix(), plain_len),
        };
        let mut released = Vec::new();
        for piece in blob.chunks(chunk.max(1)) {
            match dec.update(piece) {
                Ok(()) => released.extend_from_slice(&dec.take_opened()),
                Err(e) => {
                    assert_eq!(dec.opened(), 0, "a failed decryptor holds no plaintext");
                    return (released, Err(e));
                }
            }
        }
        (released, dec.finish())
    }

    const SIZES: [usize; 7] = [
        0,
        1,
        SEGMENT_LEN - 1,
        SEGMENT_LEN,
        SEGMENT_LEN + 1,
        5 * SEGMENT_LEN + 7,
        8 * SEGMENT_LEN,
    ];

    #[test]
    fn round_trips_at_every_boundary_size_and_chunking() {
        for size in SIZES {
            let data = plaintext(size);
            for chunk in [1000, 4096, SEGMENT_LEN, SEALED_SEGMENT_LEN + 3, usize::MAX] {
                let blob = seal(&key(), &prefix(), &data, chunk.min(size.max(1))).concat();
                let layout = Layout::new(size as u64);
                assert_eq!(blob.len() as u64, layout.sealed_len(), "size {size}");
                if size > 0 {
                    assert!(
                        blob[..size.min(64)] != data[..size.min(64)],
                        "not plaintext"
                    );
                }
                let (plain, outcome) = open(&blob, size as u64, chunk.min(blob.len()));
                assert_eq!(outcome, Ok(()), "size {size} chunk {chunk}");
                assert!(plain == data, "size {size} chunk {chunk}");
            }
        }
    }

    #[test]
    fn segment_count_and_sealed_length() {
        let s = SEGMENT_LEN as u64;
        assert_eq!(Layout::new(0).segment_count(), 1);
        assert_eq!(Layout::new(0).sealed_len(), 16);
        assert_eq!(Layout::new(s).segment_count(), 1);
        assert_eq!(Layout::new(s + 1).segment_count(), 2);
        assert_eq!(Layout::new(s + 1).sealed_len(), s + 1 + 32);
    }

    #[test]
    fn known_answer_matches_an_independent_aes_gcm() {
        // Computed with Python's `cryptography` AESGCM: key 00..1f, nonce prefix 64..6a.
        let single = seal(&key(), &prefix(), b"Coffer known-answer test", 64).concat();
        assert_eq!(
            hex::encode(single),
            "b6dbe7a003537300cebd9d02b7bdd1040ae083fc0c7986315b92a1e9c1c3f460\
             93136c96d53dfc28"
        );
        let mut two = vec![b'a'; SEGMENT_LEN];
        two.extend_from_slice(b"abc");
        let segments = seal(&key(), &prefix(), &two, 10_000);
        assert_eq!(segments.len(), 2);
        assert_eq!(
            hex::encode(&segments[0][SEGMENT_LEN..]),
            "b443226e6978e010cd8cfe5b26f040b2"
        );
        assert_eq!(
            hex::encode(&segments[1]),
            "e3ba4740d156dfffa90e96124df6751ce5044a"
        );
    }

    #[test]
    fn a_flipped_bit_in_any_segment_fails_and_releases_nothing_of_it() {
        let size = 3 * SEGMENT_LEN + 10;
        let data = plaintext(size);
        let blob = seal(&key(), &prefix(), &data, 8192).concat();
        for segment in 0..4 {
            for at in [0, 100, SEALED_SEGMENT_LEN - 1] {
                let pos = (segment * SEALED_SEGMENT_LEN + at).min(blob.len() - 1);
                let mut bad = blob.clone();
                bad[pos] ^= 0x01;
                let (plain, outcome) = open(&bad, size as u64, 5000);
                assert_eq!(outcome, Err(CryptoError::Integrity), "byte {pos}");
                let damaged = pos / SEALED_SEGMENT_LEN;
                assert!(plain.len() <= damaged * SEGMENT_LEN, "byte {pos}");
                assert!(plain == data[..plain.len()], "byte {pos}");
            }
        }
    }

    #[test]
    fn truncation_fails_wherever_the_cut_falls() {
        let size = 3 * SEGMENT_LEN;
        let data = plaintext(size);
        let blob = seal(&key(), &prefix(), &data, size).concat();
        for cut in [
            blob.len() - 1,
            2 * SEALED_SEGMENT_LEN,
            SEALED_SEGMENT_LEN + 5,
            16,
            0,
        ] {
            let (plain, outcome) = open(&blob[..cut], size as u64, 7000);
            assert_eq!(outcome, Err(CryptoError::Integrity), "cut at {cut}");
            assert!(plain.len() <= cut, "cut at {cut}");
            assert!(plain == data[..plain.len()], "cut at {cut}");
        }
        // A cut at a segment boundary with the length record shortened to match: the new last
        // segment was sealed as not-last, so its tag fails.
        let cut = 2 * SEALED_SEGMENT_LEN;
        let (plain, outcome) = open(&blob[..cut], 2 * SEGMENT_LEN as u64, 7000);
        assert_eq!(outcome, Err(CryptoError::Integrity));
        assert!(plain == data[..SEGMENT_LEN]);
    }

    #[test]
    fn extra_bytes_after_the_last_segment_fail() {
        let data = plaintext(100);
        let mut blob = seal(&key(), &prefix(), &data, 100).concat();
        blob.push(0);
        assert_eq!(open(&blob, 100, 50).1, Err(CryptoError::Integrity));
    }

    #[test]
    fn reordered_or_duplicated_segments_fail() {
        let size = 3 * SEGMENT_LEN + 1;
        let segments = seal(&key(), &prefix(), &plaintext(size), size);
        let swapped = [&segments[1], &segments[0], &segments[2], &segments[3]].map(|s| s.clone());
        assert_eq!(
            open(&swapped.concat(), size as u64, 9000).1,
            Err(CryptoError::Integrity)
        );
        let duplicated =
            [&segments[0], &segments[0], &segments[2], &segments[3]].map(|s| s.clone());
        let (plain, outcome) = open(&duplicated.concat(), size as u64, 9000);
        assert_eq!(outcome, Err(CryptoError::Integrity));
        assert_eq!(plain.len(), SEGMENT_LEN, "only the genuine first segment");
    }

    #[test]
    fn a_segment_from_another_file_fails() {
        let size = 2 * SEGMENT_LEN + 1;
        let ours = seal(&key(), &prefix(), &plaintext(size), size);
        let other_key = DataKey::generate();
        let theirs = seal(&other_key, &NoncePrefix::generate(), &plaintext(size), size);
        let mixed = [ours[0].clone(), theirs[1].clone(), ours[2].clone()].concat();
        let (plain, outcome) = open(&mixed, size as u64, size);
        assert_eq!(outcome, Err(CryptoError::Integrity));
        assert_eq!(plain.len(), SEGMENT_LEN);
        // Same key, other prefix (a second file under a reused key) fails as well.
        let same_key = seal(&key(), &NoncePrefix::generate(), &plaintext(size), size);
        let mixed = [ours[0].clone(), same_key[1].clone(), ours[2].clone()].concat();
        assert_eq!(
            open(&mixed, size as u64, size).1,
            Err(CryptoError::Integrity)
        );
    }

    #[test]
    fn the_wrong_key_releases_nothing() {
        let blob = seal(&key(), &prefix(), &plaintext(5000), 5000).concat();
        let mut dec = SegmentDecryptor::whole(&DataKey::generate(), &prefix(), 5000);
        assert_eq!(dec.update(&blob), Err(CryptoError::Integrity));
    }

    /// Frames of several segments: the plaintext of each stays in one buffer until taken, whole
    /// and in order whatever the input's chunking; a damaged segment drops the frame it was in.
    #[test]
    fn segments_gather_into_frames_without_releasing_a_damaged_one() {
        let size = 9 * SEGMENT_LEN + 7;
        let data = plaintext(size);
        let blob = seal(&key(), &prefix(), &data, size).concat();
        let frame = 4 * SEGMENT_LEN;
        for chunk in [1000, SEALED_SEGMENT_LEN, 256 * 1024, blob.len()] {
            let mut dec =
                SegmentDecryptor::whole(&key(), &prefix(), size as u64).with_frame_segments(4);
            let mut frames = Vec::new();
            let mut input = &blob[..];
            while !input.is_empty() {
                // As a download feeds it: never more than the segment being received wants.
                let take = dec.wants().min(chunk).min(input.len());
                dec.update(&input[..take]).unwrap();
                input = &input[take..];
                if dec.frame_full() {
                    assert_eq!(dec.opened(), frame);
                    frames.push(dec.take_opened());
                }
            }
            frames.push(dec.take_opened());
            assert_eq!(dec.finish(), Ok(()));
            let lens: Vec<usize> = frames.iter().map(|f| f.len()).collect();
            assert_eq!(lens, [frame, frame, SEGMENT_LEN + 7], "chunk {chunk}");
            assert!(frames.concat() == data, "chunk {chunk}");
        }
        // The sixth segment damaged: the frame holding the fifth (opened, not yet taken) and
        // the sixth is dropped, and nothing of it can be taken after the error.
        let mut damaged = blob.clone();
        damaged[5 * SEALED_SEGMENT_LEN + 10] ^= 1;
        let mut dec =
            SegmentDecryptor::whole(&key(), &prefix(), size as u64).with_frame_segments(4);
        dec.update(&damaged[..4 * SEALED_SEGMENT_LEN]).unwrap();
        assert_eq!(dec.take_opened().len(), frame);
        dec.update(&damaged[4 * SEALED_SEGMENT_LEN..5 * SEALED_SEGMENT_LEN])
            .unwrap();
        assert_eq!(dec.opened(), SEGMENT_LEN);
        assert_eq!(
            dec.update(&damaged[5 * SEALED_SEGMENT_LEN..]),
            Err(CryptoError::Integrity)
        );
        assert_eq!(dec.opened(), 0);
        assert!(dec.take_opened().is_empty());
    }

    #[test]
    fn a_byte_range_decrypts_only_the_segments_it_covers() {
        let size = 6 * SEGMENT_LEN + 123;
        let data = plaintext(size);
        let blob = seal(&key(), &prefix(), &data, size).concat();
        let layout = Layout::new(size as u64);
        for (start, end) in [
            (0, 0),
            (5, 10),
            (SEGMENT_LEN as u64 - 1, SEGMENT_LEN as u64),
            (2 * SEGMENT_LEN as u64 + 9, 4 * SEGMENT_LEN as u64 + 2),
            (size as u64 - 1, size as u64 - 1),
            (0, size as u64 - 1),
        ] {
            let span = layout.span(start, end);
            let sealed = &blob[span.sealed.start as usize..span.sealed.end as usize];
            let (plain, outcome) =
                open_segments(sealed, size as u64, Some(span.segments.clone()), 3000);
            assert_eq!(outcome, Ok(()), "{start}..={end}");
            let skip = span.skip as usize;
            let want = (end - start + 1) as usize;
            assert!(
                plain[skip..skip + want] == data[start as usize..=end as usize],
                "{start}..={end}"
            );
        }
        // The last segment of a range that ends the file is checked with the last flag.
        let span = layout.span(size as u64 - 1, size as u64 - 1);
        assert_eq!(*span.segments.end(), layout.segment_count() - 1);
        assert_eq!(span.sealed.end, layout.sealed_len());
    }

    #[test]
    fn a_nonce_prefix_must_be_seven_bytes() {
        assert!(NoncePrefix::from_slice(&[0; 6]).is_err());
        assert!(NoncePrefix::from_slice(&[0; 8]).is_err());
        assert!(NoncePrefix::from_slice(&[0; 7]).is_ok());
    }

    /// Seals `data` in requests that end at `cuts`, pausing and resuming in between as a
    /// resumable upload does (the partial segment carried over in the clear here).
    fn seal_resumed(data: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut blob = Vec::new();
        let (mut carried, mut from) = (Vec::new(), 0);
        let mut next_index = 0;
        for &cut in cuts.iter().chain([data.len()].iter()) {
            let mut enc = SegmentEncryptor::resume(&key(), &prefix(), next_index);
            let mut sealed = enc.update(&carried).unwrap();
            sealed.extend(enc.update(&data[from..cut]).unwrap());
            sealed.iter().for_each(|s| blob.extend_from_slice(s));
            from = cut;
            if cut == data.len() {
                blob.extend_from_slice(&enc.finish().unwrap());
                break;
            }
            let (full, partial) = enc.pause().unwrap();
            if let Some(full) = full {
                blob.extend_from_slice(&full);
            }
            next_index = (cut - partial.len()) as u64 / SEGMENT_LEN as u64;
            carried = partial.to_vec();
        }
        blob
    }

    #[test]
    fn sealing_paused_and_resumed_gives_the_blob_of_one_go() {
        let data = plaintext(5 * SEGMENT_LEN + 123);
        let whole: Vec<u8> = seal(&key(), &prefix(), &data, 7000).concat();
        for cuts in [
            vec![],
            vec![1],
            vec![SEGMENT_LEN],
            vec![SEGMENT_LEN - 1, SEGMENT_LEN + 1],
            vec![100, 200, 3 * SEGMENT_LEN, 5 * SEGMENT_LEN],
            vec![5 * SEGMENT_LEN + 122],
        ] {
            assert!(seal_resumed(&data, &cuts) == whole, "cuts {cuts:?}");
        }
        // A length that is a whole number of segments ends with a full last segment.
        let data = plaintext(2 * SEGMENT_LEN);
        let whole: Vec<u8> = seal(&key(), &prefix(), &data, SEGMENT_LEN).concat();
        assert!(seal_resumed(&data, &[SEGMENT_LEN]) == whole);
        let (plain, outcome) = open(&whole, data.len() as u64, 999);
        assert_eq!((plain == data, outcome), (true, Ok(())));
    }
}

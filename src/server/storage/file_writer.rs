//! Writing a blob to the filesystem: durable when finished, without a long stall at the end.
//!
//! OpenDAL's filesystem writer syncs a file only when it is closed, so every dirty page of it
//! is written out then, while the request waits: for a resumable upload that is a stall at the
//! end of every request (an 8 MiB request waited ~16 ms for its sync, as long as its transfer).
//! Here each batch is handed to the kernel's writeback as soon as it is written
//! (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, Linux), so the disk works while the next bytes
//! arrive and the final `fdatasync` has little left to wait for.
//!
//! Same guarantees as before: the file is written in the staging directory and renamed into
//! place only after it is synced (and its directory after the rename), so a blob appears under
//! its key complete and durable or not at all.

use std::{
    fs::File,
    io::{self, Write},
    path::{Path, PathBuf},
    sync::Arc,
};

use bytes::Bytes;

pub(super) struct FileWriter {
    file: Arc<File>,
    temp: PathBuf,
    target: PathBuf,
    written: u64,
    /// Renamed into place or removed: nothing left to clean up.
    settled: bool,
}

impl FileWriter {
    /// A new file in `staging`, to become `target` once finished.
    pub(super) async fn create(staging: &Path, target: PathBuf) -> io::Result<Self> {
        let temp = staging.join(uuid::Uuid::new_v4().simple().to_string());
        let path = temp.clone();
        let file = blocking(move || {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
        })
        .await?;
        Ok(Self {
            file: Arc::new(file),
            temp,
            target,
            written: 0,
            settled: false,
        })
    }

    /// Appends the pieces, and starts writing them back to the disk.
    pub(super) async fn write_all(&mut self, pieces: Vec<Bytes>) -> io::Result<()> {
        let len: u64 = pieces.iter().map(|p| p.len() as u64).sum();
        let (file, from) = (self.file.clone(), self.written);
        blocking(move || {
            let mut out = &*file;
            for piece in &pieces {
                out.write_all(piece)?;
            }
            start_writeback(&file, from, len);
            Ok(())
        })
        .await?;
        self.written += len;
        Ok(())
    }

    /// Syncs the file and moves it into place; its length.
    pub(super) async fn finish(mut self) -> io::Result<u64> {
        let (file, temp, target) = (self.file.clone(), self.temp.clone(), self.target.clone());
        blocking(move || {
            file.sync_data()?;
            let dir = target.parent().unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            std::fs::rename(&temp, &target)?;
            File::open(dir)?.sync_all()
        })
        .await?;
        self.settled = true;
        Ok(self.written)
    }

    pub(super) async fn abort(mut self) -> io::Result<()> {
        let temp = self.temp.clone();
        self.settled = true;
        blocking(move || std::fs::remove_file(temp)).await
    }
}

impl Drop for FileWriter {
    /// Dropped unfinished (the upload failed or went away): the partial file goes. Should this
    /// fail, the staging sweep removes it later.
    fn drop(&mut self) {
        if !self.settled {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)?
}

/// Asks the kernel to start writing `len` bytes from `from` back to the disk, without waiting.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, from: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(from), Ok(len)) = (i64::try_from(from), i64::try_from(len)) else {
        return;
    };
    // SAFETY: `file` is an open descriptor for the duration of the call, and this flag only
    // starts writeback of pages already written; a failure only means no head start.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), from, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: u64) {}

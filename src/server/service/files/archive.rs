//! Several files as one zip, streamed: each file is decrypted as it is written into the
//! archive, and the archive is sent as it is written. Nothing is buffered beyond one segment
//! of a file and the pipe between the writer and the response ([`PIPE_BYTES`]); no temporary
//! file. Entries are written with data descriptors and ZIP64 fields (sizes and CRC follow each
//! entry), so any size and any number of files fit.
//!
//! Names come from the files' names, made safe to extract: no directories, no `..`, no
//! control characters, and a name that repeats gets ` (2)`, ` (3)`… before its extension.
//! Types that are already compressed are stored as they are; the rest is deflated.

use async_zip::{
    base::write::ZipFileWriter, Compression, ZipDateTime, ZipDateTimeBuilder, ZipEntryBuilder,
};
use futures::{io::AsyncWriteExt as _, StreamExt, TryStreamExt};
use tokio_util::io::ReaderStream;

use super::{download::plaintext, PlainStream};
use crate::server::{
    db::{self, files::FileRow},
    error::{Error, Result},
    state::AppState,
};

/// The pipe between the archive's writer and the response.
const PIPE_BYTES: usize = 256 * 1024;

/// Extensions of formats that are compressed already: deflating them again costs CPU and
/// saves nothing.
const COMPRESSED: &[&str] = &[
    "zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "jpg", "jpeg", "png", "gif", "webp",
    "heic", "avif", "mp3", "mp4", "m4a", "m4v", "mov", "mkv", "webm", "ogg", "docx", "xlsx",
    "pptx", "odt", "ods", "odp", "epub", "jar", "apk", "pdf",
];

/// The archive of `files`, in their order, as a stream of bytes. An error while writing
/// (a blob that cannot be read or fails its integrity check) ends the stream with that error,
/// so the client sees a broken transfer rather than a short archive that looks whole.
pub fn zip(state: &AppState, files: Vec<FileRow>) -> PlainStream {
    let (reader, writer) = tokio::io::duplex(PIPE_BYTES);
    let (done, outcome) = tokio::sync::oneshot::channel();
    let state = state.clone();
    tokio::spawn(async move {
        let _ = done.send(write_zip(&state, files, writer).await);
    });
    let archive = ReaderStream::new(reader).map_err(|e| Error::internal("sending a zip", e));
    let end = futures::stream::once(async move {
        match outcome.await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(Err(e)),
            Err(_) => Some(Err(Error::internal(
                "writing a zip",
                "the writer stopped without an outcome",
            ))),
        }
    })
    .filter_map(std::future::ready);
    archive.chain(end).boxed()
}

/// An upload time (Unix seconds) as a zip entry's date: UTC, to the two seconds the format
/// keeps; before 1980, which the format cannot say, as its first moment.
fn zip_date(unix_seconds: i64) -> ZipDateTime {
    let at = db::to_datetime(unix_seconds).max(time::macros::datetime!(1980-01-01 0:00 UTC));
    ZipDateTimeBuilder::new()
        .year(at.year())
        .month(u8::from(at.month()).into())
        .day(at.day().into())
        .hour(at.hour().into())
        .minute(at.minute().into())
        .second(at.second().into())
        .build()
}

async fn write_zip(
    state: &AppState,
    files: Vec<FileRow>,
    writer: tokio::io::DuplexStream,
) -> Result<()> {
    let zip_error = |e| Error::internal("writing a zip", e);
    let mut zip = ZipFileWriter::with_tokio(writer);
    let names = entry_names(files.iter().map(|f| f.filename.as_str()));
    for (file, name) in files.iter().zip(names) {
        let compression = if is_compressed(&name) {
            Compression::Stored
        } else {
            Compression::Deflate
        };
        let entry = ZipEntryBuilder::new(name.into(), compression)
            .uncompressed_size(file.size.max(0) as u64)
            .last_modification_date(zip_date(file.created_at))
            .unix_permissions(0o644);
        let mut content = plaintext(state, file, None).await?;
        let mut out = zip.write_entry_stream(entry).await.map_err(zip_error)?;
        while let Some(chunk) = content.next().await {
            // A failed write means the client went away: the pipe's reader is gone.
            out.write_all(&chunk?)
                .await
                .map_err(|e| Error::internal("writing a zip", e))?;
        }
        out.close().await.map_err(zip_error)?;
    }
    zip.close().await.map_err(zip_error)?;
    Ok(())
}

fn is_compressed(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| COMPRESSED.contains(&ext.to_ascii_lowercase().as_str()))
}

/// Names Windows keeps for devices, whatever the extension (`CON.txt` and `nul.tar.gz` too):
/// extracting such an entry writes to the device or fails.
const WINDOWS_DEVICES: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7",
    "COM8", "COM9", "COM¹", "COM²", "COM³", "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6",
    "LPT7", "LPT8", "LPT9", "LPT¹", "LPT²", "LPT³", "CONIN$", "CONOUT$",
];

/// A name that extracts to a file in the folder extracted into: path separators, control
/// characters and characters Windows refuses become `_`; leading dots and spaces go, so no
/// `..` and no hidden file; a Windows device name gets a leading `_`; an empty result is
/// `file`.
fn safe_name(name: &str) -> String {
    let replaced: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = replaced
        .trim_start_matches(['.', ' '])
        .trim_end_matches(['.', ' ']);
    if trimmed.is_empty() {
        return "file".to_owned();
    }
    let stem = trimmed
        .split('.')
        .next()
        .unwrap_or_default()
        .trim_end()
        .to_uppercase();
    if WINDOWS_DEVICES.contains(&stem.as_str()) {
        format!("_{trimmed}")
    } else {
        trimmed.to_owned()
    }
}

/// Safe names for entries, each different from the others (compared without case, as on
/// Windows and macOS): a repeat gets ` (2)`, ` (3)`… before its extension.
fn entry_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    let mut out = Vec::new();
    for name in names {
        let name = safe_name(name);
        let (stem, ext) = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => (stem.to_owned(), format!(".{ext}")),
            _ => (name.clone(), String::new()),
        };
        let mut candidate = name.clone();
        let mut n = 2;
        while !taken.insert(candidate.to_lowercase()) {
            candidate = format!("{stem} ({n}){ext}");
            n += 1;
        }
        out.push(candidate);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_dated_by_upload_time_in_utc() {
        // 2026-12-07 23:07:41 UTC; the format keeps even seconds.
        let date = zip_date(1_796_684_861);
        assert_eq!(
            (
                date.year(),
                date.month(),
                date.day(),
                date.hour(),
                date.minute(),
                date.second()
            ),
            (2026, 12, 7, 23, 7, 40)
        );
        // Before 1980 (which the format cannot hold): its first moment, never 1980-00-00.
        assert_eq!(
            (zip_date(0).year(), zip_date(0).month(), zip_date(0).day()),
            (1980, 1, 1)
        );
    }

    #[test]
    fn names_cannot_leave_the_folder_they_are_extracted_into() {
        for (name, safe) in [
            ("report.pdf", "report.pdf"),
            ("../../etc/passwd", "_.._etc_passwd"),
            ("/abs/path.txt", "_abs_path.txt"),
            ("C:\\Windows\\x.txt", "C__Windows_x.txt"),
            ("..", "file"),
            (".hidden", "hidden"),
            ("a\u{0}b\nc.txt", "a_b_c.txt"),
            ("", "file"),
            ("trailing. ", "trailing"),
            ("CON.txt", "_CON.txt"),
            ("nul.txt", "_nul.txt"),
            ("Aux", "_Aux"),
            ("com1.tar.gz", "_com1.tar.gz"),
            ("LPT9 .log", "_LPT9 .log"),
            ("prn", "_prn"),
            ("conin$.txt", "_conin$.txt"),
            ("COM¹.txt", "_COM¹.txt"),
            ("console.txt", "console.txt"),
            ("com10.txt", "com10.txt"),
            ("nullable.txt", "nullable.txt"),
        ] {
            assert_eq!(safe_name(name), safe, "{name:?}");
        }
    }

    #[test]
    fn repeated_names_are_numbered_before_the_extension() {
        let names = entry_names(["a.txt", "A.txt", "a.txt", "b", "b", "a (2).txt"].into_iter());
        assert_eq!(
            names,
            [
                "a.txt",
                "A (2).txt",
                "a (3).txt",
                "b",
                "b (2)",
                "a (2) (2).txt"
            ]
        );
    }

    #[test]
    fn compressed_formats_are_stored() {
        assert!(is_compressed("photo.JPG"));
        assert!(is_compressed("archive.zip"));
        assert!(is_compressed("contract.docx"));
        assert!(!is_compressed("notes.txt"));
        assert!(!is_compressed("data.csv"));
        assert!(!is_compressed("zip"));
    }
}

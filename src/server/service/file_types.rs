//! What may be uploaded: filename normalisation, the extension allow-list, and the check that
//! the content is what the extension claims (magic bytes), which also gives the stored MIME type.

use crate::{
    model::{file_extension, UploadPolicy},
    server::error::{Error, Result},
};

/// How many leading bytes the content check looks at.
pub const SNIFF_LEN: usize = 8192;
/// Longest stored filename, in bytes.
const MAX_FILENAME_BYTES: usize = 255;

/// A filename safe to store and show: the last path component, without control or bidirectional
/// formatting characters, trimmed, at most 255 bytes (the extension is kept when shortening).
pub fn normalise_filename(raw: &str) -> Result<String> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    let trimmed = cleaned.trim().trim_end_matches(['.', ' ']);
    if trimmed.is_empty() || trimmed == "." || trimmed == ".." {
        return Err(Error::Validation(
            "The file needs a name (it had none after removing path and control characters)".into(),
        ));
    }
    Ok(shorten(trimmed))
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn shorten(name: &str) -> String {
    if name.len() <= MAX_FILENAME_BYTES {
        return name.to_owned();
    }
    let ext = file_extension(name)
        .filter(|e| e.len() <= 16)
        .unwrap_or_default();
    let ext_start = name.len() - ext.len();
    let mut cut = MAX_FILENAME_BYTES - ext.len();
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}{}", &name[..cut.min(ext_start)], &name[ext_start..])
}

/// Refuses names whose extension the policy does not allow (415).
pub fn check_extension(name: &str, policy: &UploadPolicy) -> Result<String> {
    policy.check_type(name).map_err(Error::UnsupportedType)
}

/// Checks an upload's content against its extension as the bytes arrive: the first
/// [`SNIFF_LEN`] bytes are kept until they are all in (or the file ends), then checked once.
pub struct ContentCheck {
    ext: String,
    head: Vec<u8>,
    mime_type: Option<String>,
}

impl ContentCheck {
    pub fn new(ext: String) -> Self {
        Self::resume(ext, None, &[])
    }

    /// Carries on where an earlier request of a resumable upload stopped: its type if it was
    /// already checked, else the file's bytes so far (fewer than [`SNIFF_LEN`]).
    pub fn resume(ext: String, mime_type: Option<String>, so_far: &[u8]) -> Self {
        let head = match mime_type {
            Some(_) => Vec::new(),
            None => so_far[..so_far.len().min(SNIFF_LEN)].to_vec(),
        };
        Self {
            ext,
            head,
            mime_type,
        }
    }

    /// Takes the next bytes; refused (415) once the first ones do not match the extension.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        if self.mime_type.is_none() {
            let take = (SNIFF_LEN - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
            if self.head.len() == SNIFF_LEN {
                self.mime_type = Some(check_content(&self.ext, &self.head)?.to_owned());
            }
        }
        Ok(())
    }

    /// The type, once the first bytes have been checked.
    pub fn checked_type(&self) -> Option<&str> {
        self.mime_type.as_deref()
    }

    /// The type to store, at the end of the file (a file shorter than [`SNIFF_LEN`] is checked
    /// now).
    pub fn finish(self) -> Result<String> {
        match self.mime_type {
            Some(mime_type) => Ok(mime_type),
            None => Ok(check_content(&self.ext, &self.head)?.to_owned()),
        }
    }
}

/// Checks the first bytes of the content against the extension and returns the MIME type to
/// store. `head` is the first [`SNIFF_LEN`] bytes (or the whole file when shorter).
pub fn check_content(ext: &str, head: &[u8]) -> Result<&'static str> {
    let matches = |mime: &'static str, ok: bool| {
        if ok {
            Ok(mime)
        } else {
            Err(Error::UnsupportedType(format!(
                "The content of this file does not look like a {ext} file"
            )))
        }
    };
    let zip = head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06");
    let ole = head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    match ext {
        ".pdf" => matches("application/pdf", head.starts_with(b"%PDF-")),
        ".png" => matches("image/png", infer::image::is_png(head)),
        ".jpg" | ".jpeg" => matches("image/jpeg", infer::image::is_jpeg(head)),
        ".gif" => matches("image/gif", infer::image::is_gif(head)),
        ".zip" => matches("application/zip", zip),
        ".docx" => matches(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            zip,
        ),
        ".xlsx" => matches(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            zip,
        ),
        ".doc" => matches("application/msword", ole),
        ".xls" => matches("application/vnd.ms-excel", ole),
        ".txt" => matches("text/plain", looks_like_text(head)),
        ".csv" => matches("text/csv", looks_like_text(head)),
        // An extension the operator added: accept unless the content is recognisably something
        // else.
        _ => match infer::get(head) {
            Some(kind) if format!(".{}", kind.extension()) == ext => Ok(kind.mime_type()),
            Some(_) => matches("application/octet-stream", false),
            None => Ok("application/octet-stream"),
        },
    }
}

/// Text: no recognisable binary format and no control bytes that text does not use (tab, line
/// and page breaks and escape are fine). UTF-16 with a byte-order mark is text too.
fn looks_like_text(head: &[u8]) -> bool {
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    let binary = |b: &u8| matches!(b, 0x00..=0x08 | 0x0E..=0x1A | 0x1C..=0x1F);
    !head.iter().any(binary) && infer::get(head).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> UploadPolicy {
        UploadPolicy {
            max_upload_bytes: 1,
            allowed_extensions: crate::server::config::DEFAULT_ALLOWED_EXTENSIONS
                .split(',')
                .map(str::to_owned)
                .collect(),
        }
    }

    #[test]
    fn filenames_lose_paths_and_control_characters() {
        assert_eq!(
            normalise_filename("../../etc/passwd.txt").unwrap(),
            "passwd.txt"
        );
        assert_eq!(normalise_filename("C:\\Users\\me\\a.pdf").unwrap(), "a.pdf");
        assert_eq!(normalise_filename("a\r\nb\u{0}.txt").unwrap(), "ab.txt");
        assert_eq!(
            normalise_filename("invoice\u{202E}fdp.exe").unwrap(),
            "invoicefdp.exe"
        );
        assert_eq!(normalise_filename("  report.pdf. ").unwrap(), "report.pdf");
        assert_eq!(
            normalise_filename("<img src=x onerror=alert(1)>.txt").unwrap(),
            "<img src=x onerror=alert(1)>.txt",
            "markup is kept as text; pages escape it"
        );
        for bad in ["", "   ", "dir/", "..", "\u{7}"] {
            assert!(normalise_filename(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary_keeping_the_extension() {
        let long = format!("{}.pdf", "é".repeat(300));
        let short = normalise_filename(&long).unwrap();
        assert!(short.len() <= 255);
        assert!(short.ends_with(".pdf"));
        assert!(short.starts_with('é'));
    }

    #[test]
    fn extensions_must_be_allowed() {
        assert_eq!(check_extension("A.PDF", &allowed()).unwrap(), ".pdf");
        for name in ["tool.exe", "archive.tar.gz", "noextension", ".pdf"] {
            let err = check_extension(name, &allowed()).unwrap_err();
            assert_eq!(err.code(), "unsupported_type", "{name}");
        }
    }

    #[test]
    fn content_must_match_the_extension() {
        assert_eq!(
            check_content(".pdf", b"%PDF-1.7\n...").unwrap(),
            "application/pdf"
        );
        assert_eq!(check_content(".txt", b"hello\n").unwrap(), "text/plain");
        assert_eq!(check_content(".txt", b"").unwrap(), "text/plain");
        assert_eq!(check_content(".csv", b"a,b\n1,2\n").unwrap(), "text/csv");
        assert_eq!(
            check_content(".png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap(),
            "image/png"
        );
        assert_eq!(
            check_content(".docx", b"PK\x03\x04rest").unwrap(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        for (ext, head) in [
            (".pdf", &b"MZ\x90\0 an executable"[..]),
            (".pdf", b""),
            (".png", b"%PDF-1.4"),
            (".txt", b"MZ\x90\0\x03\0\0\0"),
            (".txt", b"\x7fELF\x02\x01\x01"),
            (".jpg", b"GIF89a"),
            (".docx", b"%PDF-1.4"),
        ] {
            let err = check_content(ext, head).unwrap_err();
            assert_eq!(err.code(), "unsupported_type", "{ext}");
        }
    }

    #[test]
    fn the_content_check_looks_once_the_first_bytes_are_in_whatever_the_pieces() {
        // A "PDF" that is text: refused as soon as the first SNIFF_LEN bytes are in.
        let mut check = ContentCheck::new(".pdf".into());
        check.feed(&[b'a'; 100]).unwrap();
        assert_eq!(check.checked_type(), None);
        assert!(check.feed(&vec![b'a'; SNIFF_LEN]).is_err());
        // A PDF in pieces across the sniffing length, one carried over as a resumed upload's.
        let mut pdf = b"%PDF-1.7\n".to_vec();
        pdf.resize(SNIFF_LEN + 10, b' ');
        let mut check = ContentCheck::resume(".pdf".into(), None, &pdf[..100]);
        check.feed(&pdf[100..SNIFF_LEN - 1]).unwrap();
        assert_eq!(check.checked_type(), None);
        check.feed(&pdf[SNIFF_LEN - 1..]).unwrap();
        assert_eq!(check.checked_type(), Some("application/pdf"));
        assert_eq!(check.finish().unwrap(), "application/pdf");
        // Already checked by an earlier request: nothing more is looked at.
        let mut check = ContentCheck::resume(".pdf".into(), Some("application/pdf".into()), &[]);
        check.feed(b"anything").unwrap();
        assert_eq!(check.finish().unwrap(), "application/pdf");
        // A file shorter than the sniffing length is checked at its end.
        let mut check = ContentCheck::new(".txt".into());
        check.feed(b"short text").unwrap();
        assert_eq!(check.finish().unwrap(), "text/plain");
        assert!(ContentCheck::new(".pdf".into()).finish().is_err());
    }
}

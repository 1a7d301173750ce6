//! A small picture of a file's kind beside its name: a page with the kind's short name on it
//! ("PDF", "PNG", "ZIP"), coloured by family. Decorative: the name beside it says the same.

use leptos::prelude::*;

use crate::model::file_extension;

/// A file's family, which gives its icon's colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Image,
    Video,
    Audio,
    Archive,
    Document,
    Text,
    Other,
}

impl Family {
    fn of(mime: &str, extension: Option<&str>) -> Self {
        let (kind, subtype) = mime.split_once('/').unwrap_or((mime, ""));
        match kind {
            "image" => return Family::Image,
            "video" => return Family::Video,
            "audio" => return Family::Audio,
            "text" => return Family::Text,
            _ => {}
        }
        if [
            "zip",
            "gzip",
            "x-tar",
            "x-7z-compressed",
            "x-bzip2",
            "x-xz",
            "zstd",
        ]
        .contains(&subtype)
        {
            return Family::Archive;
        }
        if subtype == "pdf" || subtype.contains("document") || subtype.contains("msword") {
            return Family::Document;
        }
        match extension.unwrap_or_default() {
            ".zip" | ".gz" | ".tgz" | ".tar" | ".7z" | ".xz" | ".bz2" | ".zst" => Family::Archive,
            ".pdf" | ".doc" | ".docx" | ".odt" | ".rtf" | ".xls" | ".xlsx" | ".ods" | ".ppt"
            | ".pptx" | ".odp" => Family::Document,
            ".txt" | ".md" | ".csv" | ".json" | ".log" => Family::Text,
            _ => Family::Other,
        }
    }

    fn class(self) -> &'static str {
        match self {
            Family::Image => "file-icon kind-image",
            Family::Video => "file-icon kind-video",
            Family::Audio => "file-icon kind-audio",
            Family::Archive => "file-icon kind-archive",
            Family::Document => "file-icon kind-document",
            Family::Text => "file-icon kind-text",
            Family::Other => "file-icon kind-other",
        }
    }
}

/// What the icon says: the extension, upper-cased, when it is short and plain; else "FILE".
fn label(extension: Option<&str>) -> String {
    extension
        .map(|e| e.trim_start_matches('.').to_ascii_uppercase())
        .filter(|e| (1..=4).contains(&e.len()) && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| "FILE".to_owned())
}

#[component]
pub fn FileIcon(#[prop(into)] name: String, #[prop(into)] mime: String) -> impl IntoView {
    let extension = file_extension(&name);
    let family = Family::of(&mime, extension.as_deref());
    view! {
        <svg class=family.class() viewBox="0 0 32 40" width="32" height="40"
            aria-hidden="true" focusable="false" data-testid="file-icon">
            <path class="page" d="M3 1.5h18l8.5 8.5v28.5H3z"/>
            <path class="fold" d="M21 1.5V10h8.5"/>
            <text x="16.25" y="32" text-anchor="middle">{label(extension.as_deref())}</text>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_come_from_the_type_then_the_extension() {
        assert_eq!(Family::of("image/png", Some(".png")), Family::Image);
        assert_eq!(
            Family::of("application/pdf", Some(".pdf")),
            Family::Document
        );
        assert_eq!(Family::of("application/zip", None), Family::Archive);
        assert_eq!(
            Family::of("application/octet-stream", Some(".tgz")),
            Family::Archive
        );
        assert_eq!(
            Family::of(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                Some(".docx")
            ),
            Family::Document
        );
        assert_eq!(Family::of("text/plain", Some(".txt")), Family::Text);
        assert_eq!(Family::of("application/octet-stream", None), Family::Other);
    }

    #[test]
    fn the_label_is_a_short_extension_or_file() {
        assert_eq!(label(Some(".pdf")), "PDF");
        assert_eq!(label(Some(".jpeg")), "JPEG");
        assert_eq!(label(Some(".backup")), "FILE");
        assert_eq!(label(Some(".tar~")), "FILE");
        assert_eq!(label(None), "FILE");
    }
}

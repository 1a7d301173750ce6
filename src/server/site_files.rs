//! Where the built site is and what its files are called (`LEPTOS_SITE_ROOT`, `target/site` by
//! default): the script, wasm and styles under `pkg/`, and the assets copied from `public/`.
//!
//! A release build names the `pkg/` files after their content (cargo-leptos `hash-files`) and
//! writes the hash file (`hash.txt`: `js: …`, `wasm: …`, `css: …`, and with `--split` the loader
//! of the split-off pages and its manifest, `split: …`, `manifest: …`) beside the server binary;
//! an installation may keep it in the site root instead, so that the site directory describes
//! itself. Leptos reads it when it renders the scripts and the stylesheet; `http::site` serves
//! the files.

use std::path::{Path, PathBuf};

const HASH_FILE: &str = "hash.txt";

/// Where the site is and what its files are called.
#[derive(Clone, Debug)]
pub struct SiteFiles {
    root: PathBuf,
    /// The hash file found, if the build named its files after their content.
    hash_file: Option<PathBuf>,
    /// `/pkg/<name>[.<hash>].css`.
    stylesheet: String,
}

impl SiteFiles {
    /// Finds the hash file (the site root, then beside this executable) and reads the names.
    /// A hash file naming files the site does not have (the site and the binary come from
    /// different builds) is logged: pages would load without their script and styles.
    pub fn locate(root: &str, output_name: &str) -> Self {
        let root = PathBuf::from(root);
        let beside_exe = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(HASH_FILE)));
        let hash_file = std::iter::once(root.join(HASH_FILE))
            .chain(beside_exe)
            .find(|path| path.is_file())
            .and_then(|path| std::path::absolute(path).ok());
        let hashes = hash_file
            .as_deref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .map(|text| parse_hashes(&text))
            .unwrap_or_default();
        let name = |ext: &str| match hashes.iter().find(|(kind, _)| kind == ext) {
            Some((_, hash)) => format!("{output_name}.{hash}.{ext}"),
            None => format!("{output_name}.{ext}"),
        };
        if let Some(path) = &hash_file {
            for file in named_files(&hashes, output_name) {
                if !root.join("pkg").join(&file).is_file() {
                    tracing::error!(
                        hash_file = %path.display(),
                        site_root = %root.display(),
                        "the hash file names pkg/{file}, which the site does not have: the site \
                         and this binary come from different builds, and pages will load without \
                         their script or styles; install the site and hash.txt of the same build"
                    );
                }
            }
        }
        Self {
            stylesheet: format!("/pkg/{}", name("css")),
            root,
            hash_file,
        }
    }

    /// The hash file, as Leptos' `hash_file` option (absolute, so Leptos' own lookup beside the
    /// executable finds it wherever it is).
    pub fn hash_file(&self) -> Option<&Path> {
        self.hash_file.as_deref()
    }

    /// The stylesheet's address, for pages rendered outside Leptos (the 429 page).
    pub fn stylesheet_href(&self) -> &str {
        &self.stylesheet
    }

    /// The directory of the build's `pkg/` files.
    pub fn pkg_dir(&self) -> PathBuf {
        self.root.join("pkg")
    }
}

/// The `pkg/` files a hash file names: the main script, wasm and styles, and for a split build
/// (`cargo leptos build --split`) the script that loads the split-off pages and their manifest.
fn named_files(hashes: &[(String, String)], output_name: &str) -> Vec<String> {
    hashes
        .iter()
        .filter_map(|(kind, hash)| match kind.as_str() {
            "js" | "wasm" | "css" => Some(format!("{output_name}.{hash}.{kind}")),
            "split" => Some(format!("__wasm_split.{hash}.js")),
            "manifest" => Some(format!("__wasm_split_manifest.{hash}.json")),
            _ => None,
        })
        .collect()
}

/// `js: abc\nwasm: def\ncss: ghi` → `[("js", "abc"), …]`.
fn parse_hashes(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(kind, hash)| (kind.trim().to_owned(), hash.trim().to_owned()))
        .filter(|(kind, hash)| !kind.is_empty() && !hash.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_file_lines_are_read_by_kind() {
        let hashes = parse_hashes("js: aaa\nwasm: bbb\n\ncss:ccc\nbroken\n");
        assert_eq!(
            hashes,
            [("js", "aaa"), ("wasm", "bbb"), ("css", "ccc")]
                .map(|(k, h)| (k.to_owned(), h.to_owned()))
        );
    }

    #[test]
    fn a_split_build_names_its_loader_and_manifest_too() {
        let hashes = parse_hashes("js: j1\nwasm: w1\ncss: c1\nmanifest: m1\nsplit: s1\n");
        assert_eq!(
            named_files(&hashes, "coffer"),
            [
                "coffer.j1.js",
                "coffer.w1.wasm",
                "coffer.c1.css",
                "__wasm_split_manifest.m1.json",
                "__wasm_split.s1.js"
            ]
        );
    }

    #[test]
    fn a_site_without_a_hash_file_keeps_plain_names() {
        let dir = tempfile::tempdir().unwrap();
        let site = SiteFiles::locate(dir.path().to_str().unwrap(), "coffer");
        assert_eq!(site.stylesheet_href(), "/pkg/coffer.css");
    }

    #[test]
    fn a_hash_file_in_the_site_root_names_the_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(HASH_FILE), "js: j1\nwasm: w1\ncss: c1\n").unwrap();
        let site = SiteFiles::locate(dir.path().to_str().unwrap(), "coffer");
        assert_eq!(site.stylesheet_href(), "/pkg/coffer.c1.css");
        assert!(site.hash_file().unwrap().is_absolute());
    }
}

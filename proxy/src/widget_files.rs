//! Where the widget's files come from: a directory (`assets` in the config,
//! for a widget built elsewhere), or the copy built into this binary.
//!
//! `cargo xtask dist` builds the proxy with the cargo feature `embed-widget`
//! and `PROXY_EMBED_WIDGET_DIR` naming a built `dist/`: `build.rs` then
//! includes every file of it (the hashed names, their `.br` and `.gz` twins
//! and the loader) in the binary, and a config without `assets` serves them
//! from memory. A normal build has no feature and includes nothing, so a
//! change to the widget never rebuilds the everyday proxy.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;

#[cfg(feature = "embed-widget")]
mod embedded {
    // `FILES: &[(&str, &[u8])]`, written by build.rs.
    include!(concat!(env!("OUT_DIR"), "/embedded_widget.rs"));
}

/// The widget's files, as the proxy serves them.
#[derive(Debug, Clone)]
pub enum WidgetFiles {
    /// A built `dist/` on disk.
    Directory(PathBuf),
    /// Files held in memory: the ones built into the binary.
    InMemory(Arc<InMemoryFiles>),
}

impl WidgetFiles {
    /// The widget built into this binary, if it was built with one
    /// (`cargo xtask dist`).
    pub fn built_in() -> Option<Self> {
        InMemoryFiles::built_in().map(|files| Self::InMemory(Arc::new(files)))
    }
}

impl fmt::Display for WidgetFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Directory(dir) => write!(f, "{}", dir.display()),
            Self::InMemory(files) => write!(
                f,
                "built into this binary ({} files; set assets to serve another build)",
                files.len()
            ),
        }
    }
}

/// Files by name (`widget.js`, `callback_widget.<hash>.js.br`, …), each
/// with its entity tag.
#[derive(Clone, Default)]
pub struct InMemoryFiles {
    files: HashMap<String, InMemoryFile>,
}

/// One file's bytes and its `ETag`, computed once: files in memory have no
/// modification time, so a browser revalidates the loader with
/// `If-None-Match` where `ServeDir` answers `If-Modified-Since`.
#[derive(Clone, Debug)]
pub struct InMemoryFile {
    /// The bytes served.
    pub bytes: Bytes,
    /// A strong entity tag: `"` + the first 16 bytes of the SHA-256, in hex, + `"`.
    pub etag: String,
}

impl InMemoryFile {
    fn new(bytes: Bytes) -> Self {
        use sha2::{Digest, Sha256};
        let etag = format!("\"{}\"", hex::encode(&Sha256::digest(&bytes)[..16]));
        Self { bytes, etag }
    }
}

impl fmt::Debug for InMemoryFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.files.keys().collect();
        names.sort();
        f.debug_struct("InMemoryFiles")
            .field("names", &names)
            .finish()
    }
}

impl InMemoryFiles {
    /// The files built into this binary; `None` in a build without them.
    pub fn built_in() -> Option<Self> {
        #[cfg(feature = "embed-widget")]
        {
            let files = embedded::FILES
                .iter()
                .map(|(name, bytes)| {
                    let file = InMemoryFile::new(Bytes::from_static(bytes));
                    ((*name).to_owned(), file)
                })
                .collect();
            Some(Self { files })
        }
        #[cfg(not(feature = "embed-widget"))]
        None
    }

    /// Every file directly in `dir` (a built `dist/`), read into memory:
    /// what tests compare with serving the same directory from disk.
    pub fn read_dir(dir: &Path) -> std::io::Result<Self> {
        let mut files = HashMap::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let bytes = Bytes::from(std::fs::read(entry.path())?);
                files.insert(name, InMemoryFile::new(bytes));
            }
        }
        Ok(Self { files })
    }

    /// The file called `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&InMemoryFile> {
        self.files.get(name)
    }

    /// How many files (twins included).
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

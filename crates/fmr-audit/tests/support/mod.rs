//! Helpers shared by the integration tests.

use std::fs;
use std::path::Path;

/// Writes `contents` to `path`, creating its directories.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create directories");
    }
    fs::write(path, contents).expect("write file");
}

//! Where the database lives: `$FMR_DATA_DIR`, else `$XDG_DATA_HOME/fmr`, else
//! `~/.local/share/fmr` (the XDG default), in that order.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The file name of the database inside the data directory.
pub const DB_FILE_NAME: &str = "fmr.sqlite3";

/// The environment variable that overrides the data directory.
pub const DATA_DIR_ENV: &str = "FMR_DATA_DIR";

/// The data directory from an environment lookup, so tests need not touch the
/// process environment. `None` when neither variable nor a home is set.
///
/// Empty values count as unset, and a relative `XDG_DATA_HOME` is ignored, as
/// the XDG Base Directory specification requires.
pub fn data_dir_from(lookup: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let non_empty = |name: &str| lookup(name).filter(|value| !value.is_empty());
    if let Some(dir) = non_empty(DATA_DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    if let Some(xdg) = non_empty("XDG_DATA_HOME").map(PathBuf::from)
        && xdg.is_absolute()
    {
        return Some(xdg.join("fmr"));
    }
    non_empty("HOME").map(|home| Path::new(&home).join(".local").join("share").join("fmr"))
}

/// The data directory of this process's environment.
pub fn data_dir() -> Option<PathBuf> {
    data_dir_from(|name| std::env::var_os(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn override_wins_over_xdg_and_home() {
        let dir = data_dir_from(env(&[
            ("FMR_DATA_DIR", "/srv/fmr"),
            ("XDG_DATA_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ]));
        assert_eq!(dir, Some(PathBuf::from("/srv/fmr")));
    }

    #[test]
    fn xdg_data_home_gets_an_fmr_folder() {
        let dir = data_dir_from(env(&[("XDG_DATA_HOME", "/xdg"), ("HOME", "/home/u")]));
        assert_eq!(dir, Some(PathBuf::from("/xdg/fmr")));
    }

    #[test]
    fn relative_or_empty_xdg_falls_back_to_home() {
        for xdg in ["relative/dir", ""] {
            let dir = data_dir_from(env(&[("XDG_DATA_HOME", xdg), ("HOME", "/home/u")]));
            assert_eq!(
                dir,
                Some(PathBuf::from("/home/u/.local/share/fmr")),
                "{xdg:?}"
            );
        }
    }

    #[test]
    fn nothing_set_means_no_directory() {
        assert_eq!(data_dir_from(env(&[("FMR_DATA_DIR", "")])), None);
    }
}

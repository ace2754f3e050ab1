//! Replacing a file so that a reader never sees half of it and a failed write loses nothing.
//!
//! Used by `optimc fmt` (rewriting sources) and by [`crate::checkpoint`] (state files).

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Writes `bytes` to a temporary file beside `path`, syncs it, gives it `path`'s permissions
/// (when `path` exists), and renames it over `path`. On error `path` is untouched and the
/// temporary file is removed.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("optimc-atomic-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("lr.txt");
/// optimc::atomic::write(&path, b"0.1\n").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"0.1\n");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
///
/// # Errors
/// Any I/O error from creating, writing, syncing or renaming the file.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    let permissions = std::fs::metadata(path).ok().map(|m| m.permissions());
    let temp = dir.join(format!(".{file_name}.optimc.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        if let Some(permissions) = permissions {
            std::fs::set_permissions(&temp, permissions)?;
        }
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
        return result;
    }
    // Make the rename itself durable (best effort: not every platform can sync a directory).
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("optimc-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.optim");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "temporary file left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let missing = std::env::temp_dir().join("optimc-no-such-dir-for-atomic/x.optim");
        assert!(write(&missing, b"x").is_err());
        assert!(!missing.exists());
    }
}

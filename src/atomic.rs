//! Replacing a file so that a reader never sees half of it and a failed write loses nothing.
//!
//! Used by `optimc fmt` (rewriting sources), `optimc plot` (images) and [`crate::checkpoint`]
//! (state files).
//!
//! The temporary file is made in the destination's directory (so that the rename is atomic),
//! under a fresh unpredictable name and exclusively (`O_CREAT | O_EXCL`, which never follows a
//! symlink): in a directory others can write to, nobody can plant a link at the name that makes
//! the write land on, or re-permission, a file of theirs choosing. It has the final permissions
//! before it holds a byte. On every error path (a panic included) it is removed. A process
//! killed mid-write leaves it behind; the next write to the same destination removes such
//! leftovers (see `remove_leftovers`), so they do not accumulate.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// How every temporary file's name ends: `.{destination name}.{pid}.{random}.optimc-tmp`.
const TEMP_SUFFIX: &str = ".optimc-tmp";

/// A leftover is removed only when nothing has written to it for this long, so that a write in
/// progress in another process (another host, on a network file system, where its pid means
/// nothing here) is never disturbed.
const LEFTOVER_AGE: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Writes `bytes` to a fresh temporary file beside `path`, syncs it, and renames it over `path`,
/// then syncs the directory. The new file keeps `path`'s permissions (and, where the process
/// may set it, its owner and group) when `path` exists.
///
/// `path` itself is replaced: when it is a symlink, the link is replaced by the file, and its
/// target is left alone (callers that mean to write the target resolve the link first, as
/// `optimc fmt` does). An existing `path` that is read-only, that is, that has no write
/// permission bit at all (`chmod a-w`), or that this process could not open for writing, is
/// refused with [`std::io::ErrorKind::PermissionDenied`] rather than replaced (even when run as
/// root, which the operating system would let write anything).
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
/// Any I/O error from creating, writing, syncing or renaming the file; `PermissionDenied` for a
/// read-only `path`. On error `path` is untouched and no temporary file is left.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, |file| file.write_all(bytes))
}

/// As [`write`], with the contents written by `fill` (through a buffer) instead of taken from
/// one slice, so a large file (a checkpoint's tensors) is streamed to disk without first being
/// assembled in memory. If `fill` fails, `path` is untouched and no temporary file is left.
///
/// # Errors
/// As [`write`], and any error `fill` returns.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    // Not following a symlink: it is the link that gets replaced.
    let existing = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => Some(m),
        Ok(_) => None,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(metadata) = &existing {
        refuse_read_only(path, metadata)?;
    }
    let (mut file, temp) = create_temp(&dir, &file_name, existing.as_ref())?;
    // From here on, any return before the rename (or a panic) removes the temporary file.
    let guard = RemoveOnDrop(Some(temp));
    if let Some(metadata) = &existing {
        keep_owner_and_permissions(&file, metadata)?;
    }
    {
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, &mut file);
        fill(&mut buffered)?;
        buffered.flush()?;
    }
    file.sync_all()?;
    drop(file);
    let temp = guard.path();
    remove_leftovers(&dir, &file_name, temp);
    std::fs::rename(temp, path)?;
    guard.disarm();
    // Make the rename itself durable (best effort: not every platform can sync a directory).
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes a temporary file when dropped, unless disarmed.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn path(&self) -> &Path {
        self.0.as_deref().expect("armed")
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The error for a read-only destination. (Callers name the file.)
fn read_only(why: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        format!(
            "the file is read-only ({why}), and optimc does not replace a read-only file; \
             make it writable (`chmod u+w`) if it should change"
        ),
    )
}

#[cfg(unix)]
fn refuse_read_only(path: &Path, metadata: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = metadata.permissions().mode();
    // The mode bits, not the operating system, decide: root may write anything.
    if mode & 0o222 == 0 {
        return Err(read_only(&format!("mode {:04o}", mode & 0o7777)));
    }
    // Another user's file that this user may not write (but whose directory it may): renaming
    // over it would replace it all the same.
    match OpenOptions::new().write(true).open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(read_only(&format!(
            "mode {:04o}, not writable by this user",
            mode & 0o7777
        ))),
        _ => Ok(()),
    }
}

#[cfg(not(unix))]
fn refuse_read_only(_path: &Path, metadata: &std::fs::Metadata) -> std::io::Result<()> {
    if metadata.permissions().readonly() {
        return Err(read_only("the read-only attribute is set"));
    }
    Ok(())
}

/// A name no other process can guess: the pid (so that leftovers can be told from files in
/// use), then 64 random bits from the standard library's per-process random hash keys.
fn temp_name(file_name: &str, attempt: u32) -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(attempt);
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    format!(
        ".{file_name}.{}.{:016x}{TEMP_SUFFIX}",
        std::process::id(),
        hasher.finish()
    )
}

/// Creates the temporary file exclusively (never opening an existing file or following a
/// link), with no more permissions than the destination has (`0o600` until
/// [`keep_owner_and_permissions`] sets them exactly), or the default `0o666` less the umask for
/// a new destination, as `File::create` would.
fn create_temp(
    dir: &Path,
    file_name: &str,
    existing: Option<&std::fs::Metadata>,
) -> std::io::Result<(File, PathBuf)> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(existing.map_or(0o666, |_| 0o600));
    }
    #[cfg(not(unix))]
    let _ = existing;
    let mut attempt = 0;
    loop {
        let temp = dir.join(temp_name(file_name, attempt));
        match options.open(&temp) {
            Ok(file) => return Ok((file, temp)),
            // Someone holds this name (by chance or on purpose): draw another.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 16 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Gives the temporary file the destination's owner and group (where allowed: root may, and
/// a user may pick any group of theirs) and then its permissions (after the owner, which may
/// clear set-id bits).
#[cfg(unix)]
fn keep_owner_and_permissions(file: &File, existing: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let own = file.metadata()?;
    if (own.uid(), own.gid()) != (existing.uid(), existing.gid())
        && std::os::unix::fs::fchown(file, Some(existing.uid()), Some(existing.gid())).is_err()
    {
        let _ = std::os::unix::fs::fchown(file, None, Some(existing.gid()));
    }
    file.set_permissions(existing.permissions())
}

#[cfg(not(unix))]
fn keep_owner_and_permissions(file: &File, existing: &std::fs::Metadata) -> std::io::Result<()> {
    file.set_permissions(existing.permissions())
}

/// Removes the temporary files a killed write to `file_name` left in `dir`: those named like
/// ours, regular files, owned by whoever owns `ours` (this process's user), untouched for
/// [`LEFTOVER_AGE`], and, where `/proc` tells, whose process is gone. Best effort: a file it
/// cannot judge or remove stays.
fn remove_leftovers(dir: &Path, file_name: &str, ours: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{file_name}.");
    let proc_known = Path::new("/proc/self").exists();
    #[cfg(unix)]
    let our_uid = {
        use std::os::unix::fs::MetadataExt as _;
        match std::fs::symlink_metadata(ours) {
            Ok(m) => m.uid(),
            Err(_) => return,
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(middle) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
        else {
            continue;
        };
        // `{pid}.{16 hex digits}`
        let Some((pid, random)) = middle.split_once('.') else {
            continue;
        };
        if pid.parse::<u32>().is_err()
            || random.len() != 16
            || !random.bytes().all(|b| b.is_ascii_hexdigit())
        {
            continue;
        }
        let path = entry.path();
        if path == ours {
            continue;
        }
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            if metadata.uid() != our_uid {
                continue;
            }
        }
        let idle = metadata
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age >= LEFTOVER_AGE);
        let alive = proc_known && Path::new("/proc").join(pid).exists();
        if metadata.is_file() && idle && !alive {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn scratch(what: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("optimc-atomic-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn replaces_the_file_and_keeps_its_permissions() {
        let dir = scratch("perm");
        let path = dir.join("a.optim");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(mode(&path), 0o640);
        assert_eq!(names(&dir), ["a.optim"], "temporary file left");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let missing = std::env::temp_dir().join("optimc-no-such-dir-for-atomic/x.optim");
        assert!(write(&missing, b"x").is_err());
        assert!(!missing.exists());
        // A rename that fails (the destination is a directory): the temporary file goes.
        let dir = scratch("rename");
        std::fs::create_dir(dir.join("d")).unwrap();
        assert!(write(&dir.join("d"), b"x").is_err());
        assert_eq!(names(&dir), ["d"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_temporary_name_is_unpredictable_and_a_planted_link_is_never_followed() {
        let dir = scratch("plant");
        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
        // The old name (`.a.optim.optimc.{pid}.tmp`), and what any name made from the pid
        // alone could be, all linked to the victim.
        let pid = std::process::id();
        for name in [
            format!(".a.optim.optimc.{pid}.tmp"),
            format!(".a.optim.{pid}.tmp"),
        ] {
            std::os::unix::fs::symlink(&victim, dir.join(name)).unwrap();
        }
        let path = dir.join("a.optim");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(mode(&victim), 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert!(temp_name("a.optim", 0) != temp_name("a.optim", 0));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_read_only_file_is_refused_even_as_root() {
        let dir = scratch("readonly");
        let path = dir.join("a.optim");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let e = write(&path, b"new").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("read-only (mode 0444)"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(&dir), ["a.optim"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_symlink_is_replaced_not_followed() {
        let dir = scratch("link");
        std::fs::write(dir.join("target"), "target").unwrap();
        std::os::unix::fs::symlink("target", dir.join("link")).unwrap();
        write(&dir.join("link"), b"new").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("target")).unwrap(),
            "target"
        );
        assert!(std::fs::symlink_metadata(dir.join("link"))
            .unwrap()
            .is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn leftovers_of_killed_writes_are_removed_and_nothing_else() {
        let dir = scratch("leftover");
        let old = std::time::SystemTime::now() - LEFTOVER_AGE * 2;
        let leftover = |name: &str, age: std::time::SystemTime| {
            let file = File::create(dir.join(name)).unwrap();
            file.set_modified(age).unwrap();
        };
        // A pid that no process has (above Linux's pid_max of 2^22).
        let dead = 4_000_000_000u32;
        let me = std::process::id();
        leftover(&format!(".a.optim.{dead}.0123456789abcdef.optimc-tmp"), old);
        // Recent, or of a live process: perhaps a write in progress; kept.
        leftover(
            &format!(".a.optim.{dead}.1123456789abcdef.optimc-tmp"),
            std::time::SystemTime::now(),
        );
        leftover(&format!(".a.optim.{me}.2123456789abcdef.optimc-tmp"), old);
        // Another destination's, or not our pattern: kept.
        leftover(&format!(".b.optim.{dead}.3123456789abcdef.optimc-tmp"), old);
        leftover(".a.optim.notes", old);
        write(&dir.join("a.optim"), b"new").unwrap();
        let mut kept = vec![
            format!(".a.optim.{me}.2123456789abcdef.optimc-tmp"),
            format!(".a.optim.{dead}.1123456789abcdef.optimc-tmp"),
            ".a.optim.notes".to_string(),
            format!(".b.optim.{dead}.3123456789abcdef.optimc-tmp"),
            "a.optim".to_string(),
        ];
        kept.sort();
        assert_eq!(names(&dir), kept);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_new_file_gets_the_default_permissions() {
        let dir = scratch("new");
        let path = dir.join("plot.svg");
        write(&path, b"<svg/>").unwrap();
        // 0o666 less the umask: at least owner read and write, never execute.
        let m = mode(&path);
        assert_eq!(m & 0o600, 0o600, "{m:o}");
        assert_eq!(m & 0o111, 0, "{m:o}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

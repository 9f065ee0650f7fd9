//! Leases and the upload folder: a job's lease renewed while it runs, the jobs of stopped
//! servers failed, and the private folder where uploads wait, swept when stale.

use super::ImportProgress;
use crate::AppState;
use fupin_store::{JobId, StoreError};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// A job's error when its server stopped while it ran (what the job page and the API
/// show once another process, or this one restarted, has failed it).
pub const INTERRUPTED: &str = "导入中断：处理它的服务器已停止，文件未写入任何数据，请重新上传";

/// A job's error when the job itself failed unexpectedly (a panic).
pub(super) const CRASHED: &str =
    "导入中断：服务器处理时出现内部错误，文件未写入任何数据，请重新上传；如再次出现请联系系统管理员";

/// A job's error when its process lost the lease (it could not reach the database for a
/// whole lease, and another process failed the job meanwhile).
pub(super) const LEASE_LOST: &str =
    "导入中断：服务器长时间无法连接数据库，任务已被标记为失败，文件未写入任何数据，请重新上传";

/// The error of a job of `kind` whose process stopped.
pub fn stopped_job_error(kind: &str) -> String {
    match kind {
        "import" => INTERRUPTED.to_string(),
        _ => "任务中断：处理它的服务器已停止，请重新提交".to_string(),
    }
}

/// How often a job's lease is renewed: a sixth of the lease (5 s of 30 s).
pub fn heartbeat_every(lease: Duration) -> Duration {
    (lease / 6).max(Duration::from_millis(100))
}

/// Renew job `id`'s lease and touch its upload folder every heartbeat, until the lease
/// is lost (returns; the job must stop). While SQLite's write lock is the import's, the
/// row cannot be written: the import renews the lease as it commits instead.
pub(super) async fn keep_lease(
    state: &AppState,
    id: JobId,
    folder: &FsPath,
    progress: &ImportProgress,
) {
    let lease = state.config.job_lease;
    let write_locked = state.store.import().import_holds_write_lock();
    let mut tick = tokio::time::interval(heartbeat_every(lease));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        touch(folder);
        if write_locked && progress.storing() {
            continue;
        }
        match state
            .store
            .jobs()
            .renew_job_lease(id, &state.config.instance, lease)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!("import job {id}: lease lost, stopping");
                return;
            }
            // The database is out of reach: the next beat tries again (the lease lasts
            // six of them).
            Err(e) => tracing::warn!("import job {id}: lease not renewed: {e}"),
        }
    }
}

/// Mark failed every job whose lease has passed — its server stopped — but those this
/// process runs (alive, whatever their row says while SQLite's lock is an import's).
/// Any server does it, at start and every heartbeat; the store's conditional UPDATE
/// fails each job once.
pub async fn fail_stopped_jobs(state: &AppState) -> Result<Vec<JobId>, StoreError> {
    let own = state.imports.ids();
    let failed = state
        .store
        .jobs()
        .fail_expired_jobs(&own, &stopped_job_error)
        .await?;
    for id in &failed {
        tracing::warn!("job {id}: its server stopped while it ran; marked failed");
    }
    Ok(failed)
}

/// The prefix of each upload's folder in the upload folder (the sweep removes nothing
/// else).
pub(crate) const UPLOAD_PREFIX: &str = "fupin-upload-";

/// Where uploads wait: a private folder (0700) that only this server's user can read.
/// The configured one ([`crate::Config::upload_dir`]), prepared by the caller with
/// [`prepare_upload_folder`]; else one made for this process in the system's temp
/// folder, removed with it.
#[derive(Debug)]
pub struct UploadFolder {
    configured: Option<PathBuf>,
    own: Mutex<Option<tempfile::TempDir>>,
}

impl UploadFolder {
    pub fn new(configured: Option<PathBuf>) -> UploadFolder {
        UploadFolder {
            configured,
            own: Mutex::new(None),
        }
    }

    /// The folder, made on first use when none is configured.
    pub fn path(&self) -> std::io::Result<PathBuf> {
        if let Some(p) = &self.configured {
            return Ok(p.clone());
        }
        let mut own = self
            .own
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if own.is_none() {
            *own = Some(private_dir_builder().prefix("fupin-uploads-").tempdir()?);
        }
        Ok(own
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default())
    }
}

/// A temp folder builder whose folders are private (0700).
pub(crate) fn private_dir_builder<'a>() -> tempfile::Builder<'a, 'a> {
    let mut b = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o700));
    }
    b
}

/// Create an upload file only its owner can read (0600), whatever the umask.
pub(crate) async fn private_file(path: &FsPath) -> std::io::Result<tokio::fs::File> {
    let mut o = tokio::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    o.mode(0o600);
    o.open(path).await
}

/// Make `folder` the private upload folder: created 0700 if missing (with its parents);
/// an existing one must already be private — a folder others can read (such as the
/// system's temp folder) is refused, never changed, as it is not fupin's.
pub fn prepare_upload_folder(folder: &FsPath) -> Result<(), String> {
    match std::fs::symlink_metadata(folder) {
        Ok(m) => {
            if !m.is_dir() {
                return Err(format!("上传目录 {} 不是目录", folder.display()));
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = m.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(format!(
                        "上传目录 {} 的权限为 {mode:o}，其他用户可以读取上传的登记表：\
                         请指定 fupin 专用的目录，或执行 chmod 700 {}",
                        folder.display(),
                        folder.display()
                    ));
                }
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = folder.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("无法创建目录 {}：{e}", parent.display()))?;
            }
            let mut b = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(folder)
                .map_err(|e| format!("无法创建上传目录 {}：{e}", folder.display()))
        }
        Err(e) => Err(format!("无法读取上传目录 {}：{e}", folder.display())),
    }
}

/// Mark an upload's folder as in use now (its job is alive), for [`sweep_uploads`].
fn touch(folder: &FsPath) {
    let touched =
        std::fs::File::open(folder).and_then(|f| f.set_modified(std::time::SystemTime::now()));
    if let Err(e) = touched {
        tracing::warn!("upload folder {}: not touched: {e}", folder.display());
    }
}

/// The last time anything of an upload's folder changed: the folder (touched by its
/// job's heartbeat) or a file in it (written while the upload is received).
fn last_touched(entry: &FsPath) -> Option<std::time::SystemTime> {
    let mut last = std::fs::symlink_metadata(entry).ok()?.modified().ok()?;
    if let Ok(files) = std::fs::read_dir(entry) {
        for f in files.flatten() {
            if let Some(t) = f.metadata().ok().and_then(|m| m.modified().ok()) {
                last = last.max(t);
            }
        }
    }
    Some(last)
}

/// Remove the uploads in `folder` that no live process has touched for `stale`: what
/// a crashed or killed server left. A live job touches its upload every heartbeat and
/// an upload being received is written all along, so with `stale` two leases nothing in
/// use is removed, even another server's sharing the folder. Returns how many.
pub fn sweep_uploads(folder: &FsPath, stale: Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(UPLOAD_PREFIX)
        {
            continue;
        }
        let idle = last_touched(&path)
            .and_then(|t| now.duration_since(t).ok())
            .unwrap_or_default();
        if idle < stale {
            continue;
        }
        let gone = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match gone {
            Ok(()) => removed += 1,
            Err(e) => tracing::warn!("upload {}: not removed: {e}", path.display()),
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    /// The sweep removes only uploads no process touched for the given time: not a live
    /// one (its folder touched, or a file in it written), nor what is not an upload.
    #[test]
    fn sweep_removes_only_uploads_untouched_for_long() {
        let root = tempfile::tempdir().unwrap();
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        let age = |p: &FsPath| {
            std::fs::File::open(p)
                .unwrap()
                .set_modified(hour_ago)
                .unwrap();
        };
        let mut made = Vec::new();
        for name in [
            "fupin-upload-dead",
            "fupin-upload-touched",
            "fupin-upload-writing",
            "other",
        ] {
            let dir = root.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            let file = dir.join("members.csv");
            std::fs::write(&file, "x").unwrap();
            if name != "fupin-upload-writing" {
                age(&file);
            }
            age(&dir);
            made.push(dir);
        }
        touch(&made[1]);
        assert_eq!(sweep_uploads(root.path(), Duration::from_secs(60)), 1);
        let left: Vec<bool> = made.iter().map(|d| d.exists()).collect();
        assert_eq!(left, [false, true, true, true]);
        assert_eq!(sweep_uploads(root.path(), Duration::from_secs(60)), 0);
    }

    /// A configured upload folder is made private, and one others can read is refused
    /// and left as it was.
    #[cfg(unix)]
    #[test]
    fn an_upload_folder_is_private_or_refused() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let mode = |p: &FsPath| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let new = root.path().join("a").join("uploads");
        prepare_upload_folder(&new).unwrap();
        assert_eq!(mode(&new), 0o700);
        prepare_upload_folder(&new).unwrap();
        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = prepare_upload_folder(&open).unwrap_err();
        assert!(e.contains("其他用户可以读取"), "{e}");
        assert_eq!(mode(&open), 0o755);
    }

    /// Reading is the first quarter of the bar, the store's steps the rest.
    #[test]
    fn percent_weighs_reading_then_storing() {
        let p = ImportProgress::new(1000);
        assert_eq!(p.percent(), 0);
        p.read.store(500, Ordering::Relaxed);
        assert_eq!(p.percent(), 12);
        p.read.store(1000, Ordering::Relaxed);
        assert_eq!(p.percent(), 25);
        p.stored.store(fupin_store::IMPORT_STEPS, Ordering::Relaxed);
        assert_eq!(p.percent(), 100);
        assert_eq!(ImportProgress::new(0).percent(), 0);
    }
}

//! The state behind a lock, and its file: written atomically, at most a few
//! times a second, and once more at shutdown.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::model::State;

/// The platform's state.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
    file: Option<PathBuf>,
    dirty: AtomicBool,
    changed: tokio::sync::Notify,
}

impl Store {
    /// A store holding `state`, saved to `file` if given.
    pub fn new(state: State, file: Option<PathBuf>) -> Self {
        Store {
            state: Mutex::new(state),
            file,
            dirty: AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
        }
    }

    /// Reads the state kept in `file`, if the file exists.
    pub fn load(file: &Path) -> Result<Option<State>, String> {
        match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("{} is not an emulator state file: {e}", file.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(format!("cannot read {}: {err}", file.display())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Handlers never leave the state half-changed across a panic point
        // that matters; keep serving rather than poison the emulator.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the state.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the state (and schedules a save).
    pub fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let result = f(&mut self.lock());
        if self.file.is_some() {
            self.dirty.store(true, Ordering::Release);
            self.changed.notify_one();
        }
        result
    }

    /// Saves now if anything changed since the last save.
    pub fn flush(&self) -> Result<(), String> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let json = {
            let state = self.lock();
            serde_json::to_vec(&*state).map_err(|e| format!("encoding state: {e}"))?
        };
        write_atomically(file, &json).inspect_err(|_| self.dirty.store(true, Ordering::Release))
    }

    /// Saves changes as they happen (coalesced), until the task is dropped.
    pub async fn save_continuously(&self) {
        loop {
            self.changed.notified().await;
            // Let a burst of changes settle into one write.
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Err(err) = self.flush() {
                tracing::error!("could not save the emulator state: {err}");
            }
        }
    }
}

fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    result.map_err(|e| format!("cannot write {}: {e}", path.display()))
}

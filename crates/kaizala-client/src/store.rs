//! Where tokens live between runs. The refresh token rotates from day 328 of
//! its life; a client that does not keep the new one stops working when the
//! old one expires, so every rotation is saved here before it is used.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use kaizala_core::session::StoredTokens;

/// Why a token store failed.
#[derive(Debug)]
pub struct StoreError {
    message: String,
    source: Option<std::io::Error>,
}

impl StoreError {
    /// A failure described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
            source: None,
        }
    }

    fn io(message: impl Into<String>, source: std::io::Error) -> Self {
        StoreError {
            message: message.into(),
            source: Some(source),
        }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{}: {source}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// Persistence for tokens and the tenant's endpoint.
#[async_trait]
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    /// What was saved last, if anything.
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError>;
    /// Saves `tokens`, replacing what was there. Must be durable when it
    /// returns: a rotated refresh token is used only after this succeeds.
    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError>;
}

/// Keeps tokens in memory only (the default): a restart starts again from
/// the configured refresh token.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<Option<StoredTokens>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        Ok(self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }

    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        *self.tokens.lock().unwrap_or_else(|e| e.into_inner()) = Some(tokens.clone());
        Ok(())
    }
}

/// Keeps tokens in a JSON file, readable by its owner only (mode 0600 on
/// Unix). Each save writes a temporary file beside it, syncs it and renames
/// it over the old one, so a crash leaves either the old or the new tokens,
/// never half of each.
#[derive(Debug, Clone)]
pub struct JsonFileTokenStore {
    path: PathBuf,
}

impl JsonFileTokenStore {
    /// A store at `path` (created on first save; its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        JsonFileTokenStore { path: path.into() }
    }

    /// The file the tokens are kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl TokenStore for JsonFileTokenStore {
    async fn load(&self) -> Result<Option<StoredTokens>, StoreError> {
        let path = self.path.clone();
        run_blocking(move || match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                StoreError::new(format!("{} is not a token file: {e}", path.display()))
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(StoreError::io(format!("reading {}", path.display()), err)),
        })
        .await
    }

    async fn save(&self, tokens: &StoredTokens) -> Result<(), StoreError> {
        let path = self.path.clone();
        let json = serde_json::to_vec_pretty(tokens)
            .map_err(|e| StoreError::new(format!("encoding tokens: {e}")))?;
        run_blocking(move || write_atomically(&path, &json)).await
    }
}

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StoreError::new(format!("token store task failed: {e}")))?
}

fn write_atomically(path: &Path, contents: &[u8]) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| StoreError::new(format!("{} is not a file path", path.display())))?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&temp)?;
        // `mode` applies only when the file is created; a leftover temp file
        // from a crash keeps its old mode unless it is set again.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        // Make the rename itself durable.
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    };
    write().map_err(|err| {
        let _ = std::fs::remove_file(&temp);
        StoreError::io(format!("writing {}", path.display()), err)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kaizala_types::Secret;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("kaizala-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn file_store_round_trips_with_owner_only_permissions() {
        let dir = scratch("roundtrip");
        let store = JsonFileTokenStore::new(dir.join("tokens.json"));
        assert!(store.load().await.unwrap().is_none(), "no file yet");
        let mut tokens = StoredTokens::new(Secret::new("refresh-1"));
        tokens.endpoint_url = Some("https://kms.kaiza.la".into());
        store.save(&tokens).await.unwrap();
        assert_eq!(store.load().await.unwrap(), Some(tokens.clone()));
        tokens.refresh_token = Secret::new("refresh-2");
        store.save(&tokens).await.unwrap();
        assert_eq!(
            store.load().await.unwrap().unwrap().refresh_token.expose(),
            "refresh-2"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers,
            [std::ffi::OsString::from("tokens.json")],
            "no temporary file left behind"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn a_corrupt_file_is_a_clear_error() {
        let dir = scratch("corrupt");
        std::fs::write(dir.join("tokens.json"), b"{not json").unwrap();
        let err = JsonFileTokenStore::new(dir.join("tokens.json"))
            .load()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("is not a token file"), "{err}");
        let err = JsonFileTokenStore::new(dir.join("missing-dir/tokens.json"))
            .save(&StoredTokens::new(Secret::new("x")))
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with("writing "), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

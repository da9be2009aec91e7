//! A blocking face on the `object_store` S3 client: every call names the bucket and key in its
//! errors. The rest of evidentia is synchronous (rayon, std::io), so the client owns a small
//! tokio runtime and blocks on it; uploads of many small objects run concurrently on it.

use std::io::{self, Read};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path as KeyPath;
use object_store::{
    GetOptions, GetRange, ObjectStore as _, ObjectStoreExt as _, PutMode, PutOptions, PutPayload,
    WriteMultipart,
};
use tokio::runtime::Runtime;

use crate::error::{Error, Result};

/// Where an archive on an object store lives: `s3://BUCKET/PREFIX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub bucket: String,
    /// Without leading or trailing '/'; may be empty (the bucket's root).
    pub prefix: String,
}

impl Location {
    /// Parses `s3://BUCKET/PREFIX`; None if `text` is not an `s3://` URL at all.
    pub fn parse(text: &str) -> Option<Result<Location>> {
        let rest = text.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/').to_string();
        let bad = |why: &str| Error::InvalidOption {
            option: "--archive",
            value: text.to_string(),
            why: why.to_string(),
        };
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !bucket_ok {
            return Some(Err(bad(
                "the bucket name must be 3-63 lowercase letters, digits, '-' or '.' (s3://BUCKET/PREFIX)",
            )));
        }
        let prefix_ok = prefix.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        });
        if !prefix.is_empty() && !prefix_ok {
            return Some(Err(bad(
                "each part of the prefix must be ASCII letters, digits, '-', '_' or '.' (s3://BUCKET/PREFIX)",
            )));
        }
        Some(Ok(Location {
            bucket: bucket.to_string(),
            prefix,
        }))
    }

    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url())
    }
}

/// One listed key: its name relative to the archive's prefix, size and server time.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    /// Milliseconds since the epoch, as the server reported the last write.
    pub modified_ms: i64,
}

/// How a write treats an existing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Replace whatever is there (objects named by their digest: same bytes).
    Overwrite,
    /// Create only if absent (`If-None-Match: *`, where the store honours it).
    Create,
}

/// Objects at or above this size are uploaded in parts.
pub const MULTIPART_FROM: u64 = 16 << 20;
const PART: usize = 8 << 20;
/// Parts of one object fetched at once when reading it (with two more queued: at most about
/// 48 MiB per object read, whatever its size).
const READ_AHEAD: usize = 4;
/// Parts of one upload in flight at once.
const PARTS_IN_FLIGHT: usize = 8;

/// A connection to one archive's bucket and prefix.
pub struct Client {
    pub location: Location,
    pub endpoint: String,
    store: Arc<AmazonS3>,
    runtime: Runtime,
}

impl Client {
    /// Builds a client from the standard variables (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`). Makes no request.
    pub fn connect(location: &Location) -> Result<Client> {
        let endpoint = std::env::var("AWS_ENDPOINT_URL")
            .or_else(|_| std::env::var("AWS_ENDPOINT"))
            .unwrap_or_default();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&location.bucket)
            .with_conditional_put(S3ConditionalPut::ETagMatch);
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            builder = builder.with_region("us-east-1");
        }
        if !endpoint.is_empty() {
            builder = builder
                .with_endpoint(&endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let store = builder.build().map_err(|e| Error::Remote {
            url: location.url(),
            why: format!(
                "cannot configure the S3 client ({e}); set AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION and, for a store other than AWS, AWS_ENDPOINT_URL"
            ),
        })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("evidentia-s3")
            .enable_all()
            .build()
            .map_err(|e| Error::Remote {
                url: location.url(),
                why: format!("cannot start the I/O runtime: {e}"),
            })?;
        Ok(Client {
            location: location.clone(),
            endpoint,
            store: Arc::new(store),
            runtime,
        })
    }

    fn key(&self, rel: &str) -> KeyPath {
        if self.location.prefix.is_empty() {
            KeyPath::from(rel)
        } else {
            KeyPath::from(format!("{}/{rel}", self.location.prefix))
        }
    }

    /// `s3://bucket/prefix/rel`, for messages.
    pub fn url_of(&self, rel: &str) -> String {
        format!("{}/{rel}", self.location.url())
    }

    fn error(&self, rel: &str, e: object_store::Error) -> Error {
        match e {
            object_store::Error::NotFound { .. } => Error::RemoteMissing {
                url: self.url_of(rel),
            },
            other => Error::Remote {
                url: self.url_of(rel),
                why: other.to_string(),
            },
        }
    }

    /// Reads a whole object of at most `max` bytes.
    pub fn get(&self, rel: &str, max: u64) -> Result<Vec<u8>> {
        let key = self.key(rel);
        let bytes = self.runtime.block_on(async {
            let result = self.store.get(&key).await?;
            if result.meta.size > max {
                return Ok(Err(result.meta.size));
            }
            result.bytes().await.map(Ok)
        });
        match bytes.map_err(|e| self.error(rel, e))? {
            Ok(bytes) if bytes.len() as u64 <= max => Ok(bytes.to_vec()),
            Ok(bytes) => Err(self.too_big(rel, bytes.len() as u64, max)),
            Err(size) => Err(self.too_big(rel, size, max)),
        }
    }

    fn too_big(&self, rel: &str, size: u64, max: u64) -> Error {
        Error::Remote {
            url: self.url_of(rel),
            why: format!("it holds {size} bytes, more than the {max} allowed here"),
        }
    }

    /// Opens an object for streaming (constant memory).
    pub fn open(&self, rel: &str) -> Result<RemoteReader> {
        let key = self.key(rel);
        // The first part is asked for as a range: the answer says the object's size, and a
        // large object's other parts are then fetched ahead, several at once, while the
        // caller hashes (one stream of a large object is slower than the hashing).
        let first = GetOptions {
            range: Some(GetRange::Bounded(0..PART as u64)),
            ..Default::default()
        };
        let result = match self.runtime.block_on(self.store.get_opts(&key, first)) {
            Ok(result) => result,
            // An empty object has no first byte to ask for.
            Err(object_store::Error::NotFound { .. }) => {
                return Err(self.error(
                    rel,
                    object_store::Error::NotFound {
                        path: key.to_string(),
                        source: "not found".into(),
                    },
                ))
            }
            Err(_) => self
                .runtime
                .block_on(self.store.get(&key))
                .map_err(|e| self.error(rel, e))?,
        };
        let size = result.meta.size;
        let head = result.range.end;
        let mut stream = result.into_stream();
        if head < size {
            let (sender, receiver) = tokio::sync::mpsc::channel(2);
            let store = self.store.clone();
            let ranges: Vec<std::ops::Range<u64>> = (head..size)
                .step_by(PART)
                .map(|start| start..(start + PART as u64).min(size))
                .collect();
            self.runtime.spawn(async move {
                let mut parts = futures::stream::iter(ranges)
                    .map(|range| {
                        let store = store.clone();
                        let key = key.clone();
                        async move { store.get_range(&key, range).await }
                    })
                    .buffered(READ_AHEAD);
                while let Some(part) = parts.next().await {
                    let failed = part.is_err();
                    if sender.send(part).await.is_err() || failed {
                        return;
                    }
                }
            });
            let rest = futures::stream::unfold(receiver, |mut receiver| async move {
                receiver.recv().await.map(|part| (part, receiver))
            });
            stream = stream.chain(rest).boxed();
        }
        Ok(RemoteReader {
            runtime: self.runtime.handle().clone(),
            url: self.url_of(rel),
            stream,
            chunk: Bytes::new(),
        })
    }

    /// The object's size, or None if it is absent.
    pub fn head(&self, rel: &str) -> Result<Option<u64>> {
        match self.runtime.block_on(self.store.head(&self.key(rel))) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(rel, e)),
        }
    }

    /// Writes a whole object. With [`Put::Create`], an existing key is an error
    /// ([`Error::RemoteExists`]) on stores that honour `If-None-Match`.
    pub fn put(&self, rel: &str, bytes: Vec<u8>, mode: Put) -> Result<()> {
        let key = self.key(rel);
        let options = PutOptions {
            mode: match mode {
                Put::Overwrite => PutMode::Overwrite,
                Put::Create => PutMode::Create,
            },
            ..Default::default()
        };
        self.runtime
            .block_on(
                self.store
                    .put_opts(&key, PutPayload::from(Bytes::from(bytes)), options),
            )
            .map(|_| ())
            .map_err(|e| match e {
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. } => Error::RemoteExists {
                    url: self.url_of(rel),
                },
                other => self.error(rel, other),
            })
    }

    /// Uploads `reader` (`size` bytes, named `source` in errors) in parts of 16 MiB, at most
    /// four in flight: constant memory whatever the size.
    pub fn put_stream(&self, rel: &str, reader: &mut dyn Read, source: &str) -> Result<()> {
        let key = self.key(rel);
        self.runtime.block_on(async {
            let upload = self
                .store
                .put_multipart(&key)
                .await
                .map_err(|e| self.error(rel, e))?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n =
                    crate::archive::fsutil::read_full(reader, &mut buf).map_err(|e| Error::Io {
                        path: source.into(),
                        source: e,
                    })?;
                if n == 0 {
                    break;
                }
                writer
                    .wait_for_capacity(PARTS_IN_FLIGHT)
                    .await
                    .map_err(|e| self.error(rel, e))?;
                writer.write(&buf[..n]);
            }
            writer.finish().await.map_err(|e| self.error(rel, e))?;
            Ok(())
        })
    }

    /// Deletes a key (absent is fine).
    pub fn delete(&self, rel: &str) -> Result<()> {
        match self.runtime.block_on(self.store.delete(&self.key(rel))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.error(rel, e)),
        }
    }

    /// Every key under `dir/` (relative to the archive's prefix), in key order, starting after
    /// `after` (a full relative key) if given.
    pub fn list(&self, dir: &str, after: Option<&str>) -> Result<Vec<Listed>> {
        let prefix = self.key(dir);
        let strip = if self.location.prefix.is_empty() {
            0
        } else {
            self.location.prefix.len() + 1
        };
        let mut stream = match after {
            Some(after) => self.store.list_with_offset(Some(&prefix), &self.key(after)),
            None => self.store.list(Some(&prefix)),
        };
        self.runtime.block_on(async {
            let mut out = Vec::new();
            while let Some(meta) = stream.next().await {
                let meta = meta.map_err(|e| self.error(dir, e))?;
                let full = meta.location.as_ref();
                out.push(Listed {
                    key: full.get(strip..).unwrap_or(full).to_string(),
                    size: meta.size,
                    modified_ms: meta.last_modified.timestamp_millis(),
                });
            }
            out.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(out)
        })
    }

    /// Starts uploading a whole object in the background and returns at once, unless
    /// `budget` (units of 64 KiB of bytes in flight) is exhausted, in which case it first waits
    /// for earlier uploads to finish. [`Uploads::finish`] waits for all and reports the first
    /// failure.
    pub fn put_background(&self, uploads: &Uploads, rel: String, bytes: Vec<u8>) -> Result<()> {
        let units = (bytes.len() / (64 << 10) + 1).min(UPLOAD_UNITS as usize) as u32;
        let permit = self
            .runtime
            .block_on(uploads.budget.clone().acquire_many_owned(units))
            .map_err(|_| Error::Remote {
                url: self.url_of(&rel),
                why: "the upload queue was closed".into(),
            })?;
        let store = self.store.clone();
        let key = self.key(&rel);
        let url = self.url_of(&rel);
        let task = self.runtime.spawn(async move {
            let result = store
                .put(&key, PutPayload::from(Bytes::from(bytes)))
                .await
                .map(|_| ())
                .map_err(|e| Error::Remote {
                    url,
                    why: e.to_string(),
                });
            drop(permit);
            result
        });
        uploads
            .tasks
            .lock()
            .map_err(|_| Error::Remote {
                url: self.url_of(&rel),
                why: "an upload thread failed".into(),
            })?
            .push(task);
        Ok(())
    }

    /// Waits for every background upload of `uploads`.
    pub fn finish_uploads(&self, uploads: &Uploads) -> Result<()> {
        let tasks = match uploads.tasks.lock() {
            Ok(mut tasks) => std::mem::take(&mut *tasks),
            Err(_) => Vec::new(),
        };
        let results = self.runtime.block_on(futures::future::join_all(tasks));
        for result in results {
            match result {
                Ok(done) => done?,
                Err(e) => {
                    return Err(Error::Remote {
                        url: self.location.url(),
                        why: format!("an upload failed: {e}"),
                    })
                }
            }
        }
        Ok(())
    }
}

/// Bytes in flight in background uploads, in units of 64 KiB: 64 MiB.
const UPLOAD_UNITS: u32 = 1024;

/// A set of background uploads (see [`Client::put_background`]).
pub struct Uploads {
    budget: Arc<tokio::sync::Semaphore>,
    tasks: std::sync::Mutex<Vec<tokio::task::JoinHandle<Result<()>>>>,
}

impl Default for Uploads {
    fn default() -> Uploads {
        Uploads {
            budget: Arc::new(tokio::sync::Semaphore::new(UPLOAD_UNITS as usize)),
            tasks: std::sync::Mutex::new(Vec::new()),
        }
    }
}

/// A streaming reader over one object's bytes.
pub struct RemoteReader {
    runtime: tokio::runtime::Handle,
    url: String,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    chunk: Bytes,
}

impl Read for RemoteReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.runtime.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(bytes)) => self.chunk = bytes,
                Some(Err(e)) => return Err(io::Error::other(format!("{}: {e}", self.url))),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk[..n]);
        let _ = self.chunk.split_to(n);
        Ok(n)
    }
}

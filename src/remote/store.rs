//! The object store of an archive on an S3-compatible store.
//!
//! Document content lives only on the store, as `objects/sha256/<hh>/<62 hex>` (the same
//! names as on disk). Records live in the log's segments on the store and, decoded, in the
//! local replica's object directory, from which they are read; so every read looks in the
//! replica first, then on the store.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::archive::fsutil;
use crate::archive::objects::{ContentHint, FsObjectStore, ObjectStore, ObjectWriter, PutOutcome};
use crate::core::digest::{Digest, Hasher};
use crate::error::{Error, Result};

use super::client::{Client, Uploads, MULTIPART_FROM};

/// The key of an object on the store.
pub fn object_key(digest: &Digest) -> String {
    let hex = digest.to_hex();
    format!("objects/sha256/{}/{}", &hex[..2], &hex[2..])
}

pub(crate) fn digest_of_key(key: &str) -> Option<Digest> {
    let rest = key.strip_prefix("objects/sha256/")?;
    let (fan, tail) = rest.split_once('/')?;
    if fan.len() != 2 || tail.len() != 62 {
        return None;
    }
    Digest::from_hex(&format!("{fan}{tail}"))
}

pub struct RemoteObjects {
    local: FsObjectStore,
    client: Arc<Client>,
    tmp: PathBuf,
}

impl RemoteObjects {
    /// `objects` is the replica's `objects` directory.
    pub fn new(objects: &Path, client: Arc<Client>) -> RemoteObjects {
        RemoteObjects {
            local: FsObjectStore::new(objects),
            client,
            tmp: objects.join("tmp"),
        }
    }

    pub fn local(&self) -> &FsObjectStore {
        &self.local
    }

    fn missing(digest: &Digest, e: Error) -> Error {
        match e {
            Error::RemoteMissing { .. } => Error::ObjectMissing { digest: *digest },
            other => other,
        }
    }

    fn writer_of<'a>(
        &'a self,
        expected: usize,
        hint: Option<ContentHint<'a>>,
    ) -> Result<Box<dyn ObjectWriter + 'a>> {
        Ok(Box::new(RemoteWriter {
            store: self,
            records: self.local.writer(expected)?,
            uploads: Uploads::default(),
            hint,
        }))
    }
}

impl ObjectStore for RemoteObjects {
    fn writer(&self, expected: usize) -> Result<Box<dyn ObjectWriter + '_>> {
        self.writer_of(expected, None)
    }

    fn writer_with_hint<'a>(
        &'a self,
        expected: usize,
        may_be_stored: ContentHint<'a>,
    ) -> Result<Box<dyn ObjectWriter + 'a>> {
        self.writer_of(expected, Some(may_be_stored))
    }

    fn open(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        match self.local.open(digest) {
            Err(Error::ObjectMissing { .. }) => Ok(Box::new(
                self.client
                    .open(&object_key(digest))
                    .map_err(|e| Self::missing(digest, e))?,
            )),
            other => other,
        }
    }

    fn read_verified(&self, digest: &Digest, max: u64) -> Result<Vec<u8>> {
        match self.local.read_verified(digest, max) {
            Err(Error::ObjectMissing { .. }) => {
                let bytes = self
                    .client
                    .get(&object_key(digest), max)
                    .map_err(|e| Self::missing(digest, e))?;
                let found = Digest::of(&bytes);
                if found != *digest {
                    return Err(Error::ObjectCorrupt {
                        expected: *digest,
                        found,
                    });
                }
                Ok(bytes)
            }
            other => other,
        }
    }

    fn contains(&self, digest: &Digest) -> Result<bool> {
        Ok(self.local.contains(digest)? || self.client.head(&object_key(digest))?.is_some())
    }

    fn with_prefix(&self, hex_prefix: &str) -> Result<Vec<Digest>> {
        let mut found = self.local.with_prefix(hex_prefix)?;
        let fan = hex_prefix.get(..2).unwrap_or(hex_prefix);
        for listed in self.client.list(&format!("objects/sha256/{fan}/"), None)? {
            if let Some(digest) = digest_of_key(&listed.key) {
                if digest.to_hex().starts_with(hex_prefix) {
                    found.push(digest);
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }

    fn list(&self) -> Result<Vec<Digest>> {
        let mut all = self.local.list()?;
        all.extend(
            self.client
                .list("objects/sha256/", None)?
                .iter()
                .filter_map(|l| digest_of_key(&l.key)),
        );
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }
}

/// One batch: records go to the replica (and reach the store inside the log segment); content
/// goes to the store, small objects many at a time.
struct RemoteWriter<'a> {
    store: &'a RemoteObjects,
    records: Box<dyn ObjectWriter + 'a>,
    /// Small objects being uploaded in the background.
    uploads: Uploads,
    hint: Option<ContentHint<'a>>,
}

impl RemoteWriter<'_> {
    /// Whether the store already holds `digest` with `size` bytes (asked only when the index
    /// cannot rule it out).
    fn stored(&self, digest: &Digest, size: u64) -> Result<bool> {
        if self.hint.as_ref().is_some_and(|may_be| !may_be(digest)) {
            return Ok(false);
        }
        Ok(self.store.client.head(&object_key(digest))? == Some(size))
    }

    fn put_small(&self, bytes: Vec<u8>) -> Result<PutOutcome> {
        let digest = Digest::of(&bytes);
        let size = bytes.len() as u64;
        if self.stored(&digest, size)? {
            return Ok(PutOutcome {
                digest,
                size,
                newly_stored: false,
            });
        }
        self.store
            .client
            .put_background(&self.uploads, object_key(&digest), bytes)?;
        Ok(PutOutcome {
            digest,
            size,
            newly_stored: true,
        })
    }
}

impl ObjectWriter for RemoteWriter<'_> {
    fn put_stream(&self, reader: &mut dyn Read, source: &Path) -> Result<PutOutcome> {
        let read_err = |e: io::Error| Error::BadInput {
            path: source.to_path_buf(),
            why: format!("read failed: {e}"),
        };
        // Small inputs are held in memory; larger ones are spooled to a temporary file while
        // hashed (the key is the digest, known only at the end), then uploaded in parts.
        let mut head = Vec::new();
        reader
            .take(MULTIPART_FROM)
            .read_to_end(&mut head)
            .map_err(read_err)?;
        if (head.len() as u64) < MULTIPART_FROM {
            return self.put_small(head);
        }
        let mut spool = fsutil::temp_file(&self.store.tmp, "upload-", 0o600)?;
        let spool_path = spool.path().to_path_buf();
        let mut hasher = Hasher::new();
        hasher.update(&head);
        spool.write_all(&head).map_err(Error::io(&spool_path))?;
        let mut size = head.len() as u64;
        drop(head);
        fsutil::with_read_buffer(|buf| -> Result<()> {
            loop {
                let n = fsutil::read_full(reader, buf).map_err(read_err)?;
                if n == 0 {
                    return Ok(());
                }
                hasher.update(&buf[..n]);
                spool.write_all(&buf[..n]).map_err(Error::io(&spool_path))?;
                size += n as u64;
            }
        })?;
        let digest = hasher.finish();
        if self.stored(&digest, size)? {
            return Ok(PutOutcome {
                digest,
                size,
                newly_stored: false,
            });
        }
        let mut file = spool.reopen().map_err(Error::io(&spool_path))?;
        self.store.client.put_stream(
            &object_key(&digest),
            &mut file,
            &spool_path.to_string_lossy(),
        )?;
        Ok(PutOutcome {
            digest,
            size,
            newly_stored: true,
        })
    }

    fn put_bytes(&self, bytes: &[u8]) -> Result<PutOutcome> {
        self.put_small(bytes.to_vec())
    }

    fn put_new(&self, digest: Digest, bytes: &[u8]) -> Result<PutOutcome> {
        self.records.put_new(digest, bytes)
    }

    fn finish(self: Box<Self>) -> Result<()> {
        self.store.client.finish_uploads(&self.uploads)?;
        self.records.finish()
    }
}

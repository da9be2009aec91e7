//! The local disk's object writer: loose objects, or one pack for a large batch.

use super::*;

/// A batch of writes into an [`FsObjectStore`]: small objects into one pack (large batches) or
/// loose files, large objects always loose.
pub(super) struct FsObjectWriter<'a> {
    pub(super) store: &'a FsObjectStore,
    pub(super) pack: Option<Mutex<PackBuilder>>,
    pub(super) wrote_loose: AtomicBool,
    /// For a packing writer: which `sha256/<hh>` directories existed when it started. A loose
    /// copy can only be in one of those (loose objects are written by other, smaller
    /// commands), so a digest outside them needs no `stat`: in an archive that is all packs,
    /// none at all.
    pub(super) loose_fans: Option<[bool; 256]>,
    pub(super) may_be_stored: Option<ContentHint<'a>>,
}

impl FsObjectWriter<'_> {
    fn put_small(&self, bytes: &[u8], digest: Digest) -> Result<PutOutcome> {
        let size = bytes.len() as u64;
        let known = PutOutcome {
            digest,
            size,
            newly_stored: false,
        };
        let may_be_loose = self
            .loose_fans
            .is_none_or(|fans| fans[usize::from(digest.0[0])]);
        if may_be_loose {
            match fs::metadata(self.store.path_of(&digest)) {
                Ok(meta) if meta.len() == size => return Ok(known),
                // A short or empty loose file (left by a power cut) would shadow any other
                // copy: replace it.
                Ok(_) => {
                    self.wrote_loose.store(true, Ordering::Relaxed);
                    return self.store.put_loose(bytes, digest);
                }
                Err(_) => {}
            }
        }
        // A packed copy counts only if its index entry has the right length and lies within
        // its pack: a damaged or planted index must not make `add` skip storing content.
        let may_be_packed = self.may_be_stored.as_ref().is_none_or(|hint| hint(&digest));
        if may_be_packed
            && self
                .store
                .find_packed(&digest, false)?
                .is_some_and(|(pack, entry)| entry.len == size && pack.holds_bytes_of(&entry))
        {
            return Ok(known);
        }
        match &self.pack {
            Some(pack) => {
                let mut pack = pack
                    .lock()
                    .map_err(|_| Error::io(&self.store.tmp)(io::Error::other("pack poisoned")))?;
                if pack.holds(&digest) {
                    return Ok(known);
                }
                pack.append(digest, bytes)?;
                Ok(PutOutcome {
                    newly_stored: true,
                    ..known
                })
            }
            None => {
                self.wrote_loose.store(true, Ordering::Relaxed);
                self.store.put_loose(bytes, digest)
            }
        }
    }
}

impl ObjectWriter for FsObjectWriter<'_> {
    fn put_stream(&self, reader: &mut dyn Read, source: &Path) -> Result<PutOutcome> {
        let read_err = |e: io::Error| Error::BadInput {
            path: source.to_path_buf(),
            why: format!("read failed: {e}"),
        };
        // Read the first block into a buffer that grows with the input rather than a zeroed
        // BLOCK: most evidence files are small, and zeroing 1 MiB per file cost more than
        // hashing them.
        let mut first = Vec::new();
        reader
            .take(BLOCK as u64)
            .read_to_end(&mut first)
            .map_err(read_err)?;
        if first.len() < BLOCK {
            return self.put_small(&first, Digest::of(&first));
        }
        self.wrote_loose.store(true, Ordering::Relaxed);
        self.store.put_large(&first, reader, source)
    }

    fn put_bytes(&self, bytes: &[u8]) -> Result<PutOutcome> {
        self.put_hashed(Digest::of(bytes), bytes)
    }

    fn put_hashed(&self, digest: Digest, bytes: &[u8]) -> Result<PutOutcome> {
        if bytes.len() < BLOCK {
            return self.put_small(bytes, digest);
        }
        self.wrote_loose.store(true, Ordering::Relaxed);
        if self.store.loose_exists(&digest, Some(bytes.len() as u64)) {
            return Ok(PutOutcome {
                digest,
                size: bytes.len() as u64,
                newly_stored: false,
            });
        }
        self.store.put_loose(bytes, digest)
    }

    fn put_new(&self, digest: Digest, bytes: &[u8]) -> Result<PutOutcome> {
        let outcome = PutOutcome {
            digest,
            size: bytes.len() as u64,
            newly_stored: true,
        };
        match &self.pack {
            Some(pack) if bytes.len() < BLOCK => {
                pack.lock()
                    .map_err(|_| Error::io(&self.store.tmp)(io::Error::other("pack poisoned")))?
                    .append(digest, bytes)?;
                Ok(outcome)
            }
            _ => {
                self.wrote_loose.store(true, Ordering::Relaxed);
                self.store.put_loose(bytes, digest)
            }
        }
    }

    fn finish(self: Box<Self>) -> Result<()> {
        if let Some(pack) = self.pack {
            let pack = pack
                .into_inner()
                .map_err(|_| Error::io(&self.store.tmp)(io::Error::other("pack poisoned")))?;
            if pack.len() < PACK_MIN_OBJECTS {
                // Fewer objects than expected (most were already stored): loose files.
                self.wrote_loose.store(true, Ordering::Relaxed);
                pack.into_objects(|digest, bytes| self.store.put_loose(bytes, digest).map(|_| ()))?;
            } else if pack.finish()?.is_some() {
                // Make the new pack visible to this process's later reads.
                self.store.snapshot(true)?;
            }
        }
        if self.wrote_loose.load(Ordering::Relaxed) {
            fsutil::sync_filesystem(&self.store.root)?;
        }
        Ok(())
    }
}
